"""A brand's reply playbook (``brands[].playbook``) and the optional reply generator's settings.

Reply drafts are filled in from templates (``bot/drafts/templates.py``): ``{name}`` is a
placeholder, ``[...]`` an optional segment, left out when a placeholder inside it is empty and
the first thing dropped when the reply is too long. Placeholders in replies: {greeting} ("Hi
@ana,"; greeting words in en, fr, de, es, it, nl and pt, the handle alone in other languages),
{author} ("@ana"; empty when the author has no handle), {brand}, {order} ("order A1234"),
{flight}, {product}, {contact}, {status_page}, {sign_off}; in the holding statement: {brand},
{issue} (en and fr: "reports of delays"), {contact}, {status_page}, {sign_off}. {author},
{order}, {flight}, {product} and {sign_off} must be inside [...]; so must {contact} and
{status_page} when the playbook leaves them empty, and {greeting} in a language without
greeting words.
"""

from __future__ import annotations

import re
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.config.languages import language_code
from bot.config.numbers import Integer, Number
from bot.config.source_urls import not_http
from bot.drafts.templates import (
    DEFAULTS,
    ISSUES,
    OPTIONAL_PLACEHOLDERS,
    REPLY_PLACEHOLDERS,
    STATEMENT_PLACEHOLDERS,
    VARIANTS,
    TemplateError,
    empty_in,
    validate,
)
from bot.drafts.themes import THEMES

_T = TypeVar("_T")


class _Settings(BaseModel):
    # as bot.config.schema.Settings, which imports this module
    model_config = ConfigDict(extra="forbid", frozen=True)


def _by_language(texts: dict[str, _T], where: str) -> dict[str, _T]:
    """``texts`` keyed by two-letter codes as the brands' languages are ('fra' reads 'fr'); two
    keys meaning one language cannot both be used."""
    read: dict[str, _T] = {}
    written: dict[str, str] = {}
    for code, text in texts.items():
        short = language_code(code)
        if short in read:
            raise ValueError(
                f"{where}: {written[short]!r} and {code!r} are both the language {short!r}; "
                "keep one"
            )
        read[short], written[short] = text, code
    return read


