"""The course's "vectorisation" lesson: python examples/vectorisation.py [--quick] [--backend] [--out].

The same as `xpnn lesson vectorisation`; see docs/lessons.md for the full run's figures and picture.
"""

import sys

from xpnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["lesson", "vectorisation", *sys.argv[1:]]))
