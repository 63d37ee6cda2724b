"""bAbI question answering (Weston et al. 2015): a simulated world that tells stories
(:mod:`~augrnn.tasks.babi.world`), the task types as story generators
(:mod:`~augrnn.tasks.babi.stories`), a reader for the real files
(:mod:`~augrnn.tasks.babi.reader`) and the task (:mod:`~augrnn.tasks.babi.task`)."""

from augrnn.tasks.babi.task import BabiConfig, BabiTask, StoryBatch

__all__ = ["BabiConfig", "BabiTask", "StoryBatch"]
