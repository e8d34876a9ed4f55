#!/usr/bin/env sh
# Create .venv beside this file and install the project with its test extras.
# Safe to run again: it only installs what is missing or out of date.
set -eu
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
