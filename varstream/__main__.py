"""``python -m varstream`` runs the command line."""

import sys

from varstream.cli import main

sys.exit(main())
