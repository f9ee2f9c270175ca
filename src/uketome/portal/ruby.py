"""Which furigana a child asked for, carried in the address (never in a cookie).

``?g=1``..``?g=6``: ruby on kanji above that school grade; ``?g=0`` (the default): ruby on
every kanji; ``?g=none``: no ruby. Links between public pages keep the choice
(``{% keep_grade url %}``), so nothing is stored on the child's device.
"""

from __future__ import annotations

from django.http import HttpRequest

GRADE_PARAM = "g"
DEFAULT_GRADE: int | None = 0
CHOICES: list[tuple[str, int | None]] = [
    ("0", 0),
    ("1", 1),
    ("2", 2),
    ("3", 3),
    ("4", 4),
    ("5", 5),
    ("6", 6),
    ("none", None),
]


def grade_from(request: HttpRequest) -> int | None:
    raw = request.GET.get(GRADE_PARAM, "")
    for value, grade in CHOICES:
        if raw == value:
            return grade
    return DEFAULT_GRADE


def grade_param(grade: int | None) -> str:
    return "none" if grade is None else str(grade)
