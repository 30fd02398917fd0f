"""Plain-text output shared by the command line, the lessons and the benchmark report."""

from __future__ import annotations


def aligned_table(rows):
    """``rows`` (the first is the header) as aligned plain-text columns, a rule under the header."""
    rows = [tuple(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
