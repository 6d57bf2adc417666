"""OpenID providers on the loopback for the sign-in tests, and an app that uses one.

- `OidcProviderProcess`: npm `oidc-provider` (OpenID-certified) in a Node process with its own
  RSA key; it requires PKCE, checks redirect URIs and echoes the nonce (tests/oidc_provider/).
- `RogueProvider`: a tiny real HTTP server (a thread, a real socket) that serves a discovery
  document, a JWKS and a token endpoint whose ID token the test composes: expired, for another
  audience, with another nonce, signed by a key it does not publish.
- `sign_in_app`: the application configured for one of them, started like the suite's own.
- `follow_to_redirect_uri`: what the browser does between the authorization URL and the
  redirect back: it follows the provider's redirects, with cookies, and returns code and state.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar

from app.main import create_app
from tests.background import free_port
from tests.conftest import make_settings
from tests.database import TestDatabase
from tests.waiting import CEILING, wait_until

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
CLIENT_ID = "campaign-platform-test"
CLIENT_SECRET = "test-client-secret-0123456789"
REDIRECT_URI = "http://localhost:3000/auth/google/callback"


def _ensure_node_packages() -> str:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.skip("node/npm not found: the OpenID provider for the sign-in tests needs Node.js >= 20.19")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True)
    return node


class OidcProviderProcess:
    """`node tests/oidc_provider/provider.js` on a free port, as a real OS process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cp-oidc-{os.getpid()}-{id(self)}.log"

    def start(self) -> OidcProviderProcess:
        node = _ensure_node_packages()
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [node, "provider.js", str(self.port), CLIENT_ID, CLIENT_SECRET, REDIRECT_URI],
            cwd=PROVIDER_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        process = self.process

        def listening() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the OpenID provider exited early:\n{self.log()}")
            return "LISTENING" in self.log()

        wait_until(listening, what="the OpenID provider's LISTENING line", seen=self.log)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=CEILING)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=CEILING)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    async def add_account(
        self, sub: str, *, email: str, email_verified: bool, name: str = "Ada Google"
    ) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.issuer}/test/accounts",
                json={"sub": sub, "email": email, "email_verified": email_verified, "name": name},
            )
            assert response.status_code == 204, response.text


async def follow_to_redirect_uri(authorization_url: str) -> dict[str, str]:
    """The browser's part: follow the provider's redirects (keeping its cookies) until it sends
    us back to the redirect URI; returns that URI's query (code, state, iss)."""
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        url = authorization_url
        for _ in range(10):
            response = await browser.get(url)
            if response.status_code not in (302, 303):
                raise AssertionError(
                    f"the provider stopped at {url}: {response.status_code} {response.text[:500]}"
                )
            url = urljoin(str(response.url), response.headers["location"])
            if url.startswith(REDIRECT_URI):
                return {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}
    raise AssertionError("the provider never redirected back")


def authorization_params(authorization_url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(authorization_url).query).items()}


class RogueProvider:
    """Discovery, JWKS and a token endpoint on a real socket, whose ID token the test composes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.published_key = RSAKey.generate_key(2048, parameters={"kid": "published", "use": "sig"})
        self.token_requests: list[dict[str, list[str]]] = []
        self.claims: dict[str, Any] = {}
        self.signing_key: RSAKey = self.published_key
        self.token_status = 200
        self.forged_token: str | None = None
        """Served as the ID token as it is (an unsigned one, say) instead of a signed one."""
        self._server: ThreadingHTTPServer | None = None

    def good_claims(self, expected_nonce: str, **overrides: Any) -> dict[str, Any]:
        """A valid ID token's claims for a flow whose nonce is `expected_nonce`; an override of
        None leaves that claim out."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "rogue-subject-1",
            "email": "rogue@example.com",
            "email_verified": True,
            "iat": now,
            "exp": now + 600,
            "nonce": expected_nonce,
            **overrides,
        }
        return {key: value for key, value in claims.items() if value is not None}

    def id_token(self) -> str:
        if self.forged_token is not None:
            return self.forged_token
        return jwt.encode({"alg": "RS256", "kid": self.signing_key.kid}, self.claims, self.signing_key)

    def start(self) -> RogueProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/authorize",
                            "token_endpoint": f"{provider.issuer}/token",
                            "jwks_uri": f"{provider.issuer}/jwks",
                        },
                    )
                elif self.path == "/jwks":
                    self._json(200, {"keys": [provider.published_key.as_dict(private=False)]})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                provider.token_requests.append(form)
                if provider.token_status != 200:
                    self._json(provider.token_status, {"error": "server_error"})
                    return
                self._json(
                    200, {"access_token": "x", "token_type": "Bearer", "id_token": provider.id_token()}
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@asynccontextmanager
async def sign_in_app(database: TestDatabase, issuer: str, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    """The application with Google sign-in pointed at `issuer`, and an httpx client into it."""
    settings = make_settings(
        database,
        GOOGLE_OAUTH2_CLIENT_ID=CLIENT_ID,
        GOOGLE_OAUTH2_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_OAUTH2_ISSUER=issuer,
        GOOGLE_OAUTH2_REDIRECT_URI=REDIRECT_URI,
        GOOGLE_OAUTH2_TIMEOUT_SECONDS="20",
        **env,
    )
    application = create_app(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan(app: Litestar) -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run_lifespan(application))
    await started.wait()
    transport = httpx.ASGITransport(app=application)  # pyright: ignore[reportArgumentType]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        stop.set()
        await task


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
