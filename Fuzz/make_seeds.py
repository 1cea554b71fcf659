#!/usr/bin/env python3
"""Writes seed corpora for tools/fuzz.sh: small, valid (and a few nearly valid) safetensors and .npy files.

    python3 Fuzz/make_seeds.py safetensors OUT_DIR [--max-len N]   # both safetensors targets
    python3 Fuzz/make_seeds.py npy OUT_DIR [--max-len N]

Standard library only (numpy is not needed): the formats are written by hand, the way the reference writers do.
"""

import argparse
import glob
import json
import math
import os
import struct

# Bytes per element, as SafetensorsLayout knows them.
WIDTH = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
         "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8}


def encode(values, dtype):
    """Floats as `dtype` bytes (little-endian). Integer types get the values truncated."""
    out = bytearray()
    for v in values:
        if dtype == "F32":
            out += struct.pack("<f", v)
        elif dtype == "F64":
            out += struct.pack("<d", v)
        elif dtype == "F16":
            out += struct.pack("<e", v)
        elif dtype == "BF16":
            out += struct.pack("<f", v)[2:]
        elif dtype == "F8_E5M2":
            out += struct.pack("<e", v)[1:]
        elif dtype in ("F8_E4M3", "F8_E8M0", "U8", "I8", "BOOL"):
            out.append(int(abs(v) * 16) & 0x7F)
        else:
            out += int(v * 100 if dtype.startswith("I") else abs(v) * 100).to_bytes(
                WIDTH[dtype], "little", signed=dtype.startswith("I"))
    return bytes(out)


def safetensors(tensors, metadata=None, pad=True, order=None):
    """tensors: [(name, dtype, shape, values)] -> bytes, laid out in the given order."""
    header, data = {}, bytearray()
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        raw = encode(values, dtype)
        assert len(raw) == math.prod(shape) * WIDTH[dtype], (name, dtype, shape)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def read_safetensors(path):
    blob = open(path, "rb").read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    metadata = header.pop("__metadata__", None)
    start = 8 + length
    tensors = []
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, end = entry["data_offsets"]
        raw = blob[start + begin:start + end]
        if entry["dtype"] == "F32":
            values = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        else:
            values = [float(b % 7) for b in raw[:math.prod(entry["shape"])]]
        tensors.append((name, entry["dtype"], entry["shape"], values))
    return tensors, metadata, blob


def values(count, seed=1.0):
    return [((i * 37 + int(seed * 11)) % 23 - 11) / 8.0 for i in range(count)]


def shrink(shape):
    """The same rank, every dimension at most 2: small files that keep the shapes' structure."""
    return [min(d, 2) for d in shape]


