"""``python -m hybrid``: the ``fpsolve`` command line."""

import sys

from hybrid.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
