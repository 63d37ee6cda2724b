"""Differentiable data structures as pure functions: the continuous stack, queue and deque of
Grefenstette et al. 2015 ("Learning to Transduce with Unbounded Memory", eqs. 1-11) and the
stack of Joulin & Mikolov 2015 ("Inferring Algorithmic Patterns with Stack-Augmented Recurrent
Nets", §3.1).

**Continuous structures.** A structure holds values V (B, C, m) and strengths s (B, C) in a
preallocated capacity of C rows, every row ordered by the paper's index i: older rows first, the
top of a stack (the newest row) last. The paper's V_t grows by one row a step; here a push
shifts the rows down by one and writes the newest into the last row, so the shapes stay fixed
(a compiled step, ACT's averaging of states). Rows that were never pushed hold strength 0 and
take no part in any sum. A push that would shift out a row still holding strength raises
:class:`CapacityError`.

Shapes: B episodes, C rows of capacity, m the width of a value. Strengths are in [0, 1]; push
strength d_t, pop strength u_t and every strength given to these functions are checked (outside
[0, 1] is an error, not a silent clamp). One step is a pop, then a push, then a read:

    stack:  :func:`stack_pop`, :func:`push`, :func:`stack_read`  (eqs. 1-3)
    queue:  :func:`queue_pop`, :func:`push`, :func:`queue_read`  (eqs. 4-5)
    deque:  :func:`deque_step`                                    (eqs. 6-11)

**The stack of Joulin & Mikolov** is a (B, K, D) tensor of K stacks of depth D, top first:
:func:`discrete_stack_update`.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: The value an empty cell of a Joulin-Mikolov stack reads (the paper's −1).
EMPTY_CELL = -1.0
#: The order of the actions of a Joulin-Mikolov stack.
STACK_ACTIONS = ("push", "pop", "no-op")


class CapacityError(ValueError):
    """A push into a continuous structure whose rows are all in use: its capacity is too small
    for the sequence (set a larger ``capacity``)."""


def check_strengths(name: str, strengths: Tensor) -> None:
    """Raise ``ValueError`` if any of ``strengths`` lies outside [0, 1] or is not finite.

    A strength from a user's own controller must already be in [0, 1] (a sigmoid's output):
    a value outside is an error, not a silent clamp. Skipped while compiling (the check needs
    the values)."""
    if torch.compiler.is_compiling() or strengths.numel() == 0:
        return
    low, high = torch.aminmax(strengths.detach())
    if not (float(low) >= 0.0 and float(high) <= 1.0):
        raise ValueError(
            f"{name} must be in [0, 1] (e.g. a sigmoid's output), got values in "
            f"[{float(low):.4g}, {float(high):.4g}]"
        )


def strength_above(strengths: Tensor) -> Tensor:
    """Σ_{j>i} s[j] for every row i: the strength held above each row (nearer the top).

    strengths: (B, C) strengths s. Returns (B, C).
    """
    suffix = torch.flip(torch.cumsum(torch.flip(strengths, (-1,)), -1), (-1,))
    return suffix - strengths


def strength_below(strengths: Tensor) -> Tensor:
    """Σ_{j<i} s[j] for every row i: the strength held below each row (nearer the bottom).

    strengths: (B, C) strengths s. Returns (B, C).
    """
    return torch.cumsum(strengths, -1) - strengths


def stack_pop(strengths: Tensor, pop: Tensor) -> Tensor:
    """Pop u_t from the top (eq. 2, i < t):

        s_t[i] = max(0, s_{t−1}[i] − max(0, u_t − Σ_{j>i} s_{t−1}[j])).

    strengths: (B, C) strengths s_{t−1} in [0, 1].
    pop:       (B,) pop strength u_t in [0, 1]; popping more than is held empties the stack.
    Returns (B, C) in [0, 1].
    """
    check_strengths("pop strength u_t", pop)
    removed = torch.relu(pop.unsqueeze(-1) - strength_above(strengths))
    return torch.relu(strengths - removed)


def queue_pop(strengths: Tensor, pop: Tensor) -> Tensor:
    """Pop u_t from the bottom (eq. 4): as :func:`stack_pop` with the sum over j < i."""
    check_strengths("pop strength u_t", pop)
    removed = torch.relu(pop.unsqueeze(-1) - strength_below(strengths))
    return torch.relu(strengths - removed)


def push(
    values: Tensor, strengths: Tensor, value: Tensor, strength: Tensor, at_top: bool = True
) -> tuple[Tensor, Tensor]:
    """Push v_t with strength d_t (eqs. 1-2: V_t[t] = v_t, s_t[t] = d_t): the rows shift by one
    away from the pushed end and v_t takes the end's row (the last row for the top, the first
    for the bottom, as a deque pushes there).

    values:    (B, C, m) values V_{t−1}.
    strengths: (B, C) strengths (after this step's pop).
    value:     (B, m) value v_t.
    strength:  (B,) push strength d_t in [0, 1].
    Returns (values (B, C, m), strengths (B, C)).
    Raises :class:`CapacityError` when the row shifted out still holds strength.
    """
    check_strengths("push strength d_t", strength)
    dropped = strengths[:, 0] if at_top else strengths[:, -1]
    if not torch.compiler.is_compiling() and bool((dropped > 0).any()):
        raise CapacityError(
            f"a push found all {strengths.shape[1]} rows of the structure in use: its capacity "
            "is too small for this sequence: the model's capacity (--model.capacity) must be at "
            "least the number of steps of the longest episode"
        )
    value, strength = value.unsqueeze(1), strength.unsqueeze(1)
    if at_top:
        return (
            torch.cat([values[:, 1:], value], dim=1),
            torch.cat([strengths[:, 1:], strength], dim=1),
        )
    return (
        torch.cat([value, values[:, :-1]], dim=1),
        torch.cat([strength, strengths[:, :-1]], dim=1),
    )


def stack_read_weights(strengths: Tensor) -> Tensor:
    """The weight of each row in a read from the top (eq. 3):

        min(s_t[i], max(0, 1 − Σ_{j>i} s_t[j])),

    the top rows' strengths until they reach 1 in all. (B, C) -> (B, C), summing to at most 1.
    """
    return torch.minimum(strengths, torch.relu(1.0 - strength_above(strengths)))


def queue_read_weights(strengths: Tensor) -> Tensor:
    """As :func:`stack_read_weights`, read from the bottom (eq. 5: the sum over j < i)."""
    return torch.minimum(strengths, torch.relu(1.0 - strength_below(strengths)))


def read(values: Tensor, weights: Tensor) -> Tensor:
    """r_t = Σ_i weights[i] V_t[i]: (B, C, m) values, (B, C) weights -> (B, m)."""
    return torch.einsum("bc,bcm->bm", weights, values)


def stack_read(values: Tensor, strengths: Tensor) -> Tensor:
    """The stack's read r_t (eq. 3): (B, C, m) values, (B, C) strengths -> (B, m)."""
    return read(values, stack_read_weights(strengths))


def queue_read(values: Tensor, strengths: Tensor) -> Tensor:
    """The queue's read r_t (eq. 5): (B, C, m) values, (B, C) strengths -> (B, m)."""
    return read(values, queue_read_weights(strengths))


def deque_step(
    values: Tensor,
    strengths: Tensor,
    pop_top: Tensor,
    pop_bottom: Tensor,
    push_top: tuple[Tensor, Tensor],
    push_bottom: tuple[Tensor, Tensor],
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One step of the deque (eqs. 6-11): pop u^top_t from the top (the stack's rule), then
    u^bot_t from the bottom (the queue's rule), push (v^bot_t, d^bot_t) at the bottom and
    (v^top_t, d^top_t) at the top, and read from both ends.

    The deque's rows are two halves of C / 2: the bottom pushes fill the first half, the newest
    first; the top pushes fill the second, the newest last. The rows between never pushed hold
    strength 0, so the order of the rows is the paper's (V_t holds 2t rows).

    values:      (B, C, m) values V_{t−1}; C even.
    strengths:   (B, C) strengths s_{t−1}.
    pop_top, pop_bottom: (B,) pop strengths in [0, 1].
    push_top, push_bottom: ((B, m) value, (B,) strength in [0, 1]).
    Returns (values (B, C, m), strengths (B, C), read from the top (B, m), read from the bottom
    (B, m)).
    """
    half = values.shape[1] // 2
    if values.shape[1] != 2 * half:
        raise ValueError(f"a deque needs an even number of rows, got {values.shape[1]}")
    strengths = queue_pop(stack_pop(strengths, pop_top), pop_bottom)
    bottom = push(values[:, :half], strengths[:, :half], *push_bottom, at_top=False)
    top = push(values[:, half:], strengths[:, half:], *push_top, at_top=True)
    values = torch.cat([bottom[0], top[0]], dim=1)
    strengths = torch.cat([bottom[1], top[1]], dim=1)
    return values, strengths, stack_read(values, strengths), queue_read(values, strengths)


def discrete_stack_update(stacks: Tensor, actions: Tensor, pushed: Tensor) -> Tensor:
    """One step of K stacks of Joulin & Mikolov (§3.1), the top in cell 0:

        s_t[0] = a[push] σ(D h_t) + a[pop] s_{t−1}[1] + a[no-op] s_{t−1}[0],
        s_t[i] = a[push] s_{t−1}[i−1] + a[pop] s_{t−1}[i+1] + a[no-op] s_{t−1}[i],

    where a pop shifts an empty cell (:data:`EMPTY_CELL`, −1) in at the bottom and a push drops
    the bottom cell (a stack of depth D).

    stacks:  (B, K, D) stacks s_{t−1}.
    actions: (B, K, 2) or (B, K, 3) probabilities of push, pop (and no-op), each row summing to 1.
    pushed:  (B, K) the values pushed, σ(D h_t).
    Returns (B, K, D).
    """
    if actions.shape[-1] not in (2, 3):
        raise ValueError(
            f"actions must be (B, K, 2) (push, pop) or (B, K, 3) (push, pop, no-op), got "
            f"{tuple(actions.shape)}"
        )
    check_strengths("stack action probabilities", actions)
    after_push = torch.cat([pushed.unsqueeze(-1), stacks[..., :-1]], dim=-1)
    after_pop = torch.cat([stacks[..., 1:], torch.full_like(stacks[..., :1], EMPTY_CELL)], dim=-1)
    updated = actions[..., 0:1] * after_push + actions[..., 1:2] * after_pop
    if actions.shape[-1] == 3:
        updated = updated + actions[..., 2:3] * stacks
    return updated
