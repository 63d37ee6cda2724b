"""The Dynamic Memory Network (model kind ``dmn``; Kumar et al. 2015, "Ask Me Anything: Dynamic
Memory Networks for Natural Language Processing", §2), with the DMN+ modules of Xiong, Merity &
Socher 2016 ("Dynamic Memory Networks for Visual and Textual Question Answering", §3) as options.

**Input module.** ``input_module="gru"`` (DMN): one GRU reads every word of the story; the
facts c_t are its states at the end of each statement. ``"fusion"`` (DMN+): each statement is
encoded by position, f_i = Σ_j l_j ∘ E w_ij (MemN2N's position encoding), then a bidirectional
GRU over the statements fuses them, f_i = f→_i + f←_i.

**Question module.** q is the final state of the same GRU over the question's words (DMN+: a
GRU of its own).

**Episodic memory**, ``passes`` times, m⁰ = q:

- ``attention="gate"`` (DMN): z = [c; m; q; c∘q; c∘m; |c − q|; |c − m|; cᵀW^b q; cᵀW^b m],
  g_t = σ(W² tanh(W¹ z + b¹) + b²), and the episode e is the last state of
  h_t = g_t GRU(c_t, h_{t−1}) + (1 − g_t) h_{t−1};
- ``"attention_gru"`` (DMN+): z = [f∘q; f∘m; |f − q|; |f − m|], g = softmax_t(W² tanh(W¹ z
  + b¹) + b²), and the context is the last state of the attention GRU h_t = g_t h̃_t + (1 − g_t)
  h_{t−1} (h̃_t the GRU's candidate, with its reset gate; the update gate replaced by g_t).

and the memory is updated by ``memory_update="gru"`` (DMN: m^i = GRU(e^i, m^{i−1})) or
``"relu"`` (DMN+: m^i = ReLU(W^i [m^{i−1}; c^i; q] + b), untied across passes).

**Answer module** (both papers): one step of a GRU from a⁰ = m^{passes} with input [y₀ = 0;
q], then softmax(W^a a¹) (answers are one class here, so one step).

The DMN paper supervises the gates with the supporting facts; here training uses the answers
alone (weak supervision), as MemN2N does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from augrnn.core import Trace
from augrnn.interface import ModelConfig
from augrnn.memnet.memn2n import position_weights
from augrnn.memnet.story_model import StoryModel, story_and_question
from augrnn.settings import Range, at_least, check_sizes

INPUT_MODULES = ("gru", "fusion")
ATTENTIONS = ("gate", "attention_gru")
MEMORY_UPDATES = ("gru", "relu")
#: The word id that ends a statement in the input module's word sequence (the task's ".").
END_OF_STATEMENT = 1


def run_gru(gru: nn.GRU, embedded: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """``gru`` over (B, L, d) sequences of ``lengths`` (B,) (each >= 1): (states (B, L, H·dirs)
    zero past each length, final states (dirs, B, H))."""
    packed = pack_padded_sequence(
        embedded, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False
    )
    states, last = gru(packed)
    states, _ = pad_packed_sequence(states, batch_first=True, total_length=embedded.shape[1])
    return states, last


class AttentionGRUCell(nn.Module):
    """The DMN+ attention GRU (Xiong et al. 2016, §3.3): h = g h̃ + (1 − g) h_prev, with
    h̃ = tanh(W f + r ∘ (U h_prev) + b), r = σ(W^r f + U^r h_prev + b^r); g a scalar per
    episode in place of the update gate."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.inputs = nn.Linear(input_size, 2 * hidden_size)
        self.hidden = nn.Linear(hidden_size, 2 * hidden_size, bias=False)

    def forward(self, f: Tensor, h: Tensor, g: Tensor) -> Tensor:
        """f (B, d), h (B, H), g (B,) -> (B, H)."""
        reset_in, candidate_in = self.inputs(f).chunk(2, dim=-1)
        reset_h, candidate_h = self.hidden(h).chunk(2, dim=-1)
        r = torch.sigmoid(reset_in + reset_h)
        candidate = torch.tanh(candidate_in + r * candidate_h)
        g = g.unsqueeze(-1)
        return g * candidate + (1 - g) * h


