"""A real HTTP server on 127.0.0.1 for tests: a request handler served from a thread on a free
port, stopped when the block ends. The test sinks and fake vendors are handlers on top of it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 resets connections under a burst of notifications
    daemon_threads = True


@contextmanager
def loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler`; yields the server's base URL (`http://127.0.0.1:<port>`)."""
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
