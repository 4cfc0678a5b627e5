"""``voxclone provenance``: did this deployment generate a file, and an item's signed
manifest (docs/provenance.md), in process or on a remote server (``--server``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voxclone.cli.runner import KeyOption, run

provenance_app = typer.Typer(help="Provenance of generated audio.", no_args_is_help=True)


@provenance_app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="The audio file to check.", exists=True)],
    manifest: Annotated[
        Path | None, typer.Option("--manifest", "-m", help="Its manifest (JSON).", exists=True)
    ] = None,
    key: KeyOption = None,
) -> None:
    """Whether this deployment generated FILE's exact bytes (exit 1 when not, or when the
    manifest given does not verify)."""
    audio = file.read_bytes()
    raw = manifest.read_bytes() if manifest is not None else None
    verdict = run(
        lambda b: b.provenance_verify(audio=audio, filename=file.name, manifest=raw), key=key
    )
    typer.echo(f"generated: {'yes' if verdict.generated else 'no'}")
    if verdict.history_id:
        typer.echo(
            f"history item {verdict.history_id}: voice {verdict.voice_id}, "
            f"backend {verdict.backend}, created {verdict.created_at}"
        )
    if verdict.manifest_valid is not None:
        typer.echo(f"manifest valid: {'yes' if verdict.manifest_valid else 'no'}")
    typer.echo(verdict.reason)
    if verdict.watermark is not None:
        typer.echo(f"watermark: {verdict.watermark.reason}")
    if not verdict.generated or verdict.manifest_valid is False:
        raise typer.Exit(1)


@provenance_app.command("manifest")
def manifest_of(
    history_id: Annotated[str, typer.Argument(help="The history item's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write it to (default: stdout).")
    ] = None,
    key: KeyOption = None,
) -> None:
    """The item's signed manifest (JSON)."""
    value = run(lambda b: b.provenance_manifest(history_id), key=key)
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote the manifest of {history_id} to {output}")
