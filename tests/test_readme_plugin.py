"""The README's engineer example runs as printed: a CSV beside the plugin, a random start,
dict bounds and an f_opt computed with scipy."""

import re

import numpy as np
from helpers import REPO

import optbench


def test_the_readme_csv_plugin_fits_its_data_to_scipys_optimum(tmp_path):
    readme = (REPO / "README.md").read_text()
    (source,) = re.findall(r"```python\n(# my_dir/decay_from_csv\.py.*?)```", readme, re.S)
    folder = tmp_path / "my_dir"
    folder.mkdir()
    (folder / "decay_from_csv.py").write_text(source)
    x = np.linspace(0, 5, 40)
    y = 3 * np.exp(-0.7 * x) + 0.05 * np.random.default_rng(1).standard_normal(40)
    np.savetxt(folder / "decay.csv", np.c_[x, y], delimiter=",", header="x,y", comments="")
    runs, traces = optbench.run("decay_csv", ["lm", "scipy_lm"], seeds=3, plugins=[folder], progress=False)
    f_opt = runs["f_opt"].iloc[0]
    np.testing.assert_allclose(runs["fun"], f_opt, rtol=1e-12)  # scipy's curve_fit optimum, to 12 digits
    assert runs["success"].all() and runs["in_bounds"].all()
    starts = traces.groupby("run_id")["loss"].first()
    assert starts.round(10).nunique() == 3  # three seeds, three starts, each shared by both methods
