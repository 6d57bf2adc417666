"""Development only: read the outbox (every email the app produced) without an SMTP server."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.rls import PLATFORM_ADMIN_SETTING
from app.db.tenancy import select_by_secret
from app.lib.errors import problem_responses
from app.lib.schema import Schema
from app.mail.models import EmailMessage


class OutboxEmail(Schema):
    id: UUID
    to_address: str
    template: str
    subject: str
    text_body: str
    html_body: str
    status: str
    created_at: datetime


class DevOutbox(Schema):
    items: list[OutboxEmail]


class DevOutboxController(Controller):
    path = "/api/dev/outbox"
    tags = ["Development"]

    @get(
        "",
        operation_id="GetDevOutbox",
        exclude_from_auth=True,
        security=[{}],
        responses=problem_responses(400),
    )
    async def list_outbox(
        self,
        db_session: NamedDependency[AsyncSession],
        to: Annotated[str | None, Parameter(description="Only mail to this address.")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> DevOutbox:
        """Newest emails first, with their bodies (only mounted when APP_ENV is dev)."""
        # The outbox is the operators' (row-level security shows requests none of it); this
        # development-only page reads it as one, in its own statement and transaction.
        statement = select_by_secret(
            EmailMessage,
            PLATFORM_ADMIN_SETTING,
            "on",
            match=None,
            where=[EmailMessage.to_address == to.strip().lower()] if to else [],
            order_by=[EmailMessage.created_at.desc()],
            limit=limit,
        )
        rows = (await db_session.execute(statement)).scalars().all()
        return DevOutbox(
            items=[
                OutboxEmail(
                    id=row.id,
                    to_address=row.to_address,
                    template=row.template,
                    subject=row.subject,
                    text_body=row.text_body,
                    html_body=row.html_body,
                    status=row.status,
                    created_at=row.created_at,
                )
                for row in rows
            ]
        )
