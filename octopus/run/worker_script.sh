#!/usr/bin/env bash
#@sbatch-header@
# octopus worker @JOB_ID@ of experiment @EXPERIMENT@ on @NODE@ (delivery @DELIVERY@).
# Every command appends 'start' and 'end' lines (tab-separated: event, id, time, detail) to
# the state file below, its stdout to @LOGS_DIR@/@STDOUT_NAME@ and its stderr to
# @LOGS_DIR@/@STDERR_NAME@, and both to this worker's output.
OCTOPUS_RUN="$HOME/@RUN_DIR@"
OCTOPUS_STATE="$OCTOPUS_RUN/@EVENTS_FILE@"
OCTOPUS_TIMEOUT="@TIMEOUT@"
OCTOPUS_RETRIES="@RETRIES@"
mkdir -p "$OCTOPUS_RUN/@STATE_DIR@" "$OCTOPUS_RUN/@LOGS_DIR@"
# Per command the worker starts no program of its own: the host is read once, the time comes
# from bash's clock and each event is one append by a builtin, so a command that takes no time
# costs little more than its subshell. Only a shell without $EPOCHREALTIME (bash < 5) asks `date`.
OCTOPUS_HOST=${HOSTNAME:-$(hostname)}
if [ -n "${EPOCHREALTIME:-}" ]; then
  # Its decimal mark follows the locale (1700000000,5 in some): the record always has a dot.
  octopus_event() {
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${EPOCHREALTIME/[!0-9]/.}" "$3" >> "$OCTOPUS_STATE"
  }
else
  octopus_event() {
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(date +%s.%N 2>/dev/null || date +%s)" "$3" \
      >> "$OCTOPUS_STATE"
  }
fi
# A command's start or end that cannot be recorded (a full disk) stops the worker: a command
# run with no record would show as lost and run again on --resume. Parallel commands (Slurm
# tasks) leave the stop mark for the others, as a failure under stop_on_error does.
octopus_record() {
  octopus_event "$@" && return 0
  echo "octopus: cannot write $OCTOPUS_STATE: this worker stops" >&2
  : >> "$OCTOPUS_STATE.stop" 2>/dev/null
  exit 1
}
#@queue@
# octopus_run ID 'COMMAND': the command's text is evaluated in a subshell of its own, so its `exit`, `cd` or `set -e` stay there, a syntax error in it fails it
# alone, and its shell options hold (errexit is never in an ignored context: no && || or `if`
# around it). The worker's own `set -e` (from the prefix) carries into each command, as in one
# script; the worker itself reads the command's exit code instead of ending on it.
octopus_run() {
  # Moved away by a rebalance while this node was out of reach: stop before the next command.
  if [ -e "$OCTOPUS_RUN/@FENCE_FILE@" ]; then octopus_event worker-end - fenced; exit 0; fi
#@claim@
  case $- in *e*) octopus_errexit=1; set +e ;; *) octopus_errexit= ;; esac
  octopus_rcfile="$OCTOPUS_RUN/@STATE_DIR@/.rc.$1"
  octopus_out="$OCTOPUS_RUN/@STDOUT_LOG@"
  octopus_err="$OCTOPUS_RUN/@STDERR_LOG@"
  octopus_try=0
  while :; do
    octopus_record start "$1" "$OCTOPUS_HOST"
    # Rarely a file holds output already (an earlier attempt's, shown when it ended).
    octopus_seen= octopus_seen_out=
    if [ -s "$octopus_err" ]; then octopus_seen=$(wc -c 2>/dev/null < "$octopus_err"); fi
    if [ -z "$OCTOPUS_LIVE" ] && [ -s "$octopus_out" ]; then
      octopus_seen_out=$(wc -c 2>/dev/null < "$octopus_out")
    fi
    octopus_attempt "$@"
    octopus_rc=$?
    octopus_record end "$1" "$octopus_rc"
    if [ -z "$OCTOPUS_LIVE" ] && [ -s "$octopus_out" ]; then
      octopus_show "$octopus_out" "$octopus_seen_out"
    fi
    if [ -s "$octopus_err" ]; then octopus_show "$octopus_err" "$octopus_seen"; fi
    octopus_try=$((octopus_try + 1))
    # Retried as GNU parallel's --retries does: a failed command runs again, up to N more times.
    if [ "$octopus_rc" = 0 ] || [ "$octopus_try" -gt "$OCTOPUS_RETRIES" ]; then break; fi
  done
  if [ -n "$octopus_errexit" ]; then set -e; fi
  if [ "$octopus_rc" != 0 ]; then
    case "@STOP_ON_ERROR@$-" in
      1*|*e*) : >> "$OCTOPUS_STATE.stop"; octopus_stop ;;
    esac
  fi
}
# A command's stdout and stderr go straight to its own two files: the command's subshell opens
# them with `>>` (appending, so a retry adds to them), after the fork, so the worker pays
# nothing for them. When the command ends, what this attempt wrote there is added to the
# worker's output (output_screen<i>), its stdout then its stderr, each in one piece, as GNU
# parallel's default (--group) shows a job's output once the job is done. With live_output
# the stdout reaches the worker's output as it comes instead (octopus_output), and only the
# stderr waits. A command that wrote nothing costs one test per file (a builtin), and `cat`
# starts only for a file that holds something; the exit code recorded is the command's own,
# taken before. A worker killed while a command runs leaves its output in its files alone. On
# a full disk the command's writes there fail as its writes to its own files do; its exit
# code is still its own.
octopus_show() {
  if [ -z "$2" ]; then
    cat -- "$1"
  else
    tail -c "+$(($2 + 1))" -- "$1"
  fi 2>/dev/null
  return 0
}
# live_output: a command's stdout goes to its file and to the worker's output as it comes.
# The worker reads the first byte itself: a command that prints nothing (the common case) only
# leaves its empty file, and tee starts for those that print. On a full disk tee can write
# nowhere and quits: cat then drains the output, so the command is not killed by SIGPIPE and
# keeps its own exit code. It runs in the worker's own shell: it returns, never exits.
octopus_output() {
  local octopus_byte
  if ! IFS= read -r -n 1 -d '' octopus_byte; then
    : >> "$1"
    return 0
  fi
  if [ -z "$octopus_byte" ]; then
    printf '\0' >> "$1" 2>/dev/null
    printf '\0' 2>/dev/null
  else
    printf '%s' "$octopus_byte" >> "$1" 2>/dev/null
    printf '%s' "$octopus_byte" 2>/dev/null
  fi
  tee -a -- "$1" || cat >/dev/null
  return 0
}
# Runs as the command's subshell (octopus_attempt): no second one is needed.
octopus_eval() {
  if [ -n "$octopus_errexit" ]; then set -e; fi
  eval "$1"
}
# With a time limit, as GNU parallel's --timeout: the command runs as a process group of its
# own (job control), and when the limit passes the whole group gets SIGTERM, then SIGKILL 10 s
# later; it then counts as failed with exit code 124, as coreutils' timeout reports.
octopus_limited() {
  set -m
  octopus_eval "$1" <&0 &  # (its stdin is the worker's, not /dev/null as a background job's)
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
    echo "octopus: stopped after ${OCTOPUS_TIMEOUT}s (command_timeout)" >&2
    return 124
  fi
  return "$octopus_status"
}
octopus_runner=octopus_eval
if [ -n "$OCTOPUS_TIMEOUT" ]; then octopus_runner=octopus_limited; fi
# One attempt of a command: its subshell's stdout and stderr go to the command's files (should
# the stderr file not open, with its stdout, after the shell's word on why: the command runs
# all the same), and its exit code comes back as the attempt's status. No file carries the
# code, so a full disk cannot blank it. The subshell is the only process a command costs.
OCTOPUS_LIVE="@LIVE_OUTPUT@"
octopus_attempt() {
  (
    command exec >>"$octopus_out" 2>&1
    command exec 2>>"$octopus_err"
    "$octopus_runner" "$2"
  )
}
# With live_output the stdout goes to the worker's output as it comes, too. Under bash 5 on
# Linux (checked once here) the command runs as a background subshell writing into a pipe the
# worker keeps, and the worker reads it (octopus_output) up to its end, then takes the code
# from `wait`. The pipe is opened once; each command writes through a new end opened from
# /proc, so its output ends (end of file) when it and its children are done. Parallel
# commands (Slurm tasks) each open their own. (Defined through eval: a POSIX sh must still
# read this file.)
octopus_reads=
if [ -n "$OCTOPUS_LIVE" ] && [ -n "${EPOCHREALTIME:-}" ] && eval '
  exec {octopus_pipe}< <(:) && exec {octopus_end}> "/proc/self/fd/$octopus_pipe" &&
    exec {octopus_end}>&-' 2>/dev/null; then
  octopus_reads=$$
