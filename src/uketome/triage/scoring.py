"""Scoring a child's message against the risk lexicon.

``assess(text)`` is called for every chat message, mail and Q&A question, so it is
cheap: the lexicon is compiled once per process and kept until it changes (an edit in
this process drops it at once; other processes see the edit within ``RECHECK_SECONDS``).

How a message is read
    1. ``key``: ``core.text.search_key`` (NFKC, case folded, katakana and half-width kana
       to hiragana, no spaces), then "loosened": the long vowel mark and tildes dropped,
       small vowels made full size, a character repeated four times or more kept twice,
       so しにたーい and ｼﾆﾀｲ read しにたい, しにたいいいい reads しにたいい.
    2. SudachiPy (split mode A, sudachidict-core, one dictionary per process and one
       tokenizer per thread) analyses the loosened text, and again the same text with the
       katakana kept when it had any (リスカ is a word only in katakana, ｼﾆﾀｸﾅﾙ only in
       hiragana). Each token gives a lemma (its normalised form, kana folded: しぬ, 死に and
       シヌ are all 死ぬ) and a reading.
    3. ``reading``: the readings in hiragana, one string, so 死ぬほど and しぬほど both read
       しぬほど.

How an entry matches (``kind``)
    lemma      the entry is analysed the same way into a lemma sequence (particles dropped);
               the message's lemmas must contain it in order, particles between them
               skipped (手首 切る matches 手首をきった and てくびきってる).
    substring  the entry's key or reading occurs in the message's key or reading.
    pattern    a regular expression searched in the key and in the reading (write it in
               hiragana or kanji; katakana in it is folded to hiragana).

An entry is ignored when one of its ``exceptions`` (regular expressions, searched the
same way) occurs in the message: 死ぬ has the exception ほど (死ぬほど眠い).

Context entries (``effect = "context"``) carry no risk of their own; when they match they
shift the level of the risk matches by ``shift`` steps:
    * category ``negation`` (lemma kind): only a risk match that it follows within two
      tokens, particles skipped (死にたくない, 殴られてない);
    * every other context category (hyperbole, joke, fiction, immediacy, ...): every risk
      match of the message whose category is in ``applies_to`` (all when empty).
    Several matches of one context category count once (the strongest shift); the shifts
    of different categories add up. A raise never lifts a match above urgent, a lowering
    to none cancels it.

Level and score
    The message's level is the highest level among the risk matches that remain. The
    score orders messages for the queue: 0 for none, otherwise ``25 * rank + evidence``
    where rank is 1 (watch), 2 (high) or 3 (urgent) and evidence is, summed over the
    categories found, the highest weight of the category's remaining matches, at most
    24 (two entries saying the same thing count once; a second kind of risk adds). So
    every watch scores 25-49, high 50-74, urgent 75-99, and within a level more evidence
    sorts first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jaconv

from uketome.core.text import fold_kana, sudachi
from uketome.triage.prefilter import LiteralIndex, branches, required_literals

LEVELS: tuple[str, ...] = ("none", "watch", "high", "urgent")
ALERT_LEVELS = frozenset({"high", "urgent"})
RANK = {level: rank for rank, level in enumerate(LEVELS)}

KINDS = ("lemma", "substring", "pattern")
EFFECTS = ("risk", "context")
#: The context category whose matches act only on the risk match just before them.
NEGATION = "negation"
#: How many tokens after a risk match a negation may start (particles not counted).
NEGATION_WINDOW = 2
#: The most weight that counts within a level (so a score never crosses into the next).
MAX_EVIDENCE = 24
#: Other processes' edits are looked for at most this often.
RECHECK_SECONDS = 5.0
#: Longer texts (a letter, a Q&A question) are scored in pieces of about this many
#: characters, cut after a sentence where possible; the result is the worst piece's.
MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Assessment:
    """The risk found in one message."""

    level: str = "none"
    score: int = 0
    categories: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()

    @property
    def alert(self) -> bool:
        """Whether the supervisors signed in must be alerted (high or urgent)."""
        return self.level in ALERT_LEVELS

    @property
    def rank(self) -> int:
        """0 (none) to 3 (urgent), the taxonomy's risk rank."""
        return RANK[self.level]


