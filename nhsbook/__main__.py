"""``python -m nhsbook``: the nhsbook command."""

import sys

from .cli import main

sys.exit(main())
