"""`omnikanal serve` as its own process, started and stopped as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    """A running `omnikanal serve`; ``stop`` ends it with SIGTERM (a normal stop), ``kill`` with -9."""

    proc: subprocess.Popen[bytes]
    url: str

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


def start_serve(database_url: str, data_dir: Path, **settings: str) -> ServeProcess:
    """Start `omnikanal serve` on a free port with OMNIKANAL_* settings; wait until it answers."""
    port = free_port()
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": database_url,
        "OMNIKANAL_DATA_DIR": str(data_dir),
        "OMNIKANAL_AUTO_MIGRATE": "false",
        **{f"OMNIKANAL_{k.upper()}": v for k, v in settings.items()},
    }
    log = open(data_dir / f"serve-{port}.log", "wb")  # noqa: SIM115 - the process writes it until it ends
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnikanal", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return ServeProcess(proc, url)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"omnikanal serve did not start: {(data_dir / f'serve-{port}.log').read_text()}"
            )
        time.sleep(0.1)