NO_RISK = Assessment()


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """One lexicon entry as data (from the database or ``data/lexicon.toml``)."""

    term: str
    kind: str = "lemma"
    name: str = ""
    category: str = ""
    effect: str = "risk"
    level: str = "watch"
    weight: int = 5
    shift: int = 0
    applies_to: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the entry is named in ``Assessment.matched``: ``category:name`` (the
        term when the entry has no name)."""
        return f"{self.category}:{self.name or self.term}"


class LexiconError(ValueError):
    """An entry that cannot be compiled (bad regular expression, no words...)."""


# --- reading a text ---------------------------------------------------------------------

_SMALL_VOWELS = str.maketrans("ぁぃぅぇぉゎ", "あいうえおわ")
#: Marks that end a clause become one 、 (patterns can anchor on it); decoration goes.
_BOUNDARIES = re.compile(r"[\s、。,.!?！？…‥;:；：/]+")
_DROPPED = re.compile(r"[ー〜~～・「」『』()（）\[\]【】\"'`*＊♪☆★♡♥-]+")
_REPEATS = re.compile(r"(.)\1{3,}")
_COMMAS = re.compile(r"、{2,}")
_PARTICLE = "助詞"
_SKIPPED_POS = frozenset({"助詞", "補助記号", "空白"})


def _tokenizer() -> Any:
    """This thread's Sudachi tokenizer (mode A)."""
    return sudachi("A")


def _loosened(text: str) -> str:
    text = _DROPPED.sub("", _BOUNDARIES.sub("、", text).translate(_SMALL_VOWELS))
    return _COMMAS.sub("、", _REPEATS.sub(r"\1\1", text)).strip("、")


def loosen(text: str) -> str:
    """The key a message is matched on (see the module's docstring, step 1)."""
    return _loosened(fold_kana(unicodedata.normalize("NFKC", text)).casefold())


def _loosen_keeping_katakana(text: str) -> str:
    return _loosened(unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True, slots=True)
class Token:
    lemma: str
    reading: str
    particle: bool
    skipped: bool


#: A part of speech's first level by its id in the (one, per-process) dictionary.
_POS_FIRST: dict[int, str] = {}


def _tokens(text: str) -> list[Token]:
    found = []
    for morpheme in _tokenizer().tokenize(text):
        pos_id = morpheme.part_of_speech_id()
        pos = _POS_FIRST.get(pos_id)
        if pos is None:
            pos = _POS_FIRST[pos_id] = morpheme.part_of_speech()[0]
        reading = morpheme.reading_form() or morpheme.surface()
        found.append(_token(pos, morpheme.normalized_form(), reading))
    return found


@functools.lru_cache(maxsize=16384)
def _token(pos: str, normalized: str, reading: str) -> Token:
    """One word as the matchers see it; words recur, so they are folded once (every
    child's chat message is read)."""
    return Token(
        lemma=fold_kana(normalized).casefold(),
        reading=jaconv.kata2hira(reading).casefold(),
        particle=pos == _PARTICLE,
        skipped=pos in _SKIPPED_POS,
    )


@dataclass(frozen=True, slots=True)
class Reading:
    """A message as the matchers see it."""

    key: str
    reading: str
    analyses: tuple[tuple[Token, ...], ...]

    def texts(self) -> tuple[str, ...]:
        return (self.key, self.reading) if self.reading != self.key else (self.key,)


def read(text: str) -> Reading:
    """Analyse ``text`` once for every matcher."""
    key = loosen(text)
    if not key:
        return Reading(key="", reading="", analyses=())
    folded = tuple(_tokens(key))
    analyses = [folded]
    with_katakana = _loosen_keeping_katakana(text)
    if with_katakana != key and re.search(r"[\u30a1-\u30fa]", with_katakana):
        analyses.append(tuple(_tokens(with_katakana)))
    reading = loosen("".join(token.reading for token in folded))
    return Reading(key=key, reading=reading, analyses=tuple(analyses))


