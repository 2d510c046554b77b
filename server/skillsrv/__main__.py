"""`python -m skillsrv` runs the command line."""

import sys

from skillsrv.cli import main

sys.exit(main())
