"""The NRAM's memory tasks: each layout against a direct solution, arrays never NULL, memories
that grow with n, and the paper's error (wrong scored cells over scored cells)."""

import pytest
import torch

from augrnn.tasks.pointers import (
    POINTER_TASKS,
    AccessTask,
    CopyTask,
    IncrementTask,
    PointerTaskConfig,
    ReverseTask,
    SwapTask,
)


def solve(task, memory: list[int], n: int) -> list[int]:
    """The final memory, computed from the initial one as the task's description says."""
    m, out = len(memory), list(memory)
    if isinstance(task, AccessTask):
        out[0] = memory[1 + memory[0]]
    elif isinstance(task, IncrementTask):
        out[:n] = [(v + 1) % m for v in memory[:n]]
    elif isinstance(task, ReverseTask):
        p = memory[0]
        for i in range(n):
            out[p - i] = memory[1 + i]
    elif isinstance(task, CopyTask):
        p = memory[0]
        out[p : p + n] = memory[1 : n + 1]
    elif isinstance(task, SwapTask):
        p, q = memory[0], memory[1]
        out[p], out[q] = memory[q], memory[p]
    return out


@pytest.mark.parametrize("task_class", POINTER_TASKS)
def test_every_episode_s_targets_are_its_solution(task_class):
    task = task_class(PointerTaskConfig(min_size=2, max_size=9))
    batch = task.sample(40, torch.Generator().manual_seed(3))
    m = batch.memory.shape[0]
    assert m == task.memory_size(int(batch.lengths.max()))
    for b in range(40):
        n = int(batch.lengths[b])
        memory = batch.memory[:, b].tolist()
        assert batch.targets[:, b].tolist() == solve(task, memory, n)
        assert bool((batch.memory[:, b] < m).all())
        changed = batch.targets[:, b] != batch.memory[:, b]
        # only scored cells change, and every scored cell is one the task writes
        assert not bool((changed & (batch.mask[:, b] == 0)).any())
    assert batch.steps == task.timesteps(int(batch.lengths.max()))


@pytest.mark.parametrize("task_class", POINTER_TASKS)
def test_arrays_never_hold_null_and_a_fixed_n_fixes_the_memory(task_class):
    task = task_class(PointerTaskConfig())
    batch = task.sample(8, torch.Generator().manual_seed(0), length=30)
    assert batch.lengths.tolist() == [30] * 8
    assert batch.memory.shape == (task.cells(30), 8)
    start = {AccessTask: 1, IncrementTask: 0, CopyTask: 1, ReverseTask: 1, SwapTask: 2}[task_class]
    assert bool((batch.memory[start : start + 30] > 0).all())


def test_the_error_counts_wrong_scored_cells_only():
    task = CopyTask(PointerTaskConfig(min_size=3, max_size=3))
    batch = task.sample(4, torch.Generator().manual_seed(1))
    m = batch.memory.shape[0]
    right = torch.nn.functional.one_hot(batch.targets, m).float().clamp_min(1e-6).log()
    assert task.metrics(right, batch)["error_rate"] == 0.0
    wrong = right.clone()
    wrong[0] = right[0].roll(1, dims=-1)  # cell 0 is not scored
    assert task.metrics(wrong, batch)["error_rate"] == 0.0
    p = int(batch.memory[0, 0])
    wrong[p, 0] = right[p, 0].roll(1, dims=-1)  # one of 12 scored cells
    metrics = task.metrics(wrong, batch)
    assert metrics["error_rate"] == pytest.approx(1 / 12)
    assert metrics["episode_error_rate"] == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match=r"\(M, B, M\)"):
        task.metrics(right[:, :, :-1], batch)


def test_render_shows_the_memory_and_the_scored_targets():
    task = SwapTask(PointerTaskConfig(min_size=4, max_size=4))
    batch = task.sample(1, torch.Generator().manual_seed(0))
    text = task.render(batch, 0)
    assert "n = 4, memory of 7 cells, 4 timesteps" in text
    assert text.splitlines()[3].count(".") == 5  # 7 cells, 2 scored


def test_swap_needs_two_elements():
    with pytest.raises(ValueError, match="min_size >= 2"):
        SwapTask(PointerTaskConfig(min_size=1))
