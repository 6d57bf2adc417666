"""Helpers that migrations call; kept tiny so old migrations keep working."""

from __future__ import annotations

from alembic import op

from app.config import get_config


def _quote_ident(name: str) -> str:
    """Quote like PostgreSQL's quote_ident (only when needed), so catalog comparisons match."""
    if name.isidentifier() and name == name.lower():
        return name
    return '"' + name.replace('"', '""') + '"'


def _configured(attribute: str, default: str) -> str:
    config = op.get_context().config
    return (config.attributes.get(attribute) if config is not None else None) or default


def app_role() -> str:
    """The application role's name, as configured for this run (quoted for SQL)."""
    return _quote_ident(_configured("app_user", get_config().database.app_user))


def system_role() -> str:
    """The system role's name (BYPASSRLS; only named cross-team system jobs use it), quoted."""
    return _quote_ident(_configured("system_user", get_config().database.system_user))


def grant_read_only(table: str) -> None:
    """Rows of `table` can be read and added by the app but never changed or removed (audit logs)."""
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM {app_role()}')
