"""``voxclone stories``: make a story from a script, list stories, render one to a file with a
progress bar. In process (a render runs here, as a job of the key's, through the same
pipeline as the server's) or on a remote server with ``--server`` (the server renders)."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voxclone.cli.backend import Backend, StoryMade
from voxclone.cli.runner import KeyOption, progress_bar, run
from voxclone.core.errors import InvalidInput

stories_app = typer.Typer(help="Multi-voice stories.", no_args_is_help=True)
console = Console()


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
    text = script.read_text(encoding="utf-8")

    def work(b: Backend) -> Awaitable[StoryMade]:
        return b.stories_create(name=name, script=text, cast=parse_cast(cast), gap=gap)

    made = run(work, key=key)
    console.print(f"story [bold]{made.story_id}[/bold]: {made.tracks} tracks, {made.clips} clips")


@stories_app.command("list")
def list_stories(key: KeyOption = None) -> None:
    """Your stories, newest first."""
    table = Table(title="Stories")
    for column in ("id", "name", "created (UTC)"):
        table.add_column(column, no_wrap=column == "id")
    for story in run(lambda b: b.stories_list(), key=key):
        created = story.created_at.strftime("%Y-%m-%d %H:%M") if story.created_at else "-"
        table.add_row(story.story_id, story.name, created)
    console.print(table)


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
    out_format = fmt or (output.suffix.lstrip(".").lower() or "wav")
    with progress_bar("rendering") as advance:
        data, seconds = run(
            lambda b: b.stories_render(story_id, format=out_format, progress=advance), key=key
        )
    output.write_bytes(data)
    console.print(f"wrote {output} ({seconds:.1f} s of audio)")
