"""Serving a model anywhere: :func:`to_onnx` writes any fitted estimator as an ONNX graph that
onnxruntime (C++, C#, Java, JavaScript, mobile) runs; :func:`to_sklearn` and :func:`from_sklearn`
convert to and from scikit-learn's own fitted MLPs.

The ONNX graph is the net at inference, batch norm folded into the weights: one ``Gemm`` per layer
(X W[l]ᵀ + b[l]) and its activation, then the head. Its names are the ones ``skl2onnx`` gives
scikit-learn's MLPs: input ``"X"`` of shape ``[None, n_features_in_]``; classifiers output
``"label"``
(the class labels, int64 or string; multilabel: the 0/1 matrix) and ``"probabilities"``
([None, n_classes]), as skl2onnx with ``zipmap=False``; with ``zipmap=True``, skl2onnx's default,
``"output_label"`` and ``"output_probability"`` (a list of {label: probability}); regressors
output ``"variable"`` ([None, n_outputs]). It holds the weights and the class labels,
nothing else: no training state, no hyperparameters beyond the metadata naming xpnn's version and
the estimator.
"""

from __future__ import annotations

import numpy as np

from .normalization import folded

ONNX_ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "logistic": "Sigmoid",
                    "identity": None}
SKLEARN_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "logistic": "logistic",
                       "identity": "identity"}
_SKLEARN_OUTPUTS = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "poisson": "exp"}
DEFAULT_OPSET = 17


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("to_onnx needs the onnx package: pip install 'xpnn[onnx]'") from None
    return onnx


def _layers(model):
    """[(W (n[l], n[l-1]), b (n[l],)), ...] in float64 on the host, batch norm folded in."""
    params = {k: np.asarray(v, dtype=np.float64) for k, v in model.params_.items()}
    L = sum(k[0] == "W" for k in params)
    return [(W, b[:, 0]) for W, b in (folded(params, l) for l in range(1, L + 1))]


