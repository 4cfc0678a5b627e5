"""The ``voxclone`` command. In process (the default) every command reads the same Settings as
the server; with ``--server URL`` (or VOXCLONE_SERVER) the same commands act on a remote
deployment over HTTP, through ``voxclone.client`` (see ``cli/backend.py``)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from voxclone.cli.backend import Target
from voxclone.cli.history import history_app
from voxclone.cli.jobs import jobs_app
from voxclone.cli.provenance import provenance_app
from voxclone.cli.provider import provider_app
from voxclone.cli.runner import KeyOption, choose, console, progress_bar, run
from voxclone.cli.stories import stories_app
from voxclone.cli.watermark import watermark_app
from voxclone.config import Settings
from voxclone.core.errors import VoxcloneError
from voxclone.logs import configure_logging

app = typer.Typer(help="voxclone: self-hosted voice cloning.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys (admin).", no_args_is_help=True)
voices_app = typer.Typer(help="Manage voices.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(voices_app, name="voices")
app.add_typer(provider_app, name="provider")
app.add_typer(history_app, name="history")
app.add_typer(stories_app, name="stories")
app.add_typer(jobs_app, name="jobs")
app.add_typer(provenance_app, name="provenance")
app.add_typer(watermark_app, name="watermark")


@app.callback()
def choose_target(
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="VOXCLONE_SERVER",
            help="Act on this deployment over HTTP (http://host:8000) instead of in process.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="VOXCLONE_API_KEY",
            help="The key to act as (vx_...; the admin key for `keys`).",
        ),
    ] = None,
) -> None:
    """voxclone: self-hosted voice cloning."""
    choose(Target(server=server or None, api_key=api_key or None))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: VOXCLONE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: VOXCLONE_PORT.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="API processes on the port. Default: VOXCLONE_WORKERS (1)."),
    ] = None,
) -> None:
    """Run the HTTP server (migrates the database first)."""
    import os

    import uvicorn

    from voxclone.api.app import create_app

    settings = Settings()
    configure_logging(settings)
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers
    if settings.studio.enabled:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (only shown)
        console.print(
            f"[bold]voxclone studio:[/bold] http://{shown}:{port}/  (sign in with a user key, "
            f"or the admin key in {settings.data_dir / 'admin_key'})"
        )
    common: dict[str, object] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level,
        "log_config": None,  # ours (configure_logging), also for uvicorn's own loggers
        "access_log": False,  # the app writes one line per request itself (api/request_log.py)
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        "ws": "websockets-sansio",  # uvicorn's "auto" picks the deprecated legacy API
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # Several processes: what each would race to do at start-up is done once here (the
    # migrations, the admin key file); each builds its app from the same environment.
    from voxclone.db.migrate import upgrade_database_sync
    from voxclone.services.keys import ensure_admin_key

    upgrade_database_sync(settings.resolved_database_url)
    admin = settings.admin_key.get_secret_value() if settings.admin_key else None
    admin, generated = ensure_admin_key(settings.data_dir, admin)
    if generated:
        console.print(
            f"generated an admin key (also in {settings.data_dir / 'admin_key'}): {admin}"
        )
    os.environ["VOXCLONE_WORKERS"] = str(workers)
    os.environ["VOXCLONE_ADMIN_KEY"] = admin
    uvicorn.run(
        "voxclone.api.app:create_app",
        factory=True,
        workers=workers,
        **common,  # type: ignore[arg-type]
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            help="Jobs run at once, one process each; default VOXCLONE_WORKER__CONCURRENCY."
        ),
    ] = None,
) -> None:
    """Run a Celery worker: take jobs from Redis and run them (VOXCLONE_QUEUE=celery)."""
    from voxclone.cli.worker import run_worker

    settings = Settings()
    if settings.queue != "celery":
        console.print(
            "[red]error:[/red] voxclone worker runs the distributed mode's jobs: set "
            "VOXCLONE_QUEUE=celery and VOXCLONE_REDIS_URL (the embedded mode needs no worker)"
        )
        raise typer.Exit(2)
    configure_logging(settings)
    raise typer.Exit(run_worker(settings, concurrency=concurrency))


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    from voxclone.db.migrate import upgrade_database_sync

    settings = Settings()
    upgrade_database_sync(settings.resolved_database_url)
    console.print("database is up to date")


@keys_app.command("create")
def keys_create(
    label: Annotated[str, typer.Option(help="A name for the key.")] = "",
    rate_limit: Annotated[int | None, typer.Option(help="Requests per minute.")] = None,
) -> None:
    """Issue a user key and print it (it is shown once)."""
    issued = run(lambda b: b.keys_create(label=label, rate_limit=rate_limit))
    console.print(f"key id {issued.key_id} ({issued.label or 'no label'})")
    typer.echo(issued.api_key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never the keys themselves)."""
    for k in run(lambda b: b.keys_list()):
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        typer.echo(f"{k.key_id}  {k.prefix}…  {state:<18} {k.label}")


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    run(lambda b: b.keys_revoke(key_id))
    console.print(f"revoked {key_id}")