class Playbook(_Settings):
    """How a brand replies: tone, signature, where to send people, what never to say.

    Built-in templates exist in English and French for every theme; ``templates`` and
    ``statement`` replace them or add languages. See the module docstring for the syntax.
    """

    tone: Literal["warm", "formal"] = Field(
        "warm", description="warm ('Hi @ana, we're…') or formal ('Hello @ana, we are…')."
    )
    sign_off: str | dict[str, str] = Field(
        "",
        description="Signature line for every language, or one per language (none in the "
        "others): {en: '- Ana', fr: '- Ana'}.",
    )
    contact: str = Field(
        "", description="Where to take a conversation private: an e-mail address or help URL."
    )
    status_page: str | None = Field(None, description="Status page URL, for outage replies.")
    products: list[str] = Field(
        default_factory=list, description="Product names to recognise and name in replies."
    )
    banned_phrases: list[str] = Field(
        default_factory=list, description="Phrases no draft may contain, besides the built-in."
    )
    templates: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict,
        description="Reply templates replacing the defaults: {theme: {language: {variant: text}}}.",
    )
    statement: dict[str, str] = Field(
        default_factory=dict, description="Holding statement templates: {language: text}."
    )
    default_language: str = Field(
        "en", description="Language of the drafts when the mention's has no template."
    )

    @field_validator("default_language")
    @classmethod
    def _default_language(cls, code: str) -> str:
        return language_code(code)

    @field_validator("sign_off")
    @classmethod
    def _sign_off(cls, sign_off: str | dict[str, str]) -> str | dict[str, str]:
        if isinstance(sign_off, dict):
            return {code: text.strip() for code, text in _by_language(sign_off, "sign_off").items()}
        return sign_off.strip()

    @field_validator("statement")
    @classmethod
    def _statement(cls, statement: dict[str, str]) -> dict[str, str]:
        return _by_language(statement, "statement")

    @field_validator("templates")
    @classmethod
    def _templates(
        cls, templates: dict[str, dict[str, dict[str, str]]]
    ) -> dict[str, dict[str, dict[str, str]]]:
        return {
            theme: _by_language(languages, f"templates.{theme}")
            for theme, languages in templates.items()
        }

    @field_validator("products", "banned_phrases")
    @classmethod
    def _no_blank(cls, phrases: list[str]) -> list[str]:
        if any(not phrase.strip() for phrase in phrases):
            raise ValueError("phrases must not be empty")
        return [phrase.strip() for phrase in phrases]

    @model_validator(mode="after")
    def _templates_known(self) -> Playbook:
        may_be_empty = set(OPTIONAL_PLACEHOLDERS)
        if self.contact:
            may_be_empty.discard("contact")
        if self.status_page:
            may_be_empty.discard("status_page")
        for theme, languages in self.templates.items():
            if theme not in THEMES:
                raise ValueError(f"templates: unknown theme {theme!r}; known: {', '.join(THEMES)}")
            for language, variants in languages.items():
                for variant, template in variants.items():
                    where = f"templates.{theme}.{language}.{variant}"
                    if variant not in VARIANTS[theme]:
                        raise ValueError(
                            f"{where}: unknown variant {variant!r} for {theme}; known: "
                            + ", ".join(VARIANTS[theme])
                        )
                    empty = may_be_empty | empty_in(language)
                    _check(where, template, REPLY_PLACEHOLDERS, empty)
        for language, template in self.statement.items():
            allowed: tuple[str, ...] = STATEMENT_PLACEHOLDERS
            if language not in ISSUES:
                allowed = tuple(name for name in allowed if name != "issue")
            _check(f"statement.{language}", template, allowed, may_be_empty)
        return self

    def languages(self, theme: str) -> set[str]:
        """The languages ``theme`` has templates in, built-in or configured."""
        return {code for code, themes in DEFAULTS.items() if theme in themes} | set(
            self.templates.get(theme, {})
        )

    def sign_off_in(self, language: str) -> str:
        """One line is a name ("- Ana") signed in every language; a line per language leaves
        the languages it does not name unsigned, rather than sign them in another."""
        if isinstance(self.sign_off, str):
            return self.sign_off
        return self.sign_off.get(language, "")


def _check(where: str, template: str, allowed: tuple[str, ...], may_be_empty: set[str]) -> None:
    if not template.strip():
        raise ValueError(f"{where}: the template is empty")
    try:
        validate(template, allowed, may_be_empty)
    except TemplateError as error:
        raise ValueError(f"{where}: {error}") from None


class ReplyGeneratorSettings(_Settings):
    """An OpenAI-compatible chat-completions server that proposes extra drafts; off by default."""

    url: str | None = Field(
        None, description="Base URL such as http://127.0.0.1:8000/v1; none: no generated drafts."
    )
    model: str = Field("", description="Model name the server knows.")
    api_key: SecretStr | None = Field(None, description="Bearer token; use ${LLM_API_KEY}.")
    timeout_seconds: Number = Field(20, gt=0, le=300, description="Longest wait for an answer.")
    max_variants: Integer = Field(2, ge=1, le=5, description="Drafts asked for per mention.")
    temperature: Number = Field(0.7, ge=0, le=2, description="Sampling temperature.")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not url.strip():
            return None  # ${LLM_URL:-} left empty: off
        if url is not None and not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(not_http(url, "http://127.0.0.1:8000/v1"))
        return url.rstrip("/") if url is not None else None

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, key: SecretStr | None) -> SecretStr | None:
        return key if key is not None and key.get_secret_value() else None

    @model_validator(mode="after")
    def _model_named(self) -> ReplyGeneratorSettings:
        if self.url is not None and not self.model.strip():
            raise ValueError("generator.model is needed when generator.url is set")
        return self

    @property
    def enabled(self) -> bool:
        return self.url is not None
