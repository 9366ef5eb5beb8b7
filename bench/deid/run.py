"""De-identification quality benchmark: personal data at known times, in homes as they sound, on two splits.

    make bench-deid                                         # everything, both splits
    .venv/bin/python bench/deid/run.py --limit 3            # a quick pass: 3 clips per condition and split
    .venv/bin/python bench/deid/run.py --conditions running bystander --split heldout

Voices: Debian's flite (slt, rms, awb, kal16) and Piper's neural en_US joe (synth.py). Conditions:

- pauses, breath: the first version's 15 sentences x 4 flite voices (60 clips each), personal data said
  apart with 50 ms gaps, or in one breath. Public since, they are part of the tuning split only.
- running: generated sentences said in one breath, personal data (names from many languages, dates of
  birth, spelled plates and references, bank, card and national id numbers, phone numbers, emails,
  addresses) at the start, middle or end, and sentences without any; one of five voices each.
- farfield: each running clip played in a simulated living room (RT60 0.3-0.7 s, talker 1-4 m away).
- noisy: each running clip under pink or brown noise, or babble of other voices, at 5-20 dB SNR.
- bystander: the owner says an ordinary command while another voice, 0-12 dB quieter, says personal
  data during it or before or after it; every bystander word is personal data.

Sentences come from TEMPLATES x the lists of pii_tuning.py and pii_heldout.py (corpus.py), seeded; every
metric is reported for each condition on each split. Where the personal data lies is known from the
synthesizers' own timing, or from where it was placed (corpus.py, acoustics.py). Metrics (metrics.py),
over the product's own redaction.pipeline.deidentify: held share and reasons (a held clip leaks
nothing); recall (a held clip's spans count as protected; also over served clips only); PII words that
Whisper or pocketsphinx still hear near where they were said; over-masking; Whisper's WER on the other
words; linkability by a speaker-verification attacker, ignorant and informed; speed; padding trade-off.

A full run (both splits, all conditions: 369 tuning and 249 held-out clips) takes about an hour on the
2-core machine with nothing else running (December 2026): clips are measured in two one-thread
processes at about 10 s a clip each (deidentify twice, about 1.5 s each with its re-attack pass;
Whisper three times; pocketsphinx once), plus a minute of synthesis, 7 of speed runs and 5 of
padding sweep. --limit 3 takes about 15 minutes, most of it loading models and the speed run.
report.py prints the README's tables from the result file(s).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

# Siblings, imported once the paths are set (bench/deid is not a package); bench/watermark calls build_corpus here.
corpus = importlib.import_module("corpus")
clean_single_speaker = importlib.import_module("report").clean_single_speaker
RATE, Clip, build_corpus, pick = corpus.RATE, corpus.Clip, corpus.build_corpus, corpus.pick

CONDITIONS = ("pauses", "breath", "running", "farfield", "noisy", "bystander")
LEGACY = ("pauses", "breath")  # tuning split only
SPEED_CLIPS = 30  # running clips of the first split, timed in a fresh one-thread process


def build(split: str, conditions: list[str], limit: int | None) -> dict[str, list[Clip]]:
    import acoustics

    built: dict[str, list[Clip]] = {}
    for condition in conditions:
        if condition in LEGACY:
            if split == "tuning":
                clips = build_corpus(condition)
                built[condition] = [clips[n] for n in pick(len(clips), limit)]
        elif condition == "bystander":
            built[condition] = corpus.bystanders(split, limit)
        else:
            if "running" not in built:
                built["running"] = corpus.running(split, limit)
            if condition == "farfield":
                built[condition] = [acoustics.farfield(c) for c in built["running"]]
            elif condition == "noisy":
                built[condition] = [acoustics.noisy(c) for c in built["running"]]
    return {c: built[c] for c in conditions if c in built}


def product_version() -> dict:
    """The product code measured: commit, and whether redaction/ had uncommitted changes."""
    def git(*args):
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "redaction")
    return {"commit": git("rev-parse", "HEAD"), "redaction_uncommitted": bool(dirty)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    parser.add_argument("--split", default="both", choices=["tuning", "heldout", "both"])
    parser.add_argument("--limit", type=int, help="clips per condition and split, spread evenly (quick runs)")
    parser.add_argument("--mode", default="tone", choices=["tone", "silence"])
    parser.add_argument("--speed-runs", type=int, default=3, help="0: no speed measurement")
    parser.add_argument("--paddings", nargs="*", type=float, default=[0.05, 0.1],
                        help="mask paddings besides the default to measure recall and over-masking at (running)")
    parser.add_argument("--skip-linkability", action="store_true")
    parser.add_argument("--jobs", type=int, default=2, help="processes measuring clips (one thread each)")
    parser.add_argument("--skip-quality", action="store_true", help="speed and memory only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "deid.json")
    args = parser.parse_args()

    # Loads the product's modules only now: bench/watermark imports this file for build_corpus alone.
    from metrics import Workers, linkability, padding_sweep, quality, speed

    started = time.time()
    workers = Workers(args.jobs)
    splits = ["tuning", "heldout"] if args.split == "both" else [args.split]
    results: dict = {"started": datetime.datetime.now().isoformat(timespec="seconds"),
                     "product": product_version(), "options": {k: str(v) for k, v in vars(args).items()},
                     "corpus": {}, "quality": {}, "clean_single_speaker": {}, "linkability": {}, "padding": {}}
    for split in splits:
        t = time.monotonic()
        wanted = list(args.conditions)
        if args.speed_runs and split == splits[0] and "running" not in wanted:
            wanted.append("running")  # the speed clips
        corpora = build(split, wanted, args.limit)
        results["corpus"][split] = {c: {"clips": len(clips), "seconds": round(sum(len(x.audio) for x in clips) / RATE)}
                                    for c, clips in corpora.items()}
        print(split, "corpus built in", round(time.monotonic() - t), "s:", json.dumps(results["corpus"][split]),
              flush=True)
        if args.speed_runs and split == splits[0]:
            clips = corpora["running"]
            results["speed"] = speed([clips[n] for n in pick(len(clips), SPEED_CLIPS)], args.speed_runs)
            print("speed", json.dumps(results["speed"]), flush=True)
        if args.skip_quality:
            continue
        results["quality"][split] = {}
        for condition in args.conditions:
            if condition not in corpora:
                continue
            measured, outputs = quality(corpora[condition], args.mode, workers)
            results["quality"][split][condition] = measured
            print(split, condition, json.dumps(measured), flush=True)
            write(args.out, results, started)
            if condition == "running" and not args.skip_linkability:
                results["linkability"][split] = linkability(corpora[condition], outputs)
                print(split, "linkability", json.dumps(results["linkability"][split]), flush=True)
                write(args.out, results, started)
        results["clean_single_speaker"][split] = clean_single_speaker(results["quality"][split])
        if args.paddings and "running" in args.conditions and split == splits[0]:
            results["padding"][split] = padding_sweep(corpora["running"], args.paddings, workers)
            print(split, "padding", json.dumps(results["padding"][split]), flush=True)
            write(args.out, results, started)
    workers.close()
    results["finished"] = True
    write(args.out, results, started)
    print(f"written {args.out}")


def write(path: Path, results: dict, started: float) -> None:
    """After every condition, so a long run that is stopped still leaves what it measured."""
    results["seconds"] = round(time.time() - started)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
