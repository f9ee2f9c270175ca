"""The literal prefilter never hides a match: a pattern it skips could not have matched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uketome.triage.defaults import default_specs
from uketome.triage.prefilter import LiteralIndex, branches, required_literals
from uketome.triage.scoring import Lexicon, read

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


def shipped_patterns() -> list[re.Pattern[str]]:
    lexicon = Lexicon(default_specs())
    patterns = [entry.regex for entry in lexicon._patterns if entry.regex is not None]
    assert len(patterns) > 20
    return patterns


def evaluation_messages() -> list[str]:
    messages = []
    for name in ("triage_eval.tsv", "triage_heldout.tsv", "triage_fresh.tsv"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                messages.append(line.split("\t")[1])
    assert len(messages) > 400
    return messages


def test_every_match_in_the_evaluation_sets_is_a_candidate() -> None:
    patterns = shipped_patterns()
    index = LiteralIndex({n: required_literals(p) for n, p in enumerate(patterns)})
    matched = 0
    for message in evaluation_messages():
        texts = read(message).texts()
        candidates = index.candidates("\n".join(texts))
        for number, pattern in enumerate(patterns):
            if any(pattern.search(text) for text in texts):
                matched += 1
                assert number in candidates, (message, pattern.pattern)
    assert matched > 300  # the sets exercise the patterns


def test_most_patterns_are_skipped_on_an_ordinary_message() -> None:
    patterns = shipped_patterns()
    index = LiteralIndex({n: required_literals(p) for n, p in enumerate(patterns)})
    texts = read("きのうは 友だちと 公園で サッカーを しました。").texts()
    assert len(index.candidates("\n".join(texts))) < len(patterns) / 4


def test_a_pattern_matches_exactly_when_one_of_its_alternatives_does() -> None:
    patterns = shipped_patterns()
    split = [branches(pattern) for pattern in patterns]
    assert sum(len(parts) for parts in split) > 2 * len(patterns)  # most patterns split
    for message in evaluation_messages():
        for text in read(message).texts():
            for pattern, parts in zip(patterns, split, strict=True):
                assert bool(pattern.search(text)) == any(p.search(text) for p in parts), (
                    pattern.pattern,
                    text,
                )


@pytest.mark.parametrize("source", [r"(a)\1|b", "(?i)a|b", "a|", "(a|b)", r"[|]x", r"\|a"])
def test_patterns_that_cannot_be_split_are_kept_whole(source: str) -> None:
    pattern = re.compile(source)
    assert branches(pattern) == (pattern,)


def test_alternatives_are_split_at_the_top_level_only() -> None:
    parts = branches(re.compile(r"(a|b)c|[|x]d|e\|f"))
    assert [p.pattern for p in parts] == ["(a|b)c", "[|x]d", r"e\|f"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("しにた(?!くな)", {"しにた"}),
        ("(なぐら|けら)れ(る|た)", {"なぐられる", "なぐられた", "けられる", "けられた"}),
        ("w(、|$)", {"w、", "w"}),
        ("(いえ|家).{0,12}(こわい|怖い)", {"こわい", "怖い"}),
    ],
)
def test_required_literals_of_simple_patterns(pattern: str, expected: set[str]) -> None:
    assert required_literals(re.compile(pattern)) == expected


@pytest.mark.parametrize("pattern", [".{2}", "[^あ]い?", "(?i)abc", "(a|.)b?", r"\w+"])
def test_a_pattern_that_may_match_anything_is_always_searched(pattern: str) -> None:
    assert required_literals(re.compile(pattern)) is None
    index = LiteralIndex({"p": required_literals(re.compile(pattern))})
    assert index.candidates("") == {"p"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_text_matching_a_shipped_pattern_is_always_a_candidate(data: st.DataObject) -> None:
    patterns = shipped_patterns()
    pattern = data.draw(st.sampled_from(patterns))
    source = pattern.pattern
    try:
        strategy = st.from_regex(pattern)
        text = data.draw(strategy)
    except Exception:  # a construct hypothesis cannot generate from (lookarounds)
        text = data.draw(st.from_regex(re.sub(r"\(\?<?[!=][^)]*\)", "", source)))
    if not pattern.search(text):
        return
    index = LiteralIndex({"p": required_literals(pattern)})
    assert index.candidates(text) == {"p"}, (source, text)
