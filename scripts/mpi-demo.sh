#!/usr/bin/env bash
# The multi-process training example, end to end: 4 ranks train and checkpoint together until
# one of them is killed just after a step commits (a crashed machine); then 2 ranks, cut into a
# different grid, resume from the latest committed step, check the regions they load bit for bit,
# and finish the run; last, an uninterrupted run must end with the same parameters.
#   scripts/mpi-demo.sh [build-dir]   (default: build, relative to the repository's root)
#   CAIRN_MPIEXEC   the MPI launcher (default: mpirun)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
program=$build_dir/examples/mpi_train_loop
mpiexec=${CAIRN_MPIEXEC:-mpirun}
if [[ ! -x $program ]]; then
  echo "mpi-demo: $program is missing: build with MPI first (scripts/build.sh $build_dir)" >&2
  exit 1
fi

# The settings tests/mpi/ gives OpenMPI: root is refused without the first two, more ranks than
# cores without oversubscription; the ranks share one machine, so shared memory carries it all.
launch=("$mpiexec")
if "$mpiexec" --version 2>&1 | grep -qE "Open MPI|OpenRTE"; then
  launch+=(--oversubscribe)
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps=40
save_every=5
kill_at=25  # a step that is saved

# The committed steps under a root, in order: plain step names holding _CHECKPOINT_METADATA (a
# save in flight or cut short leaves only a temporary directory).
committed() {
  local dir
  for dir in "$1"/*/; do
    dir=${dir%/}
    if [[ ${dir##*/} =~ ^[0-9]+$ && -f $dir/_CHECKPOINT_METADATA ]]; then echo "${dir##*/}"; fi
  done | sort -n
}

fail() {
  echo "mpi-demo: FAILED: $*" >&2
  exit 1
}

echo "== 4 ranks (TP=2 x DP=2) save every $save_every steps; rank 1 dies once step $kill_at commits"
status=0
"${launch[@]}" -np 4 "$program" "$work/run" --steps "$steps" --save-every "$save_every" \
  --kill-at "$kill_at" >"$work/first.log" 2>&1 || status=$?
cat "$work/first.log"
[[ $status -ne 0 ]] || fail "the killed run exited with status 0"
! grep -q "^finished" "$work/first.log" || fail "the killed run finished"
kept=$(committed "$work/run" | xargs)
latest=$(committed "$work/run" | tail -n 1)
[[ $latest == "$kill_at" ]] ||
  fail "after the kill the latest committed step is '$latest', not $kill_at"
# The 3 latest saves are kept. (The retention pass that removes the one before them may have been
# cut short by the kill: the resumed run's first pass finishes it.)
for step in $((kill_at - 2 * save_every)) $((kill_at - save_every)); do
  [[ " $kept " == *" $step "* ]] || fail "step $step is missing after the kill: $kept"
done
echo "-- mpirun exited with status $status; committed steps left: $kept"

echo "== 2 ranks (TP=1 x DP=2) resume the run and finish it"
"${launch[@]}" -np 2 "$program" "$work/run" --steps "$steps" --save-every "$save_every" --tp 1 \
  >"$work/second.log" 2>&1 || { cat "$work/second.log"; fail "the resumed run failed"; }
cat "$work/second.log"
grep -q "^resumed from step $kill_at " "$work/second.log" ||
  fail "the run did not resume from step $kill_at"
latest=$(committed "$work/run" | tail -n 1)
[[ $latest == "$steps" ]] || fail "the resumed run's latest committed step is '$latest', not $steps"

echo "== 3 ranks (TP=1 x DP=3), uninterrupted, for comparison"
"${launch[@]}" -np 3 "$program" "$work/reference" --steps "$steps" --save-every "$save_every" \
  >"$work/reference.log" 2>&1 || { cat "$work/reference.log"; fail "the uninterrupted run failed"; }
tail -n 1 "$work/reference.log"
resumed_print=$(grep -o "fingerprint [0-9a-f]*" "$work/second.log" || true)
reference_print=$(grep -o "fingerprint [0-9a-f]*" "$work/reference.log" || true)
[[ -n $resumed_print && $resumed_print == "$reference_print" ]] ||
  fail "the resumed run ended with $resumed_print, the uninterrupted one with $reference_print"
echo "mpi demo ok: killed at step $kill_at, resumed on 2 ranks to step $steps, same $resumed_print"
