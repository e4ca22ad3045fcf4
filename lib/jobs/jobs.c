/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The jobs' life (rpci_jobs.h): made from a seed in the caller's memory,
 * referenced on the CPU, run through rpci_split_run(), verified. What
 * differs between jobs is in the table (jobs_table.c).
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs_private.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *
default_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void
default_free(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

static const struct job_type *
type_of(enum rpci_job_kind kind)
{
	return (unsigned int)kind < RPCI_JOB_KINDS ? &g_job_types[kind] : NULL;
}

const char *
rpci_job_name(enum rpci_job_kind kind)
{
	const struct job_type *t = type_of(kind);

	return t != NULL ? t->name : NULL;
}

int
rpci_job_lookup(const char *name, enum rpci_job_kind *kind)
{
	unsigned int i;

	if (name == NULL || kind == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < RPCI_JOB_KINDS; i++) {
		if (strcmp(name, g_job_types[i].name) == 0) {
			*kind = (enum rpci_job_kind)i;
			return 0;
		}
	}
	return -ENOENT;
}

uint64_t
job_elems(uint64_t a, uint64_t b)
{
	uint64_t r;

	if (a == 0 || b == 0 || __builtin_mul_overflow(a, b, &r) || r > RPCI_JOB_ELEMS_MAX) {
		return 0;
	}
	return r;
}

int
job_buffer(struct rpci_job *job, float **buf, uint64_t count)
{
	if (job_elems(count, 1) == 0 || count > SIZE_MAX / sizeof(float)) {
		return -EOVERFLOW;
	}
	*buf = job->alloc.alloc(job->alloc.ctx, (size_t)count * sizeof(float));
	return *buf != NULL ? 0 : -ENOMEM;
}

struct rpci_job *
rpci_job_create(const struct rpci_job_params *p, const struct rpci_job_allocator *alloc)
{
	struct rpci_job *job;
	int ret;

	if (p == NULL || type_of(p->kind) == NULL || p->n == 0 ||
	    (alloc != NULL && (alloc->alloc == NULL || alloc->free == NULL))) {
		errno = EINVAL;
		return NULL;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	job->type = type_of(p->kind);
	job->p = *p;
	if (alloc != NULL) {
		job->alloc = *alloc;
	} else {
		job->alloc.alloc = default_alloc;
		job->alloc.free = default_free;
	}
	job->sj.kernel = job->type->kernel;
	job->sj.n = p->n;
	ret = job->type->prepare(job);
	if (ret == 0) {
		ret = job_buffer(job, &job->out, job->out_count);
	}
	if (ret < 0) {
		rpci_job_free(job);
		errno = -ret;
		return NULL;
	}
	/* Results land in memory already in use, as in a program that reuses buffers. */
	memset(job->out, 0, job->out_count * sizeof(float));
	job->sj.a = job->a;
	job->sj.b = job->b;
	job->sj.c = job->c;
	job->sj.out = job->out;
	return job;
}

void
rpci_job_free(struct rpci_job *job)
{
	float *bufs[4];
	unsigned int i;

	if (job == NULL) {
		return;
	}
	bufs[0] = job->a;
	bufs[1] = job->b;
	bufs[2] = job->c;
	bufs[3] = job->out;
	for (i = 0; i < 4; i++) {
		if (bufs[i] != NULL) {
			job->alloc.free(job->alloc.ctx, bufs[i]);
		}
	}
	free(job->ref);
	free(job->bound);
	free(job);
}

const struct rpci_split_job *
rpci_job_data(const struct rpci_job *job)
{
	return job != NULL ? &job->sj : NULL;
}

uint64_t
rpci_job_out_count(const struct rpci_job *job)
{
	return job != NULL ? job->out_count : 0;
}

int
rpci_job_reference(struct rpci_job *job, double *seconds)
{
	double t0;
	int ret;

	if (job == NULL) {
		return -EINVAL;
	}
	if (job->ref == NULL) {
		job->ref = malloc(job->out_count * sizeof(float));
		if (job->ref == NULL) {
			return -ENOMEM;
		}
		memset(job->ref, 0, job->out_count * sizeof(float));
		t0 = now_s();
		ret = job->type->reference(job);
		job->ref_s = now_s() - t0;
		if (ret < 0) {
			free(job->ref);
			free(job->bound);
			job->ref = NULL;
			job->bound = NULL;
			return ret;
		}
	}
	if (seconds != NULL) {
		*seconds = job->ref_s;
	}
	return 0;
}

const float *
rpci_job_expected(const struct rpci_job *job)
{
	return job != NULL ? job->ref : NULL;
}

int
rpci_job_run(struct rpci_job *job, struct rpci_device *const *devs, unsigned int nb_devs,
	     struct rpci_job_stats *stats)
{
	unsigned int i;
	double t0;
	int ret;

	if (job == NULL || devs == NULL || stats == NULL || nb_devs == 0 ||
	    nb_devs > RPCI_JOB_DEVICES_MAX) {
		return -EINVAL;
	}
	memset(stats, 0, sizeof(*stats));
	stats->nb_devs = nb_devs;
	t0 = now_s();
	ret = rpci_split_run(devs, nb_devs, &job->sj, stats->parts);
	stats->total_s = now_s() - t0;
	for (i = 0; i < nb_devs; i++) {
		stats->h2d_s += stats->parts[i].h2d_s;
		stats->kernel_s += stats->parts[i].wait_s;
		stats->d2h_s += stats->parts[i].d2h_s;
		stats->used += stats->parts[i].count != 0;
	}
	job->type->bytes(job, stats->used, &stats->h2d_bytes, &stats->d2h_bytes);
	return ret;
}

int
rpci_job_verify(const struct rpci_job *job, unsigned int nb_devs, struct rpci_job_verdict *v)
{
	if (job == NULL || v == NULL || job->ref == NULL) {
		return -EINVAL;
	}
	rpci_job_verdict_init(v);
	job->type->verify(job, nb_devs, v);
	return 0;
}

void
rpci_job_verdict_init(struct rpci_job_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->ok = true;
}

void
rpci_job_verdict_check(struct rpci_job_verdict *v, uint64_t index, double got, double want,
		       double bound)
{
	double err = fabs(got - want);

	if (isnan(got) || err > bound) {
		if (v->ok) {
			v->bad_index = index;
			v->got = got;
			v->want = want;
		}
		v->ok = false;
	}
	if (err > v->max_err || isnan(err)) {
		v->max_err = err;
		v->bound_at_max = bound;
	}
}

uint64_t
rpci_job_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double
rpci_job_random_signed(uint64_t bits)
{
	return (double)(bits >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

void
rpci_job_fill(float *v, uint64_t n, uint64_t *state, bool int_data)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = rpci_job_random(state);

		if (int_data) {
			v[i] = (float)((int)(r % 17) - 8); /* -8..8 */
		} else {
			v[i] = (float)rpci_job_random_signed(r);
		}
	}
}
