"""A small process supervisor: what `docker compose` does for the containers, for processes on this machine.

Each `Program` runs in a process group of its own (a gunicorn master and its workers, a server and
its helpers), with its output in a log file or on this terminal. `Supervisor.start` starts one and
waits until it is ready (its probe answers), `watch` restarts a program that exits while nobody
stopped it, as the containers' `restart: unless-stopped` does, and `stop_all` stops everything in the
reverse order it was started: SIGTERM to the group, SIGKILL for what did not stop in time.
"""

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 90.0  # seconds for a program to become ready
STOP_TIMEOUT = 15.0  # seconds for a program to stop on SIGTERM before it is killed
# Waits before restarting a program that exited: doubling from the first to the longest.
FIRST_RESTART_WAIT = 1.0
LONGEST_RESTART_WAIT = 30.0
WATCH_INTERVAL = 0.5


def http_ok(url: str) -> Callable[[], bool]:
    """A probe: `url` answers 2xx."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            return False

    return probe


def tcp_open(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    """A probe: something accepts connections on `host:port`."""

    def probe() -> bool:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            return False

    return probe


@dataclass
class Program:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path | None  # None: this process's own output
    ready: Callable[[], bool]
    cwd: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    # Set while the supervisor means the program to be stopped, so that `watch` leaves it alone.
    stopped: bool = False
    started_at: float = 0.0
    backoff: float = 0.0  # the last wait before a restart
    restart_at: float | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        if self.log is None:
            self._popen(None)
        else:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a") as output:
                self._popen(output)
        self.started_at = time.monotonic()

    def _popen(self, output) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )

    def log_tail(self) -> str:
        if self.log is None:
            return "(its output is above)"
        return f"the end of {self.log}:\n{self.log.read_text(errors='replace')[-3000:]}"

    def signal(self, number: int) -> None:
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, number)


class ProgramFailed(RuntimeError):
    pass


class Supervisor:
    def __init__(self, *, report: Callable[[str], None] = print):
        self.programs: dict[str, Program] = {}
        self.report = report
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> "Supervisor":
        return self

    def __exit__(self, *exception) -> None:
        self.stop_all()

    def start(self, program: Program, *, timeout: float = START_TIMEOUT) -> Program:
        """Starts `program` and waits until its probe answers; ProgramFailed if it exits or times out."""
        with self._lock:
            self.programs[program.name] = program
            program.stopped, program.restart_at = False, None
            program.launch()
        deadline = time.monotonic() + timeout
        # Ready means answering and still running: an answer from a program that exited is another's
        # (one left running on the same port by an earlier run, say).
        while not (program.ready() and program.running):
            if not program.running or time.monotonic() > deadline:
                self.stop(program.name)
                raise ProgramFailed(f"{program.name} did not become ready; {program.log_tail()}")
            time.sleep(0.1)
        return program

    def stop(self, name: str) -> None:
        """Stops one program: SIGTERM to its group, SIGKILL after STOP_TIMEOUT."""
        program = self.programs[name]
        with self._lock:
            program.stopped = True
        if program.process is None:
            return
        program.signal(signal.SIGCONT)  # a paused program cannot act on SIGTERM
        program.signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            program.process.wait(timeout=STOP_TIMEOUT)
        program.signal(signal.SIGKILL)  # and anything left in its group
        program.process.wait()

    def stop_all(self) -> None:
        """Everything, in the reverse order it was started; a second Ctrl-C does not cut it short."""
        interrupts = None
        if threading.current_thread() is threading.main_thread():
            interrupts = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._stopping.set()
            if self._watcher is not None:
                self._watcher.join()
            for name in reversed(list(self.programs)):
                self.stop(name)
        finally:
            if interrupts is not None:
                signal.signal(signal.SIGINT, interrupts)

    def kill(self, name: str) -> None:
        """A crash: SIGKILL to the whole group (`watch` restarts it, as it would after any exit)."""
        self.programs[name].signal(signal.SIGKILL)

    def pause(self, name: str) -> None:
        """A hung program: the kernel still accepts its connections, nothing answers them."""
        self.programs[name].signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.programs[name].signal(signal.SIGCONT)

    def watch(self) -> None:
        """From now on, restart in the background every program that exits without being stopped."""
        self._watcher = threading.Thread(target=self._restart_exited, name="supervisor", daemon=True)
        self._watcher.start()

    def _restart_exited(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL):
            with self._lock:
                for program in self.programs.values():
                    if program.stopped or program.running:
                        continue
                    now = time.monotonic()
                    if program.restart_at is None:
                        # Exits in a row wait longer each time; one after a long run starts afresh.
                        if now - program.started_at > LONGEST_RESTART_WAIT:
                            program.backoff = 0.0
                        wait = min(max(program.backoff * 2, FIRST_RESTART_WAIT), LONGEST_RESTART_WAIT)
                        program.backoff = wait
                        program.restart_at = now + program.backoff
                        code = program.process.returncode
                        self.report(f"{program.name} exited ({code}); restarting in {program.backoff:g} s")
                    elif now >= program.restart_at:
                        program.restart_at = None
                        program.launch()
