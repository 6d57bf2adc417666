"""The README's action catalogue, generated from the registry so that it cannot drift.

`make actions-doc` rewrites the table between the markers in README.md; a test fails when the
README's table is not what this module renders (`python -m app.actions.catalogue --check`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from app.actions.base import BaseAction
from app.actions.registry import ActionRegistry

START = "<!-- actions-catalogue:start (make actions-doc) -->"
END = "<!-- actions-catalogue:end -->"
README = Path(__file__).resolve().parents[2] / "README.md"


def _input(action: BaseAction[object]) -> str:
    if action.InputSchema is None:
        return "—"
    fields = msgspec.structs.fields(action.InputSchema)
    return ", ".join(f"`{f.encode_name}`" + ("" if f.required else "?") for f in fields)


def render(registry: ActionRegistry) -> str:
    """The Markdown table of every registered action, by object type and in registration order."""
    lines = [
        "| object type | action (`name`) | label | input (`?` optional) | role | what it does |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for object_type in registry.object_types():
        for action in registry.actions_of(object_type):
            description = action.description.replace("|", "\\|")
            lines.append(
                f"| `{object_type}` | `{action.name}` | {action.label} | {_input(action)} | "
                f"{action.required_role} | {description} |"
            )
    return "\n".join(lines)


def with_catalogue(readme: str, table: str) -> str:
    before, start, rest = readme.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise ValueError(f"README.md lacks the markers {START!r} and {END!r}")
    return f"{before}{START}\n{table}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    from app.actions.registry import action_registry
    from app.main import ACTION_MODULES  # importing app.main fills the registry (and builds no app)

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args(argv)
    current = README.read_text()
    updated = with_catalogue(current, render(action_registry))
    if args.check:
        if updated != current:
            print("README.md's action catalogue is out of date: run `make actions-doc`", file=sys.stderr)  # noqa: T201
            return 1
        return 0
    README.write_text(updated)
    count = len(action_registry.all_actions())
    print(f"wrote the catalogue of {count} actions of {len(ACTION_MODULES)} domains into {README}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
