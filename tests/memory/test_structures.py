"""The continuous stack, queue and deque and the Joulin-Mikolov stack: the paper's worked example,
invariants, a batch against each episode alone, float64 gradients and bad input."""

import pytest
import torch

from augrnn.memory import structures as S

B, C, M = 3, 7, 5  # a different size per dimension

#: Grefenstette et al. 2015's worked example: (value, push d_t, pop u_t) at t = 1, 2, 3.
EXAMPLE = ((1.0, 0.8, 0.0), (2.0, 0.5, 0.1), (3.0, 0.9, 0.9))


def run_example(pop_rule, read_rule, dtype):
    values, strengths = torch.zeros(1, 4, 1, dtype=dtype), torch.zeros(1, 4, dtype=dtype)
    reads = []
    for value, d, u in EXAMPLE:
        strengths = pop_rule(strengths, torch.tensor([u], dtype=dtype))
        values, strengths = S.push(
            values, strengths, torch.tensor([[value]], dtype=dtype), torch.tensor([d], dtype=dtype)
        )
        reads.append(read_rule(values, strengths).item())
    return reads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_papers_worked_example(dtype):
    tolerance = 1e-6 if dtype == torch.float32 else 1e-12
    stack = run_example(S.stack_pop, S.stack_read, dtype)
    queue = run_example(S.queue_pop, S.queue_read, dtype)
    assert stack == pytest.approx([0.8, 1.5, 2.8], abs=tolerance)
    assert queue == pytest.approx([0.8, 1.3, 2.7], abs=tolerance)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def random_steps(steps, gen, dtype=torch.float64, batch=B):
    """Per step: a pop and a push strength (B,) in [0, 1] and a value (B, M)."""
    return [
        (
            torch.rand(batch, generator=gen, dtype=dtype),
            torch.rand(batch, generator=gen, dtype=dtype),
            torch.randn(batch, M, generator=gen, dtype=dtype),
        )
        for _ in range(steps)
    ]


def run(structure, steps, capacity=C, batch=B, dtype=torch.float64):
    """Run a stack or queue over ``steps``; the strengths and reads after each step."""
    pop_rule = S.stack_pop if structure == "stack" else S.queue_pop
    read_rule = S.stack_read if structure == "stack" else S.queue_read
    values = torch.zeros(batch, capacity, M, dtype=dtype)
    strengths = torch.zeros(batch, capacity, dtype=dtype)
    history = []
    for pop, push, value in steps:
        strengths = pop_rule(strengths, pop)
        values, strengths = S.push(values, strengths, value, push)
        history.append((strengths, read_rule(values, strengths)))
    return history


@pytest.mark.parametrize("structure", ["stack", "queue"])
def test_strengths_stay_in_the_unit_interval_and_reads_weigh_at_most_one(structure, gen):
    read_weights = S.stack_read_weights if structure == "stack" else S.queue_read_weights
    for strengths, reads in run(structure, random_steps(C, gen)):
        assert strengths.shape == (B, C) and reads.shape == (B, M)
        assert ((strengths >= 0) & (strengths <= 1)).all()
        weights = read_weights(strengths)
        assert (weights >= 0).all() and (weights.sum(-1) <= 1 + 1e-12).all()
        assert (weights <= strengths).all()


@pytest.mark.parametrize("pop_rule", [S.stack_pop, S.queue_pop])
def test_popping_more_than_is_held_empties_the_structure(pop_rule, gen):
    strengths = torch.rand(B, C, generator=gen, dtype=torch.float64) * 0.2
    emptied = pop_rule(strengths, torch.ones(B, dtype=torch.float64))
    assert torch.equal(emptied, torch.zeros_like(strengths))
    assert (pop_rule(strengths, torch.zeros(B, dtype=torch.float64)) == strengths).all()


def test_a_stack_pops_from_the_top_and_a_queue_from_the_bottom():
    strengths = torch.tensor([[0.5, 0.5, 0.5]])
    torch.testing.assert_close(
        S.stack_pop(strengths, torch.tensor([0.7])), torch.tensor([[0.5, 0.3, 0.0]])
    )
    torch.testing.assert_close(
        S.queue_pop(strengths, torch.tensor([0.7])), torch.tensor([[0.0, 0.3, 0.5]])
    )


@pytest.mark.parametrize("structure", ["stack", "queue"])
def test_a_batch_equals_each_episode_alone(structure, gen):
    steps = random_steps(5, gen)
    together = run(structure, steps)
    for b in range(B):
        alone = run(structure, [tuple(t[b : b + 1] for t in step) for step in steps], batch=1)
        for (s_all, r_all), (s_one, r_one) in zip(together, alone, strict=True):
            torch.testing.assert_close(s_all[b : b + 1], s_one)
            torch.testing.assert_close(r_all[b : b + 1], r_one)


def test_a_deque_used_at_one_end_is_a_stack_or_a_queue(gen):
    steps = random_steps(4, gen)
    stack, queue = run("stack", steps), run("queue", steps)
    values = torch.zeros(B, 2 * C, M, dtype=torch.float64)
    strengths = torch.zeros(B, 2 * C, dtype=torch.float64)
    nothing = torch.zeros(B, dtype=torch.float64)
    for (pop, push, value), (_, stack_read) in zip(steps, stack, strict=True):
        values, strengths, top, bottom = S.deque_step(
            values, strengths, pop, nothing, (value, push), (torch.zeros_like(value), nothing)
        )
        torch.testing.assert_close(top, stack_read)
    values = torch.zeros(B, 2 * C, M, dtype=torch.float64)
    strengths = torch.zeros(B, 2 * C, dtype=torch.float64)
    for (pop, push, value), (_, queue_read) in zip(steps, queue, strict=True):
        # Pushed at the top and popped at the bottom: a queue, read at the bottom.
        values, strengths, top, bottom = S.deque_step(
            values, strengths, nothing, pop, (value, push), (torch.zeros_like(value), nothing)
        )
        torch.testing.assert_close(bottom, queue_read)


