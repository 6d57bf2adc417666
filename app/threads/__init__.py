"""Threads: a conversation on any object that inherits `ThreadableMixin` (campaigns, posts,
to-dos, creators, brands).

Owns `threads`, `thread_messages` and `thread_read_markers`. Members post messages; activity
events on the object become system messages through an `app.events` listener, written in the
event's own transaction. Rows are team-scoped, and those of campaign objects campaign-scoped,
so a campaign guest sees and posts only in threads of the campaigns granted to them.
Domains never import this module; `app.main` calls `install()` once.
"""
