"""The course's "initialisation" lesson: python examples/initialisation.py [--quick] [--backend] [--out].

The same as `xpnn lesson initialisation`; see docs/lessons.md for the full run's figures and picture.
"""

import sys

from xpnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["lesson", "initialisation", *sys.argv[1:]]))
