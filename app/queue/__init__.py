"""Background work on SAQ's PostgreSQL queue, in the application's own database.

`registry.py` declares tasks (`@task`, `@scheduled_task`); `config.py` imports each domain's
`tasks.py` and builds the litestar-saq configuration; `enqueue.py` puts jobs into the queue
inside the caller's database transaction; `worker.py` runs a worker process.
"""
