"""The personal-data check (個人情報チェック) for text that is about to be published.

``find_personal_data(text)`` returns what may identify someone, by kind:

- ``name``: people's names. SudachiPy's part of speech 人名 (姓 / 名) and the names of
  the ``japanese-personal-name-dataset`` package (first-name readings and spellings, last
  names), in the places a name stands in a child's sentence: before さん/くん/ちゃん/先生,
  a family name followed by a given name, after 名前は, and a family name on its own.
- ``school``: a school word (小学校, 中学校, 高校, 学園, ...) right after a proper noun
  or a word that is not a generic description (県立, 通信制, 近くの ... are not names);
  also the short forms 〇〇中 / 〇〇小 / 〇〇高 after a proper noun.
- ``phone``: 10-11 digit phone numbers (free numbers 0120/0800/0570 are public lines).
- ``email``: e-mail addresses.
- ``address``: …丁目, …番地, …番…号, …号室, a postal code after 〒, and a
  市/区/町/村 followed by a house number (津市中央1-2, 桜町3番).
- ``sns_id``: LINE / Instagram / X / TikTok / Discord accounts: @handles, "ID: ...",
  a platform name followed by an account name, Discord tags (name#1234).

It is a screen, not a proof: a human resolves every flag before anything is published
(see ``services.qa_flag_dismiss``), and ``python -m bench.pii`` measures it on a labelled
set of sentences.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jaconv

from uketome.core.text import sudachi

NAME = "name"
SCHOOL = "school"
PHONE = "phone"
EMAIL = "email"
ADDRESS = "address"
SNS_ID = "sns_id"
KINDS = (NAME, SCHOOL, PHONE, EMAIL, ADDRESS, SNS_ID)


@dataclass(frozen=True)
class Finding:
    """One thing that may identify someone: its kind and the words found."""

    kind: str
    text: str


# --- Patterns on the NFKC text ------------------------------------------------------

_DASH = r"[-‐‑–—―−ー]"
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(
    rf"(?<![\d-])(?:\+81{_DASH}?\s?\d|0\d)[\d\s()\-‐‑–—―−ー]{{7,14}}\d(?!\d)",
)
_PUBLIC_PREFIXES = ("0120", "0800", "0570", "0990")
_HANDLE = r"[A-Za-z0-9_.]*[A-Za-z][A-Za-z0-9_.]*"
_AT_HANDLE = re.compile(r"(?<![A-Za-z0-9._%+-])@[A-Za-z0-9_.]{2,30}(?![A-Za-z0-9_.]*@)")
_ID_CUE = re.compile(
    r"(?:ID|id|Id|アカウント名|アカウント|アカ|垢|ユーザー名|ユーザーネーム|ユーザネーム|ニックネーム)"
    rf"\s*(?:は|が|を)?\s*[:=]?\s*(?:「)?\s*(@?{_HANDLE})"
)
_PLATFORM = (
    r"(?:LINE|Line|line|ライン|インスタ(?:グラム)?|Instagram|instagram|insta|X|Twitter|twitter|"
    r"ツイッター|エックス|TikTok|Tiktok|tiktok|ティックトック|Discord|discord|ディスコ(?:ード)?|"
    r"YouTube|ユーチューブ|Threads|スレッズ)"
)
_PLATFORM_HANDLE = re.compile(
    rf"{_PLATFORM}\s*(?:の)?\s*(?:は|:)?\s*(?:「)?\s*([A-Za-z0-9_.]*[0-9_.][A-Za-z0-9_.]*)"
)
_DISCORD_TAG = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z0-9_.]{2,32}#\d{4}(?!\d)")

_KANJI_NUM = "一二三四五六七八九十〇"
# A place name after 市/町/村: kanji and katakana, and the が/ケ/の of 桔梗が丘, 桜ケ丘.
_PLACE = r"(?:[一-龥ァ-ヶー]|[がケヶの](?=[丘岡原谷浜崎台]))*?"
_ADDRESS_PATTERNS = [
    re.compile(rf"[\d{_KANJI_NUM}]+\s*丁目"),
    re.compile(r"\d+\s*番地"),
    re.compile(r"\d+\s*番\s*\d+\s*号"),
    re.compile(r"\d+\s*号室"),
    re.compile(rf"〒\s*\d{{3}}{_DASH}?\d{{4}}"),
    # 市/区/町/村 (+ a place name in kanji or katakana) + a house number: 津市中央1-2,
    # 桜町3番, 岩渕1の7. The place part has no hiragana, so 市の大会で3位 is not caught.
    re.compile(rf"[一-龥ァ-ヶ]*[市区町村郡]{_PLACE}\d{{1,5}}(?:\s*(?:{_DASH}|の)\s*\d{{1,5}})+"),
    re.compile(rf"[一-龥ァ-ヶ]*[市区町村郡]{_PLACE}\d{{1,5}}\s*番(?!目)"),
]


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _phones(text: str) -> Iterable[Finding]:
    for match in _PHONE.finditer(text):
        found = match.group(0).strip()
        digits = _digits(found)
        if found.startswith("+81"):
            digits = "0" + digits[2:]
        if not 10 <= len(digits) <= 11 or digits.startswith(_PUBLIC_PREFIXES):
            continue
        yield Finding(PHONE, found)


def _sns_ids(text: str) -> Iterable[Finding]:
    emails = [m.span() for m in _EMAIL.finditer(text)]

    def in_email(start: int) -> bool:
        return any(a <= start < b for a, b in emails)

    for match in _AT_HANDLE.finditer(text):
        if not in_email(match.start()):
            yield Finding(SNS_ID, match.group(0))
    for pattern in (_ID_CUE, _PLATFORM_HANDLE):
        for match in pattern.finditer(text):
            handle = match.group(1)
            if len(handle.lstrip("@")) >= 3 and not in_email(match.start(1)):
                yield Finding(SNS_ID, match.group(0).strip())
    for match in _DISCORD_TAG.finditer(text):
        yield Finding(SNS_ID, match.group(0))


def _addresses(text: str) -> Iterable[Finding]:
    for pattern in _ADDRESS_PATTERNS:
        for match in pattern.finditer(text):
            yield Finding(ADDRESS, match.group(0).strip())


# --- Names and schools: SudachiPy tokens and the name dataset --------------------------

HONORIFICS = frozenset(
    {"さん", "くん", "君", "ちゃん", "先生", "せんせい", "センセイ", "先輩", "せんぱい", "様",
     "さま", "氏", "殿", "ちゃま", "たん", "っち"}
)  # fmt: skip
# Words before さん/ちゃん/先生 that are people but not names (family, roles, ...).
NOT_NAMES = frozenset(
    """
    お母 母 おかあ かあ お父 父 おとう とう おばあ ばあ おじい じい おば おじ お兄 兄 にい
    お姉 姉 ねえ 弟 妹 赤 お客 客 店員 皆 みな みんな 大家 隣 近所 担任 校長 教頭 保健
    部活 顧問 塾 学校 病院 医者 看護師 警察 駅員 運転手 お巡り おまわり 友達 友だち 友人
    彼氏 彼女 知らない 知らないおじ 近所のおば 主治医 カウンセラー 相談員 社長 店長 監督
    コーチ 英語 数学 国語 理科 社会 音楽 体育 美術 算数 担当 保育 児童 生徒 クラス 同級生
    相手 向こう 先方 義母 義父 継母 継父 祖母 祖父 叔母 叔父 伯母 伯父 いとこ 従兄弟 姪
    甥 孫 娘 息子 親 両親 家族 奥 旦那 パパ ママ じいじ ばあば にいに ねえね お嬢 坊
    おっ 王子 姫 神 仏 お疲れ 皆さん ワン ニャン 猫 犬 うさ 鳥 金魚 ハム
    おかあ おとう おにい おねえ おばあ おじい あか みな おまわり おきゃく おじょう ぼっ
    おばあ おじ おば いもうと おとうと あに あね ともだち かれし かのじょ せんぱい
    """.split()
)
SCHOOL_WORDS = frozenset(
    {"小学校", "中学校", "高校", "高等学校", "学園", "中学", "小学", "学院", "中等教育学校",
     "特別支援学校", "支援学校", "高専", "女学院", "義務教育学校", "フリースクール"}
)  # fmt: skip
SCHOOL_SHORT = frozenset({"中", "小", "高", "中学", "小学"})
# Words before a school word that describe a kind of school, not which one.
GENERIC_SCHOOL_MODIFIERS = frozenset(
    """
    私立 公立 県立 市立 国立 町立 村立 府立 都立 道立 区立 通信制 定時制 全日制 単位制
    男子 女子 共学 進学 工業 商業 農業 水産 看護 普通 近所 地元 夜間 志望 第一志望 中高一貫
    一貫 フリー インター 附属 付属 新しい 前 元 同じ 別 他 違う 次 今 昔 隣 近く 大きい
    小さい 遠い 私 僕 俺 うち 自分 友達 友だち 兄 姉 弟 妹 通信 大学 専門 有名 田舎 都会
    地方 県内 県外 市内 市外 全寮 寮 制服 進学校 底辺 名門 人気 受験 高校生 中学生 小学生
    """.split()
)
_PARTICLES_AFTER_NAME = frozenset({"が", "に", "と", "は", "を", "から", "の", "も", "や", "って"})


@functools.lru_cache(maxsize=1)
def _names() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(first-name readings in hiragana, first-name spellings, last names and readings)."""
    from japanese_personal_name_dataset import load_dataset

    men, women, last = load_dataset(include_last_names=True)
    readings: set[str] = set()
    spellings: set[str] = set()
    for table in (men, women):
        for reading, entry in table.items():
            readings.add(reading)
            spellings.update(entry["kanji"])
    last_names: set[str] = set()
    for kanji, family in last.items():
        last_names.add(kanji)
        last_names.add(family["reading"])
    return frozenset(readings), frozenset(spellings), frozenset(last_names)


