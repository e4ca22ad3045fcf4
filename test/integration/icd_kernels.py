#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# A kernel of test/kernels run through the rpci OpenCL ICD with PyOpenCL,
# with the arguments rpci-run --job cl takes (the fills that need no random
# generator: seq, zero or a value), writing the out and inout buffers raw,
# in argument order, as rpci-run --dump does: the integration test compares
# the two files byte for byte.
#
# usage: icd_kernels.py --source F --kernel K --global X[,Y[,Z]] [--local ...]
#                       --arg SPEC... --dump FILE

import argparse
import sys

import numpy as np
import pyopencl as cl

TYPES = {"u8": np.uint8, "i8": np.int8, "u16": np.uint16, "i16": np.int16,
         "u32": np.uint32, "i32": np.int32, "u64": np.uint64, "i64": np.int64,
         "f32": np.float32, "f64": np.float64}


def count(s):
    n = 1
    for part in s.split("x"):
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(part[-1], 1)
        n *= int(part[:-1] if mult > 1 else part) * mult
    return n


def dims(s):
    return tuple(int(x) for x in s.split(","))


def fill(t, n, how):
    if how == "seq":
        return np.arange(n, dtype=np.uint64).astype(t) if np.issubdtype(t, np.integer) \
            else np.arange(n, dtype=np.float64).astype(t)
    if how == "zero":
        return np.zeros(n, dtype=t)
    return np.full(n, float(how) if np.issubdtype(t, np.floating) else int(how, 0), dtype=t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--global", dest="gsize", required=True, type=dims)
    ap.add_argument("--local", dest="lsize", type=dims)
    ap.add_argument("--arg", action="append", default=[])
    ap.add_argument("--dump", required=True)
    o = ap.parse_args()

    plat = [p for p in cl.get_platforms() if p.name == "rpci"][0]
    ctx = cl.Context(plat.get_devices()[:1])
    q = cl.CommandQueue(ctx)
    prg = cl.Program(ctx, open(o.source).read()).build()
    knl = getattr(prg, o.kernel)
    args, outs = [], []
    mf = cl.mem_flags
    for spec in o.arg:
        f = spec.split(":")
        if f[0] in ("in", "inout", "out"):
            t = TYPES[f[1]]
            n = count(f[2])
            host = fill(t, n, f[3] if len(f) > 3 else ("zero" if f[0] == "out" else "seq"))
            buf = cl.Buffer(ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=host)
            args.append(buf)
            if f[0] != "in":
                outs.append((buf, host))
        elif f[0] == "local":
            args.append(cl.LocalMemory(int(f[1])))
        else:
            t = TYPES[f[0]]
            args.append(t(float(f[1]) if np.issubdtype(t, np.floating) else int(f[1], 0)))
    knl(q, o.gsize, o.lsize, *args)
    with open(o.dump, "wb") as out:
        for buf, host in outs:
            cl.enqueue_copy(q, host, buf)
            out.write(host.tobytes())
    q.finish()


if __name__ == "__main__":
    sys.exit(main())
