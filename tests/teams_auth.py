"""Offline Bot Framework authentication for tests: an OpenID metadata + JWKS server, signed
channel tokens (good and bad ones), and a static outbound credential.

Test support code, not a test module. How it plugs into botbuilder without any test hook in
production code (checked against botbuilder 4.17.1 by tests/test_teams_fake.py):

- ``ConfigurationBotFrameworkAuthentication(config)`` switches to its "parameterized" path as
  soon as ``config`` has any of ``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``,
  ``TO_BOT_FROM_CHANNEL_TOKEN_ISSUER``, ``TO_CHANNEL_FROM_BOT_OAUTH_SCOPE``, … set. Production
  sets all of them to the public-cloud values (:data:`PUBLIC_CLOUD`); tests change only the two
  metadata URLs to :attr:`OpenIdServer.metadata_url` (:func:`auth_config`).
- Outbound calls need a token from login.microsoftonline.com; tests pass
  ``credentials_factory=StaticCredentialsFactory()`` to the same constructor, so every call to
  the fake connector carries ``Authorization: Bearer <STATIC_TOKEN>``
  (``ExpiredSecretFactory()``: the token is refused, as for an expired client secret).

botbuilder fetches the metadata and keys with blocking ``requests.get`` inside async code, so
the server runs its own event loop in a thread: served from the test's loop it would deadlock.
botbuilder caches keys per metadata URL for a day in a class attribute
(``JwtTokenExtractor.metadataCache``), so each server's URL has a random path: a new server
(new key) is never answered from the cache of an old one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from types import SimpleNamespace
from typing import Any, Self

import jwt
from aiohttp import web
from botframework.connector.auth import (  # type: ignore[import-untyped]
    AppCredentials,
    ServiceClientCredentialsFactory,
)
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"  # AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
STATIC_TOKEN = "fake-outbound-token"
# The public-cloud values of the parameterized settings, as botbuilder's own constants have them
# (AuthenticationConstants, CallerIdConstants.public_azure_channel).
PUBLIC_CLOUD = {
    "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER,
    "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": (
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    ),
    "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": (
        "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
    ),
    "TO_CHANNEL_FROM_BOT_LOGIN_URL": "https://login.microsoftonline.com/botframework.com",
    "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": "https://api.botframework.com",
    "OAUTH_URL": "https://api.botframework.com",
    "CALLER_ID": "urn:botframework:azure",
    "VALIDATE_AUTHORITY": True,
}

Key = rsa.RSAPrivateKey


def new_key() -> Key:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: Key, kid: str, endorsements: tuple[str, ...] = ("msteams",)) -> dict[str, Any]:
    """The public half of ``key`` as the Bot Framework publishes it (with endorsements)."""
    public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "endorsements": list(endorsements)}


class OpenIdServer:
    """``GET …/openidconfiguration`` (with ``issuer`` and ``jwks_uri``) and ``GET …/keys``, on
    127.0.0.1 in a thread. ``with OpenIdServer() as openid:`` (also inside async tests)."""

    def __init__(self, key: Key | None = None, kid: str | None = None) -> None:
        self.key = key or new_key()
        self.kid = kid or uuid.uuid4().hex
        self.keys = [jwk(self.key, self.kid)]
        self.requests: list[str] = []  # paths served, for "was it asked" assertions
        self.url = ""
        self._prefix = f"/{uuid.uuid4().hex}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def metadata_url(self) -> str:
        return f"{self.url}{self._prefix[1:]}/v1/.well-known/openidconfiguration"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}{self._prefix[1:]}/keys"

    def __enter__(self) -> Self:
        ready = threading.Event()
        failed: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failed), name="openid", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or failed:
            raise RuntimeError(f"OpenID server did not start: {failed}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), loop).result(10)
            thread.join(10)

    def _serve(self, ready: threading.Event, failed: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._start())
        except BaseException as error:  # reported to the starting thread
            failed.append(error)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get(f"{self._prefix}/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get(f"{self._prefix}/keys", self._keys)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        asyncio.get_running_loop().call_soon(asyncio.get_running_loop().stop)

    async def _metadata(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.example/v1/.well-known/authorize",
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response({"keys": self.keys})


# --- tokens ----------------------------------------------------------------------------------


def sign(
    key: Key,
    kid: str,
    *,
    app_id: str,
    service_url: str,
    issuer: str = ISSUER,
    lifetime: int = 3600,
    issued: float | None = None,
    **claims: Any,
) -> str:
    """A channel-to-bot token as the Bot Framework signs it (RS256, ``kid`` header)."""
    now = int(time.time() if issued is None else issued)
    payload = {
        "iss": issuer,
        "aud": app_id,
        "serviceurl": service_url,
        "nbf": now - 5,
        "iat": now - 5,
        "exp": now + lifetime,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def unsigned(kid: str, *, app_id: str, service_url: str) -> str:
    """The same claims with ``alg: none`` and no signature."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    claims = {"iss": ISSUER, "aud": app_id, "serviceurl": service_url, "nbf": now, "exp": now + 600}
    return f"{part(header)}.{part(claims)}."


