"""Furigana by school grade: the grade table, readings, alignment, markup, HTML, a11y, CLI."""

from __future__ import annotations

import io
import re
import select
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.html import escape
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import process_env
from uketome.core import furigana
from uketome.core.furigana import kanji_grade, ruby_html, ruby_html_accessible


def r(base: str, reading: str) -> str:
    return f"<ruby>{base}<rt>{reading}</rt></ruby>"


# Sentences of the kind the children's pages use, with the exact plain-form output at
# grades 1, 3 and 6 (grade 1 knows 80 kanji, grade 3 440, grade 6 all 1,026).
SENTENCES: list[tuple[str, str, str, str]] = [
    (
        "いつでも電話してね。",
        f"いつでも{r('電話', 'でんわ')}してね。",
        "いつでも電話してね。",
        "いつでも電話してね。",
    ),
    (
        "学校のことで悩んでいる。",
        f"学校のことで{r('悩', 'なや')}んでいる。",
        f"学校のことで{r('悩', 'なや')}んでいる。",
        f"学校のことで{r('悩', 'なや')}んでいる。",
    ),
    (
        "名前は言わなくていいよ。",
        f"{r('名前', 'なまえ')}は{r('言', 'い')}わなくていいよ。",
        "名前は言わなくていいよ。",
        "名前は言わなくていいよ。",
    ),
    (
        # 児 is taught in grade 4, 童 相 談 所 in grade 3: at grade 3 only 児童 is read out,
        # and 所 keeps its voiced reading (そうだんじょ) inside the compound.
        "児童相談所は189です。",
        f"{r('児童相談所', 'じどうそうだんじょ')}は189です。",
        f"{r('児童', 'じどう')}相談所は189です。",
        "児童相談所は189です。",
    ),
    (
        "ひとりで悩まないで、話してみてね。",
        f"ひとりで{r('悩', 'なや')}まないで、{r('話', 'はな')}してみてね。",
        f"ひとりで{r('悩', 'なや')}まないで、話してみてね。",
        f"ひとりで{r('悩', 'なや')}まないで、話してみてね。",
    ),
    (
        "あなたの秘密は守ります。",
        f"あなたの{r('秘密', 'ひみつ')}は{r('守', 'まも')}ります。",
        f"あなたの{r('秘密', 'ひみつ')}は守ります。",
        "あなたの秘密は守ります。",
    ),
    (
        "友だちに無視されてつらい。",
        f"{r('友', 'とも')}だちに{r('無視', 'むし')}されてつらい。",
        f"友だちに{r('無視', 'むし')}されてつらい。",
        "友だちに無視されてつらい。",
    ),
    (
        "家に帰りたくない日もある。",
        f"{r('家', 'いえ')}に{r('帰', 'かえ')}りたくない日もある。",
        "家に帰りたくない日もある。",
        "家に帰りたくない日もある。",
    ),
    (
        "お父さんとお母さんがけんかばかりしている。",
        f"お{r('父', 'とう')}さんとお{r('母', 'かあ')}さんがけんかばかりしている。",
        "お父さんとお母さんがけんかばかりしている。",
        "お父さんとお母さんがけんかばかりしている。",
    ),
    (
        "先生に言っても信じてもらえなかった。",
        f"先生に{r('言', 'い')}っても{r('信', 'しん')}じてもらえなかった。",
        f"先生に言っても{r('信', 'しん')}じてもらえなかった。",
        "先生に言っても信じてもらえなかった。",
    ),
    (
        "話し合いをしたい。",
        f"{r('話', 'はな')}し{r('合', 'あ')}いをしたい。",
        "話し合いをしたい。",
        "話し合いをしたい。",
    ),
    (
        "夜ごはんを食べていない。",
        f"{r('夜', 'よる')}ごはんを{r('食', 'た')}べていない。",
        "夜ごはんを食べていない。",
        "夜ごはんを食べていない。",
    ),
    (
        "受付時間は午後4時から9時までです。",
        f"{r('受付時間', 'うけつけじかん')}は{r('午後', 'ごご')}4{r('時', 'じ')}"
        f"から9{r('時', 'じ')}までです。",
        f"{r('受付', 'うけつけ')}時間は午後4時から9時までです。",
        "受付時間は午後4時から9時までです。",
    ),
    (
        # 歳 is a 常用漢字 outside the grade table: read out at every grade.
        "チャットは18歳までの人が使えます。",
        f"チャットは18{r('歳', 'さい')}までの人が{r('使', 'つか')}えます。",
        f"チャットは18{r('歳', 'さい')}までの人が使えます。",
        f"チャットは18{r('歳', 'さい')}までの人が使えます。",
    ),
    (
        "何があったの？",
        f"{r('何', 'なに')}があったの？",
        "何があったの？",
        "何があったの？",
    ),
    (
        "明日また来てね。",
        f"{r('明日', 'あした')}また{r('来', 'き')}てね。",
        "明日また来てね。",
        "明日また来てね。",
    ),
    (
        "体の調子が悪い時は病院へ行こう。",
        f"{r('体', 'からだ')}の{r('調子', 'ちょうし')}が{r('悪', 'わる')}い{r('時', 'とき')}は"
        f"{r('病院', 'びょういん')}へ{r('行', 'い')}こう。",
        "体の調子が悪い時は病院へ行こう。",
        "体の調子が悪い時は病院へ行こう。",
    ),
    (
        "勉強についていけなくて不安です。",
        f"{r('勉強', 'べんきょう')}についていけなくて{r('不安', 'ふあん')}です。",
        f"勉強についていけなくて{r('不安', 'ふあん')}です。",
        "勉強についていけなくて不安です。",
    ),
    (
        "ＳＮＳで悪口を書かれた。",
        f"ＳＮＳで{r('悪口', 'わるぐち')}を{r('書', 'か')}かれた。",
        "ＳＮＳで悪口を書かれた。",
        "ＳＮＳで悪口を書かれた。",
    ),
    (
        "死にたいと思う気持ちを聞かせてください。",
        f"{r('死', 'し')}にたいと{r('思', 'おも')}う{r('気持', 'きも')}ちを"
        f"{r('聞', 'き')}かせてください。",
        "死にたいと思う気持ちを聞かせてください。",
        "死にたいと思う気持ちを聞かせてください。",
    ),
    (
        # 叩 is not even a 常用漢字.
        "お兄ちゃんに叩かれた。",
        f"お{r('兄', 'にい')}ちゃんに{r('叩', 'たた')}かれた。",
        f"お兄ちゃんに{r('叩', 'たた')}かれた。",
        f"お兄ちゃんに{r('叩', 'たた')}かれた。",
    ),
    (
        "小学校の帰り道がこわい。",
        f"小学校の{r('帰', 'かえ')}り{r('道', 'みち')}がこわい。",
        "小学校の帰り道がこわい。",
        "小学校の帰り道がこわい。",
    ),
    (
        "あなたは悪くないよ。",
        f"あなたは{r('悪', 'わる')}くないよ。",
        "あなたは悪くないよ。",
        "あなたは悪くないよ。",
    ),
    (
        "困ったときは大人に相談しよう。",
        f"{r('困', 'こま')}ったときは大人に{r('相談', 'そうだん')}しよう。",
        f"{r('困', 'こま')}ったときは大人に相談しよう。",
        "困ったときは大人に相談しよう。",
    ),
    (
        "電話番号は0120-99-7777です。",
        f"{r('電話番号', 'でんわばんごう')}は0120-99-7777です。",
        "電話番号は0120-99-7777です。",
        "電話番号は0120-99-7777です。",
    ),
    (
        "部活の先輩がこわくて休んでいる。",
        f"{r('部活', 'ぶかつ')}の{r('先輩', 'せんぱい')}がこわくて休んでいる。",
        f"部活の{r('先輩', 'せんぱい')}がこわくて休んでいる。",
        f"部活の{r('先輩', 'せんぱい')}がこわくて休んでいる。",
    ),
]
TEXTS = [text for text, *_ in SENTENCES]


