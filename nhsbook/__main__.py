"""``python -m nhsbook``: the nhsbook command."""

import sys

from nhsbook.cli import main

sys.exit(main())
