"""A stand-in for the lab's `run_exp` reservation tool, installed on test hosts.

It behaves as octopus relies on: with no arguments it lists reservations (other users' from
~/.run_exp/others, plus the ones it holds itself while running); with arguments it checks
them as the real tool's usage says, records its argv as one JSON line in ~/.run_exp/argv.log,
holds a reservation while the command runs, and runs the command with sh.
"""

from __future__ import annotations

from octopus.testing.host import TestHost

STAND_IN = r"""#!/bin/sh
state="$HOME/.run_exp"
mkdir -p "$state"
if [ $# -eq 0 ]; then
  cat "$state/others" "$state"/active.* 2>/dev/null
  exit 0
fi
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> "$state/argv.log"
usage() {
  echo "usage: run_exp -m MESSAGE --numa N [--exclusive] [--pin] [--time H:M] COMMAND" >&2
  exit 2
}
message=; numa=; mode=SHARED; extra=
while [ $# -gt 1 ]; do
  case "$1" in
    -m) [ $# -gt 2 ] || usage; message=$2; shift 2 ;;
    --numa) case "$2" in ''|*[!0-9]*) usage ;; esac; numa=$2; shift 2 ;;
    --exclusive) mode=EXCLUSIVE; shift ;;
    --pin) extra="$extra pinned"; shift ;;
    --time) case "$2" in *[0-9]:[0-9][0-9]) ;; *) usage ;; esac; extra="$extra time $2"; shift 2 ;;
    *) echo "run_exp: unknown option $1" >&2; usage ;;
  esac
done
[ $# -eq 1 ] && [ -n "$message" ] && [ -n "$numa" ] || usage
echo "$(id -un) Start: $(date '+%H:%M') numa $numa $mode$extra: $message" > "$state/active.$$"
trap 'rm -f "$state/active.$$"' EXIT
sh -c "$1"
"""


def install_run_exp(host: TestHost, others: str = "") -> None:
    """Put the stand-in at ~/bin/run_exp (the cluster's PATH must list ~/bin first)."""
    path = host.write("bin/run_exp", STAND_IN)
    path.chmod(0o755)
    host.write(".run_exp/others", others)
