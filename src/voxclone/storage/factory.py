"""Open the blob store that a storage url names (``Settings.resolved_storage_url``).

- ``file:///var/lib/voxclone/blobs`` or a plain path (``./data/blobs``): ``LocalBlobStore``.
- ``s3://bucket/prefix`` (the prefix may be empty): ``S3BlobStore``; its endpoint and
  credentials come from the ``s3`` settings section (``VOXCLONE_S3__*``).

A url this module cannot open is a configuration mistake, found at start-up, so it raises
``ValueError`` naming the url (not a ``VoxcloneError``, which would read as a client's fault).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from voxclone.config import S3Settings
from voxclone.storage.base import BlobStore
from voxclone.storage.local import LocalBlobStore

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def open_blob_store(url: str, *, s3: S3Settings | None = None) -> BlobStore:
    """The blob store for ``url``; ValueError for a scheme voxclone cannot open."""
    match = _SCHEME.match(url)
    if match is None:
        if not url.strip():
            raise ValueError("the storage url is empty")
        return LocalBlobStore(Path(url))
    scheme = match.group(1).lower()
    if scheme == "file":
        return LocalBlobStore(_file_url_path(url))
    if scheme in ("s3", "s3a"):
        return _s3_store(url, s3 or S3Settings())
    raise ValueError(
        f"storage url {url!r}: unknown scheme {scheme!r} (expected file://, s3:// or a path)"
    )


def _s3_store(url: str, settings: S3Settings) -> BlobStore:
    from voxclone.storage.s3 import S3BlobStore

    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError(f"storage url {url!r} names no bucket (expected s3://bucket/prefix)")
    if parts.query or parts.fragment:
        raise ValueError(f"storage url {url!r}: s3 urls take no query or fragment")
    if "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(
            f"storage url {url!r}: put credentials and the endpoint in VOXCLONE_S3__* settings, "
            "not in the url"
        )
    prefix = unquote(parts.path).strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise ValueError(f"storage url {url!r}: invalid prefix {prefix!r}")
    secret = settings.secret_access_key
    return S3BlobStore(
        parts.netloc,
        prefix,
        endpoint_url=settings.endpoint_url,
        region=settings.region,
        access_key_id=settings.access_key_id.get_secret_value() if settings.access_key_id else None,
        secret_access_key=secret.get_secret_value() if secret else None,
        addressing_style=settings.addressing_style,
    )


def _file_url_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"storage url {url!r}: file urls must name a local path, not a host")
    if parts.query or parts.fragment:
        raise ValueError(f"storage url {url!r}: file urls take no query or fragment")
    path = unquote(parts.path)
    if not path:
        raise ValueError(f"storage url {url!r} names no directory")
    return Path(path)
