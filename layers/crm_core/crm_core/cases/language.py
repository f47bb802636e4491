"""A cheap guess of a message's language (en, it, de, id) from common words, for the acknowledgement.

A known contact's locale wins; this only decides for strangers, and English is the fallback.
"""

from __future__ import annotations

import re

_WORDS = {
    "en": [
        "the",
        "and",
        "you",
        "your",
        "is",
        "are",
        "was",
        "not",
        "have",
        "has",
        "my",
        "with",
        "this",
        "that",
        "for",
        "please",
        "order",
        "thank",
    ],
    "it": [
        "il",
        "lo",
        "la",
        "gli",
        "le",
        "che",
        "non",
        "per",
        "sono",
        "mio",
        "mia",
        "con",
        "una",
        "grazie",
        "ordine",
        "ho",
        "del",
        "della",
        "questo",
    ],
    "de": [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ich",
        "mein",
        "meine",
        "mit",
        "ein",
        "eine",
        "bitte",
        "danke",
        "bestellung",
        "habe",
        "sie",
    ],
    "id": [
        "saya",
        "yang",
        "dan",
        "tidak",
        "ini",
        "itu",
        "dengan",
        "untuk",
        "ada",
        "sudah",
        "belum",
        "mohon",
        "terima",
        "kasih",
        "pesanan",
    ],
}
_TOKEN = re.compile(r"[a-zà-ÿß]+", re.IGNORECASE)


def guess_language(text: str, fallback: str = "en") -> str:
    """The language whose common words occur most in `text`; `fallback` when nothing stands out."""
    words = _TOKEN.findall(text.casefold()[:4000])
    if not words:
        return fallback
    scores = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _VOCAB.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= 2 else fallback


_VOCAB = {lang: frozenset(words) for lang, words in _WORDS.items()}