@pytest.mark.parametrize(("text", "grade1", "grade3", "grade6"), SENTENCES, ids=TEXTS)
def test_sentences_at_grades_1_3_and_6(text: str, grade1: str, grade3: str, grade6: str) -> None:
    assert ruby_html(text, 1) == grade1
    assert ruby_html(text, 3) == grade3
    assert ruby_html(text, 6) == grade6
    assert ruby_html(text, None) == text


def test_the_table_is_big_enough_and_has_ruby_at_every_grade() -> None:
    assert len(SENTENCES) >= 25
    for column in (1, 2, 3):
        assert sum("<ruby>" in row[column] for row in SENTENCES) >= 5


# --- the grade table -------------------------------------------------------------------------


def test_grade_table_is_the_2020_edition() -> None:
    table = furigana._grade_table()
    sizes = [sum(1 for g in table.values() if g == grade) for grade in range(1, 7)]
    assert sizes == [80, 160, 200, 202, 193, 191]
    assert len(table) == 1026


@pytest.mark.parametrize(
    ("char", "grade"),
    [
        ("一", 1),
        ("校", 1),
        ("電", 2),
        ("悪", 3),
        ("児", 4),
        ("城", 4),  # grade 6 before 2020
        ("茨", 4),  # the prefecture kanji added in 2020
        ("賀", 4),  # grade 5 before 2020
        ("俵", 6),  # grade 5 before 2020
        ("秘", 6),
        ("歳", 7),  # 常用, not taught in primary school
        ("悩", 7),
        ("叩", 7),  # not even 常用
        ("𠮷", 7),
        ("あ", None),
        ("ア", None),
        ("A", None),
        ("3", None),
        ("々", None),
        ("〇", None),
    ],
)
def test_kanji_grade(char: str, grade: int | None) -> None:
    assert kanji_grade(char) == grade


