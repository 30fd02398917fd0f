"""The lessons in a Jupyter notebook, executed headless (nbclient, the kernel of this Python):
every lesson's cell shows its pictures inline, and pyplot's inline figures still show after
them (a lesson never switches the user's matplotlib backend); an estimator shows scikit-learn's
HTML diagram."""

import pytest

from xpnn.lessons import LESSONS

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")


def _images(cell):
    """How many images the cell's outputs show (PNG outputs, and PNGs inside HTML)."""
    count = 0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        count += "image/png" in data
        count += data.get("text/html", "").count("data:image/png;base64,")
    return count


@pytest.mark.slow
def test_every_lesson_then_pyplot_shows_inline_in_a_notebook(tmp_path):
    new = nbformat.v4.new_code_cell
    cells = [new("import matplotlib.pyplot as plt\nimport xpnn\nfrom xpnn import lessons")]
    cells += [new(f"lessons.run({name!r}, quick=True, out='lessons')") for name in LESSONS]
    cells += [new("fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\nplt.show()"),
              new("xpnn.DeepNet((3,))")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    lesson_cells, pyplot_cell, estimator_cell = notebook.cells[1:-2], notebook.cells[-2], notebook.cells[-1]
    assert [_images(cell) for cell in lesson_cells] == [1] * len(LESSONS)
    assert _images(pyplot_cell) == 1
    (shown,) = [o for o in estimator_cell.outputs if o.get("output_type") == "execute_result"]
    assert "DeepNet(hidden_layer_sizes=(3,))" in shown["data"]["text/plain"]
    pytest.importorskip("sklearn")
    assert "sk-estimator" in shown["data"].get("text/html", "")  # scikit-learn's diagram
