"""The convention the docs' snippets follow (CONTRIBUTING.md, "Snippets in the docs"), read as the
snippet test reads it: what runs, what is skipped and why, and what output a snippet promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.snippets import SnippetSyntaxError, blocks, linked_docs, main, missing_lines


def doc(tmp_path: Path, text: str, name: str = "doc.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sh_block_runs_whole_and_carries_its_expectations(tmp_path: Path) -> None:
    path = doc(tmp_path, "Intro\n\n```sh\necho one\necho two\n```\n<!-- expect: two -->\n<!-- exit: 1 -->\n")

    (block,) = blocks(path)

    assert (block.language, block.line, block.not_run) == ("sh", 3, None)
    assert block.commands() == [("echo one\necho two", [])]
    assert (block.expects, block.exit_status) == (["two"], 1)


def test_a_console_block_is_commands_each_with_the_lines_it_shows(tmp_path: Path) -> None:
    text = "```console\n$ echo a \\\n    b\na b\n$ true\n```\n"

    (block,) = blocks(doc(tmp_path, text))

    assert block.commands() == [("echo a \\\n    b", ["a b"]), ("true", [])]


def test_a_not_run_block_keeps_its_reason_and_other_languages_are_not_shell(tmp_path: Path) -> None:
    text = "<!-- not-run: needs AWS credentials -->\n```sh\nmake deploy\n```\n\n```json\n{}\n```\n"

    deploy, example = blocks(doc(tmp_path, text))

    assert deploy.not_run == "needs AWS credentials"
    assert not example.is_shell


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```\nls\n```\n", "without a language"),
        ("<!-- not-run: -->\n```sh\nls\n```\n", "needs its reason"),
        ("<!-- expect: x -->\n\nText.\n```sh\nls\n```\n", "belongs to no shell block"),
        ("```json\n{}\n```\n<!-- expect: {} -->\n", "belongs to no shell block"),
        ("```sh\nls\n", "never closed"),
        ("```console\nhello\n$ ls\n```\n", "console block starts with"),
    ],
)
def test_a_block_or_marker_that_breaks_the_convention_is_refused_with_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(SnippetSyntaxError, match=message):
        [block.commands() for block in blocks(doc(tmp_path, text))]


def test_shown_output_matches_in_order_with_ellipsis_for_what_changes() -> None:
    output = 'HTTP/1.1 201 Created\ncontent-type: application/json\n\n{"contact_id": "ct_abc"}\n'

    assert missing_lines(["HTTP/1.1 201 Created", "...", '{"contact_id": "ct_..."}'], output) == []
    assert missing_lines(["HTTP/1.1 200 OK"], output) == ["HTTP/1.1 200 OK"]
    assert missing_lines(['{"contact_id": "ct_..."}', "HTTP/1.1 201 Created"], output) == [
        "HTTP/1.1 201 Created"
    ]


def test_the_docs_are_found_by_following_links_from_the_readme(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    readme = doc(tmp_path, "[index](docs/index.md), [gone](docs/missing.md)", "README.md")
    doc(tmp_path / "docs", "[leads](leads.md#try-it) [home](../README.md)", "index.md")
    doc(tmp_path / "docs", "no links", "leads.md")
    doc(tmp_path / "docs", "nobody links me", "orphan.md")

    found = linked_docs(readme)

    assert [p.relative_to(tmp_path.resolve()).as_posix() for p in found] == [
        "README.md",
        "docs/index.md",
        "docs/leads.md",
    ]


def test_the_checker_lists_each_block_and_fails_on_a_broken_doc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "<!-- not-run: needs AWS -->\n```sh\nmake deploy\n```\n\n```sh\nls\n```\n"
    good = doc(tmp_path, text, "good.md")
    broken = doc(tmp_path, "```\nls\n```\n", "broken.md")

    assert main([str(good)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == [f"{good}:2: sh, not-run: needs AWS", f"{good}:6: sh, runs"]
    assert main([str(broken)]) == 1
    assert "broken.md:1: a fenced block without a language" in capsys.readouterr().out
