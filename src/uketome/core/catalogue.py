"""The message catalogues: compile the .po files to .mo, and report what is missing.

    python -m uketome.core.catalogue compile   # after editing a .po file
    python -m uketome.core.catalogue check     # exit 1 if any message lacks Japanese

The .mo files are committed, so installing uketome needs no gettext tools. Needs polib
(a test extra).
"""

from __future__ import annotations

import sys
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def untranslated(po_path: Path) -> list[str]:
    import polib

    catalogue = polib.pofile(str(po_path))
    missing = [e.msgid for e in catalogue.untranslated_entries()]
    missing += [e.msgid for e in catalogue.fuzzy_entries()]
    return missing


def compile_all() -> list[Path]:
    import polib

    written = []
    for po_path in po_files():
        mo_path = po_path.with_suffix(".mo")
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "compile":
        for path in compile_all():
            print(f"wrote {path}")
        return 0
    problems = {str(po): untranslated(po) for po in po_files()}
    for name, missing in problems.items():
        for msgid in missing:
            print(f"{name}: untranslated: {msgid!r}")
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