# --- compiling the lexicon ----------------------------------------------------------------


#: A repeated group that itself repeats, such as (a+)+ or (.*)*: on a message that almost
#: matches, Python's regular expressions can take exponential time (every chat message
#: goes through every pattern), so such patterns are refused.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*(?<!\\)[+*}](?:[^()\\]|\\.)*\)[+*{]")


def _pattern(source: str) -> re.Pattern[str]:
    """A regular expression written by the secretariat, read like a message: NFKC, kana
    folded, small vowels made full size, long vowel marks dropped."""
    if _NESTED_REPEAT.search(source):
        raise LexiconError(f"{source!r}: a repeated group inside a repetition can be very slow")
    source = jaconv.kata2hira(unicodedata.normalize("NFKC", source)).translate(_SMALL_VOWELS)
    try:
        return re.compile(re.sub(r"[ー〜～]", "", source))
    except re.error as error:
        raise LexiconError(f"{source!r}: {error}") from error


def _lemmas_of(text: str) -> tuple[str, ...]:
    tokens = [token for token in _tokens(loosen(text)) if not token.skipped or token.particle]
    content = tuple(token.lemma for token in tokens if not token.particle)
    return content or tuple(token.lemma for token in tokens)


#: A slot that stands for up to ``MAX_GAP`` words of any kind (``死ぬ * たい``).
GAP = frozenset({"*"})
MAX_GAP = 2


def lemma_sequence(term: str) -> tuple[frozenset[str], ...]:
    """The lemmas an entry of kind ``lemma`` stands for, one set of alternatives per slot.

    Without ``|`` or ``*`` the term is analysed as written (死にたい -> 死ぬ, たい; particles
    dropped unless the term is nothing but particles). Otherwise slots are separated by
    spaces; each slot lists single words (``触る|さわる れる``: touched, in either
    spelling) or is ``*``, up to two words of any kind (``死ぬ * たい`` matches
    死んじゃいたい and 死んでしまいたい).
    """
    if "|" not in term and "*" not in term.split():
        return tuple(frozenset({lemma}) for lemma in _lemmas_of(term))
    slots: list[frozenset[str]] = []
    for slot in term.split():
        if slot == "*":
            slots.append(GAP)
            continue
        alternatives: set[str] = set()
        for word in slot.split("|"):
            lemmas = _lemmas_of(word)
            if len(lemmas) != 1:
                raise LexiconError(f"{term!r}: {word!r} is not one word")
            # The word as written counts too: ない alone is analysed as the adjective
            # 無い, while after a verb it is the auxiliary ない.
            alternatives.update({lemmas[0], loosen(word)})
        slots.append(frozenset(alternatives))
    if slots and (slots[0] is GAP or slots[-1] is GAP):
        raise LexiconError(f"{term!r}: * goes between words")
    return tuple(slots)


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: EntrySpec
    lemmas: tuple[frozenset[str], ...] = ()
    needles: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    exceptions: tuple[re.Pattern[str], ...] = ()


