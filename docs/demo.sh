#!/bin/sh
# ninja demo: deploy the web app of docs/webapp (the tutorial's, see
# docs/tutorial.md) on this machine the way a batou user would: build the
# app's wheel, deploy a venv with it, its config and a supervisord that runs
# it, and ask it over HTTP. Then: a deploy with nothing to do; an override
# changed, predicted with -n, deployed (only the app restarts); supervisord
# killed, and the next deploy brings it back. Works on a copy in a
# temporary directory, stops what it started, and leaves nothing behind.
# Usage: docs/demo.sh PATH-TO-BATOU-NG
set -eu
batou=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
project=$(mktemp -d "${TMPDIR:-/tmp}/batou-ng-demo.XXXXXX")
ctl="supervisorctl -c $project/work/supervisor/etc/supervisord.conf"
cleanup() {
    $ctl shutdown >/dev/null 2>&1 || :
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -e "$project/work/supervisor/supervisord.pid" ] || break
        sleep 0.3
    done
    rm -rf "$project"
}
trap cleanup EXIT INT TERM
cp -R "$(dirname "$0")/webapp/." "$project"
cd "$project"

# Bold commands on a terminal, plain text otherwise or with NO_COLOR.
if [ -t 1 ] && [ -z "${NO_COLOR-}" ]; then
    step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
    step() { printf '\n$ %s\n' "$*"; }
fi

# A python that builds wheels offline: setuptools and wheel (Debian's
# python3-setuptools and python3-wheel).
python=
for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import setuptools, wheel' 2>/dev/null; then python=$candidate; break; fi
done
if [ -z "$python" ]; then
    echo "demo.sh: needs a python3 with setuptools and wheel (./configure.py --install-deps)" >&2
    exit 2
fi
# A port nobody uses now, so that two demos can run at once.
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The app is on loopback: never through a proxy.
no_proxy=127.0.0.1
export no_proxy

step "cd $project    # a copy of docs/webapp"
step batou-ng --version
"$batou" --version
step "python3 -m pip wheel --no-index --no-build-isolation --no-deps -w dist ./app    # the app, as a wheel"
"$python" -m pip wheel -q --no-index --no-build-isolation --no-deps -w dist ./app
ls dist
step "sed -i 's/^port = .*/port = $port/' environments/local/environment.cfg    # a free port"
sed -i "s/^port = .*/port = $port/" environments/local/environment.cfg
step batou-ng -c local
"$batou" -c local
step batou-ng local
"$batou" local
step "curl -sS http://127.0.0.1:$port/"
curl -sS "http://127.0.0.1:$port/"
step "batou-ng local    # again: nothing changed; the live checks ask supervisord"
"$batou" local
step "sed -i 's/^greeting = .*/greeting = Hello again from {{host.name}}/' environments/local/environment.cfg"
sed -i 's/^greeting = .*/greeting = Hello again from {{host.name}}/' environments/local/environment.cfg
step "batou-ng -n local    # predict: what would change, and why"
"$batou" -n local
step "batou-ng local    # only the app restarts"
"$batou" local
step "supervisorctl -c work/supervisor/etc/supervisord.conf status    # supervisord kept running"
$ctl status
step "curl -sS http://127.0.0.1:$port/"
curl -sS "http://127.0.0.1:$port/"
step 'kill $(cat work/supervisor/supervisord.pid)    # supervisord stops, and the app with it'
kill "$(cat work/supervisor/supervisord.pid)"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -e work/supervisor/supervisord.pid ] || break
    sleep 0.3
done
step "curl -sS http://127.0.0.1:$port/    # nobody answers"
if curl -sS "http://127.0.0.1:$port/"; then exit 1; fi
step "batou-ng -n local    # the live checks see it"
"$batou" -n local
step batou-ng local
"$batou" local
step "curl -sS http://127.0.0.1:$port/"
curl -sS "http://127.0.0.1:$port/"
