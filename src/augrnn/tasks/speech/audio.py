"""Reading a user's WAV file as the models hear it: 16 kHz mono samples in [-1, 1].

PCM WAV files of 8 (unsigned), 16, 24 or 32-bit samples at any rate and with any number of
channels are read with the standard library's :mod:`wave`; channels are averaged to mono and
other rates resampled to :data:`SAMPLE_RATE` with ``soxr`` (each conversion is reported as a
note). Anything else (not a WAV, a float or compressed WAV, no samples, longer than
``max_seconds``) is refused with an :class:`AudioError` that says what was expected.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

#: The rate every feature is computed at, in Hz.
SAMPLE_RATE = 16_000
#: The longest file read by default, in seconds: the models are trained on utterances of a few
#: seconds, and a longer file is almost always a mistake.
MAX_SECONDS = 120.0
PCM_WIDTHS = {1: "8-bit", 2: "16-bit", 3: "24-bit", 4: "32-bit"}


class AudioError(ValueError):
    """An audio file that cannot be read as speech."""


def pcm_to_float(raw: bytes, sample_width: int, channels: int) -> np.ndarray:
    """Interleaved little-endian PCM bytes -> (frames, channels) float32 in [-1, 1).

    8-bit WAV samples are unsigned (offset 128); 16, 24 and 32-bit ones signed.
    """
    if sample_width not in PCM_WIDTHS:
        raise AudioError(f"PCM samples of {sample_width} bytes are not supported")
    usable = len(raw) - len(raw) % (sample_width * channels)
    data = np.frombuffer(raw[:usable], dtype=np.uint8)
    if sample_width == 1:
        values = data.astype(np.float32) - 128.0
    elif sample_width == 3:
        triples = data.reshape(-1, 3).astype(np.int32)
        joined = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        values = np.where(joined >= 1 << 23, joined - (1 << 24), joined).astype(np.float32)
    else:
        values = np.frombuffer(data.tobytes(), dtype=f"<i{sample_width}").astype(np.float32)
    return (values / float(1 << (8 * sample_width - 1))).reshape(-1, channels)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """(N,) float32 samples at ``rate`` -> at ``target`` Hz (soxr's high-quality resampler)."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    try:
        import soxr
    except ImportError as err:
        raise AudioError(
            f"resampling {rate} Hz audio to {target} Hz needs the package soxr: "
            "pip install 'augrnn[speech]'"
        ) from err
    return soxr.resample(samples.astype(np.float32, copy=False), rate, target).astype(np.float32)


def read_wav(path: Path | str, max_seconds: float = MAX_SECONDS) -> tuple[np.ndarray, list[str]]:
    """A WAV file -> ((N,) float32 mono samples at :data:`SAMPLE_RATE`, notes on what was
    converted). Raises :class:`AudioError` for a file it cannot read (see the module)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        with wave.open(str(path), "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            rate = reader.getframerate()
            if rate <= 0:
                raise AudioError(f"{path}: the WAV header gives a sample rate of {rate} Hz")
            # A streamed WAV's header may give any length: read at most one frame past the
            # limit, and judge by what is there.
            raw = reader.readframes(int(max_seconds * rate) + 1)
    except wave.Error as err:
        raise AudioError(
            f"{path} is not a PCM WAV file ({err}); augrnn reads WAV files of 8, 16, 24 or "
            "32-bit integer samples: convert it, e.g. `sox IN -b 16 -e signed OUT.wav`"
        ) from None
    except EOFError:
        raise AudioError(f"{path} is not a WAV file (it ends inside its header)") from None
    if channels < 1:
        raise AudioError(f"{path}: the WAV header gives {channels} channels")
    frames = pcm_to_float(raw, width, channels)
    if len(frames) == 0:
        raise AudioError(f"{path} holds no samples: there is nothing to transcribe")
    if len(frames) / rate > max_seconds:
        raise AudioError(
            f"{path} is longer than {max_seconds:.0f} s, the most that is read (cut it into "
            "utterances, or raise the limit)"
        )
    notes = []
    if channels > 1:
        notes.append(f"{channels} channels averaged to mono")
    if width != 2:
        notes.append(f"{PCM_WIDTHS[width]} samples")
    samples = frames.mean(axis=1)
    if rate != SAMPLE_RATE:
        notes.append(f"resampled from {rate} Hz to {SAMPLE_RATE} Hz")
        samples = resample(samples, rate)
    return samples.astype(np.float32, copy=False), notes


def write_wav(
    path: Path | str, samples: np.ndarray, rate: int = SAMPLE_RATE, sample_width: int = 2
) -> Path:
    """Write (N,) or (N, channels) float samples in [-1, 1] as a PCM WAV of ``sample_width``
    bytes per sample (8-bit unsigned, 16, 24 or 32-bit signed)."""
    if sample_width not in PCM_WIDTHS:
        raise ValueError(f"sample_width must be one of {sorted(PCM_WIDTHS)}, got {sample_width}")
    frames = np.asarray(samples, dtype=np.float64)
    frames = frames[:, None] if frames.ndim == 1 else frames
    scale = float(1 << (8 * sample_width - 1))
    ints = np.clip(np.round(frames * scale), -scale, scale - 1).astype(np.int64)
    if sample_width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    else:
        little = ints.reshape(-1, 1) >> (8 * np.arange(sample_width)) & 0xFF
        raw = little.astype(np.uint8).tobytes()
    path = Path(path)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(frames.shape[1])
        writer.setsampwidth(sample_width)
        writer.setframerate(rate)
        writer.writeframes(raw)
    return path
