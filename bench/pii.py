"""The personal-data check on its labelled set: `python -m bench.pii [--misses]`.

Reads bench/data/pii_eval.tsv (kinds<TAB>sentence; "-" for none), runs
``uketome.qa.pii.kinds_found`` on every sentence and prints one JSON line:

- ``precision`` / ``recall`` / ``f1``: a sentence is positive when it has any personal
  data; a flagged sentence without any is a false positive.
- ``kinds``: per kind (name, school, ...), the same figures for "this kind was found".
- ``held_out``: the same for the sentences written after the check was tuned.
- ``sentences``, ``with_personal_data``, ``tp``/``fp``/``fn``/``tn``, ``ms_per_sentence``.

``--misses`` also prints each wrong sentence (to stderr), for tuning.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data" / "pii_eval.tsv"


HELD_OUT = "# --- held out"


def load(path: Path = DATA) -> list[tuple[set[str], str, bool]]:
    """(kinds, sentence, held_out) for every labelled sentence. Sentences after the
    ``# --- held out`` line were written after the check was tuned and are not tuned on."""
    rows: list[tuple[set[str], str, bool]] = []
    held_out = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith(HELD_OUT):
            held_out = True
        if not raw.strip() or raw.startswith("#"):
            continue
        label, sentence = raw.split("\t", 1)
        kinds = set() if label.strip() == "-" else {k.strip() for k in label.split(",")}
        rows.append((kinds, sentence, held_out))
    return rows


def _ratio(a: int, b: int) -> float:
    return round(a / b, 3) if b else 1.0


def _scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pii")
    parser.add_argument("--misses", action="store_true", help="print wrong sentences")
    args = parser.parse_args(argv)

    from uketome.qa.pii import KINDS, kinds_found

    rows = load()
    kinds_found("準備")  # load the dictionary and the name list before timing
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    held = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    per_kind = {kind: {"tp": 0, "fp": 0, "fn": 0, "support": 0} for kind in KINDS}
    started = time.perf_counter()
    for expected, sentence, held_out in rows:
        found = set(kinds_found(sentence))
        outcome = "tp" if expected and found else "fp" if found else "fn" if expected else "tn"
        counts[outcome] += 1
        if held_out:
            held[outcome] += 1
        for kind in KINDS:
            figures = per_kind[kind]
            figures["support"] += kind in expected
            if kind in found and kind in expected:
                figures["tp"] += 1
            elif kind in found:
                figures["fp"] += 1
            elif kind in expected:
                figures["fn"] += 1
        if args.misses and found != expected:
            print(f"{sorted(expected)} {sorted(found)} {sentence}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    result = {
        "bench": "pii",
        **_scores(counts["tp"], counts["fp"], counts["fn"]),
        "sentences": len(rows),
        "with_personal_data": sum(1 for expected, _s, _h in rows if expected),
        **counts,
        "kinds": {
            kind: {**_scores(f["tp"], f["fp"], f["fn"]), "support": f["support"]}
            for kind, f in per_kind.items()
        },
        "held_out": {**_scores(held["tp"], held["fp"], held["fn"]), **held},
        "ms_per_sentence": round(1000 * elapsed / max(len(rows), 1), 2),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
