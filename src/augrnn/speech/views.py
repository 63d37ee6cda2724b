"""The speech models' figures: where the speller listened, over the spectrogram, and what CTC
heard at each step."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from augrnn.viz.views import new_figure, register_view, spectrogram_alignment, token_label


def output_labels(task, outputs, index: int) -> list[str]:
    """The characters a model wrote for episode ``index`` (space as ␣), then ``<eos>``."""
    vocab = task.target_vocab
    return [token_label(vocab, t) for t in task.predicted_tokens(outputs, index)] + ["<eos>"]


def _frames(batch, index: int) -> np.ndarray:
    count = int(batch.steps_mask()[:, index].sum())
    return batch.inputs[:count, index].float().numpy()


@register_view("speech_attention", needs=("speech_attention",))
def speech_attention(trace, batch, task, outputs, index) -> Figure:
    """LAS: each output character's attention over the audio, above the spectrogram."""
    labels = output_labels(task, outputs, index)
    weights = trace.stack("speech_attention")[: len(labels), index].numpy()
    heard = task.output_text(outputs, index)
    wanted = task.decode_target(batch.targets[:, index])
    title = f"heard: {heard!r}" + ("" if heard == wanted else f"\nsaid: {wanted!r}")
    return spectrogram_alignment(_frames(batch, index), labels[: len(weights)], weights, title)


@register_view("ctc_probabilities", needs=("ctc_probabilities",))
def ctc_probabilities(trace, batch, task, outputs, index) -> Figure:
    """CTC: the probability of each character and of the blank at every listener step."""
    probabilities = trace.stack("ctc_probabilities")[:, index].numpy()  # (U, V)
    symbols = ["blank", *task.target_vocab.symbols]
    keep = [0] + list(range(3, probabilities.shape[1]))  # the blank (PAD) and the characters
    grid = probabilities[:, keep].T
    fig = new_figure(max(6.0, min(16.0, grid.shape[1] / 8)), 6.0)
    ax = fig.subplots()
    ax.imshow(grid, aspect="auto", interpolation="nearest", cmap="Blues", vmin=0, vmax=1)
    ax.set_yticks(range(len(symbols)), ["␣" if s == " " else s for s in symbols], fontsize=7)
    ax.set_xlabel("listener step")
    fig.suptitle(f"CTC label probabilities; heard: {task.output_text(outputs, index)!r}")
    return fig
