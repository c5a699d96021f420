"""The durable store (SQLAlchemy 2): models, opening, migrations."""

from gateway.store.db import Store, open_store, sqlite_url
from gateway.store.models import Acknowledgement, Case, CaseEvent, ForwardingNotice, Notice, RawMessage, Routing

__all__ = [
    "Acknowledgement",
    "Case",
    "CaseEvent",
    "ForwardingNotice",
    "Notice",
    "RawMessage",
    "Routing",
    "Store",
    "open_store",
    "sqlite_url",
]
