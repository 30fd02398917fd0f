"""The course's "broadcasting" lesson: python examples/broadcasting.py [--quick] [--backend] [--out].

The same as `xpnn lesson broadcasting`; see docs/lessons.md for the full run's figures and picture.
"""

import sys

from xpnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["lesson", "broadcasting", *sys.argv[1:]]))
