"""Outgoing email: rendered from `emails/templates`, stored in the `email_messages` outbox in
the same transaction as the change that causes it, and delivered over SMTP by the `send_email`
task. Without `SMTP_HOST` the outbox table is where mail ends up (`make mail-outbox`).
"""