# --- grade 0 and None --------------------------------------------------------------------------


def test_grade_0_reads_out_every_kanji_and_none_reads_out_nothing() -> None:
    text = "右と左を見て、手を上げよう。"  # grade-1 kanji only
    assert ruby_html(text, 1) == text
    assert ruby_html(text, 0) == (
        f"{r('右', 'みぎ')}と{r('左', 'ひだり')}を{r('見', 'み')}て、"
        f"{r('手', 'て')}を{r('上', 'あ')}げよう。"
    )
    assert ruby_html(text, None) == text
    assert ruby_html("小学校", 0) == r("小学校", "しょうがっこう")
    assert ruby_html("小学校", 1) == "小学校"
    assert ruby_html("叩かれた", None) == "叩かれた"


@pytest.mark.parametrize("grade", [-1, 7, 10, True, "3", 2.0])
def test_a_grade_outside_0_to_6_is_refused(grade: object) -> None:
    with pytest.raises(ValueError, match="grade"):
        ruby_html("学校", grade)  # type: ignore[arg-type]


# --- alignment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("食べる", r("食", "た") + "べる"),
        ("話し合い", f"{r('話', 'はな')}し{r('合', 'あ')}い"),
        ("引き出し", f"{r('引', 'ひ')}き{r('出', 'だ')}し"),
        ("生き生き", f"{r('生', 'い')}き{r('生', 'い')}き"),
        ("お兄ちゃん", f"お{r('兄', 'にい')}ちゃん"),
        ("気持ち", f"{r('気持', 'きも')}ち"),
        ("人々", r("人々", "ひとびと")),
        # The い of せつめい makes the first split ambiguous: Sudachi's short units settle it.
        ("取り扱い説明書", f"{r('取', 'と')}り{r('扱', 'あつか')}い{r('説明書', 'せつめいしょ')}"),
        # Runs of one token that all need a reading carry one ruby.
        ("児童相談所", r("児童相談所", "じどうそうだんじょ")),
        ("五月雨", r("五月雨", "さみだれ")),
        ("大人", r("大人", "おとな")),
    ],
)
def test_okurigana_stay_bare_and_kanji_runs_carry_their_reading(text: str, expected: str) -> None:
    assert ruby_html(text, 0) == expected


def test_a_compound_is_narrowed_to_the_units_that_need_a_reading() -> None:
    assert ruby_html("取り扱い説明書", 3) == f"取り{r('扱', 'あつか')}い{r('説明', 'せつめい')}書"
    assert ruby_html("いじめ防止対策推進法", 4) == (
        f"いじめ{r('防止', 'ぼうし')}{r('対策', 'たいさく')}{r('推進', 'すいしん')}法"
    )


