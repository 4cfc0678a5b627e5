"""Spoken consent before a voice is cloned (docs/consent.md).

The server issues a one-time phrase for a voice; its owner records themselves saying it. The
recording is accepted when its transcript matches the phrase (word error rate at most
``max_word_error_rate``) and its speaker is the voice's (the biometrics embedder's cosine score
against the voice's reference, at least the equal-error threshold). A replay of an older
recording says the wrong phrase; a stranger, or a clone made elsewhere of a different voice,
scores as another speaker. Every verdict is kept (phrase, transcript, scores, the recording's
SHA-256; not the recording) and listed by ``GET /v1/voices/{id}/consent``.

With ``consent.required``, a cloned voice speaks only once a consent was accepted
(``consent_policy.check_consent``, applied by the synthesis planner); stock voices need none.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

import jiwer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.config import ConsentSettings
from voxclone.core.errors import Conflict, ConsentRejected, NotFound
from voxclone.core.types import new_id, parse_id
from voxclone.db import consents as queries
from voxclone.db.tables import Voice, VoiceConsent, utcnow
from voxclone.services.biometrics import BiometricsService
from voxclone.services.transcription import TranscriptionRequest, TranscriptionService
from voxclone.services.voices import VoiceService

# Short, common words that speech recognisers spell one way (no homophones, no numbers).
WORDS = [
    "amber",
    "apple",
    "basket",
    "bicycle",
    "blanket",
    "bridge",
    "candle",
    "canyon",
    "carpet",
    "castle",
    "cherry",
    "circle",
    "cobalt",
    "copper",
    "cotton",
    "desert",
    "dragon",
    "garden",
    "glacier",
    "harbor",
    "helmet",
    "island",
    "jacket",
    "kettle",
    "ladder",
    "lantern",
    "lemon",
    "marble",
    "meadow",
    "mirror",
    "monkey",
    "morning",
    "orange",
    "paddle",
    "pencil",
    "pepper",
    "pillow",
    "planet",
    "pocket",
    "puzzle",
    "rabbit",
    "ribbon",
    "river",
    "rocket",
    "saddle",
    "silver",
    "spider",
    "summer",
    "tiger",
    "timber",
    "tomato",
    "tunnel",
    "turtle",
    "velvet",
    "violin",
    "walnut",
    "window",
    "winter",
    "yellow",
]
STATEMENT = "I agree that my voice may be cloned. My code words are {code}."
CODE_WORDS = 4


def new_phrase() -> str:
    code = " ".join(secrets.choice(WORDS) for _ in range(CODE_WORDS))
    return STATEMENT.format(code=code)


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def word_error_rate(phrase: str, transcript: str) -> float:
    said = words(transcript)
    return 1.0 if not said else float(jiwer.wer(words(phrase), said))


class ConsentService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        voices: VoiceService,
        transcription: TranscriptionService,
        biometrics: BiometricsService,
        settings: ConsentSettings,
    ) -> None:
        self._sessions = sessions
        self._voices = voices
        self._transcription = transcription
        self._biometrics = biometrics
        self.settings = settings

    async def challenge(self, *, key_id: str, voice_id: str) -> VoiceConsent:
        voice = await self._voices.get(key_id=key_id, voice_id=voice_id)
        consent = VoiceConsent(
            id=new_id(),
            voice_id=voice.id,
            key_id=key_id,
            phrase=new_phrase(),
            status="pending",
            expires_at=utcnow() + timedelta(seconds=self.settings.challenge_ttl_s),
        )
        async with self._sessions() as session:
            await queries.add_consent(session, consent)
            await session.commit()
        return consent

    async def answer(
        self, *, key_id: str, voice_id: str, audio: bytes, challenge_id: str | None = None
    ) -> VoiceConsent:
        """Judge a recording of the voice's open challenge; ConsentRejected (after the verdict
        is kept) when it does not say the phrase in the voice's own voice."""
        voice = await self._voices.get(key_id=key_id, voice_id=voice_id)
        consent = await self._open_challenge(voice.id, challenge_id)
        result = await self._transcription.transcribe(
            data=audio, request=TranscriptionRequest(language="en")
        )
        transcript = result.transcript.text.strip()
        wer = round(word_error_rate(consent.phrase, transcript), 4)
        reference = await self._voices.reference_audio(voice)
        score, threshold = await self._biometrics.compare(
            audio=audio, reference=reference, threshold=self.settings.speaker_threshold
        )
        reasons = []
        if wer > self.settings.max_word_error_rate:
            reasons.append(
                f"the recording does not say the phrase (word error rate {wer:.2f}, at most "
                f"{self.settings.max_word_error_rate:.2f}; heard {transcript!r})"
            )
        if score < threshold:
            reasons.append(
                f"the speaker is not the voice's (score {score:.3f}, at least {threshold:.3f})"
            )
        async with self._sessions() as session:
            row = await session.get(VoiceConsent, consent.id)
            assert row is not None
            row.status = "rejected" if reasons else "accepted"
            row.transcript = transcript
            row.word_error_rate = wer
            row.speaker_score = score
            row.speaker_threshold = threshold
            row.recording_sha256 = hashlib.sha256(audio).hexdigest()
            row.reason = "; ".join(reasons) or None
            row.decided_at = utcnow()
            if not reasons:
                stored = await session.get(Voice, voice.id)
                if stored is not None:
                    stored.meta = {**(stored.meta or {}), "consent_id": row.id}
            await session.commit()
        if reasons:
            raise ConsentRejected(
                "consent refused: " + "; ".join(reasons),
                consent_id=row.id,
                word_error_rate=wer,
                speaker_score=score,
                speaker_threshold=threshold,
            )
        return row

    async def list(self, *, key_id: str, voice_id: str) -> list[VoiceConsent]:
        voice = await self._voices.get(key_id=key_id, voice_id=voice_id)
        async with self._sessions() as session:
            return list(await queries.list_consents(session, voice_id=voice.id))

    async def _open_challenge(self, voice_id: str, challenge_id: str | None) -> VoiceConsent:
        async with self._sessions() as session:
            if challenge_id is not None:
                challenge_id = parse_id(challenge_id, what="challenge_id")
                consent = await queries.get_consent(
                    session, consent_id=challenge_id, voice_id=voice_id
                )
                if consent is None:
                    raise NotFound(f"consent challenge {challenge_id} not found")
            else:
                consent = await queries.latest_pending(session, voice_id=voice_id)
            if consent is None or consent.status != "pending":
                raise Conflict(
                    f"voice {voice_id} has no open consent challenge: get a phrase with "
                    f"POST /v1/voices/{voice_id}/consent/challenge first",
                    voice_id=voice_id,
                )
            if consent.expires_at <= utcnow():
                consent.status = "expired"
                await session.commit()
                raise Conflict(
                    "the consent phrase has expired: ask for a new one", consent_id=consent.id
                )
            return consent
