"""Real server processes on loopback for fault tests and benchmarks: a private
redis-server that may be stopped, gunicorn, Celery worker and beat.

Plain Python (no pytest, no Django import) so that bench scripts use it too. Every
process starts in its own session, so stopping it stops its children, and nothing
here touches the shared Redis or PostgreSQL servers.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate, *, timeout: float, what: str, process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready within {timeout} s")


class ServerProcess:
    """A child process in its own session; `stop()` ends it and its children."""

    name = "process"

    def __init__(self, command: list[str], env: dict | None = None):
        self.command = command
        self.log: Path | None = None  # where its output goes (default: inherited)
        # A None value removes the variable from the inherited environment.
        merged = {**os.environ, **(env or {})}
        self.env = {key: value for key, value in merged.items() if value is not None}
        self.process: subprocess.Popen | None = None

    def start(self):
        output = None
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            output = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=output,
            stderr=output,
        )
        if output is not None:
            output.close()  # the child holds its own descriptor
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Subclasses wait until the server answers."""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group, as a crash or an OOM kill would."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the main process only: gunicorn's arbiter and Celery's main
        process then stop their children gracefully (a Celery worker finishes the
        tasks it holds). Whatever is left after `timeout` is killed."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def rss_bytes(self) -> int:
        """Resident memory of the process and all its descendants (Linux /proc)."""
        if not self.running:
            return 0
        return sum(
            _rss(pid) for pid in [self.process.pid, *_descendants(self.process.pid)]
        )


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return children


def _descendants(pid: int) -> list[int]:
    found, pending = [], _children(pid)
    while pending:
        child = pending.pop()
        found.append(child)
        pending += _children(child)
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RedisServer(ServerProcess):
    """A private, non-persistent redis-server on a free loopback port. `stop()` and
    `start()` again keep the port, as a restarted Redis would (its data is gone:
    the worst case for a broker)."""

    name = "redis-server"

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.directory = tempfile.mkdtemp(prefix="oms-redis-")
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        super().__init__(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
                "--loglevel",
                "warning",
            ]  # fmt: skip
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def wait_ready(self) -> None:
        _wait(lambda: _port_open(self.port), timeout=10, what=self.name,
              process=self.process)  # fmt: skip

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        _wait(lambda: not _port_open(self.port), timeout=10, what="redis shutdown")

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class Gunicorn(ServerProcess):
    """`gunicorn oms.wsgi` on a free loopback port, ready once it answers HTTP."""

    name = "gunicorn"

    def __init__(self, *, workers: int = 2, threads: int = 1, env: dict | None = None):
        self.port = free_port()
        super().__init__(
            [
                str(BIN / "gunicorn"),
                "oms.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],  # fmt: skip
            {"DEBUG": "false", "LOG_LEVEL": "WARNING", **(env or {})},
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        import urllib.error
        import urllib.request

        def answers() -> bool:
            try:
                urllib.request.urlopen(f"{self.url}/api/v1/orders", timeout=5)
            except urllib.error.HTTPError:
                return True  # 401 without a token: a worker serves requests
            except OSError:
                return False
            return True

        _wait(answers, timeout=60, what=self.name, process=self.process)


class CeleryProcess(ServerProcess):
    """`celery -A <app> worker` or `beat`; `app` may be a test module that adjusts
    the real app (tests/fault_worker.py)."""

    name = "celery"

    def __init__(self, role: str, *, app: str = "oms", env: dict | None = None,
                 arguments: tuple[str, ...] = ()):  # fmt: skip
        self.name = f"celery {role}"
        base = [sys.executable, "-m", "celery", "-A", app, role, "-l", "warning"]
        if role == "worker":
            base += [
                "--pool", "prefork", "--concurrency", "2",
                "--without-heartbeat", "--without-mingle", "--without-gossip",
            ]  # fmt: skip
        super().__init__([*base, *arguments], env)
