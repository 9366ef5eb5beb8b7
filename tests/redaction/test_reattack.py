"""The independent re-attack: pocketsphinx listens to the output for personal data, and the pipeline
widens its masks or holds the clip when it hears any."""

import numpy as np
import pytest
import soundfile as sf

from redaction.mask import mask
from redaction.pipeline import DeidFailed, DeidParams, _reattack
from redaction.reattack import DIGIT_WORDS, listen, reattack
from redaction.vad import trim_silence
from redaction.voice import draw_disguise
from tests.factories import AUDIO, DEMO_AUDIO

PARAMS = DeidParams(voice=draw_disguise(5), max_seconds=60)
NUMBER = {"two", "oh", "six", "five", "zero", "one", "nine", "eight"}


def trimmed(path):
    samples, rate = sf.read(path, dtype="float32")
    return trim_silence(samples, rate).audio


def test_it_hears_an_unmasked_number_as_personal_data():
    audio = trimmed(AUDIO / "pii_number.wav")  # "my number is two oh six five five five zero one nine eight"
    heard = listen(audio)
    assert sum(h.word in DIGIT_WORDS for h in heard) >= 4
    attack = reattack(audio, [], [])  # nothing masked, nothing known: the digit run alone is a hit
    assert len(attack.hits) >= 3 and all(h.word in DIGIT_WORDS for h in attack.hits)


def test_what_it_hears_inside_a_mask_is_not_counted():
    audio = trimmed(AUDIO / "pii_number.wav")
    whole = [(0.0, len(audio) / 16000)]
    masked, replaced = mask(audio, 16000, whole, padding=0.15)
    assert reattack(masked, [(0.0, len(audio) / 16000, NUMBER)], replaced).hits == []


def test_an_ordinary_command_gives_no_hit():
    for name in ("weather.wav", "lights.wav", "shopping.wav"):
        assert reattack(trimmed(DEMO_AUDIO / name), [], []).hits == [], name


def test_a_mask_that_missed_digits_is_widened_or_the_clip_held():
    audio = trimmed(AUDIO / "pii_number.wav")
    # A detector that placed the number's mask over its first half only, as a bad alignment would.
    seconds = len(audio) / 16000
    span = (seconds * 0.45, seconds * 0.7)
    masked, replaced = mask(audio, 16000, [span], padding=0.15)
    assert reattack(masked, [(*span, NUMBER)], replaced).hits  # the rest of the number is heard
    try:
        out, replaced_after, widened, last, hits = _reattack(masked, [(*span, NUMBER)], replaced, PARAMS)
    except DeidFailed as held:
        assert held.code == "residual_pii" and "still heard" in held.message
        return
    assert widened and hits and last.hits == []
    assert sum(b - a for a, b in replaced_after) > sum(b - a for a, b in replaced)
    assert reattack(out, [(*span, NUMBER)], replaced_after).hits == []


def test_hits_that_survive_every_widening_hold_the_clip(monkeypatch):
    from redaction import pipeline
    from redaction.reattack import Heard, Reattack

    stubborn = Heard("nine", 0.5, 0.8)
    monkeypatch.setattr(pipeline, "reattack", lambda audio, spans, masked: Reattack([stubborn], [stubborn]))
    with pytest.raises(DeidFailed) as held:
        _reattack(np.zeros(16000, dtype=np.float32), [], [], PARAMS)
    assert held.value.code == "residual_pii" and "nine" in held.value.message


def test_a_name_heard_near_where_a_name_was_masked_is_a_hit():
    from redaction.pii.vocabulary import level

    audio = trimmed(AUDIO / "pii_name_number.wav")  # "hi, my name is jonathan baker and my number is ..."
    name_at = [h for h in listen(audio) if h.word == "jonathan"]
    assert name_at, "pocketsphinx hears the name in the clear"
    end = name_at[0].end
    # A mask placed just after the name, knowing none of its words: the name-like word alone is a hit.
    attack = reattack(audio, [(end + 0.1, end + 0.6, set())], [])
    assert "jonathan" in [h.word for h in attack.hits] and level("jonathan") is None


