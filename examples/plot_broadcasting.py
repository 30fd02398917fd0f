"""
Broadcasting
============

``xpnn lesson broadcasting`` (or ``python examples/plot_broadcasting.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/broadcasting.png
   :alt: the full run's picture


``100 * A / A.sum(axis=0, keepdims=True)`` on the course's calories table, (3, 4) with (1, 4):

::

    [[94.92  0.    2.83 88.43]
     [ 2.03 43.51 33.46 10.4 ]
     [ 3.05 56.49 63.71  1.17]]      identical to the course's table


and (2, 3) + (1, 3), (2, 3) + (2, 1), (2, 3) + scalar, each checked against the explicit loop.

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations,
small sizes), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures beside the course's and the backend it ran on, and
# writes its picture to ``lessons/broadcasting.png``.
import sys

from xpnn.lessons import run, show

figures = run("broadcasting", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("broadcasting")
