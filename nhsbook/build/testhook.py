"""A test hook: pause a build at a chosen step, so that a test can kill it there.

``NHSBOOK_TEST_PAUSE=<step>:<file>`` makes the first process of the build that reaches
``<step>`` write ``<file>`` (its pid), then sleep until the test deletes ``<file>`` (the build
then carries on) or :data:`MAX_PAUSE` seconds pass.  For tests only; unset, it does nothing.

Steps (in build order):

* ``lock`` — just after the build took the project lock (:mod:`nhsbook.build.lock`);
* ``notebooks`` — in a worker, after its first page notebook was written
  (:func:`nhsbook.build.executor.execute_page`);
* ``jupyter-book`` — inside the jupyter-book process, when Sphinx has written every page
  but not yet the search index (``html-collect-pages``, :mod:`nhsbook.build.sphinx_ext`): a
  kill there left, before issue 20, a next build whose search index covered only the
  pages it rewrote;
* ``staging`` — during the copy of the site to ``build/staging/`` (after its first file);
* ``swap`` — in :func:`nhsbook.build.publish.swap`, after the new site was moved under
  ``build/sites/`` and its new link made, just before the rename that publishes it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

PAUSE_ENV = "NHSBOOK_TEST_PAUSE"
STEPS = ("lock", "notebooks", "jupyter-book", "staging", "swap")
MAX_PAUSE = 600.0


def pause(step: str) -> None:
    """Pause here when ``NHSBOOK_TEST_PAUSE`` names ``step`` (see module docstring)."""
    want = os.environ.get(PAUSE_ENV)
    if not want:
        return
    name, _, file = want.partition(":")
    if name != step or not file:
        return
    reached = Path(file)
    try:  # only the first process to get here pauses (O_EXCL)
        fd = os.open(reached, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()} {step}\n")
    deadline = time.monotonic() + MAX_PAUSE
    while reached.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def copy2(src, dst, *, follow_symlinks: bool = True):
    """:func:`shutil.copy2` with the ``staging`` pause after the file (the copy function of
    the site's copy to ``build/staging/``)."""
    out = shutil.copy2(src, dst, follow_symlinks=follow_symlinks)
    pause("staging")
    return out
