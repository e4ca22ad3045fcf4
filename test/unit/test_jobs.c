/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/jobs (rpci_jobs.h), no device needed: the data is the
 * seed's (the very values rpci-run has always made), each reference agrees
 * with a naive recomputation in double, the verdict accepts the reference
 * itself and refuses a changed element (exactly, and beyond the float
 * bound) naming the first bad index, the sgemm bounds and the reduce bound
 * with several devices, the caller's allocator, and sizes that are refused.
 */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "rpci_jobs.h"

static struct rpci_job *
make(enum rpci_job_kind kind, uint64_t n, uint64_t m, uint64_t k, uint64_t seed, bool int_data)
{
	struct rpci_job_params p = {
		.kind = kind, .n = n, .m = m, .k = k, .seed = seed, .int_data = int_data,
	};

	return rpci_job_create(&p, NULL);
}

/* A job with its reference made; its output then holds the reference. */
static struct rpci_job *
make_ref(enum rpci_job_kind kind, uint64_t n, uint64_t m, uint64_t k, bool int_data)
{
	struct rpci_job *job = make(kind, n, m, k, 42, int_data);
	const struct rpci_split_job *sj;
	double s = -1.0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(job);
	CU_ASSERT_EQUAL(rpci_job_reference(job, &s), 0);
	CU_ASSERT(s >= 0.0);
	sj = rpci_job_data(job);
	memcpy(sj->out, rpci_job_expected(job), rpci_job_out_count(job) * sizeof(float));
	return job;
}

static void
test_names(void)
{
	enum rpci_job_kind kind;
	unsigned int i;

	for (i = 0; i < RPCI_JOB_KINDS; i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(rpci_job_name((enum rpci_job_kind)i));
		CU_ASSERT_EQUAL(rpci_job_lookup(rpci_job_name((enum rpci_job_kind)i), &kind), 0);
		CU_ASSERT_EQUAL(kind, (enum rpci_job_kind)i);
	}
	CU_ASSERT_STRING_EQUAL(rpci_job_name(RPCI_JOB_SGEMM), "sgemm");
	CU_ASSERT_PTR_NULL(rpci_job_name(RPCI_JOB_KINDS));
	CU_ASSERT_EQUAL(rpci_job_lookup("saxpy ", &kind), -ENOENT);
	CU_ASSERT_EQUAL(rpci_job_lookup("cl", &kind), -ENOENT);
	CU_ASSERT_EQUAL(rpci_job_lookup(NULL, &kind), -EINVAL);
	CU_ASSERT_EQUAL(rpci_job_lookup("reduce", NULL), -EINVAL);
}

