#!/usr/bin/env bash
# Rewrites generated/X.swift from specs/X.yaml for every reference spec (run after changing the emitter or a spec,
# then read `git diff generated/`).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product convc >/dev/null
for spec in specs/*.yaml; do
    name=$(basename "$spec" .yaml)
    .build/debug/convc emit "$spec" -o "generated/$name.swift"
done
echo "regenerated $(ls specs/*.yaml | wc -l | tr -d ' ') files in generated/"
