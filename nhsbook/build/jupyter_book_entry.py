"""``python -m nhsbook.build.jupyter_book_entry build …``: jupyter-book's own command line,
with Sphinx reading and writing the pages in parallel processes.

jupyter-book 1.x builds with Sphinx but its command line has no ``-j``: its ``build`` calls
``jupyter_book.sphinx.build_sphinx`` without ``jobs``, so Sphinx reads and writes every page
in one process.  This entry point calls the same command with ``jobs`` set
(:data:`JOBS_ENV`, default one per core); everything else (configuration, table of contents,
options, exit status) is jupyter-book's.  Sphinx forks its workers only when every extension
declares itself parallel-safe (myst-nb, the book theme and :mod:`nhsbook.build.sphinx_ext`
do) and falls back to one process otherwise.
"""

from __future__ import annotations

import functools
import os

#: Environment variable: how many processes Sphinx uses (default: the number of cores).
JOBS_ENV = "NHSBOOK_SITE_JOBS"


def jobs() -> int:
    """The number of Sphinx processes: :data:`JOBS_ENV` if set, else one per core."""
    value = os.environ.get(JOBS_ENV, "").strip()
    return max(1, int(value)) if value else max(1, os.cpu_count() or 1)


def main() -> None:
    from jupyter_book import sphinx as jb_sphinx
    from jupyter_book.cli import main as cli

    # the command imports build_sphinx from its module when it runs
    jb_sphinx.build_sphinx = functools.partial(jb_sphinx.build_sphinx, jobs=jobs())
    cli.main()


if __name__ == "__main__":
    main()
