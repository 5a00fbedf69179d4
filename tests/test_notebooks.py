"""The notebooks run top to bottom, in their small-budget mode (OPTBENCH_QUICK=1), and are
committed without outputs."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is installed by `make test` (the test extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is installed by `make test` (the test extra)")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_six_notebooks_are_there():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBENCH_QUICK", "1")  # the kernel inherits it, and this session's compile cache
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for cell in notebook.cells for o in cell.get("outputs", []))
    assert images >= 3, f"{path.name} drew {images} figures"
