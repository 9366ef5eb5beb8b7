"""De-identification quality benchmark on a generated corpus with personal data at known times.

    make bench-deid                        # all metrics
    .venv/bin/python bench/deid/run.py --help

Corpora (Debian's flite, voices slt, rms, awb, kal16; 15 sentences each, 12 with personal data):
'breath' says each sentence whole, so the personal data runs into the words around it, and flite's
own phone times say where it lies; 'pauses' says the data apart from the words around it (see
build_corpus). Measured on the product's own code path (redaction.pipeline.deidentify):

- recall: share of spoken PII spans whose every voiced 10 ms frame lies inside masked audio;
- residual leak: PII words that an independent recognizer (pocketsphinx) or Whisper still finds,
  within 0.2 s of where they were spoken, in the de-identified audio;
- over-masking: share of voiced non-PII frames that were masked;
- utility: Whisper's word error rate on the non-PII words, masked audio with and without disguise;
- linkability: equal error rate of a speaker-verification attacker (resemblyzer embeddings, cosine)
  comparing disguised clips with originals and with other disguised clips;
- speed and memory: one thread, models loaded, seconds of input per second of processing;
- the padding trade-off: recall and over-masking at mask paddings other than the default.
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
from redaction.wer import word_errors, words  # noqa: E402

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
    pii: tuple[float, float] | None  # where the personal data is spoken, seconds
    pii_words: list[str]
    other_words: list[str]


def say(voice: str, text: str) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """flite's audio for `text`, and its phones with their end times in seconds ('pau' is a pause)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        printed = subprocess.run(["flite", "-voice", voice, "-psdur", "-t", text, "-o", str(out)], check=True,
                                 capture_output=True, text=True).stdout
        samples, rate = sf.read(out, dtype="float32")
    if rate != RATE:
        raise SystemExit(f"flite voice {voice} speaks at {rate} Hz; the corpus needs 16 kHz voices")
    phones = [(item.rsplit(":", 1)[0], float(item.rsplit(":", 1)[1])) for item in printed.split()]
    return samples, phones


def phones_of(voice: str, text: str) -> list[str]:
    printed = subprocess.run(["flite", "-voice", voice, "-ps", "-t", text, "-o", "none"], check=True,
                             capture_output=True, text=True).stdout
    return [p for p in printed.split() if p != "pau"]


def pii_times(voice: str, before: str, pii: str, after: str, phones: list[tuple[str, float]]) -> tuple[float, float]:
    """Where the personal data lies in the whole sentence, from the synthesizer's own phone times:
    from the end of the phone before its first phone to the end of its last."""
    parts = [phones_of(voice, part) for part in (before, pii, after)]
    spoken = [(n, p) for n, (p, _) in enumerate(phones) if p != "pau"]
    if [p for _, p in spoken] != parts[0] + parts[1] + parts[2]:
        raise SystemExit(f"flite's phones for {voice} '{before} {pii} {after}' do not split into its parts")
    first, last = spoken[len(parts[0])][0], spoken[len(parts[0]) + len(parts[1]) - 1][0]
    return (phones[first - 1][1] if first else 0.0), phones[last][1]


def voiced_extent(samples: np.ndarray) -> tuple[int, int]:
    level = np.abs(samples)
    above = np.flatnonzero(level > 0.02 * level.max())
    return int(above[0]), int(above[-1]) + 1


def build_corpus(style: str) -> list[Clip]:
    """'breath': each sentence said in one breath, as people do; the personal data runs into the
    words around it and the synthesizer's phone times say where it lies. 'pauses': the words before,
    the personal data and the words after said apart and joined with 50 ms gaps; the data's voiced
    extent is where it lies. Pauses make its edges easier to find, and spare the words around it."""
    rng = np.random.default_rng(11)
    clips = []
    for voice in VOICES:
        for n, (before, pii, after) in enumerate(SENTENCES):
            lead = (rng.standard_normal(int(0.4 * RATE)) * 0.001).astype(np.float32)
            tail = (rng.standard_normal(int(0.4 * RATE)) * 0.001).astype(np.float32)
            extent = None
            if style == "breath":
                spoken, phones = say(voice, " ".join(part for part in (before, pii, after) if part))
                if pii:
                    start, end = pii_times(voice, before, pii, after, phones)
                    extent = (len(lead) / RATE + start, len(lead) / RATE + end)
                pieces = [lead, spoken, tail]
            else:
                gap = lambda: (rng.standard_normal(int(0.05 * RATE)) * 0.001).astype(np.float32)  # noqa: E731
                pieces = [lead, say(voice, before)[0]]
                if pii:
                    pieces.append(gap())
                    offset = sum(len(p) for p in pieces)
                    spoken = say(voice, pii)[0]
                    a, b = voiced_extent(spoken)
                    extent = ((offset + a) / RATE, (offset + b) / RATE)
                    pieces.append(spoken)
                if after:
                    pieces += [gap(), say(voice, after)[0]]
                pieces.append(tail)
            clips.append(Clip(f"{voice}-{n:02d}", voice, np.concatenate(pieces), extent, words(pii),
                              words(f"{before} {after}")))
    return clips


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


