#!/usr/bin/env bash
# octopus worker 1 of experiment zero_shot on gpu1 (delivery D1).
# Every command appends 'start' and 'end' lines (tab-separated: event, id, time, detail) to
# the state file below, and its output to logs/<id>.log as well as to this worker's output.
OCTOPUS_RUN="$HOME/.octopus/zero_shot/deliveries/D1"
OCTOPUS_STATE="$OCTOPUS_RUN/state/s1.events"
OCTOPUS_TIMEOUT=""
OCTOPUS_RETRIES="0"
mkdir -p "$OCTOPUS_RUN/state" "$OCTOPUS_RUN/logs"
octopus_now() { date +%s.%N 2>/dev/null || date +%s; }
octopus_event() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(octopus_now)" "$3" >> "$OCTOPUS_STATE"
}
# A command's start or end that cannot be recorded (a full disk) stops the worker: a command
# run with no record would show as lost and run again on --resume. Parallel commands (Slurm
# tasks) leave the stop mark for the others, as a failure under stop_on_error does.
octopus_record() {
  octopus_event "$@" && return 0
  echo "octopus: cannot write $OCTOPUS_STATE: this worker stops" >&2
  touch "$OCTOPUS_STATE.stop" 2>/dev/null
  exit 1
}
# octopus_run ID 'COMMAND': the command's text is evaluated in a subshell of its own, so its
# `exit`, `cd` or `set -e` stay there, a syntax error in it fails it alone, and its shell
# options hold (errexit is never in an ignored context: no && || or `if` around it). The
# worker's own `set -e` (from the prefix) carries into each command, as in one script.
octopus_run() {
  # Moved away by a rebalance while this node was out of reach: stop before the next command.
  if [ -e "$OCTOPUS_RUN/FENCE" ]; then octopus_event worker-end - fenced; exit 0; fi
  case $- in *e*) octopus_errexit=1 ;; *) octopus_errexit= ;; esac
  octopus_rcfile="$OCTOPUS_RUN/state/.rc.$1"
  octopus_try=0
  while :; do
    octopus_record start "$1" "$(hostname)"
    # The exit code comes back on descriptor 3 while the output goes through tee to the
    # worker's output (descriptor 4): no file carries it, so a full disk cannot blank it.
    # On a full disk tee can write nowhere and quits: cat then drains the output, so the
    # command is not killed by SIGPIPE, and a failed tee cannot end a `set -e` worker.
    {
      octopus_rc=$(
        {
          {
            set +e
            if [ -n "$OCTOPUS_TIMEOUT" ]; then octopus_limited "$2" 3>&- 4>&-
            else octopus_eval "$2" 3>&- 4>&-; fi
            echo $? >&3
          } | { tee -a "$OCTOPUS_RUN/logs/$1.log" >&4; cat >/dev/null; }
        } 3>&1
        true
      )
    } 4>&1
    [ -n "$octopus_rc" ] || octopus_rc=255
    octopus_record end "$1" "$octopus_rc"
    octopus_try=$((octopus_try + 1))
    # Retried as GNU parallel's --retries does: a failed command runs again, up to N more times.
    if [ "$octopus_rc" = 0 ] || [ "$octopus_try" -gt "$OCTOPUS_RETRIES" ]; then break; fi
  done
  if [ "$octopus_rc" != 0 ]; then
    case "1$-" in
      1*|*e*) touch "$OCTOPUS_STATE.stop"; octopus_stop ;;
    esac
  fi
}
octopus_eval() {
  (
    if [ -n "$octopus_errexit" ]; then set -e; fi
    eval "$1"
  ) 2>&1
}
# With a time limit, as GNU parallel's --timeout: the command runs as a process group of its
# own (job control), and when the limit passes the whole group gets SIGTERM, then SIGKILL 10 s
# later; it then counts as failed with exit code 124, as coreutils' timeout reports.
octopus_limited() {
  set -m
  octopus_eval "$1" &
  octopus_pid=$!
  (
    sleep "$OCTOPUS_TIMEOUT"
    : > "$octopus_rcfile.timeout"
    kill -TERM -- "-$octopus_pid" 2>/dev/null
    sleep 10
    kill -KILL -- "-$octopus_pid" 2>/dev/null
  ) >/dev/null 2>&1 &
  octopus_dog=$!
  wait "$octopus_pid" 2>/dev/null  # (the shell's "Terminated" notice is not the command's)
  octopus_status=$?
  kill -- "-$octopus_dog" 2>/dev/null
  set +m
  if [ -e "$octopus_rcfile.timeout" ]; then
    rm -f "$octopus_rcfile.timeout"
    echo "octopus: stopped after ${OCTOPUS_TIMEOUT}s (command_timeout)"
    return 124
  fi
  return "$octopus_status"
}
# Parallel commands (Slurm tasks) run in subshells: they only leave a mark, checked after wait.
octopus_stop() {
  [ -n "$OCTOPUS_PARALLEL" ] || { octopus_event worker-end - stopped; exit 1; }
}
octopus_check_stop() {
  if [ -e "$OCTOPUS_STATE.stop" ]; then octopus_event worker-end - stopped; exit 1; fi
}
rm -f "$OCTOPUS_STATE.stop"
# `inv start` names the experiment's venv (SetupVenv, SetupUvVenv) when the node has one.
if [ -n "${OCTOPUS_VENV:-}" ] && [ -f "$OCTOPUS_VENV/bin/activate" ]; then
  . "$OCTOPUS_VENV/bin/activate"
fi
# A line cut short (a crash or a full disk mid-write) must not swallow this run's first one.
if [ -s "$OCTOPUS_STATE" ] && [ -n "$(tail -c 1 "$OCTOPUS_STATE")" ]; then
  echo >> "$OCTOPUS_STATE"
fi
octopus_event worker-start - $$
set -x; cd ~/zero-shot
octopus_run 2 'python3 train.py --seed 1 --device cuda:1'
octopus_event worker-end - done
