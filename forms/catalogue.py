"""Every word the public pages show, read from one TOML catalogue per language.

The texts live in templates/web/text/<language>.toml so a Welsh or Gaelic version is a new file and
a line of configuration, never a code change. English is always loaded underneath the chosen
language, so a partial translation shows English for the keys it has not reached yet instead of
breaking a page. Placeholders are `{name}` and are filled by plain substitution (not str.format),
so a catalogue value can never reach attributes of the objects passed in.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BASE_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


class CatalogueError(ValueError):
    """The catalogue file is missing or unreadable: the app refuses to start rather than show keys."""


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise CatalogueError(f"no text catalogue at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class Catalogue:
    """Texts of one language; `text("details.title", noun="complaint")` fills placeholders."""

    language: str
    texts: Mapping[str, Any]

    def lookup(self, key: str) -> Any:
        node: Any = self.texts
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(key)
            node = node[part]
        return node

    def text(self, key: str, **values: object) -> str:
        """The text for `key`; a missing key shows the key itself (and logs) rather than a 500."""
        try:
            value = self.lookup(key)
        except KeyError:
            log.warning("text catalogue %s has no key %s", self.language, key)
            return key
        if isinstance(value, Mapping):
            # A key that names a table, e.g. "about.noun" used as a plain text: fall back to its
            # "text" entry when present, so templates stay readable.
            value = value.get("text", key)
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), str(value))

    @property
    def html_lang(self) -> str:
        return str(self.texts.get("meta", {}).get("lang", self.language))

    def long_date(self, day: date) -> str:
        """'Wednesday 4 March 2026': the GOV.UK date style, in this catalogue's words."""
        days = self.lookup("dates.days")
        months = self.lookup("dates.months")
        return f"{days[day.weekday()]} {day.day} {months[day.month - 1]} {day.year}"


def load_catalogue(folder: Path, language: str = BASE_LANGUAGE) -> Catalogue:
    """English, overlaid by `language` when that is not English."""
    if not _LANGUAGE.match(language):
        raise CatalogueError(f"language {language!r} is not a language code such as en, cy or gd")
    texts = _read(folder / f"{BASE_LANGUAGE}.toml")
    if language != BASE_LANGUAGE:
        texts = _merge(texts, _read(folder / f"{language}.toml"))
    return Catalogue(language=language, texts=texts)
