"""Line styles that tell configurations apart, and grouping of many into panels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optbench.errors import OptbenchError
from optbench.registry import REGISTRY

COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("", "o", "s", "^", "D", "v")
MAX_PER_PANEL = 10  # more lines than this in one axes and a reader cannot match them to the legend


def distinct_styles(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A style per name, no two alike: colours first, then line styles, then markers
    (240 combinations before any repeats)."""
    styles = {}
    for i, name in enumerate(dict.fromkeys(names)):
        color = COLORS[i % len(COLORS)]
        linestyle = LINESTYLES[(i // len(COLORS)) % len(LINESTYLES)]
        marker = MARKERS[(i // (len(COLORS) * len(LINESTYLES))) % len(MARKERS)]
        styles[name] = {"color": color, "linestyle": linestyle, "marker": marker, "markevery": 0.2}
    return styles


def family_of(optimizer_name: str) -> str:
    """An optimizer's family as registered (``first_order``, ``scipy``, ...); ``other``
    for one this process does not know (a plugin not loaded)."""
    try:
        return REGISTRY.get("optimizer", optimizer_name).family or "other"
    except OptbenchError:
        return "other"


def panels(configs: dict[str, str], limit: int = MAX_PER_PANEL) -> dict[str, list[str]]:
    """Configs (config -> optimizer name) grouped into panels: one panel when they are at
    most ``limit``, else one per optimizer family, a large family split in parts."""
    names = list(configs)
    if len(names) <= limit:
        return {"": names}
    families: dict[str, list[str]] = {}
    for config, optimizer in configs.items():
        families.setdefault(family_of(optimizer), []).append(config)
    out = {}
    for family, members in families.items():
        parts = [members[i : i + limit] for i in range(0, len(members), limit)]
        for k, part in enumerate(parts):
            out[family if len(parts) == 1 else f"{family} ({k + 1}/{len(parts)})"] = part
    return out
