"""Reading a voice archive trusts nothing in it (the pure part; the API tests the rest)."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import pytest

from voxclone.core.errors import InvalidArchive, UnsafeArchive
from voxclone.services.voice_archive_format import read_archive, write_archive

LIMITS = {"max_samples": 4, "max_sample_bytes": 1_000_000, "max_unpacked_bytes": 4_000_000}


def archive() -> bytes:
    return write_archive(
        voice={"name": "v", "samples": [{"file": "samples/01.wav", "ref_text": "hi"}]},
        prompt={"engine": "fake", "engine_version": "1", "prompt": {"pitch_hz": 200.0}},
        samples=[("samples/01.wav", b"RIFF....fake audio")],
        app="test",
    )


def rewrite(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            change(dst, info, src.read(info))
    return out.getvalue()


def test_round_trip_and_determinism() -> None:
    data = archive()
    assert data == archive()
    read = read_archive(data, **LIMITS)
    assert read.engine == "fake" and read.engine_version == "1"
    assert read.prompt == {"pitch_hz": 200.0}
    assert [(s.file, s.data, s.ref_text) for s in read.samples] == [
        ("samples/01.wav", b"RIFF....fake audio", "hi")
    ]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../x.json", "path_traversal"),
        ("samples/./01.wav", "path_traversal"),
        ("samples\\01.wav", "path_traversal"),
        ("/abs.json", "absolute_path"),
        ("C:evil.json", "absolute_path"),
    ],
)
def test_names_that_leave_the_archive(name: str, problem: str) -> None:
    def add_evil(dst: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
        dst.writestr(info, data)
        if info.filename == "prompt.json":
            dst.writestr(name, b"{}")

    with pytest.raises(UnsafeArchive) as caught:
        read_archive(rewrite(archive(), add_evil), **LIMITS)
    assert caught.value.details["problem"] == problem
    assert caught.value.details["member"] == name


def test_a_duplicate_member_is_refused() -> None:
    def twice(dst: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
        dst.writestr(info, data)
        if info.filename == "voice.json":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
                dst.writestr(info, data)

    with pytest.raises(InvalidArchive) as caught:
        read_archive(rewrite(archive(), twice), **LIMITS)
    assert caught.value.details["problem"] == "duplicate_member"


def test_a_damaged_member_is_refused() -> None:
    data = bytearray(archive())
    at = data.index(b"RIFF....fake audio")
    data[at] ^= 0xFF  # stored, so the bytes are there as they are; the CRC no longer holds
    with pytest.raises(InvalidArchive) as caught:
        read_archive(bytes(data), **LIMITS)
    assert caught.value.details["problem"] == "corrupt_member"


def test_a_wrong_manifest_format_is_refused() -> None:
    def other_format(dst: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
        if info.filename == "manifest.json":
            data = json.dumps({**json.loads(data), "version": 2}).encode()
        dst.writestr(info, data)

    with pytest.raises(InvalidArchive) as caught:
        read_archive(rewrite(archive(), other_format), **LIMITS)
    assert caught.value.details["problem"] == "unsupported_format"


def test_voice_json_must_name_samples_that_exist() -> None:
    data = write_archive(
        voice={"name": "v", "samples": [{"file": "samples/02.wav"}]},
        prompt={"engine": "fake", "engine_version": "1", "prompt": {}},
        samples=[("samples/01.wav", b"x")],
        app="test",
    )
    with pytest.raises(InvalidArchive) as caught:
        read_archive(data, **LIMITS)
    assert caught.value.details["problem"] == "missing_member"
