"""De-identification quality benchmark on a generated corpus with personal data at known times.

    make bench-deid                        # all metrics
    .venv/bin/python bench/deid/run.py --help

Corpus: each sentence is synthesized by Debian's flite (voices slt, rms, awb, kal16) in three pieces:
words before, the personal data, words after. Joined, they give a clip whose personal data lies at
known samples. Measured on the product's own code path (redaction.pipeline.deidentify):

- recall: share of spoken PII spans whose every voiced 10 ms frame lies inside masked audio;
- residual leak: PII words that an independent recognizer (pocketsphinx) or Whisper still finds,
  within 0.2 s of where they were spoken, in the de-identified audio;
- over-masking: share of voiced non-PII frames that were masked;
- utility: Whisper's word error rate on the non-PII words, masked audio with and without disguise;
- linkability: equal error rate of a speaker-verification attacker (resemblyzer embeddings, cosine)
  comparing disguised clips with originals and with other disguised clips;
- speed and memory: one thread, models loaded, seconds of input per second of processing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from redaction.asr import transcribe  # noqa: E402
from redaction.pipeline import DeidParams, deidentify, input_time  # noqa: E402
from redaction.tokens import tokenize  # noqa: E402
from redaction.voice import draw_disguise  # noqa: E402

RATE = 16_000
VOICES = ("slt", "rms", "awb", "kal16")
# (before, personal data, after); an empty middle is a clip with no personal data.
SENTENCES = [
    ("my number is", "two oh six five five five zero one nine eight", "please call me back"),
    ("hello my name is", "jonathan baker", "and i need some help"),
    ("send the file to", "jo dot baker at example dot com", "tonight"),
    ("i live at", "forty two maple street", "in the blue house"),
    ("my card number is", "four one one one one one one one one one one one one one one one", "thank you"),
    ("please call", "sarah connor", "and tell her i am late"),
    ("my social security number is", "zero seven eight zero five one one two zero", "is that right"),
    ("remind me to text", "michael", "about dinner"),
    ("deliver it to", "two twenty one baker street apartment four", "please"),
    ("the pin is", "one two three four", "do not share it"),
    ("email", "mary underscore lee at mail dot co dot uk", "the photos from the trip"),
    ("please ask", "doctor patel", "to call me tomorrow"),
    ("turn off the lights in the living room", "", ""),
    ("what is the weather going to be like this weekend", "", ""),
    ("add bread milk and coffee to my shopping list", "", ""),
]
FRAME = RATE // 100  # 10 ms


@dataclass
class Clip:
    name: str
    voice: str
    audio: np.ndarray
    pii: tuple[float, float] | None  # voiced extent of the personal data, seconds
    pii_words: list[str]
    other_words: list[str]


def say(voice: str, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True)
        samples, rate = sf.read(out, dtype="float32")
    if rate != RATE:
        raise SystemExit(f"flite voice {voice} speaks at {rate} Hz; the corpus needs 16 kHz voices")
    return samples


def voiced_extent(samples: np.ndarray) -> tuple[int, int]:
    level = np.abs(samples)
    above = np.flatnonzero(level > 0.02 * level.max())
    return int(above[0]), int(above[-1]) + 1


def build_corpus() -> list[Clip]:
    rng = np.random.default_rng(11)
    clips = []
    for voice in VOICES:
        for n, (before, pii, after) in enumerate(SENTENCES):
            extent = None
            gap = lambda: (rng.standard_normal(int(0.05 * RATE)) * 0.001).astype(np.float32)  # noqa: E731
            pieces = [(rng.standard_normal(int(0.4 * RATE)) * 0.001).astype(np.float32), say(voice, before)]
            if pii:
                pieces.append(gap())
                offset = sum(len(p) for p in pieces)
                spoken = say(voice, pii)
                a, b = voiced_extent(spoken)
                extent = ((offset + a) / RATE, (offset + b) / RATE)
                pieces.append(spoken)
            if after:
                pieces += [gap(), say(voice, after)]
            pieces.append((rng.standard_normal(int(0.4 * RATE)) * 0.001).astype(np.float32))
            clips.append(Clip(f"{voice}-{n:02d}", voice, np.concatenate(pieces), extent, words(pii),
                              words(f"{before} {after}")))
    return clips


def words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^a-z0-9' ]", " ", text.lower()).split() if w]


def wav(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def voiced_frames(samples: np.ndarray) -> np.ndarray:
    count = len(samples) // FRAME
    rms = np.sqrt(np.mean(samples[: count * FRAME].reshape(count, FRAME) ** 2, axis=1))
    return rms > 0.01


def inside(frame: int, regions: list[tuple[float, float]]) -> bool:
    t0, t1 = frame * 0.01, (frame + 1) * 0.01
    return any(a <= t0 and t1 <= b for a, b in regions)


def recognized(samples: np.ndarray) -> list[tuple[str, float, float]]:
    """Whisper's words as lowercase tokens (numerals spelled), with times."""
    return [(t.text, t.start, t.end) for t in tokenize(transcribe(samples))]


