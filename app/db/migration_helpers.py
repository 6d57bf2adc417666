"""Helpers that migrations call; kept tiny so old migrations keep working."""

from __future__ import annotations

from alembic import op

from app.config import get_config


def app_role() -> str:
    """The application role's name, as configured for this run (quoted for SQL)."""
    config = op.get_context().config
    name = (
        config.attributes.get("app_user") if config is not None else None
    ) or get_config().database.app_user
    return '"' + name.replace('"', '""') + '"'


def grant_read_only(table: str) -> None:
    """Rows of `table` can be read and added by the app but never changed or removed (audit logs)."""
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM {app_role()}')
