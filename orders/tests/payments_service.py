"""The real payments service for the store's tests: its own MariaDB database and process.

`running_payments_service()` creates a fresh database named after PAYMENTS_DATABASE_URL (or, when that
is not set, after the store's own test database, on the same server), migrates it with the payments
settings in a subprocess and serves it with gunicorn on a free port of 127.0.0.1, exactly as it is
deployed. It shares the store's test secrets and notifies `store_url`.
"""

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
import MySQLdb
import requests
from django.conf import settings
from django.db import connection

from core.tests.processes import ServiceProcess
from scripts.stack import free_port

SETTINGS_MODULE = "store_manager.settings.payments_test"
START_TIMEOUT = 30
GUNICORN = ["--workers", "2", "--threads", "4", "--graceful-timeout", "2"]


@dataclass
class PaymentsService:
    url: str
    env: dict[str, str]
    database: dict
    log: Path

    @property
    def api_root(self) -> str:
        """What PAYMENTS_URL and PAYMENTS_PUBLIC_URL name: the root `/payments/...` is appended to."""
        return f"{self.url}/api/v1"

    def manage(self, *args: str) -> str:
        """Run a payments `manage.py` command (its own settings and database); returns its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def get(self, path: str) -> dict:
        response = requests.get(
            self.url + path, headers={"Authorization": f"Bearer {settings.PAYMENTS_SERVICE_TOKEN}"}, timeout=5
        )
        assert response.status_code == 200, response.text
        return response.json()

    def empty(self) -> None:
        """Delete every payment (and its events and notifications): each test starts from none."""
        with _server(self.database) as server:
            cursor = server.cursor()
            cursor.execute(f"USE `{self.database['NAME']}`")
            cursor.execute("SHOW TABLES")
            tables = [name for (name,) in cursor.fetchall() if name.startswith("payments_")]
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in tables:
                cursor.execute(f"DELETE FROM `{table}`")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
            server.commit()


def _database_url() -> str:
    url = os.environ.get("PAYMENTS_DATABASE_URL")
    if url:
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_live"))
    store = connection.settings_dict
    credentials = store["USER"] + (f":{store['PASSWORD']}" if store["PASSWORD"] else "")
    server = f"{store['HOST'] or '127.0.0.1'}:{store['PORT'] or 3306}"
    return f"mysql://{credentials}@{server}/{store['NAME']}_payments"


@contextmanager
def _server(database: dict):
    server = MySQLdb.connect(
        host=database["HOST"] or "127.0.0.1",
        port=int(database["PORT"] or 3306),
        user=database["USER"],
        password=database["PASSWORD"],
    )
    try:
        yield server
    finally:
        server.close()


def _recreate(database: dict) -> None:
    with _server(database) as server:
        cursor = server.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{database['NAME']}`")
        cursor.execute(
            f"CREATE DATABASE `{database['NAME']}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )


def _drop(database: dict) -> None:
    with _server(database) as server:
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{database['NAME']}`")


@contextmanager
def payments_database(*, store_url: str, port: int | None = None) -> Iterator[PaymentsService]:
    """A fresh, migrated payments database and what it takes to serve it on `port` (a free one by
    default); nothing runs yet. The database is dropped at the end."""
    database_url = _database_url()
    database = environ.Env.db_url_config(database_url)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "PAYMENTS_DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PAYMENTS_SERVICE_TOKEN": settings.PAYMENTS_SERVICE_TOKEN,
        "PAYMENTS_WEBHOOK_SECRET": settings.PAYMENTS_WEBHOOK_SECRET,
        "PAYMENTS_PUBLIC_URL": f"{url}/api/v1",
        "STORE_URL": store_url,
        "LOG_LEVEL": "WARNING",
    }
    _recreate(database)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            service = PaymentsService(url=url, env=env, database=database, log=Path(scratch) / "payments.log")
            service.manage("migrate", "--noinput", "-v0")
            yield service
    finally:
        _drop(database)


def gunicorn_command(url: str) -> list[str]:
    """How payments is served, exactly as it is deployed."""
    bind = url.removeprefix("http://")
    return [sys.executable, "-m", "gunicorn", "store_manager.wsgi", "--bind", bind, *GUNICORN]


@contextmanager
def running_payments_service(*, store_url: str) -> Iterator[PaymentsService]:
    with payments_database(store_url=store_url) as service:
        port = urlsplit(service.url).port
        server = ServiceProcess(
            command=gunicorn_command(service.url), env=service.env, port=port, log=service.log
        )
        server.start()
        try:
            yield service
        finally:
            server.stop()
