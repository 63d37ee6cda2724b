#!/usr/bin/env bash
# The checks for a machine with a CUDA GPU, from a checkout, installed or not:
#
#     bash benchmarks/gpu.sh OUTDIR [STAGE...]
#
# STAGEs (default: all, in this order): tests (the whole test suite, every device test on the
# CPU and on CUDA; 2.5 minutes on an H200 machine with 16 cores), then the benchmarks on CUDA:
# ntm, act, attention, programmer and scaling (memory sizes N up to 65,536; lengths 100 and
# 1,000). The compiled contenders compile for about 20 s each on CUDA, so ntm and act take
# several minutes. Each stage has its own time limit, so one that hangs cannot stop the others;
# logs and JSON reports go to OUTDIR. PYTHON (default python3) must have torch with CUDA, pytest,
# pytest-xdist and pytest-timeout. WORKERS (default 12) is the number of pytest processes.
set -u
out=${1:?usage: bash benchmarks/gpu.sh OUTDIR [tests ntm act attention programmer scaling]}
shift
stages=${*:-tests ntm act attention programmer scaling}
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
log="$out/gpu.log"

stage() {  # stage NAME SECONDS COMMAND...: run COMMAND with a time limit, logging its status
    local name=$1 limit=$2 start=$SECONDS
    shift 2
    echo "== $name (limit ${limit}s)" | tee -a "$log"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start))s" | tee -a "$log"
}

bench() {  # bench SECONDS NAME ARGS...
    local limit=$1 name=$2
    shift 2
    stage "bench $name" "$limit" "$python" benchmarks/run.py "$name" --device cuda \
        --json "$out/bench_$name.json" "$@"
}

stage gpu 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
stage environment 60 "$python" -c "
import torch
print('torch', torch.__version__, 'cuda', torch.version.cuda)
print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device')
"
for name in $stages; do
    case $name in
    tests)  # one CPU thread per worker: the workers share the machine's cores
        stage tests 300 env OMP_NUM_THREADS=1 "$python" -m pytest -q -p no:cacheprovider \
            -n "${WORKERS:-12}" --timeout 180 --junitxml "$out/junit.xml" tests ;;
    ntm | act) bench 420 "$name" --repeats 5 --warmup 2 ;;
    attention | programmer) bench 60 "$name" --repeats 5 --warmup 2 ;;
    scaling)
        stage "bench scaling (memory sizes; lengths 100 and 1,000)" 180 "$python" -c "
import json, sys
from augrnn.bench import scaling
from augrnn.bench.common import Options
report = scaling.run(Options(repeats=1, warmup=1, device='cuda'), lengths=(100, 1_000))
print(scaling.table(report))
open(sys.argv[1], 'w').write(json.dumps({'benchmarks': {'scaling': report}}, indent=2))
" "$out/bench_scaling.json" ;;
    *) echo "unknown stage $name; choose from tests ntm act attention programmer scaling" >&2
       exit 2 ;;
    esac
done
