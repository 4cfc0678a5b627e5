"""``voxclone jobs``: follow a job to its end with a progress bar, or show one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxclone.cli.runner import KeyOption, console, progress_bar, run

jobs_app = typer.Typer(help="Your jobs (syntheses, fits, renders).", no_args_is_help=True)


@jobs_app.command()
def wait(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write its audio here.")
    ] = None,
    key: KeyOption = None,
) -> None:
    """Wait for a job to end, showing its progress; exit 1 if it failed or was cancelled."""
    with progress_bar("waiting") as advance:
        job = run(lambda b: b.jobs_wait(job_id, progress=advance), key=key)
    if job.status != "ready":
        console.print(f"[red]error:[/red] job {job.job_id} {job.status}: {job.error}")
        raise typer.Exit(1)
    seconds = f", {job.audio_duration_s:.1f} s of audio" if job.audio_duration_s else ""
    console.print(f"job {job.job_id} ready ({job.kind}{seconds})")
    if output is not None:
        data = run(lambda b: b.job_audio(job_id), key=key)
        output.write_bytes(data)
        console.print(f"wrote {output}")
