"""The ``voxclone`` command. Every command reads the same Settings as the server."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from voxclone.cli.history import history_app
from voxclone.cli.provider import provider_app
from voxclone.cli.stories import stories_app
from voxclone.config import Settings
from voxclone.core.errors import NotFound, VoxcloneError
from voxclone.logs import configure_logging
from voxclone.services.container import Services, build_services
from voxclone.services.keys import Principal
from voxclone.services.synthesis_request import SynthesisRequest

app = typer.Typer(help="voxclone: self-hosted voice cloning.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys (admin).", no_args_is_help=True)
voices_app = typer.Typer(help="Manage voices.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(voices_app, name="voices")
app.add_typer(provider_app, name="provider")
app.add_typer(history_app, name="history")
app.add_typer(stories_app, name="stories")

console = Console(stderr=True)
T = TypeVar("T")

KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="User key (vx_...); default: VOXCLONE_API_KEY."),
]


def _run(work: Callable[[Services], Awaitable[T]]) -> T:
    """Build the services from settings, run ``work`` with them, and close them."""

    async def main() -> T:
        services = build_services(Settings())
        await services.start(run_jobs=False)
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except VoxcloneError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None


async def _user_key_id(services: Services, key: str | None) -> str:
    principal = await _user(services, key)
    assert principal.key_id is not None
    return principal.key_id


async def _user(services: Services, key: str | None) -> Principal:
    """The user key the CLI acts as (``--key`` or VOXCLONE_API_KEY), with its limits."""
    token = key or (
        services.settings.api_key.get_secret_value() if services.settings.api_key else None
    )
    if not token:
        raise VoxcloneError(
            "no user key: pass --key vx_... or set VOXCLONE_API_KEY "
            "(create one with `voxclone keys create`)"
        )
    principal = await services.keys.authenticate(token)
    if principal.key_id is None:
        raise VoxcloneError("the admin key cannot own voices; use a user key (vx_...)")
    return principal


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: VOXCLONE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: VOXCLONE_PORT.")] = None,
) -> None:
    """Run the HTTP server (migrates the database first)."""
    import uvicorn

    from voxclone.api.app import create_app

    settings = Settings()
    configure_logging(settings)
    host, port = host or settings.host, port or settings.port
    if settings.studio.enabled:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (only shown)
        console.print(
            f"[bold]voxclone studio:[/bold] http://{shown}:{port}/  (sign in with a user key, "
            f"or the admin key in {settings.data_dir / 'admin_key'})"
        )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,  # ours (configure_logging), also for uvicorn's own loggers
        access_log=False,  # the app writes one line per request itself (api/request_log.py)
        ws="websockets-sansio",  # uvicorn's "auto" picks the deprecated legacy websockets API
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
    issued = _run(lambda s: s.keys.create(label=label, rate_limit_per_minute=rate_limit))
    console.print(f"key id {issued.record.id} ({issued.record.label or 'no label'})")
    typer.echo(issued.secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never the keys themselves)."""
    for k in _run(lambda s: s.keys.list()):
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        typer.echo(f"{k.id}  {k.prefix}…  {state:<18} {k.label}")


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    _run(lambda s: s.keys.revoke(key_id=key_id))
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
    """Create a voice from a reference clip (3–60 s of WAV, MP3, FLAC or OGG)."""

    async def work(s: Services) -> str:
        key_id = await _user_key_id(s, key)
        with console.status(f"checking the clip and creating voice {name!r}…"):
            voice = await s.voices.create(
                key_id=key_id,
                name=name,
                ref_audio=file.read_bytes(),
                ref_text=ref_text,
                backend=backend,
                lang=lang,
            )
        fit_job = (voice.meta or {}).get("fit_job_id")
        if fit_job:  # a fitting engine: run its job here, showing its progress
            await _fit_with_progress(s, key_id, voice.id, fit_job)
        return voice.id

    voice_id = _run(work)
    console.print(f"voice {name!r} created")
    typer.echo(voice_id)


