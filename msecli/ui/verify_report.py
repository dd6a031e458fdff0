"""Rendering a verify run: one row per difference between Chromium and the simulation."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text


def verify_view(name: str, profile: str, differences: list[dict[str, Any]], steps: int) -> Group:
    if not differences:
        return Group(Text(f"{name}: Chromium and the simulation (--profile {profile}) agree on all {steps} steps",
                          style="green"))  # fmt: skip
    table = Table(title=f"{name}: {len(differences)} differences (--profile {profile})", title_justify="left")
    for column in ("step", "path", "Chromium", "simulation"):
        table.add_column(column, overflow="fold")
    for entry in differences:
        table.add_row(str(entry["step"]), entry["path"], _show(entry["browser"]), _show(entry["simulation"]))
    return Group(table)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
