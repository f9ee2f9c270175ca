"""Page text to safe HTML, with furigana for the child's grade.

The light markup an editor types:

    A line of text.            -> a paragraph (lines next to each other: one paragraph,
    Another line.                 kept as separate lines with <br>)
                               -> a blank line ends the paragraph or the list
    - an item                  -> a list item (<ul><li>)
    ## A heading               -> <h2> (the page title is the <h1>)
    {漢字|かんじ}               -> the editor's reading for a word, anywhere in a line

No HTML is ever taken from the text: each run of text goes to
``uketome.core.furigana.ruby_html_accessible``, which reads the ``{漢字|かんじ}`` markup,
adds furigana and escapes every character itself (so the runs are passed raw here and
never escaped twice). The only tags in the output are made here and there.
"""

from __future__ import annotations

import datetime
import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from uketome.core.furigana import ruby_html_accessible

HEADING = "## "
ITEM = "- "

# The same markup as uketome.core.furigana reads: {base|reading}.
_MARKUP = re.compile(r"\{([^{}|\n]+)\|([^{}|\n]+)\}")


def _run(text: str, grade: int | None) -> str:
    return str(ruby_html_accessible(text, grade))


def render_body(text: str, grade: int | None) -> SafeString:
    """The body as safe HTML: paragraphs, lists and headings, with furigana.

    ``grade``: 1-6 (ruby on kanji taught after that grade), 0 (every kanji), None (none).
    """
    html: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []

    def close() -> None:
        if paragraph:
            lines = "<br>\n".join(_run(line, grade) for line in paragraph)
            html.append(f"<p>{lines}</p>")
            paragraph.clear()
        if items:
            listed = "".join(f"<li>{_run(item, grade)}</li>\n" for item in items)
            html.append(f"<ul>\n{listed}</ul>")
            items.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            close()
        elif line.startswith(HEADING) and line[len(HEADING) :].strip():
            close()
            html.append(f"<h2>{_run(line[len(HEADING) :].strip(), grade)}</h2>")
        elif line.startswith(ITEM) and line[len(ITEM) :].strip():
            if paragraph:
                close()
            items.append(line[len(ITEM) :].strip())
        else:
            if items:
                close()
            paragraph.append(line)
    close()
    return mark_safe("\n".join(html))  # noqa: S308 - every text run is escaped by ruby_html_accessible


def plain_text(text: str) -> str:
    """The text without the reading markup (``{漢字|かんじ}`` -> ``漢字``), for the
    browser's title bar and other places that cannot show ruby. Not escaped."""
    return _MARKUP.sub(r"\1", text)


# --- dates for children -------------------------------------------------------------------
# The analyser reads dates badly (26日 as か), so dates carry their readings as markup.
_ONES = ["", "いち", "に", "さん", "よん", "ご", "ろく", "しち", "はち", "く"]
_MONTHS = [
    "いちがつ", "にがつ", "さんがつ", "しがつ", "ごがつ", "ろくがつ",
    "しちがつ", "はちがつ", "くがつ", "じゅうがつ", "じゅういちがつ", "じゅうにがつ",
]  # fmt: skip
_SPECIAL_DAYS = {
    1: "ついたち", 2: "ふつか", 3: "みっか", 4: "よっか", 5: "いつか", 6: "むいか",
    7: "なのか", 8: "ようか", 9: "ここのか", 10: "とおか", 14: "じゅうよっか",
    20: "はつか", 24: "にじゅうよっか",
}  # fmt: skip
_WEEKDAYS = [("月", "げつ"), ("火", "か"), ("水", "すい"), ("木", "もく"), ("金", "きん"),
             ("土", "ど"), ("日", "にち")]  # fmt: skip


def _day_reading(day: int) -> str:
    if day in _SPECIAL_DAYS:
        return _SPECIAL_DAYS[day]
    tens, ones = divmod(day, 10)
    return f"{_ONES[tens] if tens > 1 else ''}{'じゅう' if tens else ''}{_ONES[ones]}にち"


def date_html(day: datetime.date, grade: int | None, *, year: bool = True) -> SafeString:
    """``2025年7月26日（土）`` in a ``<time>`` element; with every reading at grade 0 (the
    kanji of a date are all taught in grade 1)."""
    weekday, weekday_reading = _WEEKDAYS[day.weekday()]
    if grade == 0:
        text = (
            (f"{day.year}{{年|ねん}}" if year else "")
            + f"{{{day.month}月|{_MONTHS[day.month - 1]}}}"
            + f"{{{day.day}日|{_day_reading(day.day)}}}"
            + f"（{{{weekday}|{weekday_reading}}}）"
        )
        shown = str(ruby_html_accessible(text, grade))
    else:
        text = (f"{day.year}年" if year else "") + f"{day.month}月{day.day}日（{weekday}）"
        shown = str(escape(text))
    return mark_safe(f'<time datetime="{day.isoformat()}">{shown}</time>')  # noqa: S308 - escaped
