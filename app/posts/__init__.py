"""Posts: the content a creator publishes for a campaign, from draft to published.

Table: `posts` (campaign-scoped: RLS by team and, for guests, by campaign). Members create and
edit; admins delete; guests read the posts of their campaigns. A post's creator must be booked
on its campaign (a campaign creator). Status moves only along `POST_TRANSITIONS`
(app/posts/services.py): an illegal move is a 409 naming the allowed ones; `scheduled` needs
`scheduled_at`, and `published` stamps `published_at` when it is not given.
"""
