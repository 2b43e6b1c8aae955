"""app.yaml values that validate alone but that Vigie could never use: durations and numbers past
any date, keys written twice, language codes written another way, a source that would hear
nothing. Each is refused by check-config as by run, naming the key and its line; an error shows
no secret a URL carries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import AppConfig, ConfigError, load_config
from bot.config.loader import load_yaml
from bot.config.source_x import MAX_RULE, too_long_rule
from bot.model import Brand
from bot.sources.x_wire import brand_rules

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BRAND = "brands:\n  - name: Kestrel\n"
REPLAY = "sources:\n  - {type: replay, name: file, path: m.jsonl}\n"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "m.jsonl").write_text("", encoding="utf-8")
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, extra: str, brands: str = BRAND, sources: str = REPLAY) -> AppConfig:
    return load_config(write(tmp_path, brands + sources + extra), environ={})


def refusal(tmp_path: Path, extra: str, brands: str = BRAND, sources: str = REPLAY) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, extra, brands, sources)
    return " ".join(str(caught.value).split())


# 1. Durations and numbers a date cannot be moved by


@pytest.mark.parametrize(
    "extra",
    [
        "incidents: {group_wait: 999999999d}\n",
        "incidents: {resolve_after: 9999999w}\n",
        "incidents:\n  levels:\n    - {name: a, min_risk: 10, steps: [{wait: 3651d}]}\n",
        "incidents:\n  levels:\n    - {name: a, min_risk: 10, remind_every: 600w}\n",
    ],
)
def test_a_duration_longer_than_ten_years_is_refused(tmp_path: Path, extra: str) -> None:
    assert "at most 3650d (ten years)" in refusal(tmp_path, extra)


def test_a_mastodon_backfill_longer_than_ten_years_is_refused(tmp_path: Path) -> None:
    sources = (
        "sources:\n  - {type: mastodon, name: m, base_url: 'https://mastodon.example', "
        "hashtags: [kestrel], backfill: 99999999d}\n"
    )
    message = refusal(tmp_path, "", sources=sources)
    assert "line 4: sources[0].backfill:" in message
    assert "ten years" in message


def test_ten_years_is_still_a_duration(tmp_path: Path) -> None:
    config = load(tmp_path, "incidents: {group_wait: 3650d}\n")
    assert config.incidents.group_wait.days == 3650


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("replies: {expire_after_hours: 100000000}\n", "replies.expire_after_hours"),
        ("replies: {expire_after_hours: 87601}\n", "replies.expire_after_hours"),
        ("storage: {keep_days: 1000000000000}\n", "storage.keep_days"),
        ("delivery: {tick_seconds: .inf}\n", "delivery.tick_seconds"),
        ("delivery: {pace_seconds: .nan}\n", "delivery.pace_seconds"),
        ("delivery: {max_backoff_seconds: 1e300}\n", "delivery.max_backoff_seconds"),
        ("engagement: {refresh_seconds: .inf}\n", "engagement.refresh_seconds"),
        ("console: {min_negativity: .nan}\n", "console.min_negativity"),
        ("platforms: {file: {path: out.jsonl, pace_seconds: .inf}}\n", "platforms.file"),
    ],
)
def test_a_number_past_any_use_is_refused(tmp_path: Path, extra: str, key: str) -> None:
    assert f"line 5: {key}" in refusal(tmp_path, extra)


def test_nan_is_named_as_such_not_as_a_bound(tmp_path: Path) -> None:
    message = refusal(tmp_path, "delivery: {pace_seconds: .nan}\n")
    assert "expected a finite number, got nan" in message


def test_check_config_refuses_what_would_overflow_at_the_first_filing(tmp_path: Path) -> None:
    path = write(tmp_path, BRAND + REPLAY + "incidents: {group_wait: 999999999d}\n")
    assert main(["check-config", "-c", str(path)]) == 2


# 2. A source that run would refuse to build is refused by check-config too


MASTODON_BARE = "sources:\n  - {type: mastodon, name: masto, base_url: 'https://m.example'}\n"


def test_a_mastodon_source_with_nothing_to_follow_is_refused_at_load(tmp_path: Path) -> None:
    message = refusal(tmp_path, "", sources=MASTODON_BARE)
    assert "line 4: sources[0]: nothing to follow" in message


def test_check_config_refuses_a_mastodon_source_with_nothing_to_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(write(tmp_path, BRAND + MASTODON_BARE))]) == 2
    assert "nothing to follow" in ANSI.sub("", capsys.readouterr().err)


@pytest.mark.parametrize(
    ("brands", "source"),
    [
        ("brands:\n  - {name: Kestrel, hashtags: [kestreldown]}\n", ""),
        (BRAND, ", hashtags: [kestrel]"),
        (BRAND, ", search: [kestrel]"),
        (BRAND, ", public: local"),
        (BRAND, ", access_token: t"),  # searches the brands' names
    ],
)
def test_a_mastodon_source_with_something_to_follow_loads(
    tmp_path: Path, brands: str, source: str
) -> None:
    sources = f"sources:\n  - {{type: mastodon, name: m, base_url: 'https://m.example'{source}}}\n"
    assert load(tmp_path, "", brands=brands, sources=sources).sources[0].type == "mastodon"


LONG_EXCLUDES = ", ".join(f"kestrel falcon sighting number {n}" for n in range(20))
X_SOURCE = "sources:\n  - {type: x, name: x, bearer_token: AAAA}\n"


def test_an_x_source_whose_brand_cannot_make_a_rule_is_refused_at_load(tmp_path: Path) -> None:
    brands = f"brands:\n  - name: Kestrel\n    exclude: [{LONG_EXCLUDES}]\n"
    message = refusal(tmp_path, "", brands=brands, sources=X_SOURCE)
    assert "line 5: sources[0]: brand 'Kestrel' gives a rule longer than 512" in message
    path = write(tmp_path, brands + X_SOURCE)
    assert main(["check-config", "-c", str(path)]) == 2


def test_an_x_source_with_its_own_rules_needs_no_rule_from_the_brands(tmp_path: Path) -> None:
    brands = f"brands:\n  - name: Kestrel\n    exclude: [{LONG_EXCLUDES}]\n"
    sources = "sources:\n  - {type: x, name: x, bearer_token: AAAA, rules: [kestrel]}\n"
    assert load(tmp_path, "", brands=brands, sources=sources).sources[0].type == "x"


@pytest.mark.parametrize("excluded", [5, 19, 20, 21, 40])
def test_the_config_check_of_x_rules_agrees_with_the_rules_built(excluded: int) -> None:
    """bot/config/source_x.py checks what bot/sources/x_wire.py builds: they must agree."""
    brand = Brand(
        "Kestrel Mobile",
        "kestrel",
        keywords=("kestrel", 'say "hi"'),
        hashtags=("#kestreldown",),
        exclude=tuple(f"kestrel falcon sighting number {n}" for n in range(excluded)),
        languages=("en", "fr"),
    )
    try:
        built = max(len(rule) for rule in brand_rules(brand))
    except ValueError:
        built = MAX_RULE + 1
    found = too_long_rule(brand.terms, brand.exclude, brand.languages)
    assert bool(found) == (built > MAX_RULE)


# 3. A key written twice in one flow mapping


@pytest.mark.parametrize(
    "text",
    [
        "http: {port: 8080, port: 9090}\n",
        "a:\n  - {k: 1, k: 2}\n",
        "b: &b {x: 1}\nc: {<<: *b, y: 1, y: 2}\n",
    ],
)
def test_a_key_written_twice_in_a_flow_mapping_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="duplicate key"):
        load_yaml(text, "app.yaml", {})


def test_a_merge_may_still_be_overridden() -> None:
    text = "b: &b {x: 1, y: 2}\nm: &m {<<: *b, y: 3}\nt: {<<: [*m, *b], x: 9}\n"
    assert load_yaml(text, "app.yaml", {}).data["t"] == {"x": 9, "y": 3}


# 4. Playbook languages read as the brands' are


def test_playbook_language_codes_are_read_as_two_letter_codes(tmp_path: Path) -> None:
    brands = (
        "brands:\n  - name: Kestrel\n    languages: [fra, eng]\n    playbook:\n"
        "      default_language: fra\n"
        "      sign_off: {fra: '- L equipe', en-GB: '- The team'}\n"
        "      statement: {fr-FR: 'Nous savons. [{sign_off}]'}\n"
        "      templates:\n"
        "        outage: {FR: {informative: '{greeting} Nous regardons. [{sign_off}]'}}\n"
    )
    playbook = load(tmp_path, "", brands=brands).brands[0].playbook
    assert playbook.default_language == "fr"
    assert (playbook.sign_off_in("fr"), playbook.sign_off_in("en")) == ("- L equipe", "- The team")
    assert list(playbook.statement) == ["fr"]
    assert list(playbook.templates["outage"]) == ["fr"]


def test_two_playbook_keys_for_one_language_are_refused(tmp_path: Path) -> None:
    brands = "brands:\n  - name: Kestrel\n    playbook: {sign_off: {fr: a, fra: b}}\n"
    assert "'fr' and 'fra' are both the language 'fr'" in refusal(tmp_path, "", brands=brands)


# 5. No secret in an error


@pytest.mark.parametrize(
    ("brands", "sources", "extra"),
    [
        (
            BRAND,
            "sources:\n  - {type: rss, name: r, feeds: ['htps://ana:hunter2@feeds.example/x?token=s3cret']}\n",
            "",
        ),
        (
            BRAND,
            REPLAY,
            "replies:\n  generator:\n    url: 'ftp://ana:hunter2@llm.example/?token=s3cret'\n"
            "    model: m\n",
        ),
        (
            BRAND,
            "sources:\n  - {type: mastodon, name: m, base_url: 'htps://ana:hunter2@m.example/?token=s3cret'}\n",
            "",
        ),
        (
            BRAND,
            "sources:\n  - {type: x, name: x, bearer_token: t, api_url: 'ftp://ana:hunter2@x.example/?token=s3cret'}\n",
            "",
        ),
    ],
)
def test_a_url_refused_is_shown_without_its_secrets(
    tmp_path: Path, brands: str, sources: str, extra: str
) -> None:
    message = refusal(tmp_path, extra, brands=brands, sources=sources)
    assert "is not an http(s) address" in message
    assert "hunter2" not in message
    assert "s3cret" not in message


def test_a_value_that_is_no_url_at_all_is_not_shown(tmp_path: Path) -> None:
    sources = "sources:\n  - {type: rss, name: r, feeds: ['sk-live-hunter2']}\n"
    message = refusal(tmp_path, "", sources=sources)
    assert "not an http(s) address" in message
    assert "hunter2" not in message


# 6. A key misindented under a step is named where it is


def test_a_key_misindented_under_escalate_is_named_where_it_is(tmp_path: Path) -> None:
    extra = (
        "incidents:\n  levels:\n    - name: alert\n      min_risk: 45\n      steps:\n"
        "        - escalate:\n          only_if_rising: true\n"
        "    - name: crisis\n      min_risk: 60\n"
    )
    message = refusal(tmp_path, extra)
    assert "line 11: incidents.levels[0].steps[0].only_if_rising:" in message
    assert "escalate.only_if_rising" not in message
    assert "indent it under escalate:" in message


def test_an_error_under_a_step_keeps_its_path(tmp_path: Path) -> None:
    extra = (
        "incidents:\n  levels:\n    - name: alert\n      min_risk: 45\n"
        "      steps: [{escalate: {to: crisis, bogus: 1}}, {wait: 1y}]\n"
        "    - name: crisis\n      min_risk: 60\n"
    )
    message = refusal(tmp_path, extra)
    assert "incidents.levels[0].steps[0].escalate.bogus: unknown setting" in message
    assert "incidents.levels[0].steps[1].wait: '1y' is not a duration" in message


# An empty host would listen on every interface


@pytest.mark.parametrize("host", ["''", "' '"])
def test_an_empty_http_host_is_refused(tmp_path: Path, host: str) -> None:
    assert "line 5: http.host: host is empty" in refusal(tmp_path, f"http: {{host: {host}}}\n")
