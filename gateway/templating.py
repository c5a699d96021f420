"""Render admin-editable notice templates safely.

Templates run in Jinja's SandboxedEnvironment with StrictUndefined and see only plain values
(strings, numbers, dates, lists and dicts of those), never store objects: an admin's template
cannot read another case or call methods. Rendering is bounded in time and output size, so a
template with a runaway loop fails with a clear error instead of pinning a worker.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT_CHARS = 200_000
MAX_SECONDS = 2.0
LONDON = ZoneInfo("Europe/London")
PLAIN_TYPES = (str, int, float, bool, date, datetime, type(None))


class RenderError(ValueError):
    """A template failed: syntax, an unknown name, or a time or size limit."""


def plain(value: Any) -> Any:
    """Check that a context holds plain values only; store objects are refused here, not hidden."""
    if isinstance(value, PLAIN_TYPES):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"templates see plain values only, not {type(value).__name__}")


_deadline = threading.local()


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox, with the time limit checked on every call a template makes (range(), filters,
    methods), so nested loops that print nothing are stopped too, not only ones that print."""

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() > getattr(_deadline, "at", float("inf")):
            raise RenderError(f"rendering took over {MAX_SECONDS} s")
        return super().call(__context, __obj, *args, **kwargs)


@lru_cache(maxsize=8)
def environment(root: str, autoescape: bool) -> SandboxedEnvironment:
    env = BoundedSandbox(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["longdate"] = long_date
    return env


def long_date(value: date | datetime) -> str:
    """"Wednesday 2 December 2026", the form GOV.UK style uses for dates people act on (UK date)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(LONDON)
    return f"{value:%A} {value.day} {value:%B %Y}"


def render_source(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render template text (used by the admin preview and by tests)."""
    env = environment("/nonexistent", html)
    try:
        template = env.from_string(source)
    except TemplateError as exc:
        raise RenderError(f"template syntax: {exc}") from exc
    return _bounded(template.generate(**plain(context)))


def render_file(root: Path, name: str, context: Mapping[str, Any]) -> str:
    env = environment(str(root), name.endswith(".html"))
    try:
        template = env.get_template(name)
    except TemplateError as exc:
        raise RenderError(f"{name}: {exc}") from exc
    return _bounded(template.generate(**plain(context)), name)


def _bounded(chunks: Any, name: str = "template") -> str:
    deadline = time.monotonic() + MAX_SECONDS
    _deadline.at = deadline
    out: list[str] = []
    size = 0
    try:
        for chunk in chunks:
            size += len(chunk)
            out.append(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise RenderError(f"{name}: output over {MAX_OUTPUT_CHARS} characters")
            if time.monotonic() > deadline:
                raise RenderError(f"{name}: rendering took over {MAX_SECONDS} s")
    except RenderError:
        raise
    except Exception as exc:  # undefined names, sandbox refusals, errors inside filters
        raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc
    finally:
        _deadline.at = float("inf")
    return "".join(out)


def template_version(root: Path, *names: str) -> str:
    """A short hash of the template sources: recorded with every acknowledgement sent."""
    stamp = tuple((str(root / name), (root / name).stat().st_mtime_ns) for name in names)
    return _version(stamp)


@lru_cache(maxsize=64)
def _version(stamp: tuple[tuple[str, int], ...]) -> str:
    digest = hashlib.sha256()
    for path, _mtime in stamp:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]