@voices_app.command("add")
def voices_add(
    name: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    key: KeyOption = None,
    ref_text: Annotated[str | None, typer.Option(help="Transcript of the clip.")] = None,
    backend: Annotated[str | None, typer.Option(help="Engine; default from settings.")] = None,
    lang: Annotated[str, typer.Option(help="Language code.")] = "en",
) -> None:
    """Create a voice from a reference clip (3–60 s of WAV, MP3, FLAC or OGG); a fitting
    engine shows its progress."""
    console.print(f"checking the clip and creating voice {name!r}…")
    with progress_bar("fitting the voice", lazy=True) as fitting:
        voice = run(
            lambda b: b.voices_add(
                name=name,
                audio=file.read_bytes(),
                filename=file.name,
                ref_text=ref_text,
                backend=backend,
                lang=lang,
                progress=fitting,
            ),
            key=key,
        )
    if voice.status != "ready":
        console.print(f"[red]error:[/red] fitting failed: {voice.error}")
        raise typer.Exit(1)
    console.print(f"voice {name!r} created")
    typer.echo(voice.voice_id)


@voices_app.command("list")
def voices_list(key: KeyOption = None) -> None:
    """List your voices."""
    for v in run(lambda b: b.voices_list(), key=key):
        typer.echo(f"{v.voice_id}  {v.name:<24} {v.backend:<10} {v.ref_duration_s:5.1f} s")


@voices_app.command("delete")
def voices_delete(
    voice: Annotated[str, typer.Argument(help="Voice name or id.")], key: KeyOption = None
) -> None:
    """Delete a voice (its history is kept)."""
    voice_id = run(lambda b: b.voices_delete(voice), key=key)
    console.print(f"deleted voice {voice_id}")


@voices_app.command("consent-phrase")
def voices_consent_phrase(
    voice: Annotated[str, typer.Argument(help="Voice name or id.")], key: KeyOption = None
) -> None:
    """A one-time phrase for the voice's owner to record (docs/consent.md)."""
    challenge = run(lambda b: b.consent_challenge(voice), key=key)
    console.print(f"Say, in the voice's own voice, and record:\n  [bold]{challenge.phrase}[/bold]")
    console.print(
        f"then: voxclone voices consent {voice} RECORDING  (before {challenge.expires_at})"
    )


@voices_app.command("consent")
def voices_consent(
    voice: Annotated[str, typer.Argument(help="Voice name or id.")],
    recording: Annotated[Path, typer.Argument(help="The owner saying the phrase.", exists=True)],
    key: KeyOption = None,
) -> None:
    """Send the recording of the consent phrase; prints the verdict and its scores."""
    data = recording.read_bytes()
    consent = run(lambda b: b.consent(voice, audio=data, filename=recording.name), key=key)
    console.print(
        f"consent {consent.status}: word error rate {consent.word_error_rate}, speaker score "
        f"{consent.speaker_score} (at least {consent.speaker_threshold})"
    )


