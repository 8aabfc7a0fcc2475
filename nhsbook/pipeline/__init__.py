"""Compute once, render many: ``store`` computes every table of a book in one vectorised pass
and caches it by input and code checksums; ``published`` and ``priorities`` read what pages
show; ``geo``, ``lsoa21`` and ``national`` prepare the maps' tables from the boundaries."""
