"""`python -m bricksort` runs the same CLI as the `bricksort` console command."""
import sys

from bricksort.cli import main

sys.exit(main())
