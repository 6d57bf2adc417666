"""Activity events: the audit trail and the team feed.

Table: `events` (team-scoped by RLS; the application role may only INSERT and SELECT, so a
recorded event can never be edited or removed by the app). Every service that creates, changes
or deletes a tracked object writes an event in the same transaction through `emit_event` or
`update_model_with_event` (app/events/services.py). Members read the feed; guests do not
(events of other campaigns would leak through it).
"""
