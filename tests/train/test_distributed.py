"""Data-parallel training (augrnn.train.distributed): two gloo processes started by torchrun
train one model, as one process would on the whole batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from augrnn.tasks.base import Batch
from augrnn.train import distributed
from augrnn.train.checkpoint import load_checkpoint
from augrnn.train.config import ConfigError, load_preset
from augrnn.train.distributed import DistributedError, Ranks
from augrnn.train.loop import Trainer, check_distributable

WORKER = Path(__file__).with_name("distributed_worker.py")
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
REPO = Path(__file__).resolve().parents[2]

# Fixed lengths, so that the ranks' shares of a step have one width and concatenate into the
# batch one process would see.
TINY_NTM = {
    "task.min_length": "3",
    "task.max_length": "3",
    "task.bits": "4",
    "model.controller_size": "12",
    "model.memory_slots": "8",
    "model.memory_width": "6",
    "optim.name": "adam",
    "optim.lr": "0.01",
}
TINY_ACT = {
    "task.size": "6",
    "model.core.hidden_size": "12",
    "model.max_steps": "5",
    "optim.lr": "0.01",
}
SHORT = {
    "train.steps": "4",
    "train.batch_size": "8",
    "train.eval_every": "1000",
    "train.eval_sequences": "8",
    "train.tensorboard": "false",
}


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in distributed.LAUNCH_VARIABLES}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}


def _concatenated(shares: list[Batch]) -> Batch:
    """The ranks' shares of one step as one batch (batch dimension 1, lengths 0)."""

    def cat(tensors, dim):
        return None if tensors[0] is None else torch.cat(tensors, dim)

    fields = list(zip(*shares, strict=True))
    return Batch(
        cat(fields[0], 1),
        cat(fields[1], 1),
        cat(fields[2], 1),
        cat(fields[3], 0),
        cat(fields[4], 1),
    )


