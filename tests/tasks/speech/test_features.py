import numpy as np
import pytest

from augrnn.tasks.speech.features import MEL_BINS, log_mel, normalise, utterance_features

pytest.importorskip("kaldi_native_fbank", reason="pip install 'augrnn[speech]'")


def test_one_frame_every_10_ms_and_deterministic():
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(16_000)).astype(np.float32)
    features = log_mel(samples)
    assert features.shape == (100, MEL_BINS) and features.dtype == np.float32
    np.testing.assert_array_equal(features, log_mel(samples))


def test_normalised_per_bin_and_finite_on_silence():
    rng = np.random.default_rng(1)
    features = utterance_features((0.3 * rng.standard_normal(8000)).astype(np.float32))
    np.testing.assert_allclose(features.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(features.std(0), 1.0, atol=1e-3)
    silent = utterance_features(np.zeros(4000, np.float32))
    assert silent.shape == (25, MEL_BINS) and np.isfinite(silent).all()
    assert normalise(np.zeros((0, MEL_BINS), np.float32)).shape == (0, MEL_BINS)
