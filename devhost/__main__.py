"""``python -m devhost start [--port 7071] [--app-dir .] [--workers N] [--no-azurite]``."""

from __future__ import annotations

import sys

from devhost.cli import main

if __name__ == "__main__":
    sys.exit(main())
