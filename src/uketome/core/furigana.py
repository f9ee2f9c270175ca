"""Furigana (ruby) by school grade, rendered on the server.

A child picks a school grade (1-6), "ruby on every kanji" (grade 0) or "no ruby" (None).
A run of kanji gets a reading when it holds at least one kanji taught *after* that grade,
following the official 学年別漢字配当表 (2020 edition, 1,026 kanji). Kanji outside the table
(the rest of the 常用漢字, 人名用漢字, ...) count as grade 7 (junior high and above), so
they get a reading at every grade but "no ruby".

How a text is read
    1. Editor markup ``{漢字|かんじ}`` is cut out first. It is always shown as given (the base
       with that reading, whatever the grade; only "no ruby" shows just the base) and never
       goes to the analyser.
    2. The rest is tokenised by SudachiPy (split mode C, sudachidict-core, which ships its
       dictionary: nothing is downloaded at run time). Each token's ``reading_form()`` is
       turned from katakana into hiragana (jaconv).
    3. The reading is aligned with the surface so that okurigana stay uncovered:
       食べる -> 食(た)べる, 話し合い -> 話(はな)し合(あ)い. The kana between the kanji runs
       must appear literally in the reading; the match must be unique (the shortest and the
       longest readings for each run agree), otherwise the token gets one ruby over its
       kanji-containing span (prefix and suffix kana left out where they match) rather than a
       wrong split.
    4. A compound token (児童相談所) is narrowed with Sudachi's short units (児童/相談/所) when
       only some of them need a reading: the compound's reading is shared out over the units
       (allowing rendaku and っ, so 所 gets じょ, not しょ), and at grade 3 only 児童 gets ruby.
       Neighbouring runs of one token that both need a reading become one ruby, so at
       grade 0 小学校 is ``<ruby>小学校<rt>しょうがっこう</rt></ruby>``.
    5. A few readings that the dictionary gives in an adult or formal form are replaced by
       the one a children's page uses (明日 あした, 私 わたし, 日本 にほん, 言う いう, 何 なに
       before が/を/か/も/に/から...). Anything else an editor fixes with the markup.

Numbers, kana, Latin letters and punctuation never get ruby. Every piece of text is escaped
with ``django.utils.html.escape``; the only markup in the output is the one made here.

Two HTML forms
    ``ruby_html`` gives the plain form ``<ruby>BASE<rt>READING</rt></ruby>`` (what
    ``uketome furigana`` prints).

    ``ruby_html_accessible`` is for web pages. Screen readers (NVDA, JAWS, VoiceOver,
    TalkBack) read both the base and the ``<rt>``, so 話 with はなし is heard as
    "はなしはなし" (which can even change the meaning); and a reading split from its
    okurigana (食 / べる) makes the speech engine read the kanji on its own (しょく べる).
    The Japan DAISY Consortium's 2021 open letter "Towards Accessible Ruby", the W3C jlreq
    ruby accessibility notes and tests reported by Japanese accessibility practitioners
    describe both problems; browsers and screen readers offer no markup that avoids them
    yet. So each run of words that carries ruby is written twice:

        <span class="sr-only">食べる</span>
        <span aria-hidden="true"><ruby>食<rt>た</rt></ruby>べる</span>

    (one after the other, without the line break). A "run" is the words with ruby together
    with the hiragana words that follow them (悩ん|で|いる), so that the speech engine gets
    a verb with its endings in one piece.

    The visually hidden copy gives assistive technology the whole word once, unbroken, so
    the speech engine chooses the reading from the word (and a braille display shows the
    real spelling); the visible copy with ruby is hidden from the accessibility tree with
    ``aria-hidden="true"``, which every current screen reader honours. Words without
    ruby are written once, as plain text. The page's CSS must define ``.sr-only``
    (clip to 1px, absolute position). Known costs: copying the text or finding in page can
    see both copies, and a browser's own "read aloud" that ignores ARIA may read both.

Cache: the rendering of a (text, grade, form) is kept in an LRU cache; pages are cached by
the caller too. The Sudachi dictionary is loaded once (lazily, under a lock) and each
thread gets its own tokenizer (``threading.local``), so concurrent requests never share one.

The grade table ``data/kanji_grades.json`` ({"1": "一七三...", ..., "6": "..."}) was made
once from the PyPI package ``kanji-lists`` (0.2.0, MIT; its ``KYOIKU.REIWA2`` sets are the
2020 学年別漢字配当表 as published by MEXT), which is not needed at run time. To make it
again (``pip install kanji-lists==0.2.0``, then from the repository root)::

    import json
    from pathlib import Path

    from kanji_lists import KYOIKU

    table = {str(n): "".join(sorted(getattr(KYOIKU.REIWA2, f"GRADE{n}"))) for n in range(1, 7)}
    assert [len(v) for v in table.values()] == [80, 160, 200, 202, 193, 191]
    Path("src/uketome/core/data/kanji_grades.json").write_text(
        json.dumps(table, ensure_ascii=False, indent=1) + "\\n", encoding="utf-8"
    )
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import jaconv
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from uketome.core.text import sudachi

__all__ = [
    "BEYOND_ELEMENTARY",
    "GRADES",
    "kanji_grade",
    "ruby_html",
    "ruby_html_accessible",
]

GRADE_TABLE = Path(__file__).with_name("data") / "kanji_grades.json"
#: The grades a reader can choose: 0 = ruby on every kanji, 1-6 = school grade.
GRADES = range(7)
#: The grade given to a kanji outside the 学年別漢字配当表.
BEYOND_ELEMENTARY = 7
#: The most characters handed to Sudachi at once (it refuses very long inputs).
_MAX_CHUNK = 2000
_CACHE_SIZE = 2048

# {漢字|かんじ}: a base and a reading, neither empty, neither with braces, bars or newlines.
_MARKUP = re.compile(r"\{([^{}|\n]+)\|([^{}|\n]+)\}")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
# Marks that belong to a run of kanji without being kanji themselves.
_KANJI_MARKS = frozenset("々〆ヶヵ")
_KANA_READING = re.compile(r"[\u3041-\u309f\u30fc]+")  # hiragana and the long vowel mark ー
_VOICING = {"\u3099", "\u309a"}  # combining (han)dakuten, after NFD
_SOKUON_FROM = frozenset("つくきちっ")

# Readings a children's page uses where the dictionary gives another common one.
_PREFERRED_READINGS = {
    "明日": "あした",
    "私": "わたし",
    "日本": "にほん",
    "言う": "いう",
}
# 何 is なに before these (何が, 何を, 何か, 何も...), otherwise Sudachi's なん (何で, 何の).
_NANI_BEFORE = ("が", "を", "か", "も", "に", "から", "より", "や")
_NAN_COUNTERS = ("か月", "ヶ月", "か所", "ヶ所", "か国")  # 何か月 is なんかげつ

Piece = tuple[str, str | None]  # (text, reading or None for plain text)


# --- the grade table -------------------------------------------------------------------------


@functools.cache
def _grade_table() -> dict[str, int]:
    data = json.loads(GRADE_TABLE.read_text(encoding="utf-8"))
    return {kanji: int(grade) for grade, kanji_list in data.items() for kanji in kanji_list}


def _is_kanji(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0x3400 <= code <= 0x4DBF  # Extension A
        or 0xF900 <= code <= 0xFAFF  # Compatibility Ideographs
        or 0x20000 <= code <= 0x3134F  # Extensions B-G (𠮷 ...)
    )


def kanji_grade(char: str) -> int | None:
    """The school grade (1-6) a kanji is taught in, 7 beyond that, None if not a kanji."""
    if not _is_kanji(char):
        return None
    return _grade_table().get(char, BEYOND_ELEMENTARY)


def _needs_ruby(text: str, grade: int) -> bool:
    """Whether a run needs a reading at this grade: any kanji taught after it."""
    return any(g is not None and (grade == 0 or g > grade) for g in map(kanji_grade, text))


def _mixed(text: str, grade: int) -> bool:
    """Whether a run holds both kanji that need a reading at this grade and kanji that don't."""
    grades = [g for g in map(kanji_grade, text) if g is not None]
    return grade > 0 and any(g > grade for g in grades) and any(g <= grade for g in grades)


