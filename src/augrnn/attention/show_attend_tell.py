"""Attention over a CNN's feature grid: Show, Attend and Tell (Xu et al. 2015, soft attention).

Data (as :mod:`augrnn.tasks.digit_row` makes it): images (B, C, H, W) float, batch-first; targets
(T, B) long ids ending with EOS = 2, padded with PAD = 0; the decoder starts from BOS = 1.

Encoder: a small CNN, 3×3 convolution (C → D_c/2) + ReLU, 2× max-pooling along the height only,
3×3 convolution (D_c/2 → D_c) + ReLU, 2× max-pooling along the height again; the convolutions
are padded so the width is kept. An 8-pixel-high digit thus spans about two feature rows, each of
which sees most of its height, while the grid keeps every pixel column: H' = ⌊H/4⌋ rows by
W' = W columns (feature column j is centred on pixel column j, so
:attr:`ShowAttendTell.column_stride` is 1). Each feature vector is then extended with
``position_features`` sinusoidal encodings of its column (:func:`column_encoding`), giving
L = H'·W' annotation vectors a_i ∈ R^D, D = D_c + position_features. A CNN's features do not say
where they are, and content alone cannot tell the first digit from the third; with the column
encodings the attention can, and ẑ_t tells the decoder where it looked. On rows of two digits
from {0, 1, 2} (channels 16, hidden 32, Adam 3e-3, batch 32, 400 steps, seeds 0-5) the model read
89-98% of held-out rows exactly with 74-82% of each step's attention on its own digit; without
the encodings (seeds 0-2) 38-44%, its attention no better than uniform (42-45%).

Decoder (§3.1.2): an LSTM whose state starts from the mean annotation ā = (1/L) Σ_i a_i through
two init layers, h_0 = tanh(f_init,h(ā)), c_0 = tanh(f_init,c(ā)). At step t:

    e_ti = w·tanh(W_a a_i + W_h h_{t−1})        (eq 4, the additive score of addressing.py)
    α_t  = softmax_i(e_ti)                       (eq 5)
    β_t  = σ(f_β(h_{t−1}))                       (§4.2.1, the gating scalar; ``gate=False``: 1)
    ẑ_t  = β_t Σ_i α_ti a_i                      (eq 6 and §4.2.1)
    h_t, c_t = LSTM([E y_{t−1}; ẑ_t], h_{t−1}, c_{t−1})
    logits_t = L_o(E y_{t−1} + L_h h_t + L_z ẑ_t)  (eq 7, the deep output)

Training adds the doubly stochastic regulariser (§4.2.1) λ Σ_i (1 − Σ_t α_ti)² to the task's
cross-entropy, summing over the real output steps of each sequence and averaging over the batch:
over a whole caption every position should have been looked at about once.

``attention = "none"`` is the baseline without attention: the same decoder whose context is the
mean annotation ā at every step (no gate, no regulariser); its reported weights are uniform 1/L.

Registered as the model kind ``show_attend_tell`` (:class:`ShowAttendTellConfig`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from augrnn.attention.decoding import greedy_search
from augrnn.attention.modules import AdditiveAttention
from augrnn.attention.seq2seq import (
    BOS,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    Decoding,
    check_max_length,
    check_target_ids,
    describe_value,
)
from augrnn.core import Trace, emit, tracing
from augrnn.interface import EvaluationContext, Model, ModelConfig, ModelKind
from augrnn.settings import Range, at_least

ATTENTION_KINDS = ("soft", "none")


class FeatureGrid(NamedTuple):
    """What the decoder attends to.

    features: (B, L, D) annotation vectors a_i, row-major over the (H', W') grid.
    keys:     (B, L, A) W_a a_i, computed once per image (None without attention).
    mean:     (B, D) the mean annotation ā.
    """

    features: Tensor
    keys: Tensor | None
    mean: Tensor


class DecoderState(NamedTuple):
    """h: (B, N) the LSTM's state h_t; c: (B, N) its cell c_t."""

    h: Tensor
    c: Tensor