def _compile_entry(spec: EntrySpec) -> _Compiled:
    if spec.kind not in KINDS:
        raise LexiconError(f"{spec.term!r}: unknown kind {spec.kind!r}")
    if spec.effect not in EFFECTS:
        raise LexiconError(f"{spec.term!r}: unknown effect {spec.effect!r}")
    if spec.effect == "risk" and spec.level not in LEVELS[1:]:
        raise LexiconError(f"{spec.term!r}: a risk entry needs a level watch, high or urgent")
    exceptions = tuple(_pattern(source) for source in spec.exceptions if source.strip())
    if spec.kind == "lemma":
        lemmas = lemma_sequence(spec.term)
        if not lemmas:
            raise LexiconError(f"{spec.term!r}: no words to match")
        return _Compiled(spec=spec, lemmas=lemmas, exceptions=exceptions)
    if spec.kind == "substring":
        key = loosen(spec.term)
        if not key:
            raise LexiconError(f"{spec.term!r}: nothing to match")
        reading = loosen("".join(token.reading for token in _tokens(key)))
        needles = tuple(dict.fromkeys(n for n in (key, reading) if n))
        return _Compiled(spec=spec, needles=needles, exceptions=exceptions)
    regex = _pattern(spec.term)
    if regex.search(""):
        raise LexiconError(f"{spec.term!r}: the pattern matches an empty message")
    return _Compiled(spec=spec, regex=regex, exceptions=exceptions)


def check_entry(spec: EntrySpec) -> None:
    """Raise ``LexiconError`` when ``spec`` cannot be used (for forms)."""
    _compile_entry(spec)


@dataclass(slots=True)
class _Hit:
    entry: _Compiled
    start: int | None = None  # token indexes of a lemma match (for negation)
    end: int | None = None
    analysis: int = 0
    shift: int = 0


@dataclass
class Lexicon:
    """A compiled lexicon: ``Lexicon(specs).assess(text)``."""

    specs: Sequence[EntrySpec]
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_first: dict[str, list[_Compiled]] = {}
        self._needles: list[_Compiled] = []
        self._patterns: list[_Compiled] = []
        for spec in self.specs:
            try:
                compiled = _compile_entry(spec)
            except LexiconError as error:
                self.errors.append(str(error))
                continue
            if compiled.lemmas:
                for first in compiled.lemmas[0]:
                    self._by_first.setdefault(first, []).append(compiled)
            elif compiled.needles:
                self._needles.append(compiled)
            else:
                self._patterns.append(compiled)
        # Each pattern's top-level alternatives, each skipped when its literals are absent.
        self._branches: dict[tuple[int, int], re.Pattern[str]] = {
            (number, part): branch
            for number, entry in enumerate(self._patterns)
            if entry.regex is not None
            for part, branch in enumerate(branches(entry.regex))
        }
        self._index = LiteralIndex(
            {key: required_literals(branch) for key, branch in self._branches.items()}
        )

    def __len__(self) -> int:
        """How many entries compiled."""
        return len(self.specs) - len(self.errors)

    def _lemma_hits(self, reading: Reading) -> list[_Hit]:
        hits: list[_Hit] = []
        for number, tokens in enumerate(reading.analyses):
            for start, token in enumerate(tokens):
                for entry in self._by_first.get(token.lemma, ()):
                    end = _match_from(tokens, start, entry.lemmas)
                    if end is not None:
                        hits.append(_Hit(entry=entry, start=start, end=end, analysis=number))
        return hits

    def _text_hits(self, reading: Reading) -> list[_Hit]:
        texts = reading.texts()
        hits = [
            _Hit(entry=entry)
            for entry in self._needles
            if any(needle in text for needle in entry.needles for text in texts)
        ]
        matched = {
            number
            for number, part in sorted(self._index.candidates("\n".join(texts)))
            if any(self._branches[number, part].search(text) for text in texts)
        }
        hits.extend(_Hit(entry=self._patterns[number]) for number in sorted(matched))
        return hits

    def assess(self, text: str) -> Assessment:
        """The risk found in ``text``."""
        reading = read(text)
        if not reading.key:
            return NO_RISK
        texts = reading.texts()
        hits = [
            hit
            for hit in self._lemma_hits(reading) + self._text_hits(reading)
            if not any(exc.search(t) for exc in hit.entry.exceptions for t in texts)
        ]
        risks = [hit for hit in hits if hit.entry.spec.effect == "risk"]
        if not risks:
            return NO_RISK
        contexts = [hit for hit in hits if hit.entry.spec.effect == "context"]
        for risk in risks:
            shifts: dict[str, int] = {}  # context category -> its strongest shift
            for context in contexts:
                spec = context.entry.spec
                if spec.category == NEGATION:
                    applies = _negates(context, risk, reading)
                else:
                    applies = not spec.applies_to or risk.entry.spec.category in spec.applies_to
                if applies and abs(spec.shift) > abs(shifts.get(spec.category, 0)):
                    shifts[spec.category] = spec.shift
            risk.shift = sum(shifts.values())
        return _result(risks)