def test_when_alignment_fails_one_ruby_covers_the_kanji_span() -> None:
    assert furigana._align("食べる", "たべる") == ([("食", "た"), ("べる", None)], True)
    # A reading that does not contain the surface's kana cannot be split: no wrong split.
    assert furigana._align("食べる", "しょくする") == ([("食べる", "しょくする")], False)
    assert furigana._align("お茶る", "おちゃる") == (
        [("お", None), ("茶", "ちゃ"), ("る", None)],
        True,
    )
    assert furigana._align("お父さん", "おやじ") == ([("お父さん", "おやじ")], False)
    # A number inside the token cannot be separated from the reading: the token as one.
    assert ruby_html("1人でも大丈夫", 0) == f"{r('1人', 'ひとり')}でも{r('大丈夫', 'だいじょうぶ')}"


def test_readings_for_children() -> None:
    assert ruby_html("私は日本の中学生", 0) == (
        f"{r('私', 'わたし')}は{r('日本', 'にほん')}の{r('中学生', 'ちゅうがくせい')}"
    )
    assert ruby_html("何でも話してね", 1) == f"{r('何', 'なん')}でも{r('話', 'はな')}してね"
    assert ruby_html("何かあったら", 1) == f"{r('何', 'なに')}かあったら"
    assert ruby_html("何か月も", 1) == f"{r('何', 'なん')}か月も"


# --- numbers, kana, Latin, punctuation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("189", "189"),
        ("３月３１日まで", f"３{r('月', 'がつ')}３１{r('日', 'にち')}まで"),
        ("ＬＩＮＥで相談できます", f"ＬＩＮＥで{r('相談', 'そうだん')}できます"),
        ("OK! Line ID: uketome_2025", "OK! Line ID: uketome_2025"),
        ("チャイルドライン・ひらがな・カタカナ！？", "チャイルドライン・ひらがな・カタカナ！？"),
        ("〇〇小学校", f"〇〇{r('小学校', 'しょうがっこう')}"),
        ("3ヶ月", f"3{r('ヶ月', 'かげつ')}"),
    ],
)
def test_numbers_kana_latin_and_punctuation_get_no_ruby(text: str, expected: str) -> None:
    assert ruby_html(text, 0) == expected


# --- editor markup -----------------------------------------------------------------------------


@pytest.mark.parametrize("grade", [0, 1, 3, 6])
def test_editor_markup_is_shown_as_given_at_every_grade(grade: int) -> None:
    text = "{御手洗|みたらい}さんと{一日|ついたち}に{今日|こんにち}は"
    assert ruby_html(text, grade) == (
        f"{r('御手洗', 'みたらい')}さんと{r('一日', 'ついたち')}に{r('今日', 'こんにち')}は"
    )


def test_editor_markup_with_no_ruby_shows_the_base() -> None:
    assert ruby_html("{御手洗|みたらい}さんと{一日|ついたち}に", None) == "御手洗さんと一日に"
    assert ruby_html_accessible("{御手洗|みたらい}さん", None) == "御手洗さん"


def test_editor_markup_is_not_analysed_and_text_around_it_is() -> None:
    # Sudachi would read 明日 as あした; the editor's あす wins, and 話す around it still works.
    assert ruby_html("{明日|あす}話す", 1) == f"{r('明日', 'あす')}{r('話', 'はな')}す"
    # Kana can carry an editor's reading too (a gloss).
    assert ruby_html("{ＳＮＳ|えすえぬえす}", 6) == r("ＳＮＳ", "えすえぬえす")


def test_malformed_markup_is_plain_text() -> None:
    text = "{abc} {|よみ} {漢字|} {a|b|c} {学校"
    out = ruby_html(text, 6)
    assert out == "{abc} {|よみ} {漢字|} {a|b|c} {学校"


# --- escaping ----------------------------------------------------------------------------------


