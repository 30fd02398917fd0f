import contextlib
import pytest

from xpnn import cli


@pytest.mark.slow
def test_course_quick_prints_every_model(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "costs.png"
    assert cli.main(["course", "--quick", "--seeds", "2", "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("LogisticRegression", "ShallowNet(4, tanh)", "DeepNet([7])", "DeepNet([20, 7, 5])"):
        assert name in text
    assert "numpy (cpu)" in text and "±" in text and "300" in text
    assert out.stat().st_size > 1000


def test_course_reports_a_fallback_honestly(capsys):
    from xpnn import backend

    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    cli.main(["course", "--quick", "--backend", "gpu", "--dtype", "float32"])
    captured = capsys.readouterr()
    assert "numpy (cpu; fallback from 'gpu')" in captured.out
    # the warning names the CLI's flag and points at no file of xpnn's
    assert "--strict-gpu" in captured.err and "strict=True" not in captured.err and ".py" not in captured.err


@pytest.mark.parametrize("argv,env,message", [
    (["course", "--backend", "opencl"], {}, "xpnn: error: unknown backend 'opencl'"),
    (["course", "--backend", "gpu", "--strict-gpu"], {}, "xpnn: error: backend 'gpu' needs a usable GPU"),
    (["course", "--backend", "gpu"], {"XPNN_STRICT_GPU": "1"},
     "xpnn: error: backend 'gpu' needs a usable GPU"),
    (["lesson", "broadcasting", "--backend", "tpu"], {}, "xpnn: error: unknown backend 'tpu'"),
    (["course", "--seeds", "0"], {}, "xpnn: error: --seeds must be >= 1"),
])
def test_bad_backends_end_with_one_line_and_exit_2(argv, env, message, capsys, monkeypatch):
    from xpnn import backend

    if backend.gpu_available() and "gpu" in argv:
        pytest.skip("a GPU is usable here")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_version_help_and_spellings(capsys, tmp_path):
    import xpnn

    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"xpnn {xpnn.__version__}"
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "``" not in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    assert cli.main(["lesson", "vectorization", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "vectorisation.png").exists()


def test_bad_arguments_exit_with_a_message():
    with pytest.raises(SystemExit):
        cli.main(["course", "--dtype", "float16"])


@pytest.mark.parametrize("name", ["cuda", "torch-cuda"])
def test_every_backend_name_is_one_vocabulary(name, monkeypatch):
    """The names `xpnn bench --help` lists are names the estimators, set_backend and
    $XPNN_BACKEND take: "cuda" is "gpu" (falls back with a warning), "torch-cuda" is exact."""
    import xpnn
    from xpnn.backend import GPUUnavailableError, XpnnFallbackWarning

    monkeypatch.setenv("XPNN_BACKEND", name)
    try:
        xpnn.set_backend(name)  # checked at once: "cuda" may fall back, "torch-cuda" needs CUDA
        xpnn.set_backend(None)
        with pytest.warns(XpnnFallbackWarning) if name == "cuda" else contextlib.nullcontext():
            backend = xpnn.get_backend()
    except GPUUnavailableError as exc:
        assert name == "torch-cuda" and "needs a usable GPU" in str(exc)
        return
    assert backend.requested == name and (backend.is_gpu or backend.fallback_reason)


@pytest.mark.parametrize("name", ["folder", "no-extension", "x.foo"])
def test_plot_never_writes_a_name_it_was_not_given(name, tmp_path, capsys):
    """`--plot DIR`, a name without an extension or an unknown format: one line, exit 2, before
    any training, and no file written (matplotlib would have appended '.png' to the first two)."""
    pytest.importorskip("matplotlib")
    from xpnn.cli import main

    target = tmp_path / name
    if name == "folder":
        target.mkdir()
    before = set(tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as exc:
        main(["course", "--quick", "--plot", str(target)])
    assert exc.value.code == 2
    assert "--plot" in capsys.readouterr().err
    assert set(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "fast"])
def test_bench_threshold_must_be_a_finite_ratio(value, capsys):
    from xpnn.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", "--threshold", value])
    assert exc.value.code == 2 and "--threshold" in capsys.readouterr().err


def test_lesson_without_a_name_lists_them(capsys):
    from xpnn.cli import main
    from xpnn.lessons import LESSONS

    assert main(["lesson"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in LESSONS)


def test_set_backend_checks_at_once(monkeypatch):
    import xpnn
    from xpnn.backend import GPUUnavailableError

    monkeypatch.setattr(xpnn.backend._gpu, "gpu_status", lambda: (False, "no GPU in this test"))
    with pytest.raises(GPUUnavailableError, match="no GPU in this test"):
        xpnn.set_backend("gpu", strict=True)
    monkeypatch.setitem(__import__("sys").modules, "jax", None)  # as if JAX were not installed
    with pytest.raises(ImportError, match="jax"):
        xpnn.set_backend("jax")
    xpnn.set_backend(None)
