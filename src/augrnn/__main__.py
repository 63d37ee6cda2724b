"""``python -m augrnn``: the command line, e.g. under torchrun
(``torchrun --nproc_per_node=2 -m augrnn train PRESET``)."""

from augrnn.cli import run

if __name__ == "__main__":
    run()
