"""The end-to-end memory network, MemN2N (model kind ``memn2n``; Sukhbaatar, Szlam, Weston &
Fergus 2015, "End-To-End Memory Networks", §2 and §4.1).

A story's statements x_i (words x_ij) are embedded twice per hop, as memories m_i = Σ_j l_j ∘
A x_ij (+ T_A(i)) and outputs c_i = Σ_j l_j ∘ C x_ij (+ T_C(i)); the question as u¹ = Σ_j l_j ∘
B q_j. Each hop k reads

    p_i = softmax_i(uᵏᵀ m_i),   oᵏ = Σ_i p_i c_i,   uᵏ⁺¹ = uᵏ + oᵏ  (eqs. 1-2, §2.2)

and the answer is â = softmax(W u^{K+1}) (eq. 3). Options, as the paper names them:

- ``encoding``: "position" (PE, §4.1: l_kj = (1 − j/J) − (k/d)(1 − 2j/J), J the statement's
  words) or "bow" (l_j = 1);
- ``temporal``: add T_A(i), T_C(i), learned vectors of a statement's age (i = 0 the newest);
- ``random_noise`` (RN): in training, insert this share of empty memories into each story,
  which regularises T_A;
- ``linear_start_steps`` (LS): the memories' softmaxes are left out for the first training
  steps (the paper puts them back once the validation loss stops falling; here after a set
  number of steps);
- ``tying``: "adjacent" (A^{k+1} = C^k, B = A¹, temporal tables alike) or "layerwise" (one A
  and one C for all hops, uᵏ⁺¹ = H uᵏ + oᵏ).

The paper ties W to C^K (Wᵀ = C^K); here the answers are classes (a list of objects is one), so W
is a matrix of its own. The pad word (id 0) embeds to zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from augrnn.core import Trace
from augrnn.interface import ModelConfig
from augrnn.memnet.story_model import StoryModel, story_and_question
from augrnn.settings import Range, at_least, between, check_sizes

ENCODINGS = ("position", "bow")
TYING = ("adjacent", "layerwise")


def position_weights(lengths: Tensor, words: int, size: int) -> Tensor:
    """The position encoding l_kj = (1 − j/J) − (k/d)(1 − 2j/J) (§4.1) of each statement's
    words, j = 1..J its words, k = 1..d; zero on padding words.

    lengths: (...) long, J of each statement (0 for a padding statement).
    Returns (..., words, size).
    """
    j = torch.arange(1, words + 1, dtype=torch.float32, device=lengths.device)
    k = torch.arange(1, size + 1, dtype=torch.float32, device=lengths.device)
    J = lengths.clamp_min(1).unsqueeze(-1).float()  # (..., 1)
    ratio = (j / J).unsqueeze(-1)  # (..., words, 1)
    weights = (1 - ratio) - (k / size) * (1 - 2 * ratio)
    return weights * (j <= J).unsqueeze(-1)


def masked_attention(scores: Tensor, valid: Tensor, softmax: bool = True) -> Tensor:
    """p over memories: softmax of ``scores`` over the ``valid`` ones (0 elsewhere; all 0 when
    none is valid), or the scores themselves on them when ``softmax`` is off (linear start).

    scores: (B, S); valid: (B, S) bool. Returns (B, S).
    """
    if not softmax:
        return scores * valid
    # A large finite fill: a story with no valid memory gives zeros, not NaN.
    return torch.softmax(scores.masked_fill(~valid, -1e9), dim=-1) * valid


class MemN2N(StoryModel):
    """MemN2N over a story batch (:class:`~augrnn.tasks.babi.task.StoryBatch`: ``story`` (B, S,
    W) and ``question`` (B, W) word ids, pad 0).

    Args:
        vocabulary: V, the words (ids 0..V−1, 0 the pad).
        answers: the answer classes.
        embedding_size: d (the paper: 20 per task, 50 jointly).
        hops: K (the paper: 3).
        tying, encoding, temporal, random_noise, linear_start_steps: see the module.
        memory_size: the most statements a story may have (the paper: 50); sizes T_A, T_C.
    """

    def __init__(
        self,
        vocabulary: int,
        answers: int,
        *,
        embedding_size: int = 20,
        hops: int = 3,
        tying: str = "adjacent",
        encoding: str = "position",
        temporal: bool = True,
        random_noise: float = 0.1,
        linear_start_steps: int = 0,
        memory_size: int = 50,
    ):
        super().__init__()
        check_sizes(
            type(self).__name__,
            vocabulary=vocabulary,
            answers=answers,
            embedding_size=embedding_size,
            hops=hops,
            memory_size=memory_size,
        )
        if tying not in TYING:
            raise ValueError(f"tying must be one of {', '.join(TYING)}, got {tying!r}")
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
        self.vocabulary = vocabulary
        self.embedding_size = embedding_size
        self.hops = hops
        self.tying = tying
        self.encoding = encoding
        self.temporal = temporal
        self.random_noise = random_noise
        self.linear_start_steps = linear_start_steps
        self.memory_size = memory_size
        slots = memory_size + math.ceil(random_noise * memory_size)
        tables = hops + 1 if tying == "adjacent" else 3  # adjacent: E_0..E_K; layerwise: A, C, B
        self.embeddings = nn.ModuleList(
            nn.Embedding(vocabulary, embedding_size, padding_idx=0) for _ in range(tables)
        )
        for table in self.embeddings:
            nn.init.normal_(table.weight, std=0.1)
            with torch.no_grad():
                table.weight[0].zero_()
        self.ages = (
            nn.ParameterList(
                nn.Parameter(torch.randn(slots, embedding_size) * 0.1) for _ in range(tables)
            )
            if temporal
            else None
        )
        self.mixing = (
            nn.Linear(embedding_size, embedding_size, bias=False) if tying == "layerwise" else None
        )
        self.answer = nn.Linear(embedding_size, answers, bias=False)
        nn.init.normal_(self.answer.weight, std=0.1)
        #: Training steps taken, for the linear start.
        self.register_buffer("steps_taken", torch.zeros((), dtype=torch.long))

    # --- the paper's tables ----------------------------------------------------------------

    def _tables(self, hop: int) -> tuple[int, int]:
        """The indices of A^k and C^k (k = hop + 1) among the embeddings (and ages)."""
        if self.tying == "adjacent":
            return hop, hop + 1
        return 0, 1

    @property
    def _question_table(self) -> int:
        return 0 if self.tying == "adjacent" else 2

    @property
    def linear(self) -> bool:
        """Whether the memories' softmaxes are left out now (the linear start)."""
        return self.training and int(self.steps_taken) < self.linear_start_steps

    # --- forward -----------------------------------------------------------------------------

    def encode(self, table: int, words: Tensor) -> Tensor:
        """Σ_j l_j ∘ E x_j over the last dimension of ``words`` (..., W) -> (..., d)."""
        embedded = self.embeddings[table](words)  # (..., W, d)
        if self.encoding == "bow":
            return embedded.sum(-2)
        lengths = (words > 0).sum(-1)
        weights = position_weights(lengths, words.shape[-1], self.embedding_size)
        return (weights.to(embedded.dtype) * embedded).sum(-2)

    def memory_layout(self, batch: Any) -> tuple[Tensor, Tensor, Tensor]:
        """Where each statement sits among the memory slots, with random noise's empty slots in
        training: (statement index (B, S') long, −1 for an empty slot; valid (B, S') bool; age
        (B, S') long, 0 the newest)."""
        lengths = batch.lengths
        longest = int(batch.story.shape[1])
        if longest > self.memory_size:
            raise ValueError(
                f"a story of {longest} statements is longer than the model's memory_size="
                f"{self.memory_size} (the task's memory_size must not exceed it)"
            )
        b = lengths.shape[0]
        empties = torch.zeros_like(lengths)
        if self.training and self.random_noise > 0:
            empties = torch.ceil(self.random_noise * lengths.float()).long()
        slots_used = lengths + empties
        slots = max(int(slots_used.max()), 1)
        index = torch.full((b, slots), -1, dtype=torch.long, device=lengths.device)
        for i in range(b):
            n, used = int(lengths[i]), int(slots_used[i])
            filled = torch.sort(torch.randperm(used, device=lengths.device)[:n]).values
            index[i, filled] = torch.arange(n, device=lengths.device)
        position = torch.arange(slots, device=lengths.device).unsqueeze(0)
        valid = position < slots_used.unsqueeze(1)
        age = (slots_used.unsqueeze(1) - 1 - position).clamp_min(0)
        return index, valid, age

    def forward(self, batch: Any, trace: Trace | None = None) -> Tensor:
        """Answer logits (B, answers)."""
        story, question = story_and_question(batch, self.vocabulary, "memn2n")
        index, valid, age = self.memory_layout(batch)
        u = self.encode(self._question_table, question)  # (B, d)
        gather = index.clamp_min(0)
        empty = (index < 0).unsqueeze(-1)
        embedded: dict[int, Tensor] = {}

        def memories(table: int) -> Tensor:
            if table not in embedded:
                sentences = self.encode(table, story)  # (B, S, d)
                slots = sentences.gather(
                    1, gather.unsqueeze(-1).expand(-1, -1, sentences.shape[-1])
                )
                slots = slots.masked_fill(empty, 0.0)
                if self.ages is not None:
                    slots = slots + self.ages[table][age]
                embedded[table] = slots
            return embedded[table]

        linear = self.linear
        for hop in range(self.hops):
            a, c = self._tables(hop)
            scores = torch.einsum("bsd,bd->bs", memories(a), u)
            p = masked_attention(scores, valid, softmax=not linear)
            o = torch.einsum("bs,bsd->bd", p, memories(c))
            u = (u if self.mixing is None else self.mixing(u)) + o
            if trace is not None:
                trace.record("memory_attention", p)
                trace.next_step()
        if trace is not None:
            trace.finish()
        return self.answer(u)

    def loss(self, task: Any, batch: Any) -> tuple[Tensor, Tensor]:
        """The answer's cross-entropy; a training call counts a step of the linear start."""
        losses = super().loss(task, batch)
        if self.training:
            self.steps_taken += 1
        return losses


