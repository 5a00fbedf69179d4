"""Convert NIST StRD nonlinear regression files (.dat) into optbench's compact JSON.

Usage: python scripts/convert_nist.py ../shared/nist-strd problems/nist_strd.json

The output holds, per problem: the data columns (y, then the predictors), the two
starting points, the certified parameters with their standard deviations, and the
certified residual sum of squares. Numbers keep every digit NIST printed: float64 reads
them exactly as it would read the .dat files.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PARAMETER = re.compile(rf"^\s*b(\d+)\s*=\s*({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s*$")
_RSS = re.compile(rf"Residual Sum of Squares:\s*({_NUMBER})")
_COLUMNS = re.compile(r"^\s*Data:\s+(y(?:\s+x\d?)+)\s*$")


def parse(text: str) -> dict:
    """The numbers of one StRD file; raises ValueError if the file does not look like one."""
    lines = text.splitlines()
    parameters = {}
    for line in lines:
        match = _PARAMETER.match(line)
        if match:
            index, start1, start2, certified, sd = match.groups()
            parameters[int(index)] = (float(start1), float(start2), float(certified), float(sd))
    rss = _RSS.search(text)
    header = next((i for i, line in enumerate(lines) if _COLUMNS.match(line)), None)
    if not parameters or rss is None or header is None:
        raise ValueError("not a NIST StRD nonlinear regression file")
    if sorted(parameters) != list(range(1, len(parameters) + 1)):
        raise ValueError(f"parameters are not b1..bN: {sorted(parameters)}")
    names = _COLUMNS.match(lines[header]).group(1).split()
    rows = [[float(v) for v in line.split()] for line in lines[header + 1 :] if line.strip()]
    if any(len(row) != len(names) for row in rows):
        raise ValueError("data rows do not match the column header")
    ordered = [parameters[i] for i in sorted(parameters)]
    return {
        "columns": {name: [row[i] for row in rows] for i, name in enumerate(names)},
        "start1": [p[0] for p in ordered],
        "start2": [p[1] for p in ordered],
        "certified": [p[2] for p in ordered],
        "certified_sd": [p[3] for p in ordered],
        "certified_rss": float(rss.group(1)),
    }


def main(source: str, target: str) -> None:
    files = sorted(Path(source).glob("*.dat"))
    out = {path.stem.lower(): parse(path.read_text()) for path in files}
    Path(target).write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"{len(out)} problems written to {target}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
