"""Posting to receivers over HTTP, after checking where the URL really points (SSRF).

The host is resolved and every address checked (:func:`rules.address_refusal`) when a URL
is saved and again before each POST, so a name that later points inside the network is
refused then too. Redirects are never followed (a redirect could lead to a private
address): a 3xx answer is a failed attempt.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from crmphase import config
from crmphase.integrations.rules import (
    EXCERPT_CHARS,
    Target,
    UrlRefused,
    address_refusal,
    parse_target,
)


@dataclass(frozen=True)
class PostResult:
    """What one POST came to: the status and the start of the answer, or the error."""

    status_code: int | None
    response_excerpt: str
    error: str
    duration_ms: int


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def check_receiver_url(url: str) -> Target:
    """The URL's target if it may receive posts; :class:`UrlRefused` saying why not."""
    allow_private = config.webhooks_allow_private()
    target = parse_target(url, allow_private=allow_private)
    reason = address_refusal(resolve(target.host, target.port), allow_private=allow_private)
    if reason:
        raise UrlRefused(reason)
    return target


def post(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST ``body`` to ``url`` with a timeout (``CRMPHASE_WEBHOOK_TIMEOUT_SECONDS``,
    default 10 s); never raises for anything the network or the receiver does."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = check_receiver_url(url)
    except UrlRefused as exc:
        return PostResult(None, "", f"refused: {exc}", took())
    timeout = config.webhook_timeout_seconds()
    if target.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    try:
        connection.request(
            "POST", target.path, body=body, headers={**headers, "user-agent": "crmphase"}
        )
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
        return PostResult(response.status, excerpt, "", took())
    except TimeoutError:
        return PostResult(None, "", f"timed out after {timeout:g} s", took())
    except (OSError, http.client.HTTPException) as exc:
        return PostResult(None, "", f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS], took())
    finally:
        connection.close()
