/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci_split_run(): one data-parallel job over several devices. Every
 * device's inputs go in and its kernel is queued before the next device's
 * turn, so the kernels overlap; results come back in device order.
 */

#include <errno.h>
#include <string.h>
#include <time.h>

#include "client_private.h"
#include "rpci_client.h"

#define SPLIT_DEVICES_MAX 16

static const char *const g_split_kernels[] = {
	[RPCI_SPLIT_VECTOR_ADD] = "vector-add",
	[RPCI_SPLIT_SAXPY] = "saxpy",
	[RPCI_SPLIT_SGEMM] = "sgemm",
	[RPCI_SPLIT_REDUCE] = "reduce-sum",
};

/* One device's share and what it holds. */
struct split_share {
	struct rpci_device *dev;
	struct rpci_module *mod;
	struct rpci_function *fn;
	uint64_t first, count;  /* elements, or rows (sgemm) */
	uint64_t d_a, d_b, d_c; /* device buffers (0: none) */
	float partial;          /* reduce */
	struct rpci_split_part part;
};

static double
split_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
split_check(struct rpci_device *const *devs, unsigned int nb_devs,
	    const struct rpci_split_job *job)
{
	unsigned int i;

	if (devs == NULL || job == NULL || nb_devs == 0 || nb_devs > SPLIT_DEVICES_MAX) {
		return cl_fail(-EINVAL, "split: need a job and 1..%d devices", SPLIT_DEVICES_MAX);
	}
	for (i = 0; i < nb_devs; i++) {
		if (devs[i] == NULL) {
			return cl_fail(-EINVAL, "split: device %u is NULL", i);
		}
	}
	if ((unsigned int)job->kernel >= CL_DIM(g_split_kernels) || job->n == 0 ||
	    job->a == NULL || job->out == NULL) {
		return cl_fail(-EINVAL, "split: unknown kernel, n of 0, or no input or output");
	}
	if (job->kernel != RPCI_SPLIT_REDUCE && job->b == NULL) {
		return cl_fail(-EINVAL, "split: %s needs b", g_split_kernels[job->kernel]);
	}
	if (job->kernel == RPCI_SPLIT_SGEMM &&
	    (job->m == 0 || job->k == 0 || job->c == NULL)) {
		return cl_fail(-EINVAL, "split: sgemm needs m, k and c");
	}
	return 0;
}

/* Allocate, copy in and launch one share. */
static int
share_start(struct split_share *s, const struct rpci_split_job *job)
{
	uint64_t n = job->n, k = job->k;
	uint64_t a_bytes, b_bytes, c_bytes;
	uint32_t grid[3] = { 1, 1, 1 }, block[3] = { 256, 1, 1 };
	uint64_t items;
	double t0;
	int ret;

	switch (job->kernel) {
	case RPCI_SPLIT_SGEMM:
		a_bytes = s->count * k * sizeof(float);
		b_bytes = k * n * sizeof(float);
		c_bytes = s->count * n * sizeof(float);
		items = s->count * n;
		break;
	case RPCI_SPLIT_REDUCE:
		a_bytes = s->count * sizeof(float);
		b_bytes = 0;
		c_bytes = sizeof(float);
		items = s->count;
		break;
	default:
		a_bytes = s->count * sizeof(float);
		b_bytes = a_bytes;
		c_bytes = job->kernel == RPCI_SPLIT_VECTOR_ADD ? a_bytes : 0;
		items = s->count;
		break;
	}
	ret = rpci_module_load(s->dev, RPCI_MODULE_BUILTIN, NULL, 0, &s->mod, NULL, 0);
	if (ret == 0) {
		ret = rpci_function_get(s->mod, g_split_kernels[job->kernel], &s->fn);
	}
	if (ret == 0) {
		ret = rpci_mem_alloc(s->dev, a_bytes, &s->d_a);
	}
	if (ret == 0 && b_bytes != 0) {
		ret = rpci_mem_alloc(s->dev, b_bytes, &s->d_b);
	}
	if (ret == 0 && c_bytes != 0) {
		ret = rpci_mem_alloc(s->dev, c_bytes, &s->d_c);
	}
	if (ret < 0) {
		return ret;
	}

	t0 = split_now();
	if (job->kernel == RPCI_SPLIT_SGEMM) {
		ret = rpci_memcpy_htod(s->dev, s->d_a, job->a + s->first * k, a_bytes);
		if (ret == 0) {
			ret = rpci_memcpy_htod(s->dev, s->d_b, job->b, b_bytes);
		}
		if (ret == 0) {
			ret = rpci_memcpy_htod(s->dev, s->d_c, job->c + s->first * n, c_bytes);
		}
	} else {
		ret = rpci_memcpy_htod(s->dev, s->d_a, job->a + s->first, a_bytes);
		if (ret == 0 && b_bytes != 0) {
			ret = rpci_memcpy_htod(s->dev, s->d_b, job->b + s->first, b_bytes);
		}
	}
	s->part.h2d_s = split_now() - t0;
	if (ret < 0) {
		return ret;
	}

	grid[0] = (uint32_t)CL_MIN((items + 255) / 256, (uint64_t)UINT32_MAX);
	switch (job->kernel) {
	case RPCI_SPLIT_VECTOR_ADD: {
		struct rpci_kernel_arg args[] = {
			rpci_arg_ptr(s->d_a), rpci_arg_ptr(s->d_b), rpci_arg_ptr(s->d_c),
			rpci_arg_u64(s->count),
		};

		return rpci_launch(s->fn, grid, block, args, CL_DIM(args));
	}
	case RPCI_SPLIT_SAXPY: {
		struct rpci_kernel_arg args[] = {
			rpci_arg_f32(job->alpha), rpci_arg_ptr(s->d_a), rpci_arg_ptr(s->d_b),
			rpci_arg_u64(s->count),
		};

		return rpci_launch(s->fn, grid, block, args, CL_DIM(args));
	}
	case RPCI_SPLIT_SGEMM: {
		struct rpci_kernel_arg args[] = {
			rpci_arg_ptr(s->d_a), rpci_arg_ptr(s->d_b), rpci_arg_ptr(s->d_c),
			rpci_arg_u64(s->count), rpci_arg_u64(n), rpci_arg_u64(k),
			rpci_arg_f32(job->alpha), rpci_arg_f32(job->beta),
		};

		return rpci_launch(s->fn, grid, block, args, CL_DIM(args));
	}
	default: {
		struct rpci_kernel_arg args[] = {
			rpci_arg_ptr(s->d_a), rpci_arg_ptr(s->d_c), rpci_arg_u64(s->count),
		};

		return rpci_launch(s->fn, grid, block, args, CL_DIM(args));
	}
	}
}

