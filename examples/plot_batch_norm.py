"""
Batch normalization (course 2)
==============================

``xpnn lesson batch-norm`` (or ``python examples/plot_batch_norm.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/batch-norm.png
   :alt: the full run's picture


Moons (500 points, noise 0.2, our generator with seed 0), given once as raw features of very
different scales (the first spread x30, the second offset by +50) and once rescaled to zero
mean and unit variance. The same net, layers [2, 20, 7, 5, 1], He init, full-batch gradient
descent at learning rate 1.0 for 2000 iterations, with and without ``batch_norm=True``;
training accuracy:

.. csv-table::
   :header-rows: 1

   "inputs", "plain", "batch norm"
   "raw", "50.00", "97.40"
   "rescaled", "98.80", "99.20"


On the raw inputs the plain net's first step throws its relu units into a dead region and the
cost stays at log 2 (it predicts one class); with batch norm every hidden layer sees inputs of
zero mean and unit variance whatever the scale of X, and it trains. Rescaling X does for the
first layer what batch norm does for every layer: on rescaled inputs both train, batch norm
slightly better. Prediction uses the running averages of the statistics, so a row's prediction
never depends on the rows predicted with it (tests/test_batch_norm.py).

The code below runs the lesson; the documentation builds it with ``--quick`` (few iterations),
so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures and the backend it ran on, and writes its picture to
# ``lessons/batch-norm.png``.
import sys

from xpnn.lessons import run, show

figures = run("batch-norm", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("batch-norm")
