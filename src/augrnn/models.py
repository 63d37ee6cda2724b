"""Building a model from its configuration."""

from __future__ import annotations

from augrnn.act import ACT
from augrnn.attention.seq2seq import Seq2Seq
from augrnn.attention.show_attend_tell import ShowAttendTell
from augrnn.controllers import Readout, build_controller
from augrnn.core import Core
from augrnn.memory.ntm import NTMCell, RecurrentModel
from augrnn.programmer.model import NeuralProgrammer
from augrnn.programmer.table_lstm import TableLSTM
from augrnn.train.config import ActConfig, ModelConfig

MODEL_KINDS = (
    "ntm",
    "lstm",
    "gru",
    "rnn",
    "seq2seq",
    "show_attend_tell",
    "programmer",
    "table_lstm",
)


def build_model(
    config: ModelConfig, input_size: int, output_size: int, act: ActConfig | None = None
) -> RecurrentModel | Seq2Seq | ShowAttendTell | NeuralProgrammer | TableLSTM:
    """A time-major sequence model mapping (T, B, input_size) to (T, B, output_size) logits.

    ``kind = "programmer"`` builds the Neural Programmer and ``kind = "table_lstm"`` its LSTM
    baseline (:class:`TableLSTM`), both from ``input_size`` word ids over tables of
    ``output_size`` columns; neither ponders.
    ``kind = "seq2seq"`` builds an attentional encoder-decoder (:class:`Seq2Seq`) from
    ``input_size`` source ids to ``output_size`` target ids; it does not ponder.
    ``kind = "show_attend_tell"`` builds a CNN encoder with an attentional decoder
    (:class:`ShowAttendTell`) from images of ``input_size`` channels to ``output_size`` target
    ids; it does not ponder either.

    With ``act.halting`` "act" or "pondernet" the model's core is wrapped in :class:`ACT`: the
    inner core reads the input plus the first-step flag and its output (the recurrent stack's
    hidden vector, or for the NTM a read-out of ``controller_size`` features) feeds the halting
    unit and the output layer.
    """
    pondering = act is not None and act.halting != "none"
    if config.kind in ("programmer", "table_lstm") and pondering:
        raise ValueError(f"model.kind {config.kind!r} does not support pondering (act.halting)")
    if config.kind == "table_lstm":
        # The table task's LSTM baseline: input_size word ids, output_size table columns.
        return TableLSTM(input_size, output_size, config.embedding_size, config.hidden_size)
    if config.kind == "programmer":
        # The Neural Programmer: input_size word ids, output_size table columns.
        return NeuralProgrammer(
            input_size,
            output_size,
            embedding_size=config.embedding_size,
            hidden_size=config.hidden_size,
            steps=config.program_steps,
            comparison_sharpness=config.comparison_sharpness,
            gradient_noise=config.gradient_noise,
            bidirectional=config.bidirectional_question,
            selection_entropy=config.selection_entropy,
            selection_penalty=config.selection_penalty,
            selection_loss_cap=config.selection_loss_cap,
            and_product=config.and_product,
            operation_noise=config.operation_noise,
            expected_extremes=config.expected_extremes,
            program_search=config.program_search,
            program_search_episodes=config.program_search_episodes,
        )
    if config.kind == "seq2seq":
        if pondering:
            raise ValueError("model.kind 'seq2seq' does not support pondering (act.halting)")
        return _seq2seq(config, input_size, output_size)
    if config.kind == "show_attend_tell":
        if pondering:
            raise ValueError(
                "model.kind 'show_attend_tell' does not support pondering (act.halting)"
            )
        return _show_attend_tell(config, input_size, output_size)
    if not pondering:
        return RecurrentModel(_core(config, input_size, output_size, with_readout=True))
    inner_output = config.controller_size if config.kind == "ntm" else config.hidden_size
    inner = _core(config, input_size + 1, inner_output, with_readout=False)
    return RecurrentModel(
        ACT(
            inner,
            output_size,
            halting=act.halting,
            tau=act.tau,
            epsilon=act.epsilon,
            max_steps=act.max_steps,
            halting_bias=act.halting_bias,
            beta=act.beta,
            prior=act.prior,
        )
    )


def _core(config: ModelConfig, input_size: int, output_size: int, *, with_readout: bool) -> Core:
    if config.kind == "ntm":
        return NTMCell(
            input_size,
            output_size,
            controller=config.controller,
            controller_size=config.controller_size,
            controller_layers=config.controller_layers,
            memory_slots=config.memory_slots,
            memory_width=config.memory_width,
            read_heads=config.read_heads,
            write_heads=config.write_heads,
            shift_width=config.shift_width,
            memory_init=config.memory_init,
            similarity=config.similarity,
            clip_controller_outputs=config.clip_controller_outputs,
            clip_state_gradients=config.clip_state_gradients,
        )
    if config.kind in ("lstm", "gru", "rnn"):
        stack = build_controller(config.kind, input_size, config.hidden_size, config.num_layers)
        return Readout(stack, output_size) if with_readout else stack
    raise ValueError(f"model.kind must be one of {MODEL_KINDS}, got {config.kind!r}")


def _seq2seq(config: ModelConfig, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    return Seq2Seq(
        source_vocab_size,
        target_vocab_size,
        embedding_size=config.embedding_size,
        hidden_size=config.hidden_size,
        encoder=config.encoder,
        attention=config.attention,
        no_attention_context=config.no_attention_context,
        local_window=config.local_window,
        teacher_forcing=config.teacher_forcing,
    )


def _show_attend_tell(config: ModelConfig, channels: int, target_vocab_size: int) -> ShowAttendTell:
    # The paper's soft attention scores e_ti = w·tanh(W_a a_i + W_h h_{t−1}) additively, as
    # Bahdanau's does, so the ModelConfig default "bahdanau" means the same.
    attention = "soft" if config.attention == "bahdanau" else config.attention
    return ShowAttendTell(
        target_vocab_size,
        in_channels=channels,
        channels=config.cnn_channels,
        position_features=config.position_features,
        embedding_size=config.embedding_size,
        hidden_size=config.hidden_size,
        attention=attention,
        gate=config.attention_gate,
        doubly_stochastic=config.doubly_stochastic,
    )
