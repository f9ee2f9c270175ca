"""The page text to HTML: escaped, structured, with furigana for the grade asked."""

from __future__ import annotations

import datetime

from uketome.content.render import date_html, plain_text, render_body


def test_html_in_the_text_is_shown_never_run() -> None:
    html = render_body('<script>alert("x")</script>\n- <img src=x onerror=alert(1)>', 0)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_text_is_escaped_once() -> None:
    html = render_body("A & B <b>", None)
    assert html == "<p>A &amp; B &lt;b&gt;</p>"


def test_markup_inside_the_reading_markup_is_escaped_too() -> None:
    html = render_body('{<b>|"x"}', 0)
    assert "<b>" not in html
    assert "&lt;b&gt;" in html


def test_paragraphs_lists_and_headings() -> None:
    text = "\n".join(
        [
            "first line",
            "second line",
            "",
            "## heading",
            "- one",
            "- two",
            "after the list",
            "",
            "",
            "last",
        ]
    )
    assert render_body(text, None) == "\n".join(
        [
            "<p>first line<br>\nsecond line</p>",
            "<h2>heading</h2>",
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
            "<p>after the list</p>",
            "<p>last</p>",
        ]
    )


def test_windows_line_ends_and_stray_markers() -> None:
    # "-" or "##" without text are plain text, not empty items or headings.
    html = render_body("a\r\n\r\n-\r\n##\r\n", None)
    assert html == "<p>a</p>\n<p>-<br>\n##</p>"


def test_empty_text_renders_nothing() -> None:
    assert render_body("", 0) == ""
    assert render_body("\n\n  \n", 0) == ""


def test_the_editors_reading_markup_passes_through() -> None:
    html = render_body("{受け手|うけて}が 出ます", 6)
    assert "<ruby>受け手<rt>うけて</rt></ruby>" in html
    assert "{" not in html and "|" not in html
    # "no ruby": only the base.
    plain = render_body("{受け手|うけて}が 出ます", None)
    assert plain == "<p>受け手が 出ます</p>"


def test_the_grade_changes_the_furigana() -> None:
    # 学校: both kanji are taught in grade 1; 電話: both in grade 2.
    text = "学校で 電話"
    every = render_body(text, 0)
    grade1 = render_body(text, 1)
    grade2 = render_body(text, 2)
    none = render_body(text, None)
    assert "<rt>がっこう</rt>" in every and "<rt>でんわ</rt>" in every
    assert "<rt>がっこう</rt>" not in grade1 and "<rt>でんわ</rt>" in grade1
    assert "<ruby>" not in grade2
    assert "<ruby>" not in none


def test_furigana_in_headings_and_list_items_is_accessible() -> None:
    html = render_body("## 電話\n- 電話", 0)
    assert html.count('<span class="sr-only">電話</span>') == 2
    assert html.count('aria-hidden="true"') == 2


def test_plain_text_drops_the_reading_markup() -> None:
    assert plain_text("{受け手|うけて}の ページ") == "受け手の ページ"


def test_dates_read_right_for_children() -> None:
    day = datetime.date(2030, 7, 26)  # a Friday
    every = date_html(day, 0)
    assert every.startswith('<time datetime="2030-07-26">')
    assert "<rt>にじゅうろくにち</rt>" in every
    assert "<rt>しちがつ</rt>" in every
    assert "<rt>きん</rt>" in every
    assert date_html(day, 3) == '<time datetime="2030-07-26">2030年7月26日（金）</time>'
    assert "<rt>ついたち</rt>" in date_html(datetime.date(2030, 1, 1), 0)
    assert "<rt>はつか</rt>" in date_html(datetime.date(2030, 1, 20), 0)
