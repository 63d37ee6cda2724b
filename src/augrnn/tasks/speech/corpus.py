"""The spoken corpus: utterances synthesised once, turned into features and cached on disk.

A corpus is fixed by its :class:`CorpusSpec`. Utterance i of a split is drawn from its own
seeded random stream (the spec's seed, the split and i), so the corpus is the same whichever
order, and however many processes, make it:

- its transcript: a size (uniform over the training sizes; in the test split, every size from
  ``min_size`` to ``long_max`` in turn) and a text of that size;
- its voice (:func:`~augrnn.tasks.speech.synthesis.draw_voice`): training variants for
  ``train``, held-out variants for ``test``;
- silence of 0 to 0.3 s before and after the speech;
- white noise at a signal-to-noise ratio (dB, over the speech's own power; ``inf``: clean):
  one drawn from ``train_snrs`` per training utterance; every one of ``test_snrs`` for each test
  utterance, stored as the splits ``test@<snr>`` (the same utterances at each SNR).

The features (:func:`~augrnn.tasks.speech.features.utterance_features`) are stored as float16
in one file per corpus, ``<cache>/speech/<transcripts>-<hash of the spec>/corpus.pt``, written
atomically; the cache is ``$AUGRNN_CACHE_DIR`` or ``~/.cache/augrnn``.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from augrnn.tasks.speech.audio import SAMPLE_RATE
from augrnn.tasks.speech.features import MEL_BINS, utterance_features
from augrnn.tasks.speech.synthesis import draw_voice, synthesise_at, synthesiser
from augrnn.tasks.speech.transcripts import TRANSCRIPTS

#: The longest silence added before and after an utterance, in seconds.
MAX_PADDING = 0.3
CORPUS_FILE = "corpus.pt"
#: Version of the generation recipe: a change of recipe makes a new cache entry.
RECIPE = 1


def cache_root() -> Path:
    """Where corpora are cached: ``$AUGRNN_CACHE_DIR`` or ``~/.cache/augrnn``."""
    return Path(os.environ.get("AUGRNN_CACHE_DIR") or Path.home() / ".cache" / "augrnn")


def snr_name(snr: float) -> str:
    """10.0 -> "10", inf -> "clean"."""
    return "clean" if math.isinf(snr) else f"{snr:g}"


@dataclass(frozen=True)
class CorpusSpec:
    """What a corpus holds (see the module).

    transcripts: a kind of :data:`~augrnn.tasks.speech.transcripts.TRANSCRIPTS`.
    min_size, max_size: the training sizes; long_max: the test split's largest size (above
    max_size: longer than any training utterance).
    train_utterances, test_utterances: utterances per split (the test split's at every SNR).
    train_snrs, test_snrs: signal-to-noise ratios in dB, ``inf`` for clean speech.
    """

    transcripts: str = "digits"
    min_size: int = 3
    max_size: int = 8
    long_max: int = 14
    train_utterances: int = 16_000
    test_utterances: int = 1_200
    train_snrs: tuple[float, ...] = (math.inf, math.inf, 30.0, 20.0, 15.0, 10.0, 5.0)
    test_snrs: tuple[float, ...] = (math.inf, 20.0, 10.0, 5.0)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.transcripts not in TRANSCRIPTS:
            raise ValueError(
                f"transcripts must be one of {sorted(TRANSCRIPTS)}, got {self.transcripts!r}"
            )
        low, high = TRANSCRIPTS[self.transcripts].sizes
        if not low <= self.min_size <= self.max_size <= self.long_max:
            raise ValueError(
                f"the corpus needs {low} <= min_size <= max_size <= long_max, got "
                f"{self.min_size}, {self.max_size} and {self.long_max}"
            )
        if high is not None and self.long_max > high:
            raise ValueError(
                f"{self.transcripts} transcripts have sizes {low} to {high}, got "
                f"long_max {self.long_max}"
            )
        if self.train_utterances < 1 or self.test_utterances < 1:
            raise ValueError("a corpus needs at least one training and one test utterance")
        if not self.train_snrs or not self.test_snrs:
            raise ValueError("train_snrs and test_snrs need at least one SNR each")

    def key(self) -> str:
        """A short hash of the spec and the recipe: the corpus's name in the cache."""
        text = json.dumps({"recipe": RECIPE, **asdict(self)}, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def folder(self, root: Path | None = None) -> Path:
        return (root or cache_root()) / "speech" / f"{self.transcripts}-{self.key()}"


@dataclass
class Split:
    """The utterances of one split.

    features: (total frames, MEL_BINS) float16, every utterance's frames one after another;
    offsets: (N + 1,) long, utterance i is ``features[offsets[i]:offsets[i + 1]]``;
    texts, voices: N transcripts and voice descriptions; sizes: (N,) long; snr: the SNR in dB.
    """

    features: Tensor
    offsets: Tensor
    texts: list[str]
    sizes: Tensor
    voices: list[str]
    snr: Tensor

    def __len__(self) -> int:
        return len(self.texts)

    def utterance(self, index: int) -> Tensor:
        """(frames, MEL_BINS) float32 features of utterance ``index``."""
        return self.features[self.offsets[index] : self.offsets[index + 1]].float()

    def duration(self, index: int) -> float:
        """Seconds of utterance ``index`` (frames every 10 ms)."""
        return float(self.offsets[index + 1] - self.offsets[index]) / 100.0


@dataclass
class Corpus:
    spec: CorpusSpec
    splits: dict[str, Split]

    def split(self, name: str) -> Split:
        if name not in self.splits:
            raise ValueError(f"the corpus has the splits {sorted(self.splits)}, not {name!r}")
        return self.splits[name]


def _stream(spec: CorpusSpec, split: str, index: int) -> random.Random:
    return random.Random(f"{spec.seed}/{split}/{index}")


def make_utterance(spec: CorpusSpec, split: str, index: int) -> dict:
    """Utterance ``index`` of ``split`` ("train" or "test"): its text, size, voice, and features
    (float16 arrays) at each of its SNRs (see the module)."""
    rng = _stream(spec, split, index)
    kind = TRANSCRIPTS[spec.transcripts]
    if split == "train":
        size = rng.randint(spec.min_size, spec.max_size)
    else:
        size = spec.min_size + index % (spec.long_max - spec.min_size + 1)
    text = kind.draw(size, rng)
    voice = draw_voice(rng, held_out=split != "train")
    speech = synthesise_at(text, voice, SAMPLE_RATE)
    lead, trail = (int(rng.uniform(0, MAX_PADDING) * SAMPLE_RATE) for _ in range(2))
    padded = np.concatenate([np.zeros(lead), speech, np.zeros(trail)]).astype(np.float32)
    power = float(np.mean(speech.astype(np.float64) ** 2)) if len(speech) else 0.0
    noise = np.random.default_rng(rng.getrandbits(63)).standard_normal(len(padded))
    snrs = [rng.choice(spec.train_snrs)] if split == "train" else list(spec.test_snrs)
    features = []
    for snr in snrs:
        noisy = padded
        if not math.isinf(snr) and power > 0:
            noisy = padded + (noise * math.sqrt(power / 10 ** (snr / 10))).astype(np.float32)
        features.append(utterance_features(noisy).astype(np.float16))
    return {"text": text, "size": size, "voice": str(voice), "snrs": snrs, "features": features}


def _make(job: tuple[CorpusSpec, str, int]) -> dict:
    return make_utterance(*job)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def generate(spec: CorpusSpec, workers: int | None = None, progress: bool = True) -> Corpus:
    """Synthesise every utterance of ``spec`` (in ``workers`` processes, default: one per
    core), with a progress bar."""
    synthesiser()  # a clear error before any process starts
    jobs = [(spec, "train", i) for i in range(spec.train_utterances)]
    jobs += [(spec, "test", i) for i in range(spec.test_utterances)]
    # Small corpora are quicker made in this process than by starting others.
    workers = workers or min(default_workers(), max(1, len(jobs) // 200))
    bar = tqdm(
        total=len(jobs), desc=f"synthesising the {spec.transcripts} corpus", unit="utt",
        disable=not progress, dynamic_ncols=True,
    )  # fmt: skip
    made = []
    if workers == 1:
        for job in jobs:
            made.append(_make(job))
            bar.update()
    else:
        # Forked workers need no importable main module; they use no torch, only numpy and
        # the synthesiser.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers) as pool:
            for item in pool.imap(_make, jobs, chunksize=16):
                made.append(item)
                bar.update()
    bar.close()
    train = made[: spec.train_utterances]
    test = made[spec.train_utterances :]
    splits = {
        "train": _split(train, [u["features"][0] for u in train], [u["snrs"][0] for u in train])
    }
    for k, snr in enumerate(spec.test_snrs):
        splits[f"test@{snr_name(snr)}"] = _split(
            test, [u["features"][k] for u in test], [snr] * len(test)
        )
    return Corpus(spec, splits)


def _split(utterances: list[dict], features: list[np.ndarray], snrs: list[float]) -> Split:
    lengths = torch.tensor([len(f) for f in features], dtype=torch.long)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    stacked = np.concatenate(features) if features else np.zeros((0, MEL_BINS), np.float16)
    return Split(
        torch.from_numpy(stacked),
        offsets,
        [u["text"] for u in utterances],
        torch.tensor([u["size"] for u in utterances], dtype=torch.long),
        [u["voice"] for u in utterances],
        torch.tensor(snrs, dtype=torch.float32),
    )


def save(corpus: Corpus, folder: Path) -> Path:
    """Write ``corpus`` to ``folder/corpus.pt`` atomically (a temporary file, then a rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CORPUS_FILE
    partial = folder / f".{CORPUS_FILE}.{os.getpid()}.partial"
    payload = {
        "spec": asdict(corpus.spec),
        "splits": {name: asdict(split) for name, split in corpus.splits.items()},
    }
    torch.save(payload, partial)
    os.replace(partial, path)
    return path


def load(path: Path) -> Corpus:
    payload = torch.load(path, weights_only=True)
    spec = payload["spec"]
    spec = CorpusSpec(
        **{**spec, "train_snrs": tuple(spec["train_snrs"]), "test_snrs": tuple(spec["test_snrs"])}
    )
    return Corpus(spec, {name: Split(**split) for name, split in payload["splits"].items()})


_loaded: dict[Path, Corpus] = {}


def corpus_for(
    spec: CorpusSpec, root: Path | None = None, workers: int | None = None, progress: bool = True
) -> Corpus:
    """The corpus of ``spec``: from this process's memory, else from the cache, else generated
    (and cached). Generation says how long it took."""
    path = spec.folder(root) / CORPUS_FILE
    if path in _loaded:
        return _loaded[path]
    if not path.is_file():
        start = time.perf_counter()
        corpus = generate(spec, workers, progress)
        save(corpus, path.parent)
        if progress:
            tqdm.write(
                f"{spec.train_utterances + spec.test_utterances} utterances synthesised in "
                f"{time.perf_counter() - start:.0f} s and cached in {path}"
            )
    _loaded[path] = load(path)
    return _loaded[path]
