"""What every HTTP exchange goes through before routing: the client's real address behind trusted
proxies, the request id, security headers and the access log line.

Hand-written ASGI (not a Litestar middleware or plugin) because it must wrap the whole
application: Litestar's `middleware=` runs per route, after routing, so a 404 for an unknown
path, a CORS preflight or a 405 would leave without headers, request id or log line. Litestar
has no trusted-proxy or security-headers middleware; its `LoggingMiddleware` logs headers and
bodies but not the duration, route template, user or team; its structlog plugin would replace
the stdlib logging (and `JsonFormatter`) the worker and Granian share.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING, Any, cast
from uuid import uuid4

from app.lib.logs import current_request_id

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
UI_PATH_PREFIXES = ("/schema", "/saq")
"""HTML pages (Swagger UI, the job UI): their inline bootstrap scripts and styles are allowed."""

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
UI_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"

access_logger = logging.getLogger("app.access")


def accepted_request_id(raw: str | None) -> str:
    """The caller's `X-Request-ID` when it is 1-128 of `[A-Za-z0-9._-]`, else a fresh one
    (anything else could forge log lines or smuggle markup into them)."""
    if raw is not None and _VALID_REQUEST_ID.fullmatch(raw):
        return raw
    return uuid4().hex


class TrustedProxies:
    """Resolves the client address and scheme from `X-Forwarded-For`/`-Proto`, believed only
    when the socket peer is one of the configured networks."""

    def __init__(self, cidrs: Sequence[str]) -> None:
        self.networks: tuple[IPv4Network | IPv6Network, ...] = tuple(ip_network(cidr) for cidr in cidrs)

    def trusts(self, host: str) -> bool:
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client_and_scheme(self, peer: str, headers: dict[str, str]) -> tuple[str, str | None] | None:
        """(client address, scheme or None) when `peer` is trusted and sent forwarding headers."""
        if not self.networks or not self.trusts(peer):
            return None
        forwarded_for = headers.get("x-forwarded-for")
        forwarded_proto = headers.get("x-forwarded-proto")
        client = peer
        if forwarded_for:
            # Right to left: each trusted proxy appended the address it saw; the first hop not
            # ours is the client. A client-supplied value further left is never believed.
            hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
            for hop in reversed(hops):
                client = hop
                if not self.trusts(hop):
                    break
            try:
                client = str(ip_address(client))
            except ValueError:
                return None  # a malformed header says nothing we can key a limit on
        scheme = None
        if forwarded_proto:
            proto = forwarded_proto.split(",")[-1].strip().lower()
            scheme = proto if proto in ("http", "https") else None
        return client, scheme


def _headers_of(scope: Scope) -> dict[str, str]:
    wanted = {b"x-forwarded-for", b"x-forwarded-proto", b"x-request-id"}
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name in wanted:
            found[name.decode("latin-1")] = value.decode("latin-1")
    return found


class HttpEdge:
    """Wraps the whole ASGI application (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        proxies: TrustedProxies,
        hsts: bool,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.app = app
        self.proxies = proxies
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            *((b"strict-transport-security", HSTS.encode()) for _ in range(1 if hsts else 0)),
            *((name.lower().encode(), value.encode()) for name, value in extra_headers),
        ]
        self._api_headers = [*common, (b"content-security-policy", API_CSP.encode())]
        self._ui_headers = [*common, (b"content-security-policy", UI_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers_of(scope)
        client = scope.get("client")
        if client is not None and (resolved := self.proxies.client_and_scheme(client[0], headers)):
            address, scheme = resolved
            scope["client"] = (address, 0)
            if scheme is not None:
                scope["scheme"] = (
                    scheme if scope["type"] == "http" else {"http": "ws", "https": "wss"}[scheme]
                )
        request_id = accepted_request_id(headers.get("x-request-id"))
        token = current_request_id.set(request_id)
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            await self._http(scope, receive, send, request_id)
        finally:
            current_request_id.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        path: str = scope["path"]
        ui_page = path.startswith(UI_PATH_PREFIXES)
        added = [
            *(self._ui_headers if ui_page else self._api_headers),
            (b"x-request-id", request_id.encode()),
        ]
        status = 500  # what the client sees when the app fails before answering
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                present = {name.lower() for name, _ in message.get("headers", ())}
                message["headers"] = [
                    *message.get("headers", ()),
                    *((name, value) for name, value in added if name not in present),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self._log_access(scope, status, time.perf_counter() - started)

    @staticmethod
    def _log_access(http_scope: Scope, status: int, seconds: float) -> None:
        """One line per request; its `request_id` comes from the log record factory (app.lib.logs)."""
        if not access_logger.isEnabledFor(logging.INFO):
            return
        scope = cast("dict[str, Any]", http_scope)
        template = scope.get("path_template") or scope["path"]
        user: Any = scope.get("user")
        team_id = (scope.get("path_params") or {}).get("team_id")
        client = scope.get("client")
        duration_ms = round(seconds * 1000, 2)
        access_logger.info(
            "%s %s %s %.1fms",
            scope["method"],
            template,
            status,
            duration_ms,
            extra={
                "method": scope["method"],
                "path": template,
                "status": status,
                "duration_ms": duration_ms,
                "user_id": str(user.id) if getattr(user, "id", None) else None,
                "team_id": str(team_id) if team_id else None,
                "client": client[0] if client else None,
            },
        )
