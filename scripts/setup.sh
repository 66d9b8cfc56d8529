#!/usr/bin/env bash
# Sets up this checkout: the system tools octopus calls (rsync, ssh, screen) and a .venv with
# octopus installed, with the report's plots (matplotlib). With --test, also what the test suite
# needs: sshd for the real test hosts, iproute2/util-linux for their namespaces, pytest, ruff
# and mypy, GNU parallel (bench/worker_overhead.py measures the worker beside it) and Chromium
# (the report's test renders it headless).
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1
python=${PYTHON:-python3}
venv=${VENV:-.venv}

packages=(rsync screen openssh-client)
if [ "$with_tests" = 1 ]; then
  packages+=(openssh-server iproute2 util-linux procps git python3-venv slurm-wlm munge parallel)
  packages+=(chromium fonts-liberation fonts-dejavu-core libgl1-mesa-dri)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
if [ "$with_tests" = 1 ]; then
  "$venv/bin/pip" install -q -e ".[test,report]"
else
  "$venv/bin/pip" install -q -r requirements.txt
fi
# pip compiles the modules of a package it installs; a checkout installed editable is compiled
# here, else every `inv` would compile octopus' modules again wherever bytecode is not
# written (PYTHONDONTWRITEBYTECODE, a read-only checkout): a quarter of a second a run.
"$venv/bin/python" -m compileall -q octopus >/dev/null
echo "ready: $venv/bin/inv --list"
