"""An adapter's pull on a thread of its own, pages ahead of the run that stores and scores them.

Why: the pull waits for its rate budget and the network; storing and scoring a page is CPU. Fetched
one after the other, every page pays both; with the next page requested while the current one is
scored, the pull runs at the rate limit whenever the CPU keeps up. Pages still arrive in order, and
only the consumer stores them and moves the cursor, so crash safety is untouched.
"""

from __future__ import annotations

import collections.abc
import queue
import threading
import typing as t

__all__ = ["Prefetch"]

T = t.TypeVar("T")

_END: t.Final = object()


def _one(item: object) -> int:
    return 1


class Prefetch(t.Generic[T]):
    """Runs a page iterator (an adapter's pull) on its own thread, ``depth`` pages ahead of the consumer.

    The adapter doing the pull is used by this thread alone until the pull ends. An error of the
    iterator is raised in the consumer, at the page where it happened. Leaving the ``with`` block
    early (stop, error) ends the thread after the request in flight and closes the iterator.

    Args:
        pages: the pull.
        depth: pages that may wait.
        name: the thread's name.
        max_records: with a deep queue, also bound the records waiting (pages hold a few hundred
            or a few thousand records, depending on the CRM), so memory stays bounded.
        size: the records of a page (counted against ``max_records``).
    """

    def __init__(
        self,
        pages: t.Iterable[T],
        *,
        depth: int = 2,
        name: str = "prefetch",
        max_records: int | None = None,
        size: t.Callable[[T], int] = _one,
    ) -> None:
        self._pages = pages
        self._size = size
        self._queue: queue.Queue[tuple[T | object, BaseException | None]] = queue.Queue(maxsize=max(1, depth))
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._max_records = max_records
        self._held = 0
        self._room = threading.Condition()

    def __enter__(self) -> t.Iterator[T]:
        self._thread.start()
        return self._iterate()

    def __exit__(self, *exc: object) -> None:
        self._quit.set()
        while self._thread.is_alive():
            try:  # make room so a blocked producer sees the quit flag
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _iterate(self) -> t.Iterator[T]:
        while True:
            item, error = self._queue.get()
            self._release(item)
            if error is not None:
                raise error
            if item is _END:
                return
            yield t.cast(T, item)

    def _records(self, item: T | object) -> int:
        return 0 if item is _END or item is None else self._size(t.cast(T, item))

    def _release(self, item: T | object) -> None:
        if self._max_records is None:
            return
        with self._room:
            self._held -= self._records(item)
            self._room.notify_all()

    def _put(self, item: T | object, error: BaseException | None = None) -> bool:
        if self._max_records is not None:
            size = self._records(item)
            with self._room:
                while self._held > 0 and self._held + size > self._max_records:
                    if self._quit.is_set():
                        return False
                    self._room.wait(timeout=0.1)
                self._held += size
        while not self._quit.is_set():
            try:
                self._queue.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        iterator = iter(self._pages)
        try:
            for page in iterator:
                if not self._put(page):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, in order
            self._put(None, exc)
        finally:
            if isinstance(iterator, collections.abc.Generator):  # a pull written as a generator: end it here
                iterator.close()
