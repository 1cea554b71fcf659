#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses in Fuzz/ (see Fuzz/README.md).
#
#   tools/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER_ARGS...]
#
# TARGET: frontend | safetensors | emitted-safetensors | npy | all (each in turn). SECONDS: per target, default 600
# (0: libFuzzer's no limit).
# Anything after `--` goes to libFuzzer as it is (e.g. `-- -use_value_profile=1`).
# Reproduce a finding: `.build-fuzz/bin/TARGET FILE`; minimise a crash:
# `.build-fuzz/bin/TARGET -minimize_crash=1 -runs=10000 -exact_artifact_path=OUT FILE`.
#
# Everything is built with swiftc straight into .build-fuzz/ (gitignored by `.build-*/`), away from SwiftPM's
# .build/, one Swift module per source module since the sources `import` each other. Artifacts (crash-*, timeout-*,
# oom-*) land in Tests/Fixtures/fuzz/TARGET/. FUZZ_BUILD_RETRIES=N retries a failed build N times, a minute apart
# (for when Sources/ is being edited while this runs).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=.build-fuzz
SWIFTC=${SWIFTC:-swiftc}
RETRIES=${FUZZ_BUILD_RETRIES:-0}
CYAML_FLAGS=()
YAML_LIBS=()

# -O, not -Onone: several times the executions per second, and Swift's -O keeps every safety check (bounds,
# overflow, force-unwrap, precondition) that turns a bug into a crash; only -Ounchecked drops them, and the sources
# have no assert() that -O would remove. -g keeps inlined frames in the stacks. The fuzzer sanitizer on the library
# modules too gives them libFuzzer's coverage (edges, comparisons) and ASan checks; -emit-object never links
# libFuzzer's main, only the harness link does.
SWIFTFLAGS=(-O -g -sanitize=fuzzer,address -parse-as-library -wmo -module-cache-path "$OUT/module-cache" -I "$OUT/modules")

usage() {
    echo "usage: tools/fuzz.sh frontend|safetensors|emitted-safetensors|npy|all [SECONDS] [-- LIBFUZZER_ARGS...]" >&2
    exit 2
}

# True when $1 is missing or older than any of the other files (a make-style check, so reruns skip the compile).
stale() {
    local out=$1 input
    shift
    [[ -e $out ]] || return 0
    for input in "$@" tools/fuzz.sh; do
        [[ $input -nt $out ]] && return 0
    done
    return 1
}

# Runs a build command, retrying FUZZ_BUILD_RETRIES times a minute apart.
with_retries() {
    local attempt=0
    until "$@"; do
        if ((attempt >= RETRIES)); then return 1; fi
        attempt=$((attempt + 1))
        echo "fuzz.sh: build failed; retrying in 60 s ($attempt of $RETRIES)" >&2
        sleep 60
    done
}

# module NAME DEPENDENCY... : Sources/NAME as one instrumented object and a .swiftmodule for its importers.
module() {
    local name=$1
    shift
    local sources folders deps=() dep
    mapfile -t sources < <(find "Sources/$name" -name '*.swift' | sort)
    # The folders too: their times change when a file is added or removed.
    mapfile -t folders < <(find "Sources/$name" -type d)
    for dep in "$@"; do deps+=("$OUT/modules/$dep.swiftmodule"); done
    stale "$OUT/obj/$name.o" "${sources[@]}" "${folders[@]}" "${deps[@]}" || return 0
    echo "fuzz.sh: compiling $name" >&2
    with_retries "$SWIFTC" "${SWIFTFLAGS[@]}" "${CYAML_FLAGS[@]}" -module-name "$name" \
        -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" \
        -c -o "$OUT/obj/$name.o" "${sources[@]}" || return
    # swiftc leaves an object whose code did not change untouched (same IR hash); without the touch it would look
    # stale on every run.
    touch "$OUT/obj/$name.o" "$OUT/modules/$name.swiftmodule"
}

# harness TARGET SWIFT_FILES -- OBJECTS... : links the libFuzzer binary .build-fuzz/bin/TARGET.
harness() {
    local target=$1 files=() objects=()
    shift
    while [[ $1 != -- ]]; do files+=("$1"); shift; done
    shift
    for name in "$@"; do objects+=("$OUT/obj/$name.o"); done
    stale "$OUT/bin/$target" "${files[@]}" "${objects[@]}" || return 0
    echo "fuzz.sh: linking $OUT/bin/$target" >&2
    # CONVC_QUIET as ConvcGenerated builds it: the emitted type prints no build advice. lld, because gold warns
    # about every one of ASan's local symbols.
    with_retries "$SWIFTC" "${SWIFTFLAGS[@]}" "${CYAML_FLAGS[@]}" -D CONVC_QUIET -use-ld=lld -module-name "${target//-/_}_fuzz" \
        -o "$OUT/bin/$target" "${files[@]}" "${objects[@]}" "${YAML_LIBS[@]}"
}

