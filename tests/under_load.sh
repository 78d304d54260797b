#!/usr/bin/env bash
# The test suite on a busy machine: BUSY processes (default 2) keep the cores
# busy while the suite runs RUNS times in a row (default 3). Each busy loop is a
# `python -c "while True: pass"` started here and killed by its PID at the end
# (also on Ctrl-C). Runs `bash tests/run_all.sh` (the whole suite), or, with
# arguments, `python -m pytest -q ARGS` (e.g. the CPU run only:
# `tests/under_load.sh -p no:napari --ignore=tests/napari`).
# Prints each run's exit code and wall time; fails if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

busy=${BUSY:-2}
runs=${RUNS:-3}
pids=()
stop_loops() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
}
trap stop_loops EXIT

for ((i = 0; i < busy; i++)); do
    python -c "while True: pass" &
    pids+=("$!")
done
echo "under_load.sh: $busy busy loops (PIDs ${pids[*]}), $runs runs, load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

failed=0
for ((run = 1; run <= runs; run++)); do
    start=$(date +%s)
    if (($# > 0)); then
        python -m pytest -q "$@"
    else
        bash tests/run_all.sh
    fi
    status=$?
    echo "under_load.sh: run $run of $runs: exit $status in $(($(date +%s) - start)) s," \
        "load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    ((status != 0)) && failed=1
done
exit $failed
