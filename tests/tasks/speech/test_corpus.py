import dataclasses

import pytest
import torch

from augrnn.tasks.speech.corpus import (
    CorpusSpec,
    corpus_for,
    generate,
    load,
    make_utterance,
    save,
    snr_name,
)
from augrnn.tasks.speech.synthesis import TEST_VARIANTS, TRAIN_VARIANTS


@pytest.fixture
def spec(tiny_speech) -> CorpusSpec:
    return CorpusSpec(**tiny_speech)


def test_specs_are_checked(spec):
    with pytest.raises(ValueError, match="transcripts must be one of"):
        CorpusSpec(transcripts="poems")
    with pytest.raises(ValueError, match="min_size <= max_size <= long_max"):
        CorpusSpec(min_size=5, max_size=3)
    with pytest.raises(ValueError, match="sizes 0 to 4"):
        CorpusSpec(transcripts="dates", min_size=0, max_size=4, long_max=6)
    assert spec.key() != dataclasses.replace(spec, seed=1).key()
    assert snr_name(float("inf")) == "clean" and snr_name(10.0) == "10"


def test_the_tiny_corpus(speech_cache, spec):
    corpus = corpus_for(spec)
    assert sorted(corpus.splits) == ["test@10", "test@20", "test@5", "test@clean", "train"]
    train, clean = corpus.split("train"), corpus.split("test@clean")
    assert len(train) == 24 and len(clean) == 9
    assert set(train.sizes.tolist()) == {1, 2} and set(clean.sizes.tolist()) == {1, 2, 3}
    # Held-out voices are never heard in training.
    assert {v.split(",")[0].split("+")[1] for v in train.voices} <= set(TRAIN_VARIANTS)
    assert {v.split(",")[0].split("+")[1] for v in clean.voices} <= set(TEST_VARIANTS)
    # The same utterances at every SNR, with noise making them differ.
    noisy = corpus.split("test@5")
    assert noisy.texts == clean.texts and torch.equal(noisy.offsets, clean.offsets)
    assert not torch.equal(noisy.features, clean.features)
    assert torch.isfinite(train.features.float()).all()
    assert train.utterance(0).shape == (int(train.offsets[1]), 40)
    assert 0.2 < train.duration(0) < 3.0
    with pytest.raises(ValueError, match="the splits"):
        corpus.split("dev")


def test_utterances_are_reproducible_and_saved_atomically(speech_cache, spec, tmp_path):
    first, again = make_utterance(spec, "train", 3), make_utterance(spec, "train", 3)
    assert first["text"] == again["text"] and first["voice"] == again["voice"]
    assert (first["features"][0] == again["features"][0]).all()
    small = dataclasses.replace(spec, train_utterances=2, test_utterances=1)
    corpus = generate(small, workers=1, progress=False)
    path = save(corpus, tmp_path / "c")
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["corpus.pt"]
    loaded = load(path)
    assert loaded.spec == small
    assert loaded.split("train").texts == corpus.split("train").texts
