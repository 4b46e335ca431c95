"""Pushgateway for short-lived processes: batch jobs, cron scripts and CI runs exit before any scrape.

Every family of the registry is pushed (HTTP PUT, replacing the group) under the grouping key
``job`` + ``instance`` (host name and pid, so concurrent or successive runs never overwrite each
other), every ``push_interval`` seconds from a daemon thread and once more at exit. A failed push is
counted as ``llm_telemetry_internal_errors_total{stage="push"}`` and logged once, never raised.
"""

from __future__ import annotations

import atexit
import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, push_to_gateway

from ..record import internal_error

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["Pusher", "default_job", "push_now", "start", "stop"]

#: Seconds one push may take: at exit this bounds how long a dead gateway delays the process.
TIMEOUT = 5.0


def default_job() -> str:
    """The program's name: ``eval.py`` for ``python eval.py``, the package for ``python -m pkg``."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] not in ("", "-c") else None
    if argv0 is None:
        return "python"
    return argv0.parent.name if argv0.stem == "__main__" else argv0.name


class Pusher:
    """Pushes one registry to one gateway, on demand and every ``interval`` seconds."""

    def __init__(self, gateway: str, job: str, interval: float, registry: CollectorRegistry) -> None:
        self.gateway = gateway
        self.job = job
        self.interval = interval
        self.registry = registry
        self.grouping_key = {"instance": f"{socket.gethostname()}-{os.getpid()}"}
        self._lock = threading.Lock()  # the thread, flush() and exit never push at the same time
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm_telemetry-push", daemon=True)

    @property
    def key(self) -> tuple[str, str, float, int]:
        """What makes two configurations the same pusher."""
        return (self.gateway, self.job, self.interval, id(self.registry))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the interval thread (the caller decides about a last push)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(TIMEOUT + 1)

    def push(self) -> bool:
        """One push; True on success. A failure is counted and logged once, never raised."""
        with self._lock:
            try:
                push_to_gateway(
                    self.gateway, self.job, self.registry, grouping_key=self.grouping_key, timeout=TIMEOUT
                )
            except Exception as exc:
                internal_error("push", exc)
                return False
            return True

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.push()


_lock = threading.Lock()
_pusher: Pusher | None = None
_atexit_registered = False


def start(settings: Settings) -> None:
    """Start pushing as ``settings`` say (keep a running pusher with the same configuration)."""
    global _pusher, _atexit_registered
    if settings.push_gateway is None:
        stop()
        return
    pusher = Pusher(
        settings.push_gateway,
        settings.push_job or default_job(),
        settings.push_interval,
        settings.registry or REGISTRY,
    )
    with _lock:
        old = _pusher
        if old is not None and old.key == pusher.key:
            return
        _pusher = pusher
        if not _atexit_registered:
            atexit.register(_at_exit)
            _atexit_registered = True
    if old is not None:
        old.stop()
    pusher.start()


def stop() -> None:
    """Push what was recorded so far, then stop pushing."""
    global _pusher
    with _lock:
        pusher, _pusher = _pusher, None
    if pusher is not None:
        pusher.stop()
        pusher.push()


def push_now() -> bool:
    """Push once if a gateway is configured. True when pushed, or when there is nothing to push to."""
    pusher = _pusher
    return pusher.push() if pusher is not None else True


def _after_fork() -> None:
    """A forked child is another process: its own instance key and interval thread, fresh locks."""
    global _lock, _pusher
    _lock = threading.Lock()
    old = _pusher
    if old is not None:
        _pusher = Pusher(old.gateway, old.job, old.interval, old.registry)
        _pusher.start()


os.register_at_fork(after_in_child=_after_fork)


def _at_exit() -> None:
    from ..streams import flush  # abandoned streams first, so their tokens are in the last push

    if _pusher is not None:
        flush()
