import pytest
import torch

from augrnn.attention.modules import LocationAwareAttention
from augrnn.speech import CTC, LAS
from augrnn.speech.ctc import best_paths
from augrnn.tasks.speech import Transcription


def small_las(task, attention="content", **settings):
    torch.manual_seed(0)
    sizes = dict(listener_size=16, pyramid_layers=1, speller_size=32, speller_layers=1)
    return LAS(task.input_size, task.output_size, attention=attention, embedding_size=8,
               attention_size=16, location_kernel=5, **{**sizes, **settings})  # fmt: skip


@pytest.mark.parametrize("attention", ["content", "location", "none"])
def test_las_shapes_and_alignments(task, attention, toy_batch):
    model = small_las(task, attention).eval()
    batch = toy_batch(task, 4, torch.Generator().manual_seed(0))
    logits, alignments = model(batch.inputs, batch.steps_mask(), batch.targets)
    steps = model.listener_steps(batch.steps_mask())
    assert logits.shape == (*batch.targets.shape, task.output_size)
    assert alignments.shape == (batch.targets.shape[0], 4, int(steps.max()))
    for b, own in enumerate(steps.tolist()):
        assert alignments[:, b, own:].abs().sum() == 0  # never on padding
        expected = 0.0 if attention == "none" else 1.0
        torch.testing.assert_close(
            alignments[:, b].sum(-1), torch.full_like(alignments[:, b, 0], expected)
        )


def test_location_aware_attention_gradcheck_and_previous_alignment():
    torch.manual_seed(0)
    attention = LocationAwareAttention(3, 4, attention_size=5, channels=2, kernel_size=3).double()
    query, keys = torch.randn(2, 3, dtype=torch.double), torch.randn(2, 6, 4, dtype=torch.double)
    previous = torch.softmax(torch.randn(2, 6, dtype=torch.double), -1)
    inputs = tuple(t.requires_grad_() for t in (query, keys, previous))
    assert torch.autograd.gradcheck(lambda q, k, p: attention(q, k, k, previous=p)[1], inputs)
    shifted = attention(query, keys, keys, previous=previous.roll(2, -1))[1]
    assert not torch.allclose(shifted, attention(query, keys, keys, previous=previous)[1])
    with pytest.raises(ValueError, match="previous alignment must have shape"):
        attention(query, keys, keys, previous=previous[:, :3])
    with pytest.raises(ValueError, match="odd kernel_size"):
        LocationAwareAttention(3, 4, kernel_size=4)


def test_bad_settings_and_inputs_are_refused(task, toy_batch):
    with pytest.raises(ValueError, match="attention must be one of"):
        LAS(40, task.output_size, attention="global")
    with pytest.raises(ValueError, match="teacher_forcing"):
        LAS(40, task.output_size, teacher_forcing=1.5)
    model = small_las(task)
    batch = toy_batch(task, 2, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="40 features per frame"):
        model(batch.inputs[..., :10], batch.steps_mask(), batch.targets)
    mask = batch.steps_mask().clone()
    mask[:, 1] = 0
    with pytest.raises(ValueError, match=r"utterances \[1\] have no frames"):
        model(batch.inputs, mask, batch.targets)


def test_beam_of_one_is_greedy(task, toy_batch):
    model = small_las(task, "location").eval()
    batch = toy_batch(task, 3, torch.Generator().manual_seed(2))
    greedy = model.decode(batch.inputs, batch.steps_mask(), 12)
    beam = model.decode(batch.inputs, batch.steps_mask(), 12, beam_size=1)
    wide = model.decode(batch.inputs, batch.steps_mask(), 12, beam_size=3)
    assert greedy.tokens == beam.tokens
    for b in range(3):
        assert wide.scores[b] >= greedy.scores[b] - 1e-4  # float32 sums
        assert greedy.attention[b].shape[0] == len(greedy.tokens[b])


def train(model, task, toy_batch, steps, lr=1e-2):
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        loss, _ = model.loss(task, toy_batch(task, 16, generator))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
    model.eval()
    held_out = toy_batch(task, 64, torch.Generator().manual_seed(123))
    return task.metrics(model.evaluation_outputs(held_out), held_out)


def test_las_learns_the_toy_task(task, toy_batch):
    rates = train(small_las(task, "location", teacher_forcing=1.0), task, toy_batch, 150)
    assert rates["sentence_error_rate"] <= 0.05, rates


def test_ctc_learns_the_toy_task(task, toy_batch):
    torch.manual_seed(0)
    rates = train(
        CTC(task.input_size, task.output_size, listener_size=16, pyramid_layers=1),
        task,
        toy_batch,
        400,
    )
    assert rates["sentence_error_rate"] <= 0.05, rates


def test_ctc_best_path_merges_repeats_and_drops_blanks(task):
    labels = [5, 5, 0, 5, 6, 6, 0, 0, 7, 7, 7, 0, 9, 9]
    log_probs = torch.full((len(labels), 1, task.output_size), -50.0)
    log_probs[torch.arange(len(labels)), 0, torch.tensor(labels)] = 0.0
    heard = best_paths(log_probs, torch.tensor([12]))  # the last two steps are padding
    assert heard == Transcription([[5, 5, 6, 7]])
