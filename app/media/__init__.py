"""Media: uploaded files (post drafts, brand logos, creator avatars and media kits, and files on
thread messages, which `app.threads` attaches through `MediaService`).

Owns `media_files` (one row per file, team-scoped; post media also carry their `campaign_id`, so
RLS shows a campaign guest the media of their campaigns only) and `post_media_orders` (the
version of a post's media order). Bytes live in a `Storage` (local folder or S3-compatible),
never in the database and never behind a public URL: downloads go through short-lived signed
URLs. Uploads go straight to storage in two steps (CreateUpload, then CompleteUpload); the
`process_upload` task checks what really arrived and moves the file to `ready` or `rejected`.
"""
