#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# PyOpenCL, unchanged, on the rpci platform: several kernels (PyOpenCL's own
# elementwise and reduction kernels, a matrix multiply with local memory, a
# scan with local memory) each checked against numpy. Prints one "ok" or
# "FAIL" line per check and exits with the number of failures.
#
# usage: icd_pyopencl.py (OCL_ICD_VENDORS and RPCI_PROXY set by the caller)

import sys

import numpy as np
import pyopencl as cl
import pyopencl.array as cla
from pyopencl.elementwise import ElementwiseKernel
from pyopencl.reduction import ReductionKernel

failures = 0


def check(ok, what):
    global failures
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures += 1


platforms = [p for p in cl.get_platforms() if p.name == "rpci"]
check(len(platforms) == 1, "the rpci platform among %s" % [p.name for p in cl.get_platforms()])
if not platforms:
    sys.exit(1)
dev = platforms[0].get_devices()[0]
check(dev.max_work_group_size >= 1 and dev.global_mem_size > 0,
      "device %s: %d compute units, %d MiB" % (dev.name, dev.max_compute_units,
                                                dev.global_mem_size >> 20))
ctx = cl.Context([dev])
queue = cl.CommandQueue(ctx, properties=cl.command_queue_properties.PROFILING_ENABLE)
rng = np.random.default_rng(11)

# elementwise: PyOpenCL generates the kernel, with a scalar and three arrays
n = 1_000_003
a = rng.standard_normal(n).astype(np.float32)
b = rng.standard_normal(n).astype(np.float32)
a_g = cla.to_device(queue, a)
b_g = cla.to_device(queue, b)
axpbyz = ElementwiseKernel(ctx, "float k, float *x, float *y, float *z",
                           "z[i] = k * x[i] + y[i] * y[i]", "axpbyz")
z_g = cla.empty_like(a_g)
axpbyz(np.float32(2.5), a_g, b_g, z_g)
check(np.allclose(z_g.get(), 2.5 * a + b * b, rtol=1e-5, atol=1e-5),
      "elementwise kernel, n=%d" % n)
check(np.allclose((a_g * 3 + b_g).get(), a * 3 + b, rtol=1e-5, atol=1e-5),
      "array arithmetic (PyOpenCL's own kernels)")

# reductions: PyOpenCL's two-stage reduction kernels
ints = rng.integers(-1000, 1000, size=n).astype(np.int64)
ints_g = cla.to_device(queue, ints)
check(int(cla.sum(ints_g).get()) == int(ints.sum()), "sum reduction of %d int64" % n)
dot = ReductionKernel(ctx, np.float64, neutral="0", reduce_expr="a+b",
                      map_expr="(double)x[i]*(double)y[i]", arguments="float *x, float *y")
check(abs(dot(a_g, b_g).get() - np.dot(a.astype(np.float64), b.astype(np.float64))) < 1e-6 * n,
      "dot product reduction")
check(float(cla.max(a_g).get()) == float(a.max()), "max reduction")

# matrix multiply with local memory tiles
TILE = 16
prg = cl.Program(ctx, """
#define TILE %d
__kernel void matmul(__global const float *A, __global const float *B, __global float *C,
                     int M, int N, int K, __local float *As, __local float *Bs)
{
    int row = get_global_id(1), col = get_global_id(0);
    int lr = get_local_id(1), lc = get_local_id(0);
    float acc = 0.0f;
    for (int t = 0; t < (K + TILE - 1) / TILE; t++) {
        int ka = t * TILE + lc, kb = t * TILE + lr;
        As[lr * TILE + lc] = (row < M && ka < K) ? A[row * K + ka] : 0.0f;
        Bs[lr * TILE + lc] = (kb < K && col < N) ? B[kb * N + col] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TILE; k++)
            acc += As[lr * TILE + k] * Bs[k * TILE + lc];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < M && col < N)
        C[row * N + col] = acc;
}
__kernel void scan_block(__global const int *in, __global int *out, __local int *tmp)
{
    int gid = get_global_id(0), lid = get_local_id(0), n = get_local_size(0);
    tmp[lid] = in[gid];
    for (int off = 1; off < n; off *= 2) {
        barrier(CLK_LOCAL_MEM_FENCE);
        int v = lid >= off ? tmp[lid - off] : 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        tmp[lid] += v;
    }
    out[gid] = tmp[lid];
}
""" % TILE).build(options=["-cl-fast-relaxed-math"])
M, N, K = 130, 97, 211
A = rng.standard_normal((M, K)).astype(np.float32)
B = rng.standard_normal((K, N)).astype(np.float32)
A_g, B_g = cla.to_device(queue, A), cla.to_device(queue, B)
C_g = cla.zeros(queue, (M, N), np.float32)
gsize = ((N + TILE - 1) // TILE * TILE, (M + TILE - 1) // TILE * TILE)
evt = prg.matmul(queue, gsize, (TILE, TILE), A_g.data, B_g.data, C_g.data, np.int32(M),
                 np.int32(N), np.int32(K), cl.LocalMemory(4 * TILE * TILE),
                 cl.LocalMemory(4 * TILE * TILE))
evt.wait()
check(np.allclose(C_g.get(), A @ B, rtol=1e-3, atol=1e-3),
      "matrix multiply %dx%dx%d with local memory (%.2f ms on the device)"
      % (M, N, K, (evt.profile.end - evt.profile.start) / 1e6))

L = 256
v = rng.integers(0, 100, size=L * 64).astype(np.int32)
v_g = cla.to_device(queue, v)
out_g = cla.empty_like(v_g)
prg.scan_block(queue, (v.size,), (L,), v_g.data, out_g.data, cl.LocalMemory(4 * L))
want = np.cumsum(v.reshape(-1, L), axis=1).reshape(-1)
check(np.array_equal(out_g.get(), want), "block scan with local memory")

# the program's binary, built again from it (PyOpenCL's cache does this)
binary = prg.get_info(cl.program_info.BINARIES)[0]
prg2 = cl.Program(ctx, [dev], [binary]).build()
out2_g = cla.empty_like(v_g)
prg2.scan_block(queue, (v.size,), (L,), v_g.data, out2_g.data, cl.LocalMemory(4 * L))
check(np.array_equal(out2_g.get(), want), "the same kernel from its binary (%d bytes)"
      % len(binary))

# a build error comes back with the compiler's log
try:
    cl.Program(ctx, "__kernel void k(__global int *x) { x[0] = nope; }").build()
    check(False, "a build error")
except cl.RuntimeError as e:
    check("nope" in str(e), "a build error, with the log: %s" % str(e).splitlines()[0][:60])

queue.finish()
print("%d failed" % failures)
sys.exit(failures)
