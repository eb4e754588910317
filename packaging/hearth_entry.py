"""The bundled executable's entry point: the same ``hearth`` command line."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
