"""Who handles a new case: the least-loaded available handler of the queue's team.

Absences are data in queue/absences.toml (admin-edited): a handler away has a return date and an
alternative contact. Away handlers get no new cases; when everyone is away the team lead is
named, and when the lead is away too the acknowledgement names the lead's alternative and says
when the lead is back.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.config import Handler, Team
from gateway.store import Case


@dataclass(frozen=True)
class Absence:
    name: str
    start: date
    back_on: date
    alternative: Handler


@dataclass(frozen=True)
class Assignment:
    handler: Handler
    away_until: date | None = None
    alternative: Handler | None = None

    def as_context(self) -> dict[str, object]:
        """Plain values for the acknowledgement template."""
        ctx: dict[str, object] = {"name": self.handler.name, "role": self.handler.role, "away": self.away_until is not None}
        if self.away_until is not None and self.alternative is not None:
            ctx.update(
                back_on=f"{self.away_until:%A} {self.away_until.day} {self.away_until:%B %Y}",
                alternative_name=self.alternative.name,
                alternative_role=self.alternative.role,
                alternative_email=self.alternative.email,
            )
        return ctx


def load_absences(queue_dir: Path) -> dict[str, Absence]:
    """Read queue/absences.toml: [[absence]] name, from, until (the day they are back), alternative."""
    path = queue_dir / "absences.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        rows = tomllib.load(handle).get("absence", [])
    out: dict[str, Absence] = {}
    for row in rows:
        alt = row.get("alternative", {})
        out[row["name"]] = Absence(
            name=row["name"],
            start=_date(row.get("from", "1970-01-01")),
            back_on=_date(row["back_on"]),
            alternative=Handler(name=alt.get("name", ""), role=alt.get("role", ""), email=alt.get("email", "")),
        )
    return out


def cached_absences(queue_dir: Path, cache: dict[str, object]) -> dict[str, Absence]:
    """Absences, re-read when an admin edits queue/absences.toml (checked by its modification time)."""
    path = queue_dir / "absences.toml"
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    hit = cache.get("absences")
    if not isinstance(hit, tuple) or hit[0] != stamp:
        hit = (stamp, load_absences(queue_dir))
        cache["absences"] = hit
    return hit[1]


def _date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def away(absences: Mapping[str, Absence], name: str, today: date) -> Absence | None:
    absence = absences.get(name)
    if absence and absence.start <= today < absence.back_on:
        return absence
    return None


def assign(session: Session, team: Team, absences: Mapping[str, Absence], today: date) -> Assignment:
    """Least loaded available handler (ties go to the order in queues.toml), else the lead."""
    available = [h for h in team.handlers if away(absences, h.name, today) is None]
    if available:
        load = dict(
            session.execute(
                select(Case.handler_name, func.count())
                .where(Case.queue == team.name, Case.status == "open")
                .group_by(Case.handler_name)
            ).all()
        )
        chosen = min(available, key=lambda h: (load.get(h.name, 0), team.handlers.index(h)))
        return Assignment(chosen)
    return current_assignment(team.lead, absences, today)


def current_assignment(handler: Handler, absences: Mapping[str, Absence], today: date) -> Assignment:
    """The assignment as the acknowledgement should describe it today: with the alternative if away."""
    absence = away(absences, handler.name, today)
    if absence is None:
        return Assignment(handler)
    return Assignment(handler, away_until=absence.back_on, alternative=absence.alternative)
