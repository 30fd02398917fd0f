"""
Optimizers (course 2)
=====================

``xpnn lesson optimizers`` (or ``python examples/plot_optimizers.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/optimizers.png
   :alt: the full run's picture


Moons (300 points, noise 0.2, our generator with seed 3), layers [2, 5, 2, 1], He init,
mini-batches of 64, 5000 epochs, training accuracy:

.. csv-table::
   :header-rows: 1

   "optimizer", "lr 0.0007", "lr0 0.1, scheduled decay (rate 1, every 1000 epochs)", "course, lr 0.0007"
   "gd", "87.67", "87.67", "79.7"
   "momentum", "87.67", "98.33", "–"
   "adam", "98.00", "98.00", "94.0"


With the small constant rate plain gradient descent and momentum (β = 0.9) crawl: their cost
curves lie on each other; Adam's per-parameter steps reach a near-zero cost. With a large rate
that decays, momentum catches up with Adam; plain GD plateaus. Over seeds 0-2 of the data
(tests/test_training.py) Adam reaches 95.4 % on average against 87.3 % for mini-batch GD; the
course's single draw gave 94 % against 79.7 %.

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations,
small sizes), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures beside the course's and the backend it ran on, and
# writes its picture to ``lessons/optimizers.png``.
import sys

from xpnn.lessons import run, show

figures = run("optimizers", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("optimizers")
