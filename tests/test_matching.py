"""BrandMatcher: the brands a text mentions, on word boundaries, ignoring case and accents."""

from __future__ import annotations

import pytest

from bot.matching import BrandMatch, BrandMatcher
from bot.model import Brand

UNITED = Brand(
    name="United",
    slug="united",
    keywords=("united airlines", "united"),
    hashtags=("#unitedairlines",),
    handles=("@united",),
    exclude=("manchester united",),
    languages=("en", "fr"),
)
APPLE = Brand(name="Apple", slug="apple", aliases=("iphone",), exclude=("apple pie",))
CREME = Brand(name="Maison Crème", slug="creme", keywords=("creme brulee",))


@pytest.fixture(scope="module")
def matcher() -> BrandMatcher:
    return BrandMatcher([UNITED, APPLE, CREME])


def slugs(matcher: BrandMatcher, text: str) -> list[str]:
    return [match.brand for match in matcher.match(text)]


def terms_of(matcher: BrandMatcher, text: str, slug: str) -> tuple[str, ...]:
    for match in matcher.match(text):
        if match.brand == slug:
            return match.terms
    raise AssertionError(f"{slug} not matched in {text!r}")


# Case and accents


@pytest.mark.parametrize(
    "text",
    ["UNITED lost my bag", "united lost my bag", "UnItEd lost my bag", "Ünited lost my bag"],
)
def test_case_and_accent_insensitive(matcher: BrandMatcher, text: str) -> None:
    assert slugs(matcher, text) == ["united"]


def test_accented_text_matches_unaccented_term(matcher: BrandMatcher) -> None:
    assert "creme brulee" in terms_of(matcher, "Their CRÈME brûlée was cold", "creme")


def test_unaccented_text_matches_accented_term() -> None:
    brand = Brand(name="Crème Brûlée", slug="cb")
    assert BrandMatcher([brand]).match("best creme BRULEE in town") == [
        BrandMatch("cb", ("Crème Brûlée",))
    ]


def test_multiword_term_reports_the_configured_spelling(matcher: BrandMatcher) -> None:
    terms = terms_of(matcher, "UNITED AIRLINES cancelled again", "united")
    assert "united airlines" in terms
    assert "United" in terms


# Word boundaries


@pytest.mark.parametrize(
    "text",
    [
        "we were reunited at the gate",
        "disunited states",
        "unitedairlines without a hash sign",
        "#unitedairlinesfail is trending",
        "follow @unitedfan for news",
        "pineapple juice",
        "applesauce on the tray",
        "my iphones",
    ],
)
def test_term_inside_a_longer_word_does_not_match(matcher: BrandMatcher, text: str) -> None:
    assert matcher.match(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "united",
        "United.",
        "(United)",
        "United's app is down",
        "thanks, united!",
        "flying united-airlines style",
        "line one\nunited\nline three",
        "#united",
        "@united help",
    ],
)
def test_term_between_non_word_characters_matches(matcher: BrandMatcher, text: str) -> None:
    assert slugs(matcher, text) == ["united"]


def test_hashtag_term(matcher: BrandMatcher) -> None:
    assert terms_of(matcher, "Lost my bag #UnitedAirlines", "united") == ("#unitedairlines",)


def test_handle_term(matcher: BrandMatcher) -> None:
    assert "@united" in terms_of(matcher, "@United where is my bag?", "united")


def test_hashtag_and_handle_terms_only_brand() -> None:
    brand = Brand(
        name="Kestrel Mobile",
        slug="kestrel",
        hashtags=("#kestreldown",),
        handles=("@kestrelmobile",),
    )
    matcher = BrandMatcher([brand])
    assert matcher.match("no signal #kestreldown") == [BrandMatch("kestrel", ("#kestreldown",))]
    assert matcher.match("@KestrelMobile fix it") == [BrandMatch("kestrel", ("@kestrelmobile",))]
    # Without the sign, the tag and the handle are ordinary words, not the brand's terms.
    assert matcher.match("kestreldown and kestrelmobile") == []


@pytest.mark.parametrize(
    "text",
    [
        "write to bob@acme.com",
        "BOB@ACME.COM",
        "support_team@acme.com",
        "bob.smith2@acme.com",
        "\u0431\u043e\u0431@acme.com",  # Cyrillic local part
        "@bob@acme.social is on Mastodon",  # another account on the instance named acme
    ],
)
def test_a_handle_is_not_found_in_an_email_address(text: str) -> None:
    matcher = BrandMatcher([Brand(name="Acme Corp", slug="acme", handles=("@acme",))])
    assert matcher.match(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "@acme help",
        "(@acme)",
        "cc:@acme",
        "thanks.@acme",
        "\u8c22\u8c22@acme",
        "\u0e02\u0e2d\u0e1a\u0e04\u0e38\u0e13@acme",
    ],
)
def test_a_handle_after_punctuation_or_chinese_or_thai_text_matches(text: str) -> None:
    matcher = BrandMatcher([Brand(name="Acme Corp", slug="acme", handles=("@acme",))])
    assert matcher.match(text) == [BrandMatch("acme", ("@acme",))]


