"""Settings of the ``x`` source (see bot/sources/x.py): X API v2 filtered stream, paid access."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bot.config.numbers import Integer, Number
from bot.config.source_urls import checked_host, not_http

_NAME = r"^[a-z0-9][a-z0-9_-]*$"
_HTTP_URL = r"^https?://[^\s/]+(/[^\s]*)?$"
MAX_RULE = 512
"""Characters in one filtered-stream rule that every access tier accepts (some allow more)."""
_WORD = re.compile(r"^\w+$")


class XSourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["x"]
    name: str = Field(pattern=_NAME, description="Unique source name, stored with each mention.")
    bearer_token: SecretStr = Field(
        description="App-only bearer token of an X developer App whose project has "
        "filtered-stream access (Pro or Enterprise when written); use ${X_BEARER_TOKEN}."
    )
    api_url: str = Field("https://api.x.com", description="X API root (a test fake in tests).")
    rules: list[str] | None = Field(
        None,
        description="Filtered-stream rule values, each at most 512 characters; default: built "
        "from the brands' names, keywords, handles and hashtags, without retweets, in their "
        "languages.",
    )
    idle_seconds: Number = Field(
        60.0,
        gt=0,
        description="Reconnect when the stream sent nothing, not even its keep-alive newline "
        "(every ~20s), for this long.",
    )
    max_backoff: Number = Field(300.0, ge=1, description="Longest wait between reconnections.")
    backfill_minutes: Integer = Field(
        0,
        ge=0,
        le=5,
        description="On reconnecting, ask X for up to this many minutes missed (0-5; the "
        "stream's backfill_minutes, Academic/Enterprise access only).",
    )

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(_HTTP_URL, url.strip()):
            raise ValueError(not_http(url, "https://api.x.com"))
        return checked_host(url.strip().rstrip("/"))

    @field_validator("bearer_token")
    @classmethod
    def _token(cls, token: SecretStr) -> SecretStr:
        if not token.get_secret_value().strip():
            raise ValueError("bearer_token is empty; set it to ${X_BEARER_TOKEN}")
        return SecretStr(token.get_secret_value().strip())

    @field_validator("rules")
    @classmethod
    def _rules(cls, rules: list[str] | None) -> list[str] | None:
        if rules is None:
            return None
        cleaned = [rule.strip() for rule in rules]
        if not cleaned or any(not rule for rule in cleaned):
            raise ValueError("rules must not be empty (leave rules out to build them from brands)")
        too_long = [rule for rule in cleaned if len(rule) > MAX_RULE]
        if too_long:
            raise ValueError(f"a rule is longer than {MAX_RULE} characters: {too_long[0][:60]}...")
        return list(dict.fromkeys(cleaned))


def rule_term(term: str) -> str:
    """A term as a filtered-stream rule writes it: ``#tag`` and ``@handle`` as they are, a word
    in lower case, anything else a quoted phrase (bot/sources/x_wire.py builds rules so)."""
    term = term.strip()
    if term[:1] in "#@" and _WORD.match(term[1:]):
        return term
    if _WORD.match(term):
        return term.lower()
    return '"' + term.lower().replace("\\", " ").replace('"', " ") + '"'


def rule_tail(exclude: Iterable[str], languages: Iterable[str]) -> list[str]:
    """What follows the terms in every rule of a brand: its exclusions, no retweets, its
    languages."""
    excludes = [f"-{rule_term(t)}" for t in dict.fromkeys(exclude) if t.strip()]
    codes = [f"lang:{code}" for code in dict.fromkeys(languages) if _WORD.match(code)]
    tail = [*excludes, "-is:retweet"]
    if codes:
        tail.append(codes[0] if len(codes) == 1 else f"({' OR '.join(codes)})")
    return tail


def too_long_rule(terms: Iterable[str], exclude: Iterable[str], languages: Iterable[str]) -> str:
    """A rule built from the brand longer than :data:`MAX_RULE` even with one term alone ("":
    none). Terms are grouped into rules under the limit, so only a term that cannot fit alone
    beside the brand's exclusions and languages makes the brand unusable without ``rules``."""
    suffix = " " + " ".join(rule_tail(exclude, languages))
    alone = (rule_term(term) + suffix for term in terms if term.strip())
    return next((rule for rule in alone if len(rule) > MAX_RULE), "")
