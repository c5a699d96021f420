"""Turn raw bytes into the plain facts the pipeline needs, without ever raising.

Python's email parser has sharp edges (see ../shared/FACTS.md): a huge header makes it allocate
gigabytes, deep nesting raises RecursionError, an unknown charset raises LookupError. So the header
block is capped before parsing, the walk is bounded, every decode falls back to replacement, and
anything that went wrong is recorded in ``defects`` instead of escaping as an exception.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_COUNT = 500
MAX_PARTS = 200
MAX_DEPTH = 20
MAX_TEXT_CHARS = 200_000


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str = ""
    subject: str = ""
    from_addr: str = ""
    from_name: str = ""
    to_addrs: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    defects: tuple[str, ...] = field(default_factory=tuple)
    content_type: str = "text/plain"

    def header(self, name: str) -> str:
        """First value of a header, or "" (names compare case-insensitively)."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return ""

    def header_names(self) -> set[str]:
        return {key for key, _ in self.headers}


def split_header_block(raw: bytes) -> tuple[bytes, bytes]:
    """Split at the first blank line; tolerant of bare LF line endings."""
    match = re.search(rb"\r?\n\r?\n", raw)
    if not match:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def _cap_headers(raw: bytes) -> tuple[bytes, list[str]]:
    """Drop header lines past the size or count caps before the parser ever sees them."""
    head, body = split_header_block(raw)
    defects: list[str] = []
    if len(head) <= MAX_HEADER_BYTES and head.count(b"\n") < MAX_HEADER_COUNT * 4:
        return raw, defects
    kept: list[bytes] = []
    size = 0
    fields = 0
    for line in head.splitlines():
        starts_field = not line[:1].isspace()
        if starts_field:
            fields += 1
        if fields > MAX_HEADER_COUNT or size + len(line) > MAX_HEADER_BYTES:
            defects.append("header block truncated (over %d bytes or %d fields)" % (MAX_HEADER_BYTES, MAX_HEADER_COUNT))
            break
        kept.append(line)
        size += len(line) + 2
    return b"\r\n".join(kept) + b"\r\n\r\n" + body, defects


def _normalise_spaced_colons(raw: bytes) -> bytes:
    """Rewrite ``Name : value`` header lines (old but valid) so the parser does not stop at them."""
    head, body = split_header_block(raw)
    if b" :" not in head and b"\t:" not in head:
        return raw
    fixed = re.sub(rb"(?m)^([!-9;-~]+)[ \t]+:", rb"\1:", head)
    return fixed + b"\r\n\r\n" + body


def _text(value: object) -> str:
    try:
        return str(value or "")
    except Exception:  # a malformed header can fail while being folded into str
        return ""


def _address(value: str) -> tuple[str, str]:
    name, addr = parseaddr(value)
    return name.strip(), addr.strip().lower()


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def html_to_text(markup: str) -> str:
    """Readable text from HTML mail: scripts and styles dropped, tags removed, entities decoded."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6]|blockquote)\s*>", "\n", markup)
    markup = re.sub(r"(?s)<!--.*?-->", " ", markup)
    markup = re.sub(r"(?s)<[^>]*>", " ", markup)
    text = html.unescape(markup)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def _walk(msg: Message, defects: list[str]) -> tuple[list[str], list[str], list[Attachment]]:
    """Collect plain parts, HTML parts and attachments, bounded in depth and count."""
    plain: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            defects.append("more than %d MIME parts; the rest were not read" % MAX_PARTS)
            break
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                defects.append("MIME nesting deeper than %d; inner parts not read" % MAX_DEPTH)
                continue
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((child, depth + 1) for child in reversed(children))
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _text(part.get_filename())
        if disposition == "attachment" or (filename and not ctype.startswith("text/")):
            raw = part.get_payload(decode=True)
            size = len(raw) if isinstance(raw, bytes) else 0
            attachments.append(Attachment(filename=filename or "unnamed", content_type=ctype, size=size))
        elif ctype == "text/plain":
            plain.append(_decode_part(part))
        elif ctype == "text/html":
            htmls.append(_decode_part(part))
        elif ctype in ("message/delivery-status", "text/rfc822-headers"):
            plain.append(_decode_part(part) if not part.is_multipart() else "")
    return plain, htmls, attachments


def parse(raw: bytes) -> ParsedMessage:
    """Parse a message; on any failure keep what was read and note why in ``defects``."""
    defects: list[str] = []
    try:
        capped, cap_defects = _cap_headers(raw)
        defects.extend(cap_defects)
        capped = _normalise_spaced_colons(capped)
        msg = email.message_from_bytes(capped, policy=email.policy.default)
    except Exception as exc:  # the parser itself failed: keep nothing but the reason
        return ParsedMessage(defects=(f"unparseable: {type(exc).__name__}",))
    defects.extend(type(d).__name__ for d in msg.defects)
    headers: list[tuple[str, str]] = []
    for key, value in msg.raw_items():
        headers.append((key.strip().lower(), _decode_header(value)))
    get = {}
    for key, value in headers:
        get.setdefault(key, value)
    from_name, from_addr = _address(get.get("from", ""))
    to_addrs = tuple(a.lower() for _, a in getaddresses([get.get("to", ""), get.get("cc", "")]) if a)
    try:
        plain, htmls, attachments = _walk(msg, defects)
    except (RecursionError, Exception) as exc:
        defects.append(f"body not read: {type(exc).__name__}")
        plain, htmls, attachments = [], [], []
    text = "\n\n".join(p for p in plain if p.strip())
    if not text.strip() and htmls:
        text = html_to_text("\n".join(htmls))
    return ParsedMessage(
        message_id=_one_id(get.get("message-id", "")),
        subject=" ".join(get.get("subject", "").split()),
        from_addr=from_addr,
        from_name=from_name,
        to_addrs=to_addrs,
        headers=tuple(headers),
        text=text[:MAX_TEXT_CHARS],
        attachments=tuple(attachments),
        in_reply_to=_one_id(get.get("in-reply-to", "")),
        references=tuple(re.findall(r"<[^<>\s]+>", get.get("references", ""))),
        defects=tuple(defects),
        content_type=msg.get_content_type(),
    )


def _decode_header(value: str) -> str:
    """RFC 2047-decode a header value, replacing what cannot be decoded."""
    try:
        parts = email.header.decode_header(value)
    except Exception:
        return " ".join(str(value).split())
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            try:
                out.append(chunk.decode(charset or "ascii", errors="replace"))
            except LookupError:
                out.append(chunk.decode("utf-8", errors="replace"))
        else:
            out.append(chunk)
    return " ".join("".join(out).split())


def _one_id(value: str) -> str:
    match = re.search(r"<[^<>\s]+>", value)
    return match.group(0) if match else value.strip()
