"""Log-mel filterbank features: what the listener reads.

Kaldi-style filterbanks (``kaldi-native-fbank``): 25 ms Povey windows every 10 ms, 40 mel bins
(the LAS paper's input), log energies, no dither (so the same audio always gives the same
features); then each utterance is normalised to zero mean and unit variance per bin, so the
loudness of a voice or a recording does not shift the features.
"""

from __future__ import annotations

import numpy as np

from augrnn.tasks.speech.audio import SAMPLE_RATE

#: Mel bins per frame (Chan et al. 2016 use 40).
MEL_BINS = 40
#: Seconds between frames.
FRAME_SHIFT = 0.010
FRAME_LENGTH = 0.025
INSTALL_HINT = "log-mel features need the package kaldi-native-fbank: pip install 'augrnn[speech]'"


def log_mel(samples: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """(N,) float samples in [-1, 1] at ``rate`` -> (frames, :data:`MEL_BINS`) float32 log mel
    energies, one frame every 10 ms (frames = round(N / (rate · 0.01)))."""
    try:
        import kaldi_native_fbank as knf
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    options = knf.FbankOptions()
    options.frame_opts.samp_freq = float(rate)
    options.frame_opts.dither = 0.0
    options.frame_opts.snip_edges = False
    options.frame_opts.frame_shift_ms = FRAME_SHIFT * 1000
    options.frame_opts.frame_length_ms = FRAME_LENGTH * 1000
    options.mel_opts.num_bins = MEL_BINS
    bank = knf.OnlineFbank(options)
    # Kaldi's energies are for 16-bit sample values; the log floor is then the same as Kaldi's.
    bank.accept_waveform(float(rate), (np.asarray(samples, dtype=np.float32) * 32768).tolist())
    bank.input_finished()
    frames = bank.num_frames_ready
    if frames == 0:
        return np.zeros((0, MEL_BINS), dtype=np.float32)
    return np.stack([bank.get_frame(i) for i in range(frames)]).astype(np.float32)


def normalise(features: np.ndarray) -> np.ndarray:
    """Per-utterance mean and variance normalisation of (frames, bins) features."""
    if len(features) == 0:
        return features
    mean = features.mean(axis=0, keepdims=True)
    std = features.std(axis=0, keepdims=True)
    return ((features - mean) / np.maximum(std, 1e-3)).astype(np.float32)


def utterance_features(samples: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """:func:`log_mel` then :func:`normalise`: the features of one utterance."""
    return normalise(log_mel(samples, rate))
