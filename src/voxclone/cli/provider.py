"""``voxclone provider serve``: local engines behind the external-provider HTTP spec."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from voxclone.config import Settings
from voxclone.core.errors import VoxcloneError
from voxclone.logs import configure_logging

if TYPE_CHECKING:
    from voxclone.engines.registry import EngineRegistry

provider_app = typer.Typer(help="Serve a local engine to other gateways.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


@provider_app.command("serve")
def serve(
    engine: Annotated[
        list[str],
        typer.Option(
            "--engine",
            help="A registered engine (built in or in the engines file); repeat it to serve "
            "one engine of each kind (tts, stt, denoise, embed) from one server.",
        ),
    ],
    host: Annotated[str | None, typer.Option(help="Default: VOXCLONE_HOST.")] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Require this X-API-Key on /v1 routes; default: VOXCLONE_PROVIDER_API_KEY.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Engine calls at once (1: one model, one GPU).")
    ] = 1,
    callback: Annotated[
        bool,
        typer.Option(
            "--callback",
            help="Also take jobs from gateways' callback engines: POST /v1/trigger answers 202 "
            "and the audio is POSTed to the job's callback_url when done.",
        ),
    ] = False,
) -> None:
    """Run ENGINE as a provider server: POST /v1/generate and /v1/create_voice_prompt (TTS
    engines), /v1/transcribe (STT), /v1/denoise (denoise), /v1/embed (embed) and GET /health."""
    import uvicorn

    from voxclone.api.provider import create_provider_app
    from voxclone.engines.engines_file import EnginesFileError, engine_specs
    from voxclone.engines.registry import EngineRegistry

    settings = Settings()
    configure_logging(settings)
    try:
        registry = EngineRegistry(engine_specs(settings))
    except EnginesFileError as exc:
        _fail(str(exc))
    try:
        loaded = _load_engines(registry, engine)
    except (VoxcloneError, ValueError) as exc:
        registry.close()
        _fail(str(exc))
    if callback and "tts" not in loaded:
        registry.close()
        _fail("--callback needs a text-to-speech engine among --engine")
    key = api_key or (
        settings.provider_api_key.get_secret_value() if settings.provider_api_key else None
    )
    app = create_provider_app(
        **loaded,
        limits=settings.limits,
        api_key=key,
        concurrency=concurrency,
        on_close=registry.close,
        callback=callback,
    )
    for kind, served in loaded.items():
        console.print(f"serving {kind} engine {served.name!r} ({served.version})")
    uvicorn.run(
        app, host=host or settings.host, port=port, log_level=settings.log_level, log_config=None
    )


def _load_engines(registry: EngineRegistry, names: list[str]) -> dict[str, Any]:
    """The engines called ``names``, loaded, by kind; ValueError for two of one kind."""
    loaders: dict[str, Any] = {
        "tts": registry.get_tts,
        "stt": registry.get_stt,
        "denoise": registry.get_denoiser,
        "embed": registry.get_embedder,
    }
    loaded: dict[str, Any] = {}
    for name in names:
        kind = registry.spec(name).kind
        if kind not in loaders:
            raise ValueError(
                f"engine {name!r} is a {kind} engine; a provider serves {', '.join(loaders)}"
            )
        if kind in loaded:
            raise ValueError(
                f"engines {loaded[kind].name!r} and {name!r} are both {kind} engines; "
                "a provider serves one engine of each kind"
            )
        loaded[kind] = loaders[kind](name)
    return loaded


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)
