"""Every benchmark at tiny sizes: the documented keys, with positive finite figures."""

import math

import pytest

from augrnn.bench import BENCHMARKS, Options

TINY = {
    "ntm": {"length": 2, "controller_size": 4, "memory_slots": 4, "memory_width": 3},
    "act": {
        "cores": ("lstm", "ntm"),
        "ponder": (1, 2),
        "input_steps": 2,
        "hidden_size": 4,
        "controller_size": 4,
        "memory_slots": 4,
        "memory_width": 3,
    },
    "attention": {"source_length": 3, "target_length": 2, "hidden_size": 4, "embedding_size": 3},
    "programmer": {"rows": 3, "embedding_size": 3, "hidden_size": 4, "program_steps": 2},
    "peers": {"size": 3, "hidden_size": 4, "ponder": (1, 3)},
    "dnc": {
        "length": 2,
        "controller_size": 4,
        "memory_slots": 4,
        "memory_width": 3,
        "read_heads": 2,
    },
    "stack": {"length": 2, "controller_size": 4, "memory_width": 3},
    "memnet": {"embedding_size": 4, "hops": 2, "hidden_size": 5},
    "neural_gpu": {"length": 2, "maps": 3, "rows": 2, "layers": 1},
    "nram": {"length": 2, "registers": 2, "hidden_size": 4},
    "rl_ntm": {"length": 2, "hidden_size": 4, "memory_width": 3},
    "speech": {
        "frames": 9,
        "characters": 3,
        "listener_size": 3,
        "speller_size": 4,
        "speller_layers": 1,
    },
}
OPTIONS = Options(batch_sizes=[2], repeats=1, warmup=1, memory=False, compile=False, min_time=0)

TIMES = {
    "ntm": ("step_s", "sequences_per_s", "ratio_to_lstm_cell"),
    "act": ("ms_per_input_step", "sequences_per_s", "ratio_to_alone"),
    "attention": (
        "decode_ms_per_step",
        "train_ms_per_token",
        "train_sequences_per_s",
        "decode_ratio_to_none",
        "train_ratio_to_none",
    ),
    "programmer": ("step_s", "sequences_per_s", "ratio_to_question_lstm"),
    "peers": ("step_s", "sequences_per_s", "ratio_to_augrnn"),
    "dnc": ("step_s", "sequences_per_s", "ratio_to_lstm_cell"),
    "stack": ("step_s", "sequences_per_s", "ratio_to_lstm_cell"),
    "memnet": ("step_s", "sequences_per_s", "ratio_to_lstm"),
    "neural_gpu": ("step_s", "sequences_per_s", "ratio_to_lstm_cell"),
    "nram": ("step_s", "sequences_per_s", "ratio_to_lstm_cell"),
    "rl_ntm": ("step_s", "sequences_per_s", "ratio_to_lstm_cell"),
    "speech": ("step_s", "sequences_per_s", "ratio_to_lstm_cell", "ratio_to_no_attention"),
}
CONTENDERS = {
    "ntm": {"lstm_cell", "ntm_eager"},
    "act": {"alone", "act_eager"},
    "programmer": {"question_lstm", "programmer"},
    "peers": {"augrnn", "peer"},
    "dnc": {"lstm_cell", "dnc_eager"},
    "stack": {"lstm_cell", "stack_eager"},
    "memnet": {"lstm", "memn2n"},
    "neural_gpu": {"lstm_cell", "neural_gpu_eager"},
    "nram": {"lstm_cell", "nram_eager"},
    "rl_ntm": {"lstm_cell", "rl_ntm_eager", "rl_ntm_memory"},
    "speech": {"lstm_cell", "las_none", "las_content", "las_location", "ctc"},
}
BASELINE = {
    "ntm": ("contender", "lstm_cell", "ratio_to_lstm_cell"),
    "act": ("contender", "alone", "ratio_to_alone"),
    "attention": ("attention", "none", "train_ratio_to_none"),
    "programmer": ("contender", "question_lstm", "ratio_to_question_lstm"),
    "peers": ("contender", "augrnn", "ratio_to_augrnn"),
    "dnc": ("contender", "lstm_cell", "ratio_to_lstm_cell"),
    "stack": ("contender", "lstm_cell", "ratio_to_lstm_cell"),
    "memnet": ("contender", "lstm", "ratio_to_lstm"),
    "neural_gpu": ("contender", "lstm_cell", "ratio_to_lstm_cell"),
    "nram": ("contender", "lstm_cell", "ratio_to_lstm_cell"),
    "rl_ntm": ("contender", "lstm_cell", "ratio_to_lstm_cell"),
    "speech": ("contender", "las_none", "ratio_to_no_attention"),
}


def test_the_registry_holds_the_five_comparisons_in_order():
    names = list(BENCHMARKS)
    assert names[:5] == ["ntm", "act", "attention", "programmer", "peers"]


@pytest.mark.parametrize("name", list(TINY))
def test_run_returns_the_documented_figures(name):
    if name == "peers":
        pytest.importorskip("pytorch_adaptive_computation_time")
    module = BENCHMARKS[name]
    report = module.run(OPTIONS, **TINY[name])
    assert report["benchmark"] == name
    assert report["threads"] >= 1 and report["repeats"] == 1
    rows = report["results"]
    assert rows and all(r["batch_size"] == 2 for r in rows)
    for row in rows:
        for key in TIMES[name]:
            assert math.isfinite(row[key]) and row[key] > 0, (key, row)
        assert row["peak_memory_bytes"] is None  # memory was switched off
    if name in CONTENDERS:
        # a peer package's contender joins when it imports (the dnc package)
        assert {r["contender"] for r in rows} - {"dnc_package"} == CONTENDERS[name]
    field, baseline, ratio = BASELINE[name]
    assert all(r[ratio] == 1.0 for r in rows if r[field] == baseline)
    assert module.table(report).count("\n") >= len(rows)


@pytest.mark.parametrize("name", list(TINY))
def test_unknown_sizes_are_a_clear_error(name):
    with pytest.raises(ValueError, match="unknown .*sizes"):
        BENCHMARKS[name].run(OPTIONS, widht=3)


def test_unknown_contender_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown ntm contender"):
        BENCHMARKS["ntm"].build_step("gru", device="cpu", batch_size=1, **TINY["ntm"])


def test_the_dnc_package_is_timed_beside_ours_when_it_imports():
    pytest.importorskip("dnc")
    report = BENCHMARKS["dnc"].run(OPTIONS, **TINY["dnc"])
    assert {r["contender"] for r in report["results"]} == {"lstm_cell", "dnc_eager", "dnc_package"}
