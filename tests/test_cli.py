import pytest

from xpnn import cli


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
    with pytest.warns(backend.XpnnFallbackWarning):
        cli.main(["course", "--quick", "--backend", "gpu", "--dtype", "float32"])
    assert "numpy (cpu; fallback from 'gpu')" in capsys.readouterr().out


def test_bad_arguments_exit_with_a_message():
    with pytest.raises(SystemExit):
        cli.main(["course", "--seeds", "0"])
    with pytest.raises(SystemExit):
        cli.main(["course", "--dtype", "float16"])
