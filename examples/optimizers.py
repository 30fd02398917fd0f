"""The course's "optimizers" lesson: python examples/optimizers.py [--quick] [--backend] [--out].

The same as `xpnn lesson optimizers`; see docs/lessons.md for the full run's figures and picture.
"""

import sys

from xpnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["lesson", "optimizers", *sys.argv[1:]]))