# Every step checked by hand: `run ... || failed+=(...)` below turns off set -e inside the functions it calls.
build() {
    mkdir -p "$OUT/modules" "$OUT/obj" "$OUT/bin" "$OUT/module-cache"
    case $1 in
    frontend)
        # CYAML is a system-library module: its module map, libyaml's headers and -lyaml from pkg-config.
        read -ra YAML_CFLAGS <<<"$(pkg-config --cflags yaml-0.1)"
        read -ra YAML_LIBS <<<"$(pkg-config --libs yaml-0.1)"
        CYAML_FLAGS=(-I Sources/CYAML)
        for flag in "${YAML_CFLAGS[@]}"; do CYAML_FLAGS+=(-Xcc "$flag"); done
        module ConvcDiagnostics || return
        module ConvcIR ConvcDiagnostics || return
        module ConvcFrontend ConvcDiagnostics ConvcIR || return
        harness frontend Fuzz/frontend.swift -- ConvcDiagnostics ConvcIR ConvcFrontend
        ;;
    safetensors | npy)
        module ConvcTensorIO || return
        harness "$1" "Fuzz/$1.swift" -- ConvcTensorIO
        ;;
    emitted-safetensors)
        # One module with the emitted file, so the harness reaches the internal nested SafetensorsLayout.
        harness emitted-safetensors Fuzz/emitted-safetensors.swift generated/lenet5.swift --
        ;;
    esac
}

# The seed corpus, rebuilt every run (cheap) so that it follows the specs and fixtures; read-only to libFuzzer.
seeds() {
    local target=$1 max_len=$2 dir=$OUT/seeds/$1
    rm -rf "$dir" && mkdir -p "$dir" || return
    case $target in
    frontend)
        # Every reference spec, every broken one (each reaches a different diagnostic), and the test specs.
        cp specs/*.yaml specs/broken/*.yaml "$dir"/ || return
        for spec in Tests/Fixtures/*/*.yaml; do
            if [[ -e $spec ]]; then cp "$spec" "$dir/fixture_$(basename "$spec")" || return; fi
        done
        ;;
    safetensors | emitted-safetensors) python3 Fuzz/make_seeds.py safetensors "$dir" --max-len "$max_len" >&2 ;;
    npy) python3 Fuzz/make_seeds.py npy "$dir" --max-len "$max_len" >&2 ;;
    esac
}

run() {
    local target=$1 seconds=$2 max_len
    shift 2
    case $target in
    frontend | npy) max_len=65536 ;;                      # specs are at most a few KB; .npy fixtures 15 KB
    safetensors | emitted-safetensors) max_len=262144 ;;  # room for LeNet-5's F32 weights (242 KB)
    esac
    build "$target" || { echo "fuzz.sh: building $target failed" >&2; return 1; }
    seeds "$target" "$max_len" || { echo "fuzz.sh: writing $target's seeds failed" >&2; return 1; }
    local corpus=$OUT/corpus/$target artifacts=Tests/Fixtures/fuzz/$target
    mkdir -p "$corpus" "$artifacts" "$OUT/logs"
    # Symbolised stacks, with file:line (names stay mangled: pipe a report through `swift demangle`). Leak
    # detection stays on: libFuzzer reports a leak as a finding.
    export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(dirname "$(command -v "$SWIFTC")")/llvm-symbolizer}
    export ASAN_OPTIONS=${ASAN_OPTIONS:-symbolize=1:detect_stack_use_after_return=1}
    echo "fuzz.sh: $target for $seconds s; log in $OUT/logs/$target.log" >&2
    # -timeout: an input that takes 10 s is a hang, and a bug; -rss_limit_mb: an OOM is one too (and protects the
    # machine); -dict: the format's keywords, which byte mutations rarely spell. The first corpus directory is
    # where libFuzzer saves new inputs; the seed directory is only read.
    set +e
    "$OUT/bin/$target" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=4096 -timeout=10 \
        -artifact_prefix="$artifacts/" -dict="Fuzz/${target#emitted-}.dict" -print_final_stats=1 "$@" \
        "$corpus" "$OUT/seeds/$target" 2>&1 | tee "$OUT/logs/$target.log"
    local status=${PIPESTATUS[0]}
    set -e
    if ((status != 0)); then
        echo "fuzz.sh: $target stopped with status $status; reproducer(s) in $artifacts/" >&2
    fi
    return "$status"
}

[[ $# -ge 1 ]] || usage
# The emitted harness writes a temporary weights file per input: in memory when /dev/shm is there (twice the
# executions per second of a disk), else in .build-fuzz/tmp; a folder of this script's own, removed at exit.
if [[ -d /dev/shm && -w /dev/shm ]]; then TMPDIR=/dev/shm/convc-fuzz-$$; else TMPDIR=$PWD/$OUT/tmp/convc-fuzz-$$; fi
export TMPDIR
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT
target=$1
seconds=600
shift
if [[ $# -gt 0 && $1 != -- ]]; then seconds=$1; shift; fi
[[ $seconds =~ ^[0-9]+$ ]] || usage
if [[ $# -gt 0 ]]; then [[ $1 == -- ]] || usage; shift; fi

case $target in
frontend | safetensors | emitted-safetensors | npy) run "$target" "$seconds" "$@" ;;
all)
    # One after another (one fuzzer process at a time); a finding in one target does not stop the others.
    failed=()
    for t in frontend safetensors emitted-safetensors npy; do run "$t" "$seconds" "$@" || failed+=("$t"); done
    if ((${#failed[@]})); then echo "fuzz.sh: findings or failures in: ${failed[*]}" >&2; exit 1; fi
    ;;
*) usage ;;
esac
