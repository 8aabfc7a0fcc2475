"""The gate (``gate``): every input checked by its Great Expectations suite and the
reconciliations of each domain before anything is computed; ``meaning`` holds the checks of
what a value means (units, polarity, periods) that the suites cannot express."""