@pytest.mark.parametrize(
    ("preset", "overrides"), [("copy", TINY_NTM), ("parity", TINY_ACT)], ids=["ntm", "act"]
)
def test_two_processes_train_as_one_does_on_the_whole_batch(tmp_path, preset, overrides):
    settings = {**overrides, **SHORT}
    finished = subprocess.run(
        [*TORCHRUN, str(WORKER), str(tmp_path), preset, json.dumps(settings)],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=180,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    result = torch.load(tmp_path / "result.pt", weights_only=False)
    assert result["world"] == 2
    # identical parameters on both ranks after every one of the 4 steps
    assert result["spreads"] == [0.0] * 4
    # the two ranks drew different episodes
    first = result["batches"]
    assert not torch.equal(first[0][0].inputs, first[1][0].inputs)

    single = Trainer(load_preset(preset, settings), tmp_path / "single")
    steps = iter(_concatenated(list(shares)) for shares in zip(*first, strict=True))
    single.sample_batch = lambda: (next(steps), False)
    single.train(progress=False)
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(result["state"][name], value, rtol=1e-4, atol=1e-5, msg=name)
    # and training moved them: the comparison is not of two untrained models
    untrained = Trainer(load_preset(preset, settings), tmp_path / "untrained").model
    assert any(
        not torch.allclose(untrained.state_dict()[name], value)
        for name, value in single.model.state_dict().items()
    )


def test_a_parameter_some_rank_left_unused_averages_with_zeros_under_ddp(tmp_path):
    finished = subprocess.run(
        [*TORCHRUN, str(WORKER), str(tmp_path), "unused"],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    for rank in (0, 1):
        # the same in a second step: DDP expects no particular set of parameters
        for grads in json.loads((tmp_path / f"grads{rank}.json").read_text()):
            assert grads["a"] == [1.5] * 3  # (1 + 2) / 2: both ranks used it
            assert grads["b"] == [2.0] * 3  # (0 + 4) / 2: rank 0 left it without a gradient
            assert grads["c"] in (None, [0.0] * 3)  # no rank used it: nothing to add


def _worker_pids(launcher: int) -> dict[int, int]:
    """The processes torchrun started under ``launcher``, by rank."""
    found, todo = {}, [launcher]
    while todo:
        pid = todo.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        todo += [int(child) for child in children]
        variables = dict(item.split(b"=", 1) for item in environ if b"=" in item)
        if pid != launcher and b"RANK" in variables and b"TORCHELASTIC_RUN_ID" in variables:
            found[int(variables[b"RANK"])] = pid
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_a_killed_rank_fails_the_run_and_the_checkpoint_resumes(tmp_path):
    run = tmp_path / "run"
    settings = {**TINY_NTM, **SHORT, "train.steps": "100000", "train.eval_every": "5"}
    command = [*TORCHRUN, "-m", "augrnn", "train", "copy", "--run-dir", str(run), "--no-progress"]
    launcher = subprocess.Popen(
        command + [f"--{key}={value}" for key, value in settings.items()],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(),
    )
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoint.pt").is_file() and time.monotonic() < deadline:
            assert launcher.poll() is None, launcher.stdout.read()[-3000:]
            time.sleep(0.2)
        workers = _worker_pids(launcher.pid)
        assert sorted(workers) == [0, 1]
        os.kill(workers[1], signal.SIGKILL)
        output, _ = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert launcher.returncode != 0
    assert "rank" in output and ("lost the other processes" in output or "FAILED" in output)
    saved = load_checkpoint(run)["step"]
    assert saved >= 5 and saved % 5 == 0
    # one process takes over the run of two
    resumed = subprocess.run(
        [sys.executable, "-m", "augrnn", "resume", str(run), "--no-progress"]
        + [f"--train.steps={saved + 5}"],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert load_checkpoint(run)["step"] == saved + 5


def test_a_batch_that_does_not_divide_among_the_processes_is_refused():
    config = load_preset("copy", {"train.batch_size": "6"})
    with pytest.raises(ConfigError, match="batch_size 6 does not divide among 4 processes"):
        check_distributable(config, Ranks(rank=0, world_size=4))


def test_restarts_are_refused_under_several_processes():
    config = load_preset(
        "copy",
        {
            "train.restarts": "3",
            "train.restart_steps": "10",
            "train.select_best": "true",
            "train.batch_size": "4",
        },
    )
    with pytest.raises(ConfigError, match="restarts"):
        check_distributable(config, Ranks(rank=0, world_size=2))


class _DisagreeingRanks(Ranks):
    """Two ranks, the second started with other settings."""

    def gather(self, value):
        return [value, "another fingerprint"]


def test_processes_started_with_different_settings_are_refused():
    config = load_preset("copy", {"train.batch_size": "4"})
    with pytest.raises(ConfigError, match="rank 1 differ from rank 0"):
        check_distributable(config, _DisagreeingRanks(rank=0, world_size=2))


def test_the_config_fingerprint_ignores_order_and_sees_every_setting():
    base = load_preset("copy").to_dict()
    reordered = dict(reversed(list(base.items())))
    assert distributed.config_fingerprint(base) == distributed.config_fingerprint(reordered)
    changed = load_preset("copy", {"model.controller_size": "99"}).to_dict()
    assert distributed.config_fingerprint(base) != distributed.config_fingerprint(changed)


def test_rank_zero_keeps_the_seed_and_other_ranks_draw_apart():
    assert distributed.rank_seed(7, 0) == 7
    seeds = {distributed.rank_seed(7, rank) for rank in range(8)}
    assert len(seeds) == 8
    assert all(0 <= seed < 2**63 for seed in seeds)


def test_several_processes_without_a_rendezvous_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(DistributedError, match="MASTER_ADDR, MASTER_PORT are not set.*torchrun"):
        distributed.setup("cpu")


@pytest.mark.parametrize("value", ["two", "0"])
def test_a_bad_world_size_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("WORLD_SIZE", value)
    with pytest.raises(DistributedError, match="WORLD_SIZE"):
        distributed.launched_world_size()


def test_a_single_process_needs_no_process_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ranks, device = distributed.setup("cpu")
    assert ranks == distributed.SINGLE and device == "cpu"
    assert ranks.on_main(lambda: 41 + 1) == 42
    assert ranks.gather("x") == ["x"]
    # the single-process figures pass through; only a batch at the curriculum's top counts
    assert ranks.agree_step(6.0, 3.0, True, 1.5) == (6.0, 3.0, 2.0, 1.5)
    assert ranks.agree_step(6.0, 3.0, False, 1.5)[2] is None


def test_an_error_from_a_vanished_rank_is_told_apart_and_shortened():
    gloo = RuntimeError(
        "[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:553] Connection closed by peer "
        "[127.0.0.1]:46482. This is typically caused by a remote worker crashing."
    )
    assert distributed.lost_peer(gloo)
    assert distributed.describe_lost_peer(gloo) == "Connection closed by peer [127.0.0.1]:46482"
    assert not distributed.lost_peer(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_two_processes_resume_their_run_exactly(tmp_path):
    settings = [f"--{key}={value}" for key, value in {**TINY_NTM, **SHORT}.items()]
    settings.append("--train.eval_every=2")

    def augrnn(*args: str, steps: int = 4) -> None:
        finished = subprocess.run(
            [
                *TORCHRUN,
                "-m",
                "augrnn",
                *args,
                "--no-progress",
                *settings,
                f"--train.steps={steps}",
            ],
            capture_output=True,
            text=True,
            env=_environment(),
            timeout=180,
        )
        assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]

    augrnn("train", "copy", "--run-dir", str(tmp_path / "straight"))
    augrnn("train", "copy", "--run-dir", str(tmp_path / "resumed"), steps=2)
    assert load_checkpoint(tmp_path / "resumed")["step"] == 2
    augrnn("resume", str(tmp_path / "resumed"))
    straight, resumed = (load_checkpoint(tmp_path / name) for name in ("straight", "resumed"))
    assert straight["step"] == resumed["step"] == 4
    for name, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    assert len(resumed["rank_states"]) == 1 and resumed["world_size"] == 2


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [(None, 0, ""), (3, 3, ""), ("Error: no such preset", 1, "Error: no such preset\n")],
)
def test_a_rank_exits_with_the_commands_status_and_its_output_flushed(code, status, stderr):
    script = (
        "import sys\n"
        "from augrnn.train.distributed import exit_rank\n"
        "print('unflushed', end='')\n"
        f"exit_rank({code!r})\n"
        "print('not reached')\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_environment()
    )
    assert (finished.returncode, finished.stdout, finished.stderr) == (status, "unflushed", stderr)
