/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-run: run a job on a remote virtual GPU, check it against the same
 * computation done locally, and print the timings.
 *
 *   rpci-run [--proxy SOCKET] --job JOB [sizes] [options]
 *   rpci-run [EAL args --] --config FILE --host NAME --job JOB [sizes] [options]
 *   rpci-run ... --job cl --source FILE --kernel NAME
 *            --global X[,Y[,Z]] [--local X[,Y[,Z]]] --arg SPEC... [--check NAME] [--dump FILE]
 *
 * An ordinary program of the host's rpci-proxy (librpci) by default; with
 * --config and --host it owns the host's port itself, embedding the
 * proxy's core (lib/proxy) as the daemon does.
 *
 * The first form runs a built-in kernel of the backend; the second a user's
 * kernel from a file, of the module kind the job names (g_module_kinds).
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
#include "run.h"
#include "rpci_conf.h"
#include "rpci_proxy.h"

enum job_kind {
	JOB_VECTOR_ADD,
	JOB_SAXPY,
	JOB_SGEMM,
	JOB_REDUCE,
	JOB_USER, /* a user's kernel from a file: --job cl */
};

static const char *const g_job_names[] = {
	[JOB_VECTOR_ADD] = "vector-add",
	[JOB_SAXPY] = "saxpy",
	[JOB_SGEMM] = "sgemm",
	[JOB_REDUCE] = "reduce",
};

/* ------------------------------------------- user kernels (--job cl, ...) */

/*
 * A job that runs a user's kernel from a file: the module kind is a
 * parameter, one table entry per kind rpci-run loads.
 */
struct module_kind_desc {
	const char *job;            /* the --job name */
	enum rpci_module_kind kind; /* what rpci_module_load() gets */
	const char *what;           /* for messages */
};

static const struct module_kind_desc g_module_kinds[] = {
	{ "cl", RPCI_MODULE_OPENCL, "OpenCL C source" },
	{ "ptx", RPCI_MODULE_PTX, "PTX" },
};

/* Element types of buffers and scalars. */
enum elem_class {
	ELEM_UINT,
	ELEM_INT,
	ELEM_FLOAT,
};

struct elem_type {
	const char *name;
	uint16_t size;
	enum elem_class cls;
};

static const struct elem_type g_elem_types[] = {
	{ "u8", 1, ELEM_UINT },   { "i8", 1, ELEM_INT },   { "u16", 2, ELEM_UINT },
	{ "i16", 2, ELEM_INT },   { "u32", 4, ELEM_UINT }, { "i32", 4, ELEM_INT },
	{ "u64", 8, ELEM_UINT },  { "i64", 8, ELEM_INT },  { "f32", 4, ELEM_FLOAT },
	{ "f64", 8, ELEM_FLOAT },
};

/* What one --arg is. */
enum uarg_kind {
	UARG_IN,     /* a buffer copied in */
	UARG_OUT,    /* a buffer of zeros, copied out */
	UARG_INOUT,  /* a buffer copied in and out */
	UARG_SCALAR, /* a value */
	UARG_LOCAL,  /* local memory */
};

/* How an in or inout buffer is filled. */
enum fill_kind {
	FILL_RAND,  /* floats uniform in [-1, 1); integers uniform over the type */
	FILL_SMALL, /* integers -8..8 (0..16 unsigned), as the type */
	FILL_SEQ,   /* element i is i */
	FILL_ZERO,
	FILL_VALUE, /* one value */
};

static const char *const g_fill_names[] = {
	[FILL_RAND] = "rand",
	[FILL_SMALL] = "small",
	[FILL_SEQ] = "seq",
	[FILL_ZERO] = "zero",
};

struct uarg {
	enum uarg_kind kind;
	const struct elem_type *type; /* buffers and scalars */
	uint64_t count;               /* buffer elements */
	enum fill_kind fill;
	uint64_t bits;   /* scalar or fill value: the element's bytes, little-endian */
	uint32_t local;  /* local memory bytes */
	const char *spec;
	/* while the job runs */
	uint8_t *init;   /* what the buffer held before the kernel (zeros for out) */
	uint8_t *result; /* what it held after (out, inout) */
	uint64_t dptr;
};

#define RUN_DEVICES_MAX 16 /* --devices */
#define UARGS_MAX 32 /* arguments of one launch (RPCI_KERNEL_ARGS_MAX) */
#define USER_LOG_LEN 16384 /* a build log (the device keeps as much) */

struct user_job;
struct job_ctx;

/* --check NAME: a known kernel's CPU reference. */
struct check_desc {
	const char *name;
	const char *usage; /* its arguments, for the usage error */
	/* whether the arguments fit it: 0 or -1 */
	int (*validate)(const struct user_job *u);
	/* compute the reference (timed into c->t.local), compare, into c->v */
	void (*verify)(struct job_ctx *c);
};

/* A user's kernel job (in struct run_opts). */
struct user_job {
	const struct module_kind_desc *mkind;
	const char *source;
	const char *kernel;
	uint64_t global[3], local[3];
	uint32_t grid[3], block[3];
	bool have_global, have_local;
	struct uarg args[UARGS_MAX];
	unsigned int nb_args;
	const struct check_desc *check;
	const char *dump;
	char *image; /* the file's contents */
	size_t image_len;
};

struct run_opts {
	const char *config;
	const char *host;
	const char *proxy;
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
	bool reset;              /* --reset: a function-level reset first (with --info) */
	bool stats;
	struct user_job user; /* JOB_USER */
	struct run_files files;  /* --load-file ... (no job then) */
	const char *send_to;     /* --send HOST TEXT */
	const char *send_text;
	bool recv;               /* --recv */
	double recv_wait_s;      /* --wait S */
	/* the selector */
	unsigned int nb_devices;       /* --devices (0: not given) */
	struct rpci_requirements req;  /* what the devices must have */
	bool have_req;                 /* a requirement was given */
	/* the deployment has a selector: devices come from it, told the job */
	bool with_selector;
};

/* Timings of one run, in seconds. */
struct run_times {
	double build; /* module load (user kernels) */
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
	printf("usage: %s [--proxy SOCKET] --job JOB [sizes] [options]\n"
	       "       %s [EAL args --] --config FILE --host NAME --job JOB [sizes] [options]\n"
	       "  --proxy SOCKET      the host's rpci-proxy (default: $RPCI_PROXY, else\n"
	       "                      " RPCI_PROXY_DEFAULT_SOCKET ")\n"
	       "  --config FILE --host NAME   own the port of client host NAME instead (the\n"
	       "                      proxy's core in this process; no rpci-proxy there)\n"
	       "  --job vector-add|saxpy|sgemm|reduce   a built-in kernel of the backend\n"
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
	       "  --reset             reset the device first (function-level reset), then --info\n"
	       "  --stats             print the link's counters at the end\n"
	       "Files in and out of device memory (no --job):\n"
	       "  --load-file F       load file F of this host (streamed over the link)\n"
	       "  --load-server NAME  load file NAME of the server's file directory (read there)\n"
	       "  --save-file F       then save that device memory to file F of this host\n"
	       "  --save-server NAME  ... or to NAME in the server's directory (--replace: an\n"
	       "                      existing file may be replaced)\n"
	       "Texts between client hosts, through the selector (no --job):\n"
	       "  --send HOST TEXT    send TEXT to client host HOST\n"
	       "  --recv              wait for a text (--wait S seconds, default 10) and print it\n"
	       "Devices from the server selector (a deployment with a selector section):\n"
	       "  --devices N         N devices (1..16); a built-in job is split across them\n"
	       "                      (vectors by range, sgemm by rows) and gathered\n"
	       "  --min-memory SIZE   each with at least SIZE bytes of free memory\n"
	       "  --backend NAME      of that compute backend (cpu, opencl, cuda)\n"
	       "  --vendor ID --class CODE   of that personality\n"
	       "  --need-kernel NAME  that has this built-in kernel\n"
	       "  --need-module KIND  that loads modules of this kind (cl, ptx)\n"
	       "  --no-failover       if a device's server goes down, fail instead of moving\n"
	       "                      the work to another device\n"
	       "A user's kernel from a file (--seed, --h2d, --json, --stats apply too):\n"
	       "  --job cl            the file is OpenCL C source\n"
	       "  --job ptx           the file is NVIDIA PTX (a server with the cuda backend)\n"
	       "  --source FILE --kernel NAME   the file, and the kernel in it\n"
	       "  --global X[,Y[,Z]]  work items in all, per dimension\n"
	       "  --local X[,Y[,Z]]   work items per work group (each divides the global size;\n"
	       "                      default: the largest power of two dividing it, up to 256\n"
	       "                      in 1-D, 16 in 2-D, 8 in 3-D)\n"
	       "  --arg SPEC          the kernel's arguments in order, one --arg each:\n"
	       "      in:T:COUNT[:FILL]     a buffer of COUNT elements of type T, filled,\n"
	       "                            copied in\n"
	       "      inout:T:COUNT[:FILL]  the same, copied out at the end too\n"
	       "      out:T:COUNT           a buffer of zeros, copied out at the end\n"
	       "      T:VALUE               a scalar (i32:-5, u64:0x10, f32:2.5)\n"
	       "      local:BYTES           local memory\n"
	       "    T: u8 i8 u16 i16 u32 i32 u64 i64 f32 f64; COUNT: N or NxM or NxMxK;\n"
	       "    FILL: rand (default; floats in [-1, 1), integers over the type), small\n"
	       "    (integers -8..8, 0..16 unsigned), seq (element i is i), zero, or a value\n"
	       "  --check saxpy|sgemm|histogram|scan   verify the outputs against the CPU\n"
	       "                      reference of that kernel of test/kernels\n"
	       "  --dump FILE         write the out and inout buffers to FILE, raw, in order\n"
	       "Sizes take K, M, G suffixes. Exit: 0 verified (a user's kernel without --check:\n"
	       "ran, prints done), 1 mismatch or error, 2 bad usage.\n",
	       prog, prog);
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

/* ---------------------------------------------- user kernels: arguments */

/* The --job names of the module kinds, for messages ("cl", "cl, ptx"). */
static const char *
module_job_names(void)
{
	static char names[64];
	size_t used = 0, i;
	int n;

	if (names[0] != '\0') {
		return names;
	}
	for (i = 0; i < RTE_DIM(g_module_kinds); i++) {
		n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
			     g_module_kinds[i].job);
		if (n < 0 || (size_t)n >= sizeof(names) - used) {
			break;
		}
		used += (size_t)n;
	}
	return names;
}

