/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-run --job cl|ptx: a user's kernel from a file. The typed argument
 * language of --arg (usage() in main.c describes it), the geometry, and
 * the run: the file built on the device, each buffer filled from the seed
 * and copied in, the kernel launched, the outputs copied out, dumped and
 * checked (user_check.c) as asked.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>

#include "app_common.h"
#include "user_job.h"

#define USER_LOG_LEN 16384 /* a build log (the device keeps as much) */

static const struct module_kind_desc g_module_kinds[] = {
	{ "cl", RPCI_MODULE_OPENCL, "OpenCL C source" },
	{ "ptx", RPCI_MODULE_PTX, "PTX" },
};

static const struct elem_type g_elem_types[] = {
	{ "u8", 1, ELEM_UINT },   { "i8", 1, ELEM_INT },   { "u16", 2, ELEM_UINT },
	{ "i16", 2, ELEM_INT },   { "u32", 4, ELEM_UINT }, { "i32", 4, ELEM_INT },
	{ "u64", 8, ELEM_UINT },  { "i64", 8, ELEM_INT },  { "f32", 4, ELEM_FLOAT },
	{ "f64", 8, ELEM_FLOAT },
};

static const char *const g_fill_names[] = {
	[FILL_RAND] = "rand",
	[FILL_SMALL] = "small",
	[FILL_SEQ] = "seq",
	[FILL_ZERO] = "zero",
};

double
run_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------- arguments */

const struct module_kind_desc *
user_module_kind_find(const char *job)
{
	size_t i;

	for (i = 0; i < RTE_DIM(g_module_kinds); i++) {
		if (strcmp(job, g_module_kinds[i].job) == 0) {
			return &g_module_kinds[i];
		}
	}
	return NULL;
}

/* The --job names of the module kinds, for messages ("cl", "cl, ptx"). */
const char *
user_module_kind_names(void)
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

int
user_job_option(struct user_job *u, int opt, const char *arg)
{
	switch (opt) {
	case USER_OPT_SOURCE:
		u->source = arg;
		break;
	case USER_OPT_KERNEL:
		u->kernel = arg;
		break;
	case USER_OPT_GLOBAL:
	case USER_OPT_LOCAL:
		if (parse_dims(arg, opt == USER_OPT_GLOBAL ? u->global : u->local) < 0) {
			fprintf(stderr, "rpci-run: --%s '%s' is not X[,Y[,Z]] (each 1..2^32-1)\n",
				opt == USER_OPT_GLOBAL ? "global" : "local", arg);
			return -1;
		}
		if (opt == USER_OPT_GLOBAL) {
			u->have_global = true;
		} else {
			u->have_local = true;
		}
		break;
	case USER_OPT_ARG:
		if (u->nb_args == UARGS_MAX) {
			fprintf(stderr, "rpci-run: at most %u --arg\n", UARGS_MAX);
			return -1;
		}
		if (parse_uarg(arg, &u->args[u->nb_args]) < 0) {
			return -1;
		}
		u->nb_args++;
		break;
	case USER_OPT_CHECK:
		u->check = check_find(arg);
		if (u->check == NULL) {
			fprintf(stderr, "rpci-run: unknown --check '%s' (%s)\n", arg,
				check_names());
			return -1;
		}
		break;
	case USER_OPT_DUMP:
		u->dump = arg;
		break;
	default:
		return 1;
	}
	u->options_given = true;
	return 0;
}