def test_html_in_the_input_comes_out_escaped() -> None:
    text = '<script>alert("悩み")</script> & <b>{漢字|<i>かんじ</i>}</b>'
    out = ruby_html(text, 3)
    assert out == (
        "&lt;script&gt;alert(&quot;" + r("悩", "なや") + "み&quot;)&lt;/script&gt; &amp; "
        "&lt;b&gt;" + r("漢字", "&lt;i&gt;かんじ&lt;/i&gt;") + "&lt;/b&gt;"
    )
    assert "<script" not in out
    assert "<b>" not in out and "<i>" not in out
    assert ruby_html(text, None) == escape('<script>alert("悩み")</script> & <b>漢字</b>')
    assert "<script" not in ruby_html_accessible(text, 0)


TAGS = re.compile(r"<rt>.*?</rt>|</?ruby>")
JAPANESE = st.sampled_from(
    list("学校悩話合食小一人々ヶ月日明私何をがかのでしてるいうアー")
    + list(" 　\t\n。、！？<>&\"'{}|abcＡ１3𠮷〇")
)


@settings(max_examples=300, deadline=None)
@given(st.text(JAPANESE, max_size=30), st.sampled_from([None, 0, 1, 3, 6]))
def test_without_its_ruby_the_output_is_the_escaped_input(text: str, grade: int | None) -> None:
    expected = escape(furigana._MARKUP.sub(lambda m: m.group(1), text))
    assert TAGS.sub("", ruby_html(text, grade)) == expected


def test_long_texts_are_cut_for_sudachi_and_read_whole() -> None:
    text = "学校で悩んでいる。" * 1000 + "\n" + "悩" * 3000
    out = ruby_html(text, 3)
    assert out.count(r("悩", "なや")) == 1000
    assert TAGS.sub("", out) == text


# --- the accessible form -----------------------------------------------------------------------


class SpokenText(HTMLParser):
    """What assistive technology gets: text outside aria-hidden subtrees; also what is shown."""

    VOID = {"br", "img", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool, bool]] = []  # tag, hidden, sr-only, in <rt>
        self.spoken: list[str] = []
        self.shown: list[str] = []  # visible text without the readings
        self.readings: list[str] = []
        self.ruby_outside_hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        hidden, sr_only, in_rt = self.stack[-1][1:] if self.stack else (False, False, False)
        hidden = hidden or a.get("aria-hidden") == "true"
        sr_only = sr_only or "sr-only" in (a.get("class") or "").split()
        in_rt = in_rt or tag == "rt"
        if tag == "ruby" and not hidden:
            self.ruby_outside_hidden += 1
        if tag not in self.VOID:
            self.stack.append((tag, hidden, sr_only, in_rt))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1][0] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        hidden, sr_only, in_rt = self.stack[-1][1:] if self.stack else (False, False, False)
        if not hidden:
            self.spoken.append(data)
        if in_rt:
            self.readings.append(data)
        elif not sr_only:
            self.shown.append(data)


def parse(html: str) -> SpokenText:
    parser = SpokenText()
    parser.feed(html)
    parser.close()
    assert not parser.stack
    return parser


@pytest.mark.parametrize("grade", [0, 1, 3, 6])
@pytest.mark.parametrize("text", TEXTS)
def test_screen_readers_get_each_word_once_and_no_reading(text: str, grade: int) -> None:
    html = ruby_html_accessible(text, grade)
    page = parse(html)
    assert "".join(page.spoken) == text  # every word exactly once, in order
    assert "".join(page.shown) == text  # and shown once on screen
    assert page.ruby_outside_hidden == 0
    # The same readings as the plain form, and nothing else changed.
    assert page.readings == re.findall(r"<rt>(.*?)</rt>", ruby_html(text, grade))


def test_the_accessible_pattern() -> None:
    assert ruby_html_accessible("学校のことで悩んでいる。", 1) == (
        '学校のことで<span class="sr-only">悩んでいる</span>'
        f'<span aria-hidden="true">{r("悩", "なや")}んでいる</span>。'
    )
    assert ruby_html_accessible("児童相談所は189です。", 3) == (
        '<span class="sr-only">児童相談所は</span>'
        f'<span aria-hidden="true">{r("児童", "じどう")}相談所は</span>189です。'
    )
    assert ruby_html_accessible("いつでも電話してね。", 3) == "いつでも電話してね。"