static const struct check_desc *check_find(const char *name);
static const char *check_names(void);

static const struct elem_type *
elem_type_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < RTE_DIM(g_elem_types); i++) {
		if (strlen(g_elem_types[i].name) == len &&
		    strncmp(g_elem_types[i].name, name, len) == 0) {
			return &g_elem_types[i];
		}
	}
	return NULL;
}

/* A value of type t into its bytes (little-endian, in the low bytes of *bits). */
static int
parse_value(const struct elem_type *t, const char *s, uint64_t *bits)
{
	unsigned int shift = 64 - 8 * t->size;
	char *end;

	if (*s == '\0') {
		return -EINVAL;
	}
	errno = 0;
	if (t->cls == ELEM_FLOAT) {
		double d = strtod(s, &end);

		if (errno != 0 || *end != '\0') {
			return -EINVAL;
		}
		if (t->size == 4) {
			float f = (float)d;
			uint32_t u;

			memcpy(&u, &f, sizeof(u));
			*bits = u;
		} else {
			memcpy(bits, &d, sizeof(*bits));
		}
		return 0;
	}
	if (t->cls == ELEM_INT) {
		long long v = strtoll(s, &end, 0);
		long long max = (long long)(UINT64_MAX >> (shift + 1));

		if (errno != 0 || *end != '\0' || v > max || v < -max - 1) {
			return -EINVAL;
		}
		*bits = (uint64_t)v & (UINT64_MAX >> shift);
		return 0;
	}
	{
		unsigned long long v;

		if (*s == '-') {
			return -EINVAL;
		}
		v = strtoull(s, &end, 0);
		if (errno != 0 || *end != '\0' || v > (UINT64_MAX >> shift)) {
			return -EINVAL;
		}
		*bits = v;
	}
	return 0;
}

/*
 * N or NxM or NxMxK (each with a K/M/G suffix), their product at least 1
 * and at most 2^40 elements. A factor may be hex: 0x10x4 is 16 x 4.
 */
