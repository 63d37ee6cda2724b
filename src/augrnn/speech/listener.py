"""The listener: a pyramidal bidirectional LSTM over filterbank frames (Chan et al. 2016, §3.1).

A bidirectional LSTM reads the frames; each of ``pyramid_layers`` pBLSTM layers then reads the
previous layer's outputs two at a time, concatenated (their eq 5,
h_i^j = pBLSTM(h_{i−1}^j, [h_{2i}^{j−1}; h_{2i+1}^{j−1}])), so the sequence the speller attends to
is 2^pyramid_layers times shorter than the audio (8 times with the paper's 3 layers).

Each bidirectional layer is two LSTMs; the backward one reads every sequence reversed within its
own length, so padding (at the end) never enters a real step's state in either direction. This
is exact, and on a CPU several times faster than packed sequences.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from augrnn.settings import check_integers


class Heard(NamedTuple):
    """The listener's output.

    states: (B, U, 2H) the top layer's outputs h = Listen(x), zero after each sequence's end;
    mask:   (B, U) bool, true on each sequence's real steps;
    final:  (B, 2H) the top layer's final states [→h_U; ←h_1] (the no-attention context).
    """

    states: Tensor
    mask: Tensor
    final: Tensor


def reverse_within(sequences: Tensor, lengths: Tensor) -> Tensor:
    """(T, B, D) -> each column's first lengths[b] steps in reverse order, padding left in
    place."""
    steps = torch.arange(sequences.shape[0], device=sequences.device).unsqueeze(1)  # (T, 1)
    lengths = lengths.to(sequences.device).unsqueeze(0)  # (1, B)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (T, B)
    return sequences.gather(0, index.unsqueeze(-1).expand_as(sequences))


class BLSTM(nn.Module):
    """A bidirectional LSTM layer over padded (T, B, D) sequences with (B,) lengths -> (T, B, 2H)
    outputs [→h_t; ←h_t] (zero after each end) and the (B, 2H) final states [→h_len; ←h_1]."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.forward_lstm = nn.LSTM(input_size, hidden_size)
        self.backward_lstm = nn.LSTM(input_size, hidden_size)

    def forward(self, sequences: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        ahead, _ = self.forward_lstm(sequences)
        behind, _ = self.backward_lstm(reverse_within(sequences, lengths))
        behind = reverse_within(behind, lengths)
        steps = torch.arange(sequences.shape[0], device=sequences.device).unsqueeze(1)
        real = (steps < lengths.to(sequences.device)).unsqueeze(-1)  # (T, B, 1)
        out = torch.cat([ahead, behind], -1) * real
        batch = torch.arange(sequences.shape[1], device=sequences.device)
        final = torch.cat([ahead[lengths - 1, batch], behind[0]], -1)
        return out, final


def halve(frames: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """(T, B, D) -> (⌈T/2⌉, B, 2D): consecutive steps concatenated (an odd T padded with a zero
    step), and the (B,) lengths ⌈length/2⌉."""
    steps, batch, width = frames.shape
    if steps % 2:
        frames = torch.cat([frames, frames.new_zeros(1, batch, width)])
    paired = frames.reshape(-1, 2, batch, width).permute(0, 2, 1, 3)
    return paired.reshape(-1, batch, 2 * width), (lengths + 1) // 2


class Listener(nn.Module):
    """Features (T, B, F) with a (T, B) mask -> :class:`Heard` over U = ⌈T / 2^layers⌉ steps.

    hidden_size is H, the units of each direction (the paper: 256); the states are 2H wide.
    """

    def __init__(self, input_size: int, hidden_size: int = 256, pyramid_layers: int = 3):
        super().__init__()
        check_integers(
            "Listener",
            input_size=input_size,
            hidden_size=hidden_size,
            pyramid_layers=pyramid_layers,
        )
        if input_size < 1 or hidden_size < 1 or pyramid_layers < 0:
            raise ValueError(
                "Listener needs input_size >= 1, hidden_size >= 1 and pyramid_layers >= 0, got "
                f"{input_size}, {hidden_size} and {pyramid_layers}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.reduction = 2**pyramid_layers
        self.bottom = BLSTM(input_size, hidden_size)
        self.pyramid = nn.ModuleList(
            BLSTM(4 * hidden_size, hidden_size) for _ in range(pyramid_layers)
        )

    @property
    def output_size(self) -> int:
        return 2 * self.hidden_size

    def check(self, features: Tensor, mask: Tensor) -> Tensor:
        """Raise ``ValueError`` unless the features and mask fit; return the (B,) lengths."""
        if not isinstance(features, Tensor) or features.dim() != 3:
            raise ValueError(
                "the listener expects features of shape (frames, batch, "
                f"{self.input_size}), got {getattr(features, 'shape', type(features).__name__)}"
            )
        if features.shape[2] != self.input_size:
            raise ValueError(
                f"the listener expects {self.input_size} features per frame, got "
                f"{features.shape[2]}"
            )
        if mask.shape != features.shape[:2]:
            raise ValueError(
                f"the frame mask must have shape (frames, batch) = {tuple(features.shape[:2])}, "
                f"got {tuple(mask.shape)}"
            )
        lengths = (mask != 0).sum(0)
        if bool((lengths == 0).any()):
            empty = (lengths == 0).nonzero().flatten().tolist()
            raise ValueError(f"utterances {empty} have no frames")
        return lengths

    def forward(self, features: Tensor, mask: Tensor) -> Heard:
        lengths = self.check(features, mask)
        states, final = self.bottom(features, lengths)
        for layer in self.pyramid:
            states, lengths = halve(states, lengths)
            states, final = layer(states, lengths)
        steps = states.shape[0]
        real = torch.arange(steps, device=states.device).unsqueeze(1) < lengths.to(states.device)
        return Heard(states.transpose(0, 1), real.transpose(0, 1), final)
