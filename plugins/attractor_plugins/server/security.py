"""Who may talk to the server: bearer tokens, the login cookie, CSRF, hosts, body sizes.

An ASGI middleware in front of the app (pure ASGI, so SSE responses stream
through untouched). docs/server.md, "Security model", explains the rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "attractor_session"
CSRF_COOKIE = "attractor_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Reachable without a session: the login form and what it needs.
OPEN_PATHS = ("/login", "/static/")


def session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, never the token itself."""
    return hmac.new(token.encode(), b"attractor-session", hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cookies_of(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no cookie at all
                continue
    return {key: morsel.value for key, morsel in jar.items()}


def header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()), *headers]})
    await send({"type": "http.response.body", "body": data})


class Guard:
    """Refuses requests that are too big, unauthenticated, cross-site or for a foreign host."""

    def __init__(self, app: App, *, token: str | None, bind_host: str, max_body: int):
        self.app = app
        self.token = token
        self.session = session_value(token) if token else None
        self.hosts = LOOPBACK_HOSTS | {bind_host.lower()}
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            status, message = refusal
            if status == 401 and self.wants_html(scope):
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", b"/login"), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            await send_json(send, status, {"error": message, "status": status})
            return
        length = header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await send_json(send, 413, {"error": f"request body over {self.max_body} bytes",
                                        "status": 413})
            return
        await self.app(scope, self.limited(receive), send)

    def limited(self, receive: Receive) -> Receive:
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        return bounded

    def wants_html(self, scope: Scope) -> bool:
        return scope["method"] == "GET" and "text/html" in (header(scope, b"accept") or "")

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        path = str(scope.get("path", ""))
        if self.token is None:
            host = (header(scope, b"host") or "").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.hosts:
                return 421, (f"host {host!r} is not this server's; without a token the "
                             "server answers only to its loopback names")
        bearer = self.bearer_ok(scope)
        if self.token is not None and not bearer and not path.startswith(OPEN_PATHS):
            cookie = cookies_of(scope).get(SESSION_COOKIE, "")
            if not (self.session and hmac.compare_digest(cookie, self.session)):
                return 401, ("authentication required: send 'Authorization: Bearer TOKEN' "
                             "or log in at /login")
        if scope["method"] not in SAFE_METHODS and not bearer:
            return self.csrf_refusal(scope, path)
        return None

    def bearer_ok(self, scope: Scope) -> bool:
        given = header(scope, b"authorization") or ""
        scheme, _, value = given.partition(" ")
        return bool(self.token and scheme.lower() == "bearer"
                    and hmac.compare_digest(value.strip(), self.token))

    def csrf_refusal(self, scope: Scope, path: str) -> tuple[int, str] | None:
        """A browser's state-changing request must come from this server's own pages."""
        origin = header(scope, b"origin")
        fetch_site = header(scope, b"sec-fetch-site")
        cookies = cookies_of(scope)
        if origin is None and fetch_site is None and not cookies:
            return None  # not a browser: no ambient credentials to abuse
        host = header(scope, b"host") or ""
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            return 403, f"cross-origin request from {origin} refused"
        if fetch_site in ("cross-site", "same-site"):
            return 403, "cross-site request refused"
        if path == "/login":
            return None
        expected = cookies.get(CSRF_COOKIE, "")
        given = header(scope, CSRF_HEADER.encode()) or ""
        if not expected or not hmac.compare_digest(given, expected):
            return 403, (f"missing or wrong {CSRF_HEADER} header: send the value of the "
                         f"{CSRF_COOKIE} cookie")
        return None


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit
