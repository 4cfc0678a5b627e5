"""The official ``elevenlabs`` SDK, unmodified (only ``base_url`` and ``api_key``), against a real
server on loopback under ``/elevenlabs``: voices (instant cloning from a real recording, list,
search, get, edit, settings, delete), text to speech in every way it asks for it (real Piper,
and a stock Kokoro voice), speech to text (real Whisper), models, history, user and
subscription, the input-streaming WebSocket, and ElevenLabs-shaped errors. Each JSON answer is
also validated strictly against the SDK's own pydantic model (the SDK itself parses leniently).
"""

from __future__ import annotations

import asyncio
import base64
import io
import ipaddress
import json
import ssl
import warnings
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jiwer
import numpy as np
import pytest
import soundfile as sf
import websockets
from elevenlabs import (
    AddVoiceIvcResponseModel,
    AudioOutput,
    AudioWithTimestampsResponse,
    FinalOutput,
    GetSpeechHistoryResponse,
    GetVoicesResponse,
    GetVoicesV2Response,
    Model,
    SpeechHistoryItemResponse,
    SpeechToTextChunkResponseModel,
    StreamingAudioChunkWithTimestampsResponse,
    Subscription,
    User,
    Voice,
    VoiceSettings,
)
from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError

from tests.conftest import ADMIN_KEY, make_settings
from tests.e2e.test_piper_end_to_end import reference_clip
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference G.711 coder, to check ulaw_8000 / alaw_8000 against

pytestmark = pytest.mark.engine

TEXT = "The quick brown fox jumps over the lazy dog. It was a sunny day."
QUOTA = 100_000


