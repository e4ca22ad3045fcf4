/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Tiled sgemm: C = alpha * A.B + beta * C, row-major, A m x k, B k x n,
 * C m x n, any m, n, k (not only multiples of the tile). The arguments of
 * the cpu backend's built-in sgemm (doc/backends.md), then two local
 * buffers: DEVPTR A, DEVPTR B, DEVPTR C, counts m, n, k (4-byte unsigned
 * scalars here), f32 alpha, f32 beta, LOCAL As, LOCAL Bs.
 *
 * A work group of ts x ts work items computes a ts x ts tile of C: x runs
 * along the columns (j < n), y along the rows (i < m). For each tile of the
 * k dimension, every work item loads one element of A and one of B into
 * local memory (zero past the edges), the group waits, and each work item
 * adds the tile's ts products to its accumulator. So:
 *
 *   local size  ts x ts (the tile; ts = get_local_size(0) = get_local_size(1))
 *   global size ceil(n / ts) * ts x ceil(m / ts) * ts
 *   As, Bs      ts * ts * 4 bytes of local memory each
 *
 *   rpci-run ... --job cl --source sgemm_tiled.cl --kernel sgemm_tiled \
 *       --global 208,304 --local 16,16 --arg in:f32:300x500:rand ...
 *
 * Each element sums its products in ascending p, like the cpu backend, but
 * the compiler may fuse the multiply-adds: float results may differ from
 * the cpu's in the last bits. When beta is 0, C is not read (as in BLAS).
 */

__kernel void
sgemm_tiled(__global const float *A, __global const float *B, __global float *C, const uint m,
	    const uint n, const uint k, const float alpha, const float beta,
	    __local float *As, __local float *Bs)
{
	const size_t ts = get_local_size(0);
	const size_t tx = get_local_id(0), ty = get_local_id(1);
	const size_t j = get_global_id(0), i = get_global_id(1);
	float acc = 0.0f;
	size_t t, p;

	for (t = 0; t < k; t += ts) {
		As[ty * ts + tx] = (i < m && t + tx < k) ? A[i * k + t + tx] : 0.0f;
		Bs[ty * ts + tx] = (t + ty < k && j < n) ? B[(t + ty) * n + j] : 0.0f;
		barrier(CLK_LOCAL_MEM_FENCE);
		for (p = 0; p < ts; p++) {
			acc += As[ty * ts + p] * Bs[p * ts + tx];
		}
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (i < m && j < n) {
		if (beta == 0.0f) {
			C[i * n + j] = alpha * acc;
		} else {
			C[i * n + j] = alpha * acc + beta * C[i * n + j];
		}
	}
}
