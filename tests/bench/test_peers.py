"""The peers benchmark: equal ponder steps on both sides, and a clean skip without the peer."""

import sys

import pytest

from augrnn.bench import Options, peers

OPTIONS = Options(batch_sizes=[2], repeats=1, warmup=1, memory=False, compile=False, min_time=0)
TINY = {"size": 3, "hidden_size": 4, "ponder": (1, 3)}


def test_peers_both_ponder_the_fixed_number_of_steps():
    pytest.importorskip("pytorch_adaptive_computation_time")
    # The full sizes at batch 1: 18 Adam steps moved learning halting units off n = 3.
    options = Options(
        batch_sizes=[1], repeats=15, warmup=3, memory=False, compile=False, min_time=0
    )
    report = peers.run(options, size=8, hidden_size=128, ponder=(3,))
    for row in report["results"]:
        assert row["mean_ponder_steps_before"] == row["fixed_ponder"], row
        assert row["mean_ponder_steps_after"] == row["fixed_ponder"], row


def test_peers_skip_with_the_install_command_when_the_package_is_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "pytorch_adaptive_computation_time", None)
    report = peers.run(OPTIONS, **TINY)
    assert report["results"] == []
    assert "pip install --no-deps pytorch-adaptive-computation-time" in report["skipped"]
    assert peers.table(report) == report["skipped"]


@pytest.mark.parametrize("ponder", [1, 2, 4, 10])
def test_halting_probabilities_give_the_same_steps_under_both_rules(ponder):
    # augrnn: first n with n*h >= 1 - eps; the peer: first n with (n + 1)*h > 1 - eps.
    def first(rule, h):
        return next(n for n in range(1, 100) if rule(n, h))

    augrnn_h = peers.halting_probability("augrnn", ponder)
    peer_h = peers.halting_probability("peer", ponder)
    assert first(lambda n, h: n * h >= 1 - peers.EPSILON, augrnn_h) == ponder
    assert first(lambda n, h: (n + 1) * h > 1 - peers.EPSILON, peer_h) == ponder


def test_fixed_ponder_out_of_range_is_a_clear_error():
    with pytest.raises(ValueError, match=r"fixed ponder steps must be in \[1, 49\]"):
        peers.halting_probability("augrnn", 50)