def _has_kanji(text: str) -> bool:
    return any(_is_kanji(c) for c in text)


# --- Sudachi -----------------------------------------------------------------------------------


def _tokenizer() -> Any:
    """This thread's Sudachi tokenizer (mode C)."""
    return sudachi("C")


# A token as read from Sudachi: surface, katakana reading, short units [(surface, reading)].
Token = tuple[str, str, list[tuple[str, str]]]


def _tokenize(text: str) -> list[Token]:
    from sudachipy import SplitMode

    tokens: list[Token] = []
    for morpheme in _tokenizer().tokenize(text):
        surface = morpheme.surface()
        units: list[tuple[str, str]] = []
        if len(surface) > 1 and _has_kanji(surface):
            split = morpheme.split(SplitMode.A)
            if len(split) > 1:
                units = [(unit.surface(), unit.reading_form()) for unit in split]
        tokens.append((surface, morpheme.reading_form(), units))
    return tokens


def _chunks(text: str) -> list[str]:
    """The text cut at line ends, and long lines at sentence ends, for Sudachi."""
    chunks: list[str] = []
    for line in text.splitlines(keepends=True):
        if len(line) <= _MAX_CHUNK:
            chunks.append(line)
            continue
        current = ""
        for sentence in _SENTENCE_END.split(line):
            if current and len(current) + len(sentence) > _MAX_CHUNK:
                chunks.append(current)
                current = ""
            current += sentence
            while len(current) > _MAX_CHUNK:
                chunks.append(current[:_MAX_CHUNK])
                current = current[_MAX_CHUNK:]
        if current:
            chunks.append(current)
    return chunks


