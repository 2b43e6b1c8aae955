"""How texts are normalised before matching: apostrophes, whitespace, variation selectors, scripts
without spaces, letters that do not decompose, symbols and hyphens (``bot.text.fold``)."""

from __future__ import annotations

import unicodedata

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


@pytest.mark.parametrize(
    "text",
    [
        "Kestrel\u0e41\u0e22\u0e48\u0e21\u0e32\u0e01",  # Thai: 'Kestrel terrible'
        "\u0e41\u0e22\u0e48\u0e21\u0e32\u0e01Kestrel",
        "Kestrel\u0e9a\u0ecd\u0ec8\u0e94\u0eb5",  # Lao
        "Kestrel\u17a2\u17b6\u1780\u17d2\u179a\u1780\u17cb",  # Khmer
        "Kestrel\u1006\u102d\u102f\u1038\u1010\u101a\u103a",  # Myanmar
    ],
)
def test_thai_lao_khmer_and_myanmar_are_written_without_spaces(text: str) -> None:
    assert slugs([KESTREL], text) == ["kestrel"]
    assert slugs([Brand(name="Kestrels", slug="k")], text) == []


def test_a_name_in_a_script_without_spaces_matches_inside_running_text() -> None:
    # Thai: the 'True' operator inside 'I use True, the signal is bad'
    true = Brand(name="True", slug="true", aliases=("\u0e17\u0e23\u0e39",))
    assert slugs(
        [true],
        "\u0e43\u0e0a\u0e49\u0e17\u0e23\u0e39\u0e2a\u0e31\u0e0d\u0e0d\u0e32\u0e13\u0e41\u0e22\u0e48",
    ) == ["true"]


def test_thai_tone_marks_and_vowels_below_are_part_of_the_syllable() -> None:
    # 'ไก่' (chicken) is not 'ไก', nor is 'ทรู' 'ทร': the marks are kept, like kana voicing marks
    assert fold("\u0e44\u0e01\u0e48") == "\u0e44\u0e01\u0e48"
    chicken = Brand(name="\u0e44\u0e01\u0e48", slug="gai", aliases=("Gai",))
    assert slugs([chicken], "\u0e44\u0e01\u0e25\u0e21\u0e32\u0e01") == []  # 'very far'
    assert slugs([chicken], "\u0e0a\u0e2d\u0e1a\u0e44\u0e01\u0e48\u0e17\u0e2d\u0e14") == ["gai"]


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
        "\u24c0\u24d4\u24e2\u24e3\u24e1\u24d4\u24db is awful",  # circled letters
        "\U0001f13a\U0001f134\U0001f142\U0001f143\U0001f141\U0001f134\U0001f13b is bad",  # squared
        "Kes\u00adtrel is awful",  # soft hyphen
        "Kes\u2060trel is awful",  # word joiner
        "Kes\u200ctrel is awful",  # zero-width non-joiner (Persian, Indic words)
        "Kes\u200dtrel is awful",  # zero-width joiner (emoji sequences)
    ],
)
def test_styled_and_invisible_characters_still_spell_the_name(text: str) -> None:
    assert slugs([KESTREL], text) == ["kestrel"]


def test_a_zero_width_space_is_a_space() -> None:
    # a line-break opportunity between words (Thai, Khmer and Myanmar mark words with it)
    assert slugs([Brand(name="Acme", slug="acme")], "acme\u200bcorp is down") == ["acme"]
    assert slugs([Brand(name="Kestrel Mobile", slug="km")], "Kestrel\u200bMobile down") == ["km"]
    assert slugs([KESTREL], "Kes\u200btrel is awful") == []
    assert fold("Kestrel\u200b Mobile\u200b") == "kestrel mobile"
    # a joiner is no space: the word joiner, joiners inside emoji and Persian words go
    assert slugs([Brand(name="Kestrel Mobile", slug="km")], "Kestrel\u2060Mobile down") == []
    assert fold("\U0001f468\u200d\U0001f469 \u0645\u06cc\u200c\u062e\u0648\u0627\u0645") == (
        "\U0001f468\U0001f469 \u0645\u06cc\u062e\u0648\u0627\u0645"
    )


# Symbols and number forms that NFKD spells out as letters or digits: not part of the word


@pytest.mark.parametrize(
    "text",
    [
        "Kestrel\u2122 app is down",  # trade mark sign
        "KESTREL\u2122's app is down",
        "Kestrel\u2120 app is down",  # service mark
        "Kestrel\u00ae app is down",  # registered sign: no letters in it
        "Kestrel\u2460 app is down",  # circled one
        "Kestrel\u2776 app is down",  # dingbat negative circled one
        "Kestrel\u00bd price",  # vulgar fraction one half
        "\u2116Kestrel",  # numero sign
    ],
)
def test_a_symbol_or_number_form_glued_to_a_name_is_no_part_of_it(text: str) -> None:
    assert slugs([KESTREL], text) == ["kestrel"]


