"""Jupyter kernels that listen on private unix sockets, never on TCP ports.

A kernel manager's default transport is TCP: it asks the system for five free ports, closes
them, writes them to the connection file, and the kernel binds them a moment later.  Anything
that takes one of those ports in that moment (another kernel starting in the next worker, a
client's outgoing connection) kills the new kernel with ``ZMQError: Address already in use``,
and nbclient reports "Kernel died before replying to kernel_info".  A build runs two kernels
at once and the tests start hundreds, so a CI run met it (``build/logs/kernels.log`` had the
traceback).

:class:`PrivateKernelManager` uses ZeroMQ's ``ipc`` transport instead: the kernel's sockets
are files in a folder of this process's own (``mkdtemp``, mode 0700), named after the kernel,
so two kernels can never ask for the same address and no other user can connect to them.
The folder is removed when the process exits.  ipykernel then prints no "running over TCP
without encryption" warning either.

The papermill engine (:mod:`nhsbook.build.engine`) starts every kernel of a build with it, and
``pytest -p nhsbook.build.kernels`` (the Makefile's nbval run) gives nbval's kernels the same.
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing.util
import os
import shutil
import tempfile

from jupyter_client.manager import KernelManager
from traitlets import CaselessStrEnum, default

_folder: str | None = None
_folder_pid: int | None = None
_serial = itertools.count(1)


def socket_folder() -> str:
    """This process's private folder for kernel sockets (made on first use, removed at exit).

    A forked child (a pool worker) makes its own: the parent removes its folder when it exits.
    """
    global _folder, _folder_pid
    if _folder is None or _folder_pid != os.getpid():
        _folder = tempfile.mkdtemp(prefix="nhsbook-kernels-")  # mode 0700
        _folder_pid = os.getpid()
        if multiprocessing.parent_process() is not None:  # a pool worker leaves by os._exit
            # after the engine's kernel shutdown (exitpriority 10)
            multiprocessing.util.Finalize(None, shutil.rmtree, (_folder, True), exitpriority=5)
        else:
            atexit.register(shutil.rmtree, _folder, True)
    return _folder


class PrivateKernelManager(KernelManager):
    """A :class:`jupyter_client.manager.KernelManager` whose kernel listens on unix sockets
    in :func:`socket_folder`, each kernel under a name of its own (``k<n>-<channel number>``;
    unix socket paths are limited to 107 bytes, so the names are short)."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("ip")
    def _private_ip(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        return os.path.join(socket_folder(), f"k{next(_serial)}")


def pytest_configure(config) -> None:  # noqa: ARG001 - pytest's hook signature
    """``pytest -p nhsbook.build.kernels``: nbval starts its kernels with
    :class:`PrivateKernelManager` (nbval has no option for the transport)."""
    try:
        import nbval.kernel  # lazy: nbval is a test dependency
    except ImportError:
        return
    nbval.kernel.KernelManager = PrivateKernelManager