static int
parse_count(const char *s, uint64_t *count)
{
	unsigned long long v, total = 1;
	char factor[32];
	const char *p = s, *x;
	int n = 0;

	for (;;) {
		x = p + ((p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 2 : 0);
		x = strpbrk(x, "xX");
		if (x == NULL) {
			x = p + strlen(p);
		}
		if (x == p || (size_t)(x - p) >= sizeof(factor) || ++n > 3) {
			return -EINVAL;
		}
		memcpy(factor, p, (size_t)(x - p));
		factor[x - p] = '\0';
		if (app_parse_u64(factor, &v) < 0 || v == 0 || v > (1ull << 40) ||
		    total > (1ull << 40) / v) {
			return -EINVAL;
		}
		total *= v;
		if (*x == '\0') {
			break;
		}
		p = x + 1;
	}
	*count = total;
	return 0;
}

/* X[,Y[,Z]], each at least 1 and below 2^32; missing dimensions are 1. */
static int
parse_dims(const char *s, uint64_t dims[3])
{
	unsigned long long v;
	char part[32];
	const char *p = s, *comma;
	int i;

	dims[0] = dims[1] = dims[2] = 1;
	for (i = 0; i < 3; i++) {
		comma = strchr(p, ',');
		if (comma == NULL) {
			comma = p + strlen(p);
		}
		if (comma == p || (size_t)(comma - p) >= sizeof(part)) {
			return -EINVAL;
		}
		memcpy(part, p, (size_t)(comma - p));
		part[comma - p] = '\0';
		if (app_parse_u64(part, &v) < 0 || v == 0 || v > UINT32_MAX) {
			return -EINVAL;
		}
		dims[i] = v;
		if (*comma == '\0') {
			return 0;
		}
		p = comma + 1;
	}
	return -EINVAL;
}

/* One --arg SPEC (see usage()); prints the one line of a usage error. */
static int
parse_uarg(const char *spec, struct uarg *a)
{
	const char *f[4] = { NULL, NULL, NULL, NULL };
	size_t len[4] = { 0, 0, 0, 0 };
	char buf[64];
	const char *p = spec, *colon = NULL;
	unsigned long long v;
	unsigned int nb = 0, i;

	memset(a, 0, sizeof(*a));
	a->spec = spec;
	while (nb < 4) {
		colon = strchr(p, ':');
		f[nb] = p;
		len[nb] = colon != NULL ? (size_t)(colon - p) : strlen(p);
		nb++;
		if (colon == NULL) {
			break;
		}
		p = colon + 1;
	}
	if (colon != NULL || nb < 2) {
		goto bad;
	}
	/* the last field runs to the end of the spec */
	if (len[0] == 5 && strncmp(f[0], "local", 5) == 0) {
		if (nb != 2 || app_parse_u64(f[1], &v) < 0 || v == 0 || v > UINT16_MAX) {
			fprintf(stderr, "rpci-run: --arg '%s': local memory is 1..65535 bytes\n",
				spec);
			return -1;
		}
		a->kind = UARG_LOCAL;
		a->local = (uint32_t)v;
		return 0;
	}
	if ((len[0] == 2 && strncmp(f[0], "in", 2) == 0) ||
	    (len[0] == 3 && strncmp(f[0], "out", 3) == 0) ||
	    (len[0] == 5 && strncmp(f[0], "inout", 5) == 0)) {
		a->kind = len[0] == 2 ? UARG_IN : len[0] == 3 ? UARG_OUT : UARG_INOUT;
		if (nb < 3 || (a->kind == UARG_OUT && nb != 3)) {
			goto bad;
		}
		a->type = elem_type_find(f[1], len[1]);
		if (a->type == NULL || len[2] >= sizeof(buf)) {
			goto bad;
		}
		memcpy(buf, f[2], len[2]);
		buf[len[2]] = '\0';
		if (parse_count(buf, &a->count) < 0) {
			fprintf(stderr, "rpci-run: --arg '%s': '%s' is not a count (N, NxM or "
				"NxMxK, at least 1)\n", spec, buf);
			return -1;
		}
		if (a->count > (1ull << 40) / a->type->size) {
			goto bad;
		}
		a->fill = a->kind == UARG_OUT ? FILL_ZERO : FILL_RAND;
		if (nb == 4) {
			for (i = 0; i < RTE_DIM(g_fill_names); i++) {
				if (strcmp(f[3], g_fill_names[i]) == 0) {
					break;
				}
			}
			if (i < RTE_DIM(g_fill_names)) {
				a->fill = (enum fill_kind)i;
			} else if (parse_value(a->type, f[3], &a->bits) == 0) {
				a->fill = FILL_VALUE;
			} else {
				fprintf(stderr, "rpci-run: --arg '%s': fill '%s' is not rand, "
					"small, seq, zero or a %s value\n", spec, f[3],
					a->type->name);
				return -1;
			}
		}
		return 0;
	}
	a->type = elem_type_find(f[0], len[0]);
	if (a->type != NULL && nb == 2) {
		a->kind = UARG_SCALAR;
		if (parse_value(a->type, f[1], &a->bits) < 0) {
			fprintf(stderr, "rpci-run: --arg '%s': '%s' is not a %s value\n", spec,
				f[1], a->type->name);
			return -1;
		}
		return 0;
	}
bad:
	fprintf(stderr, "rpci-run: --arg '%s' is not in:T:COUNT[:FILL], inout:T:COUNT[:FILL], "
		"out:T:COUNT, T:VALUE or local:BYTES (see --help)\n", spec);
	return -1;
}

/* Largest power of two that divides x, at most max. */
static uint64_t
pow2_divisor(uint64_t x, uint64_t max)
{
	uint64_t d = 1;

	while (d * 2 <= max && x % (d * 2) == 0) {
		d *= 2;
	}
	return d;
}

/* What a user job needs, once every option is read; one line and -1 if wrong. */
static int
user_job_validate(struct run_opts *o)
{
	struct user_job *u = &o->user;
	unsigned int dims = 1, i;
	uint64_t cap;

	if (o->have_n || o->have_m || o->have_k || o->int_data) {
		fprintf(stderr, "rpci-run: --n, --m, --k and --data are for the built-in jobs\n");
		return -1;
	}
	if (u->source == NULL || u->kernel == NULL || !u->have_global) {
		fprintf(stderr, "rpci-run: --job %s needs --source FILE, --kernel NAME and "
			"--global X[,Y[,Z]]\n", u->mkind->job);
		return -1;
	}
	if (strlen(u->kernel) > 63) {
		fprintf(stderr, "rpci-run: --kernel: a name is at most 63 characters\n");
		return -1;
	}
	for (i = 1; i < 3; i++) {
		if (u->global[i] > 1 || (u->have_local && u->local[i] > 1)) {
			dims = i + 1;
		}
	}
	for (i = 0; i < 3; i++) {
		if (!u->have_local) {
			cap = dims == 1 ? 256 : dims == 2 ? 16 : 8;
			u->local[i] = pow2_divisor(u->global[i], cap);
		}
		if (u->global[i] % u->local[i] != 0) {
			fprintf(stderr, "rpci-run: --global %" PRIu64 " is not a multiple of "
				"--local %" PRIu64 " (dimension %u)\n", u->global[i], u->local[i],
				i);
			return -1;
		}
		u->grid[i] = (uint32_t)(u->global[i] / u->local[i]);
		u->block[i] = (uint32_t)u->local[i];
	}
	if (u->check != NULL && u->check->validate(u) < 0) {
		fprintf(stderr, "rpci-run: --check %s needs the arguments %s\n", u->check->name,
			u->check->usage);
		return -1;
	}
	return 0;
}

/* The source of a user job, whole; -1 with one line if it cannot be read. */
static int
user_job_read_source(struct user_job *u)
{
	const long max = 64l << 20;
	FILE *f = fopen(u->source, "rb");
	long size = -1;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0) {
		size = ftell(f);
	}
	if (f == NULL || size < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "rpci-run: --source %s: %s\n", u->source, strerror(errno));
		goto close;
	}
	if (size == 0 || size > max) {
		fprintf(stderr, "rpci-run: --source %s: %s\n", u->source,
			size == 0 ? "the file is empty" : "larger than 64 MiB");
		goto close;
	}
	u->image = malloc((size_t)size + 1);
	if (u->image == NULL || fread(u->image, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "rpci-run: --source %s: cannot read it\n", u->source);
		free(u->image);
		u->image = NULL;
		goto close;
	}
	u->image[size] = '\0';
	u->image_len = (size_t)size;
	fclose(f);
	return 0;
close:
	if (f != NULL) {
		fclose(f);
	}
	return -1;
}

/* --devices and the requirements of the selector's devices. 0 or -1. */
static int
parse_requirement(int opt, const char *arg, struct run_opts *o)
{
	struct rpci_requirements *r = &o->req;
	unsigned long long v;
	unsigned int i;

	if (opt == 'F') {
		r->no_failover = true;
		o->have_req = true;
		return 0;
	}
	if (opt == 'B' || opt == 'E') {
		char *dst = opt == 'B' ? r->backend : r->kernel;

		if (strlen(arg) == 0 || strlen(arg) >= sizeof(r->backend)) {
			fprintf(stderr, "rpci-run: --%s takes a name of 1..%zu characters\n",
				opt == 'B' ? "backend" : "need-kernel", sizeof(r->backend) - 1);
			return -1;
		}
		snprintf(dst, sizeof(r->backend), "%s", arg);
		o->have_req = true;
		return 0;
	}
	if (opt == 'O') {
		for (i = 0; i < RTE_DIM(g_module_kinds); i++) {
			if (strcmp(arg, g_module_kinds[i].job) == 0) {
				r->module_kinds |= 1u << g_module_kinds[i].kind;
				o->have_req = true;
				return 0;
			}
		}
		fprintf(stderr, "rpci-run: --need-module takes %s\n", module_job_names());
		return -1;
	}
	if (app_parse_u64(arg, &v) < 0) {
		fprintf(stderr, "rpci-run: '%s' is not a number\n", arg);
		return -1;
	}
	switch (opt) {
	case 'N':
		if (v < 1 || v > RUN_DEVICES_MAX) {
			fprintf(stderr, "rpci-run: --devices takes 1..%d\n", RUN_DEVICES_MAX);
			return -1;
		}
		o->nb_devices = (unsigned int)v;
		return 0;
	case 'M':
		r->min_memory = v;
		break;
	case 'V':
		if (v > 0xffff) {
			fprintf(stderr, "rpci-run: --vendor takes a 16-bit id\n");
			return -1;
		}
		r->vendor_id = (uint16_t)v;
		break;
	default: /* 'L' */
		if (v > 0xffffff) {
			fprintf(stderr, "rpci-run: --class takes a 24-bit class code\n");
			return -1;
		}
		r->class_code = (uint32_t)v;
		break;
	}
	o->have_req = true;
	return 0;
}

/* Options without a short letter. */
enum {
	OPT_LOAD_FILE = 0x100,
	OPT_LOAD_SERVER,
	OPT_SAVE_FILE,
	OPT_SAVE_SERVER,
	OPT_REPLACE,
	OPT_SEND,
	OPT_RECV,
	OPT_WAIT,
	OPT_RESET,
};

/* The options of files and messages: 0, 1 (not one of them), -1 (bad). */
static int
parse_extra(int opt, int argc, char **argv, struct run_opts *o)
{
	char *end;

	switch (opt) {
	case OPT_LOAD_FILE:
		o->files.load_file = optarg;
		return 0;
	case OPT_LOAD_SERVER:
		o->files.load_server = optarg;
		return 0;
	case OPT_SAVE_FILE:
		o->files.save_file = optarg;
		return 0;
	case OPT_SAVE_SERVER:
		o->files.save_server = optarg;
		return 0;
	case OPT_REPLACE:
		o->files.replace = true;
		return 0;
	case OPT_SEND:
		if (optind >= argc) {
			fprintf(stderr, "rpci-run: --send HOST TEXT: no text\n");
			return -1;
		}
		o->send_to = optarg;
		o->send_text = argv[optind++];
		return 0;
	case OPT_RECV:
		o->recv = true;
		return 0;
	case OPT_RESET:
		o->reset = true;
		o->info_only = true;
		return 0;
	case OPT_WAIT:
		o->recv_wait_s = strtod(optarg, &end);
		if (*end != '\0' || !(o->recv_wait_s > 0 && o->recv_wait_s <= 3600)) {
			fprintf(stderr, "rpci-run: --wait '%s' is not a number of seconds "
				"(0..3600)\n", optarg);
			return -1;
		}
		return 0;
	default:
		return 1;
	}
}

