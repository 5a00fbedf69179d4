"""``optbench list`` and ``optbench describe``: what is registered, without running anything.

Listing reads only the registry (factories and their signatures), never builds a problem,
so it takes well under a second; ``describe`` builds the one problem it is asked about.
"""

from __future__ import annotations

import argparse
import inspect
import textwrap
from typing import Any

from optbench.errors import UnknownNameError


def list_command(args: argparse.Namespace) -> int:
    from optbench.registry import REGISTRY

    REGISTRY.load_plugins(args.plugins)
    if args.what == "suites":
        from optbench.suite import list_suites

        for suite in list_suites(args.plugins):
            _print_entry(f"{suite.name:<20} ", suite.description)
        return 0
    if args.what == "optimizers":
        for name in REGISTRY.names("optimizer"):
            entry = REGISTRY.get("optimizer", name)
            _print_entry(
                f"{name:<18} {entry.family:<14} requires {','.join(sorted(entry.requires)):<16} ", entry.description
            )
        return 0
    collected: dict[str, list[str]] = {tag: [] for tag in _COLLECTIONS}
    for name in REGISTRY.names("problem"):
        tag = next((t for t in _COLLECTIONS if t in REGISTRY.get("problem", name).tags), None)
        if tag is not None and not args.all:
            collected[tag].append(name)
        else:
            _print_entry(f"{name:<18} ", REGISTRY.get("problem", name).description)
    for tag, names in collected.items():
        if names:
            _print_entry(
                f"{tag + '_*':<18} ", f"{len(names)} {_COLLECTIONS[tag]} (`optbench list problems --all` names each)"
            )
    print()
    _print_entry(
        "", "`optbench describe NAME` shows a problem's parameters, what it offers and what is known about it."
    )
    return 0


def _print_entry(left: str, description: str) -> None:
    """One listing entry: its columns, then its description, wrapped to the terminal's width
    under itself (a description is a whole sentence, never cut)."""
    import textwrap

    from optbench.analysis.formatting import terminal_width

    text = description.replace("``", "`")
    width = max(terminal_width(), len(left) + 30)
    print(textwrap.fill(text, width, initial_indent=left, subsequent_indent=" " * len(left)) if text else left.rstrip())


# Problem sets listed in one line each unless --all: their tag and what they are.
_COLLECTIONS = {
    "bbob": "noiseless BBOB functions from COCO's cocoex",
    "cutest": "unconstrained CUTEst problems from sif2jax",
}


def describe_command(args: argparse.Namespace) -> int:
    from optbench.registry import REGISTRY
    from optbench.spec import parse_spec

    REGISTRY.load_plugins(args.plugins)
    name = parse_spec(args.name).name
    found = [kind for kind in ("problem", "optimizer") if name in REGISTRY.names(kind)]
    if not found:
        REGISTRY.get("problem" if "[" in args.name else "optimizer", name)  # raises, with a suggestion
        raise UnknownNameError(f"unknown problem or optimizer {name!r}")
    for kind in found:
        print(_problem(args.name) if kind == "problem" else _optimizer(name))
    return 0


def _problem(spec: str) -> str:
    from optbench.registry import REGISTRY
    from optbench.spec import parse_spec

    entry = REGISTRY.get("problem", parse_spec(spec).name)
    problem = REGISTRY.problem(spec)
    known = "unknown" if problem.f_opt is None else f"{problem.f_opt:.10g}"
    lines = [
        f"problem {entry.name}" + (f"  (from {entry.source})" if entry.source not in ("", "optbench") else ""),
        *_doc(entry.factory),
        "parameters (spec: name[param=value,...]):",
        *_parameters(entry.factory),
        f"{problem.spec}:",
        f"  objective: {_objective(problem)}",
        f"  offers: {', '.join(sorted(problem.capabilities))}",
        f"  parameters to fit: {problem.n_params:,}, dtype {problem.dtype}, known optimum (f_opt): {known}",
    ]
    if problem.f_opt is not None and problem.target_scale is not None:
        lines.append(f"  precision targets: relative, f - f_opt <= delta x {problem.target_scale:.4g}")
    if problem.bounds is not None:
        lines.append("  bounds: a constraint; a run that ends outside them is flagged (in_bounds = 0), never a success")
    elif problem.search_box is not None:
        lines.append("  search box: where population methods sample and search; not a constraint")
    if problem.data is not None and problem.black_box is None:  # a black box's data says which function it is
        lines.append(f"  training examples: {problem.n_examples:,}")
    if entry.tags:
        lines.append(f"  tags: {', '.join(sorted(entry.tags))}")
    return "\n".join(lines) + "\n"


def _objective(problem: Any) -> str:
    """What the problem's loss is, exactly enough to reproduce it elsewhere."""
    offers = problem.capabilities
    if "objectives" in offers and "value" not in offers:
        return "a vector of objectives, each minimized (a Pareto front, not one loss)"
    if "residuals" in offers:
        points = f" over its {problem.n_examples:,} points" if problem.data is not None else ""
        return f"the mean squared residual, mean(r_i^2){points} (the residual sum of squares / n)"
    if "minibatch" in offers:
        return (
            f"the mean cross-entropy over the {problem.n_examples:,} training examples"
            " (plus any penalty the description above names)"
        )
    return f"the function's value ({problem.description})"


def _optimizer(name: str) -> str:
    from optbench.registry import REGISTRY

    entry = REGISTRY.get("optimizer", name)
    limit = f", at most {entry.max_params:,} parameters" if entry.max_params else ""
    limit += ", float64 problems only" if entry.float64_only else ""
    lines = [
        f"optimizer {name}  (family {entry.family})",
        *_doc(entry.factory),
        f"requires: {', '.join(sorted(entry.requires)) or 'nothing'}{limit}",
        "bounds: "
        + (
            "keeps to a problem's bounds"
            if entry.keeps_bounds
            else "ignores a problem's bounds; a run that ends outside them is flagged (in_bounds = 0), never a success"
        ),
        "hyperparameters (spec: name[param=value,...]; a list is a grid):",
        *_parameters(entry.factory),
    ]
    if entry.space:
        from optbench.tuning.space import describe

        lines += [
            "search space (optbench tune; a hyperparameter set in the spec is not tuned):",
            *describe(entry.space),
        ]
    else:
        lines.append("search space: none declared (optbench tune runs its defaults: nothing to tune)")
    return "\n".join(lines) + "\n"


def _doc(factory: object) -> list[str]:
    doc = inspect.getdoc(factory) or "(no description)"
    return [textwrap.indent(doc, "  "), ""]


def _parameters(factory: object) -> list[str]:
    rows = []
    for p in inspect.signature(factory).parameters.values():  # type: ignore[arg-type]
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        kind = type(p.default).__name__ if p.default is not None else "any"
        rows.append(f"  {p.name}: {kind} = {p.default!r}")
    return rows or ["  (none)"]


def cache_command(args: argparse.Namespace) -> int:
    """``optbench cache info|clear``: the persistent compilation cache."""
    from optbench.caches.compile_cache import clear, info

    held = clear() if args.action == "clear" else info()
    size = f"{held['entries']} compiled programs, {held['bytes'] / 1e6:.1f} MB"
    if args.action == "clear":
        print(f"cleared {held['folder']}: {size}")
        return 0
    other = f"; {len(held['other'])} other entries, not optbench's (clear would refuse)" if held["other"] else ""
    print(f"{held['folder']}: {size}; {'on' if held['enabled'] else 'off (OPTBENCH_COMPILE_CACHE=0)'}{other}")
    return 0
