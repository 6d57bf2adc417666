"""Media routes.

Team routes under `/api/teams/{team_id}`: uploads (members), reads (guests see their campaigns'
post media), detaching (members), a post's media order (PUT with version) and the team's
storage usage. `/api/media/objects/...` is local storage's stand-in for a bucket: a signed PUT
takes the bytes and a signed GET serves them; the signature is the only credential, as with S3.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.response import File
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from saq.queue.base import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.lib.boundary import RAW_BODY_OPT
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import (
    PROBLEM_JSON,
    TEAM_ROUTE_ERRORS,
    PermissionDeniedError,
    ProblemDetails,
    ResourceNotFoundError,
    problem_responses,
)
from app.lib.pagination import Page, page_dependencies
from app.lib.roles import TeamRole, requires_role
from app.media.errors import TooLargeError, UnsupportedTypeError
from app.media.kinds import MediaKind, normalized_type
from app.media.schemas import (
    MediaList,
    MediaRead,
    MediaStatus,
    PostMediaGallery,
    PostMediaOrderUpdate,
    StorageUsage,
    UploadCreate,
    UploadCreated,
)
from app.media.services import MediaService
from app.media.storage import (
    LOCAL_OBJECT_PATH,
    LocalStorage,
    ObjectTooLargeError,
    SignatureRefusedError,
    Storage,
)
from app.queue.deps import queue_dependencies

MEDIA_ROUTE_ERRORS = {**TEAM_ROUTE_ERRORS, **problem_responses(410, 413)}
MEDIA_TYPE_ERRORS = {
    415: ResponseSpec(
        data_container=ProblemDetails,
        description="A content type this kind of file does not take; `allowed_types` lists them.",
        media_type=PROBLEM_JSON,
        generate_examples=False,
    )
}


def provide_media(db_session: NamedDependency[AsyncSession], state: State) -> MediaService:
    settings: Settings = state.settings
    return MediaService(session=db_session, storage=state.media_storage, settings=settings.media)


class MediaController(Controller):
    path = "/api/teams/{team_id:uuid}"
    tags = ["Media"]
    dependencies = {
        "media": Provide(provide_media, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
        **queue_dependencies,
    }

    @post(
        "/media/uploads",
        operation_id="CreateUpload",
        responses={**MEDIA_ROUTE_ERRORS, **MEDIA_TYPE_ERRORS},
        status_code=HTTP_201_CREATED,
        opt=requires_role(TeamRole.GUEST),
    )
    async def create_upload(
        self,
        data: JSONBody[UploadCreate],
        team_access: NamedDependency[TeamAccess],
        media: NamedDependency[MediaService],
    ) -> UploadCreated:
        """Start an upload: checks your right to the target, the kind's types (415) and size (413)
        and the team's quota (413), and returns where to PUT the bytes (short-lived). Guests may
        upload `message_attachment`s only, to threads of their campaigns."""
        return await media.create_upload(
            team_id=team_access.team_id, actor_id=team_access.user_id, data=data, role=team_access.role
        )

    @post(
        "/media/{media_id:uuid}/complete",
        operation_id="CompleteUpload",
        responses=MEDIA_ROUTE_ERRORS,
        status_code=HTTP_202_ACCEPTED,
        opt=requires_role(TeamRole.GUEST),
    )
    async def complete_upload(
        self,
        media_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        media: NamedDependency[MediaService],
        job_queue: NamedDependency[Queue],
    ) -> MediaRead:
        """Say the bytes are uploaded: the file becomes `processing` until the worker has checked it
        (then `ready` and attached, or `rejected` with a reason). 409 when no bytes arrived."""
        return await media.complete_upload(media_id, queue=job_queue, role=team_access.role)

    @get("/media", operation_id="ListMedia", responses=TEAM_ROUTE_ERRORS, opt=requires_role(TeamRole.GUEST))
    async def list_media(
        self,
        team_access: NamedDependency[TeamAccess],
        media: NamedDependency[MediaService],
        page: NamedDependency[Page],
        kind: Annotated[MediaKind | None, Parameter(description="Only this kind.")] = None,
        target_id: Annotated[
            UUID | None, Parameter(description="Only files of this post, brand or creator.")
        ] = None,
        status: Annotated[MediaStatus | None, Parameter(description="Only this status.")] = None,
    ) -> MediaList:
        """The team's media files (a guest: their campaigns' post media), by target and position."""
        return await media.list_media(page=page, kind=kind, target_id=target_id, status=status)

    @get(
        "/media/{media_id:uuid}",
        operation_id="GetMedia",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def get_media(
        self,
        media_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        media: NamedDependency[MediaService],
    ) -> MediaRead:
        """One media file; when ready, with short-lived signed download and thumbnail URLs."""
        return await media.read(media_id)

    @delete(
        "/media/{media_id:uuid}",
        operation_id="DeleteMedia",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_media(
        self,
        media_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        media: NamedDependency[MediaService],
        job_queue: NamedDependency[Queue],
    ) -> None:
        """Detach a file from its target; its bytes are deleted after commit (409 for a file on a
        thread message: delete the message)."""
        await media.detach(media_id, actor_id=team_access.user_id, queue=job_queue)

    @get(
        "/campaigns/{campaign_id:uuid}/posts/{post_id:uuid}/media",
        operation_id="GetPostMedia",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def list_post_media(
        self,
        campaign_id: FromPath[UUID],
        post_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        media: NamedDependency[MediaService],
    ) -> PostMediaGallery:
        """A post's ready media in order, with the `version` a reorder sends back."""
        return await media.list_post_media(campaign_id, post_id)

    @put(
        "/campaigns/{campaign_id:uuid}/posts/{post_id:uuid}/media",
        operation_id="ReorderPostMedia",
        responses=TEAM_ROUTE_ERRORS,
    )
    async def reorder_post_media(
        self,
        campaign_id: FromPath[UUID],
        post_id: FromPath[UUID],
        data: JSONBody[PostMediaOrderUpdate],
        team_access: NamedDependency[TeamAccess],
        media: NamedDependency[MediaService],
    ) -> PostMediaGallery:
        """Set the order of a post's media: every ready media id once, and the `version` you read."""
        return await media.reorder_post_media(
            campaign_id, post_id, actor_id=team_access.user_id, media_ids=data.media_ids, version=data.version
        )

    @get("/storage-usage", operation_id="GetTeamStorageUsage", responses=TEAM_ROUTE_ERRORS)
    async def get_team_storage_usage(
        self, team_access: NamedDependency[TeamAccess], media: NamedDependency[MediaService]
    ) -> StorageUsage:
        """Bytes the team's media use against its quota."""
        return await media.storage_usage(team_access.team_id)


