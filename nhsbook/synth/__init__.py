"""Every synthetic generator: the seeded practices of the default book (``practices``), the
national practice file (``national``) and the SPOT peer group (``spot``).  They write the
files the importers read, so they sit with the importers."""
