/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-run --check NAME: the CPU reference of a kernel of test/kernels,
 * and the comparison of a user job's outputs with it. Arguments are
 * matched by position, local memory aside; a count is an integer scalar of
 * 4 or 8 bytes.
 */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "user_job.h"

/* The arguments other than local memory, in order; their number. */
static unsigned int
check_args(const struct user_job *u, const struct uarg **v)
{
	unsigned int i, n = 0;

	for (i = 0; i < u->nb_args; i++) {
		if (u->args[i].kind != UARG_LOCAL) {
			v[n++] = &u->args[i];
		}
	}
	return n;
}

/* A buffer of that type (any kind: an out buffer starts as zeros). */
static bool
is_buf(const struct uarg *a, const char *type)
{
	return uarg_is_buffer(a) && strcmp(a->type->name, type) == 0;
}

/* A buffer of that type that comes back. */
static bool
is_out_buf(const struct uarg *a, const char *type)
{
	return is_buf(a, type) && a->kind != UARG_IN;
}

static bool
is_count(const struct uarg *a)
{
	return a->kind == UARG_SCALAR && a->type->cls != ELEM_FLOAT &&
	       (a->type->size == 4 || a->type->size == 8) &&
	       (a->type->cls == ELEM_UINT || (a->bits >> (8 * a->type->size - 1) & 1) == 0);
}

static bool
is_f32(const struct uarg *a)
{
	return a->kind == UARG_SCALAR && strcmp(a->type->name, "f32") == 0;
}

/* Whether x is an integer of magnitude below 2^20 (exact in any float sum here). */
static bool
small_integral(double x)
{
	return x == floor(x) && fabs(x) < 1048576.0;
}

/* saxpy: f32 alpha, x, y (comes back), count n */
static int
check_saxpy_validate(const struct user_job *u)
{
	const struct uarg *v[UARGS_MAX];

	if (check_args(u, v) != 4 || !is_f32(v[0]) || !is_buf(v[1], "f32") ||
	    !is_out_buf(v[2], "f32") || !is_count(v[3])) {
		return -1;
	}
	return v[3]->bits <= v[1]->count && v[3]->bits <= v[2]->count ? 0 : -1;
}

static void
check_saxpy_verify(const struct user_job *u, struct rpci_job_verdict *verdict,
		   double *local_s)
{
	const struct uarg *v[UARGS_MAX];
	uint64_t n, i;
	float alpha, x, y0, got;
	double want, bound, t0;

	check_args(u, v);
	alpha = f32_of(v[0]->bits);
	n = v[3]->bits;
	t0 = run_now_s();
	for (i = 0; i < v[2]->count; i++) {
		y0 = f32_of(elem_get(v[2]->init, i, 4));
		got = f32_of(elem_get(v[2]->result, i, 4));
		if (i >= n) {
			rpci_job_verdict_check(verdict, i, got, y0, 0.0); /* past n: untouched */
			continue;
		}
		x = f32_of(elem_get(v[1]->init, i, 4));
		want = (double)alpha * x + y0;
		bound = small_integral(alpha) && small_integral(x) && small_integral(y0) ? 0.0 :
			2.0 * FLT_EPSILON * (fabs((double)alpha * x) + fabs(y0));
		rpci_job_verdict_check(verdict, i, got, want, bound);
	}
	*local_s = run_now_s() - t0;
}

/* sgemm: A, B, C (comes back), counts m, n, k, f32 alpha, f32 beta */
static int
check_sgemm_validate(const struct user_job *u)
{
	const struct uarg *v[UARGS_MAX];
	uint64_t mk, kn, mn;

	if (check_args(u, v) != 8 || !is_buf(v[0], "f32") || !is_buf(v[1], "f32") ||
	    !is_out_buf(v[2], "f32") || !is_count(v[3]) || !is_count(v[4]) ||
	    !is_count(v[5]) || !is_f32(v[6]) || !is_f32(v[7])) {
		return -1;
	}
	if (__builtin_mul_overflow(v[3]->bits, v[5]->bits, &mk) ||
	    __builtin_mul_overflow(v[5]->bits, v[4]->bits, &kn) ||
	    __builtin_mul_overflow(v[3]->bits, v[4]->bits, &mn)) {
		return -1;
	}
	return mk <= v[0]->count && kn <= v[1]->count && mn <= v[2]->count ? 0 : -1;
}

