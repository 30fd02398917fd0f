"""The course's "learning-rates" lesson: python examples/learning_rates.py [--quick] [--backend] [--out].

The same as `xpnn lesson learning-rates`; see docs/lessons.md for the full run's figures and picture.
"""

import sys

from xpnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["lesson", "learning-rates", *sys.argv[1:]]))
