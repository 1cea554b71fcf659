#!/usr/bin/env python3
"""Builds a convc spec as an ONNX model, runs it with ONNX Runtime, and compares or records the result.

An independent implementation for convc's interpreter: the graph comes from `convc export SPEC` (ops, attributes,
inputs and PyTorch parameter names), the weights from a .safetensors file, and every op is ONNX's own.

Usage:
  tools/onnx_reference.py SPEC [--weights W.safetensors] [--input X.npy] [--batch N] [--seed S]
                               [--random-stats] [--fixture DIR] [--compare] [--onnx OUT.onnx]

  --fixture DIR  write DIR/weights.safetensors, DIR/input.npy and DIR/expected.npy (ONNX Runtime's output)
  --compare      also run `convc run` on the same weights and input and print the max abs / rel difference
Without --weights, `convc init --seed S [--random-stats]` makes them; without --input a seeded normal input of
batch N is used. Needs: pip install numpy onnx onnxruntime. `swift test` never needs Python: it reads the
committed fixtures (regenerate them with tools/make_fixtures.sh).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CONVC = os.environ.get("CONVC", os.path.join(ROOT, ".build", "debug", "convc"))


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
                      "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None or not np.issubdtype(dtype, np.floating):
            continue  # num_batches_tracked (I64) and other buffers: no parameter is read from them, as in convc
        out[name] = np.frombuffer(data[base + begin:base + end], dtype=dtype).reshape(entry["shape"]).astype(np.float32)
    return out


def build(graph, weights):
    nodes, inits = [], []
    names = {0: "input"}

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def activation(kind, source, target):
        if kind is None:
            return source
        k = kind["kind"]
        if k == "relu":
            nodes.append(helper.make_node("Relu", [source], [target]))
        elif k == "relu6":
            lo = init(target + "_lo", np.array(0, np.float32))
            hi = init(target + "_hi", np.array(6, np.float32))
            nodes.append(helper.make_node("Clip", [source, lo, hi], [target]))
        elif k == "leaky_relu":
            nodes.append(helper.make_node("LeakyRelu", [source], [target], alpha=kind["slope"]))
        elif k == "sigmoid":
            nodes.append(helper.make_node("Sigmoid", [source], [target]))
        elif k == "tanh":
            nodes.append(helper.make_node("Tanh", [source], [target]))
        elif k == "silu":
            nodes.append(helper.make_node("Sigmoid", [source], [target + "_sigmoid"]))
            nodes.append(helper.make_node("Mul", [source, target + "_sigmoid"], [target]))
        elif k == "hardswish":
            nodes.append(helper.make_node("HardSwish", [source], [target]))
        elif k == "hardsigmoid":
            nodes.append(helper.make_node("HardSigmoid", [source], [target], alpha=1 / 6, beta=0.5))
        elif k == "gelu":
            # Gelu is opset 20; the graph is opset 17, so the formula in its own ops (ONNX Runtime's Erf and Tanh)
            half = init(target + "_half", np.array(0.5, np.float32))
            one = init(target + "_one", np.array(1, np.float32))
            if kind.get("approximate") == "tanh":
                c = init(target + "_c", np.array(0.044715, np.float32))
                s = init(target + "_s", np.array(np.sqrt(2 / np.pi), np.float32))
                for op, ins, out in [("Mul", [source, source], "_x2"), ("Mul", [target + "_x2", source], "_x3"),
                                     ("Mul", [target + "_x3", c], "_cx3"), ("Add", [source, target + "_cx3"], "_inner"),
                                     ("Mul", [target + "_inner", s], "_scaled"), ("Tanh", [target + "_scaled"], "_t")]:
                    nodes.append(helper.make_node(op, ins, [target + out]))
                last = target + "_t"
            else:
                r = init(target + "_r", np.array(1 / np.sqrt(2), np.float32))
                nodes.append(helper.make_node("Mul", [source, r], [target + "_scaled"]))
                nodes.append(helper.make_node("Erf", [target + "_scaled"], [target + "_t"]))
                last = target + "_t"
            nodes.append(helper.make_node("Add", [last, one], [target + "_1p"]))
            nodes.append(helper.make_node("Mul", [source, half], [target + "_hx"]))
            nodes.append(helper.make_node("Mul", [target + "_hx", target + "_1p"], [target]))
        else:
            raise SystemExit(f"unsupported activation {k}")
        return target

    indices = {}
    for layer in graph["layers"][1:]:
        lid, op, a = layer["id"], layer["op"], layer["attributes"]
        x = [names[i] for i in layer["inputs"]]
        out = f"t{lid}"
        p = {q["name"].rsplit(".", 1)[-1]: weights[q["name"]] for q in layer["parameters"]}
        if op in ("conv", "conv_transpose"):
            pads = [a["padding"][0], a["padding"][2], a["padding"][1], a["padding"][3]]
            weight = p["weight"]
            if weight.ndim == 2:  # a per-pixel dense layer's Linear weight [out, in]
                weight = weight.reshape(*weight.shape, 1, 1)
            inputs = [x[0], init(out + "_w", weight)] + ([init(out + "_b", p["bias"])] if "bias" in p else [])
            attrs = dict(kernel_shape=a["kernel"], strides=a["stride"], pads=pads, dilations=a["dilation"], group=a["groups"])
            if op == "conv_transpose":
                attrs["output_padding"] = a["output_padding"]
            raw = out + "_raw" if a["activation"] else out
            nodes.append(helper.make_node("Conv" if op == "conv" else "ConvTranspose", inputs, [raw], **attrs))
            activation(a["activation"], raw, out)
        elif op in ("max_pool", "avg_pool"):
            pads = [a["padding"][0], a["padding"][2], a["padding"][1], a["padding"][3]]
            attrs = dict(kernel_shape=a["kernel"], strides=a["stride"], pads=pads, ceil_mode=int(a["ceil_mode"]))
            if op == "max_pool":
                outputs = [out] + ([out + "_indices"] if a["return_indices"] else [])
                nodes.append(helper.make_node("MaxPool", [x[0]], outputs, dilations=a["dilation"], **attrs))
                if a["return_indices"]:
                    indices[lid] = (out + "_indices", x[0])
            else:
                nodes.append(helper.make_node("AveragePool", [x[0]], [out], count_include_pad=int(a["count_include_pad"]), **attrs))
        elif op == "max_unpool":
            index_name, pool_input = indices[a["indices_from"]]
            shape = out + "_shape"
            nodes.append(helper.make_node("Shape", [pool_input], [shape]))
            pads = [a["padding"][0], a["padding"][2], a["padding"][1], a["padding"][3]]
            nodes.append(helper.make_node("MaxUnpool", [x[0], index_name, shape], [out], kernel_shape=a["kernel"], strides=a["stride"], pads=pads))
        elif op in ("global_avg_pool", "global_max_pool"):
            nodes.append(helper.make_node("GlobalAveragePool" if op == "global_avg_pool" else "GlobalMaxPool", [x[0]], [out]))
        elif op == "adaptive_avg_pool":
            ins = graph["layers"][layer["inputs"][0]]["output_shape"]
            oh, ow = a["output"]
            if (oh, ow) == (1, 1):
                nodes.append(helper.make_node("GlobalAveragePool", [x[0]], [out]))
            elif ins[1] % oh == 0 and ins[2] % ow == 0:
                k = [ins[1] // oh, ins[2] // ow]
                nodes.append(helper.make_node("AveragePool", [x[0]], [out], kernel_shape=k, strides=k))
            else:
                raise SystemExit(f"adaptive_avg_pool {ins} → {a['output']} has no ONNX equivalent here")
        elif op == "batch_norm":
            nodes.append(helper.make_node("BatchNormalization", [x[0], init(out + "_g", p["weight"]), init(out + "_b", p["bias"]),
                                                                 init(out + "_m", p["running_mean"]), init(out + "_v", p["running_var"])],
                                          [out], epsilon=a["eps"]))
        elif op == "local_response_norm":
            nodes.append(helper.make_node("LRN", [x[0]], [out], size=a["size"], alpha=a["alpha"], beta=a["beta"], bias=a["k"]))
        elif op in ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu"):
            activation(a["activation"], x[0], out)
        elif op == "prelu":
            rank = len(layer["output_shape"])
            slope = p["weight"].reshape([-1] + [1] * (rank - 1)) if a["per_channel"] else p["weight"].reshape([1])
            nodes.append(helper.make_node("PRelu", [x[0], init(out + "_slope", slope)], [out]))
        elif op == "softmax":
            nodes.append(helper.make_node("Softmax", [x[0]], [out], axis=1))
        elif op in ("dropout", "spatial_dropout", "identity"):
            nodes.append(helper.make_node("Identity", [x[0]], [out]))
        elif op == "flatten":
            nodes.append(helper.make_node("Flatten", [x[0]], [out], axis=1))
        elif op == "dense":
            inputs = [x[0], init(out + "_w", p["weight"])] + ([init(out + "_b", p["bias"])] if "bias" in p else [])
            raw = out + "_raw" if a["activation"] else out
            nodes.append(helper.make_node("Gemm", inputs, [raw], transB=1))
            activation(a["activation"], raw, out)
        elif op == "add":
            nodes.append(helper.make_node("Sum", x, [out]))
        elif op == "multiply":
            # ONNX's Mul broadcasts N×C×1×1 over N×C×H×W as PyTorch's `*` does; more than two inputs chain
            product = x[0]
            for index, other in enumerate(x[1:]):
                target = out if index == len(x) - 2 else f"{out}_{index}"
                nodes.append(helper.make_node("Mul", [product, other], [target]))
                product = target
        elif op == "concat":
            nodes.append(helper.make_node("Concat", x, [out], axis=1))
        elif op == "channel_shuffle":
            # ShuffleNet's Reshape(N, g, C/g, H, W) → Transpose(0, 2, 1, 3, 4) → Reshape(N, C, H, W)
            c, h, w = graph["layers"][layer["inputs"][0]]["output_shape"]
            g = a["groups"]
            inits.append(numpy_helper.from_array(np.array([-1, g, c // g, h, w], np.int64), out + "_split"))
            inits.append(numpy_helper.from_array(np.array([-1, c, h, w], np.int64), out + "_merge"))
            nodes.append(helper.make_node("Reshape", [x[0], out + "_split"], [out + "_grouped"]))
            nodes.append(helper.make_node("Transpose", [out + "_grouped"], [out + "_swapped"], perm=[0, 2, 1, 3, 4]))
            nodes.append(helper.make_node("Reshape", [out + "_swapped", out + "_merge"], [out]))
        elif op == "layer_norm":
            # LayerNormalization normalises the last axis: channels go last and come back (ConvNeXt's permutes)
            rank = 1 + len(layer["output_shape"])
            if rank == 2:
                nodes.append(helper.make_node("LayerNormalization", [x[0], init(out + "_g", p["weight"]), init(out + "_b", p["bias"])], [out], axis=-1, epsilon=a["eps"]))
            else:
                nodes.append(helper.make_node("Transpose", [x[0]], [out + "_nhwc"], perm=[0, 2, 3, 1]))
                nodes.append(helper.make_node("LayerNormalization", [out + "_nhwc", init(out + "_g", p["weight"]), init(out + "_b", p["bias"])], [out + "_normed"], axis=-1, epsilon=a["eps"]))
                nodes.append(helper.make_node("Transpose", [out + "_normed"], [out], perm=[0, 3, 1, 2]))
        elif op == "scale":
            (factor,) = p.values()
            nodes.append(helper.make_node("Mul", [x[0], init(out + "_s", factor)], [out]))
        elif op == "slice":
            for key, value in (("start", a["start"]), ("end", a["end"]), ("axis", 1)):
                inits.append(numpy_helper.from_array(np.array([value], np.int64), f"{out}_{key}"))
            nodes.append(helper.make_node("Slice", [x[0], out + "_start", out + "_end", out + "_axis"], [out]))
        elif op == "upsample":
            # PyTorch's F.interpolate as ONNX Resize: nearest is `asymmetric` + `floor`, bilinear `half_pixel` (the
            # same source coordinates, clamped at 0) or `align_corners`. Scales are out / in, or the spec's factor.
            c, h, w = graph["layers"][layer["inputs"][0]]["output_shape"]
            _, oh, ow = layer["output_shape"]
            factor = a["scale"]
            if factor is not None:
                inits.append(numpy_helper.from_array(np.array([1, 1, factor, factor], np.float32), out + "_scales"))
                resize_inputs = [x[0], "", out + "_scales"]
            else:
                # sizes = (N, C) of the input, then (oh, ow): out / in in float would floor some sizes one short
                inits.append(numpy_helper.from_array(np.array([0], np.int64), out + "_start"))
                inits.append(numpy_helper.from_array(np.array([2], np.int64), out + "_end"))
                inits.append(numpy_helper.from_array(np.array([oh, ow], np.int64), out + "_size"))
                nodes.append(helper.make_node("Shape", [x[0]], [out + "_shape"]))
                nodes.append(helper.make_node("Slice", [out + "_shape", out + "_start", out + "_end"], [out + "_nc"]))
                nodes.append(helper.make_node("Concat", [out + "_nc", out + "_size"], [out + "_sizes"], axis=0))
                resize_inputs = [x[0], "", "", out + "_sizes"]
            if a["mode"] == "nearest":
                attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
            else:
                attrs = dict(mode="linear",
                             coordinate_transformation_mode="align_corners" if a["align_corners"] else "half_pixel")
            nodes.append(helper.make_node("Resize", resize_inputs, [out], **attrs))
        elif op == "channel_pad":
            extra = a["channels"] - graph["layers"][layer["inputs"][0]]["output_shape"][0]
            pads = np.array([0, 0, 0, 0, 0, extra, 0, 0], np.int64)
            inits.append(numpy_helper.from_array(pads, out + "_pads"))
            nodes.append(helper.make_node("Pad", [x[0], out + "_pads"], [out], mode="constant"))
        else:
            raise SystemExit(f"unsupported op {op}")
        names[lid] = out
    input_info = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + graph["input_shape"])
    output_info = helper.make_tensor_value_info(names[graph["output"]], TensorProto.FLOAT, ["N"] + graph["output_shape"])
    model = helper.make_model(helper.make_graph(nodes, graph["model"], [input_info], [output_info], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def run_onnx(model, x):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec")
    parser.add_argument("--weights")
    parser.add_argument("--input")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-stats", action="store_true")
    parser.add_argument("--fixture")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--onnx")
    args = parser.parse_args()

    graph = json.loads(subprocess.run([CONVC, "export", args.spec], check=True, capture_output=True, text=True).stdout)
    work = tempfile.mkdtemp()
    try:
        weights_path = args.weights
        if weights_path is None:
            weights_path = os.path.join(work, "weights.safetensors")
            command = [CONVC, "init", args.spec, "-o", weights_path, "--seed", str(args.seed)]
            subprocess.run(command + (["--random-stats"] if args.random_stats else []), check=True, capture_output=True)
        if args.input:
            x = np.load(args.input).astype(np.float32)
        else:
            x = np.random.default_rng(args.seed).standard_normal([args.batch] + graph["input_shape"]).astype(np.float32)
        if x.ndim == len(graph["input_shape"]):
            x = x[None]
        model = build(graph, read_safetensors(weights_path))
        if args.onnx:
            onnx.save(model, args.onnx)
        expected = run_onnx(model, x)
        if args.fixture:
            os.makedirs(args.fixture, exist_ok=True)
            shutil.copy(weights_path, os.path.join(args.fixture, "weights.safetensors"))
            np.save(os.path.join(args.fixture, "input.npy"), x)
            np.save(os.path.join(args.fixture, "expected.npy"), expected.astype(np.float32))
            print(f"{args.fixture}: input {list(x.shape)}, output {list(expected.shape)}")
        if args.compare:
            input_path = os.path.join(work, "input.npy")
            output_path = os.path.join(work, "output.npy")
            np.save(input_path, x)
            subprocess.run([CONVC, "run", args.spec, "--weights", weights_path, "--input", input_path, "-o", output_path, "--top", "0"],
                           check=True, capture_output=True)
            ours = np.load(output_path)
            diff = np.abs(ours - expected)
            scale = np.abs(expected).max()
            print(f"{graph['model']}: output {list(expected.shape)}, max |onnx| {scale:.4g}, max abs diff {diff.max():.3g}, "
                  f"max rel diff {diff.max() / max(scale, 1e-30):.3g}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