def _local_storage(state: State) -> LocalStorage:
    storage: Storage = state.media_storage
    if not isinstance(storage, LocalStorage):
        raise ResourceNotFoundError("Files are served by the storage service, not by the API.")
    return storage


def _verify(
    storage: LocalStorage, method: str, key: str, expires: str, signature: str, extras: dict[str, str]
) -> None:
    try:
        storage.signer.verify(method, key, expires, signature, extras, now=time.time())
    except SignatureRefusedError as refused:
        raise PermissionDeniedError(str(refused)) from None


OCTET_STREAM = "application/octet-stream"
SignedQuery = Annotated[str, Parameter(max_length=200, description="From the signed URL.")]


class LocalMediaObjectController(Controller):
    """Local storage only (404 on S3): the URLs CreateUpload and GetMedia hand out point here."""

    path = LOCAL_OBJECT_PATH
    tags = ["Media"]

    @put(
        "/{key:path}",
        operation_id="UploadMediaObject",
        exclude_from_auth=True,
        opt={RAW_BODY_OPT: True},
        security=[{}],
        request_max_body_size=None,
        status_code=HTTP_201_CREATED,
        responses={
            # no body, like an S3 presigned PUT: documented as a response without content
            HTTP_201_CREATED: ResponseSpec(None, description="Stored; now call CompleteUpload."),
            **problem_responses(400, 403, 404, 413),
            **MEDIA_TYPE_ERRORS,
        },
    )
    async def upload_media_object(
        self,
        request: Request[Any, Any, Any],
        state: State,
        key: FromPath[str],
        expires: SignedQuery,
        signature: SignedQuery,
        type_: Annotated[str, QueryParameter(name="type", max_length=100)],
        max_: Annotated[str, QueryParameter(name="max", max_length=20)],
    ) -> Response[None]:
        """Take an upload's bytes (local storage's presigned PUT); send the URL's Content-Type."""
        storage = _local_storage(state)
        key = key.lstrip("/")
        _verify(storage, "PUT", key, expires, signature, {"type": type_, "max": max_})
        sent_type = normalized_type(request.headers.get("content-type", ""))
        if sent_type != type_:
            raise UnsupportedTypeError(
                f"Send the Content-Type this upload was created for ({type_}), not {sent_type or 'none'}."
            )
        try:
            await storage.write_stream(key, request.stream(), max_bytes=int(max_))
        except ObjectTooLargeError as exc:
            raise TooLargeError(
                f"This upload takes at most {exc.max_bytes} bytes (the size declared)."
            ) from None
        return Response(None, status_code=HTTP_201_CREATED, media_type=MediaType.TEXT)

    @get(
        "/{key:path}",
        operation_id="DownloadMediaObject",
        exclude_from_auth=True,
        security=[{}],
        media_type=OCTET_STREAM,
        responses=problem_responses(400, 403, 404),
    )
    async def download_media_object(
        self,
        state: State,
        key: FromPath[str],
        expires: SignedQuery,
        signature: SignedQuery,
        name: SignedQuery,
    ) -> File:
        """Serve a stored file through a short-lived signed URL (local storage's presigned GET)."""
        storage = _local_storage(state)
        key = key.lstrip("/")
        _verify(storage, "GET", key, expires, signature, {"name": name})
        path = storage.path_of(key)
        if not path.is_file():
            raise ResourceNotFoundError("The file is no longer stored.")
        return File(
            path,
            filename=name,
            media_type=OCTET_STREAM,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=60"},
        )