def is_known_name(word: str) -> bool:
    """``word`` is a first or last name in the dataset (katakana read as hiragana)."""
    readings, spellings, last_names = _names()
    hira = jaconv.kata2hira(word)
    return word in spellings or word in last_names or hira in readings or hira in last_names


def is_known_last_name(word: str) -> bool:
    return word in _names()[2]


@dataclass(frozen=True)
class _Token:
    surface: str
    pos: tuple[str, ...]

    @property
    def is_person(self) -> bool:
        return self.pos[:3] == ("名詞", "固有名詞", "人名")

    @property
    def is_proper(self) -> bool:
        return self.pos[:2] == ("名詞", "固有名詞")

    @property
    def is_noun(self) -> bool:
        return self.pos[0] == "名詞"


def _tokenizer() -> Any:
    return sudachi("C")


def _tokens(text: str) -> list[_Token]:
    return [
        _Token(m.surface(), tuple(m.part_of_speech()))
        for m in _tokenizer().tokenize(text[:4000])
        if m.surface().strip()
    ]


def _is_nameish(token: _Token) -> bool:
    """A word that could be someone's name where a name is expected."""
    word = token.surface
    if word in NOT_NAMES or len(word) > 8 or not re.fullmatch(r"[一-龥々ぁ-んァ-ヶー]+", word):
        return False
    return token.is_person or is_known_name(word)


