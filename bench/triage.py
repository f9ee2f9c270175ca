"""Risk triage against labelled messages: `python -m bench.triage [--set PATH] [--errors]`.

Scores every message of the labelled set (default ``bench/data/triage_eval.tsv``: level,
a tab, the message, optionally a tab and a note; ``#`` lines are comments) with the
shipped lexicon (``src/uketome/triage/data/lexicon.toml``; no database needed) and prints
ONE JSON line:

    precision / recall / f1 for "alert" (high or urgent) and for "any risk" (watch or
    above), exact-level accuracy, hard-negative false alarms, counts per level (gold and
    predicted), the confusion (gold -> predicted -> count), and messages/s (the scoring
    loop only, after one warm-up pass so that the dictionary and the lexicon are loaded).

``--errors`` also prints each wrongly levelled message to stderr.
``--set bench/data/triage_heldout.tsv`` runs the held-out check set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from uketome.triage.defaults import default_specs
from uketome.triage.scoring import LEVELS, Lexicon

DEFAULT_SET = Path(__file__).parent / "data" / "triage_eval.tsv"
ALERT = {"high", "urgent"}
ANY_RISK = {"watch", "high", "urgent"}


def load(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        level, text, *rest = line.split("\t")
        if level not in LEVELS:
            raise SystemExit(f"{path}:{number}: unknown level {level!r}")
        rows.append((level, text, rest[0] if rest else ""))
    return rows


def _binary(gold: list[str], predicted: list[str], positive: set[str]) -> dict[str, float]:
    tp = sum(g in positive and p in positive for g, p in zip(gold, predicted, strict=True))
    fp = sum(g not in positive and p in positive for g, p in zip(gold, predicted, strict=True))
    fn = sum(g in positive and p not in positive for g, p in zip(gold, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triage")
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled TSV file")
    parser.add_argument("--errors", action="store_true", help="list the misses on stderr")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the set")
    args = parser.parse_args(argv)

    rows = load(args.set)
    lexicon = Lexicon(default_specs())
    if lexicon.errors:
        raise SystemExit(f"lexicon errors: {lexicon.errors}")
    results = [lexicon.assess(text) for _level, text, _note in rows]  # warm-up pass
    started = time.perf_counter()
    for _ in range(args.repeat):
        for _level, text, _note in rows:
            lexicon.assess(text)
    elapsed = time.perf_counter() - started

    gold = [level for level, _text, _note in rows]
    predicted = [result.level for result in results]
    confusion = {g: {p: 0 for p in LEVELS} for g in LEVELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    hard = [(g, p) for (g, _t, note), p in zip(rows, predicted, strict=True) if note == "hn"]
    if args.errors:
        for (g, text, _note), result in zip(rows, results, strict=True):
            if g != result.level:
                print(
                    f"{g:>6} -> {result.level:<6} {text}  {list(result.matched)}", file=sys.stderr
                )
    report = {
        "set": args.set.name,
        "messages": len(rows),
        "lexicon_entries": len(lexicon),
        "alert": _binary(gold, predicted, ALERT),
        "any_risk": _binary(gold, predicted, ANY_RISK),
        "exact_level_accuracy": round(
            sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(rows), 3
        ),
        "hard_negatives": len(hard),
        "hard_negative_false_alerts": sum(p in ALERT for _g, p in hard),
        "hard_negative_false_any": sum(p != "none" for _g, p in hard),
        "gold_per_level": {level: gold.count(level) for level in LEVELS},
        "predicted_per_level": {level: predicted.count(level) for level in LEVELS},
        "confusion": confusion,
        "messages_per_s": round(len(rows) * args.repeat / elapsed),
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
