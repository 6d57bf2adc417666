"""Team roles, ordered: owner > admin > member > guest.

A guest sees only the campaigns listed for them in `campaign_guest_access`, read-only; routes
that guests may call declare `requires_role(TeamRole.GUEST)`, every other route needs a member.
"""

from __future__ import annotations

from enum import StrEnum


class TeamRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    GUEST = "guest"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: TeamRole) -> bool:
        return self.rank >= other.rank


_RANK = {TeamRole.GUEST: 0, TeamRole.MEMBER: 1, TeamRole.ADMIN: 2, TeamRole.OWNER: 3}


def requires_role(role: TeamRole) -> dict[str, TeamRole]:
    """Route `opt` declaring the lowest team role that may call it (default: member)."""
    return {"team_role": role}
