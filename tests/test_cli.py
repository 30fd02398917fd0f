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
    (["course", "--backend", "cuda"], {}, "xpnn: error: unknown backend 'cuda'"),
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
