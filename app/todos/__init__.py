"""To-dos: the work around a campaign (brief the creator, review the draft, pay the invoice).

Table: `todos` (campaign-scoped: RLS by team and, for guests, by campaign). Members create,
edit and delete; guests read the to-dos of their campaigns. The assignee must be a member of
the team and the optional post must belong to the same campaign (422 naming the field).
Deleting a post keeps its to-dos (their `post_id` becomes null); deleting the campaign deletes them.
"""