_sphinx = None


def sphinx_words(samples: np.ndarray) -> list[tuple[str, float, float]]:
    global _sphinx
    from pocketsphinx import Decoder

    if _sphinx is None:
        _sphinx = Decoder(samprate=RATE, loglevel="FATAL")
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    _sphinx.start_utt()
    _sphinx.process_raw(pcm, full_utt=True)
    _sphinx.end_utt()
    found = []
    for seg in _sphinx.seg():
        word = re.sub(r"\(\d+\)$", "", seg.word).lower()
        if word.isalpha() and not word.startswith(("<", "[")):
            found.append((word, seg.start_frame / 100, (seg.end_frame + 1) / 100))
    return found


def wer(reference: list[str], hypothesis: list[str]) -> tuple[int, int]:
    """(edit distance, reference length)."""
    d = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        previous, d[0] = d[0], i
        for j, h in enumerate(hypothesis, 1):
            previous, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, previous + (r != h))
    return d[len(hypothesis)], len(reference)


def eer(same: list[float], different: list[float]) -> float:
    scores = sorted(set(same + different))
    best = 1.0
    for threshold in scores:
        false_reject = sum(s < threshold for s in same) / len(same)
        false_accept = sum(s >= threshold for s in different) / len(different)
        best = min(best, max(false_reject, false_accept))
    return best


def scored_pii_words(clip: Clip) -> set[str]:
    """The clip's personal-data words, less the glue words ordinary speech also says."""
    return {w for w in clip.pii_words if w not in {"at", "dot", "and"}}


def leaks(found: list[tuple[str, float, float]], clip: Clip) -> int:
    if clip.pii is None:
        return 0
    pii = scored_pii_words(clip)
    a, b = clip.pii[0] - 0.2, clip.pii[1] + 0.2
    return sum(1 for word, start, end in found if word in pii and start < b and end > a)


def quality(clips: list[Clip], mode: str) -> dict:
    recall_hits = recall_total = 0
    over_masked = non_pii_voiced = 0
    leak_whisper = leak_sphinx = pii_word_total = 0
    errors = {"original": [0, 0], "masked": [0, 0], "disguised": [0, 0]}
    outputs = {}
    for clip in clips:
        data = wav(clip.audio)
        voice = draw_disguise(sum(clip.name.encode()))
        plain = deidentify(data, DeidParams(voice=voice, max_seconds=60, mask_mode=mode, disguise_voice=False))
        final = deidentify(data, DeidParams(voice=voice, max_seconds=60, mask_mode=mode))
        outputs[clip.name] = final.audio
        voiced = voiced_frames(clip.audio)
        for frame in np.flatnonzero(voiced):
            in_pii = clip.pii is not None and clip.pii[0] <= frame * 0.01 < clip.pii[1]
            if not in_pii:
                non_pii_voiced += 1
                over_masked += inside(frame, final.replaced)
        if clip.pii is not None:
            recall_total += 1
            pii_frames = [f for f in np.flatnonzero(voiced) if clip.pii[0] <= f * 0.01 < clip.pii[1]]
            recall_hits += all(inside(f, final.replaced) for f in pii_frames)
            pii_word_total += len(scored_pii_words(clip))
        # Recognizers see the trimmed output; its times map back to the input as the pipeline's do.
        heard = recognized(final.audio)  # used for the leak count and the disguised WER
        for found, which in ((heard, "whisper"), (sphinx_words(final.audio), "sphinx")):
            found = [(w, input_time(s, final.segments), input_time(e, final.segments)) for w, s, e in found]
            if which == "whisper":
                leak_whisper += leaks(found, clip)
            else:
                leak_sphinx += leaks(found, clip)
        pii_set = set(clip.pii_words)
        for key, words_heard in (("original", recognized(clip.audio)), ("masked", recognized(plain.audio)),
                                 ("disguised", heard)):
            hyp = [w for w, _, _ in words_heard if w not in pii_set]  # PII words are scored as leaks
            e, n = wer(clip.other_words, hyp)
            errors[key][0] += e
            errors[key][1] += n
    return {
        "clips": len(clips),
        "pii_spans": recall_total,
        "recall": recall_hits / recall_total,
        "leaked_words_whisper": leak_whisper,
        "leaked_words_sphinx": leak_sphinx,
        "pii_words": pii_word_total,
        "over_masking": over_masked / non_pii_voiced,
        "wer_original": errors["original"][0] / errors["original"][1],
        "wer_masked": errors["masked"][0] / errors["masked"][1],
        "wer_disguised": errors["disguised"][0] / errors["disguised"][1],
    }, outputs