def test_only_the_audio_between_masks_is_listened_to():
    from redaction.reattack import unmasked

    assert unmasked(5.0, []) == [(0.0, 5.0)]
    assert unmasked(5.0, [(3.0, 4.0), (0.0, 1.0), (0.5, 1.5)]) == [(1.5, 3.0), (4.0, 5.0)]
    assert unmasked(5.0, [(0.0, 5.0)]) == []
    audio = trimmed(AUDIO / "pii_number.wav")
    seconds = len(audio) / 16000
    digits = [h for h in listen(audio) if h.word in DIGIT_WORDS]
    # Behind a mask over the first half, what is heard lies after it, at the times of the whole clip.
    cut = (digits[0].start + digits[-1].end) / 2
    masked, replaced = mask(audio, 16000, [(0.0, cut)], padding=0.0)
    after = listen(masked, replaced)
    assert after and all(h.start >= cut - 0.02 for h in after)
    # The number's last digit is heard again where the whole clip has it.
    assert any(h.word == digits[-1].word and abs(h.start - digits[-1].start) < 0.15 for h in after)
    assert listen(masked, [(0.0, seconds)]) == []


def test_a_mask_between_digits_ends_their_run(monkeypatch):
    from redaction import reattack as module
    from redaction.reattack import Heard

    def heard_as(*words):
        return lambda audio, masked=(): [Heard(w, n * 0.4, n * 0.4 + 0.3) for n, w in enumerate(words)]

    audio = np.zeros(16000 * 3, dtype=np.float32)
    mask_between = [(0.75, 0.78)]  # between the second digit (0.4-0.7) and the third (0.8-1.1)
    monkeypatch.setattr(module, "listen", heard_as("five", "five", "five", "set"))
    assert len(reattack(audio, [], []).hits) == 3
    assert reattack(audio, [], mask_between).hits == []  # two, then one: neither is a run
    monkeypatch.setattr(module, "listen", heard_as("five", "five", "two", "oh", "nine"))
    # The digit after the mask starts a run of its own: three there.
    assert [h.word for h in reattack(audio, [], mask_between).hits] == ["two", "oh", "nine"]


def test_a_name_like_word_or_digit_counts_at_a_span_edge_and_its_own_words_farther_off(monkeypatch):
    from redaction import reattack as module
    from redaction.reattack import EDGE_SECONDS, NEAR_SPAN_SECONDS, Heard

    span = (2.0, 2.5, {"okonkwo"})
    audio = np.zeros(16000 * 5, dtype=np.float32)

    def hits_for(word, start):
        monkeypatch.setattr(module, "listen", lambda audio, masked=(): [Heard(word, start, start + 0.3)])
        return [h.word for h in reattack(audio, [span], []).hits]

    edge, farther = 2.5 + EDGE_SECONDS / 2, 2.5 + (EDGE_SECONDS + NEAR_SPAN_SECONDS) / 2
    assert hits_for("zyqvar", edge) == ["zyqvar"] and hits_for("seven", edge) == ["seven"]
    # Farther off, a name-like word or a lone digit is most often ordinary speech misheard...
    assert hits_for("zyqvar", farther) == [] and hits_for("seven", farther) == []
    # ...but the masked name itself, heard again, is still a hit.
    assert hits_for("okonkwo", farther) == ["okonkwo"]
    assert hits_for("okonkwo", 2.5 + NEAR_SPAN_SECONDS + 0.1) == []


def test_slivers_between_masks_are_not_listened_to():
    audio = trimmed(AUDIO / "pii_number.wav")
    seconds = len(audio) / 16000
    # Masks that leave nothing, less than a sample, and 20 ms between them: no piece to decode there.
    for gap in (0.0, 0.00003, 0.02):
        masked = [(0.0, 1.0), (1.0 + gap, seconds)]
        assert listen(audio, masked) == []
        assert reattack(audio, [(0.5, 1.5, NUMBER)], masked).hits == []
