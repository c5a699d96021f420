"""Where the data folders (templates/, queue/) are, in a checkout and in an installed wheel.

The wheel carries them as gateway/_data/<name> (see pyproject.toml); a checkout or editable install
has them at the repository root, beside the gateway package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Path of a shipped data folder: "templates" or "queue"."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