def to_onnx(model, *, dtype="float32", opset=None, zipmap=False):
    """The fitted ``model`` (any xpnn estimator) as an ``onnx.ModelProto``.

    Parameters
    ----------
    model : a fitted xpnn estimator
    dtype : "float32" (default) or "float64": the input's and the weights' type.
    opset : int, optional
        The ONNX operator set (default 17).
    zipmap : bool, default False
        Classifiers: "probabilities" as scikit-learn's converters give it by default (a list of
        {label: probability}, ``ZipMap``); False: a [None, n_classes] tensor.

    Raises
    ------
    ImportError
        onnx is not installed (``pip install 'xpnn[onnx]'``).
    ValueError
        An activation or label type ONNX cannot express here (named).
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    model._check_fitted()
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
    hidden = model._hidden_activation()
    if hidden not in ONNX_ACTIVATIONS:
        raise ValueError(f"hidden activation {hidden!r} has no ONNX export here; exportable: "
                         f"{sorted(ONNX_ACTIVATIONS)}")
    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    nodes, inits, current = [], [], "X"
    layers = _layers(model)
    for l, (W, b) in enumerate(layers, start=1):
        inits += [numpy_helper.from_array(W.astype(dtype), f"W{l}"),
                  numpy_helper.from_array(b.astype(dtype), f"b{l}")]
        nodes.append(helper.make_node("Gemm", [current, f"W{l}", f"b{l}"], [f"Z{l}"], transB=1))
        current = f"Z{l}"
        op = ONNX_ACTIVATIONS[hidden] if l < len(layers) else None
        if op is not None:
            nodes.append(helper.make_node(op, [current], [f"A{l}"]))
            current = f"A{l}"
    outputs = _head_nodes(model, current, elem, nodes, inits, zipmap)
    graph = helper.make_graph(nodes, type(model).__name__, [helper.make_tensor_value_info(
        "X", elem, [None, model.n_features_in_])], outputs, inits)
    imports = [helper.make_opsetid("", opset or DEFAULT_OPSET)]
    if zipmap and hasattr(model, "classes_") and not model._multilabel():
        imports.append(helper.make_opsetid("ai.onnx.ml", 1))
    proto = helper.make_model(graph, opset_imports=imports, producer_name="xpnn")
    from . import __version__

    helper.set_model_props(proto, {"xpnn_version": __version__, "estimator": type(model).__name__})
    onnx.checker.check_model(proto)
    return proto


def _head_nodes(model, Z, elem, nodes, inits, zipmap):
    """The head's nodes after the last logits ``Z``; returns the graph's outputs."""
    from onnx import TensorProto, helper, numpy_helper

    k = model.n_outputs_
    if not hasattr(model, "classes_"):  # a regressor
        if model._head == "poisson":
            nodes.append(helper.make_node("Exp", [Z], ["variable"]))
        else:
            nodes.append(helper.make_node("Identity", [Z], ["variable"]))
        return [helper.make_tensor_value_info("variable", elem, [None, k])]
    if model._multilabel():
        nodes += [helper.make_node("Sigmoid", [Z], ["probabilities"]),
                  helper.make_node("Constant", [], ["half"], value=_scalar(helper, "half", elem, 0.5)),
                  helper.make_node("Greater", ["probabilities", "half"], ["above"]),
                  helper.make_node("Cast", ["above"], ["label"], to=TensorProto.INT64)]
        return [helper.make_tensor_value_info("label", TensorProto.INT64, [None, k]),
                helper.make_tensor_value_info("probabilities", elem, [None, k])]
    labels, label_type = _labels(model.classes_)
    # skl2onnx's names: "label" and "probabilities", or with its default ZipMap these two
    label, probabilities = ("output_label", "output_probability") if zipmap else ("label", "probabilities")
    if model._head == "sigmoid":  # two classes: [1 - p, p]
        nodes += [helper.make_node("Sigmoid", [Z], ["p"]),
                  helper.make_node("Constant", [], ["one"], value=_scalar(helper, "one", elem, 1.0)),
                  helper.make_node("Sub", ["one", "p"], ["q"]),
                  helper.make_node("Concat", ["q", "p"], ["proba"], axis=1)]
    else:
        nodes.append(helper.make_node("Softmax", [Z], ["proba"], axis=1))
    inits.append(numpy_helper.from_array(labels, "classes"))
    nodes += [helper.make_node("ArgMax", ["proba"], ["index"], axis=1, keepdims=0),
              helper.make_node("Gather", ["classes", "index"], [label], axis=0)]
    n_classes = len(labels)
    if zipmap:
        key = "classlabels_int64s" if label_type == TensorProto.INT64 else "classlabels_strings"
        values = labels.tolist() if label_type == TensorProto.INT64 else [str(v) for v in labels]
        nodes.append(helper.make_node("ZipMap", ["proba"], [probabilities], domain="ai.onnx.ml",
                                      **{key: values}))
        kind = TensorProto.INT64 if label_type == TensorProto.INT64 else TensorProto.STRING
        mapping = helper.make_map_type_proto(kind, helper.make_tensor_type_proto(TensorProto.FLOAT, None))
        proba = helper.make_value_info(probabilities, helper.make_sequence_type_proto(mapping))
        if elem != TensorProto.FLOAT:  # ZipMap takes float only
            cast = helper.make_node("Cast", ["proba"], ["proba32"], to=TensorProto.FLOAT)
            nodes.insert(len(nodes) - 1, cast)
            nodes[-1].input[0] = "proba32"
    else:
        nodes.append(helper.make_node("Identity", ["proba"], ["probabilities"]))
        proba = helper.make_tensor_value_info("probabilities", elem, [None, n_classes])
    return [helper.make_tensor_value_info(label, label_type, [None]), proba]


def _scalar(helper, name, elem, value):
    return helper.make_tensor(name, elem, [], [value])


def _labels(classes):
    """The class labels as an ONNX-storable array (int64 or strings) and its element type."""
    from onnx import TensorProto

    values = np.asarray(classes)
    if values.dtype.kind == "O":
        kinds = {type(v) for v in values.tolist()}
        if kinds <= {str}:
            return np.asarray(values.tolist(), dtype=object), TensorProto.STRING
        if kinds <= {int, bool}:
            return np.asarray(values.tolist(), dtype=np.int64), TensorProto.INT64
    elif values.dtype.kind in "iub":
        return values.astype(np.int64), TensorProto.INT64
    elif values.dtype.kind == "U":
        return values.astype(object), TensorProto.STRING
    raise ValueError(f"class labels of dtype {values.dtype} have no ONNX export here: ONNX labels are "
                     "integers or strings (map the labels to one of them before fitting)")


# --------------------------------------------------------------------------- scikit-learn

def to_sklearn(model):
    """A fitted ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` that computes what
    ``model`` computes (scikit-learn's ``coefs_`` orientation, batch norm folded in, ``classes_``
    and its label binarizer, ``n_iter_``, ``loss_curve_``); ValueError naming the reason where
    scikit-learn's MLP cannot hold the net (an activation it lacks, a net without hidden layer)."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import LabelBinarizer

    model._check_fitted()
    hidden = model._hidden_activation()
    if hidden not in SKLEARN_ACTIVATIONS:
        raise ValueError(f"scikit-learn's MLP has no {hidden!r} activation (it has identity, logistic, "
                         "tanh, relu)")
    layers = _layers(model)
    if len(layers) < 2:
        raise ValueError(f"{type(model).__name__} has no hidden layer; scikit-learn's MLP has at least one")
    sizes = tuple(W.shape[0] for W, _ in layers[:-1])
    common = dict(hidden_layer_sizes=sizes, activation=SKLEARN_ACTIVATIONS[hidden])
    if hasattr(model, "classes_"):
        est = MLPClassifier(**common)
        binarizer = LabelBinarizer()
        if model._multilabel():
            binarizer.fit(np.eye(model.n_outputs_, dtype=int))
        else:
            binarizer.fit(np.asarray(model.classes_))
        est._label_binarizer, est.classes_ = binarizer, binarizer.classes_
    else:
        est = MLPRegressor(loss="poisson" if model._head == "poisson" else "squared_error", **common)
    est.coefs_ = [W.T.copy() for W, _ in layers]
    est.intercepts_ = [b.copy() for _, b in layers]
    est.n_features_in_, est.n_outputs_ = model.n_features_in_, model.n_outputs_
    est.n_layers_, est.out_activation_ = len(layers) + 1, _SKLEARN_OUTPUTS[model._head]
    est.n_iter_ = int(model.n_iter_)
    curve = getattr(model, "loss_curve_", None)
    est.loss_curve_ = [float(c) for c in (curve if curve is not None else model.costs_)]
    if est.loss_curve_:
        est.loss_ = est.loss_curve_[-1]
    est.t_ = int(getattr(model, "t_", 0))
    if hasattr(model, "feature_names_in_"):
        est.feature_names_in_ = model.feature_names_in_
    return est


def from_sklearn(est, *, backend=None, dtype=None):
    """The xpnn ``MLPClassifier`` / ``MLPRegressor`` with a fitted scikit-learn MLP's weights,
    hyperparameters and labels: the same predictions, on ``backend`` (None: the default) in
    ``dtype``; it continues training with ``partial_fit`` or ``warm_start`` (a fresh optimizer
    state: scikit-learn's is not carried over)."""
    from sklearn.neural_network import MLPClassifier as SkClassifier

    from ._state import FittedState
    from .mlp import MLPClassifier, MLPRegressor

    if not hasattr(est, "coefs_"):
        raise ValueError(f"{type(est).__name__} is not fitted: nothing to convert")
    classifier = isinstance(est, SkClassifier)
    cls = MLPClassifier if classifier else MLPRegressor
    hp = {k: v for k, v in est.get_params().items() if k in cls._param_names()}
    hp.update(backend=backend, dtype=dtype)
    work = dtype or "float64"
    params = {}
    for l, (W, b) in enumerate(zip(est.coefs_, est.intercepts_), start=1):
        params[f"W{l}"] = np.ascontiguousarray(np.asarray(W, dtype=work).T)
        params[f"b{l}"] = np.asarray(b, dtype=work)[:, None]
    out = est.out_activation_
    head = {"logistic": "sigmoid", "softmax": "softmax", "identity": "identity", "exp": "poisson"}[out]
    multilabel = classifier and getattr(est._label_binarizer, "y_type_", "") == "multilabel-indicator"
    classes = None
    if classifier:
        classes = np.arange(est.n_outputs_) if multilabel else np.asarray(est.classes_)
    costs = np.asarray(getattr(est, "loss_curve_", []), dtype=np.float64)
    state = FittedState(params, costs, int(est.n_features_in_), int(est.n_iter_), head, int(est.n_outputs_),
                        classes=classes, y_ndim=None if classifier else (1 if est.n_outputs_ == 1 else 2),
                        feature_names=None if not hasattr(est, "feature_names_in_")
                        else [str(n) for n in est.feature_names_in_])
    model = cls.from_fitted_state(hp, state, backend=backend)
    if hasattr(est, "loss_curve_"):
        model.loss_curve_ = list(est.loss_curve_)
    model.t_ = int(getattr(est, "t_", 0))
    return model
