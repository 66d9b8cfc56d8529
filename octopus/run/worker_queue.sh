# One queue per node: a worker runs a command only once it has claimed it by creating the
# command's stdout file (@STDOUT_NAME@) with noclobber, an exclusive create (O_EXCL) by the
# shell itself, so exactly one worker of the node gets each command, no process starts for the
# claim, and the claim is the file the command's stdout goes to anyway.
# (`true`, not `:`: a POSIX sh exits on a failed redirection of a special builtin. Its stderr
# is closed, not sent to /dev/null, for the shell's "cannot overwrite" when another worker has
# the command: a close costs no open.)
OCTOPUS_CLAIMS="$OCTOPUS_RUN/@CLAIMS_DIR@"
octopus_claim() {
  case $- in
    *C*) true 2>&- > "$OCTOPUS_RUN/@CLAIM_FILE@" ;;
    *)
      set -C
      true 2>&- > "$OCTOPUS_RUN/@CLAIM_FILE@"
      octopus_claimed=$?
      set +C
      return "$octopus_claimed"
      ;;
  esac
}
# [job_id], [socket] and [gpu] are the taking worker's: filled in here, with parameter expansions.
octopus_sub() {
  octopus_rest=$octopus_text
  octopus_text=
  while :; do
    case $octopus_rest in
      *"$1"*)
        octopus_text=$octopus_text${octopus_rest%%"$1"*}$2
        octopus_rest=${octopus_rest#*"$1"}
        ;;
      *) break ;;
    esac
  done
  octopus_text=$octopus_text$octopus_rest
}
octopus_fill() {
  octopus_text=$1
  octopus_sub "[job_id]" "@JOB_ID@"
  octopus_sub "[socket]" "@SOCKET@"
  octopus_sub "[gpu]" "@GPUS@"
}
# After its own commands a worker goes through its peers' in the node's queue file
# (@QUEUE_FILE@): each peer's commands tail first, a function per peer, named by job id. A
# file gone (removed by hand) leaves the worker with its own commands alone.
octopus_queue() {
  [ -f "$OCTOPUS_RUN/@QUEUE_FILE@" ] || return 0
  . "$OCTOPUS_RUN/@QUEUE_FILE@"
  for octopus_peer in "$@"; do
    if command -v "octopus_queue_s$octopus_peer" > /dev/null 2>&1; then
      "octopus_queue_s$octopus_peer"
    fi
  done
}
#@claim@
  if ! octopus_claim "$1"; then
    # Another worker holds it; or no claim can be made (a full disk): stop, as a record that
    # cannot be written stops the worker, rather than pass over commands no one runs.
    if [ -e "$OCTOPUS_RUN/@CLAIM_FILE@" ]; then return 0; fi
    echo "octopus: cannot claim command $1 in $OCTOPUS_CLAIMS: this worker stops" >&2
    : >> "$OCTOPUS_STATE.stop" 2>/dev/null
    exit 1
  fi
  case $2 in *"["*) octopus_fill "$2"; set -- "$1" "$octopus_text" ;; esac
