#!/bin/sh
# ninja demo: deploy the tutorial project (docs/tutorial) on this machine,
# run what it deployed, deploy again (nothing changes), then change an
# override and watch -n predict exactly that change before deploying it.
# Works on a copy in a temporary directory, so the source tree stays clean.
# Usage: docs/demo.sh PATH-TO-BATOU-NG
set -eu
batou=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
project=$(mktemp -d "${TMPDIR:-/tmp}/batou-ng-demo.XXXXXX")
trap 'rm -rf "$project"' EXIT INT TERM
cp -R "$(dirname "$0")/tutorial/." "$project"
cd "$project"

# Bold commands on a terminal, plain text otherwise or with NO_COLOR.
if [ -t 1 ] && [ -z "${NO_COLOR-}" ]; then
    step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
    step() { printf '\n$ %s\n' "$*"; }
fi

step "cd $project    # a copy of docs/tutorial"
step batou-ng --version
"$batou" --version
step batou-ng -c local
"$batou" -c local
step batou-ng local
"$batou" local
step "timeout 5 work/tick/tick.sh    # run what was deployed"
timeout 5 work/tick/tick.sh || [ $? -eq 124 ]
step "batou-ng local    # again: nothing changed, nothing to do"
"$batou" local
step "sed -i 's/^greeting = .*/greeting = Hello again from {{host.name}}/' environments/local/environment.cfg"
sed -i 's/^greeting = .*/greeting = Hello again from {{host.name}}/' environments/local/environment.cfg
step "batou-ng -n local    # predict: what would change, and why"
"$batou" -n local
step batou-ng local
"$batou" local
step "timeout 3 work/tick/tick.sh"
timeout 3 work/tick/tick.sh || [ $? -eq 124 ]
step "batou-ng graph local --format dot | head -5"
"$batou" graph local --format dot | head -5
