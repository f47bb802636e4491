"""The vocabulary the case rules are written in: the categories, and how keywords match text.

A leaf module (standard library only): the rule file's checks (crm_core.cases.policy) and the
classifier both use it, so neither reaches into the other.
"""

from __future__ import annotations

import re
import unicodedata

CATEGORIES = ("billing", "delivery", "product_quality", "service", "account_privacy", "other")


def normalize_text(text: str) -> str:
    """Case-folded, accent-free, single-spaced: "Rückerstattung  GEWÜNSCHT" -> "ruckerstattung gewunscht"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def keyword_pattern(keywords: list[str] | tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for a list of words/phrases; a trailing `*` matches any ending ("rimbors*")."""
    parts = []
    for keyword in keywords:
        word = normalize_text(keyword)
        prefix = word.endswith("*")
        body = re.escape(word.rstrip("*").strip()).replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if prefix else ""))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?!\w)")