/* The same seed, the same data; the values rpci-run has always made for seed 1. */
static void
test_seed(void)
{
	/* splitmix64 from 1, and saxpy's a then b of seed 1 (float, int) */
	static const float want_a[4] = { 0x1.10a2dep-3f, 0x1.f75c6ep-2f, 0x1.e24e8cp-1f,
					 -0x1.c7cf2ep-4f };
	static const float want_b[4] = { -0x1.c89564p-4f, 0x1.0d343p-1f, 0x1.8267b2p-1f,
					 0x1.79eec4p-5f };
	static const float want_int[4] = { 2.0f, -8.0f, -8.0f, 4.0f };
	struct rpci_job *j1, *j2, *j3;
	const struct rpci_split_job *s1, *s2, *s3;
	uint64_t state = 1, i;
	float *seq;

	CU_ASSERT_EQUAL(rpci_job_random(&state), 0x910a2dec89025cc1ull);

	j1 = make(RPCI_JOB_SAXPY, 4, 0, 0, 1, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	s1 = rpci_job_data(j1);
	CU_ASSERT_EQUAL(memcmp(s1->a, want_a, sizeof(want_a)), 0);
	CU_ASSERT_EQUAL(memcmp(s1->b, want_b, sizeof(want_b)), 0);
	CU_ASSERT_EQUAL(s1->alpha, 1.7f);
	rpci_job_free(j1);
	j1 = make(RPCI_JOB_SAXPY, 4, 0, 0, 1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	CU_ASSERT_EQUAL(memcmp(rpci_job_data(j1)->a, want_int, sizeof(want_int)), 0);
	CU_ASSERT_EQUAL(rpci_job_data(j1)->alpha, 3.0f);
	rpci_job_free(j1);

	/* twice the same seed: the same inputs; another seed: others */
	j1 = make(RPCI_JOB_SGEMM, 9, 7, 5, 1234, false);
	j2 = make(RPCI_JOB_SGEMM, 9, 7, 5, 1234, false);
	j3 = make(RPCI_JOB_SGEMM, 9, 7, 5, 1235, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j3);
	s1 = rpci_job_data(j1);
	s2 = rpci_job_data(j2);
	s3 = rpci_job_data(j3);
	CU_ASSERT_EQUAL(memcmp(s1->a, s2->a, 7 * 5 * sizeof(float)), 0);
	CU_ASSERT_EQUAL(memcmp(s1->b, s2->b, 5 * 9 * sizeof(float)), 0);
	CU_ASSERT_EQUAL(memcmp(s1->c, s2->c, 7 * 9 * sizeof(float)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(s1->a, s3->a, 7 * 5 * sizeof(float)), 0);
	CU_ASSERT_EQUAL(s1->m, 7);
	CU_ASSERT_EQUAL(s1->k, 5);
	CU_ASSERT_EQUAL(s1->n, 9);
	CU_ASSERT_EQUAL(s1->alpha, 1.25f);
	CU_ASSERT_EQUAL(s1->beta, 0.5f);
	/* A, then B, then C from one sequence; floats in [-1, 1); out zeroed */
	seq = malloc((35 + 45 + 63) * sizeof(float));
	CU_ASSERT_PTR_NOT_NULL_FATAL(seq);
	state = 1234;
	rpci_job_fill(seq, 35 + 45 + 63, &state, false);
	CU_ASSERT_EQUAL(memcmp(s1->a, seq, 35 * sizeof(float)), 0);
	CU_ASSERT_EQUAL(memcmp(s1->b, seq + 35, 45 * sizeof(float)), 0);
	CU_ASSERT_EQUAL(memcmp(s1->c, seq + 80, 63 * sizeof(float)), 0);
	for (i = 0; i < 63; i++) {
		CU_ASSERT(seq[i] >= -1.0f && seq[i] < 1.0f);
		CU_ASSERT_EQUAL(s1->out[i], 0.0f);
	}
	free(seq);
	rpci_job_free(j1);
	rpci_job_free(j2);
	rpci_job_free(j3);

	/* integer data is -8..8 and takes every value */
	j1 = make(RPCI_JOB_REDUCE, 1000, 0, 0, 5, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	{
		bool seen[17] = { false };
		const float *a = rpci_job_data(j1)->a;

		for (i = 0; i < 1000; i++) {
			CU_ASSERT_FATAL(a[i] == floorf(a[i]) && a[i] >= -8.0f && a[i] <= 8.0f);
			seen[(int)a[i] + 8] = true;
		}
		for (i = 0; i < 17; i++) {
			CU_ASSERT(seen[i]);
		}
	}
	CU_ASSERT_EQUAL(rpci_job_out_count(j1), 1);
	rpci_job_free(j1);
}

/* Each reference against a naive recomputation in double. */
static void
test_reference(void)
{
	unsigned int data;

	for (data = 0; data < 2; data++) {
		bool int_data = data == 1;
		struct rpci_job *job;
		const struct rpci_split_job *sj;
		const float *ref;
		uint64_t i, j, p;
		double want, sum, tol;

		/* vector-add and saxpy: one rounding each way */
		job = make_ref(RPCI_JOB_VECTOR_ADD, 101, 0, 0, int_data);
		sj = rpci_job_data(job);
		ref = rpci_job_expected(job);
		for (i = 0; i < 101; i++) {
			want = (double)sj->a[i] + sj->b[i];
			tol = int_data ? 0.0 : FLT_EPSILON * fabs(want);
			CU_ASSERT(fabs(ref[i] - want) <= tol);
		}
		CU_ASSERT_EQUAL(rpci_job_out_count(job), 101);
		rpci_job_free(job);

		job = make_ref(RPCI_JOB_SAXPY, 101, 0, 0, int_data);
		sj = rpci_job_data(job);
		ref = rpci_job_expected(job);
		for (i = 0; i < 101; i++) {
			want = (double)sj->alpha * sj->a[i] + sj->b[i];
			tol = int_data ? 0.0 : 2.0 * FLT_EPSILON * (fabs(sj->alpha * sj->a[i]) +
								     fabs(sj->b[i]));
			CU_ASSERT(fabs(ref[i] - want) <= tol);
		}
		rpci_job_free(job);

		/* sgemm: C = alpha A.B + beta C of the inputs */
		job = make_ref(RPCI_JOB_SGEMM, 6, 4, 11, int_data);
		sj = rpci_job_data(job);
		ref = rpci_job_expected(job);
		CU_ASSERT_EQUAL(rpci_job_out_count(job), 24);
		for (i = 0; i < 4; i++) {
			for (j = 0; j < 6; j++) {
				double mag = 0.0;

				sum = 0.0;
				for (p = 0; p < 11; p++) {
					sum += (double)sj->a[i * 11 + p] * sj->b[p * 6 + j];
					mag += fabs((double)sj->a[i * 11 + p] * sj->b[p * 6 + j]);
				}
				want = sj->alpha * sum + (double)sj->beta * sj->c[i * 6 + j];
				tol = int_data ? 0.0 : 26.0 * FLT_EPSILON *
					(fabs(sj->alpha) * mag + fabs(sj->beta * sj->c[i * 6 + j]));
				CU_ASSERT(fabs(ref[i * 6 + j] - want) <= tol);
			}
		}
		rpci_job_free(job);

		/* reduce: the sum, rounded to float once */
		job = make_ref(RPCI_JOB_REDUCE, 1001, 0, 0, int_data);
		sj = rpci_job_data(job);
		ref = rpci_job_expected(job);
		sum = 0.0;
		for (i = 0; i < 1001; i++) {
			sum += sj->a[i];
		}
		CU_ASSERT_EQUAL(ref[0], (float)sum);
		rpci_job_free(job);
	}
}

/* The reference itself is right; one changed element is wrong, and named. */
static void
test_verify(void)
{
	struct rpci_job_verdict v;
	unsigned int kind, data;

	for (kind = 0; kind < RPCI_JOB_KINDS; kind++) {
		for (data = 0; data < 2; data++) {
			bool int_data = data == 1;
			bool sgemm = kind == RPCI_JOB_SGEMM;
			struct rpci_job *job = make_ref((enum rpci_job_kind)kind, sgemm ? 8 : 64,
							sgemm ? 8 : 0, sgemm ? 8 : 0, int_data);
			float *out = rpci_job_data(job)->out;
			const float *ref = rpci_job_expected(job);
			uint64_t bad = kind == RPCI_JOB_REDUCE ? 0 : 9;
			float keep = out[bad];

			CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
			CU_ASSERT(v.ok);
			CU_ASSERT_EQUAL(v.max_err, 0.0);

			/*
			 * exactly: one step of the float away is wrong for integer
			 * data, within the bound of the float data (an element of a
			 * vector job: the bound has an ulp of each term)
			 */
			out[bad] = nextafterf(keep, INFINITY);
			CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
			if (int_data) {
				CU_ASSERT(!v.ok);
				CU_ASSERT_EQUAL(v.bad_index, bad);
			} else if (kind != RPCI_JOB_REDUCE) {
				CU_ASSERT(v.ok);
				CU_ASSERT(v.max_err > 0.0);
			}
			/* beyond any bound: wrong, and named */
			out[bad] = keep + 1000.0f;
			CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
			CU_ASSERT(!v.ok);
			CU_ASSERT_EQUAL(v.bad_index, bad);
			CU_ASSERT_EQUAL(v.got, keep + 1000.0f);
			CU_ASSERT_EQUAL(v.want, ref[bad]);
			CU_ASSERT(v.max_err >= 999.0);
			if (int_data) {
				CU_ASSERT_EQUAL(v.bound_at_max, 0.0);
			} else {
				CU_ASSERT(v.bound_at_max > 0.0 && v.bound_at_max < 1.0);
			}
			/* NaN is wrong whatever the bound */
			out[bad] = NAN;
			CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
			CU_ASSERT(!v.ok);
			CU_ASSERT(isnan(v.max_err));
			out[bad] = keep;
			if (kind != RPCI_JOB_REDUCE) {
				/* two wrong elements: the first is named */
				out[40] += 100.0f;
				out[7] -= 50.0f;
				CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
				CU_ASSERT(!v.ok);
				CU_ASSERT_EQUAL(v.bad_index, 7);
				CU_ASSERT(v.max_err >= 99.0); /* the largest is element 40 */
			}
			rpci_job_free(job);
		}
	}
	/* no reference yet, or nothing to check */
	{
		struct rpci_job *job = make(RPCI_JOB_SAXPY, 16, 0, 0, 1, true);

		CU_ASSERT_PTR_NOT_NULL_FATAL(job);
		CU_ASSERT_PTR_NULL(rpci_job_expected(job));
		CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), -EINVAL);
		CU_ASSERT_EQUAL(rpci_job_verify(job, 1, NULL), -EINVAL);
		CU_ASSERT_EQUAL(rpci_job_verify(NULL, 1, &v), -EINVAL);
		CU_ASSERT_EQUAL(rpci_job_reference(NULL, NULL), -EINVAL);
		rpci_job_free(job);
	}
}

/* sgemm's bound per element: (2k + 4) eps (|alpha| sum |a b| + |beta c|). */
static void
test_sgemm_bounds(void)
{
	const uint64_t m = 5, n = 7, k = 300;
	struct rpci_job *job = make_ref(RPCI_JOB_SGEMM, n, m, k, false);
	const struct rpci_split_job *sj = rpci_job_data(job);
	const float *ref = rpci_job_expected(job);
	struct rpci_job_verdict v;
	uint64_t i = 3, j = 4, p;
	double mag = 0.0, bound;
	float keep;

	for (p = 0; p < k; p++) {
		mag += fabs((double)sj->a[i * k + p] * sj->b[p * n + j]);
	}
	bound = (2.0 * k + 4.0) * FLT_EPSILON *
		(fabs(sj->alpha) * mag + fabs(sj->beta * sj->c[i * n + j]));
	keep = sj->out[i * n + j];

	/* within the bound: accepted, its error and bound reported */
	sj->out[i * n + j] = (float)(ref[i * n + j] + 0.5 * bound);
	CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
	CU_ASSERT(v.ok);
	CU_ASSERT(v.max_err > 0.4 * bound && v.max_err < 0.6 * bound);
	CU_ASSERT(fabs(v.bound_at_max - bound) <= 1e-12 * bound);
	/* beyond it: refused, that element named */
	sj->out[i * n + j] = (float)(ref[i * n + j] + 1.5 * bound);
	CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
	CU_ASSERT(!v.ok);
	CU_ASSERT_EQUAL(v.bad_index, i * n + j);
	sj->out[i * n + j] = keep;
	rpci_job_free(job);

	/* integer data: exact, bound 0, the sums exact in float */
	job = make_ref(RPCI_JOB_SGEMM, n, m, k, true);
	sj = rpci_job_data(job);
	sj->out[0] = nextafterf(sj->out[0], -INFINITY);
	CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
	CU_ASSERT(!v.ok);
	CU_ASSERT_EQUAL(v.bad_index, 0);
	CU_ASSERT_EQUAL(v.bound_at_max, 0.0);
	rpci_job_free(job);
}

/* reduce: partial sums rounded to float on each device widen the bound. */
static void
test_reduce_bound(void)
{
	const uint64_t n = 20000;
	struct rpci_job *job = make_ref(RPCI_JOB_REDUCE, n, 0, 0, false);
	const struct rpci_split_job *sj = rpci_job_data(job);
	struct rpci_job_verdict v;
	double sum = 0.0, mag = 0.0, one, more;
	uint64_t i;

	for (i = 0; i < n; i++) {
		sum += sj->a[i];
		mag += fabs(sj->a[i]);
	}
	one = FLT_EPSILON * fabs(sum) + 2.0 * n * DBL_EPSILON * mag;
	more = one + FLT_EPSILON * mag;
	/* between the one-device bound and the several-device one */
	sj->out[0] = (float)(sum + (one + more) / 2.0);
	CU_ASSERT(fabs(sj->out[0] - sum) > one && fabs(sj->out[0] - sum) < more);
	CU_ASSERT_EQUAL(rpci_job_verify(job, 1, &v), 0);
	CU_ASSERT(!v.ok);
	CU_ASSERT(fabs(v.bound_at_max - one) <= 1e-9 * one);
	CU_ASSERT_EQUAL(rpci_job_verify(job, 2, &v), 0);
	CU_ASSERT(v.ok);
	CU_ASSERT(fabs(v.bound_at_max - more) <= 1e-9 * more);
	CU_ASSERT_EQUAL(rpci_job_verify(job, 16, &v), 0);
	CU_ASSERT(v.ok);
	rpci_job_free(job);

	/* integer data: exact whatever the devices */
	job = make_ref(RPCI_JOB_REDUCE, n, 0, 0, true);
	sj = rpci_job_data(job);
	sj->out[0] += 1.0f;
	CU_ASSERT_EQUAL(rpci_job_verify(job, 16, &v), 0);
	CU_ASSERT(!v.ok);
	rpci_job_free(job);
}

/* A counting allocator that fails from its fail_at-th allocation on. */
struct counting {
	unsigned int allocs, frees, fail_at;
	void *ptrs[8];
	size_t sizes[8];
};

static void *
counting_alloc(void *ctx, size_t size)
{
	struct counting *c = ctx;
	void *p;

	if (c->fail_at != 0 && c->allocs + 1 >= c->fail_at) {
		return NULL;
	}
	p = malloc(size);
	if (p != NULL && c->allocs < 8) {
		c->ptrs[c->allocs] = p;
		c->sizes[c->allocs] = size;
	}
	c->allocs += p != NULL;
	return p;
}

static void
counting_free(void *ctx, void *ptr)
{
	struct counting *c = ctx;

	c->frees++;
	free(ptr);
}

static bool
counted(const struct counting *c, const void *p, size_t size)
{
	unsigned int i;

	for (i = 0; i < c->allocs && i < 8; i++) {
		if (c->ptrs[i] == p && c->sizes[i] == size) {
			return true;
		}
	}
	return false;
}

static void
test_allocator(void)
{
	struct counting c;
	const struct rpci_job_allocator a = { counting_alloc, counting_free, &c };
	struct rpci_job_params p = { .kind = RPCI_JOB_SGEMM, .m = 3, .n = 4, .k = 5, .seed = 1 };
	const struct rpci_split_job *sj;
	struct rpci_job *job;

	memset(&c, 0, sizeof(c));
	job = rpci_job_create(&p, &a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(job);
	sj = rpci_job_data(job);
	CU_ASSERT_EQUAL(c.allocs, 4); /* A, B, C and out */
	CU_ASSERT(counted(&c, sj->a, 15 * sizeof(float)));
	CU_ASSERT(counted(&c, sj->b, 20 * sizeof(float)));
	CU_ASSERT(counted(&c, sj->c, 12 * sizeof(float)));
	CU_ASSERT(counted(&c, sj->out, 12 * sizeof(float)));
	/* the reference is the library's own */
	CU_ASSERT_EQUAL(rpci_job_reference(job, NULL), 0);
	CU_ASSERT_EQUAL(c.allocs, 4);
	rpci_job_free(job);
	CU_ASSERT_EQUAL(c.frees, 4);

	/* the allocator gives out: ENOMEM, and what it gave goes back */
	memset(&c, 0, sizeof(c));
	c.fail_at = 2;
	p.kind = RPCI_JOB_SAXPY;
	p.m = p.k = 0;
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_job_create(&p, &a));
	CU_ASSERT_EQUAL(errno, ENOMEM);
	CU_ASSERT_EQUAL(c.allocs, 1);
	CU_ASSERT_EQUAL(c.frees, 1);
	memset(&c, 0, sizeof(c));
	c.fail_at = 3; /* the output */
	CU_ASSERT_PTR_NULL(rpci_job_create(&p, &a));
	CU_ASSERT_EQUAL(c.frees, 2);
}

static void
refused(const struct rpci_job_params *p, const struct rpci_job_allocator *a, int err)
{
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_job_create(p, a));
	CU_ASSERT_EQUAL(errno, err);
}

/* Sizes that are 0, out of place, or too large are refused before any allocation. */
static void
test_sizes(void)
{
	struct counting c;
	const struct rpci_job_allocator a = { counting_alloc, counting_free, &c };
	const struct rpci_job_allocator half = { counting_alloc, NULL, &c };
	struct rpci_job_params p = { .kind = RPCI_JOB_SAXPY, .n = 0, .seed = 1 };

	memset(&c, 0, sizeof(c));
	refused(NULL, NULL, EINVAL);
	refused(&p, &a, EINVAL);                     /* n = 0 */
	p.n = 4;
	refused(&p, &half, EINVAL);                  /* no free */
	p.kind = RPCI_JOB_KINDS;
	refused(&p, &a, EINVAL);
	p.kind = RPCI_JOB_REDUCE;
	p.m = 3;
	refused(&p, &a, EINVAL);                     /* m for a vector job */
	p.kind = RPCI_JOB_SGEMM;
	p.k = 0;
	refused(&p, &a, EINVAL);                     /* sgemm without k */
	p.kind = RPCI_JOB_VECTOR_ADD;
	p.m = 0;
	p.n = RPCI_JOB_ELEMS_MAX + 1;
	refused(&p, &a, EOVERFLOW);
	p.n = UINT64_MAX;
	refused(&p, &a, EOVERFLOW);
	p.kind = RPCI_JOB_SGEMM;
	p.n = 4;
	p.m = 1ull << 21;
	p.k = 1ull << 21;                            /* A of 2^42 elements */
	refused(&p, &a, EOVERFLOW);
	p.m = 1ull << 63;
	p.k = 4;                                     /* m * k overflows */
	refused(&p, &a, EOVERFLOW);
	p.m = 4;
	p.k = 4;
	p.n = (1ull << 62) + 1;                      /* k * n overflows */
	refused(&p, &a, EOVERFLOW);
	CU_ASSERT_EQUAL(c.allocs, 0);
}

static void
test_run_arguments(void)
{
	struct rpci_job *job = make(RPCI_JOB_SAXPY, 16, 0, 0, 1, true);
	struct rpci_device *devs[RPCI_JOB_DEVICES_MAX + 1] = { NULL };
	struct rpci_job_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(job);
	CU_ASSERT_EQUAL(rpci_job_run(NULL, devs, 1, &st), -EINVAL);
	CU_ASSERT_EQUAL(rpci_job_run(job, NULL, 1, &st), -EINVAL);
	CU_ASSERT_EQUAL(rpci_job_run(job, devs, 0, &st), -EINVAL);
	CU_ASSERT_EQUAL(rpci_job_run(job, devs, RPCI_JOB_DEVICES_MAX + 1, &st), -EINVAL);
	CU_ASSERT_EQUAL(rpci_job_run(job, devs, 1, NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(rpci_job_data(NULL));
	CU_ASSERT_EQUAL(rpci_job_out_count(NULL), 0);
	rpci_job_free(job);
	rpci_job_free(NULL);
}

int
main(void)
{
	CU_pSuite s;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("jobs", NULL, NULL);
	if (s == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(s, test_names);
	CU_ADD_TEST(s, test_seed);
	CU_ADD_TEST(s, test_reference);
	CU_ADD_TEST(s, test_verify);
	CU_ADD_TEST(s, test_sgemm_bounds);
	CU_ADD_TEST(s, test_reduce_bound);
	CU_ADD_TEST(s, test_allocator);
	CU_ADD_TEST(s, test_sizes);
	CU_ADD_TEST(s, test_run_arguments);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return (int)failures;
}
