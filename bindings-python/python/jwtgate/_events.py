"""Delivers the engine's events (background key refreshes included) to ``logging`` as they
happen, from one daemon thread per process.

The thread blocks in ``os.read`` on a socket whose other end the engine writes a byte to when
it queues an event; then it forwards the queue (``_native.flush_logs``) with the GIL held. The
engine's I/O threads never run Python: they only write that byte. At exit the thread is stopped
and joined before the interpreter finalizes; after ``fork()`` the child starts its own.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Optional

from . import _native

_lock = threading.Lock()
_thread: Optional[threading.Thread] = None
_stop = threading.Event()
_fd = -1


def _run(fd: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            woke = os.read(fd, 4096)
        except OSError:
            return
        if not woke:
            return
        _native.flush_logs()


def start() -> None:
    """Starts the thread (idempotent)."""
    global _thread, _fd, _stop
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _stop = threading.Event()
        _fd = _native._events_fd()
        _thread = threading.Thread(target=_run, args=(_fd, _stop), name="jwtgate-events", daemon=True)
        _thread.start()


def stop() -> None:
    """Forwards what is queued, then stops the thread and waits for it (at exit)."""
    global _thread
    thread = _thread
    _stop.set()
    _native._wake_events()
    if thread is not None:
        thread.join(timeout=2.0)
    _thread = None
    _native.flush_logs()


def _after_fork_in_child() -> None:
    global _thread
    # The parent's thread does not exist here; its socket stays the parent's.
    _thread = None
    start()


atexit.register(stop)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
