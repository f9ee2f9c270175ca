"""Risk triage of children's messages (issue 7, item 9).

Public interface (light to import: no Django model is imported at module import time)::

    from uketome.triage import Assessment, assess

    result = assess("しにたい")
    result.level       # "none" | "watch" | "high" | "urgent" (the taxonomy's risk level codes)
    result.score       # int, 0 when nothing matched
    result.categories  # ("suicide",)
    result.matched     # the lexicon entries that matched
    result.alert       # True for high and urgent
"""

from uketome.triage.scoring import LEVELS, Assessment, assess, prepare, use

__all__ = ["LEVELS", "Assessment", "assess", "prepare", "use"]
