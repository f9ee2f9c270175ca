"""Which lexicon patterns could match a message, found in one pass over the message.

Python's regular expressions try every alternative of a pattern at every position of the
message; fifty patterns with long alternations cost more than a millisecond on a chat
message, and every child's message is assessed before it is delivered. Most patterns
cannot match most messages, and that can be known cheaply: from its parsed form, each
pattern gets a set of literal strings of which every match contains at least one (the
"required literals", as RE2's and Hyperscan's prefilters compute them). One pass over the
message finds which of all the patterns' literals occur in it; only those patterns are
searched. A pattern whose literals cannot be worked out (it may match almost anything:
``.{3}``, ``[^a]``) is always searched.

The analysis reads ``re._parser``'s parse tree (CPython's own, stable since 3.11); a node
it does not know makes the pattern "always searched", never "never searched", so a new
construct can only cost speed, not a missed match.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Generic, TypeVar

#: The most strings an exact set may hold before it is given up for a required set.
MAX_EXACT = 64
#: Classes with at most this many characters are expanded (``[てで]``).
MAX_CLASS = 16

Strings = frozenset[str]
# (exact, required): ``exact`` is every string the node can match (None when unknown or
# too many); ``required`` a set of which every match contains one (None when unknown).
Info = tuple[Strings | None, Strings | None]

_ANYTHING: Info = (None, None)
_EMPTY: Info = (frozenset({""}), None)


def required_literals(pattern: re.Pattern[str]) -> Strings | None:
    """Strings of which every match of ``pattern`` contains at least one, or None when
    that cannot be said (then the pattern must always be searched)."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # a construct of another Python version: search it always
        return None
    exact, required = _sequence(list(parsed))
    return _useful(exact) or _useful(required)


def _useful(strings: Strings | None) -> Strings | None:
    if strings is None or "" in strings or not strings:
        return None
    return strings


def _sequence(items: Iterable[tuple[Any, Any]]) -> Info:
    """A concatenation: exact while every part is exact (and the product stays small),
    otherwise the best required set among its parts."""
    run: Strings = frozenset({""})
    candidates: list[Strings] = []
    broken = False
    for op, av in items:
        exact, required = _node(op, av)
        if exact is not None and len(run) * len(exact) <= MAX_EXACT:
            run = frozenset(a + b for a in run for b in exact)
            continue
        broken = True
        candidates.append(run)
        if exact is not None:
            run = exact
            continue
        if required is not None:
            candidates.append(required)
        run = frozenset({""})
    if not broken:
        return run, _useful(run)
    candidates.append(run)
    return None, _best(candidates)


def _best(candidates: list[Strings]) -> Strings | None:
    useful = [c for c in candidates if _useful(c) is not None]
    if not useful:
        return None
    return max(useful, key=lambda c: (min(len(s) for s in c), -len(c)))


def _node(op: Any, av: Any) -> Info:
    if op is sre.LITERAL:
        return frozenset({chr(av)}), frozenset({chr(av)})
    if op is sre.IN:
        chars = _class_chars(av)
        return (chars, chars) if chars else _ANYTHING
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, body = av
        if add_flags & sre.SRE_FLAG_IGNORECASE:
            return _ANYTHING
        return _sequence(list(body))
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _sequence(list(av))
    if op is sre.BRANCH:
        return _branch([_sequence(list(body)) for body in av[1]])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
        return _repeat(*av)
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _EMPTY  # zero width: it only decides where a match may be
    return _ANYTHING


def _class_chars(items: list[tuple[Any, Any]]) -> Strings | None:
    chars: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            chars.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < MAX_CLASS:
            chars.update(chr(code) for code in range(av[0], av[1] + 1))
        else:  # NEGATE, CATEGORY, a wide range
            return None
    return frozenset(chars) if 0 < len(chars) <= MAX_CLASS else None


def _branch(infos: list[Info]) -> Info:
    exacts = [exact for exact, _ in infos]
    if all(e is not None for e in exacts):
        union = frozenset().union(*(e for e in exacts if e is not None))
        if len(union) <= MAX_EXACT:
            return union, _useful(union)
    required: set[str] = set()
    for exact, each in infos:
        found = _useful(exact) or each
        if found is None:
            return _ANYTHING
        required.update(found)
    return None, frozenset(required)


def _repeat(low: int, high: Any, body: Any) -> Info:
    exact, required = _sequence(list(body))
    if low == 0:
        if high == 1 and exact is not None:
            return exact | {""}, None
        return _ANYTHING
    if low == 1 and high == 1:
        return exact, required
    return None, _useful(exact) or required


def branches(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], ...]:
    """``pattern``'s top-level alternatives as patterns of their own (``a|b|c`` is searched
    as ``a``, ``b``, ``c``: a message matches the whole exactly when it matches one of
    them), so the prefilter can skip each one apart. The pattern itself when it cannot be
    split safely (one alternative, group references, global flags)."""
    source = pattern.pattern
    if re.search(r"\\[1-9]|\(\?P=|\(\?[aiLmsux]+\)", source):
        return (pattern,)
    parts: list[str] = []
    depth = 0
    start = 0
    in_class = False
    position = 0
    while position < len(source):
        char = source[position]
        if char == "\\":
            position += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if source.startswith("]", position + 1) or source.startswith("^]", position + 1):
                position += 2 if source[position + 1] == "]" else 3
                continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:position])
            start = position + 1
        position += 1
    parts.append(source[start:])
    if len(parts) < 2 or not all(parts):
        return (pattern,)
    try:
        return tuple(re.compile(part, pattern.flags) for part in parts)
    except re.error:
        return (pattern,)


K = TypeVar("K", bound=Hashable)


class LiteralIndex(Generic[K]):
    """All patterns' required literals, looked up in a message at once.

    A literal may be shortened to its first ``SPAN`` characters without losing a match
    (a message that contains it contains its beginning), so every literal becomes a key
    of one, two or three characters and the message's substrings of those lengths are
    looked up by set intersection.
    """

    SPAN = 3

    def __init__(self, literals: Mapping[K, Strings | None]) -> None:
        self.always = frozenset(key for key, found in literals.items() if found is None)
        self.grams: dict[int, dict[str, set[K]]] = {}
        for key, found in literals.items():
            for literal in found or ():
                gram = literal[: self.SPAN]
                self.grams.setdefault(len(gram), {}).setdefault(gram, set()).add(key)

    def candidates(self, text: str) -> set[K]:
        """The keys whose pattern may match ``text``."""
        found = set(self.always)
        for length, grams in self.grams.items():
            present = {text[i : i + length] for i in range(len(text) - length + 1)}
            for gram in grams.keys() & present:
                found |= grams[gram]
        return found
