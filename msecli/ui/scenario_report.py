"""Rendering a scenario run as a table: one row per step."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def scenario_view(result: dict[str, Any]) -> Table:
    table = Table(title=f"{result['name']} ({result['context']})", title_justify="left")
    for column in ("#", "op", "result", "events", "element", "buffered"):
        table.add_column(column)
    for record in [result["initial"], *result["steps"]]:
        outcome = (
            "initial"
            if "op" not in record
            else ("ok" if record["ok"] else f"[red]{record['exception'] or 'failed'}[/]")
        )
        if record.get("value") is not None:
            outcome += f" → {record['value']}"
        buffered = "; ".join(
            f"{sb}: " + (", ".join(f"[{s:g},{e:g})" for s, e in v["buffered"]) if v["buffered"] is not None else "—")
            for sb, v in (record["sourceBuffers"] or {}).items()
        )
        table.add_row(str(record.get("step", "")), record.get("op", ""), outcome, " ".join(record["events"]),
                      " ".join(record["elementEvents"]), buffered)  # fmt: skip
    return table
