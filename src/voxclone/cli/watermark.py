"""``voxclone watermark``: find this deployment's watermark in a copy of generated audio
(docs/watermark.md), in process or on a remote server (``--server``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxclone.cli.runner import KeyOption, run

watermark_app = typer.Typer(help="The watermark of generated audio.", no_args_is_help=True)


@watermark_app.command()
def detect(
    file: Annotated[Path, typer.Argument(help="The audio file to check.", exists=True)],
    key: KeyOption = None,
) -> None:
    """Whether FILE carries a voxclone watermark, and which history item it names (exit 1
    when none is found)."""
    audio = file.read_bytes()
    found = run(lambda b: b.watermark_detect(audio=audio, filename=file.name), key=key)
    typer.echo(f"detected: {'yes' if found.detected else 'no'}")
    if found.payload is not None:
        typer.echo(
            f"deployment {found.payload.deployment}, history item "
            f"{found.payload.history_id or found.payload.history_prefix + '…'}, "
            f"confidence {found.confidence:.2f}"
        )
    if found.history is not None:
        item = found.history
        typer.echo(
            f"voice {item.voice_id}, backend {item.backend}, created {item.created_at}: "
            f"{item.text[:80]!r}"
        )
    typer.echo(found.reason)
    if not found.detected:
        raise typer.Exit(1)
