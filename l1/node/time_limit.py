"""
A wall-clock limit on EVM work a request asks for (``eth_call``, gas
estimates): geth's ``--rpc.evmtimeout``. py-evm's interpreter has no hook to
stop it, and checking a clock on every opcode would slow every block, so one
watchdog thread raises ``TimeLimitReached`` in the worker thread when its time
is up (between two Python bytecodes, as a signal would), and again every
``REPEAT_SECONDS`` in case code on the way swallowed it.

Only work on a throwaway state may run under a limit: the exception can land
anywhere inside it.
"""

import ctypes
import heapq
import itertools
import threading
import time
from typing import List, Optional, Tuple

from ..interface import TimedOut

# How often the watchdog raises again in a thread still inside its limit.
REPEAT_SECONDS = 0.05


class TimeLimitReached(BaseException):
    """
    Raised inside the limited work. A BaseException, as KeyboardInterrupt is,
    so that ``except Exception`` on the way (a precompile failing closed)
    does not swallow it.
    """


class _Limit:
    def __init__(self, thread_id: int, seconds: float) -> None:
        self.thread_id, self.seconds = thread_id, seconds
        self.mutex = threading.Lock()
        self.finished = False
        self.raised = False


def _raise_in(thread_id: int, exception: Optional[type]) -> None:
    """Have ``thread_id`` raise ``exception`` at its next bytecode (None: cancel that)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


class _Watchdog:
    """One daemon thread for every limit in the process, woken at the earliest deadline."""

    def __init__(self) -> None:
        self.wakeup = threading.Condition()
        self.deadlines: List[Tuple[float, int, _Limit]] = []
        self.order = itertools.count()
        self.thread: Optional[threading.Thread] = None

    def watch(self, limit: _Limit, deadline: float) -> None:
        with self.wakeup:
            heapq.heappush(self.deadlines, (deadline, next(self.order), limit))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="nr-time-limits", daemon=True)
                self.thread.start()
            self.wakeup.notify()

    def _run(self) -> None:
        while True:
            with self.wakeup:
                while not self.deadlines:
                    self.wakeup.wait()
                deadline, _, limit = self.deadlines[0]
                now = time.monotonic()
                if deadline > now:
                    self.wakeup.wait(deadline - now)
                    continue
                heapq.heappop(self.deadlines)
            with limit.mutex:
                if limit.finished:
                    continue
                limit.raised = True
                _raise_in(limit.thread_id, TimeLimitReached)
            self.watch(limit, time.monotonic() + REPEAT_SECONDS)


_watchdog = _Watchdog()


class time_limit:
    """
    ``with time_limit(seconds):`` runs its body for at most ``seconds`` of
    wall-clock time, else raises ``TimedOut``. None or 0 sets no limit.
    """

    def __init__(self, seconds: Optional[float]) -> None:
        self.seconds = seconds
        self.limit: Optional[_Limit] = None

    def __enter__(self) -> "time_limit":
        if self.seconds:
            self.limit = _Limit(threading.get_ident(), self.seconds)
            _watchdog.watch(self.limit, time.monotonic() + self.seconds)
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if self.limit is None:
            return False
        # Once finished under the mutex no new raise is sent; one already sent
        # and not yet raised is cancelled. A raise arriving before then
        # lands in this loop, which catches it and finishes again.
        while True:
            try:
                with self.limit.mutex:
                    self.limit.finished = True
                    if self.limit.raised:
                        _raise_in(self.limit.thread_id, None)
                break
            except TimeLimitReached:
                continue
        # Past its limit the work's outcome is not trusted even if something on
        # the way swallowed the raise.
        if self.limit.raised:
            raise TimedOut(self.limit.seconds) from None
        return False
