"""A real HTTP receiver on loopback: webhook and chat posts arrive over TCP, nothing is
mocked at the HTTP layer."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; ``status`` is what it answers, ``hang`` seconds it waits first.
    ``stop()`` and ``start()`` take it off and back on the same port (an outage)."""

    posts: list[Received] = field(default_factory=list)
    status: int = 204
    hang: float = 0.0
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if receiver.hang:
                    time.sleep(receiver.hang)
                receiver.posts.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                answer = b'{"ok": true}' if receiver.status < 300 else b"receiver broke"
                try:
                    self.send_response(receiver.status)
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (the timeout test)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def allow_private(monkeypatch):
    """Loopback receivers over plain http are allowed (CRMPHASE_WEBHOOKS_ALLOW_PRIVATE)."""
    monkeypatch.setenv("CRMPHASE_WEBHOOKS_ALLOW_PRIVATE", "1")


@pytest.fixture
def receiver(allow_private):
    started = Receiver()
    started.start()
    yield started
    started.stop()
