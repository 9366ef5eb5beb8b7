"""The tables of bench/README.md from bench/deid/run.py result files, each target beside its number.

    .venv/bin/python bench/deid/report.py bench/results/deid.json
    .venv/bin/python bench/deid/report.py first.json second.json   # runs of parts, joined; later files win
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = ("pauses", "breath", "running", "farfield", "noisy", "bystander")
CLEAN_SINGLE = ("pauses", "breath", "running")  # clean clips, one speaker
STAGES = ("decode", "vad", "asr", "coverage", "bystander", "pii", "align", "mask", "disguise", "reattack")


def pct(x, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def held(r: dict) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(r["held_reasons"].items()))
    return f"{r['held']}/{r['clips']}" + (f" ({reasons})" if reasons else "")


def quality_table(results: dict) -> list[str]:
    lines = ["| split | condition | clips | held (reasons) | held, no PII / with PII | recall (target ≥ 0.98) | "
             "recall, served only | leaked words Whisper / pocketsphinx (target 0) | over-masking (≤ 10%) | "
             "WER original / masked / disguised | disguised − original (≤ +10 points) |",
             "|---" * 11 + "|"]
    for split, conditions in results["quality"].items():
        for condition in ORDER:
            r = conditions.get(condition)
            if not r:
                continue
            recall = "–" if r["recall"] is None else f"{r['recall']:.3f}"
            served = "–" if r["recall_served"] is None else f"{r['recall_served']:.3f} of {r['pii_spans_served']}"
            lines.append(
                f"| {split} | {condition} | {r['clips']} | {held(r)} | {pct(r['held_share_without_pii'], 0)} / "
                f"{pct(r['held_share_with_pii'], 0)} | {recall} of {r['pii_spans']} | {served} | "
                f"{r['leaked_words_whisper']} / {r['leaked_words_sphinx']} of {r['pii_words_served']} | "
                f"{pct(r['over_masking'])} | {pct(r['wer_original'])} / {pct(r['wer_masked'])} / "
                f"{pct(r['wer_disguised'])} | {r['wer_disguised_minus_original_points']:+.1f} |")
    return lines


def clean_table(results: dict) -> list[str]:
    if not results.get("clean_single_speaker"):
        return []
    lines = ["| split | clean one-speaker clips without PII held (target ≤ 5%) | with PII held |", "|---|---|---|"]
    for split, c in results["clean_single_speaker"].items():
        lines.append(f"| {split} | {c['held_without_pii']}/{c['clips_without_pii']} "
                     f"({pct(c['held_share_without_pii'])}) | {c['held_with_pii']}/{c['clips_with_pii']} "
                     f"({pct(c['held_share_with_pii'])}) |")
    return lines


def masks_table(results: dict) -> list[str]:
    """How often served clips carry each kind of mask; unrecognized and unclear speech masked instead of held."""
    kinds = sorted({k for conditions in results["quality"].values() for r in conditions.values()
                    for k in r.get("served_clips_with_mask_kind", {})})
    if not kinds:
        return []
    lines = ["| split | condition | served | served with unheard speech masked | "
             + " | ".join(k.lower() for k in kinds) + " |", "|---" * (4 + len(kinds)) + "|"]
    for split, conditions in results["quality"].items():
        for condition in ORDER:
            r = conditions.get(condition)
            if not r or "served_clips_with_mask_kind" not in r:
                continue
            counts = " | ".join(str(r["served_clips_with_mask_kind"].get(k, 0)) for k in kinds)
            lines.append(f"| {split} | {condition} | {r['served']} | {pct(r['masked_unheard_share'], 0)} | {counts} |")
    return lines


def linkability_table(results: dict) -> list[str]:
    if not results.get("linkability"):
        return []
    lines = ["| split | served clips, voices | EER original vs original | ignorant: original vs disguised "
             "(target ≥ 45%) | ignorant: disguised vs disguised | informed: enrolled on disguised (≥ 30%) |",
             "|---|---|---|---|---|---|"]
    for split, r in results["linkability"].items():
        lines.append(f"| {split} | {r['clips']}, {r['voices']} | {pct(r['eer_original_vs_original'])} | "
                     f"{pct(r['eer_ignorant_original_vs_disguised'])} | {pct(r['eer_ignorant_disguised_vs_disguised'])}"
                     f" | {pct(r['eer_informed'])} |")
    return lines


def speed_table(results: dict) -> list[str]:
    s = results.get("speed")
    if not s:
        return []
    runs = ", ".join(f"{x:.2f}" for x in s["x_realtime_runs"])
    lines = ["| measure | value |", "|---|---|",
             f"| de-identification, decode to output, one thread ({s['clips']} running clips, median of "
             f"{len(s['x_realtime_runs'])}) | {s['x_realtime_per_core_median']:.2f}× real time ({runs}) |"]
    if "recognizer_x_realtime_median" in s:
        alone = ", ".join(f"{x:.2f}" for x in s["recognizer_x_realtime_runs"])
        share = pct(s["share_of_recognizer_speed_median"], 0)
        lines += [f"| Whisper tiny.en alone on the same clips | {s['recognizer_x_realtime_median']:.2f}× ({alone}) |",
                  f"| share of the recognizer's speed (target ≥ 70%) | {share} |"]
    lines.append(f"| worker memory, models loaded (max RSS) | {s['worker_rss_mb']:.0f} MB |")
    stages = s.get("stage_seconds_mean") or {}
    total = sum(stages.values())
    if stages:
        lines += ["", "| stage | CPU seconds per clip | share |", "|---|---|---|"]
        lines += [f"| {k} | {stages[k]:.3f} | {pct(stages[k] / total, 0)} |" for k in STAGES if k in stages]
        lines.append(f"| all | {total:.3f} | |")
    return lines


def padding_table(results: dict) -> list[str]:
    if not results.get("padding"):
        return []
    lines = ["| split | mask padding each side | recall, served | over-masking | held |", "|---|---|---|---|---|"]
    for split, sweep in results["padding"].items():
        for padding, r in sorted(sweep.items()):
            lines.append(f"| {split} | {float(padding) * 1000:.0f} ms | {r['recall_served']:.3f} | "
                         f"{pct(r['over_masking'])} | {r['held']} |")
        default = results["quality"].get(split, {}).get("running")
        if default:
            lines.append(f"| {split} | 150 ms (default) | {default['recall_served']:.3f} | "
                         f"{pct(default['over_masking'])} | {default['held']} |")
    return lines


def clean_single_speaker(results: dict) -> dict:
    """Held shares over the clean one-speaker conditions together (target: at most 5% each)."""
    counts = {"clips_without_pii": 0, "held_without_pii": 0, "clips_with_pii": 0, "held_with_pii": 0}
    for condition in CLEAN_SINGLE:
        r = results.get(condition)
        if not r:
            continue
        counts["clips_without_pii"] += r["clips_without_pii"]
        counts["held_without_pii"] += round((r["held_share_without_pii"] or 0) * r["clips_without_pii"])
        with_pii = r["clips"] - r["clips_without_pii"]
        counts["clips_with_pii"] += with_pii
        counts["held_with_pii"] += round((r["held_share_with_pii"] or 0) * with_pii)
    counts["held_share_without_pii"] = (counts["held_without_pii"] / counts["clips_without_pii"]
                                        if counts["clips_without_pii"] else None)
    counts["held_share_with_pii"] = (counts["held_with_pii"] / counts["clips_with_pii"]
                                     if counts["clips_with_pii"] else None)
    return counts


def joined(paths: list[str]) -> dict:
    """One result from several runs: per split, each condition's (and each table's) latest measurement."""
    results: dict = {"quality": {}, "clean_single_speaker": {}, "linkability": {}, "padding": {}, "runs": []}
    for path in paths:
        part = json.loads(Path(path).read_text())
        product = part.get("product", {})
        results["runs"].append(f"{path}: commit {product.get('commit', '?')[:10]}, started {part.get('started')}, "
                               f"{part.get('seconds', 0) / 60:.0f} minutes")
        for key in ("quality", "linkability", "padding"):
            for split, value in part.get(key, {}).items():
                if key == "quality":
                    results[key].setdefault(split, {}).update(value)
                elif value:
                    results[key][split] = value
        if part.get("speed"):
            results["speed"] = part["speed"]
    results["clean_single_speaker"] = {split: clean_single_speaker(q) for split, q in results["quality"].items()}
    return results


def main() -> None:
    results = joined(sys.argv[1:])
    print("\n".join(results["runs"]) + "\n")
    for table in (quality_table, clean_table, masks_table, linkability_table, speed_table, padding_table):
        lines = table(results)
        if lines:
            print("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
