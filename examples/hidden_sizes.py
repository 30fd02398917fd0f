"""The course's "hidden-sizes" lesson: python examples/hidden_sizes.py [--quick] [--backend] [--out].

The same as `xpnn lesson hidden-sizes`; see docs/lessons.md for the full run's figures and picture.
"""

import sys

from xpnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["lesson", "hidden-sizes", *sys.argv[1:]]))
