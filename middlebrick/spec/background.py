"""Parse big documents well: off the event loop, and without the cyclic garbage collector.

``off_loop`` runs a parse in a daemon thread, so the loop stays free meanwhile.
``asyncio.to_thread`` would do the work too, but its executor is waited for when the loop
closes: Ctrl-C during the parse of a 20,000-operation document then took as long as the parse.
A daemon thread is not waited for; a scan cancelled meanwhile drops its result when it comes.

``gc_paused`` holds the collector while a parse allocates its millions of objects (none of
them garbage yet): its full collections, each a walk of the whole heap, once took more than
half the load time of a 10,000-operation YAML description.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["gc_paused", "off_loop"]

_T = TypeVar("_T")
_gc_lock = threading.Lock()
_gc_holds = 0  # parses running now; the collector runs again when the last one ends
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector for the duration (nested and threaded uses count)."""
    global _gc_holds, _gc_was_enabled
    with _gc_lock:
        if _gc_holds == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holds += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holds -= 1
            if _gc_holds == 0 and _gc_was_enabled:
                gc.enable()


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
