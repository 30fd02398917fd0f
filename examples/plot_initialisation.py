"""
Initialisation
==============

``xpnn lesson initialisation`` (or ``python examples/plot_initialisation.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/initialisation.png
   :alt: the full run's picture


.. csv-table::
   :header: "init", "train %", "test %", "course train / test %"

   "zeros", "50.00", "50.00", "50.00 / 50.00"
   "large (x10)", "80.33", "72.00", "83.00 / 86.00"
   "he", "98.33", "97.00", "99.33 / 96.00"


Zeros: the 10 hidden units of layer 1 differ by at most 0.0e+00 after 15000 iterations (the
symmetry never breaks) and the cost stays at 0.693147 = log 2.

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations,
small sizes), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures beside the course's and the backend it ran on, and
# writes its picture to ``lessons/initialisation.png``.
import sys

from xpnn.lessons import run, show

figures = run("initialisation", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("initialisation")