def _names_and_schools(text: str) -> Iterable[Finding]:
    tokens = _tokens(text)
    for i, token in enumerate(tokens):
        before = tokens[i - 1] if i > 0 else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        # Schools: a school word right after a proper noun or a non-generic noun.
        if token.surface in SCHOOL_WORDS or (
            token.surface in SCHOOL_SHORT and before is not None and before.is_proper
        ):
            if (
                before is not None
                and before.is_noun
                and before.surface not in GENERIC_SCHOOL_MODIFIERS
                and before.pos[1] not in ("数詞", "代名詞")
                and (before.is_proper or before.pos[1] == "普通名詞")
            ):
                yield Finding(SCHOOL, before.surface + token.surface)
            continue
        if after is not None and (
            after.surface in SCHOOL_WORDS or (after.surface in SCHOOL_SHORT and token.is_proper)
        ):
            continue  # the place-like part of a school name, reported as a school
        # After 名前は / 名前が / 本名は: the noun that follows is a name.
        if (
            before is not None
            and before.surface in ("は", "が")
            and i >= 2
            and tokens[i - 2].surface in ("名前", "なまえ", "本名")
            and token.is_noun
            and _is_nameish(token)
        ):
            yield Finding(NAME, token.surface)
            continue
        prefixed = before is not None and before.pos[0] == "接頭辞"
        # Names: before an honorific.
        if (
            after is not None
            and after.surface in HONORIFICS
            and not prefixed
            and _is_nameish(token)
        ):
            yield Finding(NAME, token.surface + after.surface)
            continue
        if not token.is_person or token.surface in NOT_NAMES:
            continue
        # A family name followed by a given name.
        if token.pos[3] == "姓" and after is not None and after.is_person and after.pos[3] == "名":
            yield Finding(NAME, token.surface + after.surface)
            continue
        if before is not None and before.is_person and before.pos[3] == "姓":
            continue  # the given name of a full name already reported
        # A family name on its own (佐藤と木村がうざい), if it is a real family name.
        if token.pos[3] == "姓" and len(token.surface) >= 2 and is_known_last_name(token.surface):
            yield Finding(NAME, token.surface)
            continue
        # A given name on its own before a particle (ゆいが無視してくる).
        if (
            token.pos[3] == "名"
            and len(token.surface) >= 2
            and after is not None
            and after.surface in _PARTICLES_AFTER_NAME
            # まもると / かけるの: a verb that reads like a name, before と, の or や.
            and not (
                re.fullmatch(r"[ぁ-ん]+", token.surface) and after.surface in ("と", "の", "や")
            )
            and is_known_name(token.surface)
            and (before is None or before.pos[0] in ("補助記号", "助詞", "接続詞"))
        ):
            yield Finding(NAME, token.surface)


