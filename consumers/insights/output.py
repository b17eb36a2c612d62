"""A query's answer as the console shows it (a table and its statistics line), as
GetQueryResults returns it (JSON, values as strings, each row's ``@ptr``), or as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from consumers.insights.store import InsightsRun
from pipeline.insights.functions import to_text

__all__ = ["as_csv", "as_table", "get_query_results", "statistics_line"]


def _text(value: Any) -> str:
    return to_text(value) or ""


def as_table(run: InsightsRun) -> str:
    columns = run.result.columns
    cells = [
        [_text(row.get(column)).replace("\n", " ").rstrip() for column in columns]
        for row in run.result.rows
    ]
    widths = [len(column) for column in columns]
    for line in cells:
        widths = [min(max(width, len(cell)), 120) for width, cell in zip(widths, line, strict=True)]
    out = [" | ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))]
    out.append("-+-".join("-" * width for width in widths))
    for line in cells:
        out.append(
            " | ".join(
                (cell if len(cell) <= width else cell[: width - 3] + "...").ljust(width)
                for cell, width in zip(line, widths, strict=True)
            ).rstrip()
        )
    return "\n".join(out)


def statistics_line(run: InsightsRun) -> str:
    return (
        f"{run.records_matched} records matched | {run.records_scanned} records "
        f"({run.bytes_scanned / 1000:.1f} kB) scanned in {run.seconds:.1f} s"
    )


def get_query_results(run: InsightsRun) -> dict[str, Any]:
    """The shape of CloudWatch's GetQueryResults answer."""
    results = []
    for row, pointer in zip(run.result.rows, run.result.pointers, strict=True):
        fields = [{"field": column, "value": _text(value)} for column, value in row.items()]
        if pointer is not None:
            fields.append({"field": "@ptr", "value": pointer})
        results.append(fields)
    return {
        "status": "Complete",
        "results": results,
        "statistics": {
            "recordsMatched": float(run.records_matched),
            "recordsScanned": float(run.records_scanned),
            "bytesScanned": float(run.bytes_scanned),
        },
    }


def as_csv(run: InsightsRun) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(run.result.columns)
    for row in run.result.rows:
        writer.writerow([_text(row.get(column)) for column in run.result.columns])
    return out.getvalue()
