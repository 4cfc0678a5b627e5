"""The whole voxclone exception tree, in one place.

Every error a client can see is a ``VoxcloneError`` with a stable ``code`` (the ``error`` field
of the JSON body) and a human message. The HTTP status for each class is chosen in exactly one
place, ``voxclone.api.errors``; nothing below the API knows about HTTP. Errors of third-party
libraries are translated where those libraries are called (``raise X(...) from exc``).
"""

from __future__ import annotations

from typing import Any


class VoxcloneError(Exception):
    """Base of every error voxclone raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


# --- the client sent something wrong -----------------------------------------------------------


class InvalidInput(VoxcloneError):
    """A request is malformed: a field is missing, or has the wrong type or shape."""

    code = "invalid_request"


class MissingField(InvalidInput):
    code = "missing_field"


class InvalidSignature(InvalidInput):
    """A signed request (a Stripe webhook) whose signature is missing, wrong or too old."""

    code = "invalid_signature"


class InvalidId(InvalidInput):
    """An id in the path or body is not a well-formed id (it is never looked up)."""

    code = "invalid_id"


class UnknownModel(InvalidInput):
    """An OpenAI-compatible request names a ``model`` that no engine of its kind serves."""

    code = "unknown_model"


class Unprocessable(VoxcloneError):
    """Well-formed but not acceptable: out-of-range values, audio we cannot use."""

    code = "unprocessable"


class InvalidText(Unprocessable):
    code = "invalid_text"


class InvalidMarkup(InvalidText):
    """Inline markup (``[word](/phonemes/)``, ``[pause:1s]``) that cannot be spoken: a
    malformed or out-of-range pause, or a phoneme the engine does not know."""

    code = "invalid_markup"


class InvalidLexicon(Unprocessable):
    """A pronunciation dictionary that cannot be used: a malformed PLS file, an unknown
    alphabet, or a rule without what it needs."""

    code = "invalid_lexicon"


class NothingToSpeak(InvalidText):
    """Text with nothing an engine can say: no letter or digit in any script."""

    code = "nothing_to_speak"


class InvalidAudio(Unprocessable):
    """The bytes are not audio in a supported format, or are damaged."""

    code = "invalid_audio"


class AudioDurationOutOfRange(Unprocessable):
    code = "audio_duration_out_of_range"


class UnknownBackend(Unprocessable):
    code = "unknown_backend"


class JobsOnlyBackend(Unprocessable):
    """The backend renders elsewhere and calls back (``type = "callback"``): it serves jobs
    (``POST /v1/synthesize``), never a request that waits for the audio."""

    code = "jobs_only_backend"


class UnsupportedLanguage(Unprocessable):
    code = "unsupported_language"


class UnsupportedFormat(Unprocessable):
    code = "unsupported_format"


class UnsupportedSampleRate(Unprocessable):
    """A sample rate an endpoint does not work at; ``details["allowed"]`` lists the ones it does."""

    code = "unsupported_sample_rate"


class TimestampsUnsupported(Unprocessable):
    """Timing was asked for on an engine that cannot say when it speaks what (a remote one)."""

    code = "timestamps_unsupported"


class UnusableReference(Unprocessable):
    """A reference clip that holds no usable speech of one person (silence, noise, music,
    several voices); ``details["problem"]`` names which, with the measured numbers."""

    code = "unusable_reference"


class InsufficientSpeech(Unprocessable):
    """Audio with too little speech to tell who speaks (silence, noise, a very short clip);
    ``details`` give the seconds of speech found and the seconds needed."""

    code = "insufficient_speech"


class UrlNotAllowed(Unprocessable):
    """A URL voxclone would call (``callback_url``, ``reference_audio_url``) that it may not:
    not http(s), with credentials, or resolving to a private, loopback or link-local address;
    ``details`` name the ``field`` and the ``reason``."""

    code = "url_not_allowed"


class UrlFetchFailed(Unprocessable):
    """A URL voxclone was asked to fetch (``reference_audio_url``) could not be fetched: it did
    not answer, answered with an error, or redirected too often; ``details["field"]`` names it."""

    code = "url_fetch_failed"


class InvalidVoiceMix(Unprocessable):
    """A voice mix (``af_bella(2)+af_sky(1)``) that is malformed or has a bad weight."""

    code = "invalid_voice_mix"


class InvalidMetadata(Unprocessable):
    """A voice's description, tags or labels out of bounds (too many, too long, wrong type);
    ``details["field"]`` names which."""

    code = "invalid_metadata"


class InvalidArchive(Unprocessable):
    """An uploaded archive (a voice export) that is not one, or whose contents do not match its
    manifest (a member missing, unlisted, or with another SHA-256); ``details["problem"]``
    names what, ``details["member"]`` the member where there is one."""

    code = "invalid_archive"


class UnsafeArchive(InvalidArchive):
    """An archive that could escape or overwhelm whoever unpacks it: a path outside the archive
    (``../``, absolute), a link, too many members, a member or a total too large, or a
    compression ratio of a zip bomb; ``details["problem"]`` names which."""

    code = "unsafe_archive"


class ArchiveTooLarge(UnsafeArchive):
    """An archive upload over ``limits.max_voice_archive_bytes`` (refused while it streams)."""

    code = "archive_too_large"


class IncompatibleEngineVersion(Unprocessable):
    """A stored voice prompt (an imported archive's) made by another version of the engine than
    the one here; ``details`` give both versions."""

    code = "incompatible_engine_version"


class PayloadTooLarge(VoxcloneError):
    """A request body is larger than any endpoint accepts."""

    code = "payload_too_large"


class AudioTooLarge(PayloadTooLarge):
    """An uploaded or fetched audio file is larger than its limit (413, like any body)."""

    code = "audio_too_large"


class AudioTooLongForSync(PayloadTooLarge):
    """Audio longer than a synchronous call takes (``limits.max_sync_speech_audio_s``) on a
    route whose clients cannot take a job instead; ``details`` name the limit and the way to
    send it as a job."""

    code = "audio_too_long_for_sync"


# --- who is asking ------------------------------------------------------------------------------


class AuthenticationError(VoxcloneError):
    """No key, an unknown key, or a revoked key."""

    code = "unauthorized"


class PermissionDenied(VoxcloneError):
    """A valid key that may not do this (a user key on an admin endpoint)."""

    code = "forbidden"


class ConsentRejected(VoxcloneError):
    """A consent recording that did not say the phrase, or not in the voice's own voice."""

    code = "consent_rejected"


class OutputTooLong(VoxcloneError):
    """A synthesis that would make, or has made, more audio than one request may."""

    code = "output_too_long"


class ConsentRequired(PermissionDenied):
    """The deployment asks for spoken consent before a cloned voice speaks, and this voice's
    owner has not given it yet."""

    code = "consent_required"


class CsrfRejected(PermissionDenied):
    """A studio request that changes state without the session's ``X-CSRF-Token``, or a
    studio WebSocket opened from another origin."""

    code = "csrf_failed"


class StockVoiceReadOnly(PermissionDenied):
    """A change to a stock voice (a built-in engine's own voice, shared by every key): it cannot
    be edited, deleted, given samples, refitted or exported, and has no reference clip."""

    code = "stock_voice_read_only"


# --- the state of records -----------------------------------------------------------------------


class NotFound(VoxcloneError):
    """No such record, or it belongs to another key: the two are never told apart."""

    code = "not_found"


class Conflict(VoxcloneError):
    """The record exists but is not in a state that allows this (a voice still fitting)."""

    code = "conflict"


class JobNotReady(Conflict):
    code = "job_not_ready"


class SourceNotReady(Conflict):
    """An audio edit's source is a job without audio yet (or any more): pending, running,
    failed or cancelled; ``details`` name the job, its status and the field."""

    code = "source_not_ready"


class SpeakerNotEnrolled(Conflict):
    """A speaker with no enrollment has no voice print to compare with."""

    code = "speaker_not_enrolled"


# --- limits -------------------------------------------------------------------------------------


class RateLimited(VoxcloneError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float, **details: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **details)
        self.retry_after_s = retry_after_s


class KeyRateLimited(RateLimited):
    """The key made more requests in the last minute than its rate limit allows."""


class TooManyJobs(RateLimited):
    """The key has as many jobs pending or running as its concurrency limit allows."""

    code = "too_many_concurrent_jobs"


class TooManyHeavyRequests(RateLimited):
    """The key has as many heavy requests (cache misses, transcriptions, denoises, fits) running
    as ``limits.max_concurrent_heavy_per_key`` allows."""

    code = "too_many_concurrent_requests"


class TooManySessions(RateLimited):
    """The key has as many realtime sessions open as ``realtime.max_sessions_per_key`` allows."""

    code = "too_many_sessions"


class SessionExpired(VoxcloneError):
    """A realtime session ran past ``realtime.max_session_s``."""

    code = "session_expired"


class QuotaExceeded(VoxcloneError):
    """The key's characters for this billing period would run past its quota."""

    code = "quota_exceeded"


# --- engines and providers ----------------------------------------------------------------------


class EngineError(VoxcloneError):
    """An engine failed while working on a valid request."""

    code = "engine_error"


class EngineUnavailable(EngineError):
    """An engine cannot be loaded here: a package or model file is missing."""

    code = "engine_unavailable"


class ProviderError(EngineError):
    """A remote provider answered with an error or with something that is not audio."""

    code = "provider_error"


class ProviderRejected(ProviderError):
    """A remote provider refused the request itself (HTTP 4xx): the provider is up, so this is
    neither a reason to take its URL out of rotation nor to fall back to another engine."""

    code = "provider_rejected"


class ProviderUnavailable(ProviderError):
    """Every URL of a remote engine is out of rotation (failed recently), or none may be used."""

    code = "provider_unavailable"


class ProviderTimeout(EngineError):
    code = "provider_timeout"


class StorageError(VoxcloneError):
    """A blob that the database says exists is missing or unreadable."""

    code = "storage_error"


class BillingNotConfigured(VoxcloneError):
    """Billing is on but cannot sell anything yet: no plan is configured."""

    code = "billing_not_configured"


class PaymentProviderError(VoxcloneError):
    """Stripe could not be reached or refused a request voxclone made to it."""

    code = "payment_provider_error"


class QueueUnavailable(VoxcloneError):
    """The job queue's broker (Redis) cannot be reached; the job rows are safe meanwhile."""

    code = "queue_unavailable"
