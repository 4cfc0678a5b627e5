"""``voxclone usage``'s output: a usage summary (the API's shape, in process or remote) as rich
tables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from voxclone.client import Usage, UsageTotals
from voxclone.client.account import UsageGroup

TITLES = {"day": "day (UTC)", "backend": "backend", "voice": "voice", "kind": "kind", "key": "key"}
FIELDS = {"day": "day", "backend": "backend", "voice": "voice_id", "kind": "kind", "key": "key_id"}
ORDER = ("key", "backend", "day", "voice", "kind")


def render_summary(summary: Usage, group_by: str | None = None) -> RenderableType:
    """A heading (the range, and a key's quota), then one table per grouping, in the order
    ``group_by`` asked for them."""
    who = f"key {summary.key_id}" if summary.key_id else "all keys"
    span = f"{summary.from_:%Y-%m-%d %H:%M} to {summary.to:%Y-%m-%d %H:%M} UTC"
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
    asked = [g.strip() for g in (group_by or "").split(",") if g.strip()]
    names = [n for n in (*asked, *ORDER) if n in FIELDS]
    shown = 0
    for name in dict.fromkeys(names):
        groups: list[UsageGroup] | None = getattr(summary, f"by_{name}")
        if groups is None:
            continue
        table = _table(TITLES[name])
        for group in groups:
            value = getattr(group, FIELDS[name])
            _row(table, str(value) if value is not None else "-", group)
        _row(table, "total", summary.totals, bold=True)
        parts += [Text(""), table]
        shown += 1
    if not shown:
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
