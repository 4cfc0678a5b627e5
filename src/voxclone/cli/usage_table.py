"""``voxclone usage``'s output: a usage summary as rich tables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from voxclone.services.usage import UsageSummary, UsageTotals

TITLES = {"day": "day (UTC)", "backend": "backend", "voice": "voice", "kind": "kind", "key": "key"}


def render_summary(summary: UsageSummary) -> RenderableType:
    """A heading (the range, and a key's quota), then one table per grouping."""
    who = f"key {summary.key_id}" if summary.key_id else "all keys"
    span = f"{summary.start:%Y-%m-%d %H:%M} to {summary.end:%Y-%m-%d %H:%M} UTC"
    lines = [Text(f"usage of {who}, {span}")]
    if summary.quota is not None:
        quota = summary.quota
        limit = "unlimited" if quota.quota is None else f"{quota.quota:,}"
        left = "" if quota.left is None else f", {quota.left:,} left"
        lines.append(
            Text(
                f"this period: {quota.used:,} of {limit} characters{left}; "
                f"resets {quota.resets_at:%Y-%m-%d %H:%M} UTC"
            )
        )
    parts: list[RenderableType] = [*lines]
    for name, groups in summary.groups.items():
        table = _table(TITLES.get(name, name))
        for group in groups:
            _row(table, group.value or "-", group.totals)
        _row(table, "total", summary.totals, bold=True)
        parts += [Text(""), table]
    if not summary.groups:
        table = _table("")
        _row(table, "total", summary.totals, bold=True)
        parts += [Text(""), table]
    return Group(*parts)


def _table(first: str) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column(first)
    for column in ("characters", "audio out (s)", "audio in (s)", "requests", "cache hits"):
        table.add_column(column, justify="right")
    return table


def _row(table: Table, label: str, totals: UsageTotals, *, bold: bool = False) -> None:
    table.add_row(
        label,
        f"{totals.characters:,}",
        f"{totals.audio_out_s:,.1f}",
        f"{totals.audio_in_s:,.1f}",
        f"{totals.requests:,}",
        f"{totals.cache_hits:,}",
        style="bold" if bold else None,
    )
