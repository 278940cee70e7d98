"""A stdlib HTTP server served from a daemon thread: the one lifecycle the scripted model, the
recording proxy and the replay server share."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
"""A client that went away mid-answer: not an error worth a traceback."""
OwnerT = TypeVar("OwnerT")


class OwnedServer(ThreadingHTTPServer, Generic[OwnerT]):
    """A threading HTTP server whose handlers reach their ``owner`` (``self.server.owner``)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: OwnerT) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], DISCONNECTS):
            super().handle_error(request, client_address)


def serve(httpd: ThreadingHTTPServer, name: str) -> threading.Thread:
    """Serve ``httpd`` on a daemon thread named ``name``; returns the started thread."""
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=name,
                              daemon=True)
    thread.start()
    return thread


def shut(httpd: ThreadingHTTPServer | None, thread: threading.Thread | None) -> None:
    """Stop serving, close the socket and join the thread (either may already be gone)."""
    if httpd is not None:
        httpd.shutdown()
        httpd.server_close()
    if thread is not None:
        thread.join(timeout=5)
