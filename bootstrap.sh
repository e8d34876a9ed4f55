#!/usr/bin/env sh
# Create .venv beside this file and install the project with its test extras, at the
# exact versions the suite passes with (constraints.txt).
# Safe to run again: it only installs what is missing or out of date.
set -eu
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --constraint constraints.txt -e '.[test]'
# The real clients and reference nodes the compatibility tests run against
# (anvil, cast, ethers, ganache), pinned by peers/package-lock.json.
if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: npm is required for the compatibility tests' peers" >&2
    exit 1
fi
[ -d peers/node_modules ] || npm ci --prefix peers --no-audit --no-fund --loglevel=error
