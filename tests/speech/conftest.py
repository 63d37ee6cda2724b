"""A toy 'speech' task for the speech models' tests: each character is a fixed random pattern
held for a few frames, so a model that learns it must find each character's frames."""

import pytest
import torch

from augrnn.tasks.base import Batch
from augrnn.tasks.speech import SpeechTask
from augrnn.tasks.text import Vocabulary, pad_token_ids

SYMBOLS = "abc"
FRAMES_PER_SYMBOL = 6


def make_toy_batch(
    task: SpeechTask, size: int, generator: torch.Generator, lengths=(2, 4)
) -> Batch:
    """``size`` utterances of 2-4 symbols of :data:`SYMBOLS`, each heard as its pattern."""
    patterns = torch.randn(
        len(SYMBOLS), task.input_size, generator=torch.Generator().manual_seed(9)
    )
    counts = torch.randint(lengths[0], lengths[1] + 1, (size,), generator=generator)
    texts, frames = [], []
    for count in counts.tolist():
        picks = torch.randint(len(SYMBOLS), (count,), generator=generator).tolist()
        texts.append("".join(SYMBOLS[p] for p in picks))
        heard = patterns[picks].repeat_interleave(FRAMES_PER_SYMBOL, 0)
        frames.append(heard + 0.1 * torch.randn(heard.shape, generator=generator))
    longest = max(len(f) for f in frames)
    inputs, input_mask = torch.zeros(longest, size, task.input_size), torch.zeros(longest, size)
    for b, f in enumerate(frames):
        inputs[: len(f), b], input_mask[: len(f), b] = f, 1.0
    targets, mask = pad_token_ids([task.target_vocab.encode(t) + [Vocabulary.EOS] for t in texts])
    return Batch(inputs, targets, mask, counts, input_mask)


@pytest.fixture
def task() -> SpeechTask:
    return SpeechTask()  # the corpus is not needed (nor made) for the toy batches


@pytest.fixture
def toy_batch():
    """:func:`make_toy_batch`: (task, size, generator) -> a batch of the toy task."""
    return make_toy_batch
