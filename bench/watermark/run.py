"""Watermark benchmark: bit errors and traces per attack, false traces on unmarked audio, embedding speed.

    make bench-watermark                    # needs flite (apt-get install flite); lame is used for MP3 if present
    .venv/bin/python bench/watermark/run.py --help

Corpus: the de-identification benchmark's 60 sentences said in one breath by four flite voices, each
disguised as the pipeline disguises it. Every clip is served to two assignments (two payloads), and
every copy is attacked as a leak would be. Reading is the product's (redaction.watermark.read), and
a trace counts when redaction.watermark.identify names the right one of the clip's two payloads, as
the trace endpoint decides.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from redaction import watermark as W  # noqa: E402
from redaction.voice import disguise, draw_disguise  # noqa: E402

RATE = W.RATE


def mp3_64k(samples: np.ndarray) -> np.ndarray:
    """MP3 at 64 kbps constant bit rate and back: LAME's command line if installed, else libsndfile's LAME."""
    if shutil.which("lame"):
        with tempfile.TemporaryDirectory() as tmp:
            sf.write(f"{tmp}/in.wav", samples, RATE, subtype="PCM_16")
            subprocess.run(["lame", "--quiet", "--cbr", "-b", "64", f"{tmp}/in.wav", f"{tmp}/out.mp3"], check=True)
            subprocess.run(["lame", "--quiet", "--decode", f"{tmp}/out.mp3", f"{tmp}/out.wav"], check=True)
            decoded, rate = sf.read(f"{tmp}/out.wav", dtype="float32")
            return soxr.resample(decoded, rate, RATE) if rate != RATE else decoded
    buffer = io.BytesIO()
    sf.write(buffer, samples, RATE, format="MP3", bitrate_mode="CONSTANT", compression_level=0.6)
    buffer.seek(0)
    return sf.read(buffer, dtype="float32")[0]


def noise_20db(samples: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(len(samples))
    return (samples + noise * np.sqrt(np.mean(samples.astype(np.float64) ** 2) / 100)).astype(np.float32)


ATTACKS = {
    "none": lambda a, s: a,
    "MP3 64 kbps": lambda a, s: mp3_64k(a),
    "resampled to 8 kHz and back": lambda a, s: soxr.resample(soxr.resample(a, RATE, 8000), 8000, RATE),
    "resampled to 44.1 kHz and back": lambda a, s: soxr.resample(soxr.resample(a, RATE, 44100), 44100, RATE),
    "gain +6 dB (clipped)": lambda a, s: np.clip(a * 2.0, -1, 1),
    "gain -6 dB": lambda a, s: a * 0.5,
    "first second cut": lambda a, s: a[RATE:],
    "noise at 20 dB SNR": noise_20db,
    "playback 2% faster": lambda a, s: soxr.resample(a, RATE, RATE / 1.02),
    "playback 2% slower": lambda a, s: soxr.resample(a, RATE, RATE * 1.02),
}


def corpus() -> list[tuple[str, np.ndarray]]:
    # bench/deid/run.py: the same sentences and voices.
    spec = importlib.util.spec_from_file_location("deid_bench", ROOT / "bench" / "deid" / "run.py")
    deid = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = deid  # its dataclasses look their module up
    spec.loader.exec_module(deid)
    clips = []
    for clip in deid.build_corpus("breath"):
        clips.append((clip.name, disguise(clip.audio, RATE, draw_disguise(sum(clip.name.encode())))))
    return clips


def embedding_speed(runs: int) -> dict:
    """Median milliseconds to mark 10 s of speech-like audio, one thread: the mark alone, and all
    that serving adds (WAV bytes in, marked WAV bytes out, as labeling.review.services.assignment_audio)."""
    from redaction.audio import encode_wav

    rng = np.random.default_rng(0)
    ten = (rng.standard_normal(10 * RATE) * np.repeat(rng.random(100), RATE // 10) * 0.1).astype(np.float32)
    stored = encode_wav(ten)
    W.embed(ten, b"warm up", 1)
    embed, serve = [], []
    for n in range(runs):
        start = time.perf_counter()
        W.embed(ten, n.to_bytes(4, "big"), n)
        embed.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        encode_wav(W.embed(sf.read(io.BytesIO(stored), dtype="float32")[0], n.to_bytes(4, "big"), n))
        serve.append((time.perf_counter() - start) * 1000)
    return {"embed_ms_10s_median": statistics.median(embed), "embed_ms_10s_max": max(embed),
            "serve_added_ms_10s_median": statistics.median(serve), "serve_added_ms_10s_max": max(serve)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--speed-runs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "watermark.json")
    args = parser.parse_args()

    clips = corpus()[: args.clips]
    print(f"corpus: {len(clips)} clips, {sum(len(c) for _, c in clips) / RATE:.0f} s; "
          f"MP3 by {'lame' if shutil.which('lame') else 'libsndfile'}", flush=True)
    results = {"speed": embedding_speed(args.speed_runs), "attacks": {}}
    wsr = []
    tally = {name: {"copies": 0, "bit_errors": 0, "bits": 0, "traced": 0, "wrong": 0, "scores": [],
                    "unmarked_copies": 0, "false_traces": 0, "unmarked_max_score": 0.0, "read_ms": []}
             for name in ATTACKS}
    for index, (name, clip) in enumerate(clips):
        key = f"bench clip {name}".encode()
        payloads = [(index * 2 + 1) * 0x9E3779B1 % 2**32, (index * 2 + 2) * 0x9E3779B1 % 2**32]
        for payload in payloads:
            marked = W.embed(clip, key, payload)
            change = np.sum((marked.astype(np.float64) - clip) ** 2)
            wsr.append(10 * np.log10(change / np.sum(clip.astype(np.float64) ** 2)))
            other = payloads[1] if payload == payloads[0] else payloads[0]  # the clip's other assignment
            for attack, apply in ATTACKS.items():
                t = tally[attack]
                start = time.perf_counter()
                reading = W.read(apply(marked, index), clip, key)
                t["read_ms"].append((time.perf_counter() - start) * 1000)
                t["copies"] += 1
                t["bits"] += W.CODE_BITS
                t["bit_errors"] += int(np.sum((reading.bits > 0) != (W.encode_payload(payload) > 0)))
                t["scores"].append(reading.score(payload))
                named = W.identify(reading, payloads)
                t["traced"] += named == payload
                t["wrong"] += named == other
        for attack, apply in ATTACKS.items():  # the clip as stored, never served: nobody may be named
            t = tally[attack]
            reading = W.read(apply(clip, index + 1000), clip, key)
            t["unmarked_copies"] += 1
            t["unmarked_max_score"] = max(t["unmarked_max_score"], max(reading.score(p) for p in payloads))
            t["false_traces"] += W.identify(reading, payloads) is not None
        print(f"{index + 1}/{len(clips)}", end="\r", flush=True)
    for attack, t in tally.items():
        results["attacks"][attack] = {
            "copies": t["copies"],
            "bit_error_rate": t["bit_errors"] / t["bits"],
            "correct_trace_rate": t["traced"] / t["copies"],
            "wrong_traces": t["wrong"],
            "score_min": float(min(t["scores"])),
            "score_median": float(statistics.median(t["scores"])),
            "unmarked_copies": t["unmarked_copies"],
            "false_traces_on_unmarked": t["false_traces"],
            "unmarked_max_score": float(t["unmarked_max_score"]),
            "read_ms_median": statistics.median(t["read_ms"]),
        }
        print(attack, json.dumps(results["attacks"][attack]), flush=True)
    results["wsr_db_max"] = float(max(wsr))
    print(json.dumps(results["speed"]), "WSR max", results["wsr_db_max"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