fi
if [ -n "$octopus_reads" ]; then
  eval 'octopus_attempt() {
    if [ "$octopus_reads" != "$BASHPID" ]; then
      exec {octopus_pipe}<&- {octopus_pipe}< <(:)
      octopus_reads=$BASHPID
    fi
    exec {octopus_end}> "/proc/self/fd/$octopus_pipe"
    (
      exec {octopus_pipe}<&- {octopus_end}>&-
      command exec 2>>"$octopus_err"
      "$octopus_runner" "$2"
    ) >&"$octopus_end" 2>&1 <&0 &
    exec {octopus_end}>&-
    octopus_output "$octopus_out" <&"$octopus_pipe"
    wait "$!"
  }'
elif [ -n "$OCTOPUS_LIVE" ]; then
  # Elsewhere the code comes back on descriptor 3 while the stdout goes through tee to the
  # worker's output (descriptor 4); cat drains what a failed tee leaves, as octopus_output does.
  octopus_attempt() {
    {
      octopus_rc=$(
        {
          {
            (command exec 2>>"$octopus_err"; "$octopus_runner" "$2") 3>&- 4>&-
            echo $? >&3
          } 2>&1 | { tee -a "$octopus_out" >&4; cat >/dev/null; }
        } 3>&1
        true
      )
    } 4>&1
    [ -n "$octopus_rc" ] || octopus_rc=255
    return "$octopus_rc"
  }
fi
# Parallel commands (Slurm tasks) run in subshells: they only leave a mark, checked after wait.
octopus_stop() {
  [ -n "${OCTOPUS_PARALLEL:-}" ] || { octopus_event worker-end - stopped; exit 1; }
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
#@body@
octopus_event worker-end - "done"
