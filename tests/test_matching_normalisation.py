"""How texts are normalised before matching: apostrophes, whitespace, variation selectors, scripts
without spaces and letters that do not decompose (``bot.text.fold``)."""

from __future__ import annotations

import pytest

from bot.matching import BrandMatch, BrandMatcher
from bot.model import Brand
from bot.text import fold

MCDONALDS = Brand(name="McDonald's", slug="mcd")
UNITED = Brand(name="Manchester United", slug="mufc")
APPLE = Brand(name="Apple", slug="apple", exclude=("apple pie",))
KESTREL = Brand(name="Kestrel", slug="kestrel")


def slugs(brands: list[Brand], text: str) -> list[str]:
    return [match.brand for match in BrandMatcher(brands).match(text)]


# Apostrophes: a phone keyboard types a curly one by default


@pytest.mark.parametrize(
    "text",
    ["McDonald\u2019s fries cold", "McDonald\u2018s fries cold", "McDonald\u02bcs fries cold"],
)
def test_a_typographic_apostrophe_matches_a_straight_one(text: str) -> None:
    assert BrandMatcher([MCDONALDS]).match(text) == [BrandMatch("mcd", ("McDonald's",))]


def test_a_term_configured_with_a_typographic_apostrophe_matches_a_straight_one() -> None:
    brand = Brand(name="McDonald\u2019s", slug="mcd")
    assert BrandMatcher([brand]).match("McDonald's fries cold") == [
        BrandMatch("mcd", ("McDonald\u2019s",))
    ]


# Whitespace: any run of it between the words of a name or an exclusion


@pytest.mark.parametrize(
    "text", ["Manchester\nUnited lost", "Manchester  United lost", "Manchester\t United lost"]
)
def test_a_multi_word_name_matches_across_any_whitespace(text: str) -> None:
    assert slugs([UNITED], text) == ["mufc"]


@pytest.mark.parametrize("text", ["Apple  pie recipe", "apple\npie recipe", "APPLE \r\n PIE"])
def test_an_exclusion_holds_across_any_whitespace(text: str) -> None:
    assert slugs([APPLE], text) == []


def test_a_term_configured_with_extra_spaces_still_matches() -> None:
    brand = Brand(name="Manchester  United", slug="mufc")
    assert slugs([brand], "Manchester United lost") == ["mufc"]


# Variation selectors (U+FE0E text style, U+FE0F emoji style) change nothing a reader sees


def test_variation_selectors_are_ignored() -> None:
    brand = Brand(name="I❤NY", slug="iny")
    assert slugs([brand], "my I❤\ufe0fNY mug") == ["iny"]
    assert slugs([brand], "my I❤\ufe0eNY mug") == ["iny"]


# Scripts written without spaces: a change between CJK and Latin is a word boundary


def test_a_change_between_cjk_and_latin_is_a_word_boundary() -> None:
    for text in ("Kestrelは最悪", "最悪のKestrel", "Kestrel的客服太差了", "Kestrel은 최고"):
        assert slugs([KESTREL], text) == ["kestrel"], text
    # a longer Latin word is still another word
    assert slugs([KESTREL], "Kestrels最悪") == []
    assert slugs([KESTREL], "最悪Kestrels") == []


# Letters that Unicode does not decompose into a base letter and an accent


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("Orsted", "Ørsted shares fell"),
        ("Lodz Airport", "Łódź Airport"),
        ("Kirmizi", "K\u0131rm\u0131z\u0131"),
    ],
)
def test_letters_without_a_decomposition_fold_to_their_base_letter(name: str, text: str) -> None:
    assert slugs([Brand(name=name, slug="brand")], text) == ["brand"]


def test_fold() -> None:
    assert fold("  McDonald\u2019s\n\nCRÈME  brûlée ") == "mcdonald's creme brulee"
    assert fold("Ørsted\ufe0f Łódź") == "orsted lodz"


# Styled and invisible characters: fancy-font posts, text pasted from web pages


@pytest.mark.parametrize(
    "text",
    [
        "\U0001d40a\U0001d41e\U0001d42c\U0001d42d\U0001d42b\U0001d41e\U0001d425 is awful",  # bold
        "\U0001d5de\U0001d5f2\U0001d600\U0001d601\U0001d5ff\U0001d5f2\U0001d5f9 is awful",  # sans
        "\uff2b\uff45\uff53\uff54\uff52\uff45\uff4c is awful",  # full width
        "Kes\u200btrel is awful",  # zero-width space
        "Kes\u00adtrel is awful",  # soft hyphen
        "Kes\u2060trel is awful",  # word joiner
    ],
)
def test_styled_and_invisible_characters_still_spell_the_name(text: str) -> None:
    assert slugs([KESTREL], text) == ["kestrel"]


def test_an_invisible_character_between_words_is_no_space() -> None:
    # 'Kestrel\u200bMobile' reads as one word, as it shows
    assert slugs([Brand(name="Kestrel Mobile", slug="km")], "Kestrel\u200bMobile down") == []
    assert fold("Kestrel\u200b Mobile") == "kestrel mobile"


# Chinese, Japanese and Korean: no spaces between words, particles attached to nouns

XIAOMI = Brand(name="Xiaomi", slug="xiaomi", aliases=("小米",))
SONY = Brand(name="Sony", slug="sony", aliases=("ソニー",))
SAMSUNG = Brand(name="Samsung", slug="samsung", aliases=("삼성",))


@pytest.mark.parametrize(
    ("brand", "text"),
    [
        (XIAOMI, "我的小米手机坏了"),
        (SONY, "ソニーのテレビが壊れた"),
        (SAMSUNG, "삼성은 최악"),
        (SAMSUNG, "삼성 고객센터 연결이 안 돼요"),
    ],
)
def test_a_cjk_name_matches_inside_running_text(brand: Brand, text: str) -> None:
    assert slugs([brand], text) == [brand.slug]


def test_kana_voicing_marks_are_part_of_the_letter() -> None:
    # 'ガ' (ga) is not 'カ' (ka) with an accent: a brand 'カメラ' is not found in 'ガメラ'
    assert slugs([Brand(name="カメラ", slug="camera")], "ガメラ最高") == []
    assert slugs([Brand(name="カメラ", slug="camera")], "カメラ最高") == ["camera"]
    toyota = Brand(name="Toyota", slug="toyota", aliases=("トヨタ",))
    assert slugs([toyota], "トヨダさんに会った") == []  # Toyoda, a surname
    assert slugs([toyota], "ﾄﾖﾀの車") == ["toyota"]  # half-width katakana


KIA = Brand(name="Kia", slug="kia", aliases=("기아",))
TOSS = Brand(name="Toss", slug="toss", aliases=("토스",))


@pytest.mark.parametrize(
    "text",
    [
        "기압이 낮다",
        "기안을 올렸다",
        "토스트 먹었다",
        "기아나 여행",
    ],  # pressure, draft, toast, Guyana
)
def test_a_korean_name_is_not_found_inside_another_word(text: str) -> None:
    assert slugs([KIA, TOSS], text) == []


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("기아가 또 고장", "kia"),
        ("기아 서비스센터", "kia"),
        ("토스예요", "toss"),
        ("토스에서는 안 돼요", "toss"),
    ],
)
def test_a_korean_name_with_a_particle_attached_is_found(text: str, brand: str) -> None:
    assert slugs([KIA, TOSS], text) == [brand]
