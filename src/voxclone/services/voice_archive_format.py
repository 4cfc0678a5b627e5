"""The portable voice archive: one zip per voice, and the careful reading of one.

Members (all at the top level but the samples)::

    manifest.json   {"format": "voxclone-voice", "version": 1, "voxclone": "0.1.0",
                     "members": [{"path": "voice.json", "sha256": "...", "size": 123}, ...]}
    voice.json      name, description, tags, labels, lang, family, backend, and "samples":
                    [{"file": "samples/01.wav", "ref_text", "ref_text_auto", "checks"}, ...]
    prompt.json     {"engine": "local", "engine_version": "...", "prompt": {...}}
    samples/NN.EXT  each sample's audio as it was uploaded (wav, flac, ogg or mp3)

``manifest.json`` lists every other member with its SHA-256 and size. Audio is stored
(not deflated); JSON is deflated; member times are fixed, so exporting a voice twice gives the
same bytes.

``read_archive`` trusts nothing in the upload: before any member is read it refuses names that
could leave a folder (``..``, absolute paths, backslashes, drive letters), links, unexpected
names, duplicates, more members than a voice can have, members larger than their kind allows,
more unpacked bytes in all than ``max_unpacked_bytes``, and deflate ratios of a zip bomb; then it
reads each member (never more than its declared size; zipfile checks its CRC) into memory — no
path is ever built from a member's name — and checks every hash against the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import zipfile
from dataclasses import dataclass
from typing import Any

from voxclone.core.errors import InvalidArchive, UnsafeArchive

FORMAT = "voxclone-voice"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VOICE = "voice.json"
PROMPT = "prompt.json"
SAMPLE_NAME = re.compile(r"samples/[0-9]{2,4}\.(wav|flac|ogg|mp3)")
MAX_JSON_BYTES = 1024 * 1024
"""Largest JSON member (a fitted prompt is a few kB)."""
MAX_RATIO = 100.0
"""Largest unpacked / packed size of a member over ``RATIO_FROM_BYTES``: speech deflates by
1.1-2x, JSON by 3-10x; a zip bomb by 1000x and more."""
RATIO_FROM_BYTES = 64 * 1024
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class ArchiveSample:
    file: str
    data: bytes
    ref_text: str | None
    ref_text_auto: bool
    checks: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VoiceArchive:
    """What an archive holds, read and checked against its manifest."""

    voice: dict[str, Any]
    """voice.json as it came (its fields are checked by whoever uses them)."""
    engine: str
    engine_version: str
    prompt: dict[str, Any]
    samples: list[ArchiveSample]


def write_archive(
    *, voice: dict[str, Any], prompt: dict[str, Any], samples: list[tuple[str, bytes]], app: str
) -> bytes:
    """The zip of a voice: ``voice`` (voice.json, with ``samples`` naming the files),
    ``prompt`` (prompt.json) and ``samples`` as (member name, audio bytes)."""
    members: list[tuple[str, bytes, int]] = [
        (VOICE, _json(voice), zipfile.ZIP_DEFLATED),
        (PROMPT, _json(prompt), zipfile.ZIP_DEFLATED),
        *((name, data, zipfile.ZIP_STORED) for name, data in samples),
    ]
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "voxclone": app,
        "members": [
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data, _ in members
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compression in [
            (MANIFEST, _json(manifest), zipfile.ZIP_DEFLATED),
            *members,
        ]:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = compression
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def read_archive(
    data: bytes, *, max_samples: int, max_sample_bytes: int, max_unpacked_bytes: int
) -> VoiceArchive:
    """Check and read an uploaded archive (see the module's docstring); raises
    ``UnsafeArchive`` or ``InvalidArchive`` naming the problem and the member."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidArchive(
            f"the upload is not a zip archive ({exc})", problem="not_a_zip"
        ) from exc
    with archive:
        infos = archive.infolist()
        _check_members(
            infos,
            max_samples=max_samples,
            max_sample_bytes=max_sample_bytes,
            max_unpacked_bytes=max_unpacked_bytes,
        )
        contents = {info.filename: _read_member(archive, info) for info in infos}
    manifest = _parse_json(contents, MANIFEST)
    _check_manifest(manifest, contents)
    voice = _parse_json(contents, VOICE)
    prompt_doc = _parse_json(contents, PROMPT)
    engine, version, prompt = (
        prompt_doc.get("engine"),
        prompt_doc.get("engine_version"),
        prompt_doc.get("prompt"),
    )
    if not isinstance(engine, str) or not isinstance(version, str) or not isinstance(prompt, dict):
        raise InvalidArchive(
            "prompt.json must hold engine and engine_version (strings) and prompt (an object)",
            problem="invalid_member",
            member=PROMPT,
        )
    return VoiceArchive(
        voice=voice,
        engine=engine,
        engine_version=version,
        prompt=prompt,
        samples=_samples(voice, contents, max_samples=max_samples),
    )


