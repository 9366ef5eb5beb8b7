"""Did the recognizer hear all the speech? Speech the VAD found that no confident word accounts for.

Whatever the recognizer did not turn into words never reaches the personal-data detectors, so it
cannot be vouched for: a quieter bystander, a word it skipped, a language it does not know. Such
audio is masked, and a clip where too much of it is left, or where the recognizer was unsure of
what it wrote, is held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from redaction.asr import Segment, Word
from redaction.mask import padded_spans
from redaction.vad import runs

FRAME_SECONDS = 0.03  # the VAD's frame
# A word written with no letter or digit ("...", "♪", "-") says the recognizer heard nothing it could read.
LEXICAL = re.compile(r"[^\W_]", re.UNICODE)
# Below this probability a word is a guess: its audio is not taken as heard.
MIN_WORD_PROBABILITY = 0.2
# Word times are only so exact (Whisper's within ~0.2 s, alignment's tens of milliseconds), and the VAD
# keeps a little before and after speech: speech this close to a word counts as that word's.
COVER_SLACK = 0.12
# A word spans at most this long: a base and per syllable. A word time stretched over much more than
# the word can take (the recognizer folding unheard speech into a neighbour) covers only this much.
WORD_BASE_SECONDS = 0.25
SECONDS_PER_SYLLABLE = 0.4
# Shorter stretches of uncovered speech are breath, clicks and word edges, not words.
MIN_UNCOVERED_SECONDS = 0.21
# Past this share of uncovered speech the clip says too little that was heard to be worth masking.
MAX_UNCOVERED_SHARE = 0.5
# Mean probability of the words, weighted by their length, under which the recognizer was reading
# something it does not know (another language, singing, gibberish, heavy noise).
MIN_MEAN_PROBABILITY = 0.45
MAX_AVG_LOGPROB_DROP = -1.2  # a decoded segment this unsure is a guess as a whole
# A decoded segment whose text compresses this well repeats itself: the recognizer looped on audio it
# could not read ("no worries, no worries, ..."); Whisper's own decoder takes 2.4 as failure.
MAX_COMPRESSION_RATIO = 2.4
_VOWELS = re.compile(r"[aeiouy]+")
DIGIT_SYLLABLES = 1.5  # "seven", "zero": a numeral stands for a word of one or two syllables


@dataclass(frozen=True)
class Coverage:
    uncovered: list[tuple[float, float]]  # stretches of speech no word accounts for, seconds
    doubtful: list[int]  # indices of the words too unsure to vouch for their audio: to be masked too
    speech_seconds: float
    uncovered_seconds: float  # speech seconds inside `uncovered`
    mean_probability: float  # of the lexical words, weighted by their length
    hold: str = ""  # a reason to hold the clip, or "" when masking `uncovered` is enough
    message: str = ""

    @property
    def uncovered_share(self) -> float:
        return self.uncovered_seconds / self.speech_seconds if self.speech_seconds else 0.0


def is_lexical(word: Word) -> bool:
    return bool(LEXICAL.search(word.text))


def syllables(text: str) -> float:
    """A rough syllable count of a written word; numerals count per digit."""
    digits = sum(ch.isdigit() for ch in text)
    letters = re.sub(r"[^a-z]", " ", text.lower())
    return max(1.0, len(_VOWELS.findall(letters)) + DIGIT_SYLLABLES * digits)


def word_reach(word: Word) -> tuple[float, float]:
    """The stretch a word can account for: its time, cut to what it could take to say, plus slack."""
    longest = WORD_BASE_SECONDS + SECONDS_PER_SYLLABLE * syllables(word.text)
    end = min(word.end, word.start + longest)
    return word.start - COVER_SLACK, end + COVER_SLACK


def check_coverage(speech: np.ndarray, words: list[Word], segments: list[Segment] = (),
                   *, frame_seconds: float = FRAME_SECONDS) -> Coverage:
    """`speech`: the VAD's flag per frame of the audio the words were recognized in; `words` with
    times in seconds of that audio (aligned times where alignment vouches for them)."""
    speech = np.asarray(speech, dtype=bool)
    speech_seconds = float(speech.sum() * frame_seconds)
    lexical = [n for n, word in enumerate(words) if is_lexical(word)]
    doubtful = [n for n in lexical if words[n].probability < MIN_WORD_PROBABILITY]
    weights = np.array([max(words[n].end - words[n].start, 0.05) for n in lexical])
    probabilities = np.array([words[n].probability for n in lexical])
    mean_probability = float(np.sum(weights * probabilities) / np.sum(weights)) if lexical else 0.0

    covered = np.zeros_like(speech)
    times = np.arange(len(speech)) * frame_seconds
    # Doubtful words account for their stretch here: they are masked on their own, with their times.
    for n in lexical:
        start, end = word_reach(words[n])
        covered |= (times + frame_seconds > start) & (times < end)
    uncovered_frames = speech & ~covered
    kept = [(a, b) for a, b in runs(uncovered_frames) if (b - a) * frame_seconds >= MIN_UNCOVERED_SECONDS]
    stretches = [(a * frame_seconds, b * frame_seconds) for a, b in kept]
    # Doubtful words are masked whatever their length (the caller times them, aligned where it can):
    # the recognizer wrote something it did not hear. They count towards what was not heard.
    unheard = padded_spans(stretches + [(words[n].start, words[n].end) for n in doubtful], padding=0.0,
                           duration=float("inf"))
    uncovered_seconds = float(sum(
        speech[int(a / frame_seconds):int(np.ceil(b / frame_seconds))].sum() for a, b in unheard) * frame_seconds)
    result = Coverage(stretches, doubtful, speech_seconds, uncovered_seconds, mean_probability)
    if speech_seconds and not lexical:
        return _held(result, "uncovered_speech", "Speech was detected but the recognizer wrote no word.")
    if mean_probability < MIN_MEAN_PROBABILITY or any(s.avg_logprob < MAX_AVG_LOGPROB_DROP for s in segments):
        return _held(result, "low_confidence", f"The recognizer was unsure of what it heard (mean word probability "
                                               f"{mean_probability:.2f}).")
    if any(s.compression_ratio > MAX_COMPRESSION_RATIO for s in segments):
        return _held(result, "low_confidence", "The recognizer repeated itself: it could not read the speech.")
    if result.uncovered_share > MAX_UNCOVERED_SHARE:
        return _held(result, "uncovered_speech", f"{result.uncovered_share:.0%} of the speech was not recognized.")
    return result


def _held(result: Coverage, reason: str, message: str) -> Coverage:
    return Coverage(result.uncovered, result.doubtful, result.speech_seconds, result.uncovered_seconds,
                    result.mean_probability, reason, message)
