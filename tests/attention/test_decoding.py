"""Greedy and beam search on a planted step function whose probabilities are known."""

import math

import pytest
import torch

from augrnn.attention import beam_search, greedy_search, length_penalty

BOS, EOS, X, Y = 1, 2, 3, 4
VOCAB, SOURCE = 5, 6


def planted_step(previous, state):
    """Next-token probabilities depend on the previous token only:
    after BOS, X 0.55 / Y 0.45; after X, EOS 0.5 / Y 0.5; after Y, EOS 0.9 / X 0.1.
    The greedy path (X, EOS) has probability 0.275; (Y, EOS) has 0.405.
    The weights put all focus on source position ``previous``; the state counts steps."""
    table = torch.full((VOCAB, VOCAB), 1e-9)
    table[BOS, X], table[BOS, Y] = 0.55, 0.45
    table[X, EOS], table[X, Y] = 0.5, 0.5
    table[Y, EOS], table[Y, X] = 0.9, 0.1
    table[EOS, EOS] = table[0, EOS] = 1.0
    weights = torch.nn.functional.one_hot(previous, SOURCE).float()
    return table[previous].log(), weights, state + 1


def select(state, index):
    return state[index]


def test_greedy_takes_the_locally_best_tokens_and_keeps_every_steps_attention():
    (hyp,) = greedy_search(planted_step, torch.zeros(1), 1, 10, bos=BOS, eos=EOS)
    assert hyp.tokens == [X, EOS]
    assert hyp.attention.shape == (2, SOURCE)
    assert hyp.attention.argmax(-1).tolist() == [BOS, X]  # step t attends to the token fed in
    assert hyp.log_prob == pytest.approx(math.log(0.275), rel=1e-5)


def test_beam_search_finds_the_more_probable_sequence():
    hyp = beam_search(planted_step, torch.zeros(1), select, 2, 10, bos=BOS, eos=EOS)
    assert hyp.tokens == [Y, EOS]
    assert hyp.log_prob == pytest.approx(math.log(0.405), rel=1e-5)
    assert hyp.attention.argmax(-1).tolist() == [BOS, Y]


def test_beam_of_one_is_greedy_and_max_length_cuts_without_eos():
    greedy = greedy_search(planted_step, torch.zeros(1), 1, 10, bos=BOS, eos=EOS)[0]
    beam = beam_search(planted_step, torch.zeros(1), select, 1, 10, bos=BOS, eos=EOS)
    assert beam.tokens == greedy.tokens
    assert beam.log_prob == pytest.approx(greedy.log_prob, rel=1e-5)
    (cut,) = greedy_search(planted_step, torch.zeros(1), 1, 1, bos=BOS, eos=EOS)
    assert cut.tokens == [X] and cut.attention.shape == (1, SOURCE)
    cut_beam = beam_search(planted_step, torch.zeros(1), select, 3, 1, bos=BOS, eos=EOS)
    assert cut_beam.tokens == [X]


def test_length_penalty_is_wu_et_al():
    assert length_penalty(4, 0.0) == 1.0
    assert length_penalty(1, 0.7) == 1.0
    assert length_penalty(7, 1.0) == pytest.approx(2.0)
    (hyp,) = greedy_search(planted_step, torch.zeros(1), 1, 10, bos=BOS, eos=EOS, alpha=1.0)
    assert hyp.score == pytest.approx(hyp.log_prob / (7 / 6))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        greedy_search(planted_step, torch.zeros(1), 1, 0, bos=BOS, eos=EOS)
    with pytest.raises(ValueError, match="beam_size must be >= 1"):
        beam_search(planted_step, torch.zeros(1), select, 0, 5, bos=BOS, eos=EOS)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        beam_search(planted_step, torch.zeros(1), select, 2, 5, bos=BOS, eos=EOS, alpha=-1.0)
