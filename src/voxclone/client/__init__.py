"""A typed Python client for voxclone's HTTP API, sync and async, over httpx.

```python
from voxclone.client import Client

with Client("http://localhost:8000", api_key="vx_...") as vx:
    voice = vx.voices.create("narrator", "clip.wav", backend="piper")
    vx.synthesis.synthesize(voice.voice_id, "Hello there.").save("hello.wav")
```

It needs only httpx, pydantic and tenacity: nothing of the server is imported.
"""

from voxclone.client.account import Health, Key, KeyIssued, Quota, Usage, UsageTotals
from voxclone.client.client import AsyncClient, Client
from voxclone.client.errors import (
    APIError,
    AuthenticationError,
    ClientError,
    Conflict,
    InvalidRequest,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Timeout,
    TransportError,
    WaitTimeout,
)
from voxclone.client.history import HistoryDeleted, HistoryItem, HistoryPage
from voxclone.client.models import Audio, Job, JobPage, JobQueued
from voxclone.client.retry import RetryPolicy
from voxclone.client.speakers import Identification, Speaker, Verification
from voxclone.client.speech import Transcription
from voxclone.client.stories import Clip, Story, StorySummary, Track
from voxclone.client.synthesis import AudioStream
from voxclone.client.voices import Sample, Voice

__all__ = [
    "APIError",
    "AsyncClient",
    "Audio",
    "AudioStream",
    "AuthenticationError",
    "Client",
    "ClientError",
    "Clip",
    "Conflict",
    "Health",
    "HistoryDeleted",
    "HistoryItem",
    "HistoryPage",
    "Identification",
    "InvalidRequest",
    "Job",
    "JobFailed",
    "JobPage",
    "JobQueued",
    "Key",
    "KeyIssued",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "Quota",
    "QuotaExceeded",
    "RateLimited",
    "RetryPolicy",
    "Sample",
    "ServerError",
    "ServiceUnavailable",
    "Speaker",
    "Story",
    "StorySummary",
    "Timeout",
    "Track",
    "Transcription",
    "TransportError",
    "Usage",
    "UsageTotals",
    "Verification",
    "Voice",
    "WaitTimeout",
]