/* Wait for one share's kernel and copy its result out. */
static int
share_finish(struct split_share *s, const struct rpci_split_job *job)
{
	double t0 = split_now();
	int ret = rpci_synchronize(s->dev);

	s->part.wait_s = split_now() - t0;
	if (ret < 0) {
		return ret;
	}
	t0 = split_now();
	switch (job->kernel) {
	case RPCI_SPLIT_VECTOR_ADD:
		ret = rpci_memcpy_dtoh(s->dev, job->out + s->first, s->d_c,
				       s->count * sizeof(float));
		break;
	case RPCI_SPLIT_SAXPY:
		ret = rpci_memcpy_dtoh(s->dev, job->out + s->first, s->d_b,
				       s->count * sizeof(float));
		break;
	case RPCI_SPLIT_SGEMM:
		ret = rpci_memcpy_dtoh(s->dev, job->out + s->first * job->n, s->d_c,
				       s->count * job->n * sizeof(float));
		break;
	default:
		ret = rpci_memcpy_dtoh(s->dev, &s->partial, s->d_c, sizeof(float));
		break;
	}
	s->part.d2h_s = split_now() - t0;
	return ret;
}

static void
share_free(struct split_share *s)
{
	uint64_t *bufs[] = { &s->d_a, &s->d_b, &s->d_c };
	unsigned int i;

	for (i = 0; i < CL_DIM(bufs); i++) {
		if (*bufs[i] != 0) {
			rpci_mem_free(s->dev, *bufs[i]);
			*bufs[i] = 0;
		}
	}
	if (s->mod != NULL) {
		rpci_module_unload(s->mod);
		s->mod = NULL;
	}
}

int
rpci_split_run(struct rpci_device *const *devs, unsigned int nb_devs,
	       const struct rpci_split_job *job, struct rpci_split_part *parts)
{
	struct split_share shares[SPLIT_DEVICES_MAX];
	uint64_t total;
	unsigned int i, used = 0;
	double sum = 0.0;
	int ret;

	ret = split_check(devs, nb_devs, job);
	if (ret < 0) {
		return ret;
	}
	total = job->kernel == RPCI_SPLIT_SGEMM ? job->m : job->n;
	memset(shares, 0, sizeof(shares));
	for (i = 0; i < nb_devs; i++) {
		struct split_share *s = &shares[i];

		s->dev = devs[i];
		s->first = total * i / nb_devs;
		s->count = total * (i + 1) / nb_devs - s->first;
		s->part.first = s->first;
		s->part.count = s->count;
	}
	for (i = 0; i < nb_devs && ret == 0; i++) {
		if (shares[i].count != 0) {
			ret = share_start(&shares[i], job);
			used = i + 1;
		}
	}
	for (i = 0; i < used && ret == 0; i++) {
		if (shares[i].count != 0) {
			ret = share_finish(&shares[i], job);
			sum += shares[i].partial;
		}
	}
	if (ret == 0 && job->kernel == RPCI_SPLIT_REDUCE) {
		job->out[0] = (float)sum;
	}
	for (i = 0; i < used; i++) {
		if (ret < 0) {
			rpci_synchronize(shares[i].dev); /* nothing may still run on the buffers */
		}
		share_free(&shares[i]);
	}
	for (i = 0; parts != NULL && i < nb_devs; i++) {
		parts[i] = shares[i].part;
	}
	return ret;
}
