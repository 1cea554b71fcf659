#!/usr/bin/env python3
"""Times ONNX Runtime, `convc bench` (the interpreter) and, with --emitted, the code `convc emit` writes, on the
same network and weights in one run, and prints the ratios to ONNX Runtime.

Usage: tools/bench_onnxruntime.py SPEC [SPEC...] [--threads 1 2] [--runs 30] [--emitted]
The emitted code is timed by `convc verify --threads T`, which compiles it with swiftc -O -target-cpu native
-DCONVC_FMA and also checks it against the interpreter.
Environment: CONVC (default .build/release/convc; build it with
  swift build -c release -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DCONVC_FMA).
Both use seeded weights from `convc init --seed 0` and batch 1. ONNX Runtime runs with all graph optimisations
(batch norm folded), the CPU provider and intra_op_num_threads = threads. Needs: pip install numpy onnx onnxruntime.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_reference  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CONVC = os.environ.get("CONVC", os.path.join(ROOT, ".build", "release", "convc"))


def time_onnxruntime(model, x, threads, runs):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    for _ in range(5):
        session.run(None, {"input": x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"input": x})
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_convc(spec, weights, threads, runs):
    out = subprocess.run([CONVC, "bench", spec, "--weights", weights, "--threads", str(threads), "--runs", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--emitted", action="store_true")
    args = parser.parse_args()
    print(f"{'model':<16} {'threads':>7} {'ORT ms':>9} {'convc ms':>9} {'convc/ORT':>9} {'GMAC':>7}"
          + (f" {'emitted ms':>10} {'emitted/ORT':>11}" if args.emitted else ""))
    for spec in args.specs:
        onnx_reference.CONVC = CONVC
        graph = json.loads(subprocess.run([CONVC, "export", spec], check=True, capture_output=True, text=True).stdout)
        macs = json.loads(subprocess.run([CONVC, "summary", spec, "--format", "json"], check=True, capture_output=True,
                                         text=True).stdout)["macs"]
        with tempfile.TemporaryDirectory() as work:
            weights = os.path.join(work, "w.safetensors")
            subprocess.run([CONVC, "init", spec, "-o", weights, "--seed", "0"], check=True, capture_output=True)
            model = onnx_reference.build(graph, onnx_reference.read_safetensors(weights))
            x = np.random.default_rng(0).standard_normal([1] + graph["input_shape"]).astype(np.float32)
            for threads in args.threads:
                ort_ms = time_onnxruntime(model, x, threads, args.runs)
                convc_ms = time_convc(spec, weights, threads, args.runs)
                line = (f"{graph['model']:<16} {threads:>7} {ort_ms:>9.3f} {convc_ms:>9.3f} {convc_ms / ort_ms:>9.2f} "
                        f"{macs / 1e9:>7.3f}")
                if args.emitted:
                    out = subprocess.run([CONVC, "verify", spec, "--runs", str(args.runs), "--threads", str(threads)],
                                         check=True, capture_output=True, text=True).stdout
                    emitted_ms = float(re.search(r"emitted ([0-9.]+) ms", out).group(1))
                    line += f" {emitted_ms:>10.3f} {emitted_ms / ort_ms:>11.2f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
