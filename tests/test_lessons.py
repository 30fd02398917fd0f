"""Every lesson runs with --quick, prints its figures and the backend, and writes its PNG."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xpnn import cli
from xpnn.lessons import LESSONS

pytest.importorskip("matplotlib")

EXPECTED = {  # lines each lesson must print (regular expressions)
    "vectorisation": [r"dot n=100000\s+loop", r"dot n=100000\s+xpnn-numpy-float64 .* (\d+)x",
                      r"lr-step-1000x50\s+xpnn-numpy-float64"],
    "broadcasting": [r"\[\[94\.92\s+0\.\s+2\.83 88\.43\]", r"\(m, n\) \+ \(1, n\): \(2, 3\) with \(1, 3\) "
                     r"-> \(2, 3\); equals the explicit loop: True", r"\(m, n\) \+ \(m, 1\).*True"],
    "learning-rates": [r"0\.01\s+\d+\.\d\d\s+\d+\.\d\d\s+99\.52\s+68\.00", r"0\.0001\s+\d+\.\d\d"],
    "hidden-sizes": [r"logistic regression\s+\d+\.\d\d\s+47\.00", r"\n4\s+\d+\.\d\d\s+90\.50"],
    "initialisation": [r"zeros\s+50\.00\s+50\.00", r"differ by at most 0\.0e\+00",
                       r"cost stays at 0\.693147"],
    "cat-classifier": [r"train \d+\.\d\d%, test \d+\.\d\d%", r"mislabelled test images: \d+"],
    "optimizers": [r"gd\s+constant\s+\d+\.\d\d\s+79\.7", r"adam\s+decay\s+\d+\.\d\d\s+-"],
    "batch-norm": [r"raw\s+plain\s+50\.00", r"raw\s+batch norm\s+\d+\.\d\d", r"rescaled\s+plain\s+\d+\.\d\d"],
    "tuning": [r"coarse\s+\d\.\d+(e-\d+)?\s+\d\.\d+(e[-+]\d+)?\s+\d+\.\d\d", r"fine\s+\d"],
}


def test_batch_norm_lesson_trains_where_the_plain_net_fails(tmp_path):
    from xpnn.lessons import run

    accuracy = run("batch-norm", quick=True, out=str(tmp_path))["accuracy"]
    assert accuracy["raw", False] == 50.0 and accuracy["raw", True] > 80.0  # the plain net predicts one class
    assert accuracy["rescaled", False] > 95.0 and accuracy["rescaled", True] > 95.0


def test_tuning_lesson_searches_log_uniformly_and_narrows(tmp_path):
    from xpnn.lessons import run, tuning

    figures = run("tuning", quick=True, out=str(tmp_path))
    best = figures["best"]
    for name, (low, high) in tuning.COARSE.items():
        assert low <= best["coarse"][name] <= high
        assert abs(np.log10(best["fine"][name] / best["coarse"][name])) <= 0.5  # within the finer range
    assert tuning.finer({"alpha": 1.0}) == {"alpha": (1 / np.sqrt(10), np.sqrt(10))}


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_quick(name, tmp_path, capsys):
    assert cli.main(["lesson", name, "--quick", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "backend: numpy (cpu)" in text and text.startswith("quick run: ")
    for pattern in EXPECTED[name]:
        assert re.search(pattern, text), (pattern, text)
    png = tmp_path / f"{name}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000


def test_lesson_figures_are_computed_not_printed_constants(tmp_path):
    from xpnn.lessons import run

    figures = run("hidden-sizes", out=str(tmp_path), quick=True)
    assert figures["accuracy"][4] > 85 and figures["accuracy"]["LR"] < 65
    assert run("broadcasting", out=str(tmp_path))["all_equal_loops"]


def test_example_script_runs(tmp_path):
    script = Path(__file__).parents[1] / "examples" / "plot_broadcasting.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                          check=True, cwd=tmp_path)
    assert "equals the explicit loop: True" in done.stdout
    assert (tmp_path / "lessons" / "broadcasting.png").exists()


def test_every_lesson_has_a_gallery_example():
    examples = Path(__file__).parents[1] / "examples"
    assert sorted(p.name for p in examples.glob("plot_*.py")) == sorted(
        f"plot_{name.replace('-', '_')}.py" for name in LESSONS)


def test_unknown_lesson():
    from xpnn.lessons import run

    with pytest.raises(ValueError, match="unknown lesson 'attention'"):
        run("attention")


def test_a_lesson_never_switches_the_users_matplotlib_backend(tmp_path):
    """A notebook's inline figures stay on after a lesson: xpnn draws on explicit Figure objects
    and never calls matplotlib.use (nor imports xpnn.plotting with one)."""
    matplotlib = pytest.importorskip("matplotlib")
    from xpnn import lessons

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend the user chose, not Agg
    try:
        lessons.run("broadcasting", out=str(tmp_path), quick=True)
        import xpnn.plotting  # noqa: F401
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


def test_a_lesson_returns_its_figures_marked_when_quick_and_shows_them_in_a_notebook(tmp_path):
    from xpnn.lessons import _common, run

    result = run("hidden-sizes", out=str(tmp_path), quick=True)
    (fig,) = result.figures
    assert [t.get_text() for t in fig.texts] == [_common.QUICK_MARK]  # a quick picture says so
    assert len(fig.axes) == 3 and all(ax.axison for ax in fig.axes)  # LR, 1 and 4 units: no blank panel
    assert result["accuracy"][4] > 85  # still the dict of numbers
    html = result._repr_html_()
    assert html.count('<img src="data:image/png;base64,') == 1 and "accuracy" in html


def test_a_full_runs_picture_carries_no_quick_mark(tmp_path):
    from xpnn.lessons import _common

    fig, _ = _common.figure()
    with _common.recording(quick=False) as figures:
        _common.save(fig, str(tmp_path), "x.png")
    assert figures == [fig] and fig.texts == []


def test_show_draws_the_picture_pixel_for_pixel(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from xpnn.lessons import run, show

    run("broadcasting", out=str(tmp_path), quick=True)
    fig = show("broadcasting", out=str(tmp_path))
    try:
        height, width = plt.imread(tmp_path / "broadcasting.png").shape[:2]
        assert tuple(fig.get_size_inches() * fig.dpi) == pytest.approx((width, height))
        assert fig.axes[0].get_position().bounds == (0, 0, 1, 1)
    finally:
        plt.close(fig)
