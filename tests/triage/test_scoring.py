"""What the triage finds in a child's message, with the shipped lexicon."""

from __future__ import annotations

import pytest

from uketome.triage import Assessment, assess
from uketome.triage.defaults import default_specs
from uketome.triage.scoring import EntrySpec, Lexicon, LexiconError, check_entry

pytestmark = pytest.mark.django_db


# --- the examples --------------------------------------------------------------


@pytest.mark.parametrize("text", ["死にたくなる", "しにたくなる", "ｼﾆﾀｸﾅﾙ", "シニタクナル"])
def test_wanting_to_die_matches_in_every_script(text: str) -> None:
    result = assess(text)
    assert result.level == "high"
    assert result.alert
    assert "suicide" in result.categories
    assert "suicide:死ぬ * たい" in result.matched


def test_being_hit_matches() -> None:
    result = assess("殴られてる")
    assert result.level == "high"
    assert result.categories == ("violence",)


def test_dead_tired_does_not_match() -> None:
    assert assess("死ぬほど眠い") == Assessment()


# --- each category ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level", "category"),
    [
        ("きえたい", "high", "suicide"),
        ("自殺したい", "high", "suicide"),
        ("リスカしてる", "high", "self_harm"),
        ("ﾘｽｶした", "high", "self_harm"),
        ("てくびきってる", "high", "self_harm"),
        ("薬いっぱいのんだ", "urgent", "self_harm"),
        ("お母さんにたたかれた", "high", "abuse"),
        ("ぎゃくたいされてる", "high", "abuse"),
        ("パパにさわられる", "high", "sexual_abuse"),
        ("むりやりキスされた", "high", "sexual_abuse"),
        ("ナイフでおどされた", "urgent", "violence"),
        ("くびしめられた", "urgent", "violence"),
        ("家にしらない人が入ってきた", "urgent", "emergency"),
        ("救急車よんで", "urgent", "emergency"),
        ("いじめられてる", "watch", "bullying"),
        ("きょうもごはんない", "watch", "neglect"),
        ("家にかえりたくない", "watch", "runaway"),
        ("ねむれない", "watch", "distress"),
    ],
)
def test_each_category(text: str, level: str, category: str) -> None:
    result = assess(text)
    assert result.level == level, result
    assert result.categories[0] == category, result


# --- levels move with context -------------------------------------------------------------


def test_now_makes_a_high_risk_urgent() -> None:
    assert assess("死にたい").level == "high"
    assert assess("今から死ぬ").level == "urgent"
    assert assess("いまなぐられてる").level == "urgent"
    assert assess("たすけて、ころされる").level == "urgent"


def test_negation_cancels_the_words_it_follows() -> None:
    assert assess("死にたくない").level == "none"
    assert assess("殴られてない").level == "none"
    # ... but not a negation that belongs to the risk itself.
    assert assess("もう生きていたくない").level == "high"


def test_the_past_and_a_friend_lower_one_level() -> None:
    assert assess("昔リスカしてた").level == "watch"
    assert assess("友達が死にたいっていってた").level == "watch"


def test_a_joke_lowers_a_wish_to_die_only_to_watch() -> None:
    assert assess("しにたいw").level == "watch"
    assert assess("殺す気か(冗談)").level == "none"


@pytest.mark.parametrize(
    "text",
    [
        "死ぬほど笑った",
        "殺す気か(冗談)",
        "ゲームで殺された",
        "親に怒られた",
        "テスト死んだ",
        "あつすぎて死ぬー",
        "おなかすいて死にそう",
        "ゴキブリ殺したｗ",
        "金魚が死んじゃった",
        "肩たたきしてあげた",
        "包丁でりんごむいた",
        "救急車のサイレンうるさい",
        "薬のんだら熱さがった",
        "消しゴム消えた、どこいった",
        "家に帰ったらゲームする",
    ],
)
def test_hard_negatives_raise_nothing(text: str) -> None:
    assert assess(text).level == "none", assess(text)


# --- the result -----------------------------------------------------------------------------


def test_scores_order_levels_and_evidence() -> None:
    watch, high, urgent = assess("ねむれない"), assess("しにたい"), assess("遺書かいた")
    assert 25 <= watch.score < 50 <= high.score < 75 <= urgent.score < 100
    # More evidence at one level scores higher, never crossing into the next level.
    assert assess("しにたい、もうつらい、リスカしてる").score > high.score
    assert assess("しにたい、もうつらい、リスカしてる").score < 75


def test_empty_and_harmless_messages() -> None:
    for text in ("", "   ", "こんにちは", "ｺﾝﾆﾁﾊ", "🙂", "a" * 10_000, "あ" * 50_000):
        assert assess(text) == Assessment(level="none", score=0)
    assert not Assessment().alert
    assert Assessment(level="urgent").alert and Assessment(level="urgent").rank == 3


def test_elongated_and_small_kana_are_read_plainly() -> None:
    assert assess("しにたーーーい").level == "high"
    assert assess("死にてぇ").level == "high"
    assert assess("たすけてええええ").level == "high"


# --- compiling entries ----------------------------------------------------------------------


def test_the_shipped_lexicon_compiles_without_errors() -> None:
    lexicon = Lexicon(default_specs())
    assert lexicon.errors == []
    assert len(lexicon) == len(default_specs())


@pytest.mark.parametrize(
    "spec",
    [
        EntrySpec(term="(しに", kind="pattern", category="suicide"),
        EntrySpec(term="a|", kind="pattern", category="suicide"),
        EntrySpec(term="、、", kind="lemma", category="suicide"),
        EntrySpec(term="しにたい", kind="lemma", category="suicide", level="none"),
        EntrySpec(term="しにたい", kind="lemma", category="suicide", exceptions=("[",)),
        EntrySpec(term="死に たい|たくなる", kind="lemma", category="suicide"),
        EntrySpec(term="(し+)+にたい", kind="pattern", category="suicide"),
        EntrySpec(term="しにたい", kind="lemma", category="suicide", exceptions=("(.*)*x",)),
    ],
)
def test_entries_that_cannot_work_are_refused(spec: EntrySpec) -> None:
    with pytest.raises(LexiconError):
        check_entry(spec)


def test_lemma_slots_accept_alternatives() -> None:
    lexicon = Lexicon([EntrySpec(term="触る|さわる れる", category="sexual_abuse", level="high")])
    assert lexicon.assess("触られた").level == "high"
    assert lexicon.assess("さわられた").level == "high"
    assert lexicon.assess("さわった").level == "none"


def test_a_long_letter_is_read_to_the_end() -> None:
    letter = "学校でいろいろあった。" * 400 + "ほんとうはしにたい。" + "またね。" * 50
    assert len(letter) > 4000
    result = assess(letter)
    assert result.level == "high"
    assert "suicide" in result.categories
