"""The NRAM's memory tasks: each layout against a direct solution, arrays never NULL, memories
that grow with n, and the paper's error (wrong scored cells over scored cells)."""

import pytest
import torch

from augrnn.tasks.pointers import (
    POINTER_TASKS,
    AccessTask,
    CopyTask,
    IncrementTask,
    ListKTask,
    ListSearchTask,
    MergeTask,
    PermutationTask,
    PointerTaskConfig,
    ReverseTask,
    SwapTask,
    WalkBSTTask,
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
    elif isinstance(task, PermutationTask):
        a = memory[0]
        out[1 : n + 1] = [memory[a + memory[1 + i]] for i in range(n)]
    elif isinstance(task, ListKTask):
        node = memory[0]
        for _ in range(memory[1]):
            node = memory[node]
        out[2] = memory[node + 1]
    elif isinstance(task, ListSearchTask):
        node = memory[0]
        while memory[node + 1] != memory[1]:
            node = memory[node]
        out[2] = node
    elif isinstance(task, MergeTask):
        a, b, o = memory[:3]
        merged = []
        while memory[a] != m - 1 or memory[b] != m - 1:
            if memory[a] <= memory[b]:
                merged, a = [*merged, memory[a]], a + 1
            else:
                merged, b = [*merged, memory[b]], b + 1
        out[o : o + len(merged)] = merged
    elif isinstance(task, WalkBSTTask):
        node, step = memory[0], 2
        while memory[step] != 0:
            node, step = memory[node + memory[step]], step + 1
        out[1] = memory[node]
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
    if task_class in (AccessTask, IncrementTask, CopyTask, ReverseTask, SwapTask):
        start = {AccessTask: 1, IncrementTask: 0, CopyTask: 1, ReverseTask: 1, SwapTask: 2}
        assert bool((batch.memory[start[task_class] : start[task_class] + 30] > 0).all())


@pytest.mark.parametrize("task_class", [ListKTask, ListSearchTask])
def test_a_list_visits_every_node_once_and_ends_in_null(task_class):
    task = task_class(PointerTaskConfig(min_size=1, max_size=12))
    batch = task.sample(30, torch.Generator().manual_seed(5))
    for b in range(30):
        n, memory = int(batch.lengths[b]), batch.memory[:, b].tolist()
        visited, node = [], memory[0]
        while node != 0:
            visited.append(node)
            node = memory[node]
        assert sorted(visited) == list(range(3, 3 + 2 * n, 2))
        assert all(memory[address + 1] > 0 for address in visited)


def test_list_search_fills_the_cells_past_its_list_with_trash():
    task = ListSearchTask(PointerTaskConfig(min_size=2, max_size=2, min_memory=20))
    batch = task.sample(16, torch.Generator().manual_seed(2))
    assert batch.memory.shape[0] == 20
    assert bool((batch.memory[task.cells(2) :] > 0).all())


def test_merge_s_arrays_are_sorted_closed_by_the_guardian_and_sometimes_empty():
    task = MergeTask(PointerTaskConfig(min_size=3, max_size=3))
    batch = task.sample(200, torch.Generator().manual_seed(4))
    m = batch.memory.shape[0]
    first_lengths = set()
    for b in range(200):
        memory = batch.memory[:, b]
        a, bb, o = memory[:3].tolist()
        first, second = memory[a : bb - 1], memory[bb : o - 1]
        assert memory[bb - 1] == memory[o - 1] == m - 1
        assert len(first) + len(second) == 3
        for array in (first, second):
            assert bool((array[1:] >= array[:-1]).all()) and bool((array < m - 1).all())
        first_lengths.add(len(first))
    assert first_lengths == {0, 1, 2, 3}


def test_walkbst_lays_a_search_tree_and_a_path_to_each_depth():
    task = WalkBSTTask(PointerTaskConfig(min_size=7, max_size=7))
    batch = task.sample(100, torch.Generator().manual_seed(6))
    depths = set()

    def in_order(memory: list[int], node: int) -> list[int]:
        if node == 0:
            return []
        left, right = in_order(memory, memory[node + 1]), in_order(memory, memory[node + 2])
        return [*left, memory[node], *right]

    for b in range(100):
        memory = batch.memory[:, b].tolist()
        values = in_order(memory, memory[0])
        assert len(values) == 7 and values == sorted(set(values))  # every node, a search tree
        path = memory[2 : memory.index(0, 2)]
        assert set(path) <= {1, 2}
        depths.add(len(path))
    assert {0, 1, 2} <= depths


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


@pytest.mark.parametrize("task_class", POINTER_TASKS)
def test_slack_gives_batches_larger_memories_with_the_same_solutions(task_class):
    task = task_class(PointerTaskConfig(min_size=3, max_size=3, slack=4))
    generator = torch.Generator().manual_seed(1)
    sizes = set()
    for _ in range(20):
        batch = task.sample(4, generator)
        m = batch.memory.shape[0]
        assert task.memory_size(3) <= m <= task.memory_size(3) + 4
        sizes.add(m)
        for b in range(4):
            memory = batch.memory[:, b].tolist()
            assert batch.targets[:, b].tolist() == solve(task, memory, 3)
    assert len(sizes) > 1
    plain = task_class(PointerTaskConfig(min_size=3, max_size=3))
    assert plain.sample(4, torch.Generator().manual_seed(1)).memory.shape[0] == plain.memory_size(3)