def test_symbols_and_number_forms_fold_to_a_space() -> None:
    assert fold("Kestrel\u2122 app") == "kestrel app"
    assert fold("Windows\u2122 11 \u2460") == "windows 11"
    # a raised or lowered digit stays a digit: it is part of names (O₂, H₂O, A³)
    assert fold("O\u2082 H\u2082O A\u00b3") == "o2 h2o a3"
    # letters in disguise keep their reading: full width, ligatures, sharp s, CJK squares
    assert fold("\uff2b\uff45\uff53 e\ufb03cace Stra\u00dfe") == "kes efficace strasse"
    assert fold("\u30c8\u30e8\u30bf\u337f") == "\u30c8\u30e8\u30bf\u682a\u5f0f\u4f1a\u793e"  # ㍿


def test_a_brand_written_with_a_lowered_digit_is_found_both_ways() -> None:
    o2 = Brand(name="O2", slug="o2")
    assert slugs([o2], "O\u2082 network down again") == ["o2"]
    assert slugs([Brand(name="O\u2082", slug="o2")], "O2 network down again") == ["o2"]
    assert slugs([Brand(name="O\u2082", slug="o2")], "o no, not again") == []


def test_a_brand_with_a_number_form_in_its_name_still_matches_itself() -> None:
    brand = Brand(name="Kestrel\u00b2", slug="k2")
    assert slugs([brand], "my Kestrel\u00b2 is broken") == ["k2"]


# Hyphens: the Unicode ones read as '-'


@pytest.mark.parametrize(
    "text",
    [
        "T\u2010Mobile is down",  # hyphen
        "T\u2011Mobile is down",  # non-breaking hyphen
        "T\u2012Mobile is down",  # figure dash
        "T\u2013Mobile is down",  # en dash, typed for a hyphen
        "T\u2212Mobile is down",  # minus sign
        "T\ufe63Mobile is down",  # small hyphen-minus
        "T\uff0dMobile is down",  # full-width hyphen-minus
    ],
)
def test_a_unicode_hyphen_matches_a_hyphen(text: str) -> None:
    assert slugs([Brand(name="T-Mobile", slug="tmobile")], text) == ["tmobile"]


def test_a_term_with_a_unicode_hyphen_matches_a_hyphen() -> None:
    assert slugs([Brand(name="T\u2011Mobile", slug="tmobile")], "t-mobile down") == ["tmobile"]
    apple = Brand(name="Apple", slug="apple", exclude=("apple-pie",))
    assert slugs([apple], "an apple\u2011pie recipe") == []


def test_a_hyphen_is_not_a_space() -> None:
    # 'T-Mobile' is not in 'AT&T Mobile': a hyphen only matches a hyphen (add an alias for more)
    tmobile = Brand(name="T-Mobile", slug="tmobile")
    assert slugs([tmobile], "AT&T Mobile plans") == []
    assert slugs([tmobile], "T\u2014Mobile") == []  # an em dash is punctuation, not a hyphen


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


def test_no_number_form_or_spelled_out_symbol_lies_beyond_plane_1() -> None:
    # bot.text looks for them in planes 0 and 1 only (import time): a newer Unicode may add some
    def spelled_out(char: str) -> bool:
        category = unicodedata.category(char)
        spelled = unicodedata.normalize("NFKD", char)
        return category == "No" or (category == "So" and len(spelled) > 1)

    assert not any(spelled_out(chr(code)) for code in range(0x20000, 0x110000))


@pytest.mark.parametrize("mark", ["\u00b4", "\u2032", "\u02b9", "`"])
def test_an_apostrophe_look_alike_matches_a_straight_one(mark: str) -> None:
    """An acute accent, a prime, a modifier prime or a backtick typed for the apostrophe."""
    text = f"McDonald{mark}s hat meine Bestellung vergessen"
    assert BrandMatcher([MCDONALDS]).match(text) == [BrandMatch("mcd", ("McDonald's",))]
    assert fold(f"MCDONALD{mark}S") == "mcdonald's"


# Indic scripts: vowel signs and viramas are part of the word


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ओला", "ओलावृष्टि से फसल बर्बाद"),  # Ola in 'hailstorm'
        ("ताब", "मेरी किताब"),  # in 'kitaab', a book
        ("टाटा", "टाटाओं"),
        ("ஜியோ", "ஜியோவில்"),
        ("कया", "क्या हुआ"),  # 'kaya' is not 'kya' (what): the virama stays
        ("राज", "राज़ खुल गया"),  # 'raj' is not 'raaz' (a secret): the nukta stays
    ],
)
def test_an_indic_term_inside_a_word_does_not_match(name: str, text: str) -> None:
    assert BrandMatcher([Brand(name=name, slug="b")]).match(text) == []


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ओला", "ओला कैब नहीं आई"),
        ("टाटा", "टाटा स्टील"),
        ("ஜியோ", "ஜியோ நெட்வொர்க்"),
        ("क्या", "क्या हुआ"),
        ("राज़", "राज़ खुल गया"),
        ("राज़", "रा\u095b खुल गया"),  # the nukta letter precomposed
    ],
)
def test_an_indic_term_as_a_word_matches(name: str, text: str) -> None:
    assert BrandMatcher([Brand(name=name, slug="b")]).match(text) == [BrandMatch("b", (name,))]