/* What a user job needs, once every option is read; one line and -1 if wrong. */
int
user_job_validate(struct user_job *u)
{
	unsigned int dims = 1, i;
	uint64_t cap;

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
int
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
void
user_job_free(struct user_job *u)
{
	free(u->image);
	u->image = NULL;
	u->image_len = 0;
}

void
user_job_dims(const uint64_t d[3], char *buf, size_t len)
{
	if (d[2] > 1) {
		snprintf(buf, len, "%" PRIu64 ",%" PRIu64 ",%" PRIu64, d[0], d[1], d[2]);
	} else if (d[1] > 1) {
		snprintf(buf, len, "%" PRIu64 ",%" PRIu64, d[0], d[1]);
	} else {
		snprintf(buf, len, "%" PRIu64, d[0]);
	}
}


/* ---------------------------------------------------------------- the job */

/* Timings of the job's copies go into t. */
struct user_run {
	struct rpci_device *dev;
	struct rpci_function *fn;
	struct user_job *u;
	struct run_times *t;
};

static int
copy_in(struct user_run *c, uint64_t d, const void *h, uint64_t bytes)
{
	double t0 = run_now_s();
	int ret = rpci_memcpy_htod(c->dev, d, h, bytes);

	c->t->h2d += run_now_s() - t0;
	c->t->h2d_bytes += bytes;
	return ret;
}

static int
copy_out(struct user_run *c, void *h, uint64_t d, uint64_t bytes)
{
	double t0 = run_now_s();
	int ret = rpci_memcpy_dtoh(c->dev, h, d, bytes);

	c->t->d2h += run_now_s() - t0;
	c->t->d2h_bytes += bytes;
	return ret;
}

/* Element i of a buffer of size-byte elements: its bytes, little-endian. */
static void
elem_put(uint8_t *buf, uint64_t i, uint16_t size, uint64_t bits)
{
	uint16_t b;

	for (b = 0; b < size; b++) {
		buf[i * size + b] = (uint8_t)(bits >> (8 * b));
	}
}

uint64_t
elem_get(const uint8_t *buf, uint64_t i, uint16_t size)
{
	uint64_t bits = 0;
	uint16_t b;

	for (b = 0; b < size; b++) {
		bits |= (uint64_t)buf[i * size + b] << (8 * b);
	}
	return bits;
}

float
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
			r = rpci_job_random(state);
			bits = fl ? float_bits(t, rpci_job_random_signed(r)) : r;
			break;
		case FILL_SMALL:
			r = rpci_job_random(state) % 17;
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

bool
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
job_user(struct user_run *c, uint64_t seed, struct rpci_job_verdict *v)
{
	struct user_job *u = c->u;
	struct rpci_kernel_arg kargs[UARGS_MAX];
	bool allocated[UARGS_MAX] = { false };
	unsigned int i, j;
	double t0;
	int ret;

	ret = user_host_alloc(u, seed);
	if (ret < 0) {
		goto free_host;
	}

	t0 = run_now_s();
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
		double tk = run_now_s();

		ret = rpci_launch(c->fn, u->grid, u->block, kargs, u->nb_args);
		if (ret == 0) {
			ret = rpci_synchronize(c->dev);
		}
		c->t->kernel = run_now_s() - tk;
	}
	for (j = 0; ret == 0 && j < u->nb_args; j++) {
		if (u->args[j].result != NULL) {
			ret = copy_out(c, u->args[j].result, u->args[j].dptr,
				       uarg_bytes(&u->args[j]));
		}
	}
	c->t->total = run_now_s() - t0;
	if (ret == 0 && u->dump != NULL) {
		ret = user_dump(u);
	}
	if (ret == 0 && u->check != NULL) {
		rpci_job_verdict_init(v);
		u->check->verify(u, v, &c->t->local);
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

int
user_job_run(struct rpci_device *dev, struct user_job *u, uint64_t seed,
	     enum rpci_h2d_mode h2d, struct run_times *t, struct rpci_job_verdict *v)
{
	struct user_run c = { .dev = dev, .u = u, .t = t };
	struct rpci_module *mod = NULL;
	char g[64], l[64];
	char *log;
	double t0;
	int ret;

	log = calloc(1, USER_LOG_LEN);
	if (log == NULL) {
		fprintf(stderr, "rpci-run: no memory\n");
		return -ENOMEM;
	}
	ret = rpci_device_set_h2d_mode(dev, h2d);
	if (ret == 0) {
		t0 = run_now_s();
		ret = rpci_module_load(dev, u->mkind->kind, u->image, u->image_len, &mod, log,
				       USER_LOG_LEN);
		t->build = run_now_s() - t0;
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
	free(log);
	if (ret == 0) {
		ret = rpci_function_get(mod, u->kernel, &c.fn);
		if (ret == -ENOENT) {
			fprintf(stderr, "rpci-run: no kernel '%s' in %s\n", u->kernel, u->source);
		}
	}
	if (ret == 0) {
		ret = job_user(&c, seed, v);
		if (ret < 0) {
			user_job_dims(u->global, g, sizeof(g));
			user_job_dims(u->local, l, sizeof(l));
			fprintf(stderr, "rpci-run: job %s %s global=%s local=%s failed: %s\n",
				u->mkind->job, u->kernel, g, l,
				rpci_last_error()[0] ? rpci_last_error() : strerror(-ret));
		}
	}
	return ret;
}