/* The modes that are not a job: files, messages. 0, or -1 (said why). */
static int
check_extra(const struct run_opts *o)
{
	const struct run_files *f = &o->files;
	bool files = run_files_given(f), msg = o->send_to != NULL || o->recv;

	if (!files && !msg) {
		return 0;
	}
	if (o->have_job || o->info_only || (files && msg) || (o->send_to != NULL && o->recv)) {
		fprintf(stderr, "rpci-run: a job, --info, the file options, --send and --recv "
			"go one at a time\n");
		return -1;
	}
	if (files && ((f->load_file != NULL) == (f->load_server != NULL))) {
		fprintf(stderr, "rpci-run: one of --load-file and --load-server is needed\n");
		return -1;
	}
	if (files && f->replace && f->save_server == NULL) {
		fprintf(stderr, "rpci-run: --replace is for --save-server\n");
		return -1;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' },
		{ "proxy", required_argument, NULL, 'X' },
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
		{ "source", required_argument, NULL, 'f' },
		{ "kernel", required_argument, NULL, 'K' },
		{ "global", required_argument, NULL, 'g' },
		{ "local", required_argument, NULL, 'l' },
		{ "arg", required_argument, NULL, 'a' },
		{ "check", required_argument, NULL, 'C' },
		{ "dump", required_argument, NULL, 'U' },
		{ "devices", required_argument, NULL, 'N' },
		{ "min-memory", required_argument, NULL, 'M' },
		{ "backend", required_argument, NULL, 'B' },
		{ "vendor", required_argument, NULL, 'V' },
		{ "class", required_argument, NULL, 'L' },
		{ "need-kernel", required_argument, NULL, 'E' },
		{ "need-module", required_argument, NULL, 'O' },
		{ "no-failover", no_argument, NULL, 'F' },
		{ "load-file", required_argument, NULL, OPT_LOAD_FILE },
		{ "load-server", required_argument, NULL, OPT_LOAD_SERVER },
		{ "save-file", required_argument, NULL, OPT_SAVE_FILE },
		{ "save-server", required_argument, NULL, OPT_SAVE_SERVER },
		{ "replace", no_argument, NULL, OPT_REPLACE },
		{ "send", required_argument, NULL, OPT_SEND },
		{ "recv", no_argument, NULL, OPT_RECV },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "reset", no_argument, NULL, OPT_RESET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct user_job *u = &o->user;
	bool user_opts = false;
	unsigned long long v;
	unsigned int i;
	int opt, ret;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->recv_wait_s = 10.0;
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
		case 'X':
			o->proxy = optarg;
			break;
		case 'j':
			for (i = 0; i < RTE_DIM(g_job_names); i++) {
				if (strcmp(optarg, g_job_names[i]) == 0) {
					break;
				}
			}
			if (i < RTE_DIM(g_job_names)) {
				o->job = (enum job_kind)i;
				o->have_job = true;
				break;
			}
			for (i = 0; i < RTE_DIM(g_module_kinds); i++) {
				if (strcmp(optarg, g_module_kinds[i].job) == 0) {
					break;
				}
			}
			if (i == RTE_DIM(g_module_kinds)) {
				fprintf(stderr, "rpci-run: unknown job '%s' (vector-add, saxpy, "
					"sgemm, reduce, %s)\n", optarg, module_job_names());
				return -1;
			}
			o->job = JOB_USER;
			u->mkind = &g_module_kinds[i];
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
		case 'f':
			u->source = optarg;
			user_opts = true;
			break;
		case 'K':
			u->kernel = optarg;
			user_opts = true;
			break;
		case 'g':
		case 'l':
			if (parse_dims(optarg, opt == 'g' ? u->global : u->local) < 0) {
				fprintf(stderr, "rpci-run: --%s '%s' is not X[,Y[,Z]] "
					"(each 1..2^32-1)\n", opt == 'g' ? "global" : "local",
					optarg);
				return -1;
			}
			if (opt == 'g') {
				u->have_global = true;
			} else {
				u->have_local = true;
			}
			user_opts = true;
			break;
		case 'a':
			if (u->nb_args == UARGS_MAX) {
				fprintf(stderr, "rpci-run: at most %u --arg\n", UARGS_MAX);
				return -1;
			}
			if (parse_uarg(optarg, &u->args[u->nb_args]) < 0) {
				return -1;
			}
			u->nb_args++;
			user_opts = true;
			break;
		case 'C':
			u->check = check_find(optarg);
			if (u->check == NULL) {
				fprintf(stderr, "rpci-run: unknown --check '%s' (%s)\n", optarg,
					check_names());
				return -1;
			}
			user_opts = true;
			break;
		case 'U':
			u->dump = optarg;
			user_opts = true;
			break;
		case 'N':
		case 'M':
		case 'B':
		case 'V':
		case 'L':
		case 'E':
		case 'O':
		case 'F':
			if (parse_requirement(opt, optarg, o) < 0) {
				return -1;
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			ret = parse_extra(opt, argc, argv, o);
			if (ret < 0) {
				return -1;
			}
			if (ret > 0) {
				fprintf(stderr, "rpci-run: unknown or incomplete option '%s' "
					"(see --help)\n", argv[optind - 1]);
				return -1;
			}
			break;
		}
	}
	if (app_check_args("rpci-run", argc, argv, o->proxy, o->config, o->host) < 0) {
		return -1;
	}
	if ((o->nb_devices != 0 || o->have_req) && (o->server != NULL || o->device != NULL)) {
		fprintf(stderr, "rpci-run: --server and --device name a device; --devices and "
			"the requirements ask the selector for one\n");
		return -1;
	}
	if (check_extra(o) < 0) {
		return -1;
	}
	if (o->info_only || run_files_given(&o->files) || o->send_to != NULL || o->recv) {
		return 0;
	}
	if (!o->have_job) {
		fprintf(stderr, "rpci-run: --job is required (vector-add, saxpy, sgemm, reduce, "
			"%s)\n", module_job_names());
		return -1;
	}
	if (o->job == JOB_USER) {
		if (o->nb_devices > 1) {
			fprintf(stderr, "rpci-run: --devices N splits the built-in jobs only\n");
			return -1;
		}
		return user_job_validate(o);
	}
	if (user_opts) {
		fprintf(stderr, "rpci-run: --source, --kernel, --global, --local, --arg, --check "
			"and --dump are for --job %s\n", module_job_names());
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
	struct rpci_device *dev;            /* the device (a user's kernel: the only one) */
	struct rpci_device **devs;          /* built-in jobs: all of them */
	unsigned int nb_devs;
	struct rpci_split_part parts[RUN_DEVICES_MAX];
	struct rpci_function *fn;
	const struct run_opts *o;
	struct user_job *u; /* JOB_USER */
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

/*
 * A built-in job: its data and the reference result are made before any
 * device is opened (a long local computation must not leave a session
 * silent past the link's dead time or the selector's lease), then the
 * devices run it (rpci_split_run(): shares of the vectors or of the rows of
 * A and C, one per device), then the result is checked.
 */
struct builtin_job {
	struct rpci_split_job sj;
	float *a, *b, *c, *out, *ref;
	double *bound;     /* sgemm: the error bound of each element (float data) */
	double sum, mag;   /* reduce: the exact sum and sum of magnitudes */
	uint64_t out_count;
	double local_s;    /* the reference's time */
};

static void
builtin_free(struct builtin_job *bj)
{
	free(bj->a);
	free(bj->b);
	free(bj->c);
	free(bj->out);
	free(bj->ref);
	free(bj->bound);
	memset(bj, 0, sizeof(*bj));
}

static void
ref_vector(const struct run_opts *o, struct builtin_job *bj)
{
	uint64_t i, n = o->n;

	for (i = 0; i < n; i++) {
		bj->ref[i] = o->job == JOB_SAXPY ? bj->sj.alpha * bj->a[i] + bj->b[i] :
			bj->a[i] + bj->b[i];
	}
}

/* C = alpha * A.B + beta * C in float, and (float data) each element's bound. */
static int
ref_sgemm(const struct run_opts *o, struct builtin_job *bj)
{
	uint64_t m = o->m, n = o->n, k = o->k, i, j, p;
	float alpha = bj->sj.alpha, beta = bj->sj.beta;
	float *acc = malloc(n * sizeof(float));
	double *mag = malloc(n * sizeof(double));

	if (acc == NULL || mag == NULL) {
		free(acc);
		free(mag);
		return -ENOMEM;
	}
	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			acc[j] = 0.0f;
			mag[j] = 0.0;
		}
		for (p = 0; p < k; p++) {
			float a = bj->a[i * k + p];

			for (j = 0; j < n; j++) {
				acc[j] += a * bj->b[p * n + j];
			}
		}
		for (j = 0; j < n; j++) {
			bj->ref[i * n + j] = alpha * acc[j] + beta * bj->c[i * n + j];
		}
		if (o->int_data) {
			continue; /* compared exactly */
		}
		for (p = 0; p < k; p++) {
			for (j = 0; j < n; j++) {
				mag[j] += fabs((double)bj->a[i * k + p] * bj->b[p * n + j]);
			}
		}
		for (j = 0; j < n; j++) {
			/* Two float sums of k terms may differ by 2k ulps of the magnitudes. */
			bj->bound[i * n + j] = (2.0 * k + 4.0) * FLT_EPSILON *
				(fabs(alpha) * mag[j] + fabs(beta * bj->c[i * n + j]));
		}
	}
	free(acc);
	free(mag);
	return 0;
}

