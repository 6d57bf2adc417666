"""The roster: creators (influencers) a team works with.

Table: `creators` (team-scoped by RLS). Members read, add, edit and archive; admins delete.
A creator on a campaign (as a campaign creator or a post's creator) cannot be deleted — the
foreign keys restrict it and the service answers 409 — archive it instead (`archived: true`).

Handles and follower counts are two JSONB maps keyed by platform (`{"instagram": "@ada"}`,
`{"instagram": 120000}`) rather than a child table: they are always read and replaced together
with the creator (declarative PUT), nobody pages through them on their own, a list stays one
query without a join or aggregation, and the platform key is validated by the schema's enum.
Filtering by platform uses the jsonb `?` operator.
"""
