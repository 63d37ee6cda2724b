"""ACT's benchmark: the fixed halting unit and the rows it reports."""

from augrnn.bench import Options, act

OPTIONS = Options(batch_sizes=[2], repeats=1, warmup=1, memory=False, compile=False, min_time=0)
TINY = {
    "cores": ("lstm", "ntm"),
    "ponder": (1, 2),
    "input_steps": 2,
    "hidden_size": 4,
    "controller_size": 4,
    "memory_slots": 4,
    "memory_width": 3,
}


def test_act_rows_cover_every_core_and_ponder_count():
    report = act.run(OPTIONS, **TINY)
    seen = {(r["core"], r["ponder_steps"]) for r in report["results"]}
    assert seen == {("lstm", 1), ("lstm", 2), ("ntm", 1), ("ntm", 2)}


def test_act_fixed_halting_takes_exactly_n_steps():
    for ponder in (1, 2, 3, 5):
        assert act.ponder_steps_taken("lstm", ponder, hidden_size=4, batch_size=3) == ponder
        taken = act.ponder_steps_taken(
            "ntm", ponder, 4, 3, controller_size=4, memory_slots=4, memory_width=3
        )
        assert taken == ponder
