#!/usr/bin/env python3
"""Times ONNX Runtime, `convc bench` (the interpreter) and, with --emitted, the code `convc emit` writes, on the
same network, weights and input, and prints the ratios to ONNX Runtime.

Usage: tools/bench_onnxruntime.py SPEC [SPEC...] [--threads 1 2] [--runs 10] [--rounds 5] [--emitted]
                                  [--target avx2|avx512]
The three take turns: each round times --runs forward passes of each, and the table gives the median of the
rounds' medians, and the median of the rounds' ratios. Interleaving matters on a shared machine whose speed drifts
by 10-20 % within a minute: ratios of measurements taken seconds apart are steady where times are not.
The emitted code is compiled once per spec by `convc verify --keep` (swiftc -O -target-cpu native -DCONVC_FMA,
after checking it against the interpreter) and run as its own process, timing the allocation-free predict.
Environment: CONVC (default .build/release/convc; build it with
  swift build -c release -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DCONVC_FMA).
All use seeded weights from `convc init --seed 0` and batch 1. ONNX Runtime runs with all graph optimisations
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


def onnxruntime_session(model, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session


def time_onnxruntime(session, x, runs):
    session.run(None, {"input": x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"input": x})
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_interpreter(spec, weights, threads, runs):
    out = subprocess.run([CONVC, "bench", spec, "--weights", weights, "--threads", str(threads), "--runs", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def time_emitted(folder, weights, x_path, threads, runs):
    out = subprocess.run([os.path.join(folder, "model"), weights, x_path, os.path.join(folder, "bench-output.npy"),
                          str(threads), str(runs)], check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--emitted", action="store_true")
    parser.add_argument("--target", default="avx2")
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
            x_path = os.path.join(work, "x.npy")
            np.save(x_path, x)
            folder = os.path.join(work, "emitted")
            if args.emitted:
                subprocess.run([CONVC, "verify", spec, "--keep", folder, "--runs", "1", "--target", args.target],
                               check=True, capture_output=True, text=True)
            for threads in args.threads:
                session = onnxruntime_session(model, threads)
                ort, interpreter, emitted = [], [], []
                for _ in range(args.rounds):
                    ort.append(time_onnxruntime(session, x, args.runs))
                    interpreter.append(time_interpreter(spec, weights, threads, args.runs))
                    if args.emitted:
                        emitted.append(time_emitted(folder, weights, x_path, threads, args.runs))
                ratio = statistics.median(c / o for c, o in zip(interpreter, ort))
                line = (f"{graph['model']:<16} {threads:>7} {statistics.median(ort):>9.3f} "
                        f"{statistics.median(interpreter):>9.3f} {ratio:>9.2f} {macs / 1e9:>7.3f}")
                if args.emitted:
                    ratio = statistics.median(e / o for e, o in zip(emitted, ort))
                    line += f" {statistics.median(emitted):>10.3f} {ratio:>11.2f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
