"""Open the blob store that a storage url names (``Settings.resolved_storage_url``).

- ``file:///var/lib/voxclone/blobs`` or a plain path (``./data/blobs``): ``LocalBlobStore``.
- ``s3://bucket/prefix``: not yet; S3-compatible storage arrives with the distributed mode.

A url this module cannot open is a configuration mistake, found at start-up, so it raises
``ValueError`` naming the url (not a ``VoxcloneError``, which would read as a client's fault).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from voxclone.storage.base import BlobStore
from voxclone.storage.local import LocalBlobStore

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def open_blob_store(url: str) -> BlobStore:
    """The blob store for ``url``; ValueError for a scheme voxclone cannot open (yet)."""
    match = _SCHEME.match(url)
    if match is None:
        if not url.strip():
            raise ValueError("the storage url is empty")
        return LocalBlobStore(Path(url))
    scheme = match.group(1).lower()
    if scheme == "file":
        return LocalBlobStore(_file_url_path(url))
    if scheme in ("s3", "s3a"):
        raise ValueError(
            f"storage url {url!r}: S3 storage arrives with the distributed mode; "
            "use a file:// url or a directory path for now"
        )
    raise ValueError(f"storage url {url!r}: unknown scheme {scheme!r} (expected file:// or a path)")


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
