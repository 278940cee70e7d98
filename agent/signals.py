"""Running a coroutine so that Ctrl-C and SIGTERM stop it gracefully, and a second one at once.

The first SIGINT/SIGTERM cancels the main task: the running session is aborted, the state saved,
and the caller sees :class:`~agent.errors.Interrupted` (exit 130). A second signal exits the
process immediately (state files are only ever replaced atomically, so nothing is torn).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from agent.errors import ExitCode, Interrupted

T = TypeVar("T")


def run_interruptible(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(_guarded(coro))


async def _guarded(coro: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(coro)
    hits = 0

    def on_signal(signum: int) -> None:
        nonlocal hits
        hits += 1
        if hits > 1:
            os._exit(int(ExitCode.INTERRUPTED))
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await task
    except asyncio.CancelledError:
        if hits:
            raise Interrupted("interrupted: state saved; run the same command to resume") from None
        raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
