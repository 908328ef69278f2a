"""Python's cycle collector on the GUI thread only (ravatar_live/main_thread_gc.py): a garbage
cycle left while another thread allocates is not collected there, and the GUI thread's check
collects it."""

from __future__ import annotations

import gc
import threading
import weakref

from ravatar_live.main_thread_gc import MainThreadGc, collect_as_python_would


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_a_cycle_is_collected_on_the_checking_thread_not_where_memory_is_allocated(
        qapp: object) -> None:
    collector = MainThreadGc()
    try:
        assert not gc.isenabled()
        cycle = weakref.ref(Node())
        made: list[list[int]] = []
        # Containers are what the collector counts: this passes every threshold many times.
        worker = threading.Thread(target=lambda: made.extend([i] for i in range(50_000)))
        worker.start()
        worker.join()
        assert cycle() is not None  # no collection ran on the allocating thread
        assert collector.check() is not None  # the counts passed a threshold: collected here
        assert cycle() is None
    finally:
        collector.stop()
    assert gc.isenabled()


def test_nothing_is_collected_below_the_thresholds() -> None:
    gc.collect()
    assert collect_as_python_would((10**9, 10**9, 10**9)) is None
    assert collect_as_python_would((0, 10**9, 10**9)) in (0, None)
