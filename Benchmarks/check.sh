#!/usr/bin/env bash
# Times `convc check` (release build) on ResNet-152 and on generated specs of 1,000 to 10,000 layers.
# Prints the best of five runs for each, and the time per layer, so that linear growth shows as a flat column.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product convc >/dev/null
convc=.build/release/convc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A plain chain of conv + relu pairs (no blocks or repeat, so parsing and checking both scale with the file).
generate() {
    local layers=$1 file=$2
    {
        echo "model: chain$layers"
        echo "input: [16, 32, 32]"
        echo "layers:"
        for ((i = 0; i < layers / 2; i++)); do
            echo "  - conv: { filters: 16, kernel: 3, padding: 1 }"
            echo "  - relu"
        done
    } >"$file"
}

best_ms() {
    local best=
    for _ in 1 2 3 4 5; do
        local start end
        start=$(date +%s%N)
        "$convc" check --quiet "$1" >/dev/null
        end=$(date +%s%N)
        local ms=$(((end - start) / 1000))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

printf '%-22s %8s %12s %14s\n' spec layers "best (ms)" "µs per layer"
report() {
    local name=$1 file=$2 layers=$3
    local us
    us=$(best_ms "$file")
    printf '%-22s %8d %12s %14s\n' "$name" "$layers" "$(awk "BEGIN { printf \"%.2f\", $us / 1000 }")" \
        "$(awk "BEGIN { printf \"%.2f\", $us / $layers }")"
}
report resnet152.yaml specs/resnet152.yaml 515
for n in 1000 2000 5000 10000; do
    generate "$n" "$work/chain$n.yaml"
    report "generated ($n)" "$work/chain$n.yaml" "$n"
done
