"""Identity: user accounts, passwords, access and refresh tokens, login throttling.

Tables: `users`, `refresh_tokens`, `login_failures`. None is team-scoped: a user exists before
and across teams. Only the user themself reads or changes their account through the API.
"""
