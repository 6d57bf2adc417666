"""Application factory. `app` is what Granian serves (`app.main:app`), built lazily on first access."""

from __future__ import annotations

import gc
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
from app.actions import action_registry
from app.actions.controllers import build_action_routes
from app.brands.controllers import BrandController
from app.campaigns import actions as campaign_actions
from app.campaigns.controllers import CampaignController, CampaignCreatorController, CampaignGuestController
from app.config import ConfigError, Settings, get_config, load_dotenv
from app.dashboard.controllers import DashboardController
from app.db.engine import create_app_engine, create_session_maker
from app.db.setup import resolve_owner_url
from app.events.controllers import EventController
from app.lib.auth import AccessTokens, build_jwt_auth
from app.lib.availability import DatabaseAvailability
from app.lib.boundary import DecodingBoundaryMiddleware
from app.lib.crypto import Passwords
from app.lib.deps import SessionCleanupMiddleware, app_dependencies, resolve_dependencies_one_at_a_time
from app.lib.errors import exception_handlers
from app.lib.http_edge import REQUEST_ID_HEADER, HttpEdge, TrustedProxies
from app.lib.logs import logging_config
from app.lib.observability import RequestMetrics, metrics_routes
from app.lib.openapi import ContractOpenAPIConfig, MoneySchemaPlugin
from app.mail.controllers import DevOutboxController
from app.media.controllers import LocalMediaObjectController, MediaController
from app.media.storage import build_storage
from app.notifications.controllers import NotificationController
from app.posts import actions as post_actions
from app.posts.controllers import PostController
from app.queue.config import QUEUE_NAME, build_saq_config, queue_plugins
from app.realtime.controllers import realtime_socket
from app.realtime.lifecycle import install_listeners, realtime_lifespan
from app.realtime.protocol import get_realtime_protocol
from app.roster import actions as creator_actions
from app.roster.controllers import CreatorController
from app.system.controllers import SystemController
from app.teams.controllers import (
    InvitationAcceptanceController,
    TeamController,
    TeamInvitationController,
    TeamMemberController,
)
from app.threads.controllers import ThreadController
from app.todos import actions as todo_actions
from app.todos.controllers import TodoController
from app.users.controllers import AccountController, AuthController, CurrentUserController
from app.users.sign_in import GoogleSignInController, SecondFactorController, TwoFactorController

SWAGGER_ASSETS = "/schema/assets"

ACTION_MODULES = (campaign_actions, post_actions, creator_actions, todo_actions)
"""Each domain's `actions.py` registers its object type and actions on import (one line per domain)."""


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
    resolve_dependencies_one_at_a_time()
    jwt_auth = build_jwt_auth(settings.auth, open_job_ui=True)
    owner_url = resolve_owner_url(settings.database)  # starts the embedded server if there is no DATABASE_URL
    saq_config = build_saq_config(settings, owner_url)
    install_listeners()
    action_controller, action_bodies = build_action_routes(action_registry)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        # Fixed: a request's concurrency is the clients', so with overflow every burst past the
        # pool opened connections that the next check-in closed (20-60 new backends per 8 s of
        # wrk at -c32, each preparing its statements again). The worker's is bounded by its
        # concurrency, its pool's size, so it never churns and keeps overflow as a margin.
        engine = create_app_engine(
            settings.database, owner_url, pool_size=settings.database.pool_size, fixed_pool=True
        )
        app.state.engine = engine
        app.state.db_availability = DatabaseAvailability()
        app.state.db_availability.watch(engine)
        app.state.session_maker = create_session_maker(engine)
        app.state.saq_queue = saq_config.get_queues().get(QUEUE_NAME)
        freeze_startup_heap()
        try:
            async with realtime_lifespan(app, settings.database.app_url_from(owner_url)):
                yield
        finally:
            await app.state.saq_queue.disconnect()
            await engine.dispose()

    application = Litestar(
        route_handlers=[
            SystemController,
            AuthController,
            CurrentUserController,
            TeamController,
            TeamMemberController,
            TeamInvitationController,
            InvitationAcceptanceController,
            AccountController,
            GoogleSignInController,
            SecondFactorController,
            TwoFactorController,
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
            ThreadController,
            NotificationController,
            realtime_socket,
            get_realtime_protocol,
            action_controller,
            *metrics_routes(settings),
            MediaController,
            LocalMediaObjectController,
            create_static_files_router(
                path=SWAGGER_ASSETS,
                directories=[swagger_ui_path],
                include_in_schema=False,
                opt={"exclude_from_auth": True},
            ),
        ],
        dependencies=app_dependencies,
        middleware=[RequestMetrics, SessionCleanupMiddleware(), DecodingBoundaryMiddleware()],
        lifespan=[database],
        on_app_init=[jwt_auth.on_app_init],
        plugins=[*queue_plugins(saq_config), action_bodies, MoneySchemaPlugin()],
        openapi_config=_openapi_config(),
        exception_handlers=exception_handlers,
        request_max_body_size=settings.max_request_body_bytes,
        logging_config=logging_config(settings),
        cors_config=_cors_config(settings),
        debug=False,
        state=_initial_state(settings, jwt_auth),
    )
    # Outermost, around routing itself: every response, even a 404 for an unknown path or a CORS
    # preflight, gets the security headers and the request id, and every request a log line.
    application.asgi_handler = HttpEdge(
        application.asgi_handler,
        proxies=TrustedProxies(settings.edge.trusted_proxies),
        hsts=not settings.is_dev,
    )
    return application


def _cors_config(settings: Settings) -> CORSConfig | None:
    if not settings.edge.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.edge.cors_origins),
        allow_credentials=settings.edge.cors_allow_credentials,
        expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
    )


YOUNG_GC_THRESHOLD = 10_000
"""Allocations between young-generation collections (Python's default is 700). Measured with
py-spy (--native, GIL samples) under wrk, the collector's share of the worker's time: GetBrand
5.0% at 700, 2.8% at 3,000, 0.9% at 10,000; ListBrands (100) 6.0% at 3,000, 2.0% at 10,000.
The price is memory held by cyclic garbage between collections: the API worker's RSS after a
minute of mixed reads was 138 MB at 700, 142 MB at 3,000, 147 MB at 10,000."""


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, routes, schemas, compiled statements) out of
    the garbage collector's reach: the collector then only walks what requests allocate, and
    less often (`YOUNG_GC_THRESHOLD`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


def _initial_state(settings: Settings, jwt_auth: object):
    from litestar.datastructures import State

    return State(
        {
            "settings": settings,
            "access_tokens": AccessTokens(jwt_auth, settings.auth.access_token_ttl),  # type: ignore[arg-type]
            "media_storage": build_storage(settings.media, secret_key=settings.auth.secret_key),
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
