"""Speech recognition on the synthesised corpus: hear an utterance, write its transcript.

A :class:`~augrnn.tasks.base.Batch` of utterances holds (time-major, as every sequence task):

- ``inputs``: (T, B, 40) float log-mel features (:mod:`.features`), zero after each utterance's
  end, T the longest utterance's frames (100 per second);
- ``input_mask``: (T, B) float, 1 on each utterance's frames;
- ``targets``: (L, B) long character ids of the transcript, then EOS, padded with PAD;
- ``mask``: (L, B) float, 1 on the real characters and the EOS;
- ``lengths``: (B,) long, each transcript's size (digits, numbers or date format).

Training utterances come from the training voices at every training SNR; held-out ones from
voices never heard in training, at the SNR ``eval_snr``, and at sizes up to ``long_max`` when a
length is asked for (:mod:`.corpus`). Models that transcribe give a :class:`Transcription`,
scored by character, word and sentence error rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, TaskConfig
from augrnn.tasks.speech.audio import AudioError, read_wav
from augrnn.tasks.speech.corpus import (
    Corpus,
    CorpusSpec,
    Split,
    corpus_for,
    make_utterance,
    snr_name,
)
from augrnn.tasks.speech.features import MEL_BINS, utterance_features
from augrnn.tasks.speech.synthesis import SynthesiserMissing
from augrnn.tasks.speech.transcripts import CHARACTERS, TRANSCRIPTS
from augrnn.tasks.text import Seq2SeqTask, Vocabulary, pad_token_ids

#: Frames per second of the features.
FRAME_RATE = 100


class Transcription(NamedTuple):
    """What a model heard: per utterance, the character ids it wrote, without the EOS."""

    tokens: list[list[int]]


def edit_distance(reference: Sequence, hypothesis: Sequence) -> int:
    """Levenshtein distance: the fewest substitutions, insertions and deletions that turn
    ``hypothesis`` into ``reference``."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """``character_error_rate`` and ``word_error_rate`` (edits over the references' characters
    and words), and ``sentence_error_rate`` (transcripts not exactly right)."""
    chars = words = char_edits = word_edits = wrong = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        char_edits += edit_distance(reference, hypothesis)
        word_edits += edit_distance(reference.split(), hypothesis.split())
        chars += len(reference)
        words += len(reference.split())
        wrong += reference != hypothesis
    return {
        "character_error_rate": char_edits / max(chars, 1),
        "word_error_rate": word_edits / max(words, 1),
        "sentence_error_rate": wrong / max(len(references), 1),
    }


@dataclass
class SpeechConfig(TaskConfig):
    """Settings of :class:`SpeechTask`: the corpus (:class:`~.corpus.CorpusSpec`) and the SNR
    of the held-out utterances."""

    #: "digits" ("three one four"), "dates" ("the third of march nineteen ninety nine") or
    #: "numbers" ("add forty two and seven").
    transcripts: str = "digits"
    #: Training sizes (digits, numbers, or date formats 0-4).
    min_size: int = 3
    max_size: int = 8
    #: The largest held-out size: above max_size, longer than any training utterance.
    long_max: int = 14
    train_utterances: int = 16_000
    test_utterances: int = 1_200
    #: The corpus's seed.
    corpus_seed: int = 0
    #: The SNR of held-out utterances: "clean", "20", "10" or "5" (dB).
    eval_snr: str = "clean"

    RANGES: ClassVar[dict[str, Range]] = {
        "min_size": at_least(0),
        "max_size": at_least(0),
        "long_max": at_least(0),
        "train_utterances": at_least(1),
        "test_utterances": at_least(1),
        "corpus_seed": at_least(0),
    }

    def spec(self) -> CorpusSpec:
        return CorpusSpec(
            transcripts=self.transcripts,
            min_size=self.min_size,
            max_size=self.max_size,
            long_max=self.long_max,
            train_utterances=self.train_utterances,
            test_utterances=self.test_utterances,
            seed=self.corpus_seed,
        )


class SpeechTask(Seq2SeqTask):
    name = "speech"
    description = (
        "transcribe synthesised speech (digit strings, dates, number sentences) letter by letter"
    )
    config_class = SpeechConfig
    config: SpeechConfig
    headline_metric = "word_error_rate"
    target_vocab = Vocabulary(CHARACTERS)

    def __init__(self, config: SpeechConfig | None = None):
        super().__init__(config)
        self.spec = self.config.spec()  # checks the sizes and the transcripts kind
        known = [snr_name(snr) for snr in self.spec.test_snrs]
        if self.config.eval_snr not in known:
            raise ValueError(
                f"speech eval_snr must be one of the test SNRs {known} (dB), "
                f"got {self.config.eval_snr!r}"
            )
        self.length_name = TRANSCRIPTS[self.spec.transcripts].size_name
        self._corpus: Corpus | None = None

    # --- sizes ------------------------------------------------------------------------------

    @property
    def source_vocab(self) -> Vocabulary:
        raise AttributeError("speech reads audio features, not text: it has no source vocabulary")

    @property
    def input_size(self) -> int:
        """Mel bins per frame."""
        return MEL_BINS

    def sizes_text(self) -> str:
        return f"{MEL_BINS} log-mel bins per 10 ms in, {self.output_size} character ids out"

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_size, self.config.max_size)

    def describe_size(self, size: int) -> str:
        return f"{self.length_name} {size}"

    # --- the corpus and sampling ------------------------------------------------------------

    @property
    def corpus(self) -> Corpus:
        """The cached corpus, generated on first use (minutes, with a progress bar)."""
        if self._corpus is None:
            self._corpus = corpus_for(self.spec)
        return self._corpus

    def evaluation_split(self) -> str:
        """The held-out split at ``eval_snr``."""
        return f"test@{self.config.eval_snr}"

    def pool(self, split: str, length: int | None) -> Tensor:
        """Indices of the utterances of ``split`` that episodes are drawn from: those of size
        ``length``, or (None) those of a training size."""
        sizes = self.corpus.split(split).sizes
        low, high = self.train_lengths
        chosen = (sizes >= low) & (sizes <= high) if length is None else sizes == length
        indices = chosen.nonzero().flatten()
        if len(indices) == 0:
            held = sorted(set(sizes.tolist()))
            raise ValueError(
                f"the speech corpus's {split} split has no utterance of {self.length_name} "
                f"{length}; its sizes are {held}"
            )
        return indices

    def draw(self, split: str, batch_size: int, generator: torch.Generator, length: int | None):
        """``batch_size`` utterances of ``split`` drawn uniformly from :meth:`pool`, and their
        indices in the split."""
        if batch_size < 1:
            raise ValueError(f"speech batch_size must be >= 1, got {batch_size}")
        pool = self.pool(split, length)
        picked = pool[torch.randint(len(pool), (batch_size,), generator=generator)]
        return self.make_speech_batch(self.corpus.split(split), picked), picked

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Training utterances; ``length`` fixes their size."""
        return self.draw("train", batch_size, generator, length)[0]

    def sample_evaluation(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Held-out voices at ``eval_snr``; ``length`` fixes the size, up to ``long_max``."""
        return self.draw(self.evaluation_split(), batch_size, generator, length)[0]

    def make_speech_batch(self, split: Split, indices: Tensor) -> Batch:
        """The batch (see the module) of the utterances ``indices`` of ``split``."""
        features = [split.utterance(i) for i in indices.tolist()]
        inputs, input_mask = pad_frames(features)
        target_ids, mask = pad_token_ids(
            [self.target_vocab.encode(split.texts[i]) + [Vocabulary.EOS] for i in indices.tolist()]
        )
        return Batch(inputs, target_ids, mask, split.sizes[indices].clone(), input_mask)

    # --- scoring ----------------------------------------------------------------------------

    def transcripts(self, batch: Batch) -> list[str]:
        return [self.decode_target(batch.targets[:, b]) for b in range(batch.targets.shape[1])]

    @torch.no_grad()
    def metrics(self, outputs, batch: Batch) -> dict[str, float]:
        """For a :class:`Transcription`: character, word and sentence error rates over the
        batch; for (L, B, V) logits, the scores of every text task."""
        if not isinstance(outputs, Transcription):
            return super().metrics(outputs, batch)
        heard = [self.target_vocab.decode(tokens) for tokens in outputs.tokens]
        return error_rates(self.transcripts(batch), heard)

    def predicted_tokens(self, outputs, index: int) -> list[int]:
        """The character ids of a :class:`Transcription` (or the argmax of logits)."""
        if isinstance(outputs, Transcription):
            return list(outputs.tokens[index])
        return super().predicted_tokens(outputs, index)

    def output_text(self, outputs, index: int) -> str:
        """The transcript a model wrote for episode ``index``."""
        return self.target_vocab.decode(self.predicted_tokens(outputs, index))

    # --- showing and reading ----------------------------------------------------------------

    def render(self, batch: Batch, index: int = 0, logits=None) -> str:
        frames = int(batch.steps_mask()[:, index].sum())
        lines = [
            f"{self.name}, {self.describe_size(int(batch.lengths[index]))}, "
            f"{frames / FRAME_RATE:.2f} s of audio ({frames} frames of {MEL_BINS} log-mel bins)",
            f"target: {self.decode_target(batch.targets[:, index])}",
        ]
        if logits is not None:
            lines.append(f"output: {self.output_text(logits, index)}")
        return "\n".join(lines)

    def example(self, batch: Batch, index: int) -> tuple[Batch, int]:
        """Episode ``index`` alone, its frames and its transcript without padding."""
        frames = int(batch.steps_mask()[:, index].sum())
        characters = int(batch.mask[:, index].sum())
        pick = slice(index, index + 1)
        input_mask = None if batch.input_mask is None else batch.input_mask[:frames, pick]
        return (
            Batch(
                batch.inputs[:frames, pick],
                batch.targets[:characters, pick],
                batch.mask[:characters, pick],
                batch.lengths[pick],
                input_mask,
            ),
            0,
        )

    def showcase(self, generator: torch.Generator) -> str:
        """One utterance synthesised on the spot (the corpus is not generated for this)."""
        index = int(torch.randint(1_000_000, (1,), generator=generator))
        try:
            made = make_utterance(self.spec, "train", index)
        except (SynthesiserMissing, ImportError) as err:
            return f"(no example: {err})"
        frames = len(made["features"][0])
        snr = snr_name(made["snrs"][0])
        return (
            f"transcript: {made['text']}\n"
            f"voice: {made['voice']}, {'clean' if snr == 'clean' else f'SNR {snr} dB'}\n"
            f"duration: {frames / FRAME_RATE:.2f} s ({frames} frames of {MEL_BINS} log-mel bins)"
        )

    def encode_source(self, text: str) -> Tensor:
        raise ValueError("speech reads audio, not text: give a WAV file with --audio")

    def encode_file(self, path: Path | str) -> tuple[Tensor, list[str]]:
        """A WAV file -> its (T, 1, 40) features and notes on what was converted or lies
        outside the training data. Raises ``ValueError`` (:class:`AudioError`) for a file that
        cannot be read."""
        samples, notes = read_wav(path)
        features = utterance_features(samples)
        if len(features) < 2:
            raise AudioError(f"{path} holds {len(samples)} samples: too short to transcribe")
        seconds = len(features) / FRAME_RATE
        longest = self.longest_training_seconds()
        if longest is not None and seconds > longest:
            notes.append(
                f"{seconds:.1f} s, longer than any training utterance ({longest:.1f} s): "
                "outside the training distribution"
            )
        return torch.from_numpy(features).unsqueeze(1), notes

    def longest_training_seconds(self) -> float | None:
        """The longest training utterance in seconds, when the corpus is already cached."""
        path = self.spec.folder() / "corpus.pt"
        if self._corpus is None and not path.is_file():
            return None
        offsets = self.corpus.split("train").offsets
        return float((offsets[1:] - offsets[:-1]).max()) / FRAME_RATE


def pad_frames(features: list[Tensor]) -> tuple[Tensor, Tensor]:
    """B (frames_b, F) tensors -> (T, B, F) zero-padded and the (T, B) float mask of real
    frames, T the most frames."""
    longest = max(len(f) for f in features)
    batch = torch.zeros(longest, len(features), features[0].shape[1])
    mask = torch.zeros(longest, len(features))
    for b, frames in enumerate(features):
        batch[: len(frames), b] = frames
        mask[: len(frames), b] = 1.0
    return batch, mask
