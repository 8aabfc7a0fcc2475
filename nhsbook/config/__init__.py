"""The configuration: the book schema (``book``: ``BookConfig``, ``load_book``) and the source
registry (``sources``: ``data/sources.yml``, checksums, licences, the mirror).  The schema checks a
book's ``source:`` keys against the registry, so both live here, above the core and below the
importers."""
