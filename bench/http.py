"""HTTP/1.1 keep-alive clients for the load phases: a lean one on asyncio streams, and httpx.

The load generator shares the CPUs with the server, so what it spends per request is taken from the
server. httpx.AsyncClient costs several times more CPU per request than writing the request bytes
and reading the answer off a kept-alive socket, so the lean client is the default and httpx can be
chosen for comparison (``--client httpx``). The lean client speaks only what the benchmark needs:
requests with a fixed body, answers with Content-Length, to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

T = TypeVar("T")
TIMEOUT = 30.0
IDLE_LIMIT = 4.0


class HttpError(Exception):
    """The request got no HTTP answer (connection refused or lost, timeout, malformed answer)."""


class Client(Protocol):
    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]: ...

    async def __aenter__(self) -> Client: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (it is, with uvicorn[standard]): less CPU per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class LeanClient:
    """Kept-alive connections, opened as needed up to ``connections``; one request per connection."""

    def __init__(self, base_url: str, headers: dict[str, str], connections: int) -> None:
        parts = urlsplit(base_url)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError("the benchmark only talks to 127.0.0.1:<port>")
        self._host, self._port = parts.hostname, parts.port
        fixed = [f"Host: {self._host}:{self._port}", "Connection: keep-alive"]
        fixed += [f"{name}: {value}" for name, value in headers.items()]
        self._fixed = ("\r\n".join(fixed) + "\r\n").encode("latin-1")
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(connections)

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\n".encode("latin-1") + self._fixed
        if body is not None:
            head += b"Content-Length: %d\r\n" % len(body)
        payload = head + b"\r\n" + (body or b"")
        async with self._slots:
            for attempt in (1, 2):
                conn = self._reuse()
                reused = conn is not None
                try:
                    if conn is None:
                        reader, writer = await asyncio.wait_for(
                            asyncio.open_connection(self._host, self._port), TIMEOUT
                        )
                        conn = _Connection(reader, writer)
                    status, answer, keep = await asyncio.wait_for(self._exchange(conn, payload), TIMEOUT)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    if conn is not None:
                        conn.close()
                    # A kept-alive connection the server closed meanwhile: once more on a new one.
                    if reused and attempt == 1:
                        continue
                    raise HttpError(f"{type(exc).__name__}: {exc}") from None
                except (TimeoutError, ValueError) as exc:
                    if conn is not None:
                        conn.close()
                    raise HttpError(f"{type(exc).__name__}: {exc}") from None
                if keep:
                    conn.idle_since = time.monotonic()
                    self._idle.append(conn)
                else:
                    conn.close()
                return status, answer
        raise AssertionError("unreachable")

    def _reuse(self) -> _Connection | None:
        """The most recently used idle connection; ones idle long enough for the server to drop
        them (uvicorn keeps idle connections 5 s) are closed instead."""
        while self._idle:
            conn = self._idle.pop()
            if time.monotonic() - conn.idle_since < IDLE_LIMIT:
                return conn
            conn.close()
        return None

    @staticmethod
    async def _exchange(conn: _Connection, payload: bytes) -> tuple[int, bytes, bool]:
        conn.writer.write(payload)
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        keep = True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
            elif name == b"transfer-encoding":
                raise ValueError("chunked answers are not supported by the lean client")
        if length is None:
            raise ValueError("the answer has no Content-Length")
        answer = await conn.reader.readexactly(length) if length else b""
        return status, answer, keep


class HttpxClient:
    """The same interface over httpx.AsyncClient (HTTP/1.1, keep-alive)."""

    def __init__(self, base_url: str, headers: dict[str, str], connections: int) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=TIMEOUT,
        )

    async def __aenter__(self) -> HttpxClient:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.__aexit__(kind, exc, tb)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        try:
            response = await self._client.request(method, path, content=body)
        except httpx.HTTPError as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from None
        return response.status_code, response.content


def make_client(kind: str, base_url: str, headers: dict[str, str], connections: int) -> Client:
    if kind == "httpx":
        return HttpxClient(base_url, headers, connections)
    return LeanClient(base_url, headers, connections)
