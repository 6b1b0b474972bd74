"""Fail fast, with a clear message, when the test servers (MariaDB, Redis) are not reachable."""

import os
import sys
from urllib.parse import urlparse

import MySQLdb
import redis

DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/store_manager"
DEFAULT_PAYMENTS_DATABASE_URL = "mysql://root@127.0.0.1:3306/payments"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def check_database(url: str, variable: str = "DATABASE_URL") -> str | None:
    parts = urlparse(url)
    if parts.scheme not in ("mysql", "mariadb"):
        return f"{variable} must point at MariaDB/MySQL for the tests, got {parts.scheme}://"
    try:
        MySQLdb.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            connect_timeout=3,
        ).close()
    except MySQLdb.Error as error:
        return f"MariaDB is not reachable at {parts.hostname}:{parts.port or 3306} ({error})"
    return None


def check_redis(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {url} ({error})"
    return None


def main() -> int:
    problems = [
        problem
        for problem in (
            check_database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
            check_database(
                os.environ.get("PAYMENTS_DATABASE_URL", DEFAULT_PAYMENTS_DATABASE_URL),
                "PAYMENTS_DATABASE_URL",
            ),
            check_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)),
        )
        if problem
    ]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(
            "The tests need real MariaDB and Redis servers: start them, or point DATABASE_URL, "
            "PAYMENTS_DATABASE_URL and REDIS_URL at running ones.",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
