#!/bin/sh
# Build the libFuzzer harnesses with clang (ASan + UBSan) and run each for a
# while: tests/fuzz/run.sh [SECONDS-PER-FUZZER] [FUZZER...]
# Run by hand (not from ninja check). Crashes are saved as crash-* in $out.
set -eu
cd "$(dirname "$0")/../.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
fuzzers=${*:-"ini literal template manifest"}
out=${FUZZ_OUT:-/tmp/batou-ng-fuzz}
mkdir -p "$out"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. $(pkg-config --cflags lua5.4)"
libs="$(pkg-config --libs lua5.4 libxxhash) -lm"

sources_ini="environments/ini.c engine/diag.c engine/util.c"
sources_literal="engine/model/literal.c engine/util.c"
sources_template="$(ls engine/template/template*.c) engine/util.c"
sources_manifest="$(ls engine/deploy/manifest*.c) hosts/shell.c engine/util.c"

for name in $fuzzers; do
    eval "sources=\$sources_$name"
    echo "== fuzz_$name ($seconds s)"
    clang $flags -o "$out/fuzz_$name" "tests/fuzz/fuzz_$name.c" $sources $libs
    mkdir -p "$out/corpus_$name"
    "$out/fuzz_$name" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -artifact_prefix="$out/" "$out/corpus_$name" "tests/fuzz/seeds/$name"
done
