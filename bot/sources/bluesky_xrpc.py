"""Calling XRPC methods, Bluesky's HTTP API: a failure keeps its HTTP status and error code.

A query is a GET with its parameters in the URL; a procedure a POST with a JSON body, or with
no body at all when the method takes no input (``com.atproto.server.refreshSession``: a PDS
refuses a body there). Errors answer ``{"error": "ExpiredToken", "message": "..."}``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.redact import redact_url
from bot.sources.polite import SourceError, describe, retry_after

_TIMEOUT = aiohttp.ClientTimeout(total=30)


class XrpcError(Exception):
    """An XRPC failure with its status and error code (``ExpiredToken``, ``RecordNotFound``)."""

    def __init__(
        self, message: str, status: int, code: str, retryable: bool, wait: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.wait = wait

    @classmethod
    def of(cls, url: str, status: int, answer: Any, headers: Mapping[str, str]) -> XrpcError:
        code = answer.get("error") if isinstance(answer, dict) else None
        said = answer.get("message") if isinstance(answer, dict) else None
        code = code if isinstance(code, str) else ""
        shown = redact_url(url)
        text = (
            f"{shown}: HTTP {status} {code}: {said}" if said else f"{shown}: HTTP {status} {code}"
        )
        retryable = status in (408, 425, 429) or status >= 500
        return cls(text.strip(), status, code, retryable, rate_limit_wait(headers))

    def source_error(self, prefix: str = "") -> SourceError:
        return SourceError(prefix + str(self), retryable=self.retryable, wait=self.wait)


async def call(
    session: aiohttp.ClientSession,
    url: str,
    body: Mapping[str, Any] | None = None,
    *,
    token: str | None = None,
    get: bool = False,
) -> Any:
    """The JSON answer of one XRPC call (None when it has no body); :class:`XrpcError` else."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if get:
        sent = session.get(url, params=body, headers=headers, timeout=_TIMEOUT)
    elif body is None:
        sent = session.post(url, headers=headers, timeout=_TIMEOUT)
    else:
        sent = session.post(url, json=body, headers=headers, timeout=_TIMEOUT)
    try:
        async with sent as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            if response.status >= 400:
                raise XrpcError.of(url, response.status, answer, response.headers)
            return answer
    except (aiohttp.ClientError, TimeoutError) as error:
        raise XrpcError(f"{redact_url(url)}: {describe(error)}", 0, "", True) from None
    except UnicodeError as error:  # a host name that does not IDNA-encode: will not mend
        raise XrpcError(
            f"{redact_url(url)}: not a valid host name ({error})", 0, "", False
        ) from None


def rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """``Retry-After``, or Bluesky's ``RateLimit-Reset`` (epoch seconds) once the quota is spent."""
    wait = retry_after(headers)
    if wait is not None:
        return wait
    remaining, reset = headers.get("RateLimit-Remaining"), headers.get("RateLimit-Reset")
    try:
        if remaining is not None and reset is not None and float(remaining) < 1:
            return max(0.0, float(reset) - time.time())
    except ValueError:
        pass
    return None
