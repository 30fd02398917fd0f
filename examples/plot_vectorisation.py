"""
Vectorisation
=============

``xpnn lesson vectorisation`` (or ``python examples/plot_vectorisation.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/vectorisation.png
   :alt: the full run's picture


.. csv-table::
   :header: "workload", "loop", "xpnn (NumPy)", "speed-up"

   "dot product, n = 10^6", "38.6 ms", "0.091 ms", "426x"
   "logistic-regression gradient step, 12288 x 209", "665 ms", "0.352 ms", "1887x"


Course: the vectorised dot product was ~300x faster than the for-loop (1.5 ms vs 474 ms). Both
columns are checked to compute the same numbers before they are timed; with a usable GPU a third
column (CuPy) appears.

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations,
small sizes), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures beside the course's and the backend it ran on, and
# writes its picture to ``lessons/vectorisation.png``.
import sys

from xpnn.lessons import run, show

figures = run("vectorisation", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("vectorisation")