/* n floats of a buffer, decoded; NULL if there is no memory. */
static float *
f32_array(const uint8_t *buf, uint64_t n)
{
	float *f = malloc(n * sizeof(float) + 1);
	uint64_t i;

	for (i = 0; f != NULL && i < n; i++) {
		f[i] = f32_of(elem_get(buf, i, 4));
	}
	return f;
}

static void
check_sgemm_verify(const struct user_job *u, struct rpci_job_verdict *verdict,
		   double *local_s)
{
	const struct uarg *v[UARGS_MAX];
	uint64_t m, n, k, i, j, p;
	float alpha, beta, *A, *B, *C0, *out, *ref, *acc;
	double *mag, cterm, bound;
	bool integral;
	double t0;

	check_args(u, v);
	m = v[3]->bits;
	n = v[4]->bits;
	k = v[5]->bits;
	alpha = f32_of(v[6]->bits);
	beta = f32_of(v[7]->bits);
	A = f32_array(v[0]->init, m * k);
	B = f32_array(v[1]->init, k * n);
	C0 = f32_array(v[2]->init, m * n);
	out = f32_array(v[2]->result, m * n);
	ref = malloc(m * n * sizeof(float) + 1);
	acc = malloc(n * sizeof(float) + 1);
	mag = malloc(n * sizeof(double) + 1);
	if (A == NULL || B == NULL || C0 == NULL || out == NULL || ref == NULL || acc == NULL ||
	    mag == NULL) {
		fprintf(stderr, "rpci-run: no memory for the sgemm reference\n");
		verdict->ok = false;
		goto free;
	}

	/* The same computation here, as the built-in sgemm job does it, in float. */
	t0 = run_now_s();
	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			acc[j] = 0.0f;
		}
		for (p = 0; p < k; p++) {
			float a = A[i * k + p];

			for (j = 0; j < n; j++) {
				acc[j] += a * B[p * n + j];
			}
		}
		for (j = 0; j < n; j++) {
			/* with beta 0 the kernel does not read C (as in BLAS) */
			ref[i * n + j] = beta == 0.0f ? alpha * acc[j] :
				alpha * acc[j] + beta * C0[i * n + j];
		}
	}
	*local_s = run_now_s() - t0;

	/* Integer data below 2^24 all along sums exactly, in any order. */
	integral = small_integral(alpha) && small_integral(beta);
	for (i = 0; integral && i < m * k; i++) {
		integral = small_integral(A[i]);
	}
	for (i = 0; integral && i < k * n; i++) {
		integral = small_integral(B[i]);
	}
	for (i = 0; integral && beta != 0.0f && i < m * n; i++) {
		integral = small_integral(C0[i]);
	}
	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			mag[j] = 0.0;
		}
		for (p = 0; p < k; p++) {
			for (j = 0; j < n; j++) {
				mag[j] += fabs((double)A[i * k + p] * B[p * n + j]);
			}
		}
		for (j = 0; j < n; j++) {
			cterm = beta == 0.0f ? 0.0 : fabs((double)beta * C0[i * n + j]);
			/* two float sums of k terms may differ by 2k ulps of the magnitudes */
			bound = fabs(alpha) * mag[j] + cterm;
			bound = integral && bound < 16777216.0 ? 0.0 :
				(2.0 * k + 4.0) * FLT_EPSILON * bound;
			rpci_job_verdict_check(verdict, i * n + j, out[i * n + j],
					       ref[i * n + j], bound);
		}
	}
