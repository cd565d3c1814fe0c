# SPDX-License-Identifier: Apache-2.0

"""asyncio on top of libenos's completion callbacks (enos_report_async,
enos_publish_async) and its command handler.

A request is handed to the library, which returns at once; the library calls
back on one of its own threads, and the callback moves the outcome into the
event loop with ``loop.call_soon_threadsafe``. No thread of Python's is ever
blocked by the network, and the event loop is never blocked at all.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any, Dict, Optional, Tuple

from . import _lib
from .errors import error_class

# Requests in flight: id -> (loop, future, library). The id is the callback's
# user pointer; the entry is taken out exactly once, by the callback.
_pending: Dict[int, Tuple[asyncio.AbstractEventLoop, "asyncio.Future[int]", _lib.Library]] = {}
_pending_lock = threading.Lock()
_ids = itertools.count(1)


def _settle(fut: "asyncio.Future[int]", lib: _lib.Library, status: int, detail: str) -> None:
    if fut.done():  # cancelled by the awaiting task: the outcome is dropped
        return
    if status < 0:
        fut.set_exception(error_class(status)(detail, status, lib.strerror(status)))
    else:
        fut.set_result(status)


def _on_done(user: Optional[int], status: int) -> None:
    with _pending_lock:
        entry = _pending.pop(user or 0, None)
    if entry is None:
        return
    loop, fut, lib = entry
    # enos_last_error() in a callback is the request's detail (set on this thread).
    detail = lib.last_error() if status < 0 else ""
    try:
        loop.call_soon_threadsafe(_settle, fut, lib, status, detail)
    except RuntimeError:  # the event loop was closed: nobody awaits this any more
        pass


#: The one C callback object, alive for the process (ctypes must keep it).
DONE_TRAMPOLINE = _lib.DONE_FN(_on_done)


def submit(lib: _lib.Library, name: str, handle: Any, *args: Any) -> "asyncio.Future[int]":
    """Call the asynchronous C function ``name`` with ``handle, *args, fn, user``
    and return a future of its status (raising the EnosError of a failure). A
    refusal (ENOS_ERR_BUSY, ENOS_ERR_INVALID, ...) raises at once."""
    loop = asyncio.get_running_loop()
    fut: "asyncio.Future[int]" = loop.create_future()
    rid = next(_ids)
    with _pending_lock:
        _pending[rid] = (loop, fut, lib)
    rc = lib.fn(name)(handle, *args, DONE_TRAMPOLINE, rid)
    if rc != 0:
        with _pending_lock:
            _pending.pop(rid, None)
        detail = lib.last_error()
        raise error_class(rc)(detail, rc, lib.strerror(rc))
    return fut
