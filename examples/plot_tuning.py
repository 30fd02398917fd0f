"""
Hyperparameter search (course 2)
================================

``xpnn lesson tuning`` (or ``python examples/plot_tuning.py``; ``--quick`` for a short run).
The full run on the CPU (NumPy, float64, 2 cores), as committed:

.. image:: /lessons/tuning.png
   :alt: the full run's picture


The course's advice, with scikit-learn's ``RandomizedSearchCV`` over an xpnn estimator:
sample at random rather than on a grid (every candidate tries a new value of each
hyperparameter); draw the learning rate and the L2 strength ``alpha`` log-uniformly (1e-4 to 1
and 1e-4 to 10: each decade gets as many candidates); then search again, finer, around the best.
Moons (400 points, noise 0.3), a DeepNet [2, 16, 8, 1] with batch norm and Adam, 500 full-batch
epochs, 3-fold cross-validation, 30 candidates per stage:

.. csv-table::
   :header-rows: 1

   "stage", "best learning_rate", "best alpha", "CV accuracy %", "seconds (NumPy, 2 cores)"
   "coarse", "0.0188", "0.0191", "91.75", "18.5"
   "fine", "0.0288", "0.0158", "90.00", "14.8"


The coarse stage shows the shape of the problem: 26 of its 30 candidates reach 85-92 % (the
two moons overlap at this noise, so about 90 % is what any model gets, and batch norm keeps the
net trainable over three decades of learning rate); the misses are three of the large rates
(0.15-0.5: 79-85 %) and the smallest (1.7e-4: 84.7 %, not converged in 500 epochs). The fine
stage's best (90.0 %) is not above the coarse one's: inside the good region the differences are
the cross-validation's noise (a fold is 133 points, so one point is 0.75 %). That is what the
fine stage tells you here: the region is flat, and a value in its middle is a safe choice.
Where a GPU is usable the lesson
times the coarse stage there too (the GPU figures are not committed: none has been measured).

The code below runs the lesson; the documentation builds it with ``--quick`` (6 candidates,
50 epochs), so its figures differ from the full run's above.
"""

# %%
# Run the lesson: it prints its figures and the backend it ran on, and writes its picture to
# ``lessons/tuning.png``.
import sys

from xpnn.lessons import run, show

figures = run("tuning", quick="--quick" in sys.argv[1:], out="lessons")

# %%
# The picture it wrote:
show("tuning")
