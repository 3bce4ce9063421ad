"""Run a parse off the event loop in a daemon thread, so the loop stays free meanwhile.

``asyncio.to_thread`` would do the work too, but its executor is waited for when the loop
closes: Ctrl-C during the parse of a 20,000-operation document then took as long as the parse.
A daemon thread is not waited for; a scan cancelled meanwhile drops its result when it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["off_loop"]

_T = TypeVar("_T")


async def off_loop(func: Callable[[], _T]) -> _T:
    """``func()`` in a daemon thread, so the loop (time budget, Ctrl-C) stays free meanwhile.

    A scan cancelled meanwhile does not wait for it: its result is dropped when it comes.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(result: _T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        result: _T | None = None
        error: BaseException | None = None
        try:
            result = func()
        except BaseException as exc:  # handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="middlebrick-load", daemon=True).start()
    return await future
