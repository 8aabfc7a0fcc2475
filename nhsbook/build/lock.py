"""One build at a time: the project lock ``build/.lock``.

Everything that writes ``book/`` or ``build/`` (``nhsbook build``, ``nhsbook compute``) holds
an exclusive :func:`fcntl.flock` on ``build/.lock`` for its whole run (:func:`hold`).  The
kernel releases a ``flock`` when the last process holding the open file is gone, so a build
that is killed, even with ``SIGKILL``, never leaves a stale lock: there is nothing to clean.
The lock is inherited by the worker processes forked by the local executor and passed to
jupyter-book (:func:`held_fds`), so a killed build's processes that are still writing keep the
project locked until they are gone too.

While it holds the lock, a build writes its pid, command, book and start time into the file
(JSON), so that a second build can say who holds it::

    another nhsbook build (pid 4242, started 12:01:07, book default) holds the project lock
    /path/build/.lock; waiting… (Ctrl-C to stop; --no-wait exits at once)

A second build waits (without limit by default, ``--wait SECONDS`` to give up after a while)
or, with ``--no-wait``, exits at once with status 75 (``EX_TEMPFAIL``) and that message.
``nhsbook validate`` only reads its inputs and takes no lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from nhsbook.build import testhook

#: Exit status of a build that did not get the lock (sysexits.h ``EX_TEMPFAIL``).
EXIT_BUSY = 75
#: How often a waiting build tries the lock again (seconds).
POLL = 0.2


class LockBusy(RuntimeError):
    """Another build holds the project lock (and this one did not, or no longer would, wait)."""


def lock_path(root: Path) -> Path:
    return Path(root) / "build" / ".lock"


#: Locks held by this process: resolved root -> [fd, depth] (re-entrant within a process).
_HELD: dict[str, list[int]] = {}


def held_fds(root: Path) -> tuple[int, ...]:
    """The lock's file descriptor when this process holds it (for ``pass_fds`` of a child
    that writes into the project, so that it keeps the project locked if the build dies)."""
    held = _HELD.get(str(Path(root).resolve()))
    return (held[0],) if held else ()


def holder(root: Path) -> dict:
    """What the lock file says about its holder (``{}`` when unreadable or empty)."""
    try:
        return json.loads(lock_path(root).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (on this host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_holder(root: Path) -> str:
    """``another nhsbook build (pid N, started HH:MM:SS, book X) holds the project lock P``."""
    info = holder(root)
    pid = info.get("pid")
    parts = [f"pid {pid}" if pid else "pid unknown"]
    started = info.get("started")
    if isinstance(started, (int, float)):
        stamp = time.localtime(started)
        fmt = "%H:%M:%S" if time.time() - started < 86400 else "%Y-%m-%d %H:%M:%S"
        parts.append(f"started {time.strftime(fmt, stamp)}")
    if info.get("book"):
        parts.append(f"book {info['book']}")
    if info.get("host") and info["host"] != socket.gethostname():
        parts.append(f"on host {info['host']}")
    elif isinstance(pid, int) and not pid_alive(pid):
        parts.append(f"pid {pid} has exited but a process it started is still running")
    command = info.get("command", "build")
    return (
        f"another nhsbook {command} ({', '.join(parts)}) holds the project lock {lock_path(root)}"
    )


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise


def _busy_message(root: Path) -> str:
    # the holder writes its details just after taking the lock: give it a moment
    for _ in range(10):
        if holder(root).get("pid"):
            break
        time.sleep(0.05)
    return describe_holder(root)


@contextmanager
def hold(
    root: Path,
    book: str = "",
    *,
    command: str = "build",
    wait: float | None = None,
    log: Callable[[str], object] = print,
) -> Iterator[Path]:
    """Hold the project lock for the ``with`` block.

    ``wait``: ``None`` waits as long as it takes, ``0`` does not wait, ``n`` waits up to
    ``n`` seconds; a build that does not get the lock raises :class:`LockBusy` naming the
    holder.  Re-entrant within one process (an inner ``hold`` of the same project is free).
    """
    key = str(Path(root).resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield lock_path(root)
        finally:
            _HELD[key][1] -= 1
        return
    path = lock_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        if not _try_lock(fd):
            message = _busy_message(root)
            if wait is not None and wait <= 0:
                raise LockBusy(
                    f"{message}; not waiting (--no-wait). Run the build again "
                    "when it has finished, or let it wait with --wait SECONDS."
                )
            log(f"{message}; waiting… (Ctrl-C to stop; --no-wait exits at once)")
            sys.stdout.flush()
            t0 = time.monotonic()
            while not _try_lock(fd):
                if wait is not None and time.monotonic() - t0 >= wait:
                    raise LockBusy(
                        f"gave up after {wait:g} s: {describe_holder(root)}; "
                        "run the build again when it has finished, or wait "
                        "longer with --wait SECONDS."
                    )
                time.sleep(POLL)
            log(f"got the project lock after {time.monotonic() - t0:.0f} s")
        info = {
            "pid": os.getpid(),
            "book": book,
            "command": command,
            "started": time.time(),
            "host": socket.gethostname(),
            "argv": sys.argv,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _HELD[key] = [fd, 1]
        try:
            testhook.pause("lock")
            yield path
        finally:
            del _HELD[key]
            os.ftruncate(fd, 0)  # a lock file that is not locked names nobody
    finally:
        os.close(fd)  # releases the flock (unless a child still holds it)
