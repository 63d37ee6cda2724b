"""Run the benchmarks of :mod:`augrnn.bench`: the same as ``augrnn bench``, e.g.

python benchmarks/run.py ntm act --threads 1 --json bench.json
python benchmarks/run.py --help
"""

import sys

from augrnn.cli import main

if __name__ == "__main__":
    main(["bench", *sys.argv[1:]], prog_name="benchmarks/run.py")
