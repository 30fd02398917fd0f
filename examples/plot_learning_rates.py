"""
Learning rates
==============

``xpnn lesson learning-rates`` (or ``python examples/plot_learning_rates.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/learning-rates.png
   :alt: the full run's picture


.. csv-table::
   :header: "learning rate", "train %", "test %", "course train %", "course test %"

   "0.01", "99.52", "68.00", "99.52", "68.00"
   "0.001", "89.00", "64.00", "88.99", "64.00"
   "0.0001", "68.42", "36.00", "68.42", "36.00"


Zero initialisation involves no randomness, so the course's figures come back exactly
(88.995 % is 186/209, printed by the course truncated and here rounded).

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations,
small sizes), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures beside the course's and the backend it ran on, and
# writes its picture to ``lessons/learning-rates.png``.
import sys

from xpnn.lessons import run, show

figures = run("learning-rates", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("learning-rates")
