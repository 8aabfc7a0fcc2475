"""The core: the data model, number and text formatting, escaping, safe paths, line-numbered
CSV reading and the record of what a page read (``page_inputs``).  It imports nothing else of
nhsbook; every other layer may import it."""
