"""`make run` and `make stack`: Store Manager served on this machine, in the foreground until Ctrl-C.

    python -m scripts.serve dev      the embedded setup (make run): runserver with DEBUG on, a SQLite
                                     file per service, an in-process cache
    python -m scripts.serve stack    the production topology of docker-compose.yml (make stack), as
                                     processes (scripts/stack.py): KrakenD in front of STACK_REPLICAS
                                     store replicas (default 2) and payments under gunicorn with
                                     DEBUG off, the three workers, a MariaDB server per service,
                                     Redis and Prometheus; secrets generated for the run

Both migrate, seed demo data into an empty store (printing the demo logins), print where everything
is, and stop everything they started on Ctrl-C.
"""

import argparse
import os
import signal
import sys
import time

from scripts.gateway import krakend_missing
from scripts.stack import HOST, PAYMENTS_SETTINGS, ROOT, STORE_SETTINGS, Stack, StackPorts, manage
from scripts.supervisor import Program, Supervisor, http_ok


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def serve_until_interrupted(supervisor: Supervisor) -> None:
    """Waits for Ctrl-C (or SIGTERM), restarting what exits meanwhile."""
    supervisor.watch()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)


# --- make run ---------------------------------------------------------------------------------------


def development() -> None:
    port, payments_port = os.environ.get("STORE_PORT", "8000"), os.environ.get("PAYMENTS_PORT", "8001")
    shared = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
    # How each service reaches the other (docs/adr/0005-payments-service.md), unless the environment
    # says otherwise; the payments URLs name its API root, as the gateway's /payments-api does in
    # production (docs/adr/0008-gateway.md). Each service's settings module is its own, whatever
    # DJANGO_SETTINGS_MODULE the shell has.
    store_env = {
        "PAYMENTS_URL": f"http://{HOST}:{payments_port}/api/v1",
        **shared,
        "DJANGO_SETTINGS_MODULE": STORE_SETTINGS,
    }
    payments_env = {
        "PAYMENTS_PUBLIC_URL": f"http://{HOST}:{payments_port}/api/v1",
        "STORE_URL": f"http://{HOST}:{port}",
        **shared,
        "DJANGO_SETTINGS_MODULE": PAYMENTS_SETTINGS,
    }
    manage(payments_env, "migrate", "--noinput", "-v0")
    manage(store_env, "migrate", "--noinput", "-v0")
    manage(store_env, "seed", "--if-empty")
    with Supervisor() as supervisor:
        for name, env, listen in (("payments", payments_env, payments_port), ("store", store_env, port)):
            supervisor.start(
                Program(
                    name=name,
                    command=[sys.executable, "manage.py", "runserver", f"{HOST}:{listen}"],
                    env=env,
                    log=None,  # runserver's lines on this terminal, as developers expect
                    ready=http_ok(f"http://{HOST}:{listen}/health/"),
                    cwd=ROOT,
                )
            )
        store, payments = f"http://{HOST}:{port}", f"http://{HOST}:{payments_port}"
        print_table(
            "Store Manager is running (development: DEBUG on, SQLite, in-process cache):",
            [
                ("browsable API", f"{store}/api/v1/"),
                ("API docs", f"{store}/api/v1/docs/"),
                ("admin", f"{store}/admin/"),
                ("GraphiQL", f"{store}/graphql/"),
                ("health", f"{store}/health/ready/"),
                (
                    "payments API",
                    f"{payments}/api/v1/payments/ (card 4000 0000 0000 0002 is always declined)",
                ),
            ],
        )
        print("Stop with Ctrl-C.", flush=True)
        serve_until_interrupted(supervisor)


# --- make stack ---------------------------------------------------------------------------------------


def production() -> None:
    if reason := krakend_missing():
        raise SystemExit(f"stack: {reason}")
    replicas = int(os.environ.get("STACK_REPLICAS", "2"))
    ports = StackPorts(replicas=tuple(8100 + number for number in range(1, replicas + 1)))
    with Stack(ports=ports) as stack:
        print_table(
            f"Store Manager is running (production topology: DEBUG off, MariaDB, Redis), through "
            f"{stack.gateway_url}:",
            stack.where(),
        )
        print("Stop with Ctrl-C.", flush=True)
        serve_until_interrupted(stack.supervisor)


def main() -> None:
    # Ctrl-C, a SIGTERM, or the terminal closing (SIGHUP) stop everything, even when this process was
    # started with SIGINT ignored (as a shell starts a command in the background).
    def interrupt(*_):
        raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, interrupt)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("topology", choices=["dev", "stack"])
    {"dev": development, "stack": production}[parser.parse_args().topology]()


if __name__ == "__main__":
    main()
