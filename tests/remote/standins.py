"""Small servers that speak other projects' wire formats, as those projects document them.

- ``gpt_sovits_v2_app``: GPT-SoVITS ``api_v2.py``: ``GET/POST /tts`` (its ``TTS_Request``
  fields and defaults, its ``check_params`` answers, WAV out, 400 ``{"message": "tts failed",
  "Exception"}`` when inference fails, e.g. a ``ref_audio_path`` it cannot read or a clip outside
  3–10 s), ``/set_refer_audio``, ``/control``.
- ``sovits_proxy_app``: the multipart ``POST /synthesize`` and ``GET /health`` of the GPT-SoVITS
  proxy document.
- ``openai_app``: ``POST /v1/audio/speech``, ``POST /v1/audio/transcriptions``, ``GET /v1/models``
  with OpenAI's error shape and Bearer auth.
- ``chaos_provider_app``: a provider-spec server whose replies are broken on purpose.

Audio out is a tone whose pitch follows the reference clip, so tests can tell voices apart.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from fastapi import FastAPI, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

SOVITS_LANGUAGES = [
    "auto", "auto_yue", "en", "zh", "ja", "yue", "ko", "all_zh", "all_ja", "all_yue", "all_ko",
]  # fmt: skip
CUT_METHODS = ["cut0", "cut1", "cut2", "cut3", "cut4", "cut5"]


def pitch_of(samples: np.ndarray, rate: int) -> float:
    crossings = int(np.count_nonzero(np.signbit(samples[1:]) != np.signbit(samples[:-1])))
    return max(60.0, min(500.0, crossings / (2.0 * len(samples) / rate)))


def tone(seconds: float, rate: int, hz: float) -> np.ndarray:
    t = np.arange(max(1, int(seconds * rate))) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int, fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt)
    return buf.getvalue()


# --- GPT-SoVITS api_v2 --------------------------------------------------------------------------


class TTSRequest(BaseModel):
    text: str | None = None
    text_lang: str | None = None
    ref_audio_path: str | None = None
    aux_ref_audio_paths: list[str] | None = None
    prompt_lang: str | None = None
    prompt_text: str = ""
    top_k: int = 15
    top_p: float = 1
    temperature: float = 1
    text_split_method: str = "cut5"
    batch_size: int = 1
    batch_threshold: float = 0.75
    split_bucket: bool = True
    speed_factor: float = 1.0
    fragment_interval: float = 0.3
    seed: int = -1
    media_type: str = "wav"
    streaming_mode: bool | int = False
    parallel_infer: bool = True
    repetition_penalty: float = 1.35
    sample_steps: int = 32
    super_sampling: bool = False
    overlap_length: int = 2
    min_chunk_length: int = 16


def gpt_sovits_v2_app() -> FastAPI:
    app = FastAPI()
    app.state.requests = []
    app.state.default_ref = None
    rate = 32000

    def check_params(req: dict[str, Any]) -> JSONResponse | None:
        if req.get("ref_audio_path") in (None, ""):
            return JSONResponse(status_code=400, content={"message": "ref_audio_path is required"})
        if req.get("text") in (None, ""):
            return JSONResponse(status_code=400, content={"message": "text is required"})
        text_lang = req.get("text_lang")
        if text_lang in (None, ""):
            return JSONResponse(status_code=400, content={"message": "text_lang is required"})
        if text_lang.lower() not in SOVITS_LANGUAGES:
            return JSONResponse(
                status_code=400,
                content={"message": f"text_lang: {text_lang} is not supported in version v2"},
            )
        prompt_lang = req.get("prompt_lang")
        if prompt_lang in (None, ""):
            return JSONResponse(status_code=400, content={"message": "prompt_lang is required"})
        if prompt_lang.lower() not in SOVITS_LANGUAGES:
            return JSONResponse(
                status_code=400,
                content={"message": f"prompt_lang: {prompt_lang} is not supported in version v2"},
            )
        if req.get("media_type", "wav") not in ("wav", "raw", "ogg", "aac"):
            return JSONResponse(
                status_code=400,
                content={"message": f"media_type: {req.get('media_type')} is not supported"},
            )
        if req.get("text_split_method", "cut5") not in CUT_METHODS:
            return JSONResponse(
                status_code=400,
                content={
                    "message": f"text_split_method:{req.get('text_split_method')} is not supported"
                },
            )
        return None

    def run(req: dict[str, Any]) -> tuple[int, np.ndarray]:
        samples, ref_rate = sf.read(req["ref_audio_path"], dtype="float32")
        duration = len(samples) / ref_rate
        if not 3.0 <= duration <= 10.0:
            raise OSError("参考音频在3~10秒范围外，请更换！")
        seconds = 0.06 * len(req["text"]) / float(req["speed_factor"])
        return rate, tone(seconds, rate, pitch_of(samples, ref_rate))

    async def handle(req: dict[str, Any]) -> Response:
        app.state.requests.append(req)
        problem = check_params(req)
        if problem is not None:
            return problem
        if req.get("streaming_mode") not in (0, 1, 2, 3, False, True):
            return JSONResponse(
                status_code=400,
                content={"message": "the value of streaming_mode must be 0, 1, 2, 3(int) or "
                         "true/false(bool)"},
            )  # fmt: skip
        try:
            sr, audio = run(req)
        except Exception as e:
            return JSONResponse(
                status_code=400, content={"message": "tts failed", "Exception": str(e)}
            )
        media = req.get("media_type", "wav")
        if media == "wav":
            data = wav_bytes(audio, sr)
        elif media == "ogg":
            data = wav_bytes(audio, sr, "OGG")
        else:
            data = (audio * 32767).astype("<i2").tobytes()
        return Response(data, media_type=f"audio/{media}")

    @app.post("/tts")
    async def tts_post(request: TTSRequest) -> Response:
        return await handle(request.model_dump())

    @app.get("/tts")
    async def tts_get(
        text: str | None = None,
        text_lang: str | None = None,
        ref_audio_path: str | None = None,
        prompt_lang: str | None = None,
        prompt_text: str = "",
        speed_factor: float = 1.0,
        media_type: str = "wav",
        streaming_mode: bool | int = False,
        text_split_method: str = "cut5",
    ) -> Response:
        return await handle(
            {
                "text": text,
                "text_lang": text_lang.lower() if text_lang else text_lang,
                "ref_audio_path": ref_audio_path,
                "prompt_text": prompt_text,
                "prompt_lang": prompt_lang.lower() if prompt_lang else prompt_lang,
                "speed_factor": speed_factor,
                "media_type": media_type,
                "streaming_mode": streaming_mode,
                "text_split_method": text_split_method,
            }
        )

    @app.get("/set_refer_audio")
    def set_refer_audio(refer_audio_path: str | None = None) -> JSONResponse:
        if not refer_audio_path or not Path(refer_audio_path).is_file():
            return JSONResponse(
                status_code=400,
                content={"message": "set refer audio failed", "Exception": "no such file"},
            )
        app.state.default_ref = refer_audio_path
        return JSONResponse(status_code=200, content={"message": "success"})

    @app.get("/control")
    async def control(command: str | None = None) -> JSONResponse:
        if command is None:
            return JSONResponse(status_code=400, content={"message": "command is required"})
        return JSONResponse(status_code=200, content={"message": "ignored by the stand-in"})

    return app


# --- the GPT-SoVITS proxy document's /synthesize ----------------------------------------------


def sovits_proxy_app() -> FastAPI:
    app = FastAPI()
    app.state.requests = []
    started = time.monotonic()

    def bad(message: str) -> JSONResponse:
        body = {"success": False, "error": "invalid_input", "message": message, "details": None}
        return JSONResponse(status_code=400, content=body)

    @app.post("/synthesize")
    async def synthesize(
        reference_audio: UploadFile = File(...),
        text: str = Form(...),
        language: str = Form("auto"),
        speed: float = Form(1.0),
        temperature: float = Form(0.7),
    ) -> Response:
        data = await reference_audio.read()
        app.state.requests.append(
            {"text": text, "language": language, "speed": speed, "temperature": temperature,
             "reference_bytes": len(data), "filename": reference_audio.filename}
        )  # fmt: skip
        if not 1 <= len(text) <= 5000:
            return bad("text must be 1-5000 characters")
        if language not in ("auto", "zh", "en", "ja"):
            return bad(f"unsupported language {language}")
        if not 0.5 <= speed <= 2.0 or not 0.1 <= temperature <= 1.0:
            return bad("speed or temperature out of range")
        try:
            samples, rate = sf.read(io.BytesIO(data), dtype="float32")
        except Exception:
            return bad("reference_audio is not audio")
        audio = tone(0.06 * len(text) / speed, 32000, pitch_of(samples, rate))
        return Response(wav_bytes(audio, 32000), media_type="audio/wav")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "healthy",
            "version": "1.0.0",
            "sovits_available": True,
            "uptime_seconds": time.monotonic() - started,
        }

    return app


# --- OpenAI audio API ---------------------------------------------------------------------------


def openai_app(api_key: str = "sk-test") -> FastAPI:
    app = FastAPI()
    app.state.requests = []
    voices = {"alloy", "echo", "fable", "onyx", "nova", "shimmer", "af_bella"}
    models = {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "kokoro", "whisper-1"}

    def error(status: int, message: str, param: str | None = None) -> JSONResponse:
        return JSONResponse(
            status_code=status,
            content={"error": {"message": message, "type": "invalid_request_error",
                               "param": param, "code": None}},
        )  # fmt: skip

    def authorized(authorization: str | None) -> bool:
        return authorization == f"Bearer {api_key}"

    @app.get("/v1/models")
    async def list_models(authorization: str | None = Header(None)) -> Any:
        if not authorized(authorization):
            return error(401, "Incorrect API key provided.")
        return {"object": "list", "data": [{"id": m, "object": "model"} for m in sorted(models)]}

    @app.post("/v1/audio/speech")
    async def speech(request: Request, authorization: str | None = Header(None)) -> Response:
        if not authorized(authorization):
            return error(401, "Incorrect API key provided.")
        body = await request.json()
        app.state.requests.append(body)
        for field in ("model", "input", "voice"):
            if not body.get(field):
                return error(400, f"'{field}' is a required property", field)
        if body["model"] not in models:
            return error(404, f"The model `{body['model']}` does not exist", "model")
        if body["voice"] not in voices:
            return error(400, f"Invalid voice {body['voice']!r}", "voice")
        if len(body["input"]) > 4096:
            return error(400, "input is longer than 4096 characters", "input")
        speed = float(body.get("speed", 1.0))
        if not 0.25 <= speed <= 4.0:
            return error(400, "speed must be between 0.25 and 4.0", "speed")
        fmt = body.get("response_format", "mp3")
        hz = 150.0 + 20 * sorted(voices).index(body["voice"])
        audio = tone(0.05 * len(body["input"]) / speed, 24000, hz)
        if fmt == "pcm":
            return Response((audio * 32767).astype("<i2").tobytes(), media_type="audio/pcm")
        containers = {"wav": ("WAV", "audio/wav"), "flac": ("FLAC", "audio/flac"),
                      "mp3": ("MP3", "audio/mpeg"), "opus": ("OGG", "audio/ogg")}  # fmt: skip
        if fmt not in containers:
            return error(400, f"Invalid response_format {fmt!r}", "response_format")
        container, media = containers[fmt]
        return Response(wav_bytes(audio, 24000, container), media_type=media)

    @app.post("/v1/audio/transcriptions", response_model=None)
    async def transcriptions(
        file: UploadFile = File(...),
        model: str = Form(...),
        language: str | None = Form(None),
        response_format: str = Form("json"),
        authorization: str | None = Header(None),
    ) -> Any:
        if not authorized(authorization):
            return error(401, "Incorrect API key provided.")
        data = await file.read()
        app.state.requests.append({"model": model, "language": language, "format": response_format})
        try:
            samples, rate = sf.read(io.BytesIO(data), dtype="float32")
        except Exception:
            return error(400, "Audio file might be corrupted or unsupported", "file")
        duration = len(samples) / rate
        text = f"A tone of {duration:.0f} seconds."
        if response_format == "text":
            return PlainTextResponse(text)
        if response_format == "json":
            return {"text": text}
        if response_format != "verbose_json":
            return error(400, f"response_format {response_format} is not supported here")
        half = duration / 2
        return {
            "task": "transcribe",
            "language": "english" if (language or "en") == "en" else language,
            "duration": duration,
            "text": text,
            "segments": [
                {"id": 0, "seek": 0, "start": 0.0, "end": half, "text": " A tone of",
                 "tokens": [1, 2], "temperature": 0.0, "avg_logprob": -0.2,
                 "compression_ratio": 1.0, "no_speech_prob": 0.01},
                {"id": 1, "seek": 0, "start": half, "end": duration,
                 "text": f" {duration:.0f} seconds.", "tokens": [3], "temperature": 0.0,
                 "avg_logprob": -0.2, "compression_ratio": 1.0, "no_speech_prob": 0.01},
            ],
        }  # fmt: skip

    return app


# --- a provider that misbehaves -----------------------------------------------------------------


def chaos_provider_app(mode: str) -> FastAPI:
    """Provider-spec replies broken in one of several ways (``mode``)."""
    app = FastAPI()
    app.state.calls = 0

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy", "model": "chaos", "device": "cpu"}

    @app.post("/v1/create_voice_prompt")
    async def create_voice_prompt() -> dict[str, Any]:
        return {"voice_prompt": {"chaos": True}}

    @app.post("/v1/generate", response_model=None)
    async def generate() -> Any:
        app.state.calls += 1
        good = base64.b64encode(tone(0.2, 16000, 200).tobytes()).decode()
        if mode == "bad_base64":
            return {"audio": "this is not base64 at all!", "sample_rate": 16000, "dtype": "float32"}
        if mode == "nan":
            nan = np.full(1600, np.nan, dtype=np.float32)
            return {"audio": base64.b64encode(nan.tobytes()).decode(), "sample_rate": 16000,
                    "dtype": "float32"}  # fmt: skip
        if mode == "odd_bytes":
            raw = base64.b64encode(b"\x00" * 7).decode()
            return {"audio": raw, "sample_rate": 16000, "dtype": "float32"}
        if mode == "not_json":
            return PlainTextResponse("<html>502 bad gateway from a proxy</html>", status_code=200)
        if mode == "bad_rate":
            return {"audio": good, "sample_rate": 0, "dtype": "float32"}
        return {"audio": good, "sample_rate": 16000, "dtype": "float32"}

    return app