def column_encoding(width: int, size: int, base: float = 10_000.0) -> Tensor:
    """Sinusoidal encodings of the feature columns j = 0 … width−1 (Vaswani et al. 2017):
    row 2m is sin(j / base^(2m/size)), row 2m+1 the cosine. Returns (size, width).

    A CNN's features are the same wherever a pattern lies; these let the content-based attention
    and the decoder (which sees them in ẑ_t) tell left from right, so that step t can look at the
    t-th digit and know where it looked last.
    """
    columns = torch.arange(width, dtype=torch.float32)
    rates = base ** (-torch.arange(0, size, 2, dtype=torch.float32) / size)  # (size/2,)
    angles = rates.unsqueeze(1) * columns  # (size/2, width)
    return torch.stack([angles.sin(), angles.cos()], 1).reshape(size, width)


def doubly_stochastic_penalty(attention: Tensor, mask: Tensor) -> Tensor:
    """Σ_i (1 − Σ_t α_ti)² (Xu et al. 2015, §4.2.1, without λ), averaged over the batch.

    attention: (T, B, ...) weights α_t over the positions i (any trailing shape, e.g. H', W').
    mask:      (T, B) 1 on the real output steps t (the sum over t counts only those).
    Returns a scalar.
    """
    if attention.shape[:2] != mask.shape:
        raise ValueError(
            f"the attention's first two dimensions {tuple(attention.shape[:2])} must match the "
            f"mask's (time, batch) shape {tuple(mask.shape)}"
        )
    per_position = (attention.flatten(2) * mask.unsqueeze(-1).to(attention.dtype)).sum(0)
    return (1.0 - per_position).pow(2).sum(-1).mean()


def digit_attention_mass(attention: Tensor, spans: Tensor, *, column_stride: int = 1) -> Tensor:
    """The attention mass that output step t puts on the pixel columns of digit t.

    attention: (T, B, H', W') weights of every step over the feature grid.
    spans:     (B, K, 2) long pixel columns [start, end) of digit j of episode b, -1 where episode
               b has fewer than j + 1 digits (as :meth:`DigitRowTask.sample_with_spans` returns).
    column_stride: pixels per feature column; feature column j counts as inside a span when its
               centre pixel j·stride + (stride − 1)/2 is.
    Returns (K, B): entry [t, b] the mass of step t on digit t of episode b, in [0, 1] for
    weights that sum to 1; NaN where episode b has no digit t.
    """
    if attention.dim() != 4:
        raise ValueError(
            f"the attention must be (steps, batch, H', W'), got shape {tuple(attention.shape)}"
        )
    steps, batch, _, width = attention.shape
    if spans.dim() != 3 or spans.shape[0] != batch or spans.shape[2] != 2:
        raise ValueError(
            f"the spans must be ({batch}, digits, 2) to match the attention's batch, "
            f"got shape {tuple(spans.shape)}"
        )
    digits = spans.shape[1]
    if steps < digits:
        raise ValueError(
            f"the attention has {steps} steps but the spans {digits} digits; each digit needs "
            "its output step"
        )
    if column_stride < 1:
        raise ValueError(f"column_stride must be >= 1, got {column_stride}")
    if int(spans.max()) > width * column_stride:
        raise ValueError(
            f"a span ends at pixel column {int(spans.max())}, beyond the {width} feature columns "
            f"x {column_stride} pixels of the attention"
        )
    centres = torch.arange(width, device=attention.device) * column_stride + (column_stride - 1) / 2
    start, end = spans[..., 0].T.unsqueeze(-1), spans[..., 1].T.unsqueeze(-1)  # (K, B, 1)
    inside = (centres >= start) & (centres < end)  # (K, B, W')
    per_column = attention[:digits].sum(2)  # (K, B, W')
    mass = (per_column * inside.to(per_column.dtype)).sum(-1)
    return mass.masked_fill(spans[..., 0].T < 0, float("nan"))


def attention_on_digits(attention: Tensor, spans: Tensor, *, column_stride: int = 1) -> float:
    """The mean over every real output step t < k of each episode of the fraction of step t's
    attention that falls on digit t (see :func:`digit_attention_mass`): 1.0 when every step
    looks only at its own digit."""
    return float(digit_attention_mass(attention, spans, column_stride=column_stride).nanmean())