def _match_from(tokens: Sequence[Token], start: int, slots: Sequence[frozenset[str]]) -> int | None:
    """The index after ``slots`` matched at ``start`` (particles between skipped), or
    None."""
    if not slots:
        return start
    slot, rest = slots[0], slots[1:]
    if slot is GAP:
        for skip in range(MAX_GAP + 1):
            if start + skip > len(tokens):
                break
            end = _match_from(tokens, start + skip, rest)
            if end is not None:
                return end
        return None
    position = start
    while position < len(tokens) and tokens[position].skipped:
        if tokens[position].lemma in slot:
            break
        position += 1
    if position >= len(tokens) or tokens[position].lemma not in slot:
        return None
    return _match_from(tokens, position + 1, rest)


def _negates(negation: _Hit, risk: _Hit, reading: Reading) -> bool:
    """Whether the negation starts within the window after the risk's lemma match."""
    if risk.end is None or negation.start is None or negation.analysis != risk.analysis:
        return False
    tokens = reading.analyses[risk.analysis]
    start = negation.start
    if start < risk.end:
        return False
    between = [token for token in tokens[risk.end : start] if not token.skipped]
    return len(between) < NEGATION_WINDOW


def _result(risks: Iterable[_Hit]) -> Assessment:
    ranks: dict[str, int] = {}  # label -> rank after the shifts, one per entry
    categories: dict[str, int] = {}  # category -> highest rank
    evidence: dict[str, int] = {}  # category -> highest weight
    for hit in risks:
        spec = hit.entry.spec
        rank = min(RANK["urgent"], RANK[spec.level] + hit.shift)
        if rank <= 0:
            continue
        ranks[spec.label] = max(rank, ranks.get(spec.label, 0))
        categories[spec.category] = max(categories.get(spec.category, 0), rank)
        evidence[spec.category] = max(evidence.get(spec.category, 0), max(0, spec.weight))
    if not ranks:
        return NO_RISK
    top = max(ranks.values())
    return Assessment(
        level=LEVELS[top],
        score=25 * top + min(MAX_EVIDENCE, sum(evidence.values())),
        categories=tuple(sorted(categories, key=lambda c: (-categories[c], c))),
        matched=tuple(sorted(ranks, key=lambda label: (-ranks[label], label))),
    )


# --- the process's lexicon ----------------------------------------------------------------

#: Where the specs come from: set by the app (the database with the shipped default as a
#: fallback); ``(loader, version)`` where ``version()`` is cheap and changes on every edit.
_source: tuple[Callable[[], list[EntrySpec]], Callable[[], Any]] | None = None
_state_lock = threading.Lock()
#: The entries as last read and their version; the lexicon compiled from them.
_specs: tuple[Any, list[EntrySpec]] | None = None
_checked_at = 0.0
_current: Lexicon | None = None
_current_version: Any = None
#: Who scores in this process when not this module: a server process hands the work to a
#: process of its own (``triage/worker.py``); None scores here.
_scorer: Callable[[str], Assessment] | None = None
#: The version of the shipped default, when no source is set.
DEFAULT_VERSION = "default"


def set_source(loader: Callable[[], list[EntrySpec]], version: Callable[[], Any]) -> None:
    """Where ``assess`` reads the lexicon from (the app does this in ``ready()``)."""
    global _source
    _source = (loader, version)
    invalidate()


def invalidate() -> None:
    """Forget the compiled lexicon: the next ``assess`` compiles it again."""
    global _specs, _current, _current_version, _checked_at
    with _state_lock:
        _specs = None
        _current = None
        _current_version = None
        _checked_at = 0.0


