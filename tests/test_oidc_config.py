"""The sign-in settings (Google and two-factor) are validated at start-up like every other."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app.config import ConfigError, get_config
from tests.waiting import CEILING

ROOT = Path(__file__).resolve().parent.parent
BOTH = {"GOOGLE_OAUTH2_CLIENT_ID": "id.apps.googleusercontent.com", "GOOGLE_OAUTH2_CLIENT_SECRET": "s3cret"}


def test_defaults() -> None:
    sign_in = get_config({}).sign_in
    assert sign_in.google_enabled is False
    assert sign_in.google_issuer == "https://accounts.google.com"
    assert sign_in.google_redirect_uri == "http://localhost:3000/auth/google/callback"
    assert sign_in.flow_ttl == timedelta(minutes=10)
    assert sign_in.mfa_challenge_ttl == timedelta(minutes=5)
    assert sign_in.totp_issuer == "Campaign Platform"


def test_configured() -> None:
    sign_in = get_config({**BOTH, "APP_BASE_URL": "https://app.example.com/"}).sign_in
    assert sign_in.google_enabled is True
    assert sign_in.google_redirect_uri == "https://app.example.com/auth/google/callback"
    local = get_config({**BOTH, "GOOGLE_OAUTH2_ISSUER": "http://127.0.0.1:5556/"}).sign_in
    assert local.google_issuer == "http://127.0.0.1:5556"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"GOOGLE_OAUTH2_CLIENT_ID": "id"}, "GOOGLE_OAUTH2_CLIENT_SECRET"),
        ({"GOOGLE_OAUTH2_CLIENT_SECRET": "secret"}, "GOOGLE_OAUTH2_CLIENT_ID"),
        ({"GOOGLE_OAUTH2_ISSUER": "http://accounts.example.com"}, "GOOGLE_OAUTH2_ISSUER"),
        ({"GOOGLE_OAUTH2_ISSUER": "accounts.google.com"}, "GOOGLE_OAUTH2_ISSUER"),
        (
            {"APP_ENV": "production", "SECRET_KEY": "k" * 40, "GOOGLE_OAUTH2_ISSUER": "http://127.0.0.1:1"},
            "GOOGLE_OAUTH2_ISSUER",
        ),
        ({"GOOGLE_OAUTH2_REDIRECT_URI": "/auth/google/callback"}, "GOOGLE_OAUTH2_REDIRECT_URI"),
        ({"GOOGLE_OAUTH2_TIMEOUT_SECONDS": "soon"}, "GOOGLE_OAUTH2_TIMEOUT_SECONDS"),
        ({"GOOGLE_OAUTH2_TIMEOUT_SECONDS": "0"}, "GOOGLE_OAUTH2_TIMEOUT_SECONDS"),
        ({"GOOGLE_OAUTH2_FLOW_TTL_SECONDS": "5"}, "GOOGLE_OAUTH2_FLOW_TTL_SECONDS"),
        ({"MFA_CHALLENGE_TTL_SECONDS": "a while"}, "MFA_CHALLENGE_TTL_SECONDS"),
        ({"TOTP_ISSUER": "Acme:Prod"}, "TOTP_ISSUER"),
    ],
)
def test_invalid_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        get_config(env)


def test_startup_with_a_bad_sign_in_setting_exits_2_with_one_line() -> None:
    env = {**os.environ, "GOOGLE_OAUTH2_CLIENT_ID": "only-the-id"}
    env.pop("GOOGLE_OAUTH2_CLIENT_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-c", "from app.main import app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CEILING,
        check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "GOOGLE_OAUTH2_CLIENT_SECRET" in lines[0]
