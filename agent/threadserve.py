"""A stdlib HTTP server served from a daemon thread: the one lifecycle the scripted model, the
recording proxy and the replay server share."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


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
