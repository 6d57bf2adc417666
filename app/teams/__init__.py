"""Teams (the tenant) and their members with roles owner/admin/member.

Tables: `teams`, `team_members`, both under row-level security: a user sees the teams they
belong to and the members of the team they are acting in. A team always keeps an owner.
"""
