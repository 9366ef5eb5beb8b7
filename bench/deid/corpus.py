"""The benchmark's clips: sentences with personal data at known times, said by five voices.

Two fixed corpora from the first version of the benchmark ('pauses', 'breath': 15 sentences x the four
flite voices, public since, so they belong to the tuning split), and running speech generated from
TEMPLATES x the lists of pii_tuning.py or pii_heldout.py with a fixed seed. Every random choice is
drawn from a generator seeded by the clip's own name, so a clip is the same whatever else is built.
"""

from __future__ import annotations

import importlib
import random
import zlib
from dataclasses import dataclass, field

import numpy as np
import spoken
import synth
from synth import FLITE_VOICES, RATE, VOICES

from redaction.wer import words

# (before, personal data, after); an empty middle is a clip with no personal data.
LEGACY_SENTENCES = [
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
# Ordinary words for babble and nothing personal; shared by both splits, as no detector looks at them.
BABBLE = [
    "i told them the train would be late again because of the weather",
    "we should paint the fence before the summer gets too hot",
    "the recipe needs two onions a lot of garlic and some fresh basil",
    "did you see how many people were waiting outside the bakery this morning",
    "she said the meeting went well but it ran over by an hour",
    "put the blue plates in the cupboard next to the glasses",
    "the film was far too long and the ending made no sense",
    "if it stops raining we could walk down to the river later",
]
# Words that carry personal data only together with others; not counted as leaked alone.
GLUE = {"at", "dot", "and", "the", "of", "a"}
SPLITS = ("tuning", "heldout")
PER_POSITION = 2  # sentences per kind of personal data and position in the sentence, per split
BYSTANDER_PER_KIND = 5
PIPER_PEAK = 0.6  # flite's voices peak at 0.4 to 0.7
FLOOR = 0.001  # the level of the quiet noise before and after each clip


@dataclass
class Clip:
    name: str
    voice: str
    audio: np.ndarray
    pii: tuple[float, float] | None  # where the personal data is spoken, seconds
    pii_words: list[str]
    other_words: list[str]
    condition: str = ""
    split: str = "tuning"
    kind: str = ""  # of personal data; '' for none
    position: str = ""  # start, middle or end of the sentence; 'overlap', 'apart' for a bystander
    speech: np.ndarray | None = None  # the speech alone, without added noise: it decides the voiced frames
    scored: frozenset[str] = field(default=frozenset())  # words that count as leaked when heard near the data
    number: int = 0  # of the sentence in its split's list

    def __post_init__(self):
        if self.speech is None:
            self.speech = self.audio
        if not self.scored and self.pii is not None:
            self.scored = leak_words(self.pii_words, self.other_words)


def leak_words(pii_words: list[str], other_words: list[str]) -> frozenset[str]:
    """The clip's personal-data words and the digits a recognizer may write for them, less glue words
    and less any word the rest of the clip also says (a hit on it could be either)."""
    return frozenset((set(pii_words) | spoken.digit_words(pii_words)) - GLUE - set(other_words))


def seed_of(*parts) -> int:
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def rng_of(*parts) -> np.random.Generator:
    return np.random.default_rng(seed_of(*parts))


def floor(rng: np.random.Generator, seconds: float) -> np.ndarray:
    return (rng.standard_normal(int(seconds * RATE)) * FLOOR).astype(np.float32)


def voiced_extent(samples: np.ndarray) -> tuple[int, int]:
    level = np.abs(samples)
    above = np.flatnonzero(level > 0.02 * level.max())
    return int(above[0]), int(above[-1]) + 1


def say(voice: str, before: str, pii: str = "", after: str = "", *, seed: int = 0) -> synth.Spoken:
    said = synth.say(voice, before, pii, after, seed=seed)
    if voice == synth.PIPER_VOICE:
        return synth.Spoken(said.audio * (PIPER_PEAK / max(float(np.abs(said.audio).max()), 1e-6)), said.pii)
    return said


def build_corpus(style: str) -> list[Clip]:
    """The first version's corpora, unchanged. 'breath': each sentence said in one breath, as people
    do; the personal data runs into the words around it and flite's phone times say where it lies.
    'pauses': the words before, the personal data and the words after said apart and joined with 50 ms
    gaps; the data's voiced extent is where it lies. Pauses make its edges easier to find, and spare
    the words around it."""
    rng = np.random.default_rng(11)
    clips = []
    for voice in FLITE_VOICES:
        for n, (before, pii, after) in enumerate(LEGACY_SENTENCES):
            lead, tail = floor(rng, 0.4), floor(rng, 0.4)
            extent = None
            if style == "breath":
                said = synth.say(voice, before, pii, after)
                if pii:
                    extent = (len(lead) / RATE + said.pii[0], len(lead) / RATE + said.pii[1])
                pieces = [lead, said.audio, tail]
            else:
                pieces = [lead, synth.say_alone(voice, before)]
                if pii:
                    pieces.append(floor(rng, 0.05))
                    offset = sum(len(p) for p in pieces)
                    alone = synth.say_alone(voice, pii)
                    a, b = voiced_extent(alone)
                    extent = ((offset + a) / RATE, (offset + b) / RATE)
                    pieces.append(alone)
                if after:
                    pieces += [floor(rng, 0.05), synth.say_alone(voice, after)]
                pieces.append(tail)
            clips.append(Clip(f"{voice}-{n:02d}", voice, np.concatenate(pieces), extent, words(pii),
                              words(f"{before} {after}"), condition=style, kind="legacy" if pii else "",
                              position="legacy" if pii else ""))
    return clips


def lists(split: str):
    """pii_tuning or pii_heldout: imported only when that split is built."""
    if split not in SPLITS:
        raise ValueError(split)
    return importlib.import_module(f"pii_{split}")


@dataclass(frozen=True)
class Sentence:
    before: str
    pii: str
    after: str
    kind: str = ""
    position: str = ""


class Values:
    """Draws a split's values of each kind in a seeded order, each once before any repeats."""

    def __init__(self, data, rng: random.Random):
        self.data, self.rng, self.queues = data, rng, {}

    def _next(self, key: str, items: list):
        queue = self.queues.get(key)
        if not queue:
            queue = list(items)
            self.rng.shuffle(queue)
            self.queues[key] = queue
        return queue.pop()

    def draw(self, kind: str, context: str = "") -> str:
        d, rng = self.data, self.rng
        if kind == "name":
            first, surname = self._next("first", d.FIRST_NAMES), self._next("surname", d.SURNAMES)
            return spoken.name(first, surname, self._next("title", d.TITLES), rng)
        if kind == "birth_date":
            return spoken.date(*self._next("date", d.BIRTH_DATES), style=rng.randrange(4))
        if kind == "spelled":
            return " ".join(spoken.characters(self._next("spelled", d.SPELLED)))
        if kind == "account":
            wanted = "routing" if "routing" in context else "sort_code" if "sort code" in context else "account"
            pool = [v for v in d.ACCOUNTS if v[0] == wanted] or d.ACCOUNTS
            _, digits, groups = self._next(f"account/{wanted}", pool)
            return spoken.grouped(digits, groups, rng.choice(("plain", "oh")))
        if kind == "card":
            digits, groups = self._next("card", d.CARDS)
            return spoken.grouped(digits, groups)
        if kind == "national_id":
            wanted = ("ssn" if "social security" in context else
                      "national_insurance" if "national insurance" in context else "")
            pool = [v for v in d.NATIONAL_IDS if v[0] == wanted] or d.NATIONAL_IDS
            _, chars, groups = self._next(f"id/{wanted}", pool)
            return spoken.grouped(chars, groups)
        if kind == "phone":
            digits, groups, style = self._next("phone", d.PHONES)
            return spoken.grouped(digits, groups, style)
        if kind == "email":
            return spoken.email(self._next("email", d.EMAILS))
        if kind == "address":
            return self._next("address", d.ADDRESSES)
        raise ValueError(kind)


def sentences(split: str) -> list[Sentence]:
    """PER_POSITION sentences for each kind of personal data at the start, middle and end, then the
    split's sentences without personal data."""
    data = lists(split)
    values = Values(data, random.Random(f"deid-{split}"))
    out = []
    for kind, positions in data.TEMPLATES.items():
        for position, templates in positions.items():
            for k in range(PER_POSITION):
                before, after = templates[k % len(templates)]
                out.append(Sentence(before, values.draw(kind, f"{before} {after}"), after, kind, position))
    out += [Sentence(text, "", "") for text in data.CLEAN]
    return out


def pick(count: int, limit: int | None) -> list[int]:
    """Which of `count` items a run with --limit measures: spread evenly, so a short run still sees
    several kinds and voices."""
    if limit is None or limit >= count:
        return list(range(count))
    return sorted({int((k + 0.5) * count / limit) for k in range(limit)})


def running(split: str, limit: int | None = None) -> list[Clip]:
    """Running speech in one breath, each sentence by one of the five voices in turn."""
    found = sentences(split)
    clips = []
    for n in pick(len(found), limit):
        s = found[n]
        voice = VOICES[n % len(VOICES)]
        name = f"{split}-{n:03d}-{voice}"
        said = say(voice, s.before, s.pii, s.after, seed=seed_of("piper", name))
        rng = rng_of("running", name)
        lead, tail = floor(rng, 0.4), floor(rng, 0.4)
        extent = None if said.pii is None else (said.pii[0] + len(lead) / RATE, said.pii[1] + len(lead) / RATE)
        clips.append(Clip(name, voice, np.concatenate([lead, said.audio, tail]), extent, words(s.pii),
                          words(f"{s.before} {s.after}"), condition="running", split=split, kind=s.kind,
                          position=s.position, number=n))
    return clips


def bystanders(split: str, limit: int | None = None) -> list[Clip]:
    """The owner says an ordinary command while a second voice, 0 to 12 dB quieter, says personal data:
    in half the clips during the owner's speech, in the other half before or after it. Every word the
    bystander says is personal data; where it lies is where it was placed."""
    data = lists(split)
    values = Values(data, random.Random(f"bystander-{split}"))
    kinds = list(data.TEMPLATES)
    count = BYSTANDER_PER_KIND * len(kinds)
    said_pii = [values.draw(kinds[n % len(kinds)]) for n in range(count)]
    clips = []
    for n in pick(count, limit):
        rng = rng_of("bystander", split, n)
        owner_voice, other_voice = rng.choice(VOICES, size=2, replace=False)
        command = data.CLEAN[n % len(data.CLEAN)]
        name = f"{split}-by{n:03d}-{owner_voice}-{other_voice}"
        owner = say(str(owner_voice), command, seed=seed_of("piper", name, "owner")).audio
        other = say(str(other_voice), said_pii[n], seed=seed_of("piper", name, "bystander")).audio
        a, b = voiced_extent(other)
        other = other[a:b] * (10 ** (-rng.uniform(0, 12) / 20) * active_rms(owner) / active_rms(other[a:b]))
        o0, o1 = voiced_extent(owner)
        lead = int(0.4 * RATE)
        if n % 2 == 0:  # overlapping the owner's words
            position = "overlap"
            owner_at = lead
            other_at = lead + o0 + int(rng.uniform(0, max(o1 - o0 - 0.3 * RATE, 1)))
        elif rng.random() < 0.5:  # before the owner speaks
            position = "before"
            other_at = lead
            owner_at = other_at + len(other) + int(rng.uniform(0.3, 1.0) * RATE) - o0
        else:  # after the owner has spoken
            position = "after"
            owner_at = lead
            other_at = owner_at + o1 + int(rng.uniform(0.3, 1.0) * RATE)
        total = max(owner_at + len(owner), other_at + len(other)) + lead
        mix = floor(rng, total / RATE)[:total]
        mix = np.pad(mix, (0, total - len(mix)))
        mix[owner_at:owner_at + len(owner)] += owner
        mix[other_at:other_at + len(other)] += other
        clips.append(Clip(name, str(owner_voice), mix, (other_at / RATE, (other_at + len(other)) / RATE),
                          words(said_pii[n]), words(command), condition="bystander", split=split,
                          kind=kinds[n % len(kinds)], position=position, number=n))
    return clips


def active_rms(samples: np.ndarray) -> float:
    """RMS over the 10 ms frames that hold speech (above 1% of full scale)."""
    frame = RATE // 100
    count = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1))
    voiced = rms[rms > 0.01]
    return float(np.sqrt(np.mean(voiced ** 2))) if len(voiced) else float(np.sqrt(np.mean(samples ** 2)))
