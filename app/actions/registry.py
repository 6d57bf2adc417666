"""The action registry: object types and their actions, filled at import by each domain's `actions.py`.

```python
action_registry.add_object_type(PostObjects())

@action_registry.register("post")
class ApprovePost(BaseAction[PostTarget]):
    name = "approve"
    ...
```

Mistakes fail at start-up, not on the first request: an action for an object type nobody
defined, a second action of the same name, a name that is not snake_case, a missing label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from app.actions.base import BaseAction, ObjectType

ActionT = TypeVar("ActionT", bound=type[BaseAction[Any]])

_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_REQUIRED_TEXT = ("name", "label", "icon", "description")


class RegistryError(Exception):
    """A registration that would make the catalogue ambiguous or incomplete (raised at start-up)."""


class ActionRegistry:
    def __init__(self) -> None:
        self._types: dict[str, ObjectType[Any]] = {}
        self._actions: dict[str, dict[str, BaseAction[Any]]] = {}

    def add_object_type(self, object_type: ObjectType[Any]) -> None:
        name = getattr(object_type, "name", "")
        if not _SNAKE_CASE.fullmatch(name):
            raise RegistryError(f"object type name {name!r} must be snake_case")
        if name in self._types:
            raise RegistryError(f"object type {name!r} is registered twice")
        self._types[name] = object_type
        self._actions[name] = {}

    def register(self, object_type: str) -> Callable[[ActionT], ActionT]:
        """Class decorator: add the action to `object_type`'s catalogue."""

        def add(action_class: ActionT) -> ActionT:
            if object_type not in self._types:
                raise RegistryError(
                    f"{action_class.__name__}: unknown object type {object_type!r} "
                    f"(known: {', '.join(sorted(self._types)) or 'none'}); add_object_type it first"
                )
            for attribute in _REQUIRED_TEXT:
                if not getattr(action_class, attribute, ""):
                    raise RegistryError(f"{action_class.__name__}: `{attribute}` is required")
            if not _SNAKE_CASE.fullmatch(action_class.name):
                raise RegistryError(f"{action_class.__name__}: name {action_class.name!r} must be snake_case")
            actions = self._actions[object_type]
            if action_class.name in actions:
                raise RegistryError(
                    f"{action_class.__name__}: {object_type} already has an action named {action_class.name!r} "
                    f"({type(actions[action_class.name]).__name__})"
                )
            action_class.object_type = object_type
            actions[action_class.name] = cast("BaseAction[Any]", action_class())
            return action_class

        return add

    def object_types(self) -> dict[str, ObjectType[Any]]:
        return dict(self._types)

    def object_type(self, name: str) -> ObjectType[Any] | None:
        return self._types.get(name)

    def actions_of(self, object_type: str) -> list[BaseAction[Any]]:
        return list(self._actions.get(object_type, {}).values())

    def action(self, object_type: str, name: str) -> BaseAction[Any] | None:
        return self._actions.get(object_type, {}).get(name)

    def all_actions(self) -> list[BaseAction[Any]]:
        return [action for actions in self._actions.values() for action in actions.values()]


action_registry = ActionRegistry()
"""The application's registry; `app/main.py` imports every domain's `actions.py` to fill it."""
