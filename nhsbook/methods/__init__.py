"""The statistical methods, one module per method family (as PHEindicatormethods has one file
per method).

Use them through the public statistics API, :mod:`nhsbook.stats` (``from nhsbook import
stats``), which re-exports every name and whose docstring holds the conventions shared by all
the methods and the list of which family lives where.  This package imports nothing of its
own on import; each module imports only the core (:mod:`nhsbook.core.model`) and its sibling
method modules.
"""
