"""MPEG audio Layer III frame headers: enough to find the Xing/Info frame at the start of an MP3.

LAME (behind libsndfile) writes a frame holding a Xing (VBR) or Info (CBR) tag before the
audio. It carries the frame count and the encoder delay for the whole file, so it belongs only at
the start of a complete file; an MP3 sent as a stream leaves it out and is plain frames.
"""

from __future__ import annotations

from dataclasses import dataclass

_BITRATES_KBPS = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
"""Layer III bit rates by index, for MPEG-1 and for MPEG-2 and 2.5 (index 0 is "free format")."""
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
"""Sample rates by the header's version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5) and index."""
_LAYER_III = 1
_MONO = 3
_TAGS = (b"Xing", b"Info")


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The parts of a Layer III frame header that fix the frame's length and layout."""

    mpeg1: bool
    bitrate_kbps: int
    sample_rate: int
    padding: bool
    mono: bool

    @property
    def length(self) -> int:
        """The frame's length in bytes, header included."""
        slots = 144 if self.mpeg1 else 72
        return slots * self.bitrate_kbps * 1000 // self.sample_rate + int(self.padding)

    @property
    def side_info_end(self) -> int:
        """Where the side information ends: a Xing/Info tag starts here."""
        if self.mpeg1:
            return 4 + (17 if self.mono else 32)
        return 4 + (9 if self.mono else 17)


def parse_header(data: bytes) -> FrameHeader | None:
    """The Layer III frame header at the start of ``data``, or None if there is none."""
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return None
    version = (data[1] >> 3) & 3
    layer = (data[1] >> 1) & 3
    bitrate_index, rate_index = data[2] >> 4, (data[2] >> 2) & 3
    if version == 1 or layer != _LAYER_III or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    return FrameHeader(
        mpeg1=mpeg1,
        bitrate_kbps=_BITRATES_KBPS[1 if mpeg1 else 2][bitrate_index],
        sample_rate=_SAMPLE_RATES[version][rate_index],
        padding=bool((data[2] >> 1) & 1),
        mono=(data[3] >> 6) == _MONO,
    )


def tag_frame_length(data: bytes) -> int | None:
    """The length of the Xing/Info frame ``data`` starts with; 0 if it starts with an audio
    frame; None if ``data`` is too short to tell.

    Raises ValueError if ``data`` does not start with a Layer III frame.
    """
    if len(data) < 4:
        return None
    header = parse_header(data)
    if header is None:
        raise ValueError(f"not an MPEG Layer III frame header: {data[:4].hex()}")
    if len(data) < header.length:
        return None
    at = header.side_info_end
    return header.length if data[at : at + 4] in _TAGS else 0