def linkability(clips: list[Clip], outputs: dict) -> dict:
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder("cpu", verbose=False)

    def embed(samples):
        return encoder.embed_utterance(preprocess_wav(samples, source_sr=RATE))

    original = {c.name: embed(c.audio) for c in clips}
    disguised = {c.name: embed(outputs[c.name]) for c in clips}
    voice = {c.name: c.voice for c in clips}
    names = sorted(original)

    def trials(left, right):
        same, different = [], []
        for a in names:
            for b in names:
                if a >= b:
                    continue
                score = float(np.dot(left[a], right[b]))
                (same if voice[a] == voice[b] else different).append(score)
        return eer(same, different)

    return {
        "eer_original_vs_original": trials(original, original),
        "eer_original_vs_disguised": trials(original, disguised),
        "eer_disguised_vs_disguised": trials(disguised, disguised),
    }


def speed(clips: list[Clip], runs: int) -> dict:
    """In a fresh process with one thread: no benchmark code or other model in memory."""
    probe = f"""
import os, sys, time, resource, json, io
sys.path.insert(0, {str(ROOT)!r})
import numpy as np, soundfile as sf
from redaction.pipeline import DeidParams, deidentify
from redaction.voice import draw_disguise
datas = [open(p, 'rb').read() for p in sys.argv[1:]]
deidentify(datas[0], DeidParams(voice=draw_disguise(1), max_seconds=60))  # load models
rates = []
for _ in range({runs}):
    seconds = busy = 0.0
    for data in datas:
        t = time.process_time()
        r = deidentify(data, DeidParams(voice=draw_disguise(len(data)), max_seconds=60))
        busy += time.process_time() - t
        seconds += r.input_seconds
    rates.append(seconds / busy)
print(json.dumps({{"x_realtime_per_core": rates, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for clip in clips:
            path = Path(tmp) / f"{clip.name}.wav"
            path.write_bytes(wav(clip.audio))
            paths.append(str(path))
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        out = subprocess.run([sys.executable, "-c", probe, *paths], capture_output=True, text=True, env=env,
                             check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    rates = result["x_realtime_per_core"]
    return {"x_realtime_per_core_median": statistics.median(rates), "x_realtime_runs": rates,
            "worker_rss_mb": result["rss_mb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="tone", choices=["tone", "silence"])
    parser.add_argument("--speed-runs", type=int, default=3)
    parser.add_argument("--skip-linkability", action="store_true")
    parser.add_argument("--skip-quality", action="store_true", help="speed and memory only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "deid.json")
    args = parser.parse_args()

    started = time.time()
    clips = build_corpus()
    print(f"corpus: {len(clips)} clips, {sum(len(c.audio) for c in clips) / RATE:.0f} s", flush=True)
    results = {"speed": speed(clips, args.speed_runs)}
    print(json.dumps(results["speed"]), flush=True)
    if not args.skip_quality:
        results["quality"], outputs = quality(clips, args.mode)
        print(json.dumps(results["quality"]), flush=True)
    if not (args.skip_linkability or args.skip_quality):
        results["linkability"] = linkability(clips, outputs)
        print(json.dumps(results["linkability"]), flush=True)
    results["seconds"] = round(time.time() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
