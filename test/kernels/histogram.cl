/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Histogram of bytes: bins[v] += the number of bytes of value v among
 * data[0..n-1], 256 bins. Arguments: DEVPTR data (n bytes), count n (a
 * 4-byte unsigned scalar), DEVPTR bins (256 4-byte counters, added to: zero
 * them first for a plain count), LOCAL lbins (256 * 4 bytes).
 *
 * Each work group counts into its own 256 bins in local memory with local
 * atomics, work items striding over the data by the global size (so any
 * global size covers any n), then adds its bins to the global ones with
 * global atomics: few global atomics, whatever n.
 *
 *   rpci-run ... --job cl --source histogram.cl --kernel histogram --global 1024 \
 *       --local 128 --arg in:u8:100000:rand --arg u32:100000 --arg out:u32:256 \
 *       --arg local:1024 --check histogram
 */

#define NB_BINS 256

__kernel void
histogram(__global const uchar *data, const uint n, __global uint *bins, __local uint *lbins)
{
	const size_t lid = get_local_id(0), lsize = get_local_size(0);
	size_t i, b;

	for (b = lid; b < NB_BINS; b += lsize) {
		lbins[b] = 0;
	}
	barrier(CLK_LOCAL_MEM_FENCE);
	for (i = get_global_id(0); i < n; i += get_global_size(0)) {
		atomic_inc(&lbins[data[i]]);
	}
	barrier(CLK_LOCAL_MEM_FENCE);
	for (b = lid; b < NB_BINS; b += lsize) {
		if (lbins[b] != 0) {
			atomic_add(&bins[b], lbins[b]);
		}
	}
}
