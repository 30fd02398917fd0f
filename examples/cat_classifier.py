"""The course's "cat-classifier" lesson: python examples/cat_classifier.py [--quick] [--backend] [--out].

The same as `xpnn lesson cat-classifier`; see docs/lessons.md for the full run's figures and picture.
"""

import sys

from xpnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["lesson", "cat-classifier", *sys.argv[1:]]))