class MaskTally:
    """Recall and over-masking summed over clips."""

    def __init__(self):
        self.hits = self.spans = self.over = self.non_pii = 0

    def add(self, clip: Clip, replaced: list[tuple[float, float]]) -> None:
        """A span counts as masked when every voiced frame of it lies in masked audio; over-masking
        counts the voiced frames outside personal data that were masked."""
        voiced = np.flatnonzero(voiced_frames(clip.audio))
        in_pii = np.array([clip.pii is not None and clip.pii[0] <= f * 0.01 < clip.pii[1] for f in voiced],
                          dtype=bool)
        self.over += sum(inside(f, replaced) for f in voiced[~in_pii])
        self.non_pii += int((~in_pii).sum())
        if clip.pii is not None:
            self.spans += 1
            self.hits += all(inside(f, replaced) for f in voiced[in_pii])

    @property
    def recall(self) -> float:
        return self.hits / self.spans

    @property
    def over_masking(self) -> float:
        return self.over / self.non_pii


def quality(clips: list[Clip], mode: str) -> dict:
    tally = MaskTally()
    leak_whisper = leak_sphinx = pii_word_total = 0
    errors = {"original": [0, 0], "masked": [0, 0], "disguised": [0, 0]}
    outputs = {}
    for clip in clips:
        data = wav(clip.audio)
        voice = draw_disguise(sum(clip.name.encode()))
        plain = deidentify(data, DeidParams(voice=voice, max_seconds=60, mask_mode=mode, disguise_voice=False))
        final = deidentify(data, DeidParams(voice=voice, max_seconds=60, mask_mode=mode))
        outputs[clip.name] = final.audio
        tally.add(clip, final.replaced)
        if clip.pii is not None:
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
            e, n = word_errors(clip.other_words, hyp)
            errors[key][0] += e
            errors[key][1] += n
    return {
        "clips": len(clips),
        "pii_spans": tally.spans,
        "recall": tally.recall,
        "leaked_words_whisper": leak_whisper,
        "leaked_words_sphinx": leak_sphinx,
        "pii_words": pii_word_total,
        "over_masking": tally.over_masking,
        "wer_original": errors["original"][0] / errors["original"][1],
        "wer_masked": errors["masked"][0] / errors["masked"][1],
        "wer_disguised": errors["disguised"][0] / errors["disguised"][1],
    }, outputs


def padding_sweep(clips: list[Clip], paddings: list[float]) -> dict:
    """Recall and over-masking for other mask paddings than the default: the trade-off, measured."""
    results = {}
    for padding in paddings:
        tally = MaskTally()
        for clip in clips:
            result = deidentify(wav(clip.audio), DeidParams(voice=draw_disguise(1), max_seconds=60,
                                                            mask_padding=padding, disguise_voice=False))
            tally.add(clip, result.replaced)
        results[f"{padding:.2f}"] = {"recall": tally.recall, "over_masking": tally.over_masking}
    return results


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
    parser.add_argument("--corpus", nargs="+", default=["breath", "pauses"], choices=["breath", "pauses"])
    parser.add_argument("--paddings", nargs="*", type=float, default=[0.05, 0.1],
                        help="mask paddings besides the default to measure recall and over-masking at")
    parser.add_argument("--skip-linkability", action="store_true")
    parser.add_argument("--skip-quality", action="store_true", help="speed and memory only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "deid.json")
    args = parser.parse_args()

    started = time.time()
    corpora = {style: build_corpus(style) for style in args.corpus}
    first = corpora[args.corpus[0]]
    print(f"corpus: {len(first)} clips, {sum(len(c.audio) for c in first) / RATE:.0f} s", flush=True)
    results = {"speed": speed(first, args.speed_runs), "quality": {}}
    print(json.dumps(results["speed"]), flush=True)
    if not args.skip_quality:
        for style, clips in corpora.items():
            results["quality"][style], outputs = quality(clips, args.mode)
            print(style, json.dumps(results["quality"][style]), flush=True)
            if style == args.corpus[0] and not args.skip_linkability:
                results["linkability"] = linkability(clips, outputs)
                print(json.dumps(results["linkability"]), flush=True)
        if args.paddings:
            results["padding"] = padding_sweep(first, args.paddings)
            print(json.dumps(results["padding"]), flush=True)
    results["seconds"] = round(time.time() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