def _check_members(
    infos: list[zipfile.ZipInfo],
    *,
    max_samples: int,
    max_sample_bytes: int,
    max_unpacked_bytes: int,
) -> None:
    if len(infos) > max_samples + 3:
        raise UnsafeArchive(
            f"the archive has {len(infos)} members; a voice archive has at most {max_samples + 3}",
            problem="too_many_members",
            members=len(infos),
        )
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        _check_name(name)
        mode = info.external_attr >> 16  # Unix mode; its type bits are 0 from some tools
        if stat.S_ISLNK(mode) or stat.S_IFMT(mode) not in (0, stat.S_IFREG) or info.is_dir():
            raise UnsafeArchive(
                f"member {name!r} is a link or a folder, not a file",
                problem="symlink" if stat.S_ISLNK(mode) else "not_a_file",
                member=name,
            )
        if name in seen:
            raise InvalidArchive(
                f"member {name!r} appears twice", problem="duplicate_member", member=name
            )
        seen.add(name)
        if name not in (MANIFEST, VOICE, PROMPT) and not SAMPLE_NAME.fullmatch(name):
            raise InvalidArchive(
                f"member {name!r} does not belong in a voice archive",
                problem="unexpected_member",
                member=name,
            )
        limit = max_sample_bytes if name.startswith("samples/") else MAX_JSON_BYTES
        if info.file_size > limit:
            raise UnsafeArchive(
                f"member {name!r} unpacks to {info.file_size} bytes; at most {limit} allowed",
                problem="member_too_large",
                member=name,
                size=info.file_size,
                max_bytes=limit,
            )
        if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise UnsafeArchive(
                f"member {name!r} unpacks {info.file_size / max(info.compress_size, 1):.0f} "
                f"times larger than it is packed (at most {MAX_RATIO:g}): a zip bomb",
                problem="compression_ratio",
                member=name,
            )
        total += info.file_size
        if total > max_unpacked_bytes:
            raise UnsafeArchive(
                f"the archive unpacks to more than {max_unpacked_bytes} bytes",
                problem="unpacked_too_large",
                max_bytes=max_unpacked_bytes,
            )
    for required in (MANIFEST, VOICE, PROMPT):
        if required not in seen:
            raise InvalidArchive(
                f"the archive has no {required}", problem="missing_member", member=required
            )


def _check_name(name: str) -> None:
    parts = name.split("/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        problem = "absolute_path"
    elif "\\" in name or "\x00" in name or any(p in ("..", ".") for p in parts):
        problem = "path_traversal"
    else:
        return
    raise UnsafeArchive(f"member {name!r} points outside the archive", problem=problem, member=name)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
        raise InvalidArchive(
            f"member {info.filename!r} cannot be read ({exc})",
            problem="corrupt_member",
            member=info.filename,
        ) from exc
    if len(data) > info.file_size:
        raise UnsafeArchive(
            f"member {info.filename!r} is longer than its header says",
            problem="member_too_large",
            member=info.filename,
        )
    return data


def _parse_json(contents: dict[str, bytes], name: str) -> dict[str, Any]:
    try:
        value = json.loads(contents[name])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArchive(
            f"{name} is not valid JSON", problem="invalid_member", member=name
        ) from exc
    if not isinstance(value, dict):
        raise InvalidArchive(
            f"{name} must hold a JSON object", problem="invalid_member", member=name
        )
    return value


def _check_manifest(manifest: dict[str, Any], contents: dict[str, bytes]) -> None:
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise InvalidArchive(
            f"manifest.json is not a {FORMAT} manifest of version {FORMAT_VERSION} "
            f"(format {manifest.get('format')!r}, version {manifest.get('version')!r})",
            problem="unsupported_format",
            member=MANIFEST,
        )
    listed: dict[str, str] = {}
    entries = manifest.get("members")
    for entry in entries if isinstance(entries, list) else [None]:
        path = entry.get("path") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(path, str) or not isinstance(digest, str):
            raise InvalidArchive(
                "manifest.json must list members as {path, sha256, size}",
                problem="invalid_manifest",
                member=MANIFEST,
            )
        listed[path] = digest.lower()
    for name, data in contents.items():
        if name == MANIFEST:
            continue
        if name not in listed:
            raise InvalidArchive(
                f"member {name!r} is not in the manifest", problem="unlisted_member", member=name
            )
        if hashlib.sha256(data).hexdigest() != listed[name]:
            raise InvalidArchive(
                f"member {name!r} does not match its SHA-256 in the manifest",
                problem="hash_mismatch",
                member=name,
            )
    missing = sorted(set(listed) - set(contents))
    if missing:
        raise InvalidArchive(
            f"the manifest lists {missing[0]!r}, which the archive lacks",
            problem="missing_member",
            member=missing[0],
        )


def _samples(
    voice: dict[str, Any], contents: dict[str, bytes], *, max_samples: int
) -> list[ArchiveSample]:
    entries = voice.get("samples")
    if not isinstance(entries, list) or not entries:
        raise InvalidArchive(
            "voice.json must list the voice's samples", problem="invalid_member", member=VOICE
        )
    if len(entries) > max_samples:
        raise InvalidArchive(
            f"voice.json lists {len(entries)} samples; a voice holds at most {max_samples}",
            problem="too_many_samples",
            member=VOICE,
        )
    samples: list[ArchiveSample] = []
    used: set[str] = set()
    for entry in entries:
        file = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(file, str) or file not in contents or not file.startswith("samples/"):
            raise InvalidArchive(
                f"voice.json names a sample file {file!r} that the archive lacks",
                problem="missing_member",
                member=str(file),
            )
        if file in used:
            raise InvalidArchive(
                f"voice.json names {file!r} twice", problem="duplicate_member", member=file
            )
        used.add(file)
        assert isinstance(entry, dict)
        ref_text = entry.get("ref_text")
        checks = entry.get("checks")
        samples.append(
            ArchiveSample(
                file=file,
                data=contents[file],
                ref_text=ref_text if isinstance(ref_text, str) else None,
                ref_text_auto=bool(entry.get("ref_text_auto")),
                checks=checks if isinstance(checks, dict) else {},
            )
        )
    return samples


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode()
