import numpy as np
import pytest

from redaction.waveform import peaks


def test_each_bin_holds_its_stretchs_lowest_and_highest_sample():
    signal = np.concatenate([np.full(100, 0.1), np.linspace(-0.5, 0.8, 100), np.zeros(100)]).astype(np.float32)
    assert peaks(signal, 3).shape == (3, 2)  # 100 samples a bin: as asked
    envelope = peaks(signal, 3)
    assert envelope.shape == (3, 2)
    assert envelope[0].tolist() == pytest.approx([0.1, 0.1])
    assert envelope[1].tolist() == pytest.approx([-0.5, 0.8])
    assert envelope[2].tolist() == pytest.approx([0.0, 0.0])


def test_short_and_empty_signals_and_bad_bin_counts():
    assert peaks(np.array([0.2, -0.3], dtype=np.float32), 800).tolist() == [pytest.approx([-0.3, 0.2])]  # one bin
    assert peaks(np.zeros(0, dtype=np.float32), 10).shape == (0, 2)
    with pytest.raises(ValueError):
        peaks(np.zeros(10), 0)


def test_no_bin_is_finer_than_drawing_needs():
    one_second = np.zeros(16_000, dtype=np.float32)
    assert peaks(one_second, 4000).shape == (200, 2)  # 80 samples a bin, not 4
    assert peaks(one_second, 150).shape == (150, 2)


def _rebuilt(envelope: np.ndarray, length: int) -> np.ndarray:
    """The attacker's rebuild of an envelope: its lows and highs in turn, stretched over the clip."""
    sequence = envelope.reshape(-1)
    return np.interp(np.linspace(0, len(sequence) - 1, length), np.arange(len(sequence)), sequence).astype(np.float32)


def test_an_envelope_at_the_cap_cannot_be_rebuilt_into_words():
    import soundfile as sf

    from redaction.asr import transcribe
    from redaction.audio import to_target_rate
    from tests.factories import AUDIO

    samples, rate = sf.read(AUDIO / "pii_name_number.wav", dtype="float32")
    speech = to_target_rate(samples, rate)
    # Six samples a bin, as a 1.5 s clip asked at 4,000 bins gave before the cap: the rebuild is read.
    edges = np.arange(0, len(speech), 6)
    fine = np.stack([np.minimum.reduceat(speech, edges), np.maximum.reduceat(speech, edges)], axis=1)
    heard_fine = " ".join(word.text.lower() for word in transcribe(_rebuilt(fine, len(speech))))
    assert "jonathan" in heard_fine
    # At the cap, however many bins are asked for, nothing is.
    capped = peaks(speech, 4000)
    assert len(speech) / len(capped) >= 80
    assert transcribe(_rebuilt(capped, len(speech))) == []


def test_peaks_are_read_from_the_drawing_envelope_never_finer_than_it():
    from redaction.waveform import MIN_SAMPLES_PER_BIN, coarser, drawing_envelope

    rng = np.random.default_rng(3)
    signal = rng.uniform(-1, 1, 40 * 16_000 + 37).astype(np.float32)  # past MAX_BINS bins of the finest size
    fine = drawing_envelope(signal)
    assert len(fine) == len(signal) // MIN_SAMPLES_PER_BIN
    assert fine[:, 0].min() == signal.min() and fine[:, 1].max() == signal.max()
    for bins in (1, 7, 800, 4000):
        coarse = coarser(fine, bins)
        assert coarse.shape == (bins, 2)
        assert coarse[:, 0].min() == signal.min() and coarse[:, 1].max() == signal.max()
        assert np.all(coarse[:, 0] <= coarse[:, 1])
    assert np.array_equal(peaks(signal, 800), coarser(fine, 800))
    assert coarser(fine[:3], 800).shape == (3, 2)  # never more bins than the envelope holds
    with pytest.raises(ValueError):
        coarser(fine, 4001)
