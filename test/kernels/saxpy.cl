/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * saxpy: y[i] = alpha * x[i] + y[i] for i < n, one work item per element.
 * The same arguments, in the same order, as the cpu backend's built-in
 * saxpy (doc/backends.md): f32 alpha, DEVPTR x, DEVPTR y, count n (a 4-byte
 * unsigned scalar here). Any global size of at least n covers the vector;
 * work items past n do nothing.
 *
 *   rpci-run ... --job cl --source saxpy.cl --kernel saxpy --global 1024 --local 64 \
 *       --arg f32:2.5 --arg in:f32:1000:rand --arg inout:f32:1000:rand --arg u32:1000 \
 *       --check saxpy
 */

__kernel void
saxpy(const float alpha, __global const float *x, __global float *y, const uint n)
{
	size_t i = get_global_id(0);

	if (i < n) {
		y[i] = alpha * x[i] + y[i];
	}
}
