"""app.yaml: loading, ${VAR} substitution, validation messages that name the key and the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, ReplaySourceSettings, default_config_path, load_config
from bot.config.loader import load_yaml, substitute

# The product owner's configuration, exactly as given.
OWNER_CONFIG = """\
storage: {path: vigie.db}
http: {port: 8080}
brands:
  - name: United
    keywords: [united airlines, united]
    handles: ["@united"]
    hashtags: ["#unitedairlines"]
    exclude: [manchester united]
    languages: [en, fr]
sources:
  - type: replay
    name: airline
    path: Tweets.csv
    format: csv
    speed: 0
    columns: {id: tweet_id, text: text, created_at: tweet_created, author: name, reposts: retweet_count}
"""  # noqa: E501

WEBHOOK_CONFIG = """\
brands:
  - name: Kestrel
sources:
  - type: webhook
    name: hook
    secret: SECRET_VALUE
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def write(folder: Path, text: str, name: str = "app.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    # the columns OWNER_CONFIG maps: check-config reads the header
    header = "tweet_id,text,tweet_created,name,retweet_count\n"
    (folder / "Tweets.csv").write_text(header, encoding="utf-8")
    return path


def owner_config_with(old: str, new: str) -> str:
    assert old in OWNER_CONFIG, old
    return OWNER_CONFIG.replace(old, new, 1)


def line_number(text: str, fragment: str) -> int:
    """1-based number of the only line holding ``fragment``."""
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(numbers) == 1, (fragment, numbers)
    return numbers[0]


def config_error(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return str(caught.value)


def flat(text: str) -> str:
    """Console output without colour codes and with wrapped lines joined."""
    return " ".join(ANSI.sub("", text).split())


# The owner's configuration


def test_owner_config_loads_as_is(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, OWNER_CONFIG), environ={})

    [brand] = config.brands
    assert brand.name == "United"
    assert brand.brand_slug == "united"
    assert brand.keywords == ["united airlines", "united"]
    assert brand.handles == ["@united"]
    assert brand.hashtags == ["#unitedairlines"]
    assert brand.exclude == ["manchester united"]
    assert brand.languages == ["en", "fr"]

    [source] = config.sources
    assert isinstance(source, ReplaySourceSettings)
    assert source.name == "airline"
    assert source.file_format == "csv"
    assert source.speed == 0
    assert source.columns == {
        "id": "tweet_id",
        "text": "text",
        "created_at": "tweet_created",
        "author": "name",
        "reposts": "retweet_count",
    }


def test_owner_config_fills_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, OWNER_CONFIG), environ={})

    assert config.http.port == 8080
    assert config.http.host == "127.0.0.1"
    assert config.http.enabled is True
    assert config.pipeline.queue_size == 10_000
    assert config.storage.batch_size == 500
    assert config.console.show == "negative"
    assert config.logging.level == "INFO"
    assert config.clock == "auto"
    [source] = config.sources
    assert isinstance(source, ReplaySourceSettings)
    assert source.encoding == "utf-8-sig"
    assert source.rebase_time is False


def test_relative_paths_are_read_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = write(folder, OWNER_CONFIG)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    config = load_config(Path("..") / "conf" / "app.yaml", environ={})

    assert config.storage.path == path.parent.resolve() / "vigie.db"
    assert config.storage.path.is_absolute()
    [source] = config.sources
    assert source.path == path.parent.resolve() / "Tweets.csv"


def test_replay_file_only_in_working_folder_is_found_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "app.yaml"
    path.write_text(OWNER_CONFIG.replace("path: Tweets.csv", "path: data.csv"), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "data.csv").write_text("tweet_id,text\n", encoding="utf-8")
    monkeypatch.chdir(work)

    config = load_config(path, environ={})

    [source] = config.sources
    assert source.path == work.resolve() / "data.csv"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    database = tmp_path / "db" / "store.db"
    text = owner_config_with("{path: vigie.db}", "{path: " + str(database) + "}")
    config = load_config(write(tmp_path, text), environ={})
    assert config.storage.path == database


def test_hashtags_and_handles_get_their_prefix(tmp_path: Path) -> None:
    text = OWNER_CONFIG.replace('["@united"]', '[united, " @UnitedHelp ", "@"]').replace(
        '["#unitedairlines"]', "[unitedairlines, '#flyunited', '#']"
    )
    config = load_config(write(tmp_path, text), environ={})
    [brand] = config.brands
    assert brand.handles == ["@united", "@UnitedHelp"]
    assert brand.hashtags == ["#unitedairlines", "#flyunited"]


