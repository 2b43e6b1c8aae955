"""Platform length limits and ``fit``: named examples, then properties over arbitrary Unicode."""

from __future__ import annotations

import re

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls

from bot.drafts.limits import ELLIPSIS, URL, Limit, fit, limit_for, platform_of_url

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, five code points
THUMB = "\U0001f44d\U0001f3fd"  # thumbs up, medium skin tone: one grapheme, eight bytes
FLAG = "\U0001f1eb\U0001f1f7"
LONG_URL = "https://status.kestrel.example/incidents/2026-03-10/mobile-data-outage-north"
# X only shortens links under a top-level domain twitter-text knows, which ".example" is not
X_URL = "https://status.acme.com/incidents/2026-03-10/mobile-data-outage-north"
URLS = {"mastodon": LONG_URL, "x": X_URL}


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


# --- named examples ---------------------------------------------------------------------------


def test_defaults_per_platform() -> None:
    assert (limit_for("mastodon").maximum, limit_for("mastodon").unit) == (500, "characters")
    assert (limit_for("bluesky").maximum, limit_for("bluesky").unit) == (300, "graphemes")
    assert limit_for("reddit").maximum == 10_000
    assert (limit_for("x").maximum, limit_for("x").unit) == (280, "weighted characters")
    assert limit_for("twitter").platform == "x"
    assert limit_for("web").maximum == 500
    hackernews = limit_for("hackernews")
    assert (hackernews.platform, hackernews.maximum) == ("hackernews", 500)


def test_mastodon_instance_override() -> None:
    limit = limit_for("mastodon", 1000)
    assert (limit.maximum, limit.url_weight) == (1000, 23)
    assert limit.fits("a" * 1000)
    assert not limit.fits("a" * 1001)
    with pytest.raises(ValueError, match="positive"):
        limit_for("mastodon", 0)


@pytest.mark.parametrize("platform", ["mastodon", "x"])
def test_a_link_counts_23(platform: str) -> None:
    limit = limit_for(platform)
    url = URLS[platform]
    assert limit.length(f"see {url}") == 4 + 23
    assert limit.length("http://a.co") == 23  # a short link counts 23 too
    assert limit.length(f"({url}).") == 23 + 3  # the punctuation around it counts
    assert limit.fits("a" * (limit.maximum - 24) + " " + url)
    assert not limit.fits("a" * (limit.maximum - 23) + " " + url)


def test_x_counts_a_link_without_a_scheme_as_23() -> None:
    x = limit_for("x")
    assert x.length("acme.com") == 23
    assert x.length("Help: acme.com") == 6 + 23
    assert x.length("acme.com/help.") == 23 + 1  # the full stop after it counts
    reply = ("Sorry for the delay, we are on it. " * 8)[:262] + " Help: acme.com"
    assert x.length(reply) == 277 - len("acme.com") + 23 == 292
    assert not x.fits(reply)
    assert x.problems(reply) == ["is 292 weighted characters; X takes 280"]


def test_x_an_email_address_is_not_a_link() -> None:
    x = limit_for("x")
    assert x.length("help@acme.com") == len("help@acme.com")  # each character counts
    assert x.length("Mail help@acme.com or see acme.com") == len("Mail help@acme.com or see ") + 23


def test_x_a_link_needs_a_top_level_domain_twitter_text_knows() -> None:
    x = limit_for("x")
    assert x.length("kestrel.example/help") == len("kestrel.example/help")
    assert x.length("https://kestrel.example/help") == len("https://kestrel.example/help")
    assert x.length("kestrel.io/help") == 23
    assert x.length("kestrel.co.uk/help") == 23
    # Mastodon shortens any http(s) link, whatever its domain
    assert limit_for("mastodon").length("https://kestrel.example/help") == 23


def test_links_count_in_full_on_bluesky_and_reddit() -> None:
    assert limit_for("bluesky").length(LONG_URL) == len(LONG_URL)
    assert limit_for("reddit").length(LONG_URL) == len(LONG_URL)


