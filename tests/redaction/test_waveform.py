import numpy as np
import pytest

from redaction.waveform import peaks


def test_each_bin_holds_its_stretchs_lowest_and_highest_sample():
    signal = np.concatenate([np.full(100, 0.1), np.linspace(-0.5, 0.8, 100), np.zeros(100)]).astype(np.float32)
    envelope = peaks(signal, 3)
    assert envelope.shape == (3, 2)
    assert envelope[0].tolist() == pytest.approx([0.1, 0.1])
    assert envelope[1].tolist() == pytest.approx([-0.5, 0.8])
    assert envelope[2].tolist() == pytest.approx([0.0, 0.0])


def test_short_and_empty_signals_and_bad_bin_counts():
    assert peaks(np.array([0.2, -0.3], dtype=np.float32), 800).shape == (2, 2)
    assert peaks(np.zeros(0, dtype=np.float32), 10).shape == (0, 2)
    with pytest.raises(ValueError):
        peaks(np.zeros(10), 0)
