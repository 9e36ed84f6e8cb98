"""`python -m nerve ...` runs the `nerve` command (see nerve/cli.py)."""

import sys

from nerve.cli import main

sys.exit(main())