_BEFORE_HONORIFIC = re.compile(
    r"([ぁ-んァ-ヶー]{2,8}|[一-龥々]{1,4})(?=さん|くん|君|ちゃん|先生|先輩|せんせい|せんぱい|様|さま)"
)
_BOUNDARY_KANA = frozenset("のとがはにもをやへで、。 「」")


def _honorific_names(text: str) -> Iterable[Finding]:
    """A name from the dataset right before さん/くん/ちゃん/先生 in the raw text, where
    Sudachi cut a hiragana name apart (りこちゃん)."""
    # The honorific must be a word of its own (not the end of たくさん or みなさん).
    starts = {m.begin() for m in _tokenizer().tokenize(text[:4000])}
    for match in _BEFORE_HONORIFIC.finditer(text):
        if match.end(1) not in starts:
            continue
        run = match.group(1)
        start = match.start(1)
        # The longest ending of the run that is a name and starts at a word boundary.
        for cut in range(len(run) - 1 if len(run) > 1 else 0, -1, -1):
            word = run[cut:]
            if len(word) < 2 and not re.fullmatch(r"[一-龥々]", word):
                continue
            boundary = cut == 0 and (start == 0 or not text[start - 1].isalpha())
            if cut > 0:
                boundary = run[cut - 1] in _BOUNDARY_KANA
            if cut == 0 and start > 0 and text[start - 1] in "おご御":
                break
            if boundary and word not in NOT_NAMES and is_known_name(word):
                yield Finding(NAME, word)
                break


# --- The check ---------------------------------------------------------------------------


def find_personal_data(text: str) -> list[Finding]:
    """Everything in ``text`` that may identify someone, each finding once, in the order
    of ``KINDS``."""
    normalized = _normalized(text or "")
    if not normalized.strip():
        return []
    found: list[Finding] = []
    found.extend(Finding(EMAIL, m.group(0)) for m in _EMAIL.finditer(normalized))
    found.extend(_phones(normalized))
    found.extend(_sns_ids(normalized))
    found.extend(_addresses(normalized))
    found.extend(_names_and_schools(normalized))
    if not any(f.kind == NAME for f in found):
        found.extend(_honorific_names(normalized))
    unique = list(dict.fromkeys(found))
    order = {kind: n for n, kind in enumerate(KINDS)}
    return sorted(unique, key=lambda f: order[f.kind])


def kinds_found(text: str) -> list[str]:
    """The kinds of personal data in ``text``, each once, in the order of ``KINDS``."""
    present = {finding.kind for finding in find_personal_data(text)}
    return [kind for kind in KINDS if kind in present]


def check_line(text: str) -> str:
    """The line ``uketome pii-check`` prints for one sentence: ``ok`` or ``flag\\tkinds``."""
    kinds = kinds_found(text)
    return "flag\t" + ",".join(kinds) if kinds else "ok"
