"""The web studio: static files served at ``/`` by the API process (docs/studio.md).

No build step: plain ES modules, with wavesurfer.js vendored from npm (``make vendor``).
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"
