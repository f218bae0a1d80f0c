"""Work that runs in a thread beside the main one, its result or error handed back on demand."""
from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class InBackground(Generic[T]):
    """`work()` started in a thread of its own at construction; `result()` waits for it and
    returns its value or raises its error. The thread is a daemon, so a run stopped with
    Ctrl-C exits at once instead of waiting for work nobody will use."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._value = work()
        except BaseException as error:  # handed to the caller of result(), whatever it was
            self._error = error

    def result(self) -> T:
        """The work's value, once it is done; its error, raised here, if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set whenever there is no error