/* Make the job's data and its reference result. 0 or -ENOMEM (message printed). */
static int
builtin_prepare(const struct run_opts *o, struct builtin_job *bj)
{
	uint64_t n = o->n, m = o->m, k = o->k, state = o->seed, i;
	double t0;
	int ret = 0;

	memset(bj, 0, sizeof(*bj));
	bj->sj.n = n;
	switch (o->job) {
	case JOB_SGEMM:
		bj->sj.kernel = RPCI_SPLIT_SGEMM;
		bj->sj.m = m;
		bj->sj.k = k;
		bj->sj.alpha = o->int_data ? 1.0f : 1.25f;
		bj->sj.beta = o->int_data ? 2.0f : 0.5f;
		bj->out_count = m * n;
		bj->a = malloc(m * k * sizeof(float));
		bj->b = malloc(k * n * sizeof(float));
		bj->c = malloc(m * n * sizeof(float));
		bj->bound = o->int_data ? NULL : malloc(m * n * sizeof(double));
		break;
	case JOB_REDUCE:
		bj->sj.kernel = RPCI_SPLIT_REDUCE;
		bj->out_count = 1;
		bj->a = malloc(n * sizeof(float));
		break;
	default:
		bj->sj.kernel = o->job == JOB_SAXPY ? RPCI_SPLIT_SAXPY : RPCI_SPLIT_VECTOR_ADD;
		bj->sj.alpha = o->int_data ? 3.0f : 1.7f;
		bj->out_count = n;
		bj->a = malloc(n * sizeof(float));
		bj->b = malloc(n * sizeof(float));
		break;
	}
	bj->out = malloc(bj->out_count * sizeof(float));
	bj->ref = malloc(bj->out_count * sizeof(float));
	if (bj->a == NULL || bj->out == NULL || bj->ref == NULL ||
	    (o->job != JOB_REDUCE && bj->b == NULL) ||
	    (o->job == JOB_SGEMM && (bj->c == NULL || (!o->int_data && bj->bound == NULL)))) {
		fprintf(stderr, "rpci-run: no memory for the job's data\n");
		builtin_free(bj);
		return -ENOMEM;
	}
	/* The same data, in the same order, as rpci-run always made for a seed. */
	if (o->job == JOB_SGEMM) {
		fill(bj->a, m * k, &state, o->int_data);
		fill(bj->b, k * n, &state, o->int_data);
		fill(bj->c, m * n, &state, o->int_data);
	} else {
		fill(bj->a, n, &state, o->int_data);
		if (bj->b != NULL) {
			fill(bj->b, n, &state, o->int_data);
		}
	}
	/* Results land in memory already in use, as in a program that reuses buffers. */
	memset(bj->out, 0, bj->out_count * sizeof(float));
	memset(bj->ref, 0, bj->out_count * sizeof(float));
	bj->sj.a = bj->a;
	bj->sj.b = bj->b;
	bj->sj.c = bj->c;
	bj->sj.out = bj->out;

	t0 = now_s();
	switch (o->job) {
	case JOB_SGEMM:
		ret = ref_sgemm(o, bj);
		break;
	case JOB_REDUCE:
		for (i = 0; i < n; i++) {
			bj->sum += bj->a[i];
			bj->mag += fabs(bj->a[i]);
		}
		bj->ref[0] = (float)bj->sum;
		break;
	default:
		ref_vector(o, bj);
		break;
	}
	bj->local_s = now_s() - t0;
	if (ret < 0) {
		fprintf(stderr, "rpci-run: no memory for the reference computation\n");
		builtin_free(bj);
	}
	return ret;
}

/* Compare the devices' result with the reference. */
static void
builtin_verify(const struct run_opts *o, const struct builtin_job *bj, unsigned int nb_devs,
	       struct verdict *v)
{
	uint64_t i;
	double bound;

	verdict_init(v);
	switch (o->job) {
	case JOB_SGEMM:
		for (i = 0; i < bj->out_count; i++) {
			verdict_check(v, i, bj->out[i], bj->ref[i],
				      o->int_data ? 0.0 : bj->bound[i]);
		}
		break;
	case JOB_REDUCE:
		/*
		 * Integer data sums exactly; floats: summation order and rounding,
		 * and with several devices the rounding of each partial sum.
		 */
		bound = o->int_data ? 0.0 : FLT_EPSILON * fabs(bj->sum) +
			2.0 * o->n * DBL_EPSILON * bj->mag +
			(nb_devs > 1 ? FLT_EPSILON * bj->mag : 0.0);
		verdict_check(v, 0, bj->out[0], bj->ref[0], bound);
		break;
	default:
		for (i = 0; i < bj->out_count; i++) {
			bound = o->int_data ? 0.0 : 2.0 * FLT_EPSILON *
				(fabs(o->job == JOB_SAXPY ? bj->sj.alpha * bj->a[i] : bj->a[i]) +
				 fabs(bj->b[i]));
			verdict_check(v, i, bj->out[i], bj->ref[i], bound);
		}
		break;
	}
}

/* Run the job on the devices; times and verdict in c. */
static int
builtin_run(struct job_ctx *c, struct builtin_job *bj)
{
	const struct run_opts *o = c->o;
	unsigned int i, used = 0;
	double t0;
	int ret = 0;

	for (i = 0; i < c->nb_devs && ret == 0; i++) {
		ret = rpci_device_set_h2d_mode(c->devs[i], o->h2d);
	}
	if (ret < 0) {
		return ret;
	}
	t0 = now_s();
	ret = rpci_split_run(c->devs, c->nb_devs, &bj->sj, c->parts);
	c->t.total = now_s() - t0;
	c->t.local = bj->local_s;
	for (i = 0; i < c->nb_devs; i++) {
		c->t.h2d += c->parts[i].h2d_s;
		c->t.kernel += c->parts[i].wait_s;
		c->t.d2h += c->parts[i].d2h_s;
		used += c->parts[i].count != 0;
	}
	switch (o->job) {
	case JOB_SGEMM:
		c->t.h2d_bytes = (o->m * o->k + used * o->k * o->n + o->m * o->n) * 4;
		c->t.d2h_bytes = o->m * o->n * 4;
		break;
	case JOB_REDUCE:
		c->t.h2d_bytes = o->n * 4;
		c->t.d2h_bytes = used * 4;
		break;
	default:
		c->t.h2d_bytes = 2 * o->n * 4;
		c->t.d2h_bytes = o->n * 4;
		break;
	}
	if (ret == 0) {
		builtin_verify(o, bj, used, &c->v);
	}
	return ret;
}

/* --------------------------------------------------- user kernels: the job */

/* Element i of a buffer of size-byte elements: its bytes, little-endian. */
static void
elem_put(uint8_t *buf, uint64_t i, uint16_t size, uint64_t bits)
{
	uint16_t b;

	for (b = 0; b < size; b++) {
		buf[i * size + b] = (uint8_t)(bits >> (8 * b));
	}
}

static uint64_t
elem_get(const uint8_t *buf, uint64_t i, uint16_t size)
{
	uint64_t bits = 0;
	uint16_t b;

	for (b = 0; b < size; b++) {
		bits |= (uint64_t)buf[i * size + b] << (8 * b);
	}
	return bits;
}

