#!/bin/sh
# ninja demo: show batou-ng on the tutorial project (docs/tutorial).
# Usage: docs/demo.sh PATH-TO-BATOU-NG
set -eu
batou=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/tutorial"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step batou-ng --version
"$batou" --version
step batou-ng -c local
"$batou" -c local
step batou-ng -c production
"$batou" -c production
step batou-ng graph local --format json
"$batou" graph local --format json
if command -v dot >/dev/null 2>&1; then
    svg="${TMPDIR:-/tmp}/batou-ng-tutorial.svg"
    step batou-ng graph production --format svg -o "$svg"
    "$batou" graph production --format svg -o "$svg"
    echo "wrote $svg"
fi