def test_a_deque_keeps_the_papers_row_order():
    """Pushes at the bottom come before those at the top, the newest outermost."""
    values, strengths = torch.zeros(1, 6, 1), torch.zeros(1, 6)
    nothing = torch.zeros(1)
    for t in range(1, 3):
        values, strengths, top, bottom = S.deque_step(
            values,
            strengths,
            nothing,
            nothing,
            (torch.tensor([[10.0 * t]]), torch.tensor([0.5])),
            (torch.tensor([[-10.0 * t]]), torch.tensor([0.5])),
        )
    held = values[0, strengths[0] > 0, 0].tolist()
    assert held == [-20.0, -10.0, 10.0, 20.0]
    assert top.item() == pytest.approx(15.0) and bottom.item() == pytest.approx(-15.0)


def test_gradients_in_float64(gen):
    steps = random_steps(3, gen)
    pops, pushes, values = (
        torch.stack(parts).requires_grad_() for parts in zip(*steps, strict=True)
    )
    # Strengths away from the kinks of max and min, where the numerical gradient jumps.
    with torch.no_grad():
        pops.mul_(0.3).add_(0.05)
        pushes.mul_(0.3).add_(0.35)

    def reads(structure, pops, pushes, values):
        return run(structure, list(zip(pops, pushes, values, strict=True)))[-1][1]

    for structure in ("stack", "queue"):
        assert torch.autograd.gradcheck(
            lambda p, d, v, s=structure: reads(s, p, d, v), (pops, pushes, values)
        )

    def deque_reads(pops, pushes, values):
        rows = torch.zeros(B, 2 * C, M, dtype=torch.float64)
        strengths = torch.zeros(B, 2 * C, dtype=torch.float64)
        for pop, push, value in zip(pops, pushes, values, strict=True):
            rows, strengths, top, bottom = S.deque_step(
                rows, strengths, pop, 1 - pop, (value, push), (-value, 1 - push)
            )
        return top, bottom

    assert torch.autograd.gradcheck(deque_reads, (pops, pushes, values))


def test_no_nan_at_the_extremes():
    values = torch.zeros(B, C, M, requires_grad=True)
    for pop, push in ((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)):
        strengths = torch.full((B, C), push)
        popped = S.stack_pop(strengths, torch.full((B,), pop))
        out = S.stack_read(values, popped) + S.queue_read(
            values, S.queue_pop(strengths, torch.full((B,), pop))
        )
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(values.grad).all()


def test_bad_strengths_and_a_full_structure_are_errors():
    strengths = torch.zeros(B, C)
    with pytest.raises(ValueError, match=r"pop strength u_t must be in \[0, 1\]"):
        S.stack_pop(strengths, torch.full((B,), 1.5))
    with pytest.raises(ValueError, match=r"push strength d_t must be in \[0, 1\]"):
        S.push(torch.zeros(B, C, M), strengths, torch.zeros(B, M), torch.full((B,), -0.1))
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        S.queue_pop(strengths, torch.full((B,), float("nan")))
    full = torch.full((B, C), 0.1)
    with pytest.raises(S.CapacityError, match="capacity is too small"):
        S.push(torch.zeros(B, C, M), full, torch.zeros(B, M), torch.full((B,), 0.5))
    with pytest.raises(ValueError, match="even number of rows"):
        z = torch.zeros(B)
        S.deque_step(
            torch.zeros(B, 5, M),
            torch.zeros(B, 5),
            z,
            z,
            (torch.zeros(B, M), z),
            (torch.zeros(B, M), z),
        )


def test_the_discrete_stack_pushes_pops_and_waits():
    stacks = torch.full((2, 1, 3), S.EMPTY_CELL)
    push = torch.tensor([[[1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]]])
    stacks = S.discrete_stack_update(stacks, push, torch.tensor([[0.25], [0.75]]))
    stacks = S.discrete_stack_update(stacks, push, torch.tensor([[0.5], [1.0]]))
    assert stacks[:, 0].tolist() == [[0.5, 0.25, -1.0], [1.0, 0.75, -1.0]]
    pop, wait = torch.tensor([[[0.0, 1.0, 0.0]]] * 2), torch.tensor([[[0.0, 0.0, 1.0]]] * 2)
    assert torch.equal(S.discrete_stack_update(stacks, wait, torch.zeros(2, 1)), stacks)
    popped = S.discrete_stack_update(stacks, pop, torch.zeros(2, 1))
    assert popped[:, 0].tolist() == [[0.25, -1.0, -1.0], [0.75, -1.0, -1.0]]
    # Without no-op, half push and half pop: the mean of the two.
    half = torch.tensor([[[0.5, 0.5]]] * 2)
    mixed = S.discrete_stack_update(stacks, half, torch.zeros(2, 1))
    torch.testing.assert_close(
        mixed, 0.5 * (popped + S.discrete_stack_update(stacks, push, torch.zeros(2, 1)))
    )
    with pytest.raises(ValueError, match=r"\(B, K, 2\) \(push, pop\) or \(B, K, 3\)"):
        S.discrete_stack_update(stacks, torch.ones(2, 1, 4) / 4, torch.zeros(2, 1))


def test_the_discrete_stack_gradients_in_float64(gen):
    stacks = torch.rand(B, 2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    actions = torch.softmax(
        torch.randn(B, 2, 3, generator=gen, dtype=torch.float64), -1
    ).requires_grad_()
    pushed = torch.rand(B, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(S.discrete_stack_update, (stacks, actions, pushed))