def test_brand_slug_from_accented_name_and_explicit_slug(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace(
        "  - name: Kestrel\n",
        "  - name: Crème Brûlée & Co\n  - name: Other\n    slug: other-brand\n",
    ).replace("SECRET_VALUE", "0123456789abcdef")
    config = load_config(write(tmp_path, text), environ={})
    assert [brand.brand_slug for brand in config.brands] == ["creme-brulee-co", "other-brand"]


def test_owner_config_passes_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, OWNER_CONFIG)

    assert main(["check-config", "-c", str(path)]) == 0

    out = flat(capsys.readouterr().out)
    assert "ok" in out
    assert "1 brand(s), 1 source(s)" in out
    assert "United (united)" in out
    assert "source airline: replay" in out


# ${VAR} substitution


def test_variables_are_substituted(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "${HOOK_SECRET}") + "http:\n  port: ${PORT}\n"
    config = load_config(
        write(tmp_path, text), environ={"HOOK_SECRET": "s3cret-0123456789", "PORT": "9000"}
    )
    assert config.sources[0].secret.get_secret_value() == "s3cret-0123456789"  # type: ignore[union-attr]
    assert config.http.port == 9000


def test_default_used_when_variable_unset_or_empty(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "${HOOK_SECRET:-fallback-secret-0123}")
    text += "http: {port: '${PORT:-8081}'}\n"
    path = write(tmp_path, text)

    unset = load_config(path, environ={})
    empty = load_config(path, environ={"HOOK_SECRET": "", "PORT": ""})
    given = load_config(path, environ={"HOOK_SECRET": "from-environment-42", "PORT": "81"})

    for config in (unset, empty):
        assert config.sources[0].secret.get_secret_value() == "fallback-secret-0123"  # type: ignore[union-attr]
        assert config.http.port == 8081
    assert given.sources[0].secret.get_secret_value() == "from-environment-42"  # type: ignore[union-attr]
    assert given.http.port == 81


def test_several_variables_in_one_value(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "${A}-${B:-bee}-${C:-}-0123456789abcdef")
    config = load_config(write(tmp_path, text), environ={"A": "ay"})
    assert config.sources[0].secret.get_secret_value() == "ay-bee--0123456789abcdef"  # type: ignore[union-attr]


def test_double_dollar_stays_literal(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "'$${HOOK_SECRET}-literal-text'")
    config = load_config(write(tmp_path, text), environ={"HOOK_SECRET": "must-not-appear"})
    assert config.sources[0].secret.get_secret_value() == "${HOOK_SECRET}-literal-text"  # type: ignore[union-attr]


def test_substituted_values_cannot_inject_yaml(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("name: Kestrel", "name: ${BRAND}\n    keywords: ['${WORD}']")
    text = text.replace("SECRET_VALUE", "${SECRET}")
    environ = {"BRAND": "evil: {x: 1}", "WORD": "a, b", "SECRET": "[1, 2]\nmore: 0123456789"}
    config = load_config(write(tmp_path, text), environ=environ)
    [brand] = config.brands
    assert brand.name == "evil: {x: 1}"
    assert brand.keywords == ["a, b"]
    assert config.sources[0].secret.get_secret_value() == "[1, 2]\nmore: 0123456789"  # type: ignore[union-attr]


def test_process_environment_used_when_no_environ_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_TEST_HOOK_SECRET", "from-os-environ-0123")
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "${VIGIE_TEST_HOOK_SECRET}")
    config = load_config(write(tmp_path, text))
    assert config.sources[0].secret.get_secret_value() == "from-os-environ-0123"  # type: ignore[union-attr]


def test_missing_variable_names_variable_and_line(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "${HOOK_SECRET}")
    path = write(tmp_path, text)

    message = config_error(path, environ={"OTHER": "x"})

    assert "HOOK_SECRET" in message
    assert f"line {line_number(text, 'HOOK_SECRET')}" in message
    assert str(path) in message


def test_secret_is_not_shown_in_the_config_repr(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "${HOOK_SECRET}")
    config = load_config(write(tmp_path, text), environ={"HOOK_SECRET": "top-secret-value-42"})
    assert "top-secret-value-42" not in repr(config)
    assert "top-secret-value-42" not in str(config.model_dump())


def test_substitute_directly() -> None:
    environ = {"NAME": "vigie"}
    assert substitute("${NAME}/${MISSING:-dflt}/$${NAME}", environ, 1) == "vigie/dflt/${NAME}"
    assert substitute("no variables, $ alone, {braces}", environ, 1) == (
        "no variables, $ alone, {braces}"
    )
    with pytest.raises(ConfigError, match=r"line 7: .*MISSING is not set"):
        substitute("${MISSING}", environ, 7)