def test_term_ending_in_a_symbol() -> None:
    matcher = BrandMatcher([Brand(name="C++", slug="cpp")])
    assert matcher.match("I love c++!") == [BrandMatch("cpp", ("C++",))]
    assert matcher.match("abc++") == []


# Exclusions


@pytest.mark.parametrize(
    "text",
    ["apple pie", "Grandma's APPLE PIE recipe", "Manchester United won 2-0", "MANCHESTER ÜNITED"],
)
def test_excluded_phrase_alone_is_not_the_brand(matcher: BrandMatcher, text: str) -> None:
    assert matcher.match(text) == []


def test_another_hit_of_the_brand_still_counts(matcher: BrandMatcher) -> None:
    assert matcher.match("apple pie and my Apple watch broke") == [BrandMatch("apple", ("Apple",))]
    assert slugs(matcher, "Manchester United fans flying United hate it") == ["united"]


def test_an_exclusion_masks_a_hashtag_or_handle_it_covers_but_for_the_sign() -> None:
    apple = Brand(
        name="Apple",
        slug="apple",
        hashtags=("#apple",),
        handles=("@apple",),
        exclude=("apple pie",),
    )
    matcher = BrandMatcher([apple])
    for text in ("Baking an #apple pie today", "@apple pie", "#APPLE PIE!", "#apple\npie"):
        assert matcher.match(text) == [], text
    assert matcher.match("#apple pie and my #Apple watch broke") == [
        BrandMatch("apple", ("#apple", "Apple"))
    ]
    assert matcher.match("@apple pies") == [BrandMatch("apple", ("@apple", "Apple"))]


def test_exclusion_only_applies_to_its_brand() -> None:
    bakery = Brand(name="Pie Co", slug="pie", keywords=("pie",))
    matcher = BrandMatcher([APPLE, bakery])
    assert matcher.match("apple pie") == [BrandMatch("pie", ("pie",))]


def test_exclusion_inside_a_longer_word_does_not_exclude() -> None:
    brand = Brand(name="United", slug="united", exclude=("united states",))
    matcher = BrandMatcher([brand])
    assert matcher.match("united statesman") == [BrandMatch("united", ("United",))]
    assert matcher.match("the United States") == []


# Several brands, repeats, no brands


def test_one_text_matches_several_brands_in_configuration_order(matcher: BrandMatcher) -> None:
    text = "My iPhone died and United lost my crème brûlée"
    assert slugs(matcher, text) == ["united", "apple", "creme"]
    assert terms_of(matcher, text, "apple") == ("iphone",)


def test_repeated_term_is_listed_once(matcher: BrandMatcher) -> None:
    assert matcher.match("united UNITED United") == [BrandMatch("united", ("United",))]


def test_text_without_brands(matcher: BrandMatcher) -> None:
    assert matcher.match("nothing to see here") == []
    assert matcher.match("") == []


def test_empty_brand_list_matches_nothing() -> None:
    matcher = BrandMatcher([])
    assert matcher.brands == ()
    assert matcher.match("united apple anything") == []


def test_shared_term_matches_both_brands() -> None:
    first = Brand(name="Acme", slug="acme", keywords=("roadrunner",))
    second = Brand(name="Looney", slug="looney", keywords=("Roadrunner",))
    matcher = BrandMatcher([first, second])
    assert matcher.match("ROADRUNNER strikes") == [
        BrandMatch("acme", ("roadrunner",)),
        BrandMatch("looney", ("Roadrunner",)),
    ]


def test_an_exclusion_around_no_term_rules_the_whole_text_out() -> None:
    kestrel = Brand(name="Kestrel", slug="kestrel", exclude=("kestrel falcon", "birdwatching"))
    matcher = BrandMatcher([kestrel, Brand(name="RSPB", slug="rspb")])
    assert matcher.match("Saw a kestrel while birdwatching with the RSPB") == [
        BrandMatch("rspb", ("RSPB",))  # the veto is Kestrel's alone
    ]
    assert matcher.match("Kestrel app down again") == [BrandMatch("kestrel", ("Kestrel",))]
    # an exclusion around the name masks just that occurrence
    assert matcher.match("a kestrel falcon on my balcony, and the Kestrel app is down") == [
        BrandMatch("kestrel", ("Kestrel",))
    ]
    assert matcher.match("a kestrel falcon on my balcony") == []


def test_an_exclusion_holding_a_term_inside_a_word_only_masks() -> None:
    """'kestrels' holds 'kestrel' (without a word boundary): it masks, it does not rule the
    post out, so the brand named elsewhere in the text still counts."""
    kestrel = Brand(name="Kestrel", slug="kestrel", exclude=("kestrels",))
    united = Brand(name="United", slug="united", exclude=("unitedhealth",))
    matcher = BrandMatcher([kestrel, united])
    assert matcher.match("Kestrel app crashed again while I was watching kestrels") == [
        BrandMatch("kestrel", ("Kestrel",))
    ]
    assert matcher.match("UnitedHealth and United Airlines both lost my forms") == [
        BrandMatch("united", ("United",))
    ]