# --- aligning a reading with a surface ---------------------------------------------------------


def _hiragana(text: str) -> str:
    return jaconv.kata2hira(unicodedata.normalize("NFKC", text))


def _runs(surface: str) -> list[tuple[str, bool]]:
    """The surface cut into runs of kanji (with 々 ヶ ...) and runs of anything else."""
    runs: list[tuple[str, bool]] = []
    for char in surface:
        is_kanji = _is_kanji(char) or char in _KANJI_MARKS
        if runs and runs[-1][1] == is_kanji:
            runs[-1] = (runs[-1][0] + char, is_kanji)
        else:
            runs.append((char, is_kanji))
    # A mark on its own (ヶ after a digit, say) is not a kanji run.
    return [(text, is_kanji and _has_kanji(text)) for text, is_kanji in runs]


def _align(surface: str, reading: str) -> tuple[list[Piece], bool]:
    """The surface as pieces, each run of kanji with its part of the (hiragana) reading.

    Also says whether the alignment is exact (False: one ruby over the kanji-containing
    span, because the kana between the kanji runs did not place the readings uniquely).
    """
    if not _has_kanji(surface):
        return [(surface, None)], True
    if not _KANA_READING.fullmatch(reading):
        return [(surface, None)], True  # no usable reading (an unknown word, a rare kanji)
    runs = _runs(surface)
    lazy = "".join("(.+?)" if k else re.escape(_hiragana(t)) for t, k in runs)
    greedy = "".join("(.+)" if k else re.escape(_hiragana(t)) for t, k in runs)
    short, long = re.fullmatch(lazy, reading), re.fullmatch(greedy, reading)
    if short and long and short.groups() == long.groups():
        groups = iter(short.groups())
        return [(text, next(groups) if is_kanji else None) for text, is_kanji in runs], True
    return _align_whole(surface, reading), False


def _align_whole(surface: str, reading: str) -> list[Piece]:
    """One ruby over the kanji-containing span, kana before and after it left bare."""
    kanji_at = [i for i, c in enumerate(surface) if _is_kanji(c) or c in _KANJI_MARKS]
    start, end = kanji_at[0], kanji_at[-1] + 1
    prefix, suffix = _hiragana(surface[:start]), _hiragana(surface[end:])
    if (
        reading.startswith(prefix)
        and reading.endswith(suffix)
        and len(reading) > len(prefix) + len(suffix)
    ):
        pieces: list[Piece] = [
            (surface[:start], None),
            (surface[start:end], reading[len(prefix) : len(reading) - len(suffix)]),
            (surface[end:], None),
        ]
        return [piece for piece in pieces if piece[0]]
    return [(surface, reading)]


