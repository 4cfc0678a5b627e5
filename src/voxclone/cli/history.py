"""``voxclone history``: the key's generation history (list, play to a file, delete), in
process or on a remote server (``--server``), as the other commands are."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voxclone.cli.runner import KeyOption, run
from voxclone.client import HistoryItem

history_app = typer.Typer(help="Your generation history.", no_args_is_help=True)


def render_items(items: list[HistoryItem]) -> Table:
    table = Table(title="History", show_lines=False)
    for column in ("id", "created (UTC)", "voice", "way in", "backend", "seconds", "chars", ""):
        right = column in ("seconds", "chars")
        table.add_column(column, justify="right" if right else "left", no_wrap=column == "id")
    table.add_column("text", overflow="ellipsis", max_width=40)
    for item in items:
        voice = item.voice_name or item.voice_id or "-"
        marks = ("★" if item.starred else "") + (" hit" if item.cache_hit else "")
        table.add_row(
            item.history_id,
            item.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{voice} (deleted)" if item.voice_deleted else voice,
            item.entry,
            item.backend,
            f"{item.duration_s:.2f}",
            str(item.characters),
            marks.strip(),
            item.text.replace("\n", " "),
        )
    return table


@history_app.command("list")
def list_history(
    key: KeyOption = None,
    search: Annotated[str | None, typer.Option(help="Text containing this.")] = None,
    voice: Annotated[str | None, typer.Option(help="Only this voice id.")] = None,
    backend: Annotated[str | None, typer.Option(help="Only this backend.")] = None,
    starred: Annotated[bool, typer.Option("--starred", help="Starred items only.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """Your newest items, as a table."""
    items = run(
        lambda b: b.history_list(
            search=search, voice=voice, backend=backend, starred=starred, limit=limit
        ),
        key=key,
    )
    Console().print(render_items(items))


@history_app.command()
def play(
    history_id: Annotated[str, typer.Argument(help="The item's id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write the audio to.")],
    key: KeyOption = None,
) -> None:
    """Write an item's audio to a file."""
    data, fmt = run(lambda b: b.history_audio(history_id), key=key)
    output.write_bytes(data)
    typer.echo(f"wrote {len(data)} bytes of {fmt} to {output}")


@history_app.command()
def delete(
    history_ids: Annotated[list[str], typer.Argument(help="One or more item ids.")],
    key: KeyOption = None,
) -> None:
    """Delete items (items a story uses are kept)."""
    done = run(lambda b: b.history_delete(history_ids), key=key)
    typer.echo(f"deleted {len(done.deleted)} item(s)")
    for history_id in done.in_use:
        typer.echo(f"kept {history_id}: a story uses it")
