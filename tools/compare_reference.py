#!/usr/bin/env python3
"""Compares `convc summary --format json` of a spec with a network of Tests/Fixtures/reference-layers.json (what
PyTorch builds for the classic networks; another file of the same form with --layers).

Usage: tools/compare_reference.py SPEC REFERENCE_NAME [--layers PATH_TO_LAYERS_JSON]

Checks the totals (params, batch-norm running statistics, MACs), the output shape, and for every reference layer
that has parameters: a convc layer of the same name (the k-th call of a reused PyTorch module, such as
torchvision's one `relu` per block, is convc's `relu_k`), with the same output shape and parameter count. Reference
layers without parameters are matched by name where convc has them (a missing one is listed, not an error: PyTorch
applies some of them functionally). Exits 1 on any mismatch. Needs only the standard library.
"""
import json
import os
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:]
    layers_path = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "reference-layers.json")
    if "--layers" in args:
        i = args.index("--layers")
        layers_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__)
        return 64
    spec, name = args
    convc = os.environ.get("CONVC", os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "convc"))
    run = subprocess.run([convc, "summary", spec, "--format", "json"], capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stderr)
        return 1
    ours = json.loads(run.stdout)
    try:
        with open(layers_path) as file:
            models = json.load(file)["models"]
    except (OSError, ValueError, KeyError) as error:
        print(f"error: cannot read the reference networks from {layers_path}: {error}", file=sys.stderr)
        return 1
    if name not in models:
        print(f"error: {layers_path} has no network '{name}'; it has {', '.join(sorted(models))}", file=sys.stderr)
        return 1
    ref = models[name]
    problems = []
    if ours["params"] != ref["params"]:
        problems.append(f"params: convc {ours['params']} vs reference {ref['params']}")
    if ours["non_trainable_params"] != ref["batch_norm_running_stats"]:
        problems.append(f"running stats: convc {ours['non_trainable_params']} vs {ref['batch_norm_running_stats']}")
    if ours["macs"] != ref["macs"]:
        problems.append(f"macs: convc {ours['macs']} vs reference {ref['macs']}")
    if ours["output_shape"] != ref["output_shape"][1:]:
        problems.append(f"output: convc {ours['output_shape']} vs reference {ref['output_shape'][1:]}")
    by_name = {}
    for layer in ours["layers"]:
        by_name.setdefault(layer["name"], layer)
    missing_free = []
    seen = {}
    for layer in ref["layers"]:
        k = seen[layer["name"]] = seen.get(layer["name"], -1) + 1
        mine = by_name.get(layer["name"] + (f"_{k}" if k else ""))
        if mine is None:
            if layer["params"] > 0:
                problems.append(f"missing layer {layer['name']} ({layer['type']}, {layer['params']} params)")
            else:
                missing_free.append(layer["name"])
            continue
        if mine["output_shape"] != layer["output_shape"][1:]:
            problems.append(f"{layer['name']}: shape {mine['output_shape']} vs {layer['output_shape'][1:]}")
        if mine["params"] != layer["params"]:
            problems.append(f"{layer['name']}: params {mine['params']} vs {layer['params']}")
    if missing_free:
        print(f"note: {len(missing_free)} parameter-free reference layers have no convc row of the same name: "
              + ", ".join(missing_free[:8]) + (" ..." if len(missing_free) > 8 else ""))
    for p in problems:
        print("MISMATCH", p)
    print(f"{spec} vs {name}: {'OK' if not problems else str(len(problems)) + ' mismatches'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
