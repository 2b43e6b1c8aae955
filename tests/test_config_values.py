"""app.yaml values that YAML or a hurried user writes in a surprising way: each is either read as
meant or refused with a reason that says how to write it."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import AppConfig, ConfigError, load_config
from tests.conftest import mention_record, write_jsonl

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def config_text(brands: str, extra: str = "") -> str:
    return f"brands:\n{brands}sources:\n  - {{type: replay, name: file, path: m.jsonl}}\n{extra}"


def load(tmp_path: Path, text: str) -> AppConfig:
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return " ".join(str(caught.value).split())


KESTREL = "  - name: Kestrel\n"


# Quiet hours: YAML 1.1 reads an unquoted 22:00 as the number 1320, and 22:00:00 as 79200


@pytest.mark.parametrize(
    ("written", "meant"),
    [("22:00", time(22)), ("22:00:00", time(22)), ("7:30", time(7, 30)), ("'23:45'", time(23, 45))],
)
def test_an_unquoted_time_of_day_is_read_as_written(
    tmp_path: Path, written: str, meant: time
) -> None:
    quiet = f"incidents:\n  quiet_hours: {{time_zone: UTC, start: {written}, end: '07:00'}}\n"
    config = load(tmp_path, config_text(KESTREL, quiet))
    assert config.incidents.quiet_hours.start == meant


@pytest.mark.parametrize("written", ["24:00", "22", "9:75"])
def test_a_time_that_is_not_a_time_of_day_is_refused(tmp_path: Path, written: str) -> None:
    quiet = f"incidents:\n  quiet_hours: {{time_zone: UTC, start: {written}, end: '07:00'}}\n"
    assert "is not a time of day such as 22:00" in refusal(tmp_path, config_text(KESTREL, quiet))


def test_other_numbers_are_still_numbers(tmp_path: Path) -> None:
    config = load(tmp_path, config_text(KESTREL, "http: {port: 8081}\n"))
    assert config.http.port == 8081


# Brands


def test_languages_are_read_as_two_letter_codes(tmp_path: Path) -> None:
    brands = "  - name: Kestrel\n    languages: [fra, en-GB, fr, ceb]\n"
    config = load(tmp_path, config_text(brands))
    assert config.brands[0].languages == ["fr", "en", "ceb"]  # Cebuano has no two-letter code


def test_a_language_that_is_no_code_is_refused(tmp_path: Path) -> None:
    brands = "  - name: Kestrel\n    languages: [en, klingon]\n"
    assert "'klingon' is not an ISO 639-1 language code" in refusal(tmp_path, config_text(brands))


def test_a_blank_brand_name_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, config_text("  - name: '  '\n"))
    assert "brands[0].name: a brand needs a name" in message


def test_a_name_without_latin_letters_needs_a_slug(tmp_path: Path) -> None:
    message = refusal(tmp_path, config_text("  - name: 小米\n  - name: 华为\n"))
    assert "set a slug for '小米'" in message
    assert "slug: brand keeps them" in message  # the data an earlier Vigie stored
    assert "set a slug for '华为'" in message
    config = load(tmp_path, config_text("  - name: 小米\n    slug: xiaomi\n"))
    assert config.brands[0].brand_slug == "xiaomi"


def test_an_exclusion_equal_to_a_term_is_refused(tmp_path: Path) -> None:
    brands = "  - name: Kestrel\n    aliases: [Kestrel Mobile]\n    exclude: [kestrel mobile]\n"
    message = refusal(tmp_path, config_text(brands))
    assert (
        "brand 'Kestrel': exclude 'kestrel mobile' is also one of the brand's own terms "
        "('Kestrel Mobile')"
    ) in message


@pytest.mark.parametrize(
    ("terms", "phrase", "term"),
    [
        ("handles: ['@KestrelHelp']", "@kestrelhelp", "@KestrelHelp"),
        ("handles: [kestrelhelp]", "KestrelHelp", "@kestrelhelp"),  # masks '@kestrelhelp'
        ("hashtags: [kestreldown]", "kestreldown", "#kestreldown"),
    ],
)
def test_an_exclusion_equal_to_a_handle_or_hashtag_is_refused(
    tmp_path: Path, terms: str, phrase: str, term: str
) -> None:
    brands = f"  - name: Kestrel Mobile\n    {terms}\n    exclude: [birdwatching, '{phrase}']\n"
    message = refusal(tmp_path, config_text(brands))
    assert (
        f"brand 'Kestrel Mobile': exclude '{phrase}' is also one of the brand's own terms "
        f"('{term}')"
    ) in message


def test_full_width_hashtag_and_handle_signs_are_read_as_the_sign(tmp_path: Path) -> None:
    brands = (
        "  - name: Kestrel\n    hashtags: ['\uff03kestreldown', '\ufe5fkestrelfail']\n"
        "    handles: ['\uff20kestrelhelp']\n"
    )
    [brand] = load(tmp_path, config_text(brands)).brands
    assert brand.hashtags == ["#kestreldown", "#kestrelfail"]
    assert brand.handles == ["@kestrelhelp"]


# Paths and YAML's own readings


def test_a_home_relative_storage_path_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load(tmp_path, config_text(KESTREL, "storage: {path: ~/vigie.db}\n"))
    assert config.storage.path == tmp_path / "home" / "vigie.db"


@pytest.mark.parametrize(
    ("brands", "hint"),
    [
        ("  - name: Kestrel\n    hashtags:\n      - #kestreldown\n", "unquoted # as a comment"),
        ("  - name: Kestrel\n    hashtags: #kestreldown\n", "unquoted # as a comment"),
        ("  - name: Kestrel\n    languages: [en, no]\n", "yes/no/on/off as false; quote it"),
        ("  - name: Nokia\n    keywords: [3310]\n", "YAML read 3310 as a number; quote it"),
    ],
)
def test_a_value_yaml_read_as_something_else_says_so(
    tmp_path: Path, brands: str, hint: str
) -> None:
    assert hint in refusal(tmp_path, config_text(brands))


def test_check_config_shows_names_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load(tmp_path, config_text("  - name: '[bold]Kestrel [beta]'\n"))
    assert main(["check-config", "-c", str(tmp_path / "app.yaml")]) == 0
    assert "brand [bold]Kestrel [beta] (bold-kestrel-beta)" in ANSI.sub("", capsys.readouterr().out)


# Commands name a brand by its slug or its name, as configured


def test_mentions_finds_a_brand_by_its_exact_slug_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_jsonl(tmp_path / "m.jsonl", [mention_record(1, "Kestrel Mobile down again")])
    brands = "  - name: Kestrel Mobile\n    slug: kestrel_mobile\n"
    path = tmp_path / "app.yaml"
    path.write_text(config_text(brands, "http: {enabled: false}\n"), encoding="utf-8")
    assert main(["run", "-c", str(path), "--exit-when-idle"]) == 0
    capsys.readouterr()
    for wanted in ("kestrel_mobile", "Kestrel Mobile", "KESTREL_MOBILE"):
        assert main(["mentions", "-c", str(path), "--brand", wanted]) == 0, wanted
        assert "1 mention(s)" in capsys.readouterr().out
    assert main(["mentions", "-c", str(path), "--brand", "kestrel-mobile!"]) == 2
    assert "no brand 'kestrel-mobile!'" in " ".join(capsys.readouterr().err.split())


# Teams without an app id cannot authenticate anyone: only for a local test


TEAMS_WITHOUT_ID = "platforms:\n  teams: {app_id: ''}\n"


def test_teams_without_an_app_id_is_refused_on_a_reachable_address(tmp_path: Path) -> None:
    message = refusal(tmp_path, config_text(KESTREL, TEAMS_WITHOUT_ID + "http: {host: 0.0.0.0}\n"))
    assert "platforms.teams.app_id is empty, so anyone who can reach 0.0.0.0:8080" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_teams_without_an_app_id_is_allowed_on_loopback(tmp_path: Path, host: str) -> None:
    config = load(tmp_path, config_text(KESTREL, TEAMS_WITHOUT_ID + f"http: {{host: '{host}'}}\n"))
    assert config.platforms.teams is not None


def test_an_unquoted_off_for_a_mastodon_public_timeline_means_off(tmp_path: Path) -> None:
    """YAML reads a bare `off` as false; for `public` it can only mean "off"."""
    text = (
        f"brands:\n{KESTREL}sources:\n"
        "  - {type: mastodon, name: masto, base_url: 'https://mastodon.example', public: off,\n"
        "     hashtags: [kestreldown]}\n"
    )
    [source] = load(tmp_path, text).sources
    assert getattr(source, "public", None) == "off"
