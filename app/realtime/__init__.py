"""Real time: one WebSocket per client at `/api/ws`, delivering what PostgreSQL `NOTIFY` carries.

Writers call `publish(...)` inside their transaction (it is a `pg_notify`), so a frame exists
exactly when its change committed, in commit order. Each API process keeps one `LISTEN`
connection (`listener.py`) and fans frames out to its own sockets (`hub.py`). This module knows
topics and frames, not domains: `threads` and `notifications` decide what to publish, and
register how their topics are authorised and how a too-large frame is read back.
"""
