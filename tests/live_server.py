"""The one test server: the hub's app served by uvicorn on a loopback port, in a thread."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from omnikanal.app import create_app
from omnikanal.hub import Hub


class LiveServer:
    """The hub's app served by uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, hub: Hub, sock: socket.socket | None = None) -> None:
        """Serve on ``sock`` when given (a port a test had to know before the hub was built)."""
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(hub, manage_lifecycle=False), log_level="warning", lifespan="on", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
