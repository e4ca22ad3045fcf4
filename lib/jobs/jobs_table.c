/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The jobs: what each makes from the seed, its CPU reference, what a run
 * moves and how a result is checked. The data, scalars and bounds are the
 * ones rpci-run has always used, so that a seed means the same job in
 * every program and in every version.
 */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "jobs_private.h"

/* A job of vectors (vector-add, saxpy, reduce) takes n only. */
static int
vector_sizes(const struct rpci_job *job)
{
	if (job->p.m != 0 || job->p.k != 0) {
		return -EINVAL;
	}
	return job_elems(job->p.n, 1) != 0 ? 0 : -EOVERFLOW;
}

/* ------------------------------------------------ vector-add and saxpy */

static bool
is_saxpy(const struct rpci_job *job)
{
	return job->p.kind == RPCI_JOB_SAXPY;
}

static int
vector_prepare(struct rpci_job *job)
{
	uint64_t n = job->p.n, state = job->p.seed;
	int ret = vector_sizes(job);

	if (ret < 0) {
		return ret;
	}
	/* vector-add has no use for alpha; it is set all the same, as always */
	job->sj.alpha = job->p.int_data ? 3.0f : 1.7f;
	job->out_count = n;
	ret = job_buffer(job, &job->a, n);
	if (ret == 0) {
		ret = job_buffer(job, &job->b, n);
	}
	if (ret < 0) {
		return ret;
	}
	rpci_job_fill(job->a, n, &state, job->p.int_data);
	rpci_job_fill(job->b, n, &state, job->p.int_data);
	return 0;
}

static int
vector_reference(struct rpci_job *job)
{
	uint64_t i;

	for (i = 0; i < job->p.n; i++) {
		job->ref[i] = is_saxpy(job) ? job->sj.alpha * job->a[i] + job->b[i] :
			job->a[i] + job->b[i];
	}
	return 0;
}

static void
vector_bytes(const struct rpci_job *job, unsigned int used, uint64_t *h2d, uint64_t *d2h)
{
	(void)used;
	*h2d = 2 * job->p.n * sizeof(float);
	*d2h = job->p.n * sizeof(float);
}

static void
vector_verify(const struct rpci_job *job, unsigned int nb_devs, struct rpci_job_verdict *v)
{
	uint64_t i;
	double bound;

	(void)nb_devs;
	for (i = 0; i < job->out_count; i++) {
		/* one rounding of a product and one of a sum */
		bound = job->p.int_data ? 0.0 : 2.0 * FLT_EPSILON *
			(fabs(is_saxpy(job) ? job->sj.alpha * job->a[i] : job->a[i]) +
			 fabs(job->b[i]));
		rpci_job_verdict_check(v, i, job->out[i], job->ref[i], bound);
	}
}

/* -------------------------------------------------------------- sgemm */

static int
sgemm_prepare(struct rpci_job *job)
{
	uint64_t m = job->p.m, n = job->p.n, k = job->p.k, state = job->p.seed;
	int ret;

	if (m == 0 || k == 0) {
		return -EINVAL;
	}
	if (job_elems(m, k) == 0 || job_elems(k, n) == 0 || job_elems(m, n) == 0) {
		return -EOVERFLOW;
	}
	job->sj.m = m;
	job->sj.k = k;
	job->sj.alpha = job->p.int_data ? 1.0f : 1.25f;
	job->sj.beta = job->p.int_data ? 2.0f : 0.5f;
	job->out_count = m * n;
	ret = job_buffer(job, &job->a, m * k);
	if (ret == 0) {
		ret = job_buffer(job, &job->b, k * n);
	}
	if (ret == 0) {
		ret = job_buffer(job, &job->c, m * n);
	}
	if (ret < 0) {
		return ret;
	}
	rpci_job_fill(job->a, m * k, &state, job->p.int_data);
	rpci_job_fill(job->b, k * n, &state, job->p.int_data);
	rpci_job_fill(job->c, m * n, &state, job->p.int_data);
	return 0;
}

