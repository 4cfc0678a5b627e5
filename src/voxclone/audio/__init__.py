"""Audio in and out: decoding uploads, encoding results, resampling, checks and joins."""

from voxclone.audio.codec import (
    ACCEPTED_INPUT_FORMATS,
    SUPPORTED_OUTPUT_FORMATS,
    AudioInfo,
    DecodedAudio,
    decode_audio,
    encode_audio,
    media_type,
    probe_audio,
)
from voxclone.audio.edit import concat_with_crossfade
from voxclone.audio.resample import resample
from voxclone.audio.stream import STREAM_FORMATS, StreamEncoder, check_stream_format
from voxclone.audio.validate import check_duration, is_silent, peak_dbfs, rms_dbfs

__all__ = [
    "ACCEPTED_INPUT_FORMATS",
    "STREAM_FORMATS",
    "SUPPORTED_OUTPUT_FORMATS",
    "AudioInfo",
    "DecodedAudio",
    "StreamEncoder",
    "check_duration",
    "check_stream_format",
    "concat_with_crossfade",
    "decode_audio",
    "encode_audio",
    "is_silent",
    "media_type",
    "peak_dbfs",
    "probe_audio",
    "resample",
    "rms_dbfs",
]
