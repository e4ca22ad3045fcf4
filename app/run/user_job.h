/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_RUN_USER_JOB_H
#define RPCI_APP_RUN_USER_JOB_H

/*
 * rpci-run's jobs of a user's kernel from a file (--job cl, --job ptx):
 * the typed argument language of --arg (element types, counts, fills),
 * the geometry (--global, --local), running the kernel on a device, and
 * the CPU references of the known kernels of test/kernels (--check,
 * user_check.c). Private to app/run.
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpci_client.h"
#include "rpci_jobs.h"
#include "run.h"

#define UARGS_MAX 32 /* arguments of one launch (RPCI_KERNEL_ARGS_MAX) */

/* The module kind of a --job: one table entry per kind rpci-run loads. */
struct module_kind_desc {
	const char *job;            /* the --job name */
	enum rpci_module_kind kind; /* what rpci_module_load() gets */
	const char *what;           /* for messages */
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

struct user_job;

/* --check NAME: a known kernel's CPU reference (user_check.c). */
struct check_desc {
	const char *name;
	const char *usage; /* its arguments, for the usage error */
	/* whether the arguments fit it: 0 or -1 */
	int (*validate)(const struct user_job *u);
	/* compute the reference (its time into *local_s) and compare, into v */
	void (*verify)(const struct user_job *u, struct rpci_job_verdict *v, double *local_s);
};

/* A user's kernel job. */
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
	bool options_given; /* any of the options below */
	char *image; /* the file's contents */
	size_t image_len;
};

/* The options of a user's kernel, for a getopt table (values above 0x200). */
enum {
	USER_OPT_SOURCE = 0x200,
	USER_OPT_KERNEL,
	USER_OPT_GLOBAL,
	USER_OPT_LOCAL,
	USER_OPT_ARG,
	USER_OPT_CHECK,
	USER_OPT_DUMP,
};

#define USER_JOB_LONG_OPTIONS \
	{ "source", required_argument, NULL, USER_OPT_SOURCE }, \
	{ "kernel", required_argument, NULL, USER_OPT_KERNEL }, \
	{ "global", required_argument, NULL, USER_OPT_GLOBAL }, \
	{ "local", required_argument, NULL, USER_OPT_LOCAL }, \
	{ "arg", required_argument, NULL, USER_OPT_ARG }, \
	{ "check", required_argument, NULL, USER_OPT_CHECK }, \
	{ "dump", required_argument, NULL, USER_OPT_DUMP }

/* The module kind of a --job name, or NULL. */
const struct module_kind_desc *user_module_kind_find(const char *job);

/* The --job names of the module kinds, for messages ("cl, ptx"). */
const char *user_module_kind_names(void);

/* One option of USER_JOB_LONG_OPTIONS: 0, -1 (said why), 1 (not one of them). */
int user_job_option(struct user_job *u, int opt, const char *arg);

/* Once every option is read: what the job needs, the local size; 0, or -1 (said why). */
int user_job_validate(struct user_job *u);

/* The source file, whole, into u->image; 0, or -1 (said why). */
int user_job_read_source(struct user_job *u);

/* Free what the job holds (its image). */
void user_job_free(struct user_job *u);

/* X, X,Y or X,Y,Z: as many dimensions as the highest one above 1. */
void user_job_dims(const uint64_t d[3], char *buf, size_t len);

/*
 * Build the file on the device, run the kernel with its arguments (buffers
 * filled from seed), dump and check the outputs if asked. Fills t (build,
 * copies, kernel, total; local when checked) and v. 0, or a negative errno
 * with the reason printed (a build log, a missing kernel, a failed call).
 */
int user_job_run(struct rpci_device *dev, struct user_job *u, uint64_t seed,
		 enum rpci_h2d_mode h2d, struct run_times *t, struct rpci_job_verdict *v);

/* The known kernels (user_check.c). */
const struct check_desc *check_find(const char *name);
const char *check_names(void);

/* Element i of a buffer of size-byte elements, little-endian. */
uint64_t elem_get(const uint8_t *buf, uint64_t i, uint16_t size);

/* A float from its bits. */
float f32_of(uint64_t bits);

/* Whether an argument is a buffer. */
bool uarg_is_buffer(const struct uarg *a);

/* Seconds of the monotonic clock. */
double run_now_s(void);

#endif /* RPCI_APP_RUN_USER_JOB_H */
