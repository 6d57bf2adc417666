"""Notifications: per-user rows telling someone that something needs them.

Owns `notifications` and `notification_preferences`. Kinds: `mention`, `assigned` (a to-do
assigned to you), `reply` (a message in a thread you took part in), `status_changed` (on a post
you created or whose to-do is yours) and `invitation`. Rows are written in their cause's
transaction, never for the actor, at most once per cause and recipient (a unique key). A user
reads only their own rows: the row-level policy is on the user context, not on a WHERE.
The email digest (`tasks.py`) is a named system job. Domains never import this module.
"""
