"""Speech synthesised by eSpeak NG (the ``espeak-ng`` program, Debian's package of that name).

A :class:`Voice` is one of eSpeak NG's English accents with one of its voice variants, a
speaking rate and a pitch. The variants are split once and for all: :data:`TEST_VARIANTS` are
heard only in held-out sets, so a test voice's timbre is never met in training.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np

from augrnn.tasks.speech.audio import pcm_to_float, resample

#: eSpeak NG's English accents.
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
#: Voice variants heard in training.
TRAIN_VARIANTS = (
    "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "adam", "Alex", "Andy", "Annie", "aunty", "benjamin", "caleb",
    "david", "ed", "edward", "john", "max", "Michael", "paul", "quincy", "rob", "robert",
    "steph", "victor", "zac", "norbert", "grandpa",
)  # fmt: skip
#: Voice variants heard only in held-out sets.
TEST_VARIANTS = ("m3", "f2", "klatt4", "linda", "travis", "grandma", "Mike")
#: Speaking rates (words per minute) and pitches (0-99) voices are drawn from.
RATES = (130, 210)
PITCHES = (25, 75)
INSTALL_HINT = (
    "speech synthesis needs eSpeak NG: install the Debian package espeak-ng "
    "(`apt-get install espeak-ng`, or `make speech`)"
)


class SynthesiserMissing(RuntimeError):
    """eSpeak NG is not installed."""


@dataclass(frozen=True)
class Voice:
    accent: str
    variant: str
    rate: int
    pitch: int

    @property
    def name(self) -> str:
        """eSpeak NG's voice name: accent+variant."""
        return f"{self.accent}+{self.variant}"

    def __str__(self) -> str:
        return f"{self.name}, {self.rate} wpm, pitch {self.pitch}"


def draw_voice(rng: random.Random, held_out: bool) -> Voice:
    """A random voice: any accent, a training or held-out variant, a rate and a pitch."""
    variants = TEST_VARIANTS if held_out else TRAIN_VARIANTS
    return Voice(
        rng.choice(ACCENTS), rng.choice(variants), rng.randint(*RATES), rng.randint(*PITCHES)
    )


def synthesiser() -> str:
    """The path of ``espeak-ng``; raises :class:`SynthesiserMissing` when it is not installed."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise SynthesiserMissing(INSTALL_HINT)
    return path


def synthesise(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """``text`` spoken by ``voice``: (N,) float32 samples in [-1, 1] and their rate (Hz)."""
    command = [
        synthesiser(), "-v", voice.name, "-s", str(voice.rate), "-p", str(voice.pitch),
        "--stdout", text,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"espeak-ng failed on {text!r} with {voice.name}: {done.stderr.decode().strip()}"
        )
    # Written to a pipe, the header cannot give the data's length: read its format only, and
    # the samples from the data chunk to the end.
    with wave.open(io.BytesIO(done.stdout), "rb") as reader:
        channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
    start = done.stdout.find(b"data", 12) + 8
    samples = pcm_to_float(done.stdout[start:], width, channels).mean(axis=1)
    return samples, rate


def synthesise_at(text: str, voice: Voice, rate: int) -> np.ndarray:
    """:func:`synthesise`, resampled to ``rate`` Hz."""
    samples, native = synthesise(text, voice)
    return resample(samples, native, rate)
