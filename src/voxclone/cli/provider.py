"""``voxclone provider serve``: one local engine behind the external-provider HTTP spec."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

from voxclone.config import Settings
from voxclone.core.errors import VoxcloneError

provider_app = typer.Typer(help="Serve a local engine to other gateways.", no_args_is_help=True)
console = Console(stderr=True)


@provider_app.command("serve")
def serve(
    engine: Annotated[
        str, typer.Option("--engine", help="A registered engine (built in or in the engines file).")
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
) -> None:
    """Run ENGINE as a provider server: POST /v1/generate, /v1/create_voice_prompt,
    /v1/transcribe (STT engines) and GET /health."""
    import uvicorn

    from voxclone.api.provider import create_provider_app
    from voxclone.engines.engines_file import EnginesFileError, engine_specs
    from voxclone.engines.registry import EngineRegistry

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        registry = EngineRegistry(engine_specs(settings))
        kind = registry.spec(engine).kind
        loaded = registry.get_tts(engine) if kind == "tts" else registry.get_stt(engine)
    except (VoxcloneError, EnginesFileError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    key = api_key or (
        settings.provider_api_key.get_secret_value() if settings.provider_api_key else None
    )
    app = create_provider_app(
        engine=loaded,
        kind=kind,
        limits=settings.limits,
        api_key=key,
        concurrency=concurrency,
        on_close=registry.close,
    )
    console.print(f"serving {kind} engine {engine!r} ({loaded.version})")
    uvicorn.run(app, host=host or settings.host, port=port, log_level=settings.log_level)