def bad_tokens(server: OpenIdServer, *, app_id: str, service_url: str) -> dict[str, str]:
    """Tokens botbuilder must refuse, by what is wrong with them."""
    key, kid, intruder = server.key, server.kid, new_key()
    evil = "https://evil.example/"
    return {
        "wrong audience": sign(key, kid, app_id="someone-else", service_url=service_url),
        "wrong issuer": sign(key, kid, app_id=app_id, service_url=service_url, issuer=evil),
        "wrong service url": sign(key, kid, app_id=app_id, service_url=evil),
        "expired": sign(
            key, kid, app_id=app_id, service_url=service_url, issued=time.time() - 7200
        ),
        "unsigned (alg none)": unsigned(kid, app_id=app_id, service_url=service_url),
        "signed with another key": sign(intruder, kid, app_id=app_id, service_url=service_url),
        "unknown key id": sign(intruder, "unpublished", app_id=app_id, service_url=service_url),
    }


def bearer(token: str) -> str:
    return f"Bearer {token}"


# --- configuration ---------------------------------------------------------------------------


def auth_config(app_id: str, metadata_url: str, password: str = "app-password") -> SimpleNamespace:
    """The configuration object ``ConfigurationBotFrameworkAuthentication`` reads, with the
    public-cloud settings except the OpenID metadata URLs (channel and emulator)."""
    return SimpleNamespace(
        APP_ID=app_id,
        APP_PASSWORD=password,
        APP_TYPE="MultiTenant",
        **{
            **PUBLIC_CLOUD,
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": metadata_url,
            "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": metadata_url,
        },
    )


class StaticCredentials(AppCredentials):  # type: ignore[misc]
    """Outbound credentials that never ask login.microsoftonline.com for a token."""

    def __init__(self, app_id: str, token: str = STATIC_TOKEN) -> None:
        super().__init__(app_id=app_id)
        self.token = token

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self.token


class StaticCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """Pass as ``credentials_factory=`` to ``ConfigurationBotFrameworkAuthentication``."""

    def __init__(self, app_id: str, token: str = STATIC_TOKEN) -> None:
        self.app_id = app_id
        self.token = token

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return False

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> StaticCredentials:
        return StaticCredentials(app_id, self.token)


EXPIRED_SECRET = (
    "Failed to get access token with error: invalid_client, error_description: AADSTS7000222: "
    "The provided client secret keys for app '00000000-0000-0000-0000-00000000b07a' are expired."
)


class ExpiredSecret(StaticCredentials):
    """What botbuilder's MicrosoftAppCredentials raises when Microsoft Entra refuses the app's
    expired client secret."""

    def get_access_token(self, force_refresh: bool = False) -> str:
        raise PermissionError(EXPIRED_SECRET)


class ExpiredSecretFactory(StaticCredentialsFactory):
    """``credentials_factory=`` for a bot whose client secret has expired."""

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> ExpiredSecret:
        return ExpiredSecret(app_id)