/* C = alpha * A.B + beta * C in float, and (float data) each element's bound. */
static int
sgemm_reference(struct rpci_job *job)
{
	uint64_t m = job->p.m, n = job->p.n, k = job->p.k, i, j, p;
	float alpha = job->sj.alpha, beta = job->sj.beta;
	float *acc = malloc(n * sizeof(float));
	double *mag = malloc(n * sizeof(double));
	int ret = -ENOMEM;

	if (!job->p.int_data) {
		job->bound = malloc(m * n * sizeof(double));
	}
	if (acc == NULL || mag == NULL || (!job->p.int_data && job->bound == NULL)) {
		goto free;
	}
	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			acc[j] = 0.0f;
			mag[j] = 0.0;
		}
		for (p = 0; p < k; p++) {
			float a = job->a[i * k + p];

			for (j = 0; j < n; j++) {
				acc[j] += a * job->b[p * n + j];
			}
		}
		for (j = 0; j < n; j++) {
			job->ref[i * n + j] = alpha * acc[j] + beta * job->c[i * n + j];
		}
		if (job->p.int_data) {
			continue; /* compared exactly */
		}
		for (p = 0; p < k; p++) {
			for (j = 0; j < n; j++) {
				mag[j] += fabs((double)job->a[i * k + p] * job->b[p * n + j]);
			}
		}
		for (j = 0; j < n; j++) {
			/* Two float sums of k terms may differ by 2k ulps of the magnitudes. */
			job->bound[i * n + j] = (2.0 * k + 4.0) * FLT_EPSILON *
				(fabs(alpha) * mag[j] + fabs(beta * job->c[i * n + j]));
		}
	}
	ret = 0;
free:
	free(acc);
	free(mag);
	return ret;
}

static void
sgemm_bytes(const struct rpci_job *job, unsigned int used, uint64_t *h2d, uint64_t *d2h)
{
	const struct rpci_job_params *p = &job->p;

	/* each device gets its rows of A and C, and all of B */
	*h2d = (p->m * p->k + used * p->k * p->n + p->m * p->n) * sizeof(float);
	*d2h = p->m * p->n * sizeof(float);
}

static void
sgemm_verify(const struct rpci_job *job, unsigned int nb_devs, struct rpci_job_verdict *v)
{
	uint64_t i;

	(void)nb_devs;
	for (i = 0; i < job->out_count; i++) {
		rpci_job_verdict_check(v, i, job->out[i], job->ref[i],
				       job->p.int_data ? 0.0 : job->bound[i]);
	}
}

/* ------------------------------------------------------------- reduce */

static int
reduce_prepare(struct rpci_job *job)
{
	uint64_t n = job->p.n, state = job->p.seed;
	int ret = vector_sizes(job);

	if (ret < 0) {
		return ret;
	}
	job->out_count = 1;
	ret = job_buffer(job, &job->a, n);
	if (ret < 0) {
		return ret;
	}
	rpci_job_fill(job->a, n, &state, job->p.int_data);
	return 0;
}

static int
reduce_reference(struct rpci_job *job)
{
	uint64_t i;

	job->sum = 0.0;
	job->mag = 0.0;
	for (i = 0; i < job->p.n; i++) {
		job->sum += job->a[i];
		job->mag += fabs(job->a[i]);
	}
	job->ref[0] = (float)job->sum;
	return 0;
}

static void
reduce_bytes(const struct rpci_job *job, unsigned int used, uint64_t *h2d, uint64_t *d2h)
{
	*h2d = job->p.n * sizeof(float);
	*d2h = used * sizeof(float); /* one partial sum each */
}

static void
reduce_verify(const struct rpci_job *job, unsigned int nb_devs, struct rpci_job_verdict *v)
{
	/*
	 * Integer data sums exactly; floats: summation order and rounding,
	 * and with several devices the rounding of each partial sum.
	 */
	double bound = job->p.int_data ? 0.0 : FLT_EPSILON * fabs(job->sum) +
		2.0 * job->p.n * DBL_EPSILON * job->mag +
		(nb_devs > 1 ? FLT_EPSILON * job->mag : 0.0);

	rpci_job_verdict_check(v, 0, job->out[0], job->ref[0], bound);
}

/* -------------------------------------------------------------- table */

const struct job_type g_job_types[RPCI_JOB_KINDS] = {
	[RPCI_JOB_VECTOR_ADD] = { "vector-add", RPCI_SPLIT_VECTOR_ADD, vector_prepare,
		vector_reference, vector_bytes, vector_verify },
	[RPCI_JOB_SAXPY] = { "saxpy", RPCI_SPLIT_SAXPY, vector_prepare, vector_reference,
		vector_bytes, vector_verify },
	[RPCI_JOB_SGEMM] = { "sgemm", RPCI_SPLIT_SGEMM, sgemm_prepare, sgemm_reference,
		sgemm_bytes, sgemm_verify },
	[RPCI_JOB_REDUCE] = { "reduce", RPCI_SPLIT_REDUCE, reduce_prepare, reduce_reference,
		reduce_bytes, reduce_verify },
};
