"""The registry refuses ambiguous registrations at start-up, and the README's catalogue matches it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest

from app.actions import ActionRegistry, BaseAction, ObjectType, RegistryError, action_registry
from app.actions.catalogue import README, render, with_catalogue
from app.main import ACTION_MODULES
from app.posts.schemas import PostRead


class Things(ObjectType[Any]):
    name = "thing"
    read_schema = PostRead

    async def load(self, session: Any, object_ids: Sequence[UUID], *, for_change: bool) -> dict[UUID, Any]:
        return {}


def _action(name: str = "poke", **attributes: Any) -> type[BaseAction[Any]]:
    return type(
        "Poke",
        (BaseAction,),
        {"name": name, "label": "Poke", "icon": "hand", "description": "Poke it.", **attributes},
    )


def test_the_app_registers_every_domains_actions() -> None:
    assert len(ACTION_MODULES) == 4
    assert set(action_registry.object_types()) == {"post", "campaign", "todo", "creator"}
    for action in action_registry.all_actions():
        assert all((action.label, action.icon, action.description)), action.key()


def test_a_second_action_of_the_same_name_is_refused() -> None:
    registry = ActionRegistry()
    registry.add_object_type(Things())
    registry.register("thing")(_action())
    with pytest.raises(RegistryError, match="already has an action named 'poke'"):
        registry.register("thing")(_action())
    with pytest.raises(RegistryError, match="registered twice"):
        registry.add_object_type(Things())


def test_an_action_for_an_unknown_object_type_is_refused() -> None:
    registry = ActionRegistry()
    with pytest.raises(RegistryError, match="unknown object type 'thing'"):
        registry.register("thing")(_action())


@pytest.mark.parametrize(
    ("name", "attributes", "message"),
    [
        ("Poke", {}, "snake_case"),
        ("poke-it", {}, "snake_case"),
        ("poke", {"label": ""}, "`label` is required"),
    ],
)
def test_names_and_labels_are_checked(name: str, attributes: dict, message: str) -> None:
    registry = ActionRegistry()
    registry.add_object_type(Things())
    with pytest.raises(RegistryError, match=message):
        registry.register("thing")(_action(name, **attributes))


def test_the_readme_catalogue_is_up_to_date() -> None:
    current = README.read_text()
    assert with_catalogue(current, render(action_registry)) == current, "run `make actions-doc`"
