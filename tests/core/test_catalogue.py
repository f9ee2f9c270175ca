"""The Japanese catalogue is complete and the compiled file matches it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from uketome.core.catalogue import LOCALE_DIR, po_files, untranslated

SRC = Path(__file__).resolve().parents[2] / "src" / "uketome"


def test_every_message_has_japanese() -> None:
    files = po_files()
    assert any("/ja/" in str(p) for p in files)
    for path in files:
        assert untranslated(path) == [], path


def test_compiled_catalogue_matches_the_source() -> None:
    po = polib.pofile(str(LOCALE_DIR / "ja/LC_MESSAGES/django.po"))
    mo = polib.mofile(str(LOCALE_DIR / "ja/LC_MESSAGES/django.mo"))
    compiled = {(e.msgid, e.msgstr) for e in mo if e.msgid}
    source = {(e.msgid, e.msgstr) for e in po.translated_entries() if not e.msgid_plural}
    assert source <= compiled, "run `python -m uketome.core.catalogue compile`"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) not installed")
def test_no_string_in_the_code_is_missing_from_the_catalogue(tmp_path: Path) -> None:
    """Extract the strings again from a copy of the code: none may be new."""
    copy = tmp_path / "uketome"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "ja",
            "--no-location",
            "--no-obsolete",
            "--settings=tests.settings",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        env={**__import__("os").environ, "PYTHONPATH": str(SRC.parents[1])},
    )
    extracted = polib.pofile(str(copy / "locale/ja/LC_MESSAGES/django.po"))
    missing = [e.msgid for e in extracted.untranslated_entries()]
    assert missing == [], "new strings without Japanese; run `make messages`"
