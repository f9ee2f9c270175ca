"""The letter number and the secret (あいことば) a child gets for a letter.

The number is 8 random digits (shown as ``1234-5678``); it is not secret but is not
counted up either, so numbers cannot be walked. The secret is four words from a small list
of kind hiragana words, easy to write down on paper: 64 words, so 64**4 (about 16.7
million) secrets. With a number locked after a few wrong tries and tries limited per
visitor, guessing is hopeless. Only an argon2 hash of the secret is stored.

What a child types is compared loosely: katakana, full-width or half-width letters, spaces
and dots between the words do not matter.
"""

from __future__ import annotations

import re
import secrets as _random
import unicodedata
from functools import lru_cache

from django.contrib.auth.hashers import check_password, make_password

from uketome.core.text import fold_kana

WORDS: tuple[str, ...] = (
    "あさひ",
    "いちご",
    "うさぎ",
    "えがお",
    "おひさま",
    "かえる",
    "きりん",
    "くじら",
    "けやき",
    "こあら",
    "さくら",
    "しずく",
    "すいか",
    "せかい",
    "そよかぜ",
    "たいよう",
    "ちょうちょ",
    "つばめ",
    "てがみ",
    "とまと",
    "なかま",
    "にじいろ",
    "ぬいぐるみ",
    "ねこ",
    "のはら",
    "はなび",
    "ひまわり",
    "ふうせん",
    "へいわ",
    "ほたる",
    "まくら",
    "みかん",
    "むぎ",
    "めだか",
    "もみじ",
    "やまびこ",
    "ゆきだるま",
    "よぞら",
    "らっこ",
    "りんご",
    "るりいろ",
    "れもん",
    "ろうそく",
    "わたげ",
    "あおぞら",
    "いるか",
    "うみべ",
    "おにぎり",
    "かぜ",
    "きのこ",
    "くるみ",
    "こだま",
    "さかな",
    "しろくま",
    "すずめ",
    "たんぽぽ",
    "つくし",
    "とんぼ",
    "なのはな",
    "はちみつ",
    "ひつじ",
    "ほしぞら",
    "みずうみ",
    "やまぶき",
)
SECRET_WORDS = 4
NUMBER_DIGITS = 8

_SEPARATORS = re.compile(r"[\s・、。,.\-ー_/]+")


def new_number() -> str:
    """Eight random digits, the first not 0 (so it never loses a digit when written)."""
    first = str(_random.randbelow(9) + 1)
    rest = "".join(str(_random.randbelow(10)) for _ in range(NUMBER_DIGITS - 1))
    return first + rest


def clean_number(raw: str) -> str:
    """The digits a child typed (full-width too), without spaces or hyphens."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", raw or "") if ch.isdigit())


def new_secret() -> str:
    """Four kind words separated by spaces, e.g. ``さくら ねこ みかん ほたる``."""
    return " ".join(_random.choice(WORDS) for _ in range(SECRET_WORDS))


def clean_secret(raw: str) -> str:
    """The secret as compared: hiragana, no spaces or separators.

    The long-vowel mark is a separator too: no word in the list has one, and children
    sometimes type ー for a hyphen.
    """
    text = fold_kana(unicodedata.normalize("NFKC", raw or "")).casefold()
    return _SEPARATORS.sub("", text)


def hash_secret(secret: str) -> str:
    return make_password(clean_secret(secret))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return make_password(new_secret())


def check_secret(raw: str, encoded: str | None) -> bool:
    """Whether ``raw`` matches ``encoded``. With ``encoded=None`` (no such letter) the same
    argon2 work is done against a dummy hash, so the answer takes about as long."""
    if not encoded:
        check_password(clean_secret(raw), _dummy_hash())
        return False
    return bool(check_password(clean_secret(raw), encoded))