def test_the_accessible_form_hides_markup_readings_and_escapes() -> None:
    page = parse(ruby_html_accessible("{御手洗|みたらい}さん<b>", 1))
    assert "".join(page.spoken) == "御手洗さん<b>"
    assert page.readings == ["みたらい"]
    assert "みたらい" not in "".join(page.spoken)


# --- cache and threads -------------------------------------------------------------------------


def test_renderings_are_cached() -> None:
    furigana.cache_clear()
    first = ruby_html("学校のことで悩んでいる。", 2)
    hits = furigana._render.cache_info().hits
    assert ruby_html("学校のことで悩んでいる。", 2) is first
    assert furigana._render.cache_info().hits == hits + 1
    assert ruby_html("学校のことで悩んでいる。", 3) is not first  # the grade is in the key


def test_threads_each_get_their_own_tokenizer_and_the_same_answers() -> None:
    expected = {i: [ruby_html(f"{text}{i}", 1) for text in TEXTS] for i in range(4)}
    furigana.cache_clear()
    barrier = threading.Barrier(4, timeout=30)
    tokenizers: dict[int, object] = {}
    results: dict[int, list[str]] = {}

    def render(i: int) -> None:
        barrier.wait()  # all four threads render at the same time
        tokenizers[i] = furigana._tokenizer()
        results[i] = [ruby_html(f"{text}{i}", 1) for text in TEXTS]

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(render, range(4)))
    assert results == expected
    assert len({id(tokenizer) for tokenizer in tokenizers.values()}) == 4
    assert furigana._tokenizer() not in tokenizers.values()


# --- the command -------------------------------------------------------------------------------


def run_command(*args: str, text: str) -> str:
    out = io.StringIO()
    call_command("furigana", *args, stdin=io.StringIO(text), stdout=out)
    return out.getvalue()


def test_command_prints_one_line_of_html_per_line() -> None:
    text = "学校のことで悩んでいる。\n\n名前は言わなくていいよ。\r\n<b>{御手洗|みたらい}</b>"
    assert run_command("--grade", "1", text=text) == (
        f"学校のことで{r('悩', 'なや')}んでいる。\n"
        "\n"
        f"{r('名前', 'なまえ')}は{r('言', 'い')}わなくていいよ。\n"
        f"&lt;b&gt;{r('御手洗', 'みたらい')}&lt;/b&gt;\n"
    )


def test_command_all_none_and_grade_0() -> None:
    text = "小学校\n"
    assert run_command("--all", text=text) == r("小学校", "しょうがっこう") + "\n"
    assert run_command("--grade", "0", text=text) == r("小学校", "しょうがっこう") + "\n"
    assert run_command("--grade", "6", text=text) == "小学校\n"
    assert run_command("--none", text="{漢字|かんじ}と<悩み>\n") == "漢字と&lt;悩み&gt;\n"


@pytest.mark.parametrize(
    "args", [[], ["--grade", "7"], ["--grade", "x"], ["--grade", "2", "--all"], ["--all", "--none"]]
)
def test_command_needs_exactly_one_valid_choice(args: list[str]) -> None:
    with pytest.raises(CommandError):
        run_command(*args, text="学校\n")


def uketome_command() -> list[str]:
    script = Path(sys.executable).with_name("uketome")
    return [str(script)] if script.exists() else [sys.executable, "-m", "uketome"]


def test_uketome_furigana_in_a_pipe_answers_each_line_at_once(tmp_path: Path) -> None:
    env = process_env(tmp_path, PYTHONIOENCODING="utf-8")
    process = subprocess.Popen(
        [*uketome_command(), "furigana", "--grade", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        # The first line comes back while the input is still open: flushed per line.
        process.stdin.write("学校のことで悩んでいる。\n".encode())
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "no line came back within 60 s"
        first = process.stdout.readline().decode()
        assert first, process.stderr.read().decode() if process.stderr else ""
        assert first == f"学校のことで{r('悩', 'なや')}んでいる。\n"
        rest, errors = process.communicate("<b>児童相談所</b>は189\n".encode(), timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors.decode()
    assert rest.decode() == f"&lt;b&gt;{r('児童相談所', 'じどうそうだんじょ')}&lt;/b&gt;は189\n"
