"""Japanese text helpers: normalisation and kana folding.

``normalize`` applies NFKC (full-width letters and digits to half-width, half-width kana
to full-width) and folds case; ``fold_kana`` turns katakana into hiragana, so that
シニタイ, ｼﾆﾀｲ and しにたい compare equal; ``search_key`` does both and drops spaces.
``sudachi(mode)`` is this thread's SudachiPy tokenizer over the one dictionary of the
process (readings for furigana, lemmas for triage, proper nouns for the personal-data check).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

import jaconv

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, case-folded, with runs of white space made one space and the ends trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def fold_kana(text: str) -> str:
    """Katakana to hiragana (after NFKC, so half-width kana are covered too)."""
    return jaconv.kata2hira(unicodedata.normalize("NFKC", text))


def search_key(text: str) -> str:
    """The form used to compare or search Japanese text loosely."""
    return _SPACES.sub("", fold_kana(normalize(text)))


def to_hiragana_reading(text: str) -> str:
    """A reading written in katakana (as dictionaries give it) as hiragana."""
    return jaconv.kata2hira(text)


_dictionary: Any = None
_dictionary_lock = threading.Lock()
_local = threading.local()


def sudachi(mode: str = "C") -> Any:
    """This thread's Sudachi tokenizer in split mode ``mode`` ("A", "B" or "C"); the
    dictionary (about 100 MB) is loaded once per process, on first use."""
    tokenizers = getattr(_local, "tokenizers", None)
    if tokenizers is None:
        tokenizers = _local.tokenizers = {}
    tokenizer = tokenizers.get(mode)
    if tokenizer is None:
        global _dictionary
        from sudachipy import Dictionary, SplitMode

        with _dictionary_lock:
            if _dictionary is None:
                _dictionary = Dictionary(dict="core")
            tokenizer = _dictionary.tokenizer(mode=getattr(SplitMode, mode))
        tokenizers[mode] = tokenizer
    return tokenizer