def _outside_event_loop(function: Callable[[], Any]) -> Any:
    """Run ``function`` (which may use the database) in a worker thread when called from
    an event loop, where Django refuses database access."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()

    def in_thread() -> Any:
        from django.db import connections

        try:
            return function()
        finally:
            connections.close_all()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread).result()


def _default_specs() -> list[EntrySpec]:
    from uketome.triage.defaults import default_specs

    return default_specs()


def current_specs() -> tuple[Any, list[EntrySpec]]:
    """The lexicon's entries and their version, read again when the version has changed
    (checked at most every ``RECHECK_SECONDS``)."""
    global _specs, _checked_at
    now = time.monotonic()
    specs = _specs
    if specs is not None and now - _checked_at < RECHECK_SECONDS:
        return specs
    with _state_lock:
        if _specs is not None and now - _checked_at < RECHECK_SECONDS:
            return _specs
        if _source is None:
            if _specs is None:
                _specs = (DEFAULT_VERSION, _default_specs())
        else:
            loader, version_of = _source
            version = _outside_event_loop(version_of)
            if _specs is None or version != _specs[0]:
                _specs = (version, _outside_event_loop(loader))
        _checked_at = now
        return _specs


def current_lexicon() -> Lexicon:
    """The compiled lexicon of this process, compiled again when it changed."""
    global _current, _current_version
    version, specs = current_specs()
    lexicon = _current
    if lexicon is not None and version == _current_version:
        return lexicon
    with _state_lock:
        if _current is None or version != _current_version:
            _current, _current_version = Lexicon(specs), version
        return _current


_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")


def pieces(text: str, size: int = MAX_CHARS) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters, after a sentence where
    one ends in the piece."""
    found: list[str] = []
    while len(text) > size:
        head = text[:size]
        ends = [m.start() for m in _SENTENCE_END.finditer(head) if m.start() > size // 2]
        cut = ends[-1] if ends else size
        found.append(text[:cut])
        text = text[cut:]
    found.append(text)
    return found


def _worst(results: Sequence[Assessment]) -> Assessment:
    worst = max(results, key=lambda r: r.score)
    if worst.level == "none":
        return NO_RISK
    return Assessment(
        level=worst.level,
        score=worst.score,
        categories=tuple(dict.fromkeys(c for r in results for c in r.categories)),
        matched=tuple(dict.fromkeys(m for r in results for m in r.matched)),
    )


def prepare() -> None:
    """Compile the lexicon and load the dictionary now rather than at the first message.

    Together about 0.2 s, much of it holding the interpreter lock: a server process does
    this before it takes its first socket, so that the first child's message after a start
    (or a restart, with every chat reconnecting at once) does not stall all the others."""
    if _scorer is not None:
        _scorer(WARM_UP)
        return
    current_lexicon()
    load_dictionary()


def load_dictionary() -> None:
    """Load the dictionary now (about 0.1 s) rather than at the first message."""
    _tokenizer()


#: A text that makes the scorer compile the lexicon and load the dictionary.
WARM_UP = "準備"


def use(scorer: Callable[[str], Assessment] | None) -> None:
    """Score with ``scorer`` from now on (None: in this process)."""
    global _scorer
    _scorer = scorer


def assess(text: str) -> Assessment:
    """The risk found in ``text`` (see the module's docstring)."""
    if not text or not text.strip():
        return NO_RISK
    scorer = _scorer
    if scorer is not None:
        return scorer(text)
    return assess_with(current_lexicon(), text)


def assess_with(lexicon: Lexicon, text: str) -> Assessment:
    """The risk ``lexicon`` finds in ``text``."""
    if not text or not text.strip():
        return NO_RISK
    if len(text) <= MAX_CHARS:
        return lexicon.assess(text)
    return _worst([lexicon.assess(piece) for piece in pieces(text)])
