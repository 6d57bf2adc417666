# One image for the API and the worker: `python -m app.cli serve | worker | db-upgrade | ...`.
# The runtime stage carries the application and its runtime dependencies only: no dev group
# (pytest, ...), no embedded PostgreSQL (the `embedded` group), no faker, no uv, no compilers.
# The base is Debian's own Python 3.11; `make docker-test` builds that base locally when no
# registry is reachable (scripts/docker-base.sh).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BASE_IMAGE} AS python
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

FROM python AS build
# Behind a TLS-intercepting proxy, pass its CA bundle for the downloads only (it never reaches a
# layer): podman build -v /etc/ssl/certs:/build-ca:ro --build-arg CA_BUNDLE=/build-ca/ca-certificates.crt
ARG CA_BUNDLE=
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3.11 -m venv /opt/uv \
    && PIP_CERT=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt} \
       /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check "uv==0.13.9"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON=/usr/bin/python3.11 UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock ./
# Litestar requires polyfactory (and so faker) but imports it only to invent OpenAPI examples,
# which we do not (`create_examples` is off): neither belongs in a production image.
RUN SSL_CERT_FILE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt} \
    /opt/uv/bin/uv sync --frozen --no-default-groups --no-install-project \
        --no-install-package polyfactory --no-install-package faker
COPY alembic.ini ./
COPY alembic ./alembic
COPY emails/templates ./emails/templates
COPY app ./app
RUN /app/.venv/bin/python -m compileall -q app alembic

FROM python AS runtime
# No useradd in a minimal Debian: the unprivileged user is two lines of /etc/passwd and /etc/group.
RUN echo "campaign:x:10001:10001:Campaign Platform:/app:/usr/sbin/nologin" >> /etc/passwd \
    && echo "campaign:x:10001:" >> /etc/group \
    && mkdir -p /app/.data/media && chown -R 10001:10001 /app/.data
WORKDIR /app
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 PORT=8000 APP_ENV=production
USER 10001:10001
EXPOSE 8000
# The API's liveness; the worker's compose service overrides it with `python -m app.cli worker-alive`.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/health', timeout=4)"]
CMD ["python", "-m", "app.cli", "serve"]
