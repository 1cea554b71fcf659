#!/usr/bin/env bash
# Regenerates the ONNX Runtime fixtures that `swift test` checks the interpreter against:
# Tests/Fixtures/onnx/<name>/{weights.safetensors,input.npy,expected.npy} for each tiny spec there, and for LeNet-5.
# Needs: pip install numpy onnx onnxruntime, and a built convc (swift build).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONVC=${CONVC:-.build/debug/convc}
for spec in Tests/Fixtures/onnx/*.yaml specs/lenet5.yaml; do
    name=$(basename "$spec" .yaml)
    python3 tools/onnx_reference.py "$spec" --random-stats --batch 2 --seed 7 --fixture "Tests/Fixtures/onnx/$name"
done
