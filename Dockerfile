# One image for both services (docker-compose.yml): the store by default; the payments service runs
# the same image with DJANGO_SETTINGS_MODULE=store_manager.settings.payments and PORT=8001.
#
# Debian bookworm in both stages, as on the machines the tests run on: its MariaDB Connector/C (3.3)
# is the client library the suite is tested with, and it fetches MySQL 8.4's RSA key itself for
# caching_sha2_password logins over the private network.

# Builder: compilers and headers, only to build the wheels (mysqlclient) into a virtualenv.
FROM python:3.11-slim-bookworm AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config libmariadb-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

# Runtime: the virtualenv, the code and the MariaDB client library; no compiler, not root.
FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=store_manager.settings.store \
    PORT=8000
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# The code stays root's: the service can read it, not change it.
COPY . .
# The store's static files (admin, browsable API, Swagger UI, GraphiQL) into STATIC_ROOT, compressed,
# served by the store itself (WhiteNoise). DEBUG=1 only lets the settings load without this build needing
# the secrets; no database is touched. var/ is where the settings may write (SQLite fallback).
RUN DEBUG=1 python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p var \
    && chown app:app var
USER 10001:10001
EXPOSE 8000 8001
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "docker/healthcheck.py"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "store_manager.wsgi"]