def test_an_empty_variable_is_called_empty_not_unset() -> None:
    """`VIGIE_WEBHOOK_SECRET= python -m bot run`: the variable is set, to nothing."""
    with pytest.raises(ConfigError, match=r"line 3: environment variable SECRET is empty"):
        substitute("${SECRET}", {"SECRET": ""}, 3)


def test_load_yaml_records_lines_of_keys_and_items() -> None:
    loaded = load_yaml("a: 1\nb:\n  - x\n  - y: 2\n", "inline", {})
    assert loaded.data == {"a": 1, "b": ["x", {"y": 2}]}
    assert loaded.line_of(("a",)) == 1
    assert loaded.line_of(("b", 1, "y")) == 4
    # A path deeper than the file falls back to the deepest part that exists.
    assert loaded.line_of(("b", 0, "missing")) == 3


def test_load_yaml_does_not_substitute_in_comments() -> None:
    loaded = load_yaml("# uses ${NOT_SET}\na: ${SET}\n", "inline", {"SET": "yes"})
    assert loaded.data == {"a": "yes"}


# Validation: errors name the key and the line


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment", "words"),
    [
        pytest.param(
            "columns: {",
            "colums: {",
            "sources[0].colums",
            "colums",
            ["unknown setting"],
            id="misspelt-key",
        ),
        pytest.param(
            "languages: [en, fr]",
            "languages: [en, frnch]",
            "brands[0].languages",
            "languages",
            ["'frnch'", "language code"],
            id="bad-language",
        ),
        pytest.param(
            "speed: 0",
            "speed: -1",
            "sources[0].speed",
            "speed",
            ["greater than or equal to 0"],
            id="negative-speed",
        ),
        pytest.param(
            "type: replay",
            "type: telepathy",
            "sources[0]",
            "type: telepathy",
            ["'telepathy'", "replay", "webhook", "mastodon", "rss"],
            id="unknown-source-type",
        ),
        pytest.param(
            "http: {port: 8080}",
            "http: {port: 70000}",
            "http.port",
            "port",
            ["65535"],
            id="port-out-of-range",
        ),
        pytest.param(
            "    keywords: [united airlines, united]",
            "    keywords: [united airlines, '  ']",
            "brands[0].keywords",
            "keywords",
            ["empty"],
            id="blank-keyword",
        ),
        pytest.param(
            "    name: airline",
            "    name: Airline Tweets",
            "sources[0].name",
            "Airline Tweets",
            ["pattern"],
            id="bad-source-name",
        ),
        pytest.param(
            "    format: csv",
            "    format: xml",
            "sources[0].format",
            "format: xml",
            ["'csv'", "'jsonl'"],
            id="unknown-format",
        ),
    ],
)
def test_error_names_key_and_line(
    tmp_path: Path, old: str, new: str, key: str, fragment: str, words: list[str]
) -> None:
    text = owner_config_with(old, new)
    path = write(tmp_path, text)

    message = config_error(path)

    assert str(path) in message
    assert "1 problem" in message
    assert f"line {line_number(text, fragment)}: {key}:" in message
    for word in words:
        assert word in message


def test_every_problem_is_listed_in_line_order(tmp_path: Path) -> None:
    text = owner_config_with("speed: 0", "speed: -1").replace("[en, fr]", "[en, e1]")
    text = text.replace("http: {port: 8080}", "http: {port: -5}")
    message = config_error(write(tmp_path, text))
    assert "3 problems" in message
    lines = [int(n) for n in re.findall(r"line (\d+):", message)]
    assert lines == [2, 9, 15]


def test_replay_without_format_and_unknown_suffix(tmp_path: Path) -> None:
    text = owner_config_with("    format: csv\n", "").replace("Tweets.csv", "tweets.txt")
    message = config_error(write(tmp_path, text))
    assert "sources[0]" in message
    assert "format" in message


def test_replay_column_for_unknown_mention_field(tmp_path: Path) -> None:
    text = owner_config_with("reposts: retweet_count", "retweets: retweet_count")
    message = config_error(write(tmp_path, text))
    assert f"line {line_number(text, 'columns')}: sources[0].columns" in message
    assert "retweets" in message


def test_webhook_secret_shorter_than_16_characters(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "${HOOK_SECRET}")
    path = write(tmp_path, text)

    message = config_error(path, environ={"HOOK_SECRET": "fifteen-chars!!"})

    assert f"line {line_number(text, 'secret:')}: sources[0].secret:" in message
    assert "16 characters" in message
    assert "fifteen-chars!!" not in message
    # Exactly 16 characters is enough.
    config = load_config(path, environ={"HOOK_SECRET": "sixteen-chars!!!"})
    assert config.sources[0].secret.get_secret_value() == "sixteen-chars!!!"  # type: ignore[union-attr]


