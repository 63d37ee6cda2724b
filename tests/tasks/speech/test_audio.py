import struct

import numpy as np
import pytest

from augrnn.tasks.speech.audio import SAMPLE_RATE, AudioError, read_wav, write_wav

pytest.importorskip("soxr", reason="pip install 'augrnn[speech]'")


def tone(seconds: float, rate: int = SAMPLE_RATE, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_widths_round_trip(tmp_path, width):
    samples = tone(0.2)
    read, notes = read_wav(write_wav(tmp_path / "a.wav", samples, sample_width=width))
    assert read.dtype == np.float32 and read.shape == samples.shape
    assert np.abs(read - samples).max() <= 2.0 / (1 << (8 * width - 1)) + 1e-6
    assert notes == ([] if width == 2 else [f"{8 * width}-bit samples"])


def test_stereo_is_averaged_and_other_rates_resampled(tmp_path):
    left, right = tone(0.5, 8000), np.zeros(4000, np.float32)
    path = write_wav(tmp_path / "stereo.wav", np.stack([left, right], 1), rate=8000)
    read, notes = read_wav(path)
    assert notes == ["2 channels averaged to mono", "resampled from 8000 Hz to 16000 Hz"]
    assert abs(len(read) - 8000) <= 2
    assert np.isclose(np.abs(read).max(), 0.25, atol=0.02)  # the mean of the two channels


def test_unreadable_files_are_refused_with_what_was_expected(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "missing.wav")
    (tmp_path / "notes.txt").write_text("not audio at all, just text that is long enough")
    with pytest.raises(AudioError, match="not a PCM WAV file.*8, 16, 24 or 32-bit"):
        read_wav(tmp_path / "notes.txt")
    (tmp_path / "short.wav").write_bytes(b"RIFF")
    with pytest.raises(AudioError, match="not a"):
        read_wav(tmp_path / "short.wav")
    with pytest.raises(AudioError, match="holds no samples"):
        read_wav(write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32)))
    with pytest.raises(AudioError, match="longer than 1 s, the most that is read"):
        read_wav(write_wav(tmp_path / "long.wav", tone(1.5)), max_seconds=1.0)


def test_a_streamed_wav_whose_header_gives_no_length_is_read(tmp_path):
    path = write_wav(tmp_path / "streamed.wav", tone(0.3))
    raw = bytearray(path.read_bytes())
    data = raw.index(b"data")
    raw[data + 4 : data + 8] = (0xFFFFFFFF).to_bytes(4, "little")  # as a pipe's writer leaves it
    raw[4:8] = (0xFFFFFFFF).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    read, _ = read_wav(path, max_seconds=1.0)
    assert len(read) == len(tone(0.3))


def test_float_wav_is_refused(tmp_path):
    data = np.zeros(100, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)  # format 3: IEEE float
    riff = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    riff += struct.pack("<I", len(data)) + data
    (tmp_path / "float.wav").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    with pytest.raises(AudioError, match="not a PCM WAV.*convert it"):
        read_wav(tmp_path / "float.wav")