async def _fit_with_progress(s: Services, key_id: str, voice_id: str, job_id: str) -> None:
    with Progress(
        TextColumn("[bold]fitting the voice"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("fit", total=1.0)
        run = asyncio.create_task(s.runner(job_id))
        while not run.done():
            await asyncio.sleep(0.5)
            voice = await s.voices.get(key_id=key_id, voice_id=voice_id)
            bar.update(task, completed=voice.progress)
        await run
    voice = await s.voices.get(key_id=key_id, voice_id=voice_id)
    if voice.status != "ready":
        raise VoxcloneError(f"fitting failed: {voice.error}")


@voices_app.command("list")
def voices_list(key: KeyOption = None) -> None:
    """List your voices."""

    async def work(s: Services) -> list[tuple[str, str, str, float]]:
        voices = await s.voices.list(key_id=await _user_key_id(s, key))
        return [(v.id, v.name, v.backend, v.ref_duration_s) for v in voices]

    for voice_id, name, backend, seconds in _run(work):
        typer.echo(f"{voice_id}  {name:<24} {backend:<10} {seconds:5.1f} s")


async def _find_voice(s: Services, key_id: str, voice: str) -> str:
    for v in await s.voices.list(key_id=key_id, limit=1000):
        if voice in (v.id, v.name):
            return v.id
    raise NotFound(f"no voice named {voice!r}; see `voxclone voices list`")


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

    async def work(s: Services) -> tuple[float, bool]:
        user = await _user(s, key)
        assert user.key_id is not None
        voice_id = await _find_voice(s, user.key_id, voice)
        with Progress(
            TextColumn("[bold]synthesizing"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("say", total=1.0)

            async def advance(fraction: float) -> None:
                bar.update(task, completed=fraction)

            result = await s.synthesis.synthesize_now(
                caller=user,
                req=SynthesisRequest(
                    voice_id=voice_id,
                    text=text,
                    lang=lang,
                    backend=backend,
                    format=out_format,
                    speed=speed,
                ),
                progress=advance,
            )
            bar.update(task, completed=1.0)
        output.write_bytes(result.data)
        return result.duration_s, result.cache_hit

    duration, hit = _run(work)
    console.print(f"wrote {output} ({duration:.1f} s of audio{', from cache' if hit else ''})")


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
) -> None:
    """Transcribe an audio FILE (WAV, MP3, FLAC or OGG) and print the transcript."""
    import json

    from voxclone.services import transcript_formats as formats
    from voxclone.services.transcription import TranscriptionRequest

    writers = {"text": formats.to_text, "srt": formats.to_srt, "vtt": formats.to_vtt}
    if fmt not in (*writers, "json"):
        console.print(f"[red]error:[/red] --format must be text, srt, vtt or json, not {fmt!r}")
        raise typer.Exit(2)

    async def work(s: Services) -> str:
        with Progress(
            TextColumn("[bold]transcribing"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("stt", total=1.0)
            result = await s.transcription.transcribe(
                data=file.read_bytes(),
                request=TranscriptionRequest(backend=backend, language=language),
                progress=lambda fraction: bar.update(task, completed=fraction),
            )
        if fmt == "json":
            body = formats.to_verbose_json(
                result.transcript, duration_s=result.duration_s, words=False
            )
            return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
        return writers[fmt](result.transcript)

    typer.echo(_run(work), nl=False)


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
    from voxclone.core.types import parse_id
    from voxclone.services import usage as metering

    async def work(s: Services) -> metering.UsageSummary:
        since = metering.parse_bound(start, field="from")
        until = metering.parse_bound(end, field="to", end=True)
        if all_keys:
            groups = metering.parse_groups(group_by, allowed=metering.GROUPS, default=("key",))
            return await s.usage.summary(
                key_id=parse_id(key_id, what="key_id") if key_id else None,
                start=since,
                end=until,
                group_by=groups,
            )
        groups = metering.parse_groups(
            group_by, allowed=metering.USER_GROUPS, default=("backend", "day")
        )
        user = await _user(s, key)
        return await s.usage.summary(key=user, start=since, end=until, group_by=groups)

    Console().print(render_summary(_run(work)))


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
