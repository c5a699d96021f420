"""Text out of mail bytes: charsets that lie, 8-bit headers, NUL bytes and HTML-only mail.

Kept apart from parse.py because each function here answers one question about untrusted bytes
(what characters are these, what may be stored, what would a person read) and must never raise.
"""

from __future__ import annotations

import html
import re

MAX_HTML_CHARS = 1_000_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str, *, keep_newlines: bool = True) -> str:
    """Text fit for the store and a page: surrogates from 8-bit bytes decoded, NUL and controls gone.

    The parser hands undecodable header bytes over as lone surrogates; UTF-8 is the usual truth and
    Windows-1252 reads anything else. PostgreSQL refuses NUL in text, so control characters go.
    """
    if _SURROGATE.search(text):
        try:
            data = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = text.encode("utf-8", "replace")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", "replace")
    text = _CONTROL.sub("", text)
    return text if keep_newlines else " ".join(text.split())


_SKIP_TAGS = ("script", "style", "head", "title", "template", "noscript")
_BREAK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "hr"}
_TAG_NAME = re.compile(r"/?\s*([a-z][a-z0-9]*)")


def html_to_text(markup: str) -> str:
    """Readable text from HTML-only mail: scripts, styles, comments and tags gone, entities decoded.

    One forward pass with str.find, so the time is linear in the input: the standard library's
    HTMLParser took minutes on 800 KB of unclosed ``<!--`` (quadratic on malformed input), and an
    unclosed construct here simply ends the text.
    """
    markup = markup[:MAX_HTML_CHARS]
    lower = markup.lower()
    out: list[str] = []
    i, n = 0, len(markup)
    while i < n:
        j = markup.find("<", i)
        if j < 0:
            out.append(markup[i:])
            break
        out.append(markup[i:j])
        if markup.startswith("<!--", j):
            k = markup.find("-->", j + 4)
            i = n if k < 0 else k + 3
            continue
        k = markup.find(">", j + 1)
        if k < 0:
            break
        i = k + 1
        name = _TAG_NAME.match(lower, j + 1, k)
        tag = name.group(1) if name else ""
        if tag in _SKIP_TAGS and lower[j + 1 : j + 2] != "/":
            close = lower.find("</" + tag, i)
            i = n if close < 0 else close
        elif tag in _BREAK_TAGS:
            out.append("\n")
    text = re.sub(r"[ \t\r\f\v\xa0]+", " ", html.unescape("".join(out)))
    return clean(re.sub(r"\n\s*\n+", "\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip())


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Bytes in a declared charset, trusting the label only as far as the bytes agree with it.

    Mail says us-ascii or utf-8 and holds Windows-1252 often enough; an unknown label gets UTF-8,
    then Windows-1252, which reads any byte: never LookupError, never a crash.
    """
    declared = (charset or "utf-8").strip().lower()
    for candidate in (declared, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            pass
    if declared not in ("us-ascii", "ascii", "utf-8", "utf8"):
        try:
            return payload.decode(declared, "replace")
        except LookupError:
            pass
    return payload.decode("cp1252", "replace")
