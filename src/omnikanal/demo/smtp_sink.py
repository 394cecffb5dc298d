"""A local SMTP server that accepts every mail and keeps only a count: the demo's email "provider".

Just enough SMTP (RFC 5321) for a client that sends plain mail: EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT. Listens on loopback only."""

from __future__ import annotations

import asyncio
import threading


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.received = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the demo SMTP sink did not start")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._session, self.host, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        say("220 omnikanal-demo ESMTP sink")
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                command = raw.decode("utf-8", "replace").strip().upper()
                if command.startswith("EHLO"):
                    say("250-omnikanal-demo")
                    say("250-8BITMIME")
                    say("250 SMTPUTF8")
                elif command.startswith("HELO"):
                    say("250 omnikanal-demo")
                elif command.startswith("DATA"):
                    say("354 end with <CRLF>.<CRLF>")
                    await writer.drain()
                    while await reader.readline() not in (b".\r\n", b".\n", b""):
                        pass
                    self.received += 1
                    say("250 accepted")
                elif command.startswith("QUIT"):
                    say("221 bye")
                    await writer.drain()
                    break
                else:  # MAIL, RCPT, RSET, NOOP
                    say("250 ok")
                await writer.drain()
        finally:
            writer.close()
