"""All configuration, in one Settings object.

Every setting is an environment variable with the ``VOXCLONE_`` prefix, also read from a
``.env`` file. Nested sections use a double underscore: ``VOXCLONE_LIMITS__MAX_TEXT_CHARS``.
Nothing else in voxclone reads the environment; sections are passed into constructors.
"""

from __future__ import annotations

from voxclone.config.accounts import (
    BillingPlan,
    BillingSettings,
    CallbackSettings,
    QuotaSettings,
    WebhookSettings,
)
from voxclone.config.deployment import JobSettings, MetricsSettings, S3Settings, WorkerSettings
from voxclone.config.engines import (
    BiometricsSettings,
    DeepFilterSettings,
    KokoroSettings,
    PiperSettings,
    RemoteSettings,
    WhisperSettings,
)
from voxclone.config.limits import MB, LimitSettings
from voxclone.config.realtime import AgentSettings, RealtimeSettings
from voxclone.config.settings import Settings
from voxclone.config.studio import HistorySettings, StorySettings, WebStudioSettings
from voxclone.config.trust import ConsentSettings

__all__ = [
    "MB",
    "AgentSettings",
    "BillingPlan",
    "BillingSettings",
    "BiometricsSettings",
    "CallbackSettings",
    "ConsentSettings",
    "DeepFilterSettings",
    "HistorySettings",
    "JobSettings",
    "KokoroSettings",
    "LimitSettings",
    "MetricsSettings",
    "PiperSettings",
    "QuotaSettings",
    "RealtimeSettings",
    "RemoteSettings",
    "S3Settings",
    "Settings",
    "StorySettings",
    "WebStudioSettings",
    "WebhookSettings",
    "WhisperSettings",
    "WorkerSettings",
]
