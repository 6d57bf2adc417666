"""Database core: bases with row-level security, tenant context, engines and sessions.

`app.db` never imports a domain; domains import it.
"""
