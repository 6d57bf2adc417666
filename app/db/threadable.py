"""`ThreadableMixin`: a model that inherits it can be talked about (see `app.threads`).

It lives here, below the domains, because domains must never import `app.threads`: inheriting
the mixin only records the model in a registry, which the threads module reads at start-up.
The object type a model is known by (in paths and events) is `__thread_object_type__`, the same
string its service passes to `emit_event`.
"""

from __future__ import annotations

from typing import Any, ClassVar

_registry: dict[str, type[Any]] = {}


class ThreadableMixin:
    __thread_object_type__: ClassVar[str]
    """The object type of the model's events and of its thread's path (`post`, `campaign`)."""
    __thread_campaign_key__: ClassVar[str | None] = "campaign_id"
    """The column naming the campaign the object belongs to (`id` for a campaign itself); `None`
    for team-level objects (brands, creators), whose threads guests never see."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        object_type = cls.__dict__.get("__thread_object_type__")
        if object_type is not None:
            _registry[object_type] = cls


def threadable_models() -> dict[str, type[Any]]:
    """Object type -> model, for every model that inherits `ThreadableMixin`."""
    return dict(sorted(_registry.items()))
