"""Team roles, ordered: owner > admin > member."""

from __future__ import annotations

from enum import StrEnum


class TeamRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: TeamRole) -> bool:
        return self.rank >= other.rank


_RANK = {TeamRole.MEMBER: 1, TeamRole.ADMIN: 2, TeamRole.OWNER: 3}


def requires_role(role: TeamRole) -> dict[str, TeamRole]:
    """Route `opt` declaring the lowest team role that may call it (default: member)."""
    return {"team_role": role}
