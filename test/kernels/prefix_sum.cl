/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Exclusive prefix sum of 32-bit unsigned integers (sums wrap modulo 2^32):
 * out[i] = in[0] + ... + in[i - 1], out[0] = 0. Work-efficient: each chunk
 * of 2L elements (L the work-group size, a power of two) is scanned in
 * local memory by a Blelloch up-sweep and down-sweep, 2 * 2L additions.
 *
 * Two ways across chunks:
 *
 * - prefix_sum: one launch, one work group (global size = local size = L).
 *   The group scans the chunks one after the other, carrying the running
 *   total from one to the next (a two-level scheme: a tree inside a chunk,
 *   a sequential carry across chunks). Any n; in and out may be the same
 *   buffer. Arguments: DEVPTR in, DEVPTR out, count n (4-byte unsigned),
 *   LOCAL tmp (2L * 4 bytes). Work groups other than the first do nothing.
 *   This is the kernel rpci-run's --check scan verifies:
 *
 *     rpci-run ... --job cl --source prefix_sum.cl --kernel prefix_sum --global 128 \
 *         --local 128 --arg in:u32:100000:rand --arg out:u32:100000 --arg u32:100000 \
 *         --arg local:1024 --check scan
 *
 * - several launches from the host, every work group busy (what the unit
 *   test runs): scan_blocks scans chunk g of 2L elements with group g and
 *   writes its total to sums[g]; prefix_sum scans sums in place (one group);
 *   scan_add adds sums[i / chunk] to out[i] (chunk = 2L of the first
 *   launch). Three launches for any n up to what one group's prefix_sum
 *   handles in a reasonable time (it is linear in the number of chunks).
 */

/*
 * Exclusive scan of tmp[0 .. 2l - 1] in place by the l work items of a group
 * (l a power of two); returns the sum of the 2l elements to every work item.
 * Every work item of the group must call it.
 */
uint
scan_local(__local uint *tmp, const size_t lid, const size_t l)
{
	const size_t m = 2 * l;
	size_t offset = 1, d, ai, bi;
	uint total, t;

	/* up-sweep: partial sums up a balanced tree */
	for (d = l; d > 0; d >>= 1) {
		barrier(CLK_LOCAL_MEM_FENCE);
		if (lid < d) {
			ai = offset * (2 * lid + 1) - 1;
			bi = offset * (2 * lid + 2) - 1;
			tmp[bi] += tmp[ai];
		}
		offset <<= 1;
	}
	barrier(CLK_LOCAL_MEM_FENCE);
	total = tmp[m - 1];
	barrier(CLK_LOCAL_MEM_FENCE);
	if (lid == 0) {
		tmp[m - 1] = 0;
	}
	/* down-sweep: each node passes its prefix to its children */
	for (d = 1; d < m; d <<= 1) {
		offset >>= 1;
		barrier(CLK_LOCAL_MEM_FENCE);
		if (lid < d) {
			ai = offset * (2 * lid + 1) - 1;
			bi = offset * (2 * lid + 2) - 1;
			t = tmp[ai];
			tmp[ai] = tmp[bi];
			tmp[bi] += t;
		}
	}
	barrier(CLK_LOCAL_MEM_FENCE);
	return total;
}

__kernel void
prefix_sum(__global const uint *in, __global uint *out, const uint n, __local uint *tmp)
{
	const size_t lid = get_local_id(0), l = get_local_size(0), m = 2 * l;
	uint carry = 0, total;
	size_t c;

	if (get_group_id(0) != 0) {
		return;
	}
	for (c = 0; c < n; c += m) {
		tmp[lid] = c + lid < n ? in[c + lid] : 0;
		tmp[lid + l] = c + lid + l < n ? in[c + lid + l] : 0;
		total = scan_local(tmp, lid, l);
		if (c + lid < n) {
			out[c + lid] = tmp[lid] + carry;
		}
		if (c + lid + l < n) {
			out[c + lid + l] = tmp[lid + l] + carry;
		}
		carry += total;
		/* tmp is loaded again for the next chunk */
		barrier(CLK_LOCAL_MEM_FENCE);
	}
}

__kernel void
scan_blocks(__global const uint *in, __global uint *out, __global uint *sums, const uint n,
	    __local uint *tmp)
{
	const size_t lid = get_local_id(0), l = get_local_size(0);
	const size_t c = get_group_id(0) * 2 * l;
	uint total;

	tmp[lid] = c + lid < n ? in[c + lid] : 0;
	tmp[lid + l] = c + lid + l < n ? in[c + lid + l] : 0;
	total = scan_local(tmp, lid, l);
	if (c + lid < n) {
		out[c + lid] = tmp[lid];
	}
	if (c + lid + l < n) {
		out[c + lid + l] = tmp[lid + l];
	}
	if (lid == 0) {
		sums[get_group_id(0)] = total;
	}
}

__kernel void
scan_add(__global uint *out, __global const uint *offsets, const uint n, const uint chunk)
{
	const size_t i = get_global_id(0);

	if (i < n) {
		out[i] += offsets[i / chunk];
	}
}
