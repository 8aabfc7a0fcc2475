"""Wall time and peak memory of a process tree, shared by the benchmark scripts.

Peak memory is the largest sum, over a process and all its descendants (notebook workers and
their kernels), of each process's proportional set size (PSS: private memory plus its share of
pages shared with others, so forked workers are not counted twice; RSS where PSS is not
available), sampled every 0.25 s by psutil.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

import psutil

T = TypeVar("T")


def tree_memory(root: psutil.Process) -> int:
    """PSS (else RSS) in bytes of ``root`` and all its descendants, now."""
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except (psutil.Error, AttributeError):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
    return total


class TreeMemory:
    """Peak memory of a process tree (this process by default) during the ``with`` block."""

    def __init__(self, pid: int | None = None, interval: float = 0.25) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_memory(self.root))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_memory(self.root))

    @property
    def mib(self) -> float:
        return self.peak / 2**20


def report(label: str, wall: float, peak_mib: float, extra: str = "") -> None:
    """One figure line: label, wall seconds, peak MiB and an optional note."""
    print(f"{label:<52} {wall:8.1f} s {peak_mib:8.0f} MiB  {extra}".rstrip(), flush=True)


def timed(label: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in this process, print its wall time and the tree's peak memory."""
    with TreeMemory() as mem:
        t0 = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
    report(label, wall, mem.mib)
    return out