@app.command()
def say(
    text: str,
    voice: Annotated[str, typer.Option("--voice", "-v", help="Voice name or id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the audio.")],
    key: KeyOption = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="wav, mp3, flac, ogg, opus, pcm; default from -o."),
    ] = None,
    backend: Annotated[str | None, typer.Option(help="Engine; default: the voice's.")] = None,
    lang: Annotated[str | None, typer.Option(help="Language; default: the voice's.")] = None,
    speed: Annotated[float, typer.Option(help="Speaking rate, 0.25–4.")] = 1.0,
) -> None:
    """Synthesize TEXT in a voice, with a progress bar, into a file."""
    out_format = fmt or (output.suffix.lstrip(".").lower() or "wav")
    with progress_bar("synthesizing") as advance:
        spoken = run(
            lambda b: b.say(
                text=text,
                voice=voice,
                format=out_format,
                backend=backend,
                lang=lang,
                speed=speed,
                progress=advance,
            ),
            key=key,
        )
    output.write_bytes(spoken.data)
    hit = ", from cache" if spoken.cache_hit else ""
    console.print(f"wrote {output} ({spoken.duration_s:.1f} s of audio{hit})")


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    language: Annotated[
        str | None, typer.Option(help="Language code; default: detected (tiny.en: en).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, srt, vtt or json (OpenAI's verbose_json).")
    ] = "text",
    backend: Annotated[
        str | None, typer.Option(help="STT engine; default VOXCLONE_DEFAULT_STT_BACKEND.")
    ] = None,
    key: KeyOption = None,
) -> None:
    """Transcribe an audio FILE (WAV, MP3, FLAC or OGG) and print the transcript."""
    if fmt not in ("text", "srt", "vtt", "json"):
        console.print(f"[red]error:[/red] --format must be text, srt, vtt or json, not {fmt!r}")
        raise typer.Exit(2)
    with progress_bar("transcribing") as advance:
        text = run(
            lambda b: b.transcribe(
                audio=file.read_bytes(),
                filename=file.name,
                language=language,
                format=fmt,
                backend=backend,
                progress=advance,
            ),
            key=key,
        )
    typer.echo(text, nl=False)


@app.command()
def usage(
    key: KeyOption = None,
    all_keys: Annotated[
        bool, typer.Option("--all", help="Every key's usage (the admin's view).")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start: a date or datetime (UTC); default: the period's."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="End, exclusive (a date includes that day)."),
    ] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="day, backend, voice, kind (--all: also key); comma-separated. "
            "Default: backend,day (--all: key).",
        ),
    ] = None,
    key_id: Annotated[
        str | None, typer.Option("--key-id", help="With --all: only this key's usage.")
    ] = None,
) -> None:
    """Characters, audio seconds and requests: your key's current billing period and quota
    (VOXCLONE_API_KEY or --key), or with --all every key's."""
    from voxclone.cli.usage_table import render_summary

    summary = run(
        lambda b: b.usage(
            all_keys=all_keys, start=start, end=end, group_by=group_by, key_id=key_id
        ),
        key=key,
    )
    Console().print(render_summary(summary, group_by))


@app.command()
def bench(
    engine: Annotated[
        list[str] | None,
        typer.Option(
            "--engine", "-e", help="A TTS engine to time (repeatable); default: the default one."
        ),
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Timed runs per text.")] = 3,
    reference: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="A voice clip to clone first (timed); default: each engine's own voice.",
        ),
    ] = None,
) -> None:
    """Time the configured TTS engines here: real-time factor and time to first audio."""
    from voxclone.audio import decode_audio
    from voxclone.engines.engines_file import engine_specs
    from voxclone.engines.registry import EngineRegistry
    from voxclone.services import bench as timing

    settings = Settings()
    names = engine or [settings.default_backend]
    clip = None
    registry = EngineRegistry(engine_specs(settings))
    try:
        for name in names:
            registry.spec(name)  # an unknown name fails before anything is timed
        if reference is not None:
            clip = decode_audio(reference.read_bytes()).audio
        steps = 2 + (clip is not None) + runs * len(timing.TEXTS)
        rows: list[timing.Row] = []
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("timing", total=steps * len(names))
            for i, name in enumerate(names):
                rows += timing.measure_engine(
                    functools.partial(registry.get_tts, name),
                    runs=runs,
                    reference=clip,
                    step=_bench_step(bar, task, name, done=i * steps),
                )
                bar.update(task, completed=(i + 1) * steps)
    except VoxcloneError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        registry.close()
    typer.echo(timing.format_table(rows, runs))


def _bench_step(bar: Progress, task: TaskID, name: str, *, done: int) -> Callable[[str], None]:
    """A step callback that shows what ``name`` is doing and the steps finished before it."""
    begun = itertools.count()

    def step(what: str) -> None:
        bar.update(task, description=f"{name}: {what}", completed=done + next(begun))

    return step


def main() -> None:
    app()
