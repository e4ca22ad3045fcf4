/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-run: run a job on a remote virtual GPU, check it against the same
 * computation done locally, and print the timings.
 *
 *   rpci-run [EAL args --] --config FILE --host NAME --job JOB [sizes] [options]
 */

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "app_common.h"
#include "rpci_client.h"
#include "rpci_conf.h"
#include "rpci_link.h"

enum job_kind {
	JOB_VECTOR_ADD,
	JOB_SAXPY,
	JOB_SGEMM,
	JOB_REDUCE,
};

static const char *const g_job_names[] = {
	[JOB_VECTOR_ADD] = "vector-add",
	[JOB_SAXPY] = "saxpy",
	[JOB_SGEMM] = "sgemm",
	[JOB_REDUCE] = "reduce",
};

/* Name of each job's kernel among the backend's built-ins. */
static const char *const g_kernel_names[] = {
	[JOB_VECTOR_ADD] = "vector-add",
	[JOB_SAXPY] = "saxpy",
	[JOB_SGEMM] = "sgemm",
	[JOB_REDUCE] = "reduce-sum",
};

struct run_opts {
	const char *config;
	const char *host;
	const char *server;
	const char *device;
	const char *json;
	enum job_kind job;
	bool have_job;
	unsigned long long n, m, k;
	bool have_n, have_m, have_k;
	unsigned long long seed;
	bool int_data;
	enum rpci_h2d_mode h2d;
	bool info_only;
	bool stats;
};

/* Timings of one run, in seconds. */
struct run_times {
	double h2d;
	double kernel;
	double d2h;
	double total;
	double local;
	uint64_t h2d_bytes;
	uint64_t d2h_bytes;
};

struct verdict {
	bool ok;
	double max_err;
	double bound_at_max;
	uint64_t bad_index;
	double got;
	double want;
};

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] --config FILE --host NAME --job JOB [sizes] [options]\n"
	       "  --job vector-add|saxpy|sgemm|reduce\n"
	       "  --n N               vector length (vector-add, saxpy, reduce),\n"
	       "                      or columns of C (sgemm)\n"
	       "  --m M --k K         sgemm: C is M x N, A is M x K, B is K x N\n"
	       "  --seed S            input data seed (default 1)\n"
	       "  --data int|float    integer-valued data checked exactly, or random floats\n"
	       "                      checked against an error bound (default float)\n"
	       "  --h2d push|pull     host-to-device copies: posted writes, or device DMA reads\n"
	       "  --server S --device D   another server or device than the config names\n"
	       "  --json FILE         append the result as one JSON object\n"
	       "  --info              print the device's description and exit\n"
	       "  --stats             print the link's counters at the end\n"
	       "Sizes take K, M, G suffixes. Exit: 0 verified, 1 mismatch or error, 2 bad usage.\n",
	       prog);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* splitmix64: the same data for the same seed, everywhere. */
static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
fill(float *v, uint64_t n, uint64_t *state, bool int_data)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = rng_next(state);

		if (int_data) {
			v[i] = (float)((int)(r % 17) - 8); /* -8..8 */
		} else {
			v[i] = (float)((double)(r >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
		}
	}
}

