"""
Hidden layer sizes
==================

``xpnn lesson hidden-sizes`` (or ``python examples/plot_hidden_sizes.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/hidden-sizes.png
   :alt: the full run's picture


.. csv-table::
   :header: "hidden units", "accuracy %", "course %"

   "logistic regression", "51.00", "47.00"
   "1", "71.00", "67.50"
   "2", "69.50", "67.25"
   "3", "94.00", "90.75"
   "4", "93.75", "90.50"
   "5", "93.50", "91.25"
   "20", "94.75", "90.00"
   "50", "96.00", "90.25"


The flower is drawn by our own generator (the course's came from NumPy's legacy global RNG), so
the points differ and so do the last digits; the lesson — a line is near chance, 1-2 units
underfit, 3+ units fit the petals — is the same.

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations,
small sizes), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures beside the course's and the backend it ran on, and
# writes its picture to ``lessons/hidden-sizes.png``.
import sys

from xpnn.lessons import run, show

figures = run("hidden-sizes", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("hidden-sizes")
