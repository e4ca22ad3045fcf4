/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * sgemm for the cuda backend: C = alpha * A.B + beta * C, row-major, A m x k,
 * B k x n, C m x n, any m, n, k; the same arguments, in the same order, as
 * the cpu backend's built-in sgemm (doc/backends.md): DEVPTR A, DEVPTR B,
 * DEVPTR C, counts m, n, k (8-byte unsigned scalars), f32 alpha, f32 beta.
 *
 * One thread per element of C: x runs along the columns (j < n), y along
 * the rows (i < m), so a grid of ceil(n / bx) x ceil(m / by) blocks of
 * bx x by threads covers C; threads outside C do nothing. Each element sums
 * A[i][p] * B[p][j] for p ascending, as the cpu backend does (the compiler
 * may fuse the multiply-add, so float results differ from the cpu's in the
 * last bits). When beta is 0, C is not read (as in BLAS): whatever C held,
 * NaN included, does not come through.
 *
 * sgemm.ptx is generated from this file, and both are kept:
 *   nvcc -ptx -arch=compute_75 -o sgemm.ptx sgemm.cu
 * (CUDA 13.0; compute_75 is the oldest target it accepts.)
 */

extern "C" __global__ void
sgemm(const float *A, const float *B, float *C, unsigned long long m, unsigned long long n,
      unsigned long long k, float alpha, float beta)
{
	unsigned long long i = (unsigned long long)blockIdx.y * blockDim.y + threadIdx.y;
	unsigned long long j = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
	const float *a;
	float acc = 0.0f;
	unsigned long long p;

	if (i >= m || j >= n) {
		return;
	}
	a = A + i * k;
	for (p = 0; p < k; p++) {
		acc += a[p] * B[p * n + j];
	}
	if (beta == 0.0f) {
		C[i * n + j] = alpha * acc;
	} else {
		C[i * n + j] = alpha * acc + beta * C[i * n + j];
	}
}
