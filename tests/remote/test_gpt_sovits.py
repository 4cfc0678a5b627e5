"""The ``gpt-sovits`` engine against stand-ins of GPT-SoVITS api_v2 (/tts) and of the proxy
document's /synthesize, over real HTTP on loopback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import tone_wav
from tests.remote.conftest import engine_entry
from tests.remote.standins import gpt_sovits_v2_app, sovits_proxy_app


def v2_entry(name: str, url: str, ref_dir: Path, **fields: object) -> str:
    return engine_entry(
        name, "gpt-sovits", urls=[url], options={"api": "v2", "ref_dir": str(ref_dir)}, **fields
    )


async def test_v2_writes_the_clip_where_gpt_sovits_reads_it(gateway, serve, tmp_path) -> None:
    app = gpt_sovits_v2_app()
    url = serve(app)
    shared = tmp_path / "shared-refs"
    gw = await gateway(v2_entry("sovits", url, shared))
    voice = await gw.voice("sovits", ref=tone_wav(seconds=25.0), ref_text="a long clip")
    clips = list(shared.glob("voxclone-*.wav"))
    assert len(clips) == 1  # named by its SHA-256, never by anything the client sent
    assert len(clips[0].stem) == len("voxclone-") + 64
    assert sf.info(str(clips[0])).duration == pytest.approx(10.0, abs=0.01)  # GPT-SoVITS: 3 to 10 s

    r = await gw.say(voice, "Hello from GPT-SoVITS.", voice_settings={"speed": 1.25})
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "sovits"
    sent = app.state.requests[-1]
    assert sent["ref_audio_path"] == str(clips[0])
    assert sent["text"] == "Hello from GPT-SoVITS."
    assert (sent["text_lang"], sent["prompt_lang"]) == ("en", "en")
    assert sent["prompt_text"] == ""  # the clip was cut, so its transcript no longer fits
    assert sent["media_type"] == "wav" and sent["streaming_mode"] is False
    assert sent["speed_factor"] == 1.25 and sent["seed"] == -1
    audio, rate = sf.read(io.BytesIO(r.content))
    assert rate == 32000 and len(audio) > 0

    clips[0].unlink()  # the shared directory was cleaned: the clip is written again
    r = await gw.say(voice, "Still works.")
    assert r.status_code == 200, r.text
    assert clips[0].is_file()


async def test_v2_remote_path_and_transcript(gateway, serve, tmp_path) -> None:
    app = gpt_sovits_v2_app()
    url = serve(app)
    local = tmp_path / "mnt-nfs" / "refs"
    gw = await gateway(
        engine_entry(
            "sovits",
            "gpt-sovits",
            urls=[url],
            options={"api": "v2", "ref_dir": str(local), "remote_ref_dir": str(local)},
        )
    )
    voice = await gw.voice("sovits", ref=tone_wav(seconds=5.0), ref_text="hello there")
    assert (await gw.say(voice, "Short clip, whole transcript.")).status_code == 200
    assert app.state.requests[-1]["prompt_text"] == "hello there"


async def test_v2_failures(gateway, serve, tmp_path) -> None:
    app = gpt_sovits_v2_app()
    url = serve(app)
    shared = tmp_path / "refs"
    gw = await gateway(
        engine_entry(
            "sovits",
            "gpt-sovits",
            urls=[url],
            options={
                "api": "v2",
                "ref_dir": str(shared),
                "remote_ref_dir": "/elsewhere",  # GPT-SoVITS cannot read the clip there
                "languages": ["en", "de"],
            },
        )
        + engine_entry(
            "sovits2",
            "gpt-sovits",
            urls=[url],
            options={"api": "v2", "ref_dir": str(shared), "languages": ["en", "de"]},
        )
    )
    voice = await gw.voice("sovits")
    r = await gw.say(voice, "Nobody can read my reference.")
    assert r.status_code == 502, r.text
    assert r.json()["error"] == "provider_error"
    assert "tts failed" in r.json()["message"]

    r = await gw.say(voice, "Guten Tag.", model_id="sovits2", language_code="de")
    assert r.status_code == 502, r.text
    assert r.json()["error"] == "provider_rejected"  # its check_params: text_lang not supported
    assert "text_lang: de is not supported" in r.json()["message"]


async def test_v2_needs_a_shared_directory(gateway, serve) -> None:
    url = serve(gpt_sovits_v2_app())
    gw = await gateway(engine_entry("sovits", "gpt-sovits", urls=[url], options={"api": "v2"}))
    listed = await gw.engines()
    assert listed["sovits"]["available"] is False
    assert "ref_dir" in listed["sovits"]["detail"]


async def test_v2_health_probe_uses_tts(gateway, serve, tmp_path) -> None:
    app = gpt_sovits_v2_app()
    url = serve(app)
    gw = await gateway(v2_entry("sovits", url, tmp_path / "refs"))
    listed = await gw.engines(probe=True)
    assert listed["sovits"]["available"] is True
    assert app.state.requests[-1]["ref_audio_path"] is None  # an empty POST /tts: a 400, alive


async def test_proxy_synthesize_uploads_the_clip_each_time(gateway, serve) -> None:
    app = sovits_proxy_app()
    url = serve(app)
    gw = await gateway(
        engine_entry("proxy", "gpt-sovits", urls=[url], options={"api": "synthesize"})
    )
    voice = await gw.voice("proxy", ref=tone_wav(seconds=6.0))
    for text in ("First request.", "Second request."):
        r = await gw.say(voice, text)
        assert r.status_code == 200, r.text
        assert r.headers["X-Backend"] == "proxy"
    assert [q["text"] for q in app.state.requests] == ["First request.", "Second request."]
    first = app.state.requests[0]
    assert first["language"] == "en" and first["speed"] == 1.0 and first["temperature"] == 0.7
    assert first["filename"] == "reference.wav" and first["reference_bytes"] > 6 * 16000
    assert (await gw.engines(probe=True))["proxy"]["available"] is True


async def test_proxy_refusal_is_relayed(gateway, serve) -> None:
    url = serve(sovits_proxy_app())
    gw = await gateway(
        engine_entry(
            "proxy", "gpt-sovits", urls=[url], options={"api": "synthesize", "temperature": 5.0}
        )
    )
    voice = await gw.voice("proxy")
    r = await gw.say(voice, "Too hot.")
    assert r.status_code == 502 and r.json()["error"] == "provider_rejected", r.text
    assert "out of range" in r.json()["message"]