def test_bluesky_counts_graphemes_within_3000_bytes() -> None:
    bluesky = limit_for("bluesky")
    thumbs = THUMB * 300
    assert len(thumbs) == 600
    assert len(thumbs.encode()) == 2400
    assert bluesky.length(thumbs) == 300
    assert bluesky.fits(thumbs)
    assert not bluesky.fits(thumbs + THUMB)
    accents = "e\u0301" * 300  # 600 code points
    assert bluesky.fits(accents)
    families = FAMILY * 300  # 300 graphemes but 5,400 bytes
    assert bluesky.length(families) == 300
    assert not bluesky.fits(families)
    assert bluesky.problems(families) == ["is 5,400 bytes in UTF-8; Bluesky takes 3,000"]
    mixed = FAMILY * 150 + "a" * 150  # 300 graphemes, 2,850 bytes, 900 code points
    assert bluesky.fits(mixed)
    assert bluesky.problems("a" * 312) == ["is 312 graphemes; Bluesky takes 300"]


def test_x_weights() -> None:
    x = limit_for("x")
    assert x.length("hello") == 5
    assert x.length("café") == 4  # Latin-1 weighs 1
    assert x.length("cafe\u0301") == 4  # counted after NFC, as X does
    assert x.length("中文") == 4  # CJK weighs 2
    assert x.length("\u2014\u2019") == 2  # dashes and quotes weigh 1
    assert x.length(FAMILY) == 2
    assert x.length(FLAG) == 2
    assert x.length(THUMB) == 2
    assert x.length("\u2764\ufe0f") == 2  # red heart with its variation selector
    assert x.length("שלום") == 4
    assert x.length("مرحبا") == 5
    assert x.fits("中" * 140)
    assert not x.fits("中" * 141)
    assert x.problems("中" * 141) == ["is 282 weighted characters; X takes 280"]
    assert x.length("a\r\nb") == 4  # as twitter-text counts it (its Python port says 3)
    assert x.length("a\u3000b") == 4  # an ideographic space weighs 2


def test_fit_keeps_a_text_that_fits() -> None:
    text = "  Hi @ana,\n\nsorry  about this. "
    assert fit(text, limit_for("x")) is text or fit(text, limit_for("x")) == text


def test_fit_drops_whole_words_and_ends_with_an_ellipsis() -> None:
    x = limit_for("x")
    text = " ".join(f"word{number}" for number in range(100))
    short = fit(text, x)
    assert short.endswith(ELLIPSIS)
    assert x.fits(short)
    assert text.startswith(short[:-1])
    assert not x.fits(text[: len(short) + 7])  # no room was left for another word


def test_fit_never_cuts_a_link() -> None:
    x = limit_for("x")
    text = "a" * 252 + " " + X_URL + " and then some more words to push it over"
    short = fit(text, x)
    assert X_URL in short
    assert x.fits(short)
    assert short.endswith(f"{X_URL} {ELLIPSIS}")  # a space keeps "…" out of the link
    bluesky = limit_for("bluesky")  # links count in full: this one cannot stay
    short = fit("b" * 250 + " " + LONG_URL + " tail", bluesky)
    assert short == "b" * 250 + ELLIPSIS


def test_fit_on_x_keeps_a_link_without_a_scheme_whole() -> None:
    x = limit_for("x")
    reply = ("Sorry for the delay, we are on it. " * 8)[:262] + " Help: acme.com"
    short = fit(reply, x)
    assert short != reply
    assert x.length(short) <= 280
    assert short == reply.removesuffix(" acme.com") + ELLIPSIS  # the link goes whole
    text = "a" * 253 + " acme.com/help/orders and then some more words to push it over"
    short = fit(text, x)
    assert x.length(short) <= 280
    assert short == "a" * 253 + f" acme.com/help/orders {ELLIPSIS}"  # kept whole, "…" apart


def test_fit_gives_nothing_when_the_first_word_is_too_long() -> None:
    assert fit("a" * 501, limit_for("mastodon")) == ""
    assert fit(FAMILY * 301, limit_for("bluesky")) == ""


def test_fit_keeps_line_breaks_between_kept_words() -> None:
    text = "Hi @ana,\nsorry about this. " + "more " * 200
    assert fit(text, limit_for("x")).startswith("Hi @ana,\nsorry about this.")


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://twitter.com/ana/status/1", "x"),
        ("https://x.com/ana/status/1", "x"),
        ("https://mobile.twitter.com/ana/status/1", "x"),
        ("https://bsky.app/profile/ana.bsky.social/post/3k", "bluesky"),
        ("https://www.reddit.com/r/kestrel/comments/abc/", "reddit"),
        ("https://old.reddit.com/r/kestrel/comments/abc/", "reddit"),
        ("https://redd.it/abc", "reddit"),
        ("https://news.ycombinator.com/item?id=1", "hackernews"),
        ("https://mastodon.social/@ana/1", "web"),
        ("https://notreddit.com/r/x", "web"),
        ("https://x.com.evil.example/a", "web"),
        ("not a url", "web"),
        ("", "web"),
    ],
)
def test_platform_of_url(url: str, platform: str) -> None:
    assert platform_of_url(url) == platform


