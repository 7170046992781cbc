"""When the saved text summary below the live view is refreshed: soon after a change, never on
its path.

The summary (``html_export.summary_html``) is what a notebook viewer without a kernel shows, so
it must follow the naming; but each refresh is an ``update_display`` message that JupyterLab
re-renders, and sent with every change it sat between the change's confirmation and the next
frame. So inside a kernel (a running asyncio loop) a change only *asks* for a refresh: it is
written once the changes pause for ``delay`` seconds, and at most ``max_delay`` seconds after
the first change it covers, always after the change's own messages have gone out. Without a
running loop (plain Python, tests) it is written at once.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

DELAY_S = 0.4  # a refresh waits until the changes pause this long ...
MAX_DELAY_S = 2.0  # ... but never longer than this after the first change it covers


class SummaryRefresher:
    """Calls ``write()`` for the changes asked for with :meth:`request`, coalesced (see above)."""

    def __init__(self, write: Callable[[], None], *, delay: float | None = None, max_delay: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._write = write
        self._delay = DELAY_S if delay is None else delay
        self._max_delay = MAX_DELAY_S if max_delay is None else max_delay
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None
        self._since: float | None = None  # when the oldest change not yet written was asked for

    @property
    def pending(self) -> bool:
        """Whether a change waits to be written."""
        return self._since is not None

    def request(self) -> None:
        """The naming changed: write the summary soon (or now, outside an event loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self._since = self._clock()
            self.flush()
            return
        now = self._clock()
        if self._since is None:
            self._since = now
        if self._timer is not None:
            self._timer.cancel()
        wait = max(0.0, min(self._delay, self._since + self._max_delay - now))
        self._timer = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        """Write now if a change waits (at close, or when the timer fires)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._since is None:
            return
        self._since = None
        self._write()

    def cancel(self) -> None:
        """Forget a waiting change without writing it."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._since = None
