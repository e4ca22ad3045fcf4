/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * saxpy for the cuda backend: y[i] = alpha * x[i] + y[i] for i < n, one
 * thread per element; a grid of ceil(n / block) blocks of `block` threads in
 * x covers the vector. The same arguments, in the same order, as the cpu
 * backend's built-in saxpy (doc/backends.md): f32 alpha, DEVPTR x, DEVPTR y,
 * count n (an 8-byte unsigned scalar).
 *
 * saxpy.ptx is generated from this file, and both are kept:
 *   nvcc -ptx -arch=compute_75 -o saxpy.ptx saxpy.cu
 * (CUDA 13.0; compute_75 is the oldest target it accepts.)
 */

extern "C" __global__ void
saxpy(float alpha, const float *x, float *y, unsigned long long n)
{
	unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n) {
		y[i] = alpha * x[i] + y[i];
	}
}