free:
	free(A);
	free(B);
	free(C0);
	free(out);
	free(ref);
	free(acc);
	free(mag);
}

/* histogram: u8 data, count n, u32 bins (comes back, 256 at least) */
static int
check_histogram_validate(const struct user_job *u)
{
	const struct uarg *v[UARGS_MAX];

	if (check_args(u, v) != 3 || !is_buf(v[0], "u8") || !is_count(v[1]) ||
	    !is_out_buf(v[2], "u32") || v[2]->count < 256) {
		return -1;
	}
	return v[1]->bits <= v[0]->count ? 0 : -1;
}

static void
check_histogram_verify(const struct user_job *u, struct rpci_job_verdict *verdict,
		       double *local_s)
{
	const struct uarg *v[UARGS_MAX];
	uint32_t want[256];
	uint64_t n, i;
	double t0;

	check_args(u, v);
	n = v[1]->bits;
	t0 = run_now_s();
	for (i = 0; i < 256; i++) {
		want[i] = (uint32_t)elem_get(v[2]->init, i, 4);
	}
	for (i = 0; i < n; i++) {
		want[v[0]->init[i]]++;
	}
	*local_s = run_now_s() - t0;
	for (i = 0; i < v[2]->count; i++) {
		rpci_job_verdict_check(verdict, i, (double)elem_get(v[2]->result, i, 4),
				       i < 256 ? want[i] : (double)elem_get(v[2]->init, i, 4),
				       0.0);
	}
}

/* scan: u32 in, u32 out (comes back), count n: exclusive prefix sums */
static int
check_scan_validate(const struct user_job *u)
{
	const struct uarg *v[UARGS_MAX];

	if (check_args(u, v) != 3 || !is_buf(v[0], "u32") || !is_out_buf(v[1], "u32") ||
	    !is_count(v[2])) {
		return -1;
	}
	return v[2]->bits <= v[0]->count && v[2]->bits <= v[1]->count ? 0 : -1;
}

static void
check_scan_verify(const struct user_job *u, struct rpci_job_verdict *verdict,
		  double *local_s)
{
	const struct uarg *v[UARGS_MAX];
	uint64_t n, i;
	uint32_t acc = 0;
	double t0;

	check_args(u, v);
	n = v[2]->bits;
	t0 = run_now_s();
	for (i = 0; i < v[1]->count; i++) {
		uint32_t got = (uint32_t)elem_get(v[1]->result, i, 4);

		if (i < n) {
			rpci_job_verdict_check(verdict, i, got, acc, 0.0);
			acc += (uint32_t)elem_get(v[0]->init, i, 4); /* wraps, as on the device */
		} else {
			rpci_job_verdict_check(verdict, i, got,
					       (double)elem_get(v[1]->init, i, 4), 0.0);
		}
	}
	*local_s = run_now_s() - t0;
}

static const struct check_desc g_checks[] = {
	{ "saxpy", "f32:ALPHA in:f32:N inout:f32:N u32:N (local ones aside)",
	  check_saxpy_validate, check_saxpy_verify },
	{ "sgemm", "in:f32:MxK in:f32:KxN inout:f32:MxN u32:M u32:N u32:K f32:ALPHA f32:BETA "
	  "(local ones aside)", check_sgemm_validate, check_sgemm_verify },
	{ "histogram", "in:u8:N u32:N out:u32:256 (local ones aside)",
	  check_histogram_validate, check_histogram_verify },
	{ "scan", "in:u32:N out:u32:N u32:N (local ones aside)",
	  check_scan_validate, check_scan_verify },
};

const struct check_desc *
check_find(const char *name)
{
	size_t i;

	for (i = 0; i < RTE_DIM(g_checks); i++) {
		if (strcmp(name, g_checks[i].name) == 0) {
			return &g_checks[i];
		}
	}
	return NULL;
}

const char *
check_names(void)
{
	return "saxpy, sgemm, histogram, scan";
}
