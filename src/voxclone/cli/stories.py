"""``voxclone stories``: make a story from a script, list stories, render one to a file with a
progress bar. In process on the server's database and storage, as the other commands are; a
render runs here, as a job of the key's, through the same pipeline as the server's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voxclone.core.errors import InvalidInput
from voxclone.core.types import JobStatus
from voxclone.db import jobs as job_queries
from voxclone.services.container import Services

stories_app = typer.Typer(help="Multi-voice stories.", no_args_is_help=True)
console = Console()

KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="User key (vx_...); default: VOXCLONE_API_KEY."),
]


def parse_cast(cast: list[str]) -> dict[str, str]:
    """``NAME=VOICE`` pairs as a map; a malformed pair is an error naming it."""
    pairs: dict[str, str] = {}
    for item in cast:
        name, sep, voice = item.partition("=")
        if not sep or not name.strip() or not voice.strip():
            raise InvalidInput(f"--cast {item!r} is not NAME=VOICE", field="cast")
        pairs[name.strip()] = voice.strip()
    return pairs


@stories_app.command()
def create(
    name: Annotated[str, typer.Argument(help="The story's name.")],
    script: Annotated[
        Path, typer.Option("--script", exists=True, dir_okay=False, help="`NAME: line` text.")
    ],
    cast: Annotated[
        list[str],
        typer.Option("--cast", help="NAME=VOICE (a voice id or name of yours); repeat."),
    ],
    gap: Annotated[float | None, typer.Option(help="Seconds between lines.")] = None,
    key: KeyOption = None,
) -> None:
    """Make a story from a script: one track per speaker, the lines one after another."""
    from voxclone.cli.main import _run, _user_key_id

    async def work(s: Services) -> tuple[str, int, int]:
        key_id = await _user_key_id(s, key)
        voices = {
            speaker: (await s.voices.find(key_id=key_id, voice=wanted)).id
            for speaker, wanted in parse_cast(cast).items()
        }
        text = script.read_text(encoding="utf-8")
        s.stories.check_script(text, voices)
        story = await s.stories.create(key_id=key_id, name=name, description=None, settings={})
        view = await s.stories.import_script(
            key_id=key_id, story_id=story.story.id, script=text, voices=voices, gap_s=gap
        )
        return view.story.id, len(view.tracks), len(view.clips)

    story_id, tracks, clips = _run(work)
    console.print(f"story [bold]{story_id}[/bold]: {tracks} tracks, {clips} clips")


@stories_app.command("list")
def list_stories(key: KeyOption = None) -> None:
    """Your stories, newest first."""
    from voxclone.cli.main import _run, _user_key_id

    async def work(s: Services) -> Table:
        key_id = await _user_key_id(s, key)
        table = Table(title="Stories")
        for column in ("id", "name", "created (UTC)"):
            table.add_column(column, no_wrap=column == "id")
        for story in await s.stories.list_stories(key_id=key_id):
            table.add_row(story.id, story.name, story.created_at.strftime("%Y-%m-%d %H:%M"))
        return table

    console.print(_run(work))


@stories_app.command()
def render(
    story_id: Annotated[str, typer.Argument(help="The story's id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write the mix to.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="wav, mp3, flac or opus; default from -o.")
    ] = None,
    key: KeyOption = None,
) -> None:
    """Render the story (only clips that changed are synthesized again) into a file."""
    from voxclone.cli.main import _run, _user

    out_format = fmt or (output.suffix.lstrip(".").lower() or "wav")

    async def work(s: Services) -> float:
        caller = await _user(s, key)
        assert caller.key_id is not None
        job = await s.story_renderer.request(
            caller=caller, key_id=caller.key_id, story_id=story_id, asked={"format": out_format}
        )
        with Progress(
            TextColumn("[bold]rendering"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("render", total=1.0)
            running = asyncio.create_task(s.runner(job.id))
            while not running.done():
                await asyncio.sleep(0.2)
                async with s.sessions() as session:
                    row = await job_queries.get_job(session, job_id=job.id)
                if row is not None:
                    bar.update(task, completed=row.progress)
            await running
            bar.update(task, completed=1.0)
        finished = await s.jobs.get(key_id=caller.key_id, job_id=job.id)
        if finished.status != JobStatus.READY:
            raise InvalidInput(f"the render failed: {finished.error}", job_id=job.id)
        audio = await s.jobs.audio(key_id=caller.key_id, job_id=job.id)
        with output.open("wb") as f:
            async for chunk in audio.chunks:
                f.write(chunk)
        return finished.audio_duration_s or 0.0

    seconds = _run(work)
    console.print(f"wrote {output} ({seconds:.1f} s of audio)")