def safetensors_seeds(max_len):
    seeds = {}
    fixtures = sorted(glob.glob("Tests/Fixtures/pytorch/*.safetensors") + glob.glob("Tests/Fixtures/onnx/*/weights.safetensors"))
    for path in fixtures:
        tensors, metadata, blob = read_safetensors(path)
        stem = path.replace("Tests/Fixtures/", "").replace("/", "_").replace(".safetensors", "")
        if len(blob) <= max_len:
            seeds[stem + ".safetensors"] = blob  # as PyTorch wrote it
        small = [(n, t, shrink(s), values(math.prod(shrink(s)))) if t in ("F32", "F16", "BF16", "F64")
                 else (n, t, shrink(s), [1.0] * math.prod(shrink(s))) for n, t, s, v in tensors]
        seeds[stem + "_small.safetensors"] = safetensors(small, metadata)
        if "lenet5" in path:
            # LeNet-5's own names and shapes, so Lenet5(weights:) loads them, in narrower dtypes (smaller files).
            for dtype in ("F16", "BF16", "F8_E4M3", "F8_E5M2"):
                seeds["lenet5_%s.safetensors" % dtype] = safetensors([(n, dtype, s, v) for n, t, s, v in tensors])
            seeds["lenet5_module_prefix_F8.safetensors"] = safetensors(
                [("module." + n, "F8_E4M3", s, v) for n, t, s, v in tensors], {"format": "pt"})
            if len(blob) <= max_len:
                seeds["lenet5_metadata_F32.safetensors"] = safetensors(tensors, {"format": "pt", "source": "fuzz"})

    # One tensor of every dtype; the reader converts the floating ones and refuses the others by name.
    seeds["every_dtype.safetensors"] = safetensors(
        [("t_" + d.lower(), d, [2, 3], values(6)) for d in WIDTH])
    for d in ("F32", "F16", "BF16", "F64", "F8_E4M3", "F8_E5M2", "I64", "BOOL"):
        seeds["one_%s.safetensors" % d] = safetensors([("a.weight", d, [3], values(3)), ("b", d, [1], [0.5])])
    # Edge shapes: a scalar, zero-sized tensors, a high rank.
    seeds["scalar_and_empty.safetensors"] = safetensors(
        [("s", "F32", [], [2.5]), ("z", "F32", [0, 3], []), ("e", "F16", [0], []), ("r", "F32", [1, 1, 1, 1, 1, 1, 2], [1, 2])])
    seeds["empty_header.safetensors"] = safetensors([])
    seeds["metadata_only.safetensors"] = safetensors([], {"k": "v", "": "\u00e9\\\"\n"})
    # Prefixes: every name under `module.` (DataParallel) and under a deeper shared prefix.
    seeds["prefix_module.safetensors"] = safetensors(
        [("module.a.weight", "F32", [2], [1, 2]), ("module.b", "F32", [1], [3])])
    seeds["prefix_deep.safetensors"] = safetensors(
        [("x.y.a.weight", "F32", [2], [1, 2]), ("x.y.b", "F32", [1], [3]), ("x.z", "F32", [1], [4])])
    # Names JSON must escape, and names a terminal must not see raw.
    seeds["odd_names.safetensors"] = safetensors(
        [("\u0000\u001b[31m", "F32", [1], [1]), ("\u00e9\u200b\U0001F600", "F32", [1], [2]), ("q\"\\/", "F32", [1], [3])])
    # Unpadded header; data stored in an order other than the header's.
    seeds["unpadded.safetensors"] = safetensors([("a", "F32", [1], [1.0])], pad=False)
    header = b'{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    seeds["reordered.safetensors"] = struct.pack("<Q", len(header)) + header + encode([1, 2, 3], "F32")
    # Nearly valid: one trailing byte, a gap, an overlap (each refused by its own check).
    seeds["trailing_byte.safetensors"] = safetensors([("a", "F32", [1], [1.0])]) + b"\x00"
    header = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}'
    seeds["overlap.safetensors"] = struct.pack("<Q", len(header)) + header + bytes(6)
    header = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}'
    seeds["gap.safetensors"] = struct.pack("<Q", len(header)) + header + bytes(12)
    header = b'{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}'
    seeds["huge_shape.safetensors"] = struct.pack("<Q", len(header)) + header
    return {name: blob for name, blob in seeds.items() if len(blob) <= max_len}


def npy(shape, values, descr="<f4", version=(1, 0), fortran=False, pad=64):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, fortran, "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")")
    prefix = 10 if version[0] == 1 else 12
    header += " " * (-(prefix + len(header) + 1) % pad) + "\n"
    raw = header.encode("latin-1" if version[0] < 3 else "utf-8")
    size = struct.pack("<H", len(raw)) if version[0] == 1 else struct.pack("<I", len(raw))
    fmt = {"<f4": "<f", "<f8": "<d", "float32": "<f", "float64": "<d", ">f4": ">f", "<f2": "<e", "<i4": "<i"}[descr]
    data = b"".join(struct.pack(fmt, int(v) if "i" in fmt else v) for v in values)
    return b"\x93NUMPY" + bytes(version) + size + raw + data


def npy_seeds(max_len):
    seeds = {}
    for path in sorted(glob.glob("Tests/Fixtures/**/*.npy", recursive=True)):
        blob = open(path, "rb").read()
        if len(blob) <= max_len:
            seeds[path.replace("Tests/Fixtures/", "").replace("/", "_")] = blob
    seeds["f4_2x3.npy"] = npy([2, 3], values(6))
    seeds["f8_4.npy"] = npy([4], values(4), descr="<f8")
    seeds["v2_f4.npy"] = npy([1, 3], values(3), version=(2, 0))
    seeds["v3_f4.npy"] = npy([3], values(3), version=(3, 0))
    seeds["scalar.npy"] = npy([], [1.5])
    seeds["empty.npy"] = npy([0, 4], [])
    seeds["named_float32.npy"] = npy([2], values(2), descr="float32")
    seeds["unpadded.npy"] = npy([2], values(2), pad=1)
    # Refused by name: another dtype, big-endian, Fortran order.
    seeds["int32.npy"] = npy([2], [1, 2], descr="<i4")
    seeds["half.npy"] = npy([2], [1, 2], descr="<f2")
    seeds["big_endian.npy"] = npy([2], values(2), descr=">f4")
    seeds["fortran.npy"] = npy([2, 2], values(4), fortran=True)
    return {name: blob for name, blob in seeds.items() if len(blob) <= max_len}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["safetensors", "npy"])
    parser.add_argument("out")
    parser.add_argument("--max-len", type=int, default=1 << 18)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seeds = safetensors_seeds(args.max_len) if args.kind == "safetensors" else npy_seeds(args.max_len)
    for name, blob in seeds.items():
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(blob)
    print("%d %s seeds in %s" % (len(seeds), args.kind, args.out))


if __name__ == "__main__":
    main()
