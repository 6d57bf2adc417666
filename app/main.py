"""Application factory. `app` is what Granian serves (`app.main:app`), built lazily on first access."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, License
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from app import __version__
from app.brands.controllers import BrandController
from app.campaigns.controllers import CampaignController, CampaignCreatorController, CampaignGuestController
from app.config import ConfigError, Settings, get_config, load_dotenv
from app.dashboard.controllers import DashboardController
from app.db.engine import create_engine, create_session_maker
from app.db.setup import resolve_owner_url
from app.events.controllers import EventController
from app.lib.auth import AccessTokens, build_jwt_auth
from app.lib.crypto import Passwords
from app.lib.deps import SessionCleanupMiddleware, app_dependencies
from app.lib.errors import exception_handlers
from app.lib.logs import logging_config
from app.lib.openapi import ContractOpenAPIConfig, MoneySchemaPlugin
from app.mail.controllers import DevOutboxController
from app.posts.controllers import PostController
from app.queue.config import QUEUE_NAME, build_saq_config, queue_plugins
from app.roster.controllers import CreatorController
from app.system.controllers import SystemController
from app.teams.controllers import (
    InvitationAcceptanceController,
    TeamController,
    TeamInvitationController,
    TeamMemberController,
)
from app.todos.controllers import TodoController
from app.users.controllers import AccountController, AuthController, CurrentUserController

SWAGGER_ASSETS = "/schema/assets"


def _openapi_config() -> ContractOpenAPIConfig:
    """Every OpenAPI-wide rule (tags, errors, examples, names) is applied in `app.lib.openapi`."""
    return ContractOpenAPIConfig(
        title="Campaign Platform API",
        version=__version__,
        description=(
            "Teams run marketing campaigns with creators. Authenticate with `Login`, then send "
            "`Authorization: Bearer <access_token>`. Errors are RFC 9457 problem details."
        ),
        license=License(name="Proprietary"),
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                favicon="<link rel='icon' type='image/png' href='/schema/assets/favicon-32x32.png'>",
            )
        ],
        components=Components(),
        use_handler_docstrings=True,
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application. Settings come from the environment unless given."""
    settings = settings or get_config()
    jwt_auth = build_jwt_auth(settings.auth, open_job_ui=settings.is_dev)
    owner_url = resolve_owner_url(settings.database)  # starts the embedded server if there is no DATABASE_URL
    saq_config = build_saq_config(settings, owner_url)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database.app_url_from(owner_url),
            pool_size=settings.database.pool_size,
            echo=settings.database.echo,
        )
        app.state.engine = engine
        app.state.session_maker = create_session_maker(engine)
        app.state.saq_queue = saq_config.get_queues().get(QUEUE_NAME)
        try:
            yield
        finally:
            await app.state.saq_queue.disconnect()
            await engine.dispose()

    return Litestar(
        route_handlers=[
            SystemController,
            AuthController,
            CurrentUserController,
            TeamController,
            TeamMemberController,
            TeamInvitationController,
            InvitationAcceptanceController,
            AccountController,
            BrandController,
            *([DevOutboxController] if settings.is_dev else []),
            EventController,
            CreatorController,
            CampaignController,
            CampaignCreatorController,
            CampaignGuestController,
            PostController,
            TodoController,
            DashboardController,
            create_static_files_router(
                path=SWAGGER_ASSETS,
                directories=[swagger_ui_path],
                include_in_schema=False,
                opt={"exclude_from_auth": True},
            ),
        ],
        dependencies=app_dependencies,
        middleware=[SessionCleanupMiddleware()],
        lifespan=[database],
        on_app_init=[jwt_auth.on_app_init],
        plugins=[*queue_plugins(saq_config), MoneySchemaPlugin()],
        openapi_config=_openapi_config(),
        exception_handlers=exception_handlers,
        request_max_body_size=settings.max_request_body_bytes,
        logging_config=logging_config(settings),
        cors_config=CORSConfig(allow_origins=["*"]) if settings.env == "dev" else None,
        debug=False,
        state=_initial_state(settings, jwt_auth),
    )


def _initial_state(settings: Settings, jwt_auth: object):
    from litestar.datastructures import State

    return State(
        {
            "settings": settings,
            "access_tokens": AccessTokens(jwt_auth, settings.auth.access_token_ttl),  # type: ignore[arg-type]
            "passwords": Passwords(
                time_cost=settings.auth.argon2_time_cost, memory_cost_kib=settings.auth.argon2_memory_kib
            ),
        }
    )


def _create_app_or_exit() -> Litestar:
    load_dotenv()
    try:
        return create_app()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)  # noqa: T201
        logging.shutdown()
        raise SystemExit(2) from None


def __getattr__(name: str) -> Litestar:
    """`app.main:app` is built on first access, so importing `create_app` has no side effects."""
    if name == "app":
        application = _create_app_or_exit()
        globals()["app"] = application
        return application
    raise AttributeError(name)
