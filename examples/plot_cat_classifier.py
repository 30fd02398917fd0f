"""
The cat classifier
==================

``xpnn lesson cat-classifier`` (or ``python examples/plot_cat_classifier.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/cat-classifier.png
   :alt: the full run's picture


[12288, 20, 7, 5, 1], 2500 iterations, seed 1: train 100.00 %, test 78.00 % (course: 98.56 % /
80 %, from one draw of its RNG; over seeds 0-7 the test accuracy is 0.74 ± 0.04). The 11
mislabelled test images are shown with the predicted P(cat).

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations,
small sizes), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures beside the course's and the backend it ran on, and
# writes its picture to ``lessons/cat-classifier.png``.
import sys

from xpnn.lessons import run, show

figures = run("cat-classifier", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("cat-classifier")
