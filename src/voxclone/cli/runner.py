"""How a command runs: on the backend chosen once for the invocation, with errors printed
as one line and progress as a rich bar."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from voxclone.cli.backend import Backend, Target, open_backend
from voxclone.client import ClientError
from voxclone.client.errors import APIError
from voxclone.core.errors import VoxcloneError

T = TypeVar("T")
console = Console(stderr=True)

KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="User key (vx_...); default: --api-key / VOXCLONE_API_KEY."),
]


_chosen = Target()


def choose(target: Target) -> None:
    """Set by the top-level ``--server`` / ``--api-key`` options, once per invocation."""
    global _chosen
    _chosen = target


def target() -> Target:
    return _chosen


def run(work: Callable[[Backend], Awaitable[T]], *, key: str | None = None) -> T:
    """Open the backend, run ``work`` on it, close it; an error is one line and exit 1."""

    async def main() -> T:
        async with open_backend(target(), key=key) as backend:
            return await work(backend)

    try:
        return asyncio.run(main())
    except VoxcloneError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
    except APIError as exc:
        console.print(f"[red]error:[/red] {exc.message} ({exc.status_code} {exc.code})")
    except ClientError as exc:
        console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


@contextmanager
def progress_bar(label: str, *, lazy: bool = False) -> Iterator[Callable[[float], None]]:
    """A bar from 0 to 1; the callback it yields moves it. ``lazy``: shown only once the
    callback is first called (a voice that needs no fitting shows none)."""
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    )
    task: TaskID | None = None

    def update(fraction: float) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=1.0)
        bar.update(task, completed=fraction)

    if not lazy:
        update(0.0)
    try:
        yield update
    finally:
        if task is not None:
            bar.stop()
