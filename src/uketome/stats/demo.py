"""Demo data for the statistics: the rollup of the demo contacts.

The demo contacts are bulk-loaded (not through ``contact_record``), so the rollup is
rebuilt from them once; contacts recorded afterwards are counted as they are saved.
"""

from __future__ import annotations

from uketome.stats.services import rollup_rebuild


def load_stats() -> int:
    """Rebuild the statistics rollup from the contacts; returns the rows written."""
    return rollup_rebuild(actor=None)
