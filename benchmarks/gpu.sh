#!/usr/bin/env bash
# The checks for a machine with a CUDA GPU, from a checkout, installed or not:
#
#     bash benchmarks/gpu.sh OUTDIR [STAGE...]
#
# STAGEs (default: all, in this order): tests (the whole test suite, every device test on the CPU
# and on CUDA; 2.5 minutes on an H200 machine with 16 cores), then the benchmarks on CUDA: ntm, act,
# attention, programmer, dnc, dnc_scaling (the sparse DNC up to 1,000,000 slots), stack, memnet, neural_gpu, nram, rl_ntm, speech and scaling (memory
# sizes N up to 65,536; lengths 100 and 1,000). The compiled contenders compile for about 20 s each
# on CUDA, so ntm runs each batch size and act each core as a call of its own (act at 4 ponder steps
# only), each with its own JSON report: a part cut off by its time limit loses only itself. `ntm
# act` take at most 9.5 minutes. Each stage has its own time limit, so one that hangs cannot stop
# the others; logs and JSON reports go to OUTDIR. PYTHON (default python3) must have torch with
# CUDA, pytest, pytest-xdist and pytest-timeout. WORKERS (default 12) is the number of pytest
# processes. DEVICE (default cuda) is where the benchmarks run (cpu: to try this script without a
# GPU).
set -u
out=${1:?usage: bash benchmarks/gpu.sh OUTDIR [tests ntm act attention programmer dnc dnc_scaling stack memnet neural_gpu nram rl_ntm speech scaling]}
shift
stages=${*:-tests ntm act attention programmer dnc dnc_scaling stack memnet neural_gpu nram rl_ntm speech scaling}
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

bench() {  # bench SECONDS NAME PART ARGS...: the report goes to bench_NAME[_PART].json
    local limit=$1 name=$2 part=${3:+_$3}
    shift 3
    stage "bench $name$part" "$limit" "$python" benchmarks/run.py "$name" \
        --device "${DEVICE:-cuda}" --json "$out/bench_$name$part.json" "$@"
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
    ntm)
        bench 160 ntm batch32 --batch-sizes 32 --repeats 5 --warmup 2
        bench 120 ntm batch1 --batch-sizes 1 --repeats 5 --warmup 2 ;;
    act)
        bench 100 act lstm --size cores=lstm --size ponder=4 --repeats 5 --warmup 2
        bench 170 act ntm --size cores=ntm --size ponder=4 --repeats 5 --warmup 2 ;;
    attention | programmer | memnet) bench 60 "$name" "" --repeats 5 --warmup 2 ;;
    dnc)
        bench 160 dnc batch32 --batch-sizes 32 --repeats 5 --warmup 2
        bench 120 dnc batch1 --batch-sizes 1 --repeats 5 --warmup 2 ;;
    dnc_scaling) bench 150 dnc_scaling "" --repeats 3 --warmup 1 ;;
    stack) bench 120 stack "" --batch-sizes 32 --repeats 5 --warmup 2 ;;
    neural_gpu) bench 150 neural_gpu "" --batch-sizes 32 --repeats 5 --warmup 2 ;;
    nram | rl_ntm | speech) bench 90 "$name" "" --batch-sizes 32 --repeats 5 --warmup 2 ;;
    scaling)
        stage "bench scaling (memory sizes; lengths 100 and 1,000)" 180 "$python" -c "
import json, sys
from augrnn.bench import scaling
from augrnn.bench.common import Options
report = scaling.run(Options(repeats=1, warmup=1, device=sys.argv[2]), lengths=(100, 1_000))
print(scaling.table(report))
open(sys.argv[1], 'w').write(json.dumps({'benchmarks': {'scaling': report}}, indent=2))
" "$out/bench_scaling.json" "${DEVICE:-cuda}" ;;
    *) echo "unknown stage $name; choose from tests ntm act attention programmer dnc dnc_scaling stack memnet neural_gpu nram rl_ntm speech scaling" >&2
       exit 2 ;;
    esac
done
