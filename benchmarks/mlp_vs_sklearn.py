"""scikit-learn's MLP against xpnn's, side by side in one process, on the six datasets of issue 23.

    python benchmarks/mlp_vs_sklearn.py [--out benchmarks/results/mlp-vs-sklearn-cpu] [--seeds 3]

For each dataset (X standardised, a stratified 70/30 split per seed) and seed, interleaved:
scikit-learn's ``MLPClassifier``/``MLPRegressor`` at its defaults, ``xpnn.MLPClassifier``/
``MLPRegressor`` at the same defaults (the matched setting: same constructor), and xpnn's course
estimator (``DeepNet``/``DeepNetRegressor``) at the course's defaults. Each fit is timed once
(wall clock, no warm-up: a fit is what a user pays); the per-epoch time is fit time / n_iter_.
Writes results.json and results.md; prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings

import numpy as np

import xpnn


def _datasets():
    from sklearn import datasets

    out = {name: getattr(datasets, f"load_{name}")(return_X_y=True)
           for name in ("iris", "wine", "breast_cancer", "digits", "diabetes")}
    out["classification_20000x50"] = datasets.make_classification(20000, 50, n_informative=20, random_state=0)
    return out


def _contenders(regression):
    from sklearn import neural_network as sk

    if regression:
        return {"sklearn": sk.MLPRegressor, "xpnn-mlp": xpnn.MLPRegressor,
                "xpnn-course": xpnn.DeepNetRegressor}
    return {"sklearn": sk.MLPClassifier, "xpnn-mlp": xpnn.MLPClassifier, "xpnn-course": xpnn.DeepNet}


def _split(X, y, seed, regression):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=None if regression else y)
    scaler = StandardScaler().fit(X_train)
    if regression:
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def run(seeds=3):
    rows = []
    for name, (X, y) in _datasets().items():
        regression = name == "diabetes"
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = _split(X, y, seed, regression)
            for label, cls in _contenders(regression).items():
                model = cls(random_state=seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    model.fit(X_train, y_train)
                    seconds = time.perf_counter() - start
                rows.append({"dataset": name, "seed": seed, "estimator": label, "fit_s": seconds,
                             "n_iter": int(model.n_iter_), "epoch_s": seconds / model.n_iter_,
                             "test_score": float(model.score(X_test, y_test))})
                print(f"{name:26s} seed {seed} {label:12s} {seconds:7.3f} s  {model.n_iter_:5d} epochs  "
                      f"score {rows[-1]['test_score']:.3f}", flush=True)
    return rows


def summarise(rows):
    table = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        by = {e: [r for r in rows if r["dataset"] == name and r["estimator"] == e]
              for e in ("sklearn", "xpnn-mlp", "xpnn-course")}
        med = {e: {k: statistics.median(r[k] for r in rs) for k in ("fit_s", "epoch_s", "n_iter")}
               for e, rs in by.items()}
        scores = {e: [r["test_score"] for r in rs] for e, rs in by.items()}
        table.append({"dataset": name, **{f"{e} score": f"{np.mean(s):.3f} ± {np.std(s):.3f}"
                                          for e, s in scores.items()},
                      **{f"{e} fit s": round(med[e]["fit_s"], 3) for e in med},
                      **{f"{e} epochs": med[e]["n_iter"] for e in med},
                      "xpnn-mlp / sklearn per epoch":
                          round(med["xpnn-mlp"]["epoch_s"] / med["sklearn"]["epoch_s"], 2)})
    return table


def markdown(table, environment):
    keys = list(table[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in table]
    return (f"Measured {environment['date']} on {environment['machine']} ({environment['cpu_count']} cores), "
            f"NumPy {environment['numpy']}, scikit-learn {environment['sklearn']}, xpnn {xpnn.__version__}; "
            f"OPENBLAS_CORETYPE={environment['OPENBLAS_CORETYPE']}. Scores: test accuracy (R² for "
            "diabetes), mean ± sd over seeds; times: medians over seeds, one fit each.\n\n"
            + "\n".join(lines) + "\n")


def main():
    import sklearn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/mlp-vs-sklearn-cpu")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    environment = {"date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(),
                   "cpu_count": os.cpu_count(), "numpy": np.__version__, "sklearn": sklearn.__version__,
                   "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                   "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
    rows = run(args.seeds)
    table = summarise(rows)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"environment": environment, "runs": rows, "summary": table}, f, indent=1)
    text = markdown(table, environment)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
