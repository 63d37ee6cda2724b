import numpy as np
import pytest
import torch

from augrnn.tasks.speech import SpeechConfig, SpeechTask, Transcription
from augrnn.tasks.speech.audio import write_wav
from augrnn.tasks.speech.task import edit_distance, error_rates
from augrnn.tasks.text import Vocabulary


def test_edit_distance_and_error_rates():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["a"]) == 1
    rates = error_rates(["one two", "three"], ["one too", "three"])
    assert rates["word_error_rate"] == pytest.approx(1 / 3)
    assert rates["character_error_rate"] == pytest.approx(1 / 12)
    assert rates["sentence_error_rate"] == 0.5


def test_settings_are_checked():
    with pytest.raises(ValueError, match="eval_snr must be one of the test SNRs"):
        SpeechTask(SpeechConfig(eval_snr="15"))
    with pytest.raises(ValueError, match="min_size <= max_size"):
        SpeechTask(SpeechConfig(min_size=4, max_size=2))
    with pytest.raises(ValueError, match="reads audio, not text"):
        SpeechTask().encode_source("three")


def test_batches_hold_the_utterances(speech_cache, tiny_speech):
    task = SpeechTask(SpeechConfig(**tiny_speech))
    generator = torch.Generator().manual_seed(0)
    batch = task.sample(5, generator)
    frames, batch_size, bins = batch.inputs.shape
    assert (batch_size, bins) == (5, task.input_size)
    lengths = batch.input_mask.sum(0)
    assert int(lengths.max()) == frames
    for b in range(5):
        assert batch.inputs[int(lengths[b]) :, b].abs().sum() == 0
        text = task.decode_target(batch.targets[:, b])
        assert len(text.split()) == int(batch.lengths[b])
        assert int(batch.mask[:, b].sum()) == len(text) + 1  # the EOS
    held_out = task.sample_evaluation(4, generator, length=3)  # longer than any training one
    assert held_out.lengths.tolist() == [3] * 4
    with pytest.raises(ValueError, match="no utterance of digits 7"):
        task.sample(2, generator, length=7)
    assert "target:" in task.render(batch, 1, Transcription([[4]] * 5))


def test_transcriptions_are_scored_by_error_rates(speech_cache, tiny_speech):
    task = SpeechTask(SpeechConfig(**tiny_speech))
    batch = task.sample(3, torch.Generator().manual_seed(1))
    right = [task.target_vocab.encode(task.decode_target(batch.targets[:, b])) for b in range(3)]
    perfect = task.metrics(Transcription(right), batch)
    assert perfect == {
        "character_error_rate": 0.0,
        "word_error_rate": 0.0,
        "sentence_error_rate": 0.0,
    }
    empty = task.metrics(Transcription([[], [], []]), batch)
    assert empty["word_error_rate"] == 1.0 and empty["character_error_rate"] == 1.0
    assert Vocabulary.EOS not in task.predicted_tokens(Transcription(right), 0)


def test_a_wav_file_is_read_as_features(speech_cache, tiny_speech, tmp_path):
    task = SpeechTask(SpeechConfig(**tiny_speech))
    samples = 0.1 * np.random.default_rng(0).standard_normal(12_000)
    features, notes = task.encode_file(write_wav(tmp_path / "a.wav", samples, rate=24_000))
    assert features.shape == (50, 1, 40)
    assert notes[0] == "resampled from 24000 Hz to 16000 Hz"
    assert any("longer than any training utterance" in note for note in notes) or (
        features.shape[0] / 100 <= task.longest_training_seconds()
    )
