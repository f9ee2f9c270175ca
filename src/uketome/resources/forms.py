"""Reading the directory page's address (GET parameters): capped, cleaned, never an error."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.http import QueryDict

#: The longest search that is used; longer input is cut, not refused.
MAX_QUERY_LENGTH = 100
#: Topic codes and municipality names are short; longer values cannot match anything.
MAX_FILTER_LENGTH = 60


def _printable(text: str) -> str:
    """Without control and other invisible code points (NUL would break PostgreSQL)."""
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))


@dataclass(frozen=True)
class DirectoryParams:
    """``q`` (search words), ``topic`` (a ``Topic`` code), ``municipality`` (a 市町)."""

    query: str = ""
    topic: str = ""
    municipality: str = ""
    query_shortened: bool = False

    @classmethod
    def from_get(cls, data: QueryDict) -> DirectoryParams:
        query = _printable(data.get("q", "")).strip()
        topic = _printable(data.get("topic", ""))[:MAX_FILTER_LENGTH].strip()
        municipality = unicodedata.normalize(
            "NFKC", _printable(data.get("municipality", ""))[:MAX_FILTER_LENGTH]
        ).strip()
        return cls(
            query=query[:MAX_QUERY_LENGTH].strip(),
            topic=topic,
            municipality=municipality,
            query_shortened=len(query) > MAX_QUERY_LENGTH,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.query or self.topic or self.municipality)

    def as_query(self, **changes: str) -> dict[str, str]:
        """The parameters (with ``changes``) for a link, empty ones left out."""
        values = {"q": self.query, "topic": self.topic, "municipality": self.municipality}
        values.update(changes)
        return {key: value for key, value in values.items() if value}