# --- properties -------------------------------------------------------------------------------

_SPECIAL = [
    FAMILY,
    FLAG,
    THUMB,
    "\u2764\ufe0f",
    "e\u0301",
    "n\u0303\u0301",
    "中文",
    "日本語",
    "한국어",
    "שלום",
    "مرحبا",
    "\u0915\u094d\u0937",  # Devanagari conjunct
    "1\ufe0f\u20e3",  # keycap
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England
]
_LETTERS = st.characters(
    blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"),
    blacklist_characters="\u2026",
)
_WORDS = st.one_of(
    st.text(_LETTERS, min_size=1, max_size=8),
    st.sampled_from(_SPECIAL),
    st.lists(st.sampled_from(_SPECIAL), min_size=1, max_size=4).map("".join),
    st.sampled_from(
        [
            "https://kestrel.example/help",
            LONG_URL,
            X_URL,
            "http://a.co/x",
            "(http://b.io).",
            "acme.com",
            "(acme.co.uk/help).",
            "kestrel.example/help",
            "help@acme.com",
        ]
    ),
)
_SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\t"])
_PLATFORMS = ["mastodon", "bluesky", "reddit", "x", "web"]


@st.composite
def texts(draw: st.DrawFn, maximum: int) -> str:
    """A text of up to about twice ``maximum``, cycling through a few drawn words."""
    words = draw(st.lists(_WORDS, min_size=1, max_size=12))
    separators = draw(st.lists(_SEPARATORS, min_size=1, max_size=5))
    target = draw(st.integers(0, 2 * maximum))
    parts: list[str] = []
    size, index = 0, 0
    while size < target or not parts:
        word = words[index % len(words)]
        separator = separators[index % len(separators)]
        parts += [word, separator]
        size += len(word) + len(separator)
        index += 1
    return "".join(parts[:-1])


def _urls(text: str) -> list[str]:
    return URL.findall(text)


def _check_fit(text: str, limit: Limit) -> None:
    short = fit(text, limit)
    if limit.fits(text):
        assert short == text
        return
    assert limit.length(short) <= limit.maximum
    assert limit.fits(short)
    if not short:
        return
    assert short.endswith(ELLIPSIS)
    words = re.findall(r"\S+", short)
    last = words[-1].removesuffix(ELLIPSIS)
    kept = words[:-1] + ([last] if last else [])
    source_words = set(re.findall(r"\S+", text))
    assert all(word in source_words for word in kept)
    source_urls = set(_urls(text))
    assert all(url in source_urls for url in _urls(short))
    if limit.platform == "x":  # links as X finds them, with or without a scheme, stay whole
        source_links = set(extract_urls(text))
        assert all(link in source_links for link in extract_urls(short))


@pytest.mark.parametrize("platform", _PLATFORMS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_fit_property(platform: str, data: st.DataObject) -> None:
    limit = limit_for(platform)
    text = data.draw(texts(limit.maximum))
    _check_fit(text, limit)
    if platform == "bluesky":
        short = fit(text, limit)
        assert graphemes(short) <= 300
        assert len(short.encode()) <= 3000


@settings(max_examples=200, deadline=None)
@given(data=st.data(), maximum=st.integers(1, 120))
def test_fit_property_small_limits(data: st.DataObject, maximum: int) -> None:
    platform = data.draw(st.sampled_from(_PLATFORMS))
    limit = limit_for(platform, maximum)
    _check_fit(data.draw(texts(maximum)), limit)


@settings(max_examples=100, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=300))
def test_fit_property_any_text(text: str) -> None:
    for platform in ("bluesky", "x"):
        _check_fit(text, limit_for(platform, 100))


def test_x_weighs_a_run_of_many_dots_character_by_character() -> None:
    """twitter-text's link pattern is quadratic in a run's dots: such a run is weighed per
    character (each http(s) link 23) instead; a long link with a few dots is parsed."""
    x = limit_for("x")
    assert x.length("1." * 1500) == 3000
    assert x.length("https://acme.com/" + "a.b" * 30) == 23
    help_link = "https://help.acme.com/en-gb/articles/" + "refund-policy-" * 20
    assert len(help_link) > 120
    assert x.length(f"Sorry! Refunds: {help_link} thanks") == len("Sorry! Refunds: ") + 23 + 7