class ShowAttendTell(Model):
    """A CNN encoder and an LSTM decoder with soft attention over its feature grid (see the
    module docstring).

    ``logits, attention = model(images, targets)`` gives (T, B, V) logits and the (T, B, H', W')
    attention of every step. In training mode with targets the decoder is fed the true previous
    token (teacher forcing); otherwise it feeds its own most likely token (greedy).

    As a :class:`~augrnn.interface.Model` it reads an image task's batch (images and target
    ids); with attention it adds ``attention_on_digit`` to the held-out metrics.
    """

    def __init__(
        self,
        target_vocab_size: int,
        *,
        in_channels: int = 1,
        channels: int = 64,
        position_features: int = 16,
        embedding_size: int = 32,
        hidden_size: int = 128,
        attention: str = "soft",
        gate: bool = True,
        doubly_stochastic: float = 1.0,
    ):
        super().__init__()
        if target_vocab_size < SPECIAL_TOKENS + 1:
            raise ValueError(
                f"the target vocabulary needs PAD, BOS, EOS and at least one symbol "
                f"({SPECIAL_TOKENS + 1} ids), got {target_vocab_size}"
            )
        for name, size, least in (
            ("in_channels", in_channels, 1),
            ("channels", channels, 2),
            ("position_features", position_features, 0),
            ("embedding_size", embedding_size, 1),
            ("hidden_size", hidden_size, 1),
        ):
            if size < least:
                raise ValueError(f"{name} must be >= {least}, got {size}")
        if position_features % 2:
            raise ValueError(
                f"position_features must be even (sine, cosine pairs), got {position_features}"
            )
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
        if not doubly_stochastic >= 0:
            raise ValueError(f"the doubly stochastic weight must be >= 0, got {doubly_stochastic}")
        self.target_vocab_size = target_vocab_size
        self.in_channels = in_channels
        self.attention_kind = attention
        self.doubly_stochastic = doubly_stochastic
        #: Pixel columns per feature column.
        self.column_stride = 1
        self.position_features = position_features
        #: D, the width of an annotation vector a_i: CNN channels plus column encodings.
        self.feature_size = channels + position_features
        c, d, e, n = channels, self.feature_size, embedding_size, hidden_size

        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c // 2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d((2, 1)),
            nn.Conv2d(c // 2, c, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d((2, 1)),
        )
        self.init_h = nn.Linear(d, n)  # f_init,h
        self.init_c = nn.Linear(d, n)  # f_init,c
        self.embedding = nn.Embedding(target_vocab_size, e, padding_idx=PAD)  # E
        self.attention = AdditiveAttention(n, d, n) if attention == "soft" else None
        self.gate = nn.Linear(n, 1) if (attention == "soft" and gate) else None  # f_β
        self.cell = nn.LSTMCell(e + d, n)
        self.output_h = nn.Linear(n, e)  # L_h
        self.output_z = nn.Linear(d, e, bias=False)  # L_z
        self.output = nn.Linear(e, target_vocab_size)  # L_o

    # --- checks -----------------------------------------------------------------------------

    def check_images(self, images: Tensor) -> None:
        if (
            not isinstance(images, Tensor)
            or not images.is_floating_point()
            or images.dim() != 4
            or images.shape[1] != self.in_channels
        ):
            raise ValueError(
                f"ShowAttendTell expects images as a (batch, {self.in_channels}, height, width) "
                f"float tensor (batch first), got {describe_value(images)}"
            )
        batch, _, height, width = images.shape
        if batch < 1 or height < 4 or width < 1:
            raise ValueError(
                "the images need batch >= 1, height >= 4 (the encoder halves it twice) and "
                "width >= 1, "
                f"got shape {tuple(images.shape)}"
            )

    def check_targets(self, targets: Tensor, batch_size: int) -> None:
        check_target_ids(targets, batch_size, self.target_vocab_size, "ShowAttendTell")

    # --- encoder and one decoder step -------------------------------------------------------

    def grid_shape(self, height: int, width: int) -> tuple[int, int]:
        """(H', W') of the feature grid of an H × W image."""
        return height // 4, width

    def encode(self, images: Tensor) -> tuple[FeatureGrid, DecoderState]:
        """Checked (B, C, H, W) images -> the annotations and the decoder's initial state."""
        grid = self.encoder(images)  # (B, channels, H', W')
        if self.position_features:
            rows, width = grid.shape[2:]
            columns = column_encoding(width, self.position_features).to(grid)  # (P, W')
            grid = torch.cat([grid, columns.unsqueeze(1).expand(grid.shape[0], -1, rows, -1)], 1)
        features = grid.flatten(2).transpose(1, 2)  # (B, L, D), row-major over (H', W')
        mean = features.mean(1)
        keys = None if self.attention is None else self.attention.project_keys(features)
        h0 = torch.tanh(self.init_h(mean))
        c0 = torch.tanh(self.init_c(mean))
        return FeatureGrid(features, keys, mean), DecoderState(h0, c0)

    def step(
        self, previous: Tensor, state: DecoderState, grid: FeatureGrid, shape: tuple[int, int]
    ) -> tuple[Tensor, Tensor, DecoderState]:
        """One decoder step: previous tokens (B,) -> logits (B, V), attention (B, H', W') and the
        next state. Emits the attention as ``"attention"`` (and the gate β_t as
        ``"attention_gate"``) into the active Trace."""
        embedded = self.embedding(previous)
        if self.attention is None:
            context = grid.mean
            weights = torch.full(
                grid.features.shape[:2],
                1.0 / grid.features.shape[1],
                dtype=context.dtype,
                device=context.device,
            )
        else:
            context, weights = self.attention(
                state.h, grid.features, grid.features, projected_keys=grid.keys
            )
            if self.gate is not None:
                beta = torch.sigmoid(self.gate(state.h))  # (B, 1)
                emit("attention_gate", beta.squeeze(-1))
                context = beta * context
        h, c = self.cell(torch.cat([embedded, context], -1), state)
        logits = self.output(embedded + self.output_h(h) + self.output_z(context))
        weights = weights.view(-1, *shape)
        emit("attention", weights)
        return logits, weights, DecoderState(h, c)

    # --- training and evaluation ------------------------------------------------------------

    def forward(
        self,
        images: Tensor,
        targets: Tensor | None = None,
        max_length: int | None = None,
        *,
        trace: Trace | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Decode T steps: T = the targets' length when given, else ``max_length``.

        images (B, C, H, W) float, targets (T, B) long or None. Returns logits (T, B, V) and
        attention (T, B, H', W'). The targets are fed back only in training mode; ``trace``
        records each step's attention as one Trace step.
        """
        self.check_images(images)
        if targets is not None:
            self.check_targets(targets, images.shape[0])
            steps = targets.shape[0]
        elif max_length is None:
            raise ValueError("ShowAttendTell.forward needs the targets or a max_length")
        else:
            steps = max_length
        check_max_length(steps)
        if trace is None:
            return self._decode_steps(images, targets, steps, None)
        with tracing(trace):
            out = self._decode_steps(images, targets, steps, trace)
        trace.finish()
        return out

    def _decode_steps(
        self, images: Tensor, targets: Tensor | None, steps: int, trace: Trace | None
    ) -> tuple[Tensor, Tensor]:
        grid, state = self.encode(images)
        shape = self.grid_shape(*images.shape[2:])
        forcing = self.training and targets is not None
        previous = torch.full((images.shape[0],), BOS, dtype=torch.long, device=images.device)
        all_logits, all_weights = [], []
        for t in range(steps):
            logits, weights, state = self.step(previous, state, grid, shape)
            all_logits.append(logits)
            all_weights.append(weights)
            if trace is not None:
                trace.next_step()
            if t + 1 < steps:
                previous = targets[t] if forcing else logits.detach().argmax(-1)
        return torch.stack(all_logits), torch.stack(all_weights)

    def loss(self, task, batch) -> tuple[Tensor, Tensor]:
        """The trainer's contract: (task loss + λ · the doubly stochastic penalty over the real
        output steps, task loss), from teacher-forced logits. Without attention, or with λ = 0,
        the two are the same."""
        logits, attention = self(batch.inputs, batch.targets)
        task_loss = task.loss(logits, batch)
        if self.attention is None or self.doubly_stochastic == 0:
            return task_loss, task_loss
        penalty = doubly_stochastic_penalty(attention, batch.mask)
        return task_loss + self.doubly_stochastic * penalty, task_loss

    def evaluation_outputs(self, batch) -> Tensor:
        """(T, B, V) logits of greedy decoding for T = the targets' length, without reading the
        targets: what the trainer scores."""
        logits, _ = self(batch.inputs, max_length=batch.targets.shape[0])
        return logits

    def traced(self, batch) -> tuple[Tensor, Trace]:
        """:meth:`evaluation_outputs` and a Trace of each output step's ``attention`` (B, H',
        W') (and the gate β_t as ``attention_gate``)."""
        trace = Trace()
        logits, _ = self(batch.inputs, max_length=batch.targets.shape[0], trace=trace)
        return logits, trace

    def extra_metrics(self, task, context: EvaluationContext) -> dict[str, float]:
        """With attention, ``attention_on_digit``: the mean fraction of each output step's
        attention that falls on the digit it writes (:func:`held_out_attention_on_digits`)."""
        if self.attention is None:
            return {}
        return {
            "attention_on_digit": held_out_attention_on_digits(
                self, task, context.seed, context.sequences, context.batch_size, context.length
            )
        }

    @torch.no_grad()
    def decode(self, images: Tensor, max_length: int = 100) -> Decoding:
        """Greedy decoding of each image until EOS or ``max_length`` tokens.

        Returns a :class:`~augrnn.attention.seq2seq.Decoding` whose ``attention[b]`` is the
        (len(tokens), H', W') attention of every decoded step of image b.
        """
        check_max_length(max_length)
        self.check_images(images)
        grid, state = self.encode(images)
        shape = self.grid_shape(*images.shape[2:])
        hypotheses = greedy_search(
            lambda previous, s: self.step(previous, s, grid, shape),
            state,
            images.shape[0],
            max_length,
            bos=BOS,
            eos=EOS,
            device=images.device,
        )
        return Decoding(
            [h.tokens for h in hypotheses],
            [h.attention.clone() for h in hypotheses],
            [h.log_prob for h in hypotheses],
            [h.score for h in hypotheses],
        )


