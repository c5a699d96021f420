"""Attachments: which files are taken, checked by their content and not by what the browser says.

A file is only ever stored as a MIME part of the submitted message; the web app never serves it
back, so nothing uploaded can run in a browser or on the server. The type is decided from the first
bytes (a PDF starts "%PDF-"), the extension must agree, and the content type written into the
message comes from this table, never from the request.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from werkzeug.datastructures import FileStorage
from wtforms import Field, Form
from wtforms.validators import StopValidation

from forms.checks import catalogue

MAX_FILES = 3
MAX_FILE_BYTES = 5 * 1024 * 1024

# extension -> (content type, leading bytes that content must start with; None = text)
TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    "rtf": ("application/rtf", (b"{\\rtf",)),
    "txt": ("text/plain", None),
}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)}MB"


def safe_filename(name: str) -> str:
    """Keep the person's file name readable (any script), minus paths and control characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", "", name).strip(" .")
    return name[:120] or "attachment"


def sniff(filename: str, head: bytes) -> str | None:
    """The content type when the extension is allowed and the content matches it, else None."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in TYPES:
        return None
    content_type, magic = TYPES[ext]
    if magic is None:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            # a multi-byte character cut at the end of the sample is still text
            text = head[:-4].decode("utf-8", "strict") if len(head) > 4 else ""
        return content_type if "\x00" not in text else None
    return content_type if head.startswith(magic) else None


def chosen_files(field: Field) -> list[FileStorage]:
    """The files actually chosen: browsers send one empty part when none is."""
    return [f for f in (field.data or []) if isinstance(f, FileStorage) and f.filename]


class Files:
    """Up to 3 files, each under the size limit, each of an allowed type; reads them once."""

    def __init__(self, max_files: int = MAX_FILES, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes

    def __call__(self, form: Form, field: Field) -> None:
        cat = catalogue()
        files = chosen_files(field)
        if len(files) > self.max_files:
            raise StopValidation(cat.text("errors.files_count"))
        uploads: list[Upload] = []
        for storage in files:
            name = safe_filename(storage.filename or "")
            data = storage.stream.read(self.max_bytes + 1)
            if not data:
                raise StopValidation(cat.text("errors.file_empty", filename=name))
            if len(data) > self.max_bytes:
                raise StopValidation(cat.text("errors.file_size", filename=name, size=size_text(self.max_bytes)))
            try:
                content_type = sniff(name, data[:4096])
            except UnicodeDecodeError:
                content_type = None
            if content_type is None:
                raise StopValidation(cat.text("errors.file_type", filename=name))
            uploads.append(Upload(name, content_type, data))
        field.uploads = uploads