def words(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch == " " else " " for ch in text.lower())
    return " ".join(kept.split())


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def pcm(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("elevenlabs") / "data"
    settings = make_settings(data_dir, default_backend="piper", default_stt_backend="whisper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services), ws="websockets-sansio") as url:
        yield url


@pytest.fixture(scope="module")
def key(server: str) -> str:
    r = httpx.post(
        f"{server}/v1/keys",
        json={"label": "el-sdk", "monthly_char_quota": QUOTA},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture(scope="module")
def base(server: str) -> str:
    return f"{server}/elevenlabs"


@pytest.fixture(scope="module")
def sdk(base: str, key: str) -> Iterator[ElevenLabs]:
    """The SDK as shipped; its HTTP client is passed in only so that the test can close it."""
    with httpx.Client(timeout=180, follow_redirects=True) as http:
        yield ElevenLabs(base_url=base, api_key=key, httpx_client=http)


def raw(base: str, key: str, path: str, **kwargs: Any) -> Any:
    """The JSON of a GET, for strict validation against the SDK's models."""
    r = httpx.get(f"{base}{path}", headers={"xi-api-key": key}, timeout=60, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def voice_id(sdk: ElevenLabs) -> str:
    """A Piper voice cloned from two real recordings (the second becomes a sample)."""
    clip = reference_clip().read_bytes()
    added = sdk.voices.ivc.create(
        name="narrator",
        files=[("a.wav", clip), ("b.wav", clip)],
        description="read from the evaluation set",
        labels={"accent": "american", "language": "en"},
    )
    AddVoiceIvcResponseModel.model_validate(added.model_dump())
    assert added.requires_verification is False
    return str(added.voice_id)


# --- voices --------------------------------------------------------------------------------------


def test_cloned_voice_is_got_with_its_labels_and_samples(
    sdk: ElevenLabs, voice_id: str, base: str, key: str
) -> None:
    voice = Voice.model_validate(raw(base, key, f"/v1/voices/{voice_id}"))
    assert voice == sdk.voices.get(voice_id)
    assert voice.name == "narrator" and voice.category == "cloned"
    assert voice.labels == {"accent": "american", "language": "en"}
    assert voice.description == "read from the evaluation set"
    assert voice.samples is not None and len(voice.samples) == 2
    assert voice.settings is not None and voice.settings.stability == 0.5


def test_list_has_the_cloned_voice_then_premade_stock_voices(
    sdk: ElevenLabs, voice_id: str, base: str, key: str
) -> None:
    listed = GetVoicesResponse.model_validate(raw(base, key, "/v1/voices"))
    assert listed.voices[0].voice_id == voice_id
    premade = [v for v in sdk.voices.get_all().voices if v.category == "premade"]
    assert "af_heart" in {v.voice_id for v in premade}
    assert {"kokoro", "piper"} <= {(v.labels or {}).get("engine") for v in premade}


def test_search_filters_and_pages(sdk: ElevenLabs, voice_id: str, base: str, key: str) -> None:
    found = sdk.voices.search(search="narr")
    assert [v.voice_id for v in found.voices] == [voice_id] and found.total_count == 1
    first = GetVoicesV2Response.model_validate(
        raw(base, key, "/v2/voices", params={"category": "premade", "page_size": 3})
    )
    assert len(first.voices) == 3 and first.has_more and first.total_count > 3
    second = sdk.voices.search(
        category="premade", page_size=3, next_page_token=first.next_page_token
    )
    assert not {v.voice_id for v in first.voices} & {v.voice_id for v in second.voices}
    assert all(v.category == "premade" for v in second.voices)


def test_settings_default_edit_and_get(sdk: ElevenLabs, voice_id: str) -> None:
    default = sdk.voices.settings.get_default()
    assert default.stability == 0.5 and default.similarity_boost == 0.75
    edited = sdk.voices.settings.update(voice_id, request=VoiceSettings(stability=0.9, speed=1.1))
    assert edited.status == "ok"
    got = sdk.voices.settings.get(voice_id)
    assert got.stability == 0.9 and got.speed == 1.1 and got.similarity_boost == 0.75
    sdk.voices.settings.update(voice_id, request=VoiceSettings(stability=0.5, speed=1.0))


def test_edit_renames_and_delete_removes(sdk: ElevenLabs) -> None:
    clip = reference_clip().read_bytes()
    added = sdk.voices.ivc.create(name="temporary", files=[("a.wav", clip)])
    assert sdk.voices.update(added.voice_id, name="renamed", description="new").status == "ok"
    voice = sdk.voices.get(added.voice_id)
    assert (voice.name, voice.description) == ("renamed", "new")
    assert sdk.voices.delete(added.voice_id).status == "ok"
    with pytest.raises(ApiError) as gone:
        sdk.voices.get(added.voice_id)
    assert gone.value.status_code == 404


# --- text to speech ------------------------------------------------------------------------------


def test_convert_mp3_is_real_speech_heard_by_speech_to_text(
    sdk: ElevenLabs, voice_id: str, base: str, key: str
) -> None:
    audio = b"".join(
        sdk.text_to_speech.convert(
            voice_id,
            text=TEXT,
            output_format="mp3_44100_128",
            model_id="eleven_multilingual_v2",
            previous_text="Once upon a time.",
            next_text="The end.",
        )
    )
    samples, rate = sf.read(io.BytesIO(audio), dtype="float32")
    assert rate == 44100 and 2.5 < len(samples) / rate < 9.0 and rms(samples) > 0.02
    r = httpx.post(
        f"{base}/v1/speech-to-text",
        headers={"xi-api-key": key},
        data={"model_id": "scribe_v1", "language_code": "en"},
        files={"file": ("speech.mp3", audio)},
        timeout=180,
    )
    heard = SpeechToTextChunkResponseModel.model_validate(r.json())
    assert jiwer.wer(words(TEXT), words(heard.text)) <= 0.25, heard.text
    kinds = {w.type for w in heard.words}
    assert kinds == {"word", "spacing"}
    spoken = [w for w in heard.words if w.type == "word"]
    assert all(w.start is not None and w.end is not None for w in spoken)
    starts = [w.start or 0.0 for w in spoken]
    assert starts == sorted(starts)


def test_speech_to_text_through_the_sdk(sdk: ElevenLabs, voice_id: str) -> None:
    wav = reference_clip().read_bytes()
    heard = sdk.speech_to_text.convert(file=("clip.wav", wav), model_id="scribe_v1")
    assert isinstance(heard, SpeechToTextChunkResponseModel)
    assert heard.language_code == "en" and len(heard.text.split()) > 5


def test_pcm_and_g711_formats_agree(sdk: ElevenLabs, voice_id: str) -> None:
    def convert(fmt: str) -> bytes:
        return b"".join(
            sdk.text_to_speech.convert(voice_id, text="Hello there.", output_format=fmt)
        )

    raw_response = sdk.text_to_speech.with_raw_response.convert(
        voice_id, text="Hello there.", output_format="pcm_16000"
    )
    with raw_response as response:
        assert response.headers["character-cost"] == str(len("Hello there."))
        assert response.headers["x-voice-id"] == voice_id
    pcm_16k = convert("pcm_16000")
    assert len(pcm_16k) % 2 == 0 and 0.4 < len(pcm_16k) / 2 / 16000 < 3.0
    assert rms(pcm(pcm_16k)) > 0.02
    pcm_8k = convert("pcm_8000")
    assert convert("ulaw_8000") == audioop.lin2ulaw(pcm_8k, 2)
    assert convert("alaw_8000") == audioop.lin2alaw(pcm_8k, 2)
    ogg = convert("opus_48000_64")
    assert ogg[:4] == b"OggS"


def test_voice_settings_speed_and_seed_are_honoured(sdk: ElevenLabs, voice_id: str) -> None:
    def seconds(**kwargs: Any) -> float:
        data = b"".join(
            sdk.text_to_speech.convert(voice_id, text=TEXT, output_format="pcm_16000", **kwargs)
        )
        return len(data) / 2 / 16000

    normal = seconds(voice_settings=VoiceSettings(speed=1.0), seed=7)
    fast = seconds(voice_settings=VoiceSettings(speed=1.5, stability=0.8), seed=7)
    assert fast < normal * 0.8


def test_stream_is_playable_mp3_and_pcm(sdk: ElevenLabs, voice_id: str) -> None:
    chunks = list(
        sdk.text_to_speech.stream(voice_id, text=TEXT + " Streamed.", output_format="mp3_22050_32")
    )
    samples, rate = sf.read(io.BytesIO(b"".join(chunks)), dtype="float32")
    assert rate == 22050 and len(samples) / rate > 2.5 and rms(samples) > 0.02
    raw_pcm = b"".join(
        sdk.text_to_speech.stream(voice_id, text="Streamed pcm.", output_format="pcm_24000")
    )
    assert len(raw_pcm) % 2 == 0 and rms(pcm(raw_pcm)) > 0.02


def test_convert_with_timestamps_aligns_every_character(
    sdk: ElevenLabs, voice_id: str, base: str, key: str
) -> None:
    r = httpx.post(
        f"{base}/v1/text-to-speech/{voice_id}/with-timestamps",
        params={"output_format": "pcm_16000"},
        json={"text": TEXT},
        headers={"xi-api-key": key},
        timeout=180,
    )
    timed = AudioWithTimestampsResponse.model_validate(r.json())
    assert timed == sdk.text_to_speech.convert_with_timestamps(
        voice_id, text=TEXT, output_format="pcm_16000"
    )
    duration = len(base64.b64decode(timed.audio_base_64)) / 2 / 16000
    alignment = timed.alignment
    assert alignment is not None and "".join(alignment.characters) == TEXT
    starts = alignment.character_start_times_seconds
    assert starts == sorted(starts) and 0 < starts[-1] < duration
    assert alignment.character_end_times_seconds[-1] <= duration + 0.05


def test_stream_with_timestamps_chunks_carry_their_alignment(
    sdk: ElevenLabs, voice_id: str
) -> None:
    text = "First sentence here. And a second one follows it."
    chunks = list(
        sdk.text_to_speech.stream_with_timestamps(voice_id, text=text, output_format="pcm_16000")
    )
    for chunk in chunks:
        StreamingAudioChunkWithTimestampsResponse.model_validate(chunk.model_dump(by_alias=True))
    audio = b"".join(base64.b64decode(c.audio_base_64) for c in chunks)
    aligned = [c.normalized_alignment for c in chunks if c.normalized_alignment is not None]
    assert len(aligned) >= 2  # a chunk per sentence
    spoken = "".join("".join(a.characters) for a in aligned)
    assert " ".join(spoken.split()) == text
    starts = [t for a in aligned for t in a.character_start_times_seconds]
    assert starts == sorted(starts) and starts[-1] < len(audio) / 2 / 16000


def test_a_stock_kokoro_voice_speaks(sdk: ElevenLabs) -> None:
    audio = b"".join(
        sdk.text_to_speech.convert("af_heart", text="Hello there.", output_format="pcm_24000")
    )
    assert rms(pcm(audio)) > 0.02 and 0.4 < len(audio) / 2 / 24000 < 3.0


# --- the input-streaming WebSocket ---------------------------------------------------------------


def test_stream_input_websocket_sends_base64_audio_with_alignment(
    server: str, voice_id: str, key: str
) -> None:
    url = (
        f"{server.replace('http', 'ws')}/elevenlabs/v1/text-to-speech/{voice_id}/stream-input"
        "?output_format=pcm_16000&model_id=eleven_flash_v2_5"
    )

    async def talk() -> list[dict[str, Any]]:
        async with websockets.connect(url, additional_headers={"xi-api-key": key}) as ws:
            await ws.send(json.dumps({"text": " ", "voice_settings": {"speed": 1.0}}))
            for piece in ["Hello there, ", "this is streamed. ", "And ", "this is the end."]:
                await ws.send(json.dumps({"text": piece, "try_trigger_generation": True}))
            await ws.send(json.dumps({"text": ""}))
            return [json.loads(m) async for m in ws]

    messages = asyncio.run(talk())
    assert FinalOutput.model_validate(messages[-1]).is_final is True
    outputs = [AudioOutput.model_validate(m) for m in messages[:-1]]
    audio = b"".join(base64.b64decode(o.audio) for o in outputs)
    assert len(audio) / 2 / 16000 > 1.5 and rms(pcm(audio)) > 0.02
    aligned = [o.normalized_alignment for o in outputs if o.normalized_alignment is not None]
    chars = "".join("".join(a.chars or []) for a in aligned)
    assert " ".join(chars.split()) == "Hello there, this is streamed. And this is the end."
    for output in outputs:  # times in ms from the start of each message's own audio
        if output.alignment is not None and output.alignment.char_start_times_ms:
            own_ms = len(base64.b64decode(output.audio)) / 2 / 16000 * 1000
            assert 0 <= output.alignment.char_start_times_ms[-1] <= own_ms + 1


def test_stream_input_refuses_a_wrong_key_with_a_message(server: str, voice_id: str) -> None:
    url = f"{server.replace('http', 'ws')}/elevenlabs/v1/text-to-speech/{voice_id}/stream-input"

    async def talk() -> dict[str, Any]:
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"text": " ", "xi-api-key": "wrong"}))
            return dict(json.loads(await ws.recv()))

    error = asyncio.run(talk())
    assert error["error"] == "unauthorized" and error["message"]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key: the SDK's ``convert_realtime`` always uses wss."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert, key = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


# The SDK reads ConnectionClosed.code, which its websockets version deprecates.
@pytest.mark.filterwarnings("ignore:ConnectionClosed.code is deprecated:DeprecationWarning")
def test_the_sdks_own_convert_realtime_over_wss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``text_to_speech.convert_realtime`` as shipped: it turns base_url into wss://, so this
    server speaks TLS, with a certificate the SDK's default SSL context trusts (SSL_CERT_FILE)."""
    cert, private = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    settings = make_settings(tmp_path / "data", default_backend="piper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    app = create_app(services=services)
    trusted = ssl.create_default_context(cafile=cert)
    with (
        ThreadServer(app, ws="websockets-sansio", tls=(cert, private)) as url,
        httpx.Client(verify=trusted, timeout=60) as http,
    ):
        r = http.post(f"{url}/v1/keys", json={"label": "rt"}, headers={"X-API-Key": ADMIN_KEY})
        key = str(r.json()["api_key"])
        sdk = ElevenLabs(base_url=f"{url}/elevenlabs", api_key=key, httpx_client=http)
        text = iter(["Hello there, ", "this came ", "in pieces. ", "Goodbye."])
        audio = b"".join(
            sdk.text_to_speech.convert_realtime("af_heart", text=text, model_id="eleven_v3")
        )
    samples, rate = sf.read(io.BytesIO(audio), dtype="float32")
    assert rate == 44100 and len(samples) / rate > 1.5 and rms(samples) > 0.02


# --- history, user, models -----------------------------------------------------------------------


def test_history_list_get_audio_download_delete(
    sdk: ElevenLabs, voice_id: str, base: str, key: str
) -> None:
    for text in ("History one.", "History two."):
        b"".join(sdk.text_to_speech.convert(voice_id, text=text, output_format="mp3_44100_128"))
    page = GetSpeechHistoryResponse.model_validate(
        raw(base, key, "/v1/history", params={"page_size": 2})
    )
    assert [h.text for h in page.history] == ["History two.", "History one."] and page.has_more
    following = sdk.history.list(page_size=2, start_after_history_item_id=page.last_history_item_id)
    assert following.history and page.history[-1].history_item_id not in {
        h.history_item_id for h in following.history
    }
    newest = page.history[0]
    item = SpeechHistoryItemResponse.model_validate(
        raw(base, key, f"/v1/history/{newest.history_item_id}")
    )
    assert item.voice_id == voice_id and item.character_count_change_to == len("History two.")
    assert sdk.history.get(newest.history_item_id).text == "History two."
    audio = b"".join(sdk.history.get_audio(newest.history_item_id))
    assert sf.info(io.BytesIO(audio)).duration > 0.3
    one = b"".join(sdk.history.download(history_item_ids=[newest.history_item_id]))
    assert one == audio
    both = b"".join(
        sdk.history.download(history_item_ids=[h.history_item_id for h in page.history])
    )
    assert len([n for n in zipfile.ZipFile(io.BytesIO(both)).namelist() if n.endswith("mp3")]) == 2
    assert sdk.history.delete(newest.history_item_id).status == "ok"
    with pytest.raises(ApiError) as gone:
        sdk.history.get(newest.history_item_id)
    assert gone.value.status_code == 404


def test_user_and_subscription_are_the_keys_usage_and_quota(
    sdk: ElevenLabs, voice_id: str, base: str, key: str
) -> None:
    b"".join(sdk.text_to_speech.convert(voice_id, text="Counted.", output_format="pcm_16000"))
    subscription = Subscription.model_validate(raw(base, key, "/v1/user/subscription"))
    assert subscription.character_limit == QUOTA
    assert subscription.character_count >= len("Counted.")
    assert subscription.voice_slots_used >= 1
    user = User.model_validate(raw(base, key, "/v1/user"))
    assert user.first_name == "el-sdk"
    assert sdk.user.get().subscription.character_limit == QUOTA
    assert sdk.user.subscription.get().character_count >= subscription.character_count


def test_models_are_the_engines_and_elevenlabs_ids(sdk: ElevenLabs, base: str, key: str) -> None:
    models = [Model.model_validate(m) for m in raw(base, key, "/v1/models")]
    ids = {m.model_id for m in sdk.models.list()}
    assert {"piper", "eleven_multilingual_v2"} <= ids == {m.model_id for m in models}
    assert all(m.can_do_text_to_speech for m in models)


# --- errors --------------------------------------------------------------------------------------


def test_a_wrong_key_is_the_sdks_401_with_a_message(base: str) -> None:
    with httpx.Client() as http, pytest.raises(ApiError) as refused:
        ElevenLabs(base_url=base, api_key="wrong", httpx_client=http).voices.get_all()
    assert refused.value.status_code == 401
    detail = refused.value.body["detail"]
    assert detail["status"] == "invalid_api_key" and detail["message"]


def test_an_unknown_voice_is_404_voice_not_found(sdk: ElevenLabs) -> None:
    with pytest.raises(ApiError) as missing:
        b"".join(sdk.text_to_speech.convert("nobody", text="Hello."))
    assert missing.value.status_code == 404
    assert missing.value.body["detail"]["status"] == "voice_not_found"
    assert "nobody" in missing.value.body["detail"]["message"]


def test_an_unsupported_output_format_is_422_naming_it(sdk: ElevenLabs, voice_id: str) -> None:
    with pytest.raises(ApiError) as refused:
        b"".join(sdk.text_to_speech.convert(voice_id, text="Hi.", output_format="mp3_11025_8"))
    assert refused.value.status_code == 422
    assert "mp3_11025_8" in refused.value.body["detail"]["message"]


def test_voxclones_own_routes_of_the_same_paths_keep_their_shapes(
    server: str, key: str, voice_id: str
) -> None:
    headers = {"xi-api-key": key}
    own = httpx.get(f"{server}/v1/voices", headers=headers).json()
    assert isinstance(own, list) and own[0]["voice_id"] == voice_id and "backend" in own[0]
    missing = httpx.get(f"{server}/v1/voices/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    models = httpx.get(f"{server}/v1/models", headers=headers).json()
    assert models["object"] == "list"
    wav = httpx.post(
        f"{server}/v1/text-to-speech/{voice_id}", json={"text": "Hello."}, headers=headers
    )
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
