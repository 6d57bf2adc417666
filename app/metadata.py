"""Every domain's models in one metadata, for Alembic and the schema tests.

Nothing in `app` imports this module; a new domain adds its models import here (one line).
"""

from __future__ import annotations

from advanced_alchemy.base import orm_registry

import app.actions.models
import app.brands.models
import app.campaigns.models
import app.events.models
import app.mail.models
import app.media.models
import app.notifications.models
import app.posts.models
import app.roster.models
import app.system.models
import app.teams.models
import app.threads.models
import app.todos.models
import app.users.models  # noqa: F401

metadata = orm_registry.metadata

UNMANAGED_TABLE_PREFIXES = ("saq_",)
"""Tables other libraries create (SAQ's queue) that autogenerate must leave alone."""


def is_managed_table(name: str) -> bool:
    return not name.startswith(UNMANAGED_TABLE_PREFIXES)
