# An attentional encoder-decoder on token ids: teacher-forced logits, then beam search.
import torch

from augrnn.attention import Seq2Seq

model = Seq2Seq(source_vocab_size=12, target_vocab_size=9, attention="luong_general")
source = torch.randint(3, 12, (7, 2))  # (source length, batch) ids; 0-2 are PAD, BOS, EOS
targets = torch.randint(3, 9, (5, 2))
logits, attention = model(source, targets=targets)  # (5, 2, 9) and (5, 2, 7)
decoded = model.eval().decode(source, max_length=10, beam_size=4)
assert len(decoded.tokens) == 2 and decoded.attention[0].shape[1] == 7