def test_webhook_without_secret(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("    secret: SECRET_VALUE\n", "")
    message = config_error(write(tmp_path, text))
    assert "sources[0].secret" in message
    assert "required" in message.lower()


DUPLICATE_BRANDS = """\
storage: {path: vigie.db}
brands:
  - name: United
  - name: Delta
  - name: UNITED
sources:
  - type: webhook
    name: hook
    secret: 0123456789abcdef
"""


def test_duplicate_brand_names_are_rejected(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, DUPLICATE_BRANDS))
    assert "brands[2].name: 'united' is already the name of brands[0]" in message
    assert "united" in message


def test_duplicate_brand_error_names_brands_key_and_line(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, DUPLICATE_BRANDS))
    assert "(top level)" not in message
    assert "brands" in message.replace("brand names", "")
    assert f"line {line_number(DUPLICATE_BRANDS, 'UNITED')}" in message


def test_duplicate_source_names_are_rejected(tmp_path: Path) -> None:
    text = WEBHOOK_CONFIG.replace("SECRET_VALUE", "0123456789abcdef")
    text += "  - type: webhook\n    name: hook\n    secret: fedcba9876543210\n"
    message = config_error(write(tmp_path, text))
    assert "sources[1].name: 'hook' is already the name of sources[0]" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("brands: []\nsources: []\n", "brands", id="empty-lists"),
        pytest.param("storage: {path: x.db}\n", "brands", id="no-brands"),
        pytest.param("", "top level must be a mapping", id="empty-file"),
        pytest.param("- brands\n- sources\n", "top level must be a mapping", id="a-list"),
    ],
)
def test_incomplete_configs(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in config_error(write(tmp_path, text))


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    text = "storage:\n  path: vigie.db\n\tbrands: []\n"
    message = config_error(write(tmp_path, text))
    assert "invalid YAML" in message
    assert "line 3, column 1" in message


def test_unclosed_bracket_names_line_and_column(tmp_path: Path) -> None:
    text = owner_config_with('handles: ["@united"]', 'handles: ["@united"')
    message = config_error(write(tmp_path, text))
    assert "invalid YAML" in message
    assert re.search(r"line \d+, column \d+", message)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    message = config_error(path)
    assert str(path) in message
    assert "no such configuration file" in message


# The command line


def test_check_config_bad_file_exits_2_with_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = owner_config_with("columns: {", "colums: {")
    path = write(tmp_path, text)

    assert main(["check-config", "-c", str(path)]) == 2

    captured = capsys.readouterr()
    err = flat(captured.err)
    assert "configuration error" in err
    assert f"line {line_number(text, 'colums')}: sources[0].colums" in err
    assert "ok" not in flat(captured.out).split()


def test_check_config_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(tmp_path / "absent.yaml")]) == 2
    assert "no such configuration file" in flat(capsys.readouterr().err)


def test_vigie_config_picks_the_file_without_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, OWNER_CONFIG, name="custom.yaml")
    monkeypatch.setenv("VIGIE_CONFIG", str(path))
    monkeypatch.chdir(tmp_path.parent)

    assert main(["check-config"]) == 0
    assert "custom.yaml" in flat(capsys.readouterr().out)


def test_c_wins_over_vigie_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, OWNER_CONFIG, name="good.yaml")
    bad = write(tmp_path, "brands: []\n", name="bad.yaml")
    monkeypatch.setenv("VIGIE_CONFIG", str(bad))

    assert main(["check-config", "-c", str(good)]) == 0
    assert "good.yaml" in flat(capsys.readouterr().out)


def test_default_config_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIE_CONFIG", raising=False)
    assert default_config_path() == Path("app.yaml")
    assert default_config_path("other.yaml") == Path("other.yaml")
    monkeypatch.setenv("VIGIE_CONFIG", "/etc/vigie/app.yaml")
    assert default_config_path() == Path("/etc/vigie/app.yaml")
    assert default_config_path("other.yaml") == Path("other.yaml")


def test_a_repeated_key_is_an_error_not_a_silent_override(tmp_path: Path) -> None:
    text = (
        "brands:\n  - name: United\nsources:\n  - {type: replay, name: a, path: x.csv}\n"
        "brands:\n  - name: Delta\n"
    )
    message = config_error(write(tmp_path, text))
    assert "line 5: duplicate key 'brands' (first on line 1)" in message


def test_brand_cues_must_name_known_groups(tmp_path: Path) -> None:
    text = (
        "brands:\n  - name: Kestrel\n    cues: {grumpy: [meh]}\n"
        "sources:\n  - {type: replay, name: a, path: x.csv}\n"
    )
    message = config_error(write(tmp_path, text))
    assert "line 3: brands[0].cues: unknown cue group(s) grumpy; known: waiting" in message