@torch.no_grad()
def held_out_attention_on_digits(
    model: ShowAttendTell,
    task,
    eval_seed: int,
    sequences: int,
    batch_size: int,
    length: int | None = None,
) -> float:
    """:func:`attention_on_digits` of greedy decoding on the held-out episodes that the trainer
    scores (the same seed and draws as its evaluation set, from the test pool of images)."""
    generator = torch.Generator().manual_seed(eval_seed + (length or 0))
    masses, remaining = [], sequences
    while remaining > 0:
        size = min(batch_size, remaining)
        batch, spans = task.sample_with_spans(size, generator, length=length, pool="test")
        _, attention = model(batch.inputs, max_length=batch.targets.shape[0])
        stride = batch.inputs.shape[-1] // attention.shape[-1]
        masses.append(digit_attention_mass(attention, spans, column_stride=stride).flatten())
        remaining -= size
    return float(torch.cat(masses).nanmean())


@dataclass
class ShowAttendTellConfig(ModelConfig):
    """Show, attend and tell (model kind ``show_attend_tell``): the keyword arguments of
    :class:`ShowAttendTell` with its defaults; the image channels and the target vocabulary are
    the task's."""

    #: Width D_c of the CNN's feature maps (its first layer has half as many).
    channels: int = 64
    #: Sinusoidal column encodings appended to each CNN feature vector (0: none), so that the
    #: attention can tell left from right.
    position_features: int = 16
    embedding_size: int = 32
    hidden_size: int = 128
    #: "soft" (the paper's additive attention) or "none" (the context is the mean feature).
    attention: str = "soft"
    #: The gate β_t = σ(f_β(h_{t−1})) on the attended context.
    gate: bool = True
    #: λ of the doubly stochastic regulariser λ Σ_i (1 − Σ_t α_ti)².
    doubly_stochastic: float = 1.0

    RANGES: ClassVar[dict[str, Range]] = {
        "channels": at_least(1),
        "position_features": at_least(0),
        "embedding_size": at_least(1),
        "hidden_size": at_least(1),
        "doubly_stochastic": at_least(0),
    }

    def summary(self, kind: str) -> str:
        return f"{kind} + {self.attention}"


def build_show_attend_tell(
    config: ShowAttendTellConfig, input_size: int, output_size: int
) -> ShowAttendTell:
    """Show, attend and tell from images of ``input_size`` channels to ``output_size`` ids."""
    return ShowAttendTell(output_size, in_channels=input_size, **dataclasses.asdict(config))


MODEL_KINDS = {
    "show_attend_tell": ModelKind(
        ShowAttendTellConfig,
        build_model=build_show_attend_tell,
        description="a CNN encoder with an attentional LSTM decoder over images",
    )
}
