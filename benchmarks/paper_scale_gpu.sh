#!/usr/bin/env bash
# Paper scale on one GPU (benchmarks/README.md, "paper scale on a GPU"): the speed and memory
# benchmark of benchmarks/paper_scale_gpu.py, then config/paper.yaml's own rules for a few
# hundred steps with benchmarks/paper-gpu.yaml on top (midpoint-quality and path-length
# and auto-encoder tables: training, CelebA loading, reference statistics, Inception features, FID, IS, KID,
# precision/recall, path length). Results go to OUTDIR; WORKDIR holds the run.
#
#   benchmarks/paper_scale_gpu.sh OUTDIR [WORKDIR]
#
# PAPER_GPU_BENCH_ARGS adds arguments to the benchmark (e.g. --tiny) and PAPER_GPU_EXTRA_CONFIG
# a config file after the overlay (e.g. config/paper-ci.yaml), to check this script on a CPU.
set -uo pipefail
out=${1:?usage: $0 OUTDIR [WORKDIR]}
work=${2:-/tmp/paper-gpu}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out" "$work"
out=$(cd "$out" && pwd)
export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python=${PYTHON:-python3}

(nvidia-smi || echo "no nvidia-smi") >"$out/nvidia-smi.txt" 2>&1
"$python" "$repo/tests/paper_ci.py" "$work" >/dev/null       # the synthetic CelebA, in $work/ci/celeba
if [ "${PAPER_GPU_BENCH:-1}" = 1 ]; then
  # shellcheck disable=SC2086
  "$python" "$repo/benchmarks/paper_scale_gpu.py" --standins "$work/gpu" --out "$out/bench.json" \
    ${PAPER_GPU_BENCH_ARGS:-} 2>&1 | tee "$out/bench.log"
else
  "$python" -c "import sys; sys.path[:0] = ['$repo/benchmarks']; from pathlib import Path; \
import paper_scale_gpu as b; b.write_fullsize_standins(Path('$work/gpu'))"
fi

start=$(date +%s)
timeout "${PAPER_GPU_TIMEOUT:-300}" "$python" -m snakemake -s "$repo/Snakefile" --directory "$work" --cores all \
  --scheduler greedy --keep-going --configfile "$repo/config/paper.yaml" "$repo/benchmarks/paper-gpu.yaml" \
  ${PAPER_GPU_EXTRA_CONFIG:+"$repo/$PAPER_GPU_EXTRA_CONFIG"} \
  --set-resources train_gan:gpu=1 --resources gpu=1 \
  -- results-paper/tables/midpoint-quality.csv results-paper/tables/path-length.csv \
  results-paper/tables/autoencoders.csv >"$out/snakemake.log" 2>&1
rc=$?
echo "snakemake rc=$rc wall_s=$(($(date +%s) - start))" | tee -a "$out/snakemake.log"
(cd "$work" && tar czf "$out/results.tar.gz" --exclude='*.pt' --exclude='*.npz' results-paper 2>/dev/null)
exit $rc
