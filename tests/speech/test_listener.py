import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from augrnn.speech.listener import BLSTM, Listener, halve, reverse_within


def test_reverse_within_each_length():
    x = torch.arange(4.0).view(4, 1, 1).repeat(1, 2, 1)
    out = reverse_within(x, torch.tensor([4, 2]))
    assert out[:, 0, 0].tolist() == [3, 2, 1, 0]
    assert out[:, 1, 0].tolist() == [1, 0, 2, 3]  # padding stays where it is


def test_blstm_equals_a_packed_bidirectional_lstm():
    torch.manual_seed(0)
    layer = BLSTM(5, 7)
    reference = torch.nn.LSTM(5, 7, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(reference, name).copy_(getattr(layer.forward_lstm, name))
            getattr(reference, name + "_reverse").copy_(getattr(layer.backward_lstm, name))
    x, lengths = torch.randn(9, 4, 5), torch.tensor([9, 3, 6, 1])
    out, final = layer(x, lengths)
    packed, (h, _) = reference(pack_padded_sequence(x, lengths, enforce_sorted=False))
    expected, _ = pad_packed_sequence(packed, total_length=9)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(final, torch.cat([h[0], h[1]], -1))


def test_halve_pairs_steps():
    x = torch.arange(5.0).view(5, 1, 1)
    paired, lengths = halve(x, torch.tensor([5]))
    assert paired[:, 0].tolist() == [[0, 1], [2, 3], [4, 0]]
    assert lengths.tolist() == [3]


def test_listener_shapes_reduction_and_padding_invariance():
    torch.manual_seed(0)
    listener = Listener(6, 5, pyramid_layers=2)
    frames = torch.randn(11, 3, 6)
    mask = torch.ones(11, 3)
    mask[7:, 1] = 0
    heard = listener(frames, mask)
    assert heard.states.shape == (3, 3, 10)  # U = ceil(11 / 4)
    assert heard.mask.sum(1).tolist() == [3, 2, 3]
    assert heard.states[1, 2].abs().sum() == 0
    alone = listener(frames[:7, 1:2], torch.ones(7, 1))  # the same utterance without padding
    torch.testing.assert_close(alone.states[0], heard.states[1, :2])
    torch.testing.assert_close(alone.final[0], heard.final[1])
