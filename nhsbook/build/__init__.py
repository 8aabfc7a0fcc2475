"""Build and publish: the plan of pages (``plan``), the notebook executor and its warm-kernel
papermill engine, the incremental state, the board reports, the Sphinx extension, the
atomic publication of the site and its disclosure audit; ``book.build`` runs them in order."""