static float
f32_of(uint64_t bits)
{
	uint32_t u = (uint32_t)bits;
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* The bits of a float type's value. */
static uint64_t
float_bits(const struct elem_type *t, double d)
{
	uint64_t bits;
	uint32_t u;
	float f;

	if (t->size == 4) {
		f = (float)d;
		memcpy(&u, &f, sizeof(u));
		return u;
	}
	memcpy(&bits, &d, sizeof(bits));
	return bits;
}

static void
uarg_fill(struct uarg *a, uint64_t *state)
{
	const struct elem_type *t = a->type;
	bool fl = t->cls == ELEM_FLOAT;
	uint64_t i, bits = 0, r;
	int64_t small;

	for (i = 0; i < a->count; i++) {
		switch (a->fill) {
		case FILL_RAND:
			r = rng_next(state);
			bits = fl ? float_bits(t, (double)(r >> 11) * (1.0 / 9007199254740992.0) *
					       2.0 - 1.0) : r;
			break;
		case FILL_SMALL:
			r = rng_next(state) % 17;
			small = t->cls == ELEM_UINT ? (int64_t)r : (int64_t)r - 8;
			bits = fl ? float_bits(t, (double)small) : (uint64_t)small;
			break;
		case FILL_SEQ:
			bits = fl ? float_bits(t, (double)i) : i;
			break;
		case FILL_ZERO:
			bits = 0;
			break;
		case FILL_VALUE:
			bits = a->bits;
			break;
		}
		elem_put(a->init, i, t->size, bits);
	}
}

static bool
uarg_is_buffer(const struct uarg *a)
{
	return a->kind == UARG_IN || a->kind == UARG_OUT || a->kind == UARG_INOUT;
}

static uint64_t
uarg_bytes(const struct uarg *a)
{
	return uarg_is_buffer(a) ? a->count * a->type->size : 0;
}

/* Host buffers of every buffer argument, filled; -ENOMEM. */
static int
user_host_alloc(struct user_job *u, uint64_t seed)
{
	uint64_t state = seed, bytes;
	unsigned int i;

	for (i = 0; i < u->nb_args; i++) {
		struct uarg *a = &u->args[i];

		if (!uarg_is_buffer(a)) {
			continue;
		}
		bytes = uarg_bytes(a);
		a->init = calloc(1, bytes);
		if (a->kind != UARG_IN) {
			a->result = malloc(bytes);
		}
		if (a->init == NULL || (a->kind != UARG_IN && a->result == NULL)) {
			fprintf(stderr, "rpci-run: no memory for --arg %s (%" PRIu64 " bytes)\n",
				a->spec, bytes);
			return -ENOMEM;
		}
		uarg_fill(a, &state);
	}
	return 0;
}

static void
user_host_free(struct user_job *u)
{
	unsigned int i;

	for (i = 0; i < u->nb_args; i++) {
		free(u->args[i].init);
		free(u->args[i].result);
		u->args[i].init = NULL;
		u->args[i].result = NULL;
	}
}

/* The out and inout buffers, raw, in argument order. */
static int
user_dump(const struct user_job *u)
{
	FILE *f = fopen(u->dump, "wb");
	unsigned int i;
	int ret = 0;

	if (f == NULL) {
		fprintf(stderr, "rpci-run: --dump %s: %s\n", u->dump, strerror(errno));
		return -errno;
	}
	for (i = 0; i < u->nb_args && ret == 0; i++) {
		const struct uarg *a = &u->args[i];

		if (a->result != NULL && fwrite(a->result, 1, uarg_bytes(a), f) != uarg_bytes(a)) {
			ret = -EIO;
		}
	}
	if (fclose(f) != 0 || ret < 0) {
		fprintf(stderr, "rpci-run: --dump %s: cannot write it\n", u->dump);
		return -EIO;
	}
	return 0;
}

static int
job_user(struct job_ctx *c)
{
	struct user_job *u = c->u;
	struct rpci_kernel_arg kargs[UARGS_MAX];
	bool allocated[UARGS_MAX] = { false };
	unsigned int i;
	double t0;
	int ret;

	ret = user_host_alloc(u, c->o->seed);
	if (ret < 0) {
		goto free_host;
	}

	t0 = now_s();
	for (i = 0; i < u->nb_args; i++) {
		struct uarg *a = &u->args[i];

		switch (a->kind) {
		case UARG_IN:
		case UARG_OUT:
		case UARG_INOUT:
			ret = rpci_mem_alloc(c->dev, uarg_bytes(a), &a->dptr);
			if (ret < 0) {
				goto free_dev;
			}
			allocated[i] = true;
			ret = a->kind == UARG_OUT ? rpci_memset(c->dev, a->dptr, 0, uarg_bytes(a)) :
				copy_in(c, a->dptr, a->init, uarg_bytes(a));
			if (ret < 0) {
				goto free_dev;
			}
			kargs[i] = rpci_arg_ptr(a->dptr);
			break;
		case UARG_SCALAR:
			kargs[i].kind = RPCI_ARG_SCALAR;
			kargs[i].size = a->type->size;
			kargs[i].value = a->bits;
			break;
		case UARG_LOCAL:
			kargs[i] = rpci_arg_local((uint16_t)a->local);
			break;
		}
	}
	{
		double tk = now_s();

		ret = rpci_launch(c->fn, u->grid, u->block, kargs, u->nb_args);
		if (ret == 0) {
			ret = rpci_synchronize(c->dev);
		}
		c->t.kernel = now_s() - tk;
	}
	for (i = 0; ret == 0 && i < u->nb_args; i++) {
		if (u->args[i].result != NULL) {
			ret = copy_out(c, u->args[i].result, u->args[i].dptr,
				       uarg_bytes(&u->args[i]));
		}
	}
	c->t.total = now_s() - t0;
	if (ret == 0 && u->dump != NULL) {
		ret = user_dump(u);
	}
	if (ret == 0 && u->check != NULL) {
		verdict_init(&c->v);
		u->check->verify(c); /* times its reference into c->t.local */
	}

free_dev:
	while (i-- > 0) {
		if (allocated[i]) {
			rpci_mem_free(c->dev, u->args[i].dptr);
		}
	}
free_host:
	user_host_free(u);
	return ret;
}

/* ------------------------------------------ user kernels: known kernels */

/*
 * --check NAME: the CPU reference of a kernel of test/kernels. Arguments are
 * matched by position, local memory aside; a count is an integer scalar of
 * 4 or 8 bytes.
 */
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
check_saxpy_verify(struct job_ctx *c)
{
	const struct uarg *v[UARGS_MAX];
	uint64_t n, i;
	float alpha, x, y0, got;
	double want, bound, t0;

	check_args(c->u, v);
	alpha = f32_of(v[0]->bits);
	n = v[3]->bits;
	t0 = now_s();
	for (i = 0; i < v[2]->count; i++) {
		y0 = f32_of(elem_get(v[2]->init, i, 4));
		got = f32_of(elem_get(v[2]->result, i, 4));
		if (i >= n) {
			verdict_check(&c->v, i, got, y0, 0.0); /* past n: untouched */
			continue;
		}
		x = f32_of(elem_get(v[1]->init, i, 4));
		want = (double)alpha * x + y0;
		bound = small_integral(alpha) && small_integral(x) && small_integral(y0) ? 0.0 :
			2.0 * FLT_EPSILON * (fabs((double)alpha * x) + fabs(y0));
		verdict_check(&c->v, i, got, want, bound);
	}
	c->t.local = now_s() - t0;
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
check_sgemm_verify(struct job_ctx *c)
{
	const struct uarg *v[UARGS_MAX];
	uint64_t m, n, k, i, j, p;
	float alpha, beta, *A, *B, *C0, *out, *ref, *acc;
	double *mag, cterm, bound;
	bool integral;
	double t0;

	check_args(c->u, v);
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
		c->v.ok = false;
		goto free;
	}

	/* The same computation here, as the built-in sgemm job does it, in float. */
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
			/* with beta 0 the kernel does not read C (as in BLAS) */
			ref[i * n + j] = beta == 0.0f ? alpha * acc[j] :
				alpha * acc[j] + beta * C0[i * n + j];
		}
	}
	c->t.local = now_s() - t0;

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
			verdict_check(&c->v, i * n + j, out[i * n + j], ref[i * n + j], bound);
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
check_histogram_verify(struct job_ctx *c)
{
	const struct uarg *v[UARGS_MAX];
	uint32_t want[256];
	uint64_t n, i;
	double t0;

	check_args(c->u, v);
	n = v[1]->bits;
	t0 = now_s();
	for (i = 0; i < 256; i++) {
		want[i] = (uint32_t)elem_get(v[2]->init, i, 4);
	}
	for (i = 0; i < n; i++) {
		want[v[0]->init[i]]++;
	}
	c->t.local = now_s() - t0;
	for (i = 0; i < v[2]->count; i++) {
		verdict_check(&c->v, i, (double)elem_get(v[2]->result, i, 4),
			      i < 256 ? want[i] : (double)elem_get(v[2]->init, i, 4), 0.0);
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
check_scan_verify(struct job_ctx *c)
{
	const struct uarg *v[UARGS_MAX];
	uint64_t n, i;
	uint32_t acc = 0;
	double t0;

	check_args(c->u, v);
	n = v[2]->bits;
	t0 = now_s();
	for (i = 0; i < v[1]->count; i++) {
		uint32_t got = (uint32_t)elem_get(v[1]->result, i, 4);

		if (i < n) {
			verdict_check(&c->v, i, got, acc, 0.0);
			acc += (uint32_t)elem_get(v[0]->init, i, 4); /* wraps, as on the device */
		} else {
			verdict_check(&c->v, i, got, (double)elem_get(v[1]->init, i, 4), 0.0);
		}
	}
	c->t.local = now_s() - t0;
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

static const struct check_desc *
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

static const char *
check_names(void)
{
	return "saxpy, sgemm, histogram, scan";
}

/* ------------------------------------------------------------ reporting */

static double
gbps(uint64_t bytes, double s)
{
	return s > 0 ? bytes / s / 1e9 : 0.0;
}

/* The job's name: a built-in's, or the module kind's (cl). */
static const char *
job_name(const struct run_opts *o)
{
	return o->job == JOB_USER ? o->user.mkind->job : g_job_names[o->job];
}

/* X, X,Y or X,Y,Z: as many dimensions as the highest one above 1. */
static void
print_dims(const uint64_t d[3], char *buf, size_t len)
{
	if (d[2] > 1) {
		snprintf(buf, len, "%" PRIu64 ",%" PRIu64 ",%" PRIu64, d[0], d[1], d[2]);
	} else if (d[1] > 1) {
		snprintf(buf, len, "%" PRIu64 ",%" PRIu64, d[0], d[1]);
	} else {
		snprintf(buf, len, "%" PRIu64, d[0]);
	}
}

static void
print_sizes(const struct run_opts *o, char *buf, size_t len)
{
	if (o->job == JOB_USER) {
		char g[64], l[64];

		print_dims(o->user.global, g, sizeof(g));
		print_dims(o->user.local, l, sizeof(l));
		snprintf(buf, len, "%s global=%s local=%s", o->user.kernel, g, l);
	} else if (o->job == JOB_SGEMM) {
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
	cJSON_AddStringToObject(j, "job", job_name(o));
	if (o->job == JOB_USER) {
		char dims[64];

		cJSON_AddStringToObject(j, "source", o->user.source);
		cJSON_AddStringToObject(j, "kernel", o->user.kernel);
		print_dims(o->user.global, dims, sizeof(dims));
		cJSON_AddStringToObject(j, "global", dims);
		print_dims(o->user.local, dims, sizeof(dims));
		cJSON_AddStringToObject(j, "local", dims);
		cJSON_AddStringToObject(j, "check",
					o->user.check != NULL ? o->user.check->name : "none");
		cJSON_AddNumberToObject(j, "build_ms", c->t.build * 1e3);
	} else {
		if (o->job == JOB_SGEMM) {
			cJSON_AddNumberToObject(j, "m", (double)o->m);
			cJSON_AddNumberToObject(j, "k", (double)o->k);
		}
		cJSON_AddNumberToObject(j, "n", (double)o->n);
	}
	cJSON_AddNumberToObject(j, "seed", (double)o->seed);
	cJSON_AddNumberToObject(j, "devices", c->nb_devs != 0 ? c->nb_devs : 1);
	if (o->job != JOB_USER) {
		cJSON_AddStringToObject(j, "data", o->int_data ? "int" : "float");
	}
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
print_link_stats(struct rpci_client *client)
{
	struct rpci_client_link_stats s;

	if (rpci_client_link_stats(client, &s) < 0) {
		fprintf(stderr, "rpci-run: link counters: %s\n", rpci_last_error());
		return;
	}
	printf("rpci-run: link: rx %" PRIu64 " frames (%" PRIu64 " bad CRC, %" PRIu64
	       " malformed, %" PRIu64 " dropped), tx %" PRIu64 " frames (%" PRIu64
	       " retransmitted)\n", s.rx_frames, s.rx_bad_crc, s.rx_malformed, s.rx_dropped,
	       s.tx_frames, s.retransmits);
}

/* Print a build log, line by line, to stderr. */
static void
print_log(const char *log)
{
	const char *line = log, *nl;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (nl == NULL) {
			fprintf(stderr, "  %s\n", line);
			break;
		}
		fprintf(stderr, "  %.*s\n", (int)(nl - line), line);
		line = nl + 1;
	}
}

/* A user's kernel: build the file on the device, run the kernel, check it if asked. */
static int
run_user_job(struct rpci_device *dev, struct run_opts *o)
{
	struct user_job *u = &o->user;
	struct rpci_module *mod = NULL;
	struct job_ctx c;
	char sizes[192];
	char *log;
	double t0;
	int ret;

	memset(&c, 0, sizeof(c));
	c.dev = dev;
	c.o = o;
	c.u = u;
	print_sizes(o, sizes, sizeof(sizes));
	log = calloc(1, USER_LOG_LEN);
	if (log == NULL) {
		fprintf(stderr, "rpci-run: no memory\n");
		return 1;
	}
	ret = rpci_device_set_h2d_mode(dev, o->h2d);
	if (ret == 0) {
		t0 = now_s();
		ret = rpci_module_load(dev, u->mkind->kind, u->image, u->image_len, &mod, log,
				       USER_LOG_LEN);
		c.t.build = now_s() - t0;
		if (ret < 0 && log[0] != '\0') {
			fprintf(stderr, "rpci-run: %s %s does not load (%s); the device's log:\n",
				u->mkind->what, u->source, strerror(-ret));
			print_log(log);
		} else if (ret < 0) {
			fprintf(stderr, "rpci-run: %s %s does not load: %s\n", u->mkind->what,
				u->source, rpci_last_error()[0] ? rpci_last_error() :
				strerror(-ret));
		} else if (log[0] != '\0') {
			fprintf(stderr, "rpci-run: build log of %s:\n", u->source);
			print_log(log);
		}
	}
	if (ret == 0) {
		ret = rpci_function_get(mod, u->kernel, &c.fn);
		if (ret == -ENOENT) {
			fprintf(stderr, "rpci-run: no kernel '%s' in %s\n", u->kernel, u->source);
		}
	}
	if (ret == 0) {
		ret = job_user(&c);
		if (ret < 0) {
			fprintf(stderr, "rpci-run: job %s %s failed: %s\n", job_name(o), sizes,
				rpci_last_error()[0] ? rpci_last_error() : strerror(-ret));
		}
	}
	free(log);
	if (ret < 0) {
		if (o->json != NULL) {
			write_json(o, &c, "error");
		}
		return 1;
	}
	printf("rpci-run: job %s %s: build %.3f ms, h2d %.3f MB in %.3f ms (%.2f GB/s, %s), "
	       "kernel %.3f ms, d2h %.3f MB in %.3f ms (%.2f GB/s), total %.3f ms",
	       job_name(o), sizes, c.t.build * 1e3, c.t.h2d_bytes / 1e6, c.t.h2d * 1e3,
	       gbps(c.t.h2d_bytes, c.t.h2d), o->h2d == RPCI_H2D_PULL ? "pull" : "push",
	       c.t.kernel * 1e3, c.t.d2h_bytes / 1e6, c.t.d2h * 1e3, gbps(c.t.d2h_bytes, c.t.d2h),
	       c.t.total * 1e3);
	if (u->check == NULL) {
		printf("\n");
		if (o->json != NULL && write_json(o, &c, "done") < 0) {
			fprintf(stderr, "rpci-run: cannot write %s\n", o->json);
		}
		printf("done\n");
		return 0;
	}
	printf("; local CPU %.3f ms\n", c.t.local * 1e3);
	printf("rpci-run: --check %s: max error %g (bound there %g)\n", u->check->name,
	       c.v.max_err, c.v.bound_at_max);
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

static int
run_job(struct rpci_device **devs, unsigned int nb_devs, struct run_opts *o,
	struct builtin_job *bj, struct job_ctx *cp)
{
	struct job_ctx c;
	char sizes[96];
	int ret;

	if (o->job == JOB_USER) {
		double t0 = now_s();

		ret = run_user_job(devs[0], o);
		cp->t.total = now_s() - t0;
		return ret;
	}
	memset(&c, 0, sizeof(c));
	c.dev = devs[0];
	c.devs = devs;
	c.nb_devs = nb_devs;
	c.o = o;
	ret = builtin_run(&c, bj);
	*cp = c;
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

/* The job's size in its own measure, for the selector's learned policy. */
static uint64_t
job_size(const struct run_opts *o, uint64_t share)
{
	if (o->job == JOB_SGEMM) {
		return share * o->n * o->k; /* multiply-adds */
	}
	if (o->job == JOB_USER) {
		return o->user.global[0] * RTE_MAX(o->user.global[1], 1ULL) *
			RTE_MAX(o->user.global[2], 1ULL);
	}
	return share;
}

/* The devices: from the selector by requirements, or the one named. */
static int
devices_get(struct rpci_client *client, struct run_opts *o, struct rpci_device **devs,
	    unsigned int *nb_devs)
{
	struct rpci_requirements req = o->req;
	unsigned int i;
	int ret;

	if (o->nb_devices == 0 && !o->have_req && (!o->with_selector || o->server != NULL)) {
		*nb_devs = 1;
		devs[0] = rpci_device_open(client, o->server, o->device);
		if (devs[0] == NULL) {
			fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
			return -1;
		}
	} else {
		*nb_devs = RTE_MAX(o->nb_devices, 1u);
		if (o->have_job) {
			snprintf(req.job, sizeof(req.job), "%s", job_name(o));
			req.job_size = job_size(o, o->job == JOB_SGEMM ? o->m : o->n);
		}
		ret = rpci_device_request(client, &req, *nb_devs, devs);
		if (ret < 0) {
			fprintf(stderr, "rpci-run: no device: %s\n",
				rpci_last_error()[0] ? rpci_last_error() : strerror(-ret));
			return -1;
		}
	}
	for (i = 0; i < *nb_devs; i++) {
		struct rpci_device_info info;

		if (rpci_device_lease(devs[i]) != 0 && rpci_device_info(devs[i], &info) == 0) {
			printf("rpci-run: device %u of %u: %s on %s, %" PRIu64 " MiB, lease %"
			       PRIu64 "\n", i + 1, *nb_devs, info.backend, info.server,
			       info.memory_bytes >> 20, rpci_device_lease(devs[i]));
		}
	}
	return 0;
}

/* After the job: tell the selector each device's time, and what moved. */
static void
devices_report(const struct run_opts *o, const struct job_ctx *c, struct rpci_device **devs,
	       unsigned int nb_devs)
{
	unsigned int i;

	for (i = 0; i < nb_devs; i++) {
		const struct rpci_split_part *p = &c->parts[i];
		struct rpci_device_stats st;
		double s = p->h2d_s + p->wait_s + p->d2h_s;

		if (o->job == JOB_USER) {
			s = c->t.total;
		}
		if (nb_devs > 1) {
			printf("rpci-run: share %u: %s %" PRIu64 "..%" PRIu64 ": h2d %.3f ms, "
			       "kernel wait %.3f ms, d2h %.3f ms\n", i + 1,
			       o->job == JOB_SGEMM ? "rows" : "elements", p->first,
			       p->first + p->count, p->h2d_s * 1e3, p->wait_s * 1e3,
			       p->d2h_s * 1e3);
		}
		if (rpci_device_lease(devs[i]) != 0 && s > 0.0) {
			rpci_device_report(devs[i], job_name(o),
					   job_size(o, o->job == JOB_USER ? 0 : p->count),
					   (uint64_t)(s * 1e6));
		}
		rpci_device_stats(devs[i], &st);
		if (st.resets != 0) {
			printf("rpci-run: device %u was reset %" PRIu64 " time%s (function-level "
			       "reset) and brought up again\n", i + 1, st.resets,
			       st.resets == 1 ? "" : "s");
		}
		if (st.failovers != 0) {
			printf("rpci-run: device %u moved to another server %" PRIu64 " time%s "
			       "(%" PRIu64 " commands replayed there)\n", i + 1, st.failovers,
			       st.failovers == 1 ? "" : "s", st.replayed);
		}
	}
}

int
main(int argc, char **argv)
{
	struct app_args args;
	struct run_opts o;
	struct rpci_conf *conf = NULL;
	const struct rpci_conf_host *host;
	struct rpci_proxy *core = NULL;
	struct rpci_client *client;
	struct rpci_device *devs[RUN_DEVICES_MAX];
	struct builtin_job bj;
	struct job_ctx c;
	unsigned int nb_devs = 0, i;
	char err[RPCI_CONF_ERR_MAX];
	int ret = 1;

	memset(&bj, 0, sizeof(bj));
	memset(&c, 0, sizeof(c));
	app_split_args(argc, argv, &args);
	if (parse_args(args.app_argc, args.app_argv, &o) < 0) {
		return 2;
	}
	if (o.job == JOB_USER && o.have_job && !o.info_only &&
	    user_job_read_source(&o.user) < 0) {
		return 2;
	}
	if (o.config != NULL) {
		conf = app_load_conf("rpci-run", o.config, o.host, RPCI_ROLE_CLIENT, &host);
		if (conf == NULL) {
			free(o.user.image);
			return 2;
		}
		if (app_eal_init("rpci-run", host, &args) < 0) {
			rpci_conf_free(conf);
			free(o.user.image);
			return 1;
		}
	} else if (args.eal_argc > 0) {
		fprintf(stderr, "rpci-run: EAL arguments are for --config and --host (a program of "
			"the proxy runs no EAL)\n");
		free(o.user.image);
		return 2;
	}
	if (o.have_job && o.job != JOB_USER && builtin_prepare(&o, &bj) < 0) {
		goto cleanup;
	}
	if (conf != NULL) {
		core = rpci_proxy_create(conf, o.host, err, sizeof(err));
		if (core == NULL) {
			fprintf(stderr, "rpci-run: %s\n", err);
			goto cleanup;
		}
		client = rpci_proxy_client_create(core, "rpci-run");
	} else {
		client = rpci_client_create(o.proxy);
	}
	if (client == NULL) {
		fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
		goto cleanup;
	}
	o.with_selector = rpci_client_has_selector(client);
	if (o.send_to != NULL || o.recv) {
		/* Texts between clients: no device. */
		ret = o.recv ? run_recv(client, o.recv_wait_s) :
			       run_send(client, o.send_to, o.send_text);
		goto destroy;
	}
	if (devices_get(client, &o, devs, &nb_devs) < 0) {
		goto destroy;
	}
	if (run_files_given(&o.files)) {
		ret = run_files(devs[0], &o.files);
	} else if (o.info_only) {
		ret = 0;
		for (i = 0; i < nb_devs; i++) {
			if (o.reset && rpci_device_reset(devs[i]) < 0) {
				fprintf(stderr, "rpci-run: reset: %s\n", rpci_last_error());
				ret = 1;
				continue;
			}
			if (o.reset) {
				printf("rpci-run: device %u reset (function-level reset) and up "
				       "again\n", i + 1);
			}
			print_info(devs[i]);
		}
	} else {
		ret = run_job(devs, nb_devs, &o, &bj, &c);
		devices_report(&o, &c, devs, nb_devs);
	}
	for (i = 0; i < nb_devs; i++) {
		if (rpci_device_close(devs[i]) < 0 && ret == 0) {
			fprintf(stderr, "rpci-run: close: %s\n", rpci_last_error());
			ret = 1;
		}
	}
	if (o.stats) {
		print_link_stats(client);
	}
destroy:
	rpci_client_destroy(client);
cleanup:
	builtin_free(&bj);
	if (conf != NULL) {
		rpci_proxy_destroy(core);
		rte_eal_cleanup();
		rpci_conf_free(conf);
	}
	free(o.user.image);
	return ret;
}