static int
parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' },
		{ "job", required_argument, NULL, 'j' },
		{ "n", required_argument, NULL, 'n' },
		{ "m", required_argument, NULL, 'm' },
		{ "k", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "data", required_argument, NULL, 'd' },
		{ "h2d", required_argument, NULL, 'p' },
		{ "server", required_argument, NULL, 'S' },
		{ "device", required_argument, NULL, 'D' },
		{ "json", required_argument, NULL, 'J' },
		{ "info", no_argument, NULL, 'I' },
		{ "stats", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	unsigned int i;
	int opt;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'j':
			for (i = 0; i < RTE_DIM(g_job_names); i++) {
				if (strcmp(optarg, g_job_names[i]) == 0) {
					break;
				}
			}
			if (i == RTE_DIM(g_job_names)) {
				fprintf(stderr, "rpci-run: unknown job '%s' (vector-add, saxpy, "
					"sgemm, reduce)\n", optarg);
				return -1;
			}
			o->job = (enum job_kind)i;
			o->have_job = true;
			break;
		case 'n':
		case 'm':
		case 'k':
			if (app_parse_u64(optarg, &v) < 0) {
				fprintf(stderr, "rpci-run: --%c '%s' is not a size\n", opt, optarg);
				return -1;
			}
			if (v == 0) {
				fprintf(stderr, "rpci-run: --%c must be at least 1\n", opt);
				return -1;
			}
			if (opt == 'n') {
				o->n = v;
				o->have_n = true;
			} else if (opt == 'm') {
				o->m = v;
				o->have_m = true;
			} else {
				o->k = v;
				o->have_k = true;
			}
			break;
		case 's':
			if (app_parse_u64(optarg, &o->seed) < 0) {
				fprintf(stderr, "rpci-run: --seed '%s' is not a number\n", optarg);
				return -1;
			}
			break;
		case 'd':
			if (strcmp(optarg, "int") == 0) {
				o->int_data = true;
			} else if (strcmp(optarg, "float") == 0) {
				o->int_data = false;
			} else {
				fprintf(stderr, "rpci-run: --data must be int or float\n");
				return -1;
			}
			break;
		case 'p':
			if (strcmp(optarg, "push") == 0) {
				o->h2d = RPCI_H2D_PUSH;
			} else if (strcmp(optarg, "pull") == 0) {
				o->h2d = RPCI_H2D_PULL;
			} else {
				fprintf(stderr, "rpci-run: --h2d must be push or pull\n");
				return -1;
			}
			break;
		case 'S':
			o->server = optarg;
			break;
		case 'D':
			o->device = optarg;
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'I':
			o->info_only = true;
			break;
		case 'T':
			o->stats = true;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			fprintf(stderr,
				"rpci-run: unknown or incomplete option '%s' (see --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rpci-run: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->config == NULL || o->host == NULL) {
		fprintf(stderr, "rpci-run: --config FILE and --host NAME are required\n");
		return -1;
	}
	if (o->info_only) {
		return 0;
	}
	if (!o->have_job) {
		fprintf(stderr, "rpci-run: --job is required (vector-add, saxpy, sgemm, reduce)\n");
		return -1;
	}
	if (o->job == JOB_SGEMM) {
		if (!o->have_m || !o->have_n || !o->have_k) {
			fprintf(stderr, "rpci-run: --job sgemm needs --m, --n and --k\n");
			return -1;
		}
		if (o->m > 65536 || o->n > 65536 || o->k > 65536) {
			fprintf(stderr, "rpci-run: sgemm sizes are at most 65536 each\n");
			return -1;
		}
	} else {
		if (!o->have_n) {
			fprintf(stderr, "rpci-run: --job %s needs --n\n", g_job_names[o->job]);
			return -1;
		}
		if (o->have_m || o->have_k) {
			fprintf(stderr, "rpci-run: --m and --k are for sgemm only\n");
			return -1;
		}
		if (o->n > (1ull << 32)) {
			fprintf(stderr, "rpci-run: --n is at most 4G elements\n");
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- verify */

static void
verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->ok = true;
}

/* got against want within bound (0 = exact). */
static void
verdict_check(struct verdict *v, uint64_t i, double got, double want, double bound)
{
	double err = fabs(got - want);

	if (isnan(got) || err > bound) {
		if (v->ok) {
			v->bad_index = i;
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

/* ------------------------------------------------------------ the jobs */

struct job_ctx {
	struct rpci_device *dev;
	struct rpci_function *fn;
	const struct run_opts *o;
	struct run_times t;
	struct verdict v;
};

static int
copy_in(struct job_ctx *c, uint64_t d, const void *h, uint64_t bytes)
{
	double t0 = now_s();
	int ret = rpci_memcpy_htod(c->dev, d, h, bytes);

	c->t.h2d += now_s() - t0;
	c->t.h2d_bytes += bytes;
	return ret;
}

static int
copy_out(struct job_ctx *c, void *h, uint64_t d, uint64_t bytes)
{
	double t0 = now_s();
	int ret = rpci_memcpy_dtoh(c->dev, h, d, bytes);

	c->t.d2h += now_s() - t0;
	c->t.d2h_bytes += bytes;
	return ret;
}

static int
run_kernel(struct job_ctx *c, uint64_t work_items, const struct rpci_kernel_arg *args,
	   unsigned int nb_args)
{
	uint32_t grid[3] = { 1, 1, 1 }, block[3] = { 256, 1, 1 };
	double t0 = now_s();
	int ret;

	grid[0] = (uint32_t)RTE_MIN((work_items + 255) / 256, (uint64_t)UINT32_MAX);
	if (grid[0] == 0) {
		grid[0] = 1;
	}
	ret = rpci_launch(c->fn, grid, block, args, nb_args);
	if (ret == 0) {
		ret = rpci_synchronize(c->dev);
	}
	c->t.kernel += now_s() - t0;
	return ret;
}

static int
job_vector(struct job_ctx *c)
{
	const struct run_opts *o = c->o;
	uint64_t n = o->n, bytes = n * sizeof(float), i, state = o->seed;
	bool saxpy = o->job == JOB_SAXPY;
	float alpha = o->int_data ? 3.0f : 1.7f;
	float *a = malloc(bytes), *b = malloc(bytes), *out = malloc(bytes), *ref = malloc(bytes);
	uint64_t da = 0, db = 0, dc = 0;
	double t0;
	int ret = -ENOMEM;

	if (a == NULL || b == NULL || out == NULL || ref == NULL) {
		fprintf(stderr, "rpci-run: no memory for %" PRIu64 " elements\n", n);
		goto free_host;
	}
	fill(a, n, &state, o->int_data);
	fill(b, n, &state, o->int_data);
	/* Results land in memory already in use, as in a program that reuses buffers. */
	memset(out, 0, bytes);
	memset(ref, 0, bytes);

	t0 = now_s();
	if ((ret = rpci_mem_alloc(c->dev, bytes, &da)) < 0 ||
	    (ret = rpci_mem_alloc(c->dev, bytes, &db)) < 0 ||
	    (!saxpy && (ret = rpci_mem_alloc(c->dev, bytes, &dc)) < 0)) {
		goto free_dev;
	}
	if ((ret = copy_in(c, da, a, bytes)) < 0 || (ret = copy_in(c, db, b, bytes)) < 0) {
		goto free_dev;
	}
	if (saxpy) {
		struct rpci_kernel_arg args[] = {
			rpci_arg_f32(alpha), rpci_arg_ptr(da), rpci_arg_ptr(db), rpci_arg_u64(n),
		};

		ret = run_kernel(c, n, args, RTE_DIM(args));
		if (ret == 0) {
			ret = copy_out(c, out, db, bytes);
		}
	} else {
		struct rpci_kernel_arg args[] = {
			rpci_arg_ptr(da), rpci_arg_ptr(db), rpci_arg_ptr(dc), rpci_arg_u64(n),
		};

		ret = run_kernel(c, n, args, RTE_DIM(args));
		if (ret == 0) {
			ret = copy_out(c, out, dc, bytes);
		}
	}
	c->t.total = now_s() - t0;
	if (ret < 0) {
		goto free_dev;
	}

	t0 = now_s();
	for (i = 0; i < n; i++) {
		ref[i] = saxpy ? alpha * a[i] + b[i] : a[i] + b[i];
	}
	c->t.local = now_s() - t0;
	verdict_init(&c->v);
	for (i = 0; i < n; i++) {
		double bound = o->int_data ? 0.0 :
			2.0 * FLT_EPSILON * (fabs(saxpy ? alpha * a[i] : a[i]) + fabs(b[i]));

		verdict_check(&c->v, i, out[i], ref[i], bound);
	}

free_dev:
	if (dc != 0) {
		rpci_mem_free(c->dev, dc);
	}
	if (db != 0) {
		rpci_mem_free(c->dev, db);
	}
	if (da != 0) {
		rpci_mem_free(c->dev, da);
	}
free_host:
	free(a);
	free(b);
	free(out);
	free(ref);
	return ret;
}

static int
job_sgemm(struct job_ctx *c)
{
	const struct run_opts *o = c->o;
	uint64_t m = o->m, n = o->n, k = o->k, i, j, p, state = o->seed;
	uint64_t ab = m * k * 4, bb = k * n * 4, cb = m * n * 4;
	float alpha = o->int_data ? 1.0f : 1.25f, beta = o->int_data ? 2.0f : 0.5f;
	float *A = malloc(ab), *B = malloc(bb), *C = malloc(cb), *out = malloc(cb);
	float *ref = malloc(cb), *acc = malloc(n * 4);
	double *mag = malloc(n * sizeof(double));
	uint64_t dA = 0, dB = 0, dC = 0;
	double t0;
	int ret = -ENOMEM;

	if (A == NULL || B == NULL || C == NULL || out == NULL || ref == NULL || acc == NULL ||
	    mag == NULL) {
		fprintf(stderr, "rpci-run: no memory for a %" PRIu64 "x%" PRIu64 "x%" PRIu64
			" sgemm\n", m, n, k);
		goto free_host;
	}
	fill(A, m * k, &state, o->int_data);
	fill(B, k * n, &state, o->int_data);
	fill(C, m * n, &state, o->int_data);
	memset(out, 0, cb);
	memset(ref, 0, cb);

	t0 = now_s();
	if ((ret = rpci_mem_alloc(c->dev, ab, &dA)) < 0 ||
	    (ret = rpci_mem_alloc(c->dev, bb, &dB)) < 0 ||
	    (ret = rpci_mem_alloc(c->dev, cb, &dC)) < 0) {
		goto free_dev;
	}
	if ((ret = copy_in(c, dA, A, ab)) < 0 || (ret = copy_in(c, dB, B, bb)) < 0 ||
	    (ret = copy_in(c, dC, C, cb)) < 0) {
		goto free_dev;
	}
	{
		struct rpci_kernel_arg args[] = {
			rpci_arg_ptr(dA), rpci_arg_ptr(dB), rpci_arg_ptr(dC),
			rpci_arg_u64(m), rpci_arg_u64(n), rpci_arg_u64(k),
			rpci_arg_f32(alpha), rpci_arg_f32(beta),
		};

		ret = run_kernel(c, m * n, args, RTE_DIM(args));
	}
	if (ret == 0) {
		ret = copy_out(c, out, dC, cb);
	}
	c->t.total = now_s() - t0;
	if (ret < 0) {
		goto free_dev;
	}

	/* The same computation here: C = alpha * A.B + beta * C, in float. */
	t0 = now_s();
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
			ref[i * n + j] = alpha * acc[j] + beta * C[i * n + j];
		}
	}
	c->t.local = now_s() - t0;
	verdict_init(&c->v);
	for (i = 0; i < m; i++) {
		if (!o->int_data) {
			for (j = 0; j < n; j++) {
				mag[j] = 0.0;
			}
			for (p = 0; p < k; p++) {
				for (j = 0; j < n; j++) {
					mag[j] += fabs((double)A[i * k + p] * B[p * n + j]);
				}
			}
		}
		for (j = 0; j < n; j++) {
			/* Two float sums of k terms may differ by 2k ulps of the magnitudes. */
			double bound = o->int_data ? 0.0 :
				(2.0 * k + 4.0) * FLT_EPSILON *
				(fabs(alpha) * mag[j] + fabs(beta * C[i * n + j]));

			verdict_check(&c->v, i * n + j, out[i * n + j], ref[i * n + j], bound);
		}
	}

free_dev:
	if (dC != 0) {
		rpci_mem_free(c->dev, dC);
	}
	if (dB != 0) {
		rpci_mem_free(c->dev, dB);
	}
	if (dA != 0) {
		rpci_mem_free(c->dev, dA);
	}
free_host:
	free(A);
	free(B);
	free(C);
	free(out);
	free(ref);
	free(acc);
	free(mag);
	return ret;
}

static int
job_reduce(struct job_ctx *c)
{
	const struct run_opts *o = c->o;
	uint64_t n = o->n, bytes = n * 4, i, state = o->seed;
	float *in = malloc(bytes), out = 0.0f, ref;
	uint64_t din = 0, dout = 0;
	double sum = 0.0, mag = 0.0, t0, bound;
	int ret = -ENOMEM;

	if (in == NULL) {
		fprintf(stderr, "rpci-run: no memory for %" PRIu64 " elements\n", n);
		return ret;
	}
	fill(in, n, &state, o->int_data);
	t0 = now_s();
	if ((ret = rpci_mem_alloc(c->dev, bytes, &din)) < 0 ||
	    (ret = rpci_mem_alloc(c->dev, 4, &dout)) < 0) {
		goto free_dev;
	}
	if ((ret = copy_in(c, din, in, bytes)) < 0) {
		goto free_dev;
	}
	{
		struct rpci_kernel_arg args[] = {
			rpci_arg_ptr(din), rpci_arg_ptr(dout), rpci_arg_u64(n),
		};

		ret = run_kernel(c, n, args, RTE_DIM(args));
	}
	if (ret == 0) {
		ret = copy_out(c, &out, dout, 4);
	}
	c->t.total = now_s() - t0;
	if (ret < 0) {
		goto free_dev;
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		sum += in[i];
	}
	ref = (float)sum;
	c->t.local = now_s() - t0;
	for (i = 0; i < n; i++) {
		mag += fabs(in[i]);
	}
	/* Integer data sums exactly in double; floats: summation order and rounding. */
	bound = o->int_data ? 0.0 : FLT_EPSILON * fabs(sum) + 2.0 * n * DBL_EPSILON * mag;
	verdict_init(&c->v);
	verdict_check(&c->v, 0, out, ref, bound);

free_dev:
	if (dout != 0) {
		rpci_mem_free(c->dev, dout);
	}
	if (din != 0) {
		rpci_mem_free(c->dev, din);
	}
	free(in);
	return ret;
}

/* ------------------------------------------------------------ reporting */

static double
gbps(uint64_t bytes, double s)
{
	return s > 0 ? bytes / s / 1e9 : 0.0;
}

static void
print_sizes(const struct run_opts *o, char *buf, size_t len)
{
	if (o->job == JOB_SGEMM) {
		snprintf(buf, len, "m=%llu n=%llu k=%llu", o->m, o->n, o->k);
	} else {
		snprintf(buf, len, "n=%llu", o->n);
	}
}

static int
write_json(const struct run_opts *o, const struct job_ctx *c, const char *status)
{
	cJSON *j = cJSON_CreateObject();
	char *text;
	FILE *f;
	int ret = -1;

	if (j == NULL) {
		return -1;
	}
	cJSON_AddStringToObject(j, "job", g_job_names[o->job]);
	if (o->job == JOB_SGEMM) {
		cJSON_AddNumberToObject(j, "m", (double)o->m);
		cJSON_AddNumberToObject(j, "k", (double)o->k);
	}
	cJSON_AddNumberToObject(j, "n", (double)o->n);
	cJSON_AddNumberToObject(j, "seed", (double)o->seed);
	cJSON_AddStringToObject(j, "data", o->int_data ? "int" : "float");
	cJSON_AddStringToObject(j, "h2d_mode", o->h2d == RPCI_H2D_PULL ? "pull" : "push");
	cJSON_AddNumberToObject(j, "h2d_bytes", (double)c->t.h2d_bytes);
	cJSON_AddNumberToObject(j, "h2d_ms", c->t.h2d * 1e3);
	cJSON_AddNumberToObject(j, "kernel_ms", c->t.kernel * 1e3);
	cJSON_AddNumberToObject(j, "d2h_bytes", (double)c->t.d2h_bytes);
	cJSON_AddNumberToObject(j, "d2h_ms", c->t.d2h * 1e3);
	cJSON_AddNumberToObject(j, "total_ms", c->t.total * 1e3);
	cJSON_AddNumberToObject(j, "local_ms", c->t.local * 1e3);
	cJSON_AddNumberToObject(j, "max_error", c->v.max_err);
	cJSON_AddStringToObject(j, "result", status);
	text = cJSON_PrintUnformatted(j);
	f = fopen(o->json, "a");
	if (text != NULL && f != NULL && fprintf(f, "%s\n", text) > 0) {
		ret = 0;
	}
	if (f != NULL) {
		fclose(f);
	}
	cJSON_free(text);
	cJSON_Delete(j);
	return ret;
}

static void
print_info(struct rpci_device *dev)
{
	struct rpci_device_info info;

	if (rpci_device_info(dev, &info) < 0) {
		fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
		return;
	}
	printf("rpci-run: device on %s: %04x:%04x (subsystem %04x:%04x) class %06x rev %u, "
	       "%s backend on %s, %u compute units, %" PRIu64 " MiB (%" PRIu64 " MiB free), "
	       "function %04x, max payload %u\n",
	       info.server, info.vendor_id, info.device_id, info.subsystem_vendor_id,
	       info.subsystem_id, info.class_code, info.revision, info.backend, info.device_name,
	       info.compute_units, info.memory_bytes >> 20, info.memory_free >> 20,
	       info.completer_id, info.max_payload);
}

static void
print_link_stats(const struct rpci_client *client)
{
	struct rpci_link_stats s;

	rpci_client_link_stats(client, &s);
	printf("rpci-run: link: rx %" PRIu64 " frames (%" PRIu64 " data, %" PRIu64
	       " duplicate, %" PRIu64 " out of order, %" PRIu64 " bad CRC, %" PRIu64
	       " bad header, %" PRIu64 " not ours), tx %" PRIu64 " frames (%" PRIu64 " data, %"
	       PRIu64 " retransmitted), %" PRIu64 " time-outs, NAK %" PRIu64 " sent %" PRIu64
	       " received, %" PRIu64 " malformed messages\n",
	       s.rx_frames, s.rx_data, s.rx_duplicate, s.rx_out_of_order, s.rx_bad_crc,
	       s.rx_bad_header, s.rx_not_ours, s.tx_frames, s.tx_data, s.tx_retransmit,
	       s.timeouts, s.nak_sent, s.nak_rcvd, s.rx_malformed_msg);
}

static int
run_job(struct rpci_device *dev, const struct run_opts *o)
{
	struct job_ctx c;
	struct rpci_module *mod = NULL;
	char sizes[96], log[256];
	int ret;

	memset(&c, 0, sizeof(c));
	c.dev = dev;
	c.o = o;
	ret = rpci_device_set_h2d_mode(dev, o->h2d);
	if (ret == 0) {
		ret = rpci_module_load(dev, RPCI_MODULE_BUILTIN, NULL, 0, &mod, log, sizeof(log));
	}
	if (ret == 0) {
		ret = rpci_function_get(mod, g_kernel_names[o->job], &c.fn);
	}
	if (ret == 0) {
		switch (o->job) {
		case JOB_VECTOR_ADD:
		case JOB_SAXPY:
			ret = job_vector(&c);
			break;
		case JOB_SGEMM:
			ret = job_sgemm(&c);
			break;
		case JOB_REDUCE:
			ret = job_reduce(&c);
			break;
		}
	}
	print_sizes(o, sizes, sizeof(sizes));
	if (ret < 0) {
		fprintf(stderr, "rpci-run: job %s %s failed: %s\n", g_job_names[o->job], sizes,
			rpci_last_error()[0] ? rpci_last_error() : strerror(-ret));
		if (o->json != NULL) {
			write_json(o, &c, "error");
		}
		return 1;
	}
	printf("rpci-run: job %s %s data=%s: h2d %.3f MB in %.3f ms (%.2f GB/s, %s), "
	       "kernel %.3f ms, d2h %.3f MB in %.3f ms (%.2f GB/s), total %.3f ms; "
	       "local CPU %.3f ms\n",
	       g_job_names[o->job], sizes, o->int_data ? "int" : "float", c.t.h2d_bytes / 1e6,
	       c.t.h2d * 1e3, gbps(c.t.h2d_bytes, c.t.h2d),
	       o->h2d == RPCI_H2D_PULL ? "pull" : "push",
	       c.t.kernel * 1e3, c.t.d2h_bytes / 1e6, c.t.d2h * 1e3, gbps(c.t.d2h_bytes, c.t.d2h),
	       c.t.total * 1e3, c.t.local * 1e3);
	printf("rpci-run: max error %g (bound there %g, %s)\n", c.v.max_err, c.v.bound_at_max,
	       o->int_data ? "exact comparison" : "float error bound");
	if (o->json != NULL && write_json(o, &c, c.v.ok ? "verified" : "mismatch") < 0) {
		fprintf(stderr, "rpci-run: cannot write %s\n", o->json);
	}
	if (!c.v.ok) {
		printf("rpci-run: element %" PRIu64 " is %.9g, expected %.9g\n", c.v.bad_index,
		       c.v.got, c.v.want);
		printf("MISMATCH\n");
		return 1;
	}
	printf("verified\n");
	return 0;
}

int
main(int argc, char **argv)
{
	struct app_args args;
	struct run_opts o;
	struct rpci_conf *conf;
	const struct rpci_conf_host *host;
	struct rpci_client *client;
	struct rpci_device *dev;
	int ret = 1;

	app_split_args(argc, argv, &args);
	if (parse_args(args.app_argc, args.app_argv, &o) < 0) {
		return 2;
	}
	conf = app_load_conf("rpci-run", o.config, o.host, RPCI_ROLE_CLIENT, &host);
	if (conf == NULL) {
		return 2;
	}
	if (app_eal_init("rpci-run", host, &args) < 0) {
		rpci_conf_free(conf);
		return 1;
	}
	client = rpci_client_create(conf, o.host);
	if (client == NULL) {
		fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
		goto cleanup;
	}
	dev = rpci_device_open(client, o.server, o.device);
	if (dev == NULL) {
		fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
		goto destroy;
	}
	if (o.info_only) {
		print_info(dev);
		ret = 0;
	} else {
		ret = run_job(dev, &o);
	}
	if (rpci_device_close(dev) < 0 && ret == 0) {
		fprintf(stderr, "rpci-run: close: %s\n", rpci_last_error());
		ret = 1;
	}
	if (o.stats) {
		print_link_stats(client);
	}
destroy:
	rpci_client_destroy(client);
cleanup:
	rte_eal_cleanup();
	rpci_conf_free(conf);
	return ret;
}