def _unvoiced(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", char) if c not in _VOICING)


def _share_out(reading: str, parts: list[str]) -> list[str] | None:
    """The reading of a compound shared out over its units' own readings, or None.

    The units' readings may differ from the compound's by rendaku (所 しょ / 相談所 そうだん
    じょ) or a small っ (学 がく / 学校 がっこう), character for character.
    """
    if "".join(parts) == reading:
        return parts
    if sum(map(len, parts)) != len(reading):
        return None
    joined = "".join(parts)
    for whole, part in zip(reading, joined, strict=True):
        if whole != part and _unvoiced(whole) != _unvoiced(part):
            if not (whole == "っ" and part in _SOKUON_FROM):
                return None
    shared, at = [], 0
    for part in parts:
        shared.append(reading[at : at + len(part)])
        at += len(part)
    return shared


def _preferred(surface: str, reading: str, after: str) -> str:
    if surface == "何" and after.startswith(_NANI_BEFORE) and not after.startswith(_NAN_COUNTERS):
        return "なに"
    return _PREFERRED_READINGS.get(surface, reading)


def _token_pieces(token: Token, after: str, grade: int) -> list[Piece]:
    """A token as pieces: runs that need a reading at this grade carry it, others are bare."""
    surface, katakana, units = token
    if not _has_kanji(surface):
        return [(surface, None)]
    reading = _preferred(surface, _hiragana(katakana), after)
    pieces, exact = _align(surface, reading)
    if units and (not exact or any(r is not None and _mixed(t, grade) for t, r in pieces)):
        # The alignment was not unique, or some kanji of this compound need a reading and
        # some do not: try Sudachi's short units, each with its share of the reading.
        shared = _share_out(reading, [_hiragana(r) for _, r in units])
        if shared is not None:
            aligned = [_align(text, r) for (text, _), r in zip(units, shared, strict=True)]
            if all(exact for _, exact in aligned):
                pieces = [piece for unit_pieces, _ in aligned for piece in unit_pieces]
    marked: list[Piece] = [
        (text, r if r is not None and _needs_ruby(text, grade) else None) for text, r in pieces
    ]
    return _merge(marked)


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Neighbouring pieces with readings become one ruby; neighbouring bare text one piece."""
    merged: list[Piece] = []
    for text, reading in pieces:
        if merged and (merged[-1][1] is None) == (reading is None):
            last_text, last_reading = merged[-1]
            joined = None if reading is None else f"{last_reading}{reading}"
            merged[-1] = (last_text + text, joined)
        else:
            merged.append((text, reading))
    return merged


# --- putting it together -----------------------------------------------------------------------


def _words(text: str, grade: int | None) -> list[list[Piece]]:
    """The text as words (Sudachi tokens and markup), each a list of pieces."""
    words: list[list[Piece]] = []
    at = 0
    for match in _MARKUP.finditer(text):
        words.extend(_plain_words(text[at : match.start()], grade))
        base, reading = match.group(1), match.group(2)
        words.append([(base, None if grade is None else reading)])
        at = match.end()
    words.extend(_plain_words(text[at:], grade))
    return words


def _plain_words(text: str, grade: int | None) -> list[list[Piece]]:
    if not text:
        return []
    if grade is None or not _has_kanji(text):
        return [[(text, None)]]
    words: list[list[Piece]] = []
    for chunk in _chunks(text):
        tokens = _tokenize(chunk)
        at = 0
        for token in tokens:
            at += len(token[0])
            words.append(_token_pieces(token, chunk[at : at + 4], grade))
    return words


def _ruby(pieces: list[Piece]) -> str:
    return "".join(
        escape(text)
        if reading is None
        else f"<ruby>{escape(text)}<rt>{escape(reading)}</rt></ruby>"
        for text, reading in pieces
    )


def _check_grade(grade: int | None) -> None:
    if grade is not None and (
        not isinstance(grade, int) or isinstance(grade, bool) or grade not in GRADES
    ):
        raise ValueError(f"grade must be 0-6 or None, not {grade!r}")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _render(text: str, grade: int | None, accessible: bool) -> SafeString:
    words = _words(text, grade)
    if not accessible:
        return mark_safe("".join(_ruby(word) for word in words))  # noqa: S308 - all escaped
    html: list[str] = []
    # Words with ruby and the hiragana words after them (inflections, particles: 悩ん|で|いる),
    # spoken as one phrase so that the speech engine reads them together.
    group: list[list[Piece]] = []

    def flush() -> None:
        if group:
            spoken = "".join(text for word in group for text, _ in word)
            shown = "".join(_ruby(word) for word in group)
            html.append(
                f'<span class="sr-only">{escape(spoken)}</span>'
                f'<span aria-hidden="true">{shown}</span>'
            )
            group.clear()

    for word in words:
        if any(reading is not None for _, reading in word) or (
            group and _KANA_READING.fullmatch("".join(text for text, _ in word))
        ):
            group.append(word)
        else:
            flush()
            html.append(_ruby(word))
    flush()
    return mark_safe("".join(html))  # noqa: S308 - every piece of text is escaped


def ruby_html(text: str, grade: int | None) -> SafeString:
    """The text as safe HTML with ``<ruby>BASE<rt>READING</rt></ruby>`` where needed.

    ``grade``: 1-6 (ruby on kanji taught after that grade), 0 (every kanji), None (none).
    """
    _check_grade(grade)
    return _render(text, grade, False)


def ruby_html_accessible(text: str, grade: int | None) -> SafeString:
    """Like ``ruby_html``, in the form for web pages that screen readers read once.

    Each run of words with ruby is ``<span class="sr-only">WORDS</span>`` followed by
    ``<span aria-hidden="true">`` and the ruby form (see the module docstring).
    """
    _check_grade(grade)
    return _render(text, grade, True)


def cache_clear() -> None:
    """Forget every cached rendering (for tests and benchmarks)."""
    _render.cache_clear()
