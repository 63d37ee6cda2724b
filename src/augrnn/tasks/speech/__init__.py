"""Speech: a corpus synthesised with eSpeak NG, log-mel features, and the ``speech`` task.

:mod:`.transcripts` says what is spoken, :mod:`.synthesis` who speaks it, :mod:`.audio` reads
WAV files, :mod:`.features` computes log-mel filterbanks, :mod:`.corpus` generates and caches
the corpus and :mod:`.task` is the task.
"""

from augrnn.tasks.speech.task import SpeechConfig, SpeechTask, Transcription

__all__ = ["SpeechConfig", "SpeechTask", "Transcription"]
