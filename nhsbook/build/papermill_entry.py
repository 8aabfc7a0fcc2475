"""The papermill entry point of the warm-kernel engine (``pyproject.toml``,
``[project.entry-points."papermill.engine"]``).

papermill loads its entry points while ``papermill.engines`` is being imported, and
:mod:`nhsbook.build.engine` imports ``papermill.engines`` (its engine subclasses papermill's): the
entry point therefore names this module, which imports nothing, and hands papermill's calls to
:class:`nhsbook.build.engine.WarmEngine` when a notebook is run.
"""

from __future__ import annotations


class _WarmEngine:
    """Stands for :class:`nhsbook.build.engine.WarmEngine` until papermill runs a notebook."""

    def __getattr__(self, name: str):
        from nhsbook.build.engine import WarmEngine  # noqa: PLC0415 - imported when papermill calls it  # lazy: keeps papermill off this module's import

        return getattr(WarmEngine, name)


WarmEngine = _WarmEngine()
