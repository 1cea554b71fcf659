#!/usr/bin/env python3
"""Times each layer of the emitted code beside ONNX Runtime's own profile of the same network, one thread, and
prints them side by side, largest gap first.

Usage: tools/profile_layers.py SPEC [--rounds 4] [--runs 20]
The two take turns (each round profiles --runs forward passes of each) and each layer's time is the median of the
rounds: this shared machine's speed drifts by 10-30 % within minutes, so per-layer figures taken minutes apart do
not compare. The emitted code is compiled by `convc verify --profile --keep` (swiftc -O -target-cpu native
-DCONVC_FMA). ONNX Runtime fuses a conv with the batch norm, activation and residual add after it and names the
fused node after its last layer; each node is matched to the conv, dense or pool layer it starts from.
Environment: CONVC (default .build/release/convc). Needs: pip install numpy onnx onnxruntime.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_reference  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CONVC = os.environ.get("CONVC", os.path.join(ROOT, ".build", "release", "convc"))
COMPUTING = ("conv", "conv_transpose", "dense", "max_pool", "avg_pool", "global_avg_pool", "global_max_pool",
             "adaptive_avg_pool")


def onnxruntime_layers(model, x, runs, prefix, owner):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_profiling = True
    options.profile_file_prefix = prefix
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    for _ in range(runs + 1):
        session.run(None, {"input": x})
    path = session.end_profiling()
    with open(path) as f:
        events = json.load(f)
    os.remove(path)
    times = collections.defaultdict(list)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            times[owner(event["name"][:-len("_kernel_time")])].append(event["dur"] / 1000)
    return {name: statistics.median(values[-runs:]) for name, values in times.items()}


def emitted_layers(folder, runs):
    out = subprocess.run([os.path.join(folder, "model"), os.path.join(folder, "weights.safetensors"),
                          os.path.join(folder, "input.npy"), os.path.join(folder, "profile-output.npy"), "1",
                          str(runs)], check=True, capture_output=True, text=True).stdout.splitlines()
    times = {}
    for line in out[1:]:  # "   0.966 ms   5.6%  features.block1.pw"
        fields = line.split()
        if len(fields) >= 4:
            times[fields[3]] = float(fields[0])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--target", choices=["avx2", "avx512"], default="avx2", help="the emitted code's register tiles")
    args = parser.parse_args()
    onnx_reference.CONVC = CONVC
    graph = json.loads(subprocess.run([CONVC, "export", args.spec], check=True, capture_output=True, text=True).stdout)
    layers = {layer["id"]: layer for layer in graph["layers"]}

    def owner(node):
        # ONNX Runtime's node names: the output tensor "t<id>" of the graph (with "_nchwc" after a layout change).
        name = node.replace("_nchwc", "")
        if not (name.startswith("t") and name[1:].isdigit() and int(name[1:]) in layers):
            return name
        layer = layers[int(name[1:])]
        while layer["op"] not in COMPUTING and len(layer["inputs"]) == 1:
            layer = layers[layer["inputs"][0]]
        return layer["name"]

    with tempfile.TemporaryDirectory() as work:
        folder = os.path.join(work, "emitted")
        subprocess.run([CONVC, "verify", args.spec, "--profile", "--keep", folder, "--runs", "1", "--target", args.target], check=True,
                       capture_output=True, text=True)
        model = onnx_reference.build(graph, onnx_reference.read_safetensors(os.path.join(folder, "weights.safetensors")))
        x = np.load(os.path.join(folder, "input.npy")).reshape([1] + graph["input_shape"]).astype(np.float32)
        ort_rounds, emitted_rounds = [], []
        for r in range(args.rounds):
            ort_rounds.append(onnxruntime_layers(model.SerializeToString(), x, args.runs, os.path.join(work, f"ort{r}"), owner))
            emitted_rounds.append(emitted_layers(folder, args.runs))

    def median(rounds, name):
        values = [r[name] for r in rounds if name in r]
        return statistics.median(values) if values else None

    emitted_total = statistics.median(sum(r.values()) for r in emitted_rounds)
    ort_total = statistics.median(sum(r.values()) for r in ort_rounds)
    print(f"{graph['model']}: sum of the layers' medians, emitted {emitted_total:.3f} ms, ONNX Runtime {ort_total:.3f} ms "
          f"({args.rounds} rounds of {args.runs} passes, one thread)")
    rows = []
    for name in emitted_rounds[0]:
        ours, theirs = median(emitted_rounds, name), median(ort_rounds, name)
        rows.append((ours - theirs if theirs is not None else 0, name, ours, theirs))
    print(f"{'layer':<32} {'emitted ms':>10} {'ORT ms':>9} {'gap ms':>8} {'ratio':>6}")
    for gap, name, ours, theirs in sorted(rows, key=lambda row: -row[0]):
        if theirs is None:
            print(f"{name:<32} {ours:>10.3f} {'-':>9} {'-':>8} {'-':>6}")
        else:
            print(f"{name:<32} {ours:>10.3f} {theirs:>9.3f} {gap:>+8.3f} {ours / theirs:>6.2f}")
    unmatched = sorted(name for name in ort_rounds[0] if name not in emitted_rounds[0])
    if unmatched:
        print("ONNX Runtime nodes without a layer of that name:",
              ", ".join(f"{name} {median(ort_rounds, name):.3f} ms" for name in unmatched))


if __name__ == "__main__":
    main()
