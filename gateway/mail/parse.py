"""Turn raw bytes into the plain facts the pipeline needs, without ever raising.

Python's email parser has sharp edges (see ../shared/FACTS.md): a huge header makes it allocate
gigabytes, deep nesting raises RecursionError, an unknown charset raises LookupError, 8-bit header
bytes come back as surrogates that PostgreSQL refuses to store. So the header block is capped
before parsing, the walk is bounded, a failed MIME parse falls back to headers plus the body as
text, every decode falls back to replacement, and what went wrong is recorded in ``defects``
instead of escaping as an exception: a message we cannot read is still a message a person sees.
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr

from gateway.mail.text import clean, decode_bytes, html_to_text

MAX_HEADER_BYTES = 64 * 1024  # the whole header block the parser may see
MAX_FIELD_BYTES = 16 * 1024  # one header field (with its folded lines)
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

    def header_values(self, name: str) -> list[str]:
        """Every value of a header: a forged or repeated header must not hide the real one."""
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def header_names(self) -> set[str]:
        return {key for key, _ in self.headers}


def split_header_block(raw: bytes) -> tuple[bytes, bytes]:
    """Split at the first blank line; tolerant of bare LF line endings."""
    match = re.search(rb"\r?\n\r?\n", raw)
    if not match:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def _cap_headers(raw: bytes, defects: list[str]) -> bytes:
    """Cut header fields to size and count before the parser sees them (it is quadratic in places)."""
    head, body = split_header_block(raw)
    if len(head) <= MAX_FIELD_BYTES and head.count(b"\n") < MAX_HEADER_COUNT:
        return raw
    fields: list[list[bytes]] = []
    for line in head.splitlines():
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1].append(line)
        else:
            fields.append([line])
    kept: list[bytes] = []
    total = 0
    for lines in fields[:MAX_HEADER_COUNT]:
        value = b"\r\n".join(lines)
        if len(value) > MAX_FIELD_BYTES:
            value = value[:MAX_FIELD_BYTES].rstrip(b"\r\n")
            defects.append(f"header {lines[0].split(b':', 1)[0][:60].decode('ascii', 'replace')} cut to {MAX_FIELD_BYTES} bytes")
        if total + len(value) > MAX_HEADER_BYTES:
            break
        kept.append(value)
        total += len(value) + 2
    if len(kept) < len(fields):
        dropped = len(fields) - len(kept)
        defects.append(f"header block cut: {dropped} field(s) past {MAX_HEADER_COUNT} fields or {MAX_HEADER_BYTES} bytes")
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def _normalise_spaced_colons(raw: bytes) -> bytes:
    """Rewrite ``Name : value`` header lines (old but valid) so the parser does not stop at them."""
    head, body = split_header_block(raw)
    if b" :" not in head and b"\t:" not in head:
        return raw
    fixed = re.sub(rb"(?m)^([!-9;-~]+)[ \t]+:", rb"\1:", head)
    return fixed + b"\r\n\r\n" + body


def _decode_part(part: Message) -> str:
    """A leaf part's text; base64 that the decoder refused is read leniently rather than shown raw."""
    payload = part.get_payload(decode=True)
    if any("Base64" in type(d).__name__ for d in part.defects):
        data = re.sub(r"[^A-Za-z0-9+/]", "", str(part.get_payload(decode=False)))
        payload = base64.b64decode(data[: len(data) // 4 * 4])
    return clean(decode_bytes(payload, part.get_content_charset())) if isinstance(payload, bytes) else ""


def _status_text(part: Message) -> str:
    """message/delivery-status parses into header blocks: render them as the text a DSN shows."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return _decode_part(part)
    lines = [f"{k}: {clean(str(v), keep_newlines=False)}" for b in blocks if isinstance(b, Message) for k, v in b.raw_items()]
    return "\n".join(lines)


def _attachment(part: Message, ctype: str) -> Attachment:
    name = clean(str(part.get_filename() or ""), keep_newlines=False)[:255]
    if ctype == "message/rfc822" and not name:
        name = "forwarded-message.eml"
    try:
        payload = part.get_payload(decode=True) if not part.is_multipart() else part.as_bytes()
    except Exception:
        payload = b""
    return Attachment(filename=name or "unnamed", content_type=ctype, size=len(payload) if isinstance(payload, bytes) else 0)


def _walk(msg: Message, defects: list[str]) -> tuple[list[str], list[str], list[Attachment]]:
    """Collect plain parts, HTML parts and attachments, bounded in depth, count and size."""
    plain: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = chars = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts; the rest were not read")
            break
        try:
            ctype = part.get_content_type()
            disposition = (part.get_content_disposition() or "").lower()
            if ctype == "message/delivery-status":
                plain.append(_status_text(part))
            elif ctype == "message/rfc822" and disposition == "attachment":
                attachments.append(_attachment(part, ctype))
            elif ctype.startswith("multipart/") and not part.is_multipart():
                defects.append(f"{ctype} without readable parts; shown as text")
                plain.append(_decode_part(part))
            elif part.is_multipart():
                if depth >= MAX_DEPTH:
                    defects.append(f"MIME nesting deeper than {MAX_DEPTH}; inner parts not read")
                    continue
                children = part.get_payload()
                if isinstance(children, list):
                    stack.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
            elif disposition == "attachment" or not ctype.startswith("text/"):
                attachments.append(_attachment(part, ctype))
            elif chars > MAX_TEXT_CHARS:
                continue
            elif ctype == "text/html":
                htmls.append(_decode_part(part))
            else:
                plain.append(_decode_part(part))
                chars += len(plain[-1])
        except Exception as exc:  # one broken part must not cost the others
            defects.append(f"part {seen} not read: {type(exc).__name__}")
        if part is not msg:
            defects.extend(type(d).__name__ for d in getattr(part, "defects", ()))
    return plain, htmls, attachments


def _header_only(raw: bytes) -> tuple[Message, str]:
    """When no MIME parse succeeds (deep nesting): the headers, and the body shown as raw text."""
    msg = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    _, body = split_header_block(raw)
    return msg, clean(body[: MAX_TEXT_CHARS * 2].decode("utf-8", "replace"))


def parse(raw: bytes) -> ParsedMessage:
    """Parse a message; on any failure keep what was read and note why in ``defects``.

    The modern policy first; then compat32, whose header parsing is plain string work (the modern
    one recursed on a Content-Type of 15,000 parentheses); then the headers alone.
    """
    defects: list[str] = []
    try:
        prepared = _normalise_spaced_colons(_cap_headers(raw, defects))
    except Exception as exc:
        defects.append(f"header block not prepared: {type(exc).__name__}")
        prepared = raw
    for name, policy in (("default", email.policy.default), ("compat32", email.policy.compat32)):
        try:
            return _facts(email.message_from_bytes(prepared, policy=policy), list(defects), "")
        except Exception as exc:  # RecursionError on deep nesting, and whatever else the parser meets
            defects.append(f"MIME parse with the {name} policy failed: {type(exc).__name__}")
    try:
        msg, text = _header_only(prepared)
        return _facts(msg, [*defects, "MIME structure not parsed; body kept as raw text"], text)
    except Exception as exc:
        return ParsedMessage(defects=(*defects, f"unparseable: {type(exc).__name__}"))


def _facts(msg: Message, defects: list[str], fallback_text: str) -> ParsedMessage:
    defects.extend(type(d).__name__ for d in msg.defects)
    headers = [(clean(str(k), keep_newlines=False).lower()[:100], _decode_header(v)) for k, v in msg.raw_items()]
    get: dict[str, str] = {}
    for key, value in headers:
        get.setdefault(key, value)
    from_name, from_addr = _address(get.get("from", ""))
    try:
        to_addrs = tuple(a.lower() for _, a in getaddresses([get.get("to", ""), get.get("cc", "")]) if a)
    except Exception:
        to_addrs = ()
    plain: list[str] = [fallback_text] if fallback_text else []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    if not fallback_text:
        try:
            plain, htmls, attachments = _walk(msg, defects)
        except Exception as exc:  # RecursionError included: never let the body take the headers with it
            defects.append(f"body not read: {type(exc).__name__}")
    text = "\n\n".join(p for p in plain if p.strip())
    if not text.strip() and htmls:
        text = html_to_text("\n".join(htmls))
    try:
        content_type = msg.get_content_type()
    except Exception:
        content_type = "text/plain"
    return ParsedMessage(
        message_id=_one_id(get.get("message-id", "")),
        subject=get.get("subject", ""),
        from_addr=from_addr,
        from_name=from_name,
        to_addrs=to_addrs,
        headers=tuple(headers),
        text=text[:MAX_TEXT_CHARS],
        attachments=tuple(attachments),
        in_reply_to=_one_id(get.get("in-reply-to", "")),
        references=tuple(re.findall(r"<[^<>\s]{1,500}>", get.get("references", "")))[-50:],
        defects=tuple(dict.fromkeys(defects)),
        content_type=content_type,
    )


def _address(value: str) -> tuple[str, str]:
    try:
        name, addr = parseaddr(value)
    except Exception:
        return "", ""
    return name.strip(), addr.strip().lower()


def _decode_header(value: object) -> str:
    """RFC 2047-decode a header value on one line, replacing what cannot be decoded."""
    text = clean(str(value), keep_newlines=False)
    try:
        chunks = email.header.decode_header(text)
    except Exception:
        return text
    out = [decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in chunks]
    return clean("".join(out), keep_newlines=False)


def _one_id(value: str) -> str:
    match = re.search(r"<[^<>\s]{1,900}>", value)
    return match.group(0) if match else value.strip()[:900]
