"""Training: run configuration (:mod:`.config`), the training loop (:mod:`.loop`), held-out
evaluation (:mod:`.evaluation`), run folders (:mod:`.runs`), checkpoints (:mod:`.checkpoint`) and
sweeps (:mod:`.sweep`)."""
