"""Identity: user accounts, passwords, access and refresh tokens, login throttling.

Tables: `users`, `refresh_tokens`, `login_failures`, `action_tokens`, `oidc_login_flows`,
`totp_credentials`, `mfa_recovery_codes`. None is team-scoped: a user exists before and across
teams. Only the user themself reads or changes their account through the API. Every table has
row-level security; lookups before sign-in name their secret to it (`select_by_secret`).
"""
