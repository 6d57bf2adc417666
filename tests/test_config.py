"""Configuration: validated from the environment, one clear line on error, no import-time cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import DEV_SECRET_KEY, ConfigError, get_config
from tests.waiting import CEILING

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_use_the_embedded_database_and_localhost() -> None:
    settings = get_config({})
    assert settings.database.is_embedded
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.env == "dev"


def test_database_url_is_normalised_to_asyncpg() -> None:
    settings = get_config({"DATABASE_URL": "postgresql://root@127.0.0.1:5432/postgres"})
    assert settings.database.owner_url is not None
    assert settings.database.owner_url.drivername == "postgresql+asyncpg"
    app_url = settings.database.app_url_from(settings.database.owner_url)
    assert app_url.username == "campaign_app"
    assert app_url.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://root@localhost/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://root@localhost"}, "DATABASE_URL"),
        ({"APP_ENV": "production"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"PORT": "eighty"}, "PORT"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"DATABASE_ECHO": "maybe"}, "DATABASE_ECHO"),
    ],
)
def test_invalid_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        get_config(env)


def test_settings_follow_the_environment_they_are_given() -> None:
    assert get_config({"PORT": "9001"}).port == 9001
    assert get_config({"PORT": "9002"}).port == 9002


@pytest.mark.parametrize("module", ["app.main", "app.cli serve"])
def test_startup_with_bad_config_exits_with_one_clear_line(module: str) -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://nohost"}
    command = (
        [sys.executable, "-c", "from app.main import app"]
        if module == "app.main"
        else [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
        ]
    )
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=CEILING, check=False
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]


def test_production_refuses_the_development_key() -> None:
    with pytest.raises(ConfigError, match="published key"):
        get_config({"APP_ENV": "production", "SECRET_KEY": DEV_SECRET_KEY})
    assert get_config({"APP_ENV": "dev", "SECRET_KEY": DEV_SECRET_KEY}).auth.secret_key == DEV_SECRET_KEY


_KEY_IN_TEXT = re.compile(
    r"""SECRET_KEY\s*(?:=|:)\s*(?:\$\{SECRET_KEY:-)?["']?([A-Za-z0-9_\-+/=.]{32,})"""
    r"""|DEV_SECRET_KEY\s*=\s*"([^"]+)\""""
)


def _keys_in_repository() -> set[str]:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    keys: set[str] = set()
    for name in files:
        path = ROOT / name
        if path.suffix in {".lock", ".png", ".ico"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        keys |= {next(g for g in match.groups() if g) for match in _KEY_IN_TEXT.finditer(text)}
    return keys


def test_production_refuses_every_key_found_in_the_repository() -> None:
    keys = _keys_in_repository()
    assert DEV_SECRET_KEY in keys  # the scan finds what it is meant to find
    for key in keys:
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            get_config({"APP_ENV": "production", "SECRET_KEY": key})


def test_docker_compose_has_no_default_secret() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "${SECRET_KEY:?" in compose
    assert "SECRET_KEY:-" not in compose


def test_data_encryption_keys_default_to_the_secret_key() -> None:
    secret = "s" * 40
    assert get_config({"SECRET_KEY": secret}).auth.data_encryption_keys == (("sk", secret),)


def test_data_encryption_keys_are_listed_newest_first() -> None:
    keys = get_config({"DATA_ENCRYPTION_KEYS": f"k2:{'b' * 40}, k1:{'a' * 32}"}).auth.data_encryption_keys
    assert keys == (("k2", "b" * 40), ("k1", "a" * 32))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("b" * 40, "entry 1 is not id:key"),
        (f"k1:{'a' * 40},{'b' * 40}", "entry 2 is not id:key"),
        (f"bad.id:{'a' * 40}", "entry 1 is not id:key"),
        ("k1:short", "'k1' must be at least 32 characters"),
        (f"k1:{'a' * 40},k1:{'b' * 40}", "'k1' twice"),
    ],
)
def test_bad_data_encryption_keys_name_the_variable_and_never_echo_a_key(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match="DATA_ENCRYPTION_KEYS") as refused:
        get_config({"DATA_ENCRYPTION_KEYS": raw})
    assert message in str(refused.value)
    assert "a" * 32 not in str(refused.value)
    assert "b" * 32 not in str(refused.value)


def test_production_refuses_a_published_data_encryption_key() -> None:
    env = {"APP_ENV": "production", "SECRET_KEY": "p" * 40, "DATA_ENCRYPTION_KEYS": f"k1:{DEV_SECRET_KEY}"}
    with pytest.raises(ConfigError, match="DATA_ENCRYPTION_KEYS: key 'k1' is a published key"):
        get_config(env)
    assert get_config({**env, "APP_ENV": "dev"}).auth.data_encryption_keys == (("k1", DEV_SECRET_KEY),)
