"""The server under test: a fresh database, the ``omnikanal`` command, and the RSS of the process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
from psycopg import sql
from rich.console import Console
from sqlalchemy.engine import make_url

from bench import cpu

LOCAL_HOSTS = {None, "", "127.0.0.1", "localhost", "::1"}
HOST = "127.0.0.1"


class BenchError(Exception):
    """Something the benchmark needs did not work; the message says what."""


@dataclass
class Target:
    """One engine with a fresh, empty database, and the environment that points the server at it."""

    engine: str  # sqlite or postgresql
    url: str  # SQLAlchemy URL of the database
    env: dict[str, str]
    workdir: Path  # logs and the SQLite file
    description: str
    database_name: str | None = None  # PostgreSQL: the database, to find its backends


def omnikanal_command() -> Path:
    """The console script installed next to the running interpreter (the venv's)."""
    path = Path(sys.executable).parent / "omnikanal"
    if not path.exists():
        raise BenchError(f"{path} not found: install the project into this environment (pip install -e .)")
    return path


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMNIKANAL_DATA_DIR", "OMNIKANAL_DATABASE_URL")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def settings_overrides() -> dict[str, str]:
    """OMNIKANAL_* settings inherited from the caller's environment (they apply to the server)."""
    return {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith("OMNIKANAL_")
        and k not in ("OMNIKANAL_DATA_DIR", "OMNIKANAL_DATABASE_URL")
        and not k.startswith("OMNIKANAL_TEST_")
    }


@contextmanager
def sqlite_target(parent: Path | None) -> Iterator[Target]:
    workdir = Path(tempfile.mkdtemp(prefix="omnikanal-bench-", dir=parent))
    try:
        env = _base_env() | {"OMNIKANAL_DATA_DIR": str(workdir)}
        url = f"sqlite:///{(workdir / 'omnikanal.db').as_posix()}"
        yield Target("sqlite", url, env, workdir, f"SQLite file on {filesystem_of(workdir)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def check_local_postgres(admin_url: str) -> None:
    host = make_url(admin_url).host
    if host not in LOCAL_HOSTS:
        raise BenchError(f"refusing to create and drop databases on {host}: only a local server is used")


def postgres_unreachable(admin_url: str) -> str | None:
    """Why the PostgreSQL server cannot be used, or None when it answers."""
    try:
        check_local_postgres(admin_url)
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, BenchError) as exc:
        return f"PostgreSQL not usable at {admin_url}: {str(exc).strip()}"
    return None


@contextmanager
def postgres_target(admin_url: str) -> Iterator[Target]:
    check_local_postgres(admin_url)
    name = f"omnikanal_bench_{uuid.uuid4().hex[:12]}"
    workdir = Path(tempfile.mkdtemp(prefix="omnikanal-bench-"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = conn.execute("SHOW server_version").fetchone()
    try:
        url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
        rendered = url.render_as_string(hide_password=False)
        env = _base_env() | {"OMNIKANAL_DATABASE_URL": rendered}
        described = f"PostgreSQL {version[0] if version else '?'}, database {name} (dropped afterwards)"
        yield Target("postgresql", rendered, env, workdir, described, name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def targets(engine: str, postgres_url: str, console: Console) -> Iterator[Target]:
    """Each engine asked for (sqlite, postgresql or both) with a fresh database, one at a time;
    PostgreSQL is skipped, with the reason printed, when its server does not answer."""
    for name in ("sqlite", "postgresql") if engine == "both" else (engine,):
        if name == "postgresql":
            reason = postgres_unreachable(postgres_url)
            if reason:
                console.print(f"[yellow]skipping PostgreSQL[/yellow]: {reason}")
                continue
            with postgres_target(postgres_url) as target:
                yield target
        else:
            with sqlite_target(None) as target:
                yield target


def filesystem_of(path: Path) -> str:
    """e.g. 'ext4 (/)', so a tmpfs data folder (no real fsync) is visible in the report."""
    resolved = str(path.resolve())
    best: tuple[str, str] = ("?", "/")
    for part in psutil.disk_partitions(all=True):
        mount = part.mountpoint
        if (resolved == mount or resolved.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best[1]):
            best = (part.fstype, mount)
    return f"{best[0]} ({best[1]})"


def run_cli(target: Target, *args: str) -> str:
    """Run ``omnikanal <args>`` against the target; its stdout."""
    done = subprocess.run(
        [str(omnikanal_command()), *args],
        env=target.env | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"omnikanal {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        raise BenchError("the command printed nothing")
    return lines[-1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """``omnikanal serve`` as a subprocess on a free local port."""

    def __init__(self, target: Target, log_name: str, workers: int | None = None) -> None:
        self._target = target
        self._workers = workers
        self.log_path = target.workdir / log_name
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self, timeout: float = 90.0) -> None:
        self.port = _free_port()
        with self.log_path.open("ab") as log:
            command = [str(omnikanal_command()), "serve", "--host", HOST, "--port", str(self.port)]
            if self._workers:
                command += ["--workers", str(self._workers)]
            self._proc = subprocess.Popen(
                command,
                env=self._target.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the benchmark, which then stops the server
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise BenchError(f"the server exited with {self._proc.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise BenchError(f"the server did not answer /health within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # The server leads its own process group (start_new_session): that takes its workers too.
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_problems(self) -> dict[str, list[str]]:
        """Lines of the server log at WARNING and above, by level ('Traceback' counts as ERROR),
        and transaction retries (as 'RETRY')."""
        found: dict[str, list[str]] = {}
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return found
        for line in text.splitlines():
            # the serve command logs "<date> <time> LEVEL logger: message"
            parts = line.split(" ", 3)
            level = parts[2] if len(parts) > 3 else ""
            if line.startswith("Traceback"):
                level = "ERROR"
            elif "retrying transaction" in line:
                level = "RETRY"  # logged at INFO by the engine module; it costs throughput
            if level in ("WARNING", "ERROR", "CRITICAL", "RETRY"):
                found.setdefault(level, []).append(line)
        return found


@dataclass
class RssSampler:
    """Samples the RSS of the server's process tree every ``interval`` seconds, per phase: by role
    (``server``: the serving process and any API children; ``worker``: the ``omnikanal worker``
    child) and summed over the tree."""

    pid: int
    interval: float = 0.1
    peak_bytes: int = 0  # the whole tree
    # Anonymous memory only (heap, stacks): RSS also counts pages of files mapped into the process,
    # such as the SQLite database with mmap_size set, which are page cache the kernel can drop.
    peak_anon_bytes: int = 0
    phase_peaks: dict[str, int] = field(default_factory=dict)
    role_peaks: dict[str, int] = field(default_factory=dict)  # role -> peak RSS
    role_anon_peaks: dict[str, int] = field(default_factory=dict)
    role_phase_peaks: dict[str, dict[str, int]] = field(default_factory=dict)  # role -> phase -> peak
    samples: int = 0
    _phase: str = "startup"
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def phase(self, name: str) -> None:
        self._phase = name

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            psutil.Process(self.pid)
        except psutil.Error:
            return
        tree: dict[str, list[psutil.Process]] = {}
        listed = 0.0
        while not self._stop.is_set():
            if time.monotonic() - listed > 2.0:  # listing children scans /proc: not at every sample
                tree = cpu.memory_roles(self.pid)
                listed = time.monotonic()
                if not tree[cpu.SERVER]:
                    return  # the server is gone
            total = anon_total = 0
            for role, procs in tree.items():
                rss = anon = 0
                for proc in procs:
                    with suppress(psutil.Error):
                        rss += proc.memory_info().rss
                        anon += _anon_bytes(proc.pid)
                total += rss
                anon_total += anon
                if procs:
                    self.role_peaks[role] = max(self.role_peaks.get(role, 0), rss)
                    self.role_anon_peaks[role] = max(self.role_anon_peaks.get(role, 0), anon)
                    phases = self.role_phase_peaks.setdefault(role, {})
                    phases[self._phase] = max(phases.get(self._phase, 0), rss)
            self.samples += 1
            self.peak_bytes = max(self.peak_bytes, total)
            self.peak_anon_bytes = max(self.peak_anon_bytes, anon_total)
            self.phase_peaks[self._phase] = max(self.phase_peaks.get(self._phase, 0), total)
            self._stop.wait(self.interval)


def _anon_bytes(pid: int) -> int:
    """RssAnon of /proc/<pid>/status (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"RssAnon:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