class DMN(StoryModel):
    """The Dynamic Memory Network over a story batch (:class:`~augrnn.tasks.babi.task.
    StoryBatch`: ``story`` (B, S, W) and ``question`` (B, W) word ids, pad 0, "." id 1).

    Args:
        vocabulary: V, the words (ids 0..V−1).
        answers: the answer classes.
        hidden_size: H, the word vectors' and every GRU's width (DMN+: 80).
        passes: the episodic memory's passes (3).
        input_module, attention, memory_update: see the module.
    """

    def __init__(
        self,
        vocabulary: int,
        answers: int,
        *,
        hidden_size: int = 80,
        passes: int = 3,
        input_module: str = "gru",
        attention: str = "gate",
        memory_update: str = "gru",
    ):
        super().__init__()
        check_sizes(
            type(self).__name__,
            vocabulary=vocabulary,
            answers=answers,
            hidden_size=hidden_size,
            passes=passes,
        )
        for name, value, allowed in (
            ("input_module", input_module, INPUT_MODULES),
            ("attention", attention, ATTENTIONS),
            ("memory_update", memory_update, MEMORY_UPDATES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        h = hidden_size
        self.vocabulary, self.hidden_size, self.passes = vocabulary, h, passes
        self.input_module, self.attention, self.memory_update = (
            input_module,
            attention,
            memory_update,
        )
        self.embedding = nn.Embedding(vocabulary, h, padding_idx=0)
        self.reader = nn.GRU(h, h, batch_first=True)  # DMN: story and question; DMN+: question
        if input_module == "fusion":
            self.fusion = nn.GRU(h, h, batch_first=True, bidirectional=True)
        features = 7 * h + 2 if attention == "gate" else 4 * h
        self.bilinear = nn.Linear(h, h, bias=False) if attention == "gate" else None
        self.scorer = nn.Sequential(nn.Linear(features, h), nn.Tanh(), nn.Linear(h, 1))
        if attention == "gate":
            self.episode_cell: nn.Module = nn.GRUCell(h, h)
        else:
            self.episode_cell = AttentionGRUCell(h, h)
        if memory_update == "gru":
            self.memory_cell = nn.GRUCell(h, h)
        else:
            self.memory_layers = nn.ModuleList(nn.Linear(3 * h, h) for _ in range(passes))
        self.answer_cell = nn.GRUCell(answers + h, h)
        self.answer = nn.Linear(h, answers)
        self.answers = answers

    # --- modules -----------------------------------------------------------------------------

    def read_question(self, question: Tensor) -> Tensor:
        """q: the reader GRU's last state over the question's words, (B, W) -> (B, H)."""
        lengths = (question > 0).sum(-1)
        _, last = run_gru(self.reader, self.embedding(question), lengths)
        return last[-1]

    def facts(self, story: Tensor, lengths: Tensor) -> Tensor:
        """The facts, (B, S, W) word ids -> (B, S, H), zero past each story's statements."""
        b, s, w = story.shape
        valid = torch.arange(s, device=story.device).unsqueeze(0) < lengths.unsqueeze(1)
        if self.input_module == "fusion":
            weights = position_weights((story > 0).sum(-1), w, self.hidden_size)
            sentences = (weights * self.embedding(story)).sum(-2)  # (B, S, H)
            fused, _ = run_gru(self.fusion, sentences, lengths)
            forward, backward = fused.chunk(2, dim=-1)
            return (forward + backward) * valid.unsqueeze(-1)
        # One word sequence per story: each statement's words, then ".".
        ends = torch.where(valid, END_OF_STATEMENT, 0).unsqueeze(-1)
        flat = torch.cat([story, ends], dim=-1).reshape(b, -1)  # (B, S (W + 1))
        kept = [row[row > 0] for row in flat]
        words = pad_sequence(kept, batch_first=True)  # (B, L)
        states, _ = run_gru(self.reader, self.embedding(words), (words > 0).sum(-1))
        facts = states.new_zeros(b, s, self.hidden_size)
        for i, row in enumerate(words):
            at = (row == END_OF_STATEMENT).nonzero().flatten()
            facts[i, : len(at)] = states[i, at]
        return facts

    def scores(self, facts: Tensor, memory: Tensor, q: Tensor) -> Tensor:
        """The attention logits of every fact: (B, S, H), (B, H), (B, H) -> (B, S)."""
        m, qq = memory.unsqueeze(1).expand_as(facts), q.unsqueeze(1).expand_as(facts)
        if self.bilinear is None:
            z = [facts * qq, facts * m, (facts - qq).abs(), (facts - m).abs()]
        else:
            projected = self.bilinear(facts)  # c^T W^b
            z = [
                facts, m, qq, facts * qq, facts * m, (facts - qq).abs(), (facts - m).abs(),
                (projected * qq).sum(-1, keepdim=True), (projected * m).sum(-1, keepdim=True),
            ]  # fmt: skip
        return self.scorer(torch.cat(z, dim=-1)).squeeze(-1)

    def episode(self, facts: Tensor, gates: Tensor, lengths: Tensor) -> Tensor:
        """The episode (DMN) or context (DMN+): the last state of the gated GRU over the facts,
        (B, S, H), (B, S) gates -> (B, H)."""
        h = facts.new_zeros(facts.shape[0], self.hidden_size)
        for t in range(facts.shape[1]):
            inside = (t < lengths).to(facts.dtype).unsqueeze(-1)
            g = gates[:, t]
            if self.attention == "gate":
                new = (
                    g.unsqueeze(-1) * self.episode_cell(facts[:, t], h) + (1 - g.unsqueeze(-1)) * h
                )
            else:
                new = self.episode_cell(facts[:, t], h, g)
            h = inside * new + (1 - inside) * h
        return h

    def forward(self, batch: Any, trace: Trace | None = None) -> Tensor:
        """Answer logits (B, answers)."""
        story, question = story_and_question(batch, self.vocabulary, "dmn")
        lengths = batch.lengths.to(story.device)
        q = self.read_question(question)
        facts = self.facts(story, lengths)
        valid = torch.arange(story.shape[1], device=story.device).unsqueeze(0) < lengths.unsqueeze(
            1
        )
        memory = q
        for i in range(self.passes):
            logits = self.scores(facts, memory, q)
            if self.attention == "gate":
                gates = torch.sigmoid(logits) * valid
            else:
                gates = torch.softmax(logits.masked_fill(~valid, -1e9), dim=-1) * valid
            episode = self.episode(facts, gates, lengths)
            if self.memory_update == "gru":
                memory = self.memory_cell(episode, memory)
            else:
                memory = torch.relu(self.memory_layers[i](torch.cat([memory, episode, q], -1)))
            if trace is not None:
                trace.record("memory_attention", gates)
                trace.next_step()
        if trace is not None:
            trace.finish()
        previous = q.new_zeros(q.shape[0], self.answers)
        return self.answer(self.answer_cell(torch.cat([previous, q], dim=-1), memory))


@dataclass
class DMNConfig(ModelConfig):
    """The Dynamic Memory Network (model kind ``dmn``): the keyword arguments of :class:`DMN`;
    defaults the DMN of Kumar et al. (a word-level GRU input module, sigmoid gates, a GRU memory
    update); ``input_module="fusion"``, ``attention="attention_gru"`` and
    ``memory_update="relu"`` together are DMN+."""

    hidden_size: int = 80
    passes: int = 3
    input_module: str = "gru"
    attention: str = "gate"
    memory_update: str = "gru"

    RANGES: ClassVar[dict[str, Range]] = {"hidden_size": at_least(1), "passes": at_least(1)}

    def summary(self, kind: str) -> str:
        plus = (self.input_module, self.attention, self.memory_update) == (
            "fusion",
            "attention_gru",
            "relu",
        )
        return f"{kind}{'+' if plus else ''} ({self.passes} passes)"


def build_dmn(config: DMNConfig, input_size: int, output_size: int) -> DMN:
    return DMN(
        input_size,
        output_size,
        hidden_size=config.hidden_size,
        passes=config.passes,
        input_module=config.input_module,
        attention=config.attention,
        memory_update=config.memory_update,
    )