@dataclass
class MemN2NConfig(ModelConfig):
    """MemN2N (model kind ``memn2n``): the keyword arguments of :class:`MemN2N`; defaults the
    paper's per-task bAbI model with PE and RN (d = 20, K = 3, adjacent tying, temporal
    encoding, 10% random noise); the linear start is off unless given steps."""

    embedding_size: int = 20
    hops: int = 3
    tying: str = "adjacent"
    encoding: str = "position"
    temporal: bool = True
    random_noise: float = 0.1
    linear_start_steps: int = 0
    memory_size: int = 50

    RANGES: ClassVar[dict[str, Range]] = {
        "embedding_size": at_least(1),
        "hops": at_least(1),
        "random_noise": between(0, 1),
        "linear_start_steps": at_least(0),
        "memory_size": at_least(1),
    }

    def summary(self, kind: str) -> str:
        return f"{kind} ({self.hops} hops, {self.encoding})"


def build_memn2n(config: MemN2NConfig, input_size: int, output_size: int) -> MemN2N:
    return MemN2N(
        input_size,
        output_size,
        embedding_size=config.embedding_size,
        hops=config.hops,
        tying=config.tying,
        encoding=config.encoding,
        temporal=config.temporal,
        random_noise=config.random_noise,
        linear_start_steps=config.linear_start_steps,
        memory_size=config.memory_size,
    )
