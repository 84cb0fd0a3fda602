"""``python -m bridge``: the same as the ``pgbridge`` command."""

import sys

from bridge.cli import main

sys.exit(main())
