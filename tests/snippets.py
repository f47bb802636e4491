"""The shell snippets of the README and the docs it links: found, parsed and checked (CONTRIBUTING.md,
"Snippets in the docs").

A fenced block tagged `sh`, `shell` or `bash` is a script; one tagged `console` is a transcript whose
`$ ` lines are commands and whose other lines are what they show. Markers are HTML comments, invisible
on GitHub: `<!-- not-run: REASON -->` right before a block keeps it out of the test (the reason is
required); `<!-- expect: TEXT -->` and `<!-- exit: N -->` right after a block say what it prints and
its exit status (0 when not given).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SHELL_LANGUAGES = {"sh", "shell", "bash", "console"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^\s`]*)")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|expect|exit)\s*:\s*(?P<value>.*?)\s*-->\s*$")
ANY_MARKER = re.compile(r"^\s*<!--\s*(not-run|expect|exit)\b")
LINK = re.compile(r"\]\((?P<target>[^)#\s]+\.md)(?:#[^)]*)?\)")
# Output lines may leave out what changes between runs (ids, times): `...` matches any text.
ELLIPSIS = "..."


class SnippetSyntaxError(ValueError):
    """A doc whose blocks or markers break the convention; the message names the file and line."""


@dataclass
class Block:
    """One fenced block of a Markdown file."""

    doc: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    not_run: str | None = None
    expects: list[str] = field(default_factory=list)
    exit_status: int = 0

    @property
    def where(self) -> str:
        return f"{self.doc.name}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES

    def commands(self) -> list[tuple[str, list[str]]]:
        """The commands to run, each with the output lines it shows (a console block), or the whole
        script with no shown lines (a sh block)."""
        if self.language != "console":
            return [(self.text, [])]
        steps: list[tuple[str, list[str]]] = []
        lines = self.text.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            if not line.startswith("$ "):
                if not steps:
                    raise SnippetSyntaxError(f"{self.where}: a console block starts with a `$ ` command")
                steps[-1][1].append(line)
                index += 1
                continue
            command = [line[2:]]
            while command[-1].endswith("\\") and index + 1 < len(lines):
                index += 1
                command.append(lines[index])
            steps.append(("\n".join(command), []))
            index += 1
        return steps


def blocks(doc: Path) -> list[Block]:
    """Every fenced block of `doc` with its markers; raises SnippetSyntaxError for an untagged block,
    a marker that belongs to no shell block, or a not-run without its reason."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    used_markers: set[int] = set()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        start, fence = index, match["fence"]
        end = start + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if end == len(lines):
            raise SnippetSyntaxError(f"{doc.name}:{start + 1}: a fenced block is never closed")
        language = match["info"].lower()
        if not language:
            raise SnippetSyntaxError(
                f"{doc.name}:{start + 1}: a fenced block without a language; tag it (sh, console, json, "
                "text...) so a shell snippet cannot escape the snippet test"
            )
        indent = len(match["indent"])
        text = "\n".join(line[indent:] for line in lines[start + 1 : end])
        block = Block(doc, start + 1, language, text)
        if block.is_shell:
            _read_markers(block, lines, start, end, used_markers)
        found.append(block)
        index = end + 1
    for number, line in enumerate(lines):
        if ANY_MARKER.search(line) and number not in used_markers:
            raise SnippetSyntaxError(
                f"{doc.name}:{number + 1}: a snippet marker that belongs to no shell block (not-run goes "
                "on the line before the block, expect and exit on the lines after it)"
            )
    return found


def _read_markers(block: Block, lines: list[str], start: int, end: int, used: set[int]) -> None:
    before = start - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before >= 0 and (marker := MARKER.match(lines[before])) and marker["kind"] == "not-run":
        if not marker["value"]:
            raise SnippetSyntaxError(f"{block.doc.name}:{before + 1}: not-run needs its reason")
        block.not_run = marker["value"]
        used.add(before)
    after = end + 1
    while after < len(lines) and (marker := MARKER.match(lines[after])):
        if marker["kind"] == "expect":
            block.expects.append(marker["value"])
        elif marker["kind"] == "exit":
            block.exit_status = int(marker["value"])
        else:
            break
        used.add(after)
        after += 1


def linked_docs(readme: Path) -> list[Path]:
    """README.md and every Markdown file of the repository it links, directly or through linked docs,
    in the order a reader meets them."""
    root = readme.parent.resolve()
    order: list[Path] = []
    queue = [readme.resolve()]
    while queue:
        doc = queue.pop(0)
        if doc in order or not doc.is_file():
            continue
        order.append(doc)
        text = doc.read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = (doc.parent / match["target"]).resolve()
            if target.is_relative_to(root) and target not in order:
                queue.append(target)
    return order


def line_matches(shown: str, actual: str) -> bool:
    """A shown output line matches an actual one, ignoring surrounding blanks; `...` stands for any text."""
    pattern = ".*".join(re.escape(part) for part in shown.strip().split(ELLIPSIS))
    return re.fullmatch(pattern, actual.strip()) is not None


def missing_lines(shown: list[str], output: str) -> list[str]:
    """The shown lines not found in `output`, in order (a line alone as `...` stands for lines left out)."""
    actual = output.splitlines()
    position = 0
    missing = []
    for line in shown:
        if not line.strip() or line.strip() == ELLIPSIS:
            continue
        for index in range(position, len(actual)):
            if line_matches(line, actual[index]):
                position = index + 1
                break
        else:
            missing.append(line)
    return missing


def shell_blocks(docs: list[Path]) -> Iterator[Block]:
    for doc in docs:
        yield from (block for block in blocks(doc) if block.is_shell)


def main(argv: list[str]) -> int:
    """`python -m tests.snippets FILE...`: each file's shell blocks (run, or not-run with the reason),
    and the convention problems, without starting a stack. Exit status 1 on a problem."""
    status = 0
    for name in argv:
        try:
            found = [block for block in blocks(Path(name)) if block.is_shell]
        except SnippetSyntaxError as exc:
            print(f"problem: {exc}")  # noqa: T201 - a command-line report
            status = 1
            continue
        for block in found:
            state = f"not-run: {block.not_run}" if block.not_run else "runs"
            print(f"{name}:{block.line}: {block.language}, {state}")  # noqa: T201 - a command-line report
    return status


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
