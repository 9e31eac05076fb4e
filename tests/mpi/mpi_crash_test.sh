#!/usr/bin/env bash
# Kills ranks of a multi-process save with SIGKILL and checks what the others and a restarted
# job see (tests/mpi/mpi_crash_child.cc does the checking):
#   kill-data    a rank dies writing its data: the others fail within the deadline, no step
#   kill-commit  the primary dies at its commit: the same
#   crash-loop   a 2-rank training job killed at random moments, resumed each time on 2 ranks
# Usage: mpi_crash_test.sh <mode> <mpi_crash_child> <mpiexec> [mpiexec flags...]
set -euo pipefail
mode=$1
child=$2
mpiexec=$3
shift 3
flags=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/run

# Survivors of a dead rank must be left running: OpenMPI's mpirun takes every rank down when one
# dies unless told otherwise; MPICH's mpiexec needs -disable-auto-cleanup.
survive=()
if "$mpiexec" --version 2>&1 | grep -q "Open MPI\|OpenRTE"; then
  survive=(--enable-recovery)
elif "$mpiexec" --version 2>&1 | grep -qi "hydra\|mpich"; then
  survive=(-disable-auto-cleanup)
fi

# Every listed rank wrote PASS into directory $1.
check_results() {
  local dir=$1
  shift
  local rank
  for rank in "$@"; do
    if [[ ! -f $dir/rank$rank ]]; then
      echo "rank $rank wrote no verdict" >&2
      return 1
    fi
    echo "rank $rank: $(cat "$dir/rank$rank")"
    grep -q '^PASS' "$dir/rank$rank" || return 1
  done
}

# The highest committed step under the root (rename mode: a step's directory appears whole), or -1.
latest_step() {
  local name latest=-1
  for name in "$root"/*; do
    name=${name##*/}
    if [[ $name =~ ^[0-9]+$ ]] && ((name > latest)); then latest=$name; fi
  done
  echo "$latest"
}

# Waits (bounded) until a step above $1 is committed, so that every kill interrupts a job that
# has made progress, however slowly it starts (under a sanitizer, say).
await_step_above() {
  local before=$1 deadline=$((SECONDS + 120))
  while (($(latest_step) <= before)); do
    if ((SECONDS >= deadline)); then
      echo "no step above $before was committed within 120 s" >&2
      return 1
    fi
    sleep 0.05
  done
}

resume() {
  local dir=$work/resume$1
  mkdir -p "$dir"
  timeout 120 "$mpiexec" -np 2 "${flags[@]}" "$child" resume "$root" "$dir"
  check_results "$dir" 0 1
}

kill_one() {
  local victim=$1 where=$2
  local dir=$work/die
  mkdir -p "$dir"
  # The job ends with a dead rank: its exit status is not the verdict, the survivors' files are.
  timeout 120 "$mpiexec" -np 3 "${survive[@]}" "${flags[@]}" "$child" save-and-die "$root" \
    "$victim" "$where" "$dir" || true
  local survivors=()
  local rank
  for rank in 0 1 2; do
    [[ $rank == "$victim" ]] || survivors+=("$rank")
  done
  check_results "$dir" "${survivors[@]}"
  if [[ -f $dir/rank$victim ]]; then
    echo "rank $victim was to die but wrote a verdict" >&2
    return 1
  fi
  resume 0
}

case $mode in
  kill-data) kill_one 2 data ;;
  kill-commit) kill_one 0 commit ;;
  crash-loop)
    for round in 1 2 3 4 5; do
      before=$(latest_step)
      timeout 180 "$mpiexec" -np 2 "${flags[@]}" "$child" train "$root" &
      job=$!
      # Once the job has committed a step of its own, kill one of its ranks at a random moment.
      await_step_above "$before"
      sleep "$(awk -v seed="$RANDOM" 'BEGIN { srand(seed); printf "%.2f", 0.5 + rand() * 1.5 }')"
      # The ranks alone (their command line starts with the program), never mpiexec: a killed
      # mpiexec would leave its ranks training on, beside the next job.
      mapfile -t pids < <(pgrep -f "^$child train $root" || true)
      if (( ${#pids[@]} == 0 )); then
        echo "round $round: the training job is not running" >&2
        exit 1
      fi
      kill -9 "${pids[RANDOM % ${#pids[@]}]}"
      wait "$job" || true
      echo "round $round: killed"
      resume "$round"
    done
    ;;
  *)
    echo "unknown mode $mode" >&2
    exit 2
    ;;
esac
