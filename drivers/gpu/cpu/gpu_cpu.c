/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The cpu compute backend: device memory is one anonymous mapping of the
 * server process, and kernels are a few built-in C functions run by a
 * persistent pool of threads. It needs nothing but libc, so every server can
 * serve a device, and a slowdown factor lets it stand in for slower hardware.
 *
 * The pool: threads - 1 workers plus the launching thread. A launch posts a
 * job (function, context, number of parts) under the pool's lock and bumps a
 * generation counter; each worker runs the part of its index and counts
 * itself done; the launching thread runs part 0 and waits for the count to
 * reach zero. Parts are fixed by the kernel, so a launch never waits for a
 * worker to take a part: it waits only for workers to finish theirs.
 */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "rpci_gpu.h"

/** Most threads of one instance. */
#define CPU_THREADS_MAX 64
/** Largest sgemm dimension. */
#define CPU_DIM_MAX 65536
/** Elements per reduce-sum block (fixed: the result must not depend on threads). */
#define CPU_REDUCE_BLOCK 4096
/** Fewest vector elements worth handing to one more thread. */
#define CPU_VEC_GRAIN 1024
/** sgemm tile: rows of C computed together, sharing each row of B they read. */
#define CPU_SGEMM_ROWS 4
/** sgemm tile: columns of C computed together (the accumulators stay in L1). */
#define CPU_SGEMM_COLS 128
/** sgemm tile: columns per vectorized chunk. */
#define CPU_SGEMM_VEC 8
/** Longest slowdown sleep, to keep the conversion to a timespec defined. */
#define CPU_SLEEP_MAX_S 1e6
/** Most arguments of a built-in kernel. */
#define CPU_KERNEL_ARGS_MAX 8

/** Argument types of the built-ins. */
enum cpu_arg_type {
	CPU_ARG_PTR,   /**< DEVPTR (8 bytes), 4-byte aligned */
	CPU_ARG_COUNT, /**< unsigned SCALAR of 4 or 8 bytes */
	CPU_ARG_F32,   /**< SCALAR of 4 bytes, an IEEE float */
};

/** Arguments of a launch, decoded by position. */
struct cpu_args {
	uint64_t u[CPU_KERNEL_ARGS_MAX]; /**< PTR: device address; COUNT: value */
	float f[CPU_KERNEL_ARGS_MAX];    /**< F32: value */
};

struct cpu_dev;

/** A built-in kernel: what a function handle points to. */
struct cpu_kernel {
	const char *name;
	uint32_t nb_args;
	enum cpu_arg_type types[CPU_KERNEL_ARGS_MAX];
	/** Check sizes and extents: 0, -EINVAL or -EFAULT; changes nothing. */
	int (*check)(const struct cpu_dev *dev, const struct cpu_args *args);
	/** Compute (arguments already checked): 0 or -ENOMEM. */
	int (*exec)(struct cpu_dev *dev, const struct cpu_args *args);
};

/** Work posted to the pool: fn(ctx, part, nb_parts) for part < nb_parts. */
struct cpu_job {
	void (*fn)(void *ctx, uint32_t part, uint32_t nb_parts);
	void *ctx;
	uint32_t nb_parts;
};

struct cpu_worker {
	struct cpu_dev *dev;
	pthread_t thread;
	uint32_t index; /**< the part it runs: 1..threads-1 */
};

/** An instance. */
struct cpu_dev {
	uint8_t *mem;
	uint64_t memory_bytes;
	uint32_t threads;
	double slowdown;

	pthread_mutex_t lock;
	pthread_cond_t work_cond; /**< generation changed or stop set */
	pthread_cond_t done_cond; /**< pending reached zero */
	uint64_t generation;      /**< bumped per job posted */
	uint32_t pending;         /**< workers yet to finish the current job */
	bool stop;
	struct cpu_job job;
	struct cpu_worker *workers;
	uint32_t nb_workers; /**< workers running */
};

/** A loaded module: the built-ins of one instance. */
struct cpu_module {
	struct cpu_dev *dev;
};

/* --- thread pool --- */

static void *
cpu_worker_main(void *arg)
{
	struct cpu_worker *w = arg;
	struct cpu_dev *dev = w->dev;
	/* Workers start before any job is posted: generation 0 is "seen". */
	uint64_t seen = 0;
	struct cpu_job job;

	pthread_mutex_lock(&dev->lock);
	for (;;) {
		while (!dev->stop && dev->generation == seen) {
			pthread_cond_wait(&dev->work_cond, &dev->lock);
		}
		if (dev->stop) {
			break;
		}
		seen = dev->generation;
		job = dev->job;
		pthread_mutex_unlock(&dev->lock);

		if (w->index < job.nb_parts) {
			job.fn(job.ctx, w->index, job.nb_parts);
		}

		pthread_mutex_lock(&dev->lock);
		dev->pending--;
		if (dev->pending == 0) {
			pthread_cond_signal(&dev->done_cond);
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return NULL;
}

/* Run fn over nb_parts parts (1..threads) and wait for all of them. */
static void
cpu_pool_run(struct cpu_dev *dev, void (*fn)(void *ctx, uint32_t part, uint32_t nb_parts),
	     void *ctx, uint32_t nb_parts)
{
	if (nb_parts <= 1 || dev->nb_workers == 0) {
		fn(ctx, 0, 1);
		return;
	}
	if (nb_parts > dev->nb_workers + 1) {
		nb_parts = dev->nb_workers + 1;
	}

	pthread_mutex_lock(&dev->lock);
	dev->job.fn = fn;
	dev->job.ctx = ctx;
	dev->job.nb_parts = nb_parts;
	dev->pending = dev->nb_workers;
	dev->generation++;
	pthread_cond_broadcast(&dev->work_cond);
	pthread_mutex_unlock(&dev->lock);

	fn(ctx, 0, nb_parts);

	pthread_mutex_lock(&dev->lock);
	while (dev->pending != 0) {
		pthread_cond_wait(&dev->done_cond, &dev->lock);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* Stop and join every worker started. */
static void
cpu_pool_stop(struct cpu_dev *dev)
{
	uint32_t i;

	pthread_mutex_lock(&dev->lock);
	dev->stop = true;
	pthread_cond_broadcast(&dev->work_cond);
	pthread_mutex_unlock(&dev->lock);
	for (i = 0; i < dev->nb_workers; i++) {
		pthread_join(dev->workers[i].thread, NULL);
	}
	dev->nb_workers = 0;
}

/* Part `part` of nb_parts contiguous, near-equal ranges of [0, total). */
static void
cpu_split(uint64_t total, uint32_t part, uint32_t nb_parts, uint64_t *begin, uint64_t *end)
{
	uint64_t chunk = total / nb_parts;
	uint64_t rem = total % nb_parts;

	*begin = part * chunk + (part < rem ? part : rem);
	*end = *begin + chunk + (part < rem ? 1 : 0);
}

/* How many parts to cut `units` of work into: at most threads, at least `grain` units each. */
static uint32_t
cpu_parts(const struct cpu_dev *dev, uint64_t units, uint64_t grain)
{
	uint64_t n = units / grain;

	if (n < 1) {
		return 1;
	}
	return n < dev->threads ? (uint32_t)n : dev->threads;
}

/* --- argument checks --- */

/* Whether count elements of elem bytes at addr lie inside device memory. */
static int
cpu_check_buf(const struct cpu_dev *dev, uint64_t addr, uint64_t count, uint64_t elem)
{
	uint64_t bytes;

	if (__builtin_mul_overflow(count, elem, &bytes)) {
		return -EFAULT;
	}
	if (addr > dev->memory_bytes || bytes > dev->memory_bytes - addr) {
		return -EFAULT;
	}
	return 0;
}

static float *
cpu_ptr(const struct cpu_dev *dev, uint64_t addr)
{
	return (float *)(void *)(dev->mem + addr);
}

/* --- vector-add, saxpy --- */

struct cpu_vec {
	const float *a; /**< vector-add: a; saxpy: x */
	const float *b; /**< vector-add: b */
	float *c;       /**< vector-add: c; saxpy: y */
	float alpha;
	uint64_t n;
};

static void
cpu_vector_add_part(void *ctx, uint32_t part, uint32_t nb_parts)
{
	const struct cpu_vec *v = ctx;
	uint64_t begin, end, i;

	cpu_split(v->n, part, nb_parts, &begin, &end);
	for (i = begin; i < end; i++) {
		v->c[i] = v->a[i] + v->b[i];
	}
}

/* vector-add(DEVPTR a, DEVPTR b, DEVPTR c, SCALAR n) */
static int
cpu_vector_add_check(const struct cpu_dev *dev, const struct cpu_args *args)
{
	uint64_t n = args->u[3];
	int rc;

	rc = cpu_check_buf(dev, args->u[0], n, sizeof(float));
	if (rc == 0) {
		rc = cpu_check_buf(dev, args->u[1], n, sizeof(float));
	}
	if (rc == 0) {
		rc = cpu_check_buf(dev, args->u[2], n, sizeof(float));
	}
	return rc;
}

static int
cpu_vector_add_exec(struct cpu_dev *dev, const struct cpu_args *args)
{
	struct cpu_vec v = {
		.a = cpu_ptr(dev, args->u[0]),
		.b = cpu_ptr(dev, args->u[1]),
		.c = cpu_ptr(dev, args->u[2]),
		.n = args->u[3],
	};

	if (v.n != 0) {
		cpu_pool_run(dev, cpu_vector_add_part, &v, cpu_parts(dev, v.n, CPU_VEC_GRAIN));
	}
	return 0;
}

static void
cpu_saxpy_part(void *ctx, uint32_t part, uint32_t nb_parts)
{
	const struct cpu_vec *v = ctx;
	uint64_t begin, end, i;

	cpu_split(v->n, part, nb_parts, &begin, &end);
	for (i = begin; i < end; i++) {
		v->c[i] = v->alpha * v->a[i] + v->c[i];
	}
}

/* saxpy(SCALAR alpha, DEVPTR x, DEVPTR y, SCALAR n) */
static int
cpu_saxpy_check(const struct cpu_dev *dev, const struct cpu_args *args)
{
	uint64_t n = args->u[3];
	int rc;

	rc = cpu_check_buf(dev, args->u[1], n, sizeof(float));
	if (rc == 0) {
		rc = cpu_check_buf(dev, args->u[2], n, sizeof(float));
	}
	return rc;
}

static int
cpu_saxpy_exec(struct cpu_dev *dev, const struct cpu_args *args)
{
	struct cpu_vec v = {
		.alpha = args->f[0],
		.a = cpu_ptr(dev, args->u[1]),
		.c = cpu_ptr(dev, args->u[2]),
		.n = args->u[3],
	};

	if (v.n != 0) {
		cpu_pool_run(dev, cpu_saxpy_part, &v, cpu_parts(dev, v.n, CPU_VEC_GRAIN));
	}
	return 0;
}

/* --- sgemm --- */

struct cpu_sgemm {
	const float *a; /**< m x k */
	const float *b; /**< k x n */
	float *c;       /**< m x n */
	uint64_t m, n, k;
	float alpha, beta;
};

/* C[i][j] = alpha * acc + beta * C[i][j]; C is not read when beta is 0. */
static void
cpu_sgemm_store(const struct cpu_sgemm *s, uint64_t i, uint64_t j0, uint64_t cols,
		const float *acc)
{
	float *c = s->c + i * s->n + j0;
	uint64_t j;

	if (s->beta == 0.0f) {
		for (j = 0; j < cols; j++) {
			c[j] = s->alpha * acc[j];
		}
	} else {
		for (j = 0; j < cols; j++) {
			c[j] = s->alpha * acc[j] + s->beta * c[j];
		}
	}
}

/*
 * Rows [i, i + CPU_SGEMM_ROWS) by columns [j0, j0 + cols) of C, cols up to
 * CPU_SGEMM_COLS. The columns go by chunks of CPU_SGEMM_VEC, whose constant
 * trip count lets the compiler vectorize them at -O2, then one by one. Each
 * element is summed over p in ascending order, as in cpu_sgemm_row().
 */
static void
cpu_sgemm_rows(const struct cpu_sgemm *s, uint64_t i, uint64_t j0, uint64_t cols)
{
	float acc[CPU_SGEMM_ROWS][CPU_SGEMM_COLS];
	const float *a0 = s->a + (i + 0) * s->k;
	const float *a1 = s->a + (i + 1) * s->k;
	const float *a2 = s->a + (i + 2) * s->k;
	const float *a3 = s->a + (i + 3) * s->k;
	const float *b;
	float x0, x1, x2, x3;
	uint64_t p, j;
	unsigned int v, r;

	memset(acc, 0, sizeof(acc));
	for (p = 0; p < s->k; p++) {
		b = s->b + p * s->n + j0;
		x0 = a0[p];
		x1 = a1[p];
		x2 = a2[p];
		x3 = a3[p];
		for (j = 0; j + CPU_SGEMM_VEC <= cols; j += CPU_SGEMM_VEC) {
			for (v = 0; v < CPU_SGEMM_VEC; v++) {
				acc[0][j + v] += x0 * b[j + v];
				acc[1][j + v] += x1 * b[j + v];
				acc[2][j + v] += x2 * b[j + v];
				acc[3][j + v] += x3 * b[j + v];
			}
		}
		for (; j < cols; j++) {
			acc[0][j] += x0 * b[j];
			acc[1][j] += x1 * b[j];
			acc[2][j] += x2 * b[j];
			acc[3][j] += x3 * b[j];
		}
	}
	for (r = 0; r < CPU_SGEMM_ROWS; r++) {
		cpu_sgemm_store(s, i + r, j0, cols, acc[r]);
	}
}

/* One row i of C, columns [j0, j0 + cols): the rows left over. */
static void
cpu_sgemm_row(const struct cpu_sgemm *s, uint64_t i, uint64_t j0, uint64_t cols)
{
	float acc[CPU_SGEMM_COLS];
	const float *a = s->a + i * s->k;
	const float *b;
	float x;
	uint64_t p, j;
	unsigned int v;

	memset(acc, 0, sizeof(acc));
	for (p = 0; p < s->k; p++) {
		b = s->b + p * s->n + j0;
		x = a[p];
		for (j = 0; j + CPU_SGEMM_VEC <= cols; j += CPU_SGEMM_VEC) {
			for (v = 0; v < CPU_SGEMM_VEC; v++) {
				acc[j + v] += x * b[j + v];
			}
		}
		for (; j < cols; j++) {
			acc[j] += x * b[j];
		}
	}
	cpu_sgemm_store(s, i, j0, cols, acc);
}

static void
cpu_sgemm_part(void *ctx, uint32_t part, uint32_t nb_parts)
{
	const struct cpu_sgemm *s = ctx;
	uint64_t begin, end, i, j0, cols;

	cpu_split(s->m, part, nb_parts, &begin, &end);
	/* Columns outside: a strip of B (k x CPU_SGEMM_COLS) serves all rows. */
	for (j0 = 0; j0 < s->n; j0 += CPU_SGEMM_COLS) {
		cols = s->n - j0 < CPU_SGEMM_COLS ? s->n - j0 : CPU_SGEMM_COLS;
		for (i = begin; i + CPU_SGEMM_ROWS <= end; i += CPU_SGEMM_ROWS) {
			cpu_sgemm_rows(s, i, j0, cols);
		}
		for (; i < end; i++) {
			cpu_sgemm_row(s, i, j0, cols);
		}
	}
}

/* sgemm(DEVPTR A, DEVPTR B, DEVPTR C, SCALAR m, SCALAR n, SCALAR k, SCALAR alpha, SCALAR beta) */
static int
cpu_sgemm_check(const struct cpu_dev *dev, const struct cpu_args *args)
{
	uint64_t m = args->u[3], n = args->u[4], k = args->u[5];
	uint64_t mk, kn, mn;
	int rc;

	if (m < 1 || m > CPU_DIM_MAX || n < 1 || n > CPU_DIM_MAX || k < 1 || k > CPU_DIM_MAX) {
		return -EINVAL;
	}
	if (__builtin_mul_overflow(m, k, &mk) || __builtin_mul_overflow(k, n, &kn) ||
	    __builtin_mul_overflow(m, n, &mn)) {
		return -EFAULT;
	}
	rc = cpu_check_buf(dev, args->u[0], mk, sizeof(float));
	if (rc == 0) {
		rc = cpu_check_buf(dev, args->u[1], kn, sizeof(float));
	}
	if (rc == 0) {
		rc = cpu_check_buf(dev, args->u[2], mn, sizeof(float));
	}
	return rc;
}

static int
cpu_sgemm_exec(struct cpu_dev *dev, const struct cpu_args *args)
{
	struct cpu_sgemm s = {
		.a = cpu_ptr(dev, args->u[0]),
		.b = cpu_ptr(dev, args->u[1]),
		.c = cpu_ptr(dev, args->u[2]),
		.m = args->u[3],
		.n = args->u[4],
		.k = args->u[5],
		.alpha = args->f[6],
		.beta = args->f[7],
	};

	cpu_pool_run(dev, cpu_sgemm_part, &s, cpu_parts(dev, s.m, 1));
	return 0;
}

/* --- reduce-sum --- */

struct cpu_reduce {
	const float *in;
	uint64_t n;
	double *sums; /**< one per block of CPU_REDUCE_BLOCK elements */
};

static void
cpu_reduce_part(void *ctx, uint32_t part, uint32_t nb_parts)
{
	const struct cpu_reduce *r = ctx;
	uint64_t nb_blocks = r->n / CPU_REDUCE_BLOCK + (r->n % CPU_REDUCE_BLOCK != 0);
	uint64_t begin, end, blk, i, last;
	double sum;

	cpu_split(nb_blocks, part, nb_parts, &begin, &end);
	for (blk = begin; blk < end; blk++) {
		i = blk * CPU_REDUCE_BLOCK;
		last = i + CPU_REDUCE_BLOCK < r->n ? i + CPU_REDUCE_BLOCK : r->n;
		sum = 0.0;
		for (; i < last; i++) {
			sum += (double)r->in[i];
		}
		r->sums[blk] = sum;
	}
}

/* reduce-sum(DEVPTR in, DEVPTR out, SCALAR n) */
static int
cpu_reduce_check(const struct cpu_dev *dev, const struct cpu_args *args)
{
	int rc;

	rc = cpu_check_buf(dev, args->u[0], args->u[2], sizeof(float));
	if (rc == 0) {
		rc = cpu_check_buf(dev, args->u[1], 1, sizeof(float));
	}
	return rc;
}

static int
cpu_reduce_exec(struct cpu_dev *dev, const struct cpu_args *args)
{
	struct cpu_reduce r = {
		.in = cpu_ptr(dev, args->u[0]),
		.n = args->u[2],
	};
	float *out = cpu_ptr(dev, args->u[1]);
	uint64_t nb_blocks, blk;
	double total = 0.0;

	if (r.n == 0) {
		*out = 0.0f;
		return 0;
	}
	nb_blocks = r.n / CPU_REDUCE_BLOCK + (r.n % CPU_REDUCE_BLOCK != 0);
	r.sums = malloc(nb_blocks * sizeof(*r.sums));
	if (r.sums == NULL) {
		return -ENOMEM;
	}
	cpu_pool_run(dev, cpu_reduce_part, &r, cpu_parts(dev, nb_blocks, 1));
	for (blk = 0; blk < nb_blocks; blk++) {
		total += r.sums[blk];
	}
	free(r.sums);
	/* Written last: out may lie inside in. */
	*out = (float)total;
	return 0;
}

/* --- empty --- */

static int
cpu_empty_check(const struct cpu_dev *dev, const struct cpu_args *args)
{
	(void)dev;
	(void)args;
	return 0;
}

static int
cpu_empty_exec(struct cpu_dev *dev, const struct cpu_args *args)
{
	(void)dev;
	(void)args;
	return 0;
}

/* The built-ins, in the order info lists them. */
static const struct cpu_kernel g_cpu_kernels[] = {
	{
		.name = "vector-add",
		.nb_args = 4,
		.types = { CPU_ARG_PTR, CPU_ARG_PTR, CPU_ARG_PTR, CPU_ARG_COUNT },
		.check = cpu_vector_add_check,
		.exec = cpu_vector_add_exec,
	},
	{
		.name = "saxpy",
		.nb_args = 4,
		.types = { CPU_ARG_F32, CPU_ARG_PTR, CPU_ARG_PTR, CPU_ARG_COUNT },
		.check = cpu_saxpy_check,
		.exec = cpu_saxpy_exec,
	},
	{
		.name = "sgemm",
		.nb_args = 8,
		.types = { CPU_ARG_PTR, CPU_ARG_PTR, CPU_ARG_PTR, CPU_ARG_COUNT, CPU_ARG_COUNT,
			   CPU_ARG_COUNT, CPU_ARG_F32, CPU_ARG_F32 },
		.check = cpu_sgemm_check,
		.exec = cpu_sgemm_exec,
	},
	{
		.name = "reduce-sum",
		.nb_args = 3,
		.types = { CPU_ARG_PTR, CPU_ARG_PTR, CPU_ARG_COUNT },
		.check = cpu_reduce_check,
		.exec = cpu_reduce_exec,
	},
	{
		.name = "empty",
		.nb_args = 0,
		.check = cpu_empty_check,
		.exec = cpu_empty_exec,
	},
};

#define CPU_NB_KERNELS (sizeof(g_cpu_kernels) / sizeof(g_cpu_kernels[0]))

_Static_assert(CPU_NB_KERNELS <= RPCI_GPU_BUILTINS_MAX, "too many built-ins");

/* --- ops --- */

static int
cpu_create(const struct rpci_gpu_params *params, void **priv)
{
	struct cpu_dev *dev;
	char name[16];
	uint32_t threads;
	uint32_t i;
	int rc;

	if (params == NULL || priv == NULL) {
		return -EINVAL;
	}
	threads = params->threads == 0 ? 1 : params->threads;
	if (params->memory_bytes == 0 || params->memory_bytes > SIZE_MAX ||
	    threads > CPU_THREADS_MAX || !(params->slowdown >= 1.0) ||
	    !isfinite(params->slowdown)) {
		return -EINVAL;
	}

	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return -ENOMEM;
	}
	dev->memory_bytes = params->memory_bytes;
	dev->threads = threads;
	dev->slowdown = params->slowdown;

	/*
	 * Device memory is present, as on a GPU: populated now, so that the
	 * first copy into it does not pay a page fault per 4 KiB on the data
	 * path (3.3 us each on the VMs this runs on, more than the copy).
	 */
	dev->mem = mmap(NULL, (size_t)params->memory_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (dev->mem == MAP_FAILED) {
		rc = -errno;
		goto err_free_dev;
	}

	rc = -pthread_mutex_init(&dev->lock, NULL);
	if (rc < 0) {
		goto err_unmap;
	}
	rc = -pthread_cond_init(&dev->work_cond, NULL);
	if (rc < 0) {
		goto err_destroy_lock;
	}
	rc = -pthread_cond_init(&dev->done_cond, NULL);
	if (rc < 0) {
		goto err_destroy_work_cond;
	}

	if (threads > 1) {
		dev->workers = calloc(threads - 1, sizeof(*dev->workers));
		if (dev->workers == NULL) {
			rc = -ENOMEM;
			goto err_destroy_done_cond;
		}
	}
	for (i = 0; i + 1 < threads; i++) {
		dev->workers[i].dev = dev;
		dev->workers[i].index = i + 1;
		rc = -pthread_create(&dev->workers[i].thread, NULL, cpu_worker_main,
				     &dev->workers[i]);
		if (rc < 0) {
			goto err_stop_pool;
		}
		dev->nb_workers++;
		snprintf(name, sizeof(name), "rpci-cpu-%u", i + 1);
		/* A name only helps debugging: failing to set it is no error. */
		(void)pthread_setname_np(dev->workers[i].thread, name);
	}

	*priv = dev;
	return 0;

err_stop_pool:
	cpu_pool_stop(dev);
	free(dev->workers);
err_destroy_done_cond:
	pthread_cond_destroy(&dev->done_cond);
err_destroy_work_cond:
	pthread_cond_destroy(&dev->work_cond);
err_destroy_lock:
	pthread_mutex_destroy(&dev->lock);
err_unmap:
	munmap(dev->mem, (size_t)dev->memory_bytes);
err_free_dev:
	free(dev);
	return rc;
}

static void
cpu_destroy(void *priv)
{
	struct cpu_dev *dev = priv;

	if (dev == NULL) {
		return;
	}
	cpu_pool_stop(dev);
	free(dev->workers);
	pthread_cond_destroy(&dev->done_cond);
	pthread_cond_destroy(&dev->work_cond);
	pthread_mutex_destroy(&dev->lock);
	munmap(dev->mem, (size_t)dev->memory_bytes);
	free(dev);
}

static int
cpu_info(void *priv, struct rpci_gpu_info *info)
{
	const struct cpu_dev *dev = priv;
	size_t i;

	if (dev == NULL || info == NULL) {
		return -EINVAL;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->backend, sizeof(info->backend), "%s", "cpu");
	snprintf(info->device_name, sizeof(info->device_name), "cpu (%u thread%s)",
		 dev->threads, dev->threads == 1 ? "" : "s");
	info->module_kinds = 1u << RPCI_GPU_MODULE_BUILTIN;
	info->compute_units = dev->threads;
	info->nb_builtins = CPU_NB_KERNELS;
	for (i = 0; i < CPU_NB_KERNELS; i++) {
		snprintf(info->builtins[i], sizeof(info->builtins[i]), "%s",
			 g_cpu_kernels[i].name);
	}
	return 0;
}

static void *
cpu_mem_base(void *priv)
{
	struct cpu_dev *dev = priv;

	return dev->mem;
}

/* The callers check bounds; this check only keeps a wrong caller in range. */
static bool
cpu_range_ok(const struct cpu_dev *dev, uint64_t dev_addr, uint64_t len)
{
	return dev_addr <= dev->memory_bytes && len <= dev->memory_bytes - dev_addr;
}

static int
cpu_mem_write(void *priv, uint64_t dev_addr, const void *src, size_t len)
{
	struct cpu_dev *dev = priv;

	if (!cpu_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len != 0) {
		memcpy(dev->mem + dev_addr, src, len);
	}
	return 0;
}

static int
cpu_mem_read(void *priv, uint64_t dev_addr, void *dst, size_t len)
{
	struct cpu_dev *dev = priv;

	if (!cpu_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len != 0) {
		memcpy(dst, dev->mem + dev_addr, len);
	}
	return 0;
}

static int
cpu_mem_fill(void *priv, uint64_t dev_addr, uint8_t value, size_t len)
{
	struct cpu_dev *dev = priv;

	if (!cpu_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len != 0) {
		memset(dev->mem + dev_addr, value, len);
	}
	return 0;
}

static int
cpu_module_load(void *priv, enum rpci_gpu_module_kind kind, const void *image, size_t len,
		void **module, char *log, size_t log_len)
{
	struct cpu_dev *dev = priv;
	struct cpu_module *mod;

	(void)image;
	(void)len;
	if (log != NULL && log_len > 0) {
		log[0] = '\0';
	}
	if (dev == NULL || module == NULL) {
		return -EINVAL;
	}
	if (kind != RPCI_GPU_MODULE_BUILTIN) {
		if (log != NULL && log_len > 0) {
			snprintf(log, log_len, "cpu backend loads built-in modules only");
		}
		return -ENOTSUP;
	}
	mod = calloc(1, sizeof(*mod));
	if (mod == NULL) {
		return -ENOMEM;
	}
	mod->dev = dev;
	*module = mod;
	return 0;
}

static void
cpu_module_unload(void *priv, void *module)
{
	(void)priv;
	free(module);
}

static int
cpu_function_get(void *priv, void *module, const char *name, void **function)
{
	const struct cpu_module *mod = module;
	size_t i;

	if (priv == NULL || mod == NULL || mod->dev != priv || name == NULL || function == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < CPU_NB_KERNELS; i++) {
		if (strcmp(g_cpu_kernels[i].name, name) == 0) {
			*function = (void *)&g_cpu_kernels[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* Decode the arguments against the kernel's list: count, kinds, sizes, alignment. */
static int
cpu_decode_args(const struct cpu_kernel *kern, const struct rpci_gpu_launch *launch,
		struct cpu_args *args)
{
	const struct rpci_gpu_arg *arg;
	uint32_t i;

	if (launch->ndrange != NULL) {
		return -ENOTSUP; /* the built-ins take their extent from their counts */
	}
	if (launch->nb_args != kern->nb_args || (kern->nb_args != 0 && launch->args == NULL)) {
		return -EINVAL;
	}
	for (i = 0; i < kern->nb_args; i++) {
		arg = &launch->args[i];
		switch (kern->types[i]) {
		case CPU_ARG_PTR:
			if (arg->kind != RPCI_GPU_ARG_DEVPTR || arg->size != sizeof(uint64_t) ||
			    arg->value % sizeof(float) != 0) {
				return -EINVAL;
			}
			args->u[i] = arg->value;
			break;
		case CPU_ARG_COUNT:
			if (arg->size != 4 && arg->size != 8) {
				return -EINVAL;
			}
			if (rpci_gpu_arg_u64(arg, &args->u[i]) < 0) {
				return -EINVAL;
			}
			break;
		case CPU_ARG_F32:
			if (rpci_gpu_arg_f32(arg, &args->f[i]) < 0) {
				return -EINVAL;
			}
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int64_t
cpu_elapsed_ns(const struct timespec *t0, const struct timespec *t1)
{
	return (int64_t)(t1->tv_sec - t0->tv_sec) * 1000000000 + (t1->tv_nsec - t0->tv_nsec);
}

/* Sleep (slowdown - 1) times the time the kernel took. */
static void
cpu_slow_down(const struct cpu_dev *dev, int64_t elapsed_ns)
{
	struct timespec req, rem;
	double extra;

	extra = (dev->slowdown - 1.0) * (double)elapsed_ns * 1e-9;
	if (!(extra > 0.0)) {
		return;
	}
	if (extra > CPU_SLEEP_MAX_S) {
		extra = CPU_SLEEP_MAX_S;
	}
	req.tv_sec = (time_t)extra;
	req.tv_nsec = (long)((extra - (double)req.tv_sec) * 1e9);
	if (req.tv_nsec > 999999999) {
		req.tv_nsec = 999999999;
	}
	while (nanosleep(&req, &rem) != 0 && errno == EINTR) {
		req = rem;
	}
}

static int
cpu_launch(void *priv, void *function, const struct rpci_gpu_launch *launch)
{
	struct cpu_dev *dev = priv;
	const struct cpu_kernel *kern = NULL;
	struct cpu_args args;
	struct timespec t0, t1;
	size_t i;
	int rc;

	if (dev == NULL || launch == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < CPU_NB_KERNELS; i++) {
		if (function == &g_cpu_kernels[i]) {
			kern = &g_cpu_kernels[i];
			break;
		}
	}
	if (kern == NULL) {
		return -EINVAL;
	}

	memset(&args, 0, sizeof(args));
	rc = cpu_decode_args(kern, launch, &args);
	if (rc < 0) {
		return rc;
	}
	rc = kern->check(dev, &args);
	if (rc < 0) {
		return rc;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = kern->exec(dev, &args);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0) {
		return rc;
	}
	if (dev->slowdown > 1.0) {
		cpu_slow_down(dev, cpu_elapsed_ns(&t0, &t1));
	}
	return 0;
}

const struct rpci_gpu_ops rpci_gpu_cpu_ops = {
	.name = "cpu",
	.create = cpu_create,
	.destroy = cpu_destroy,
	.info = cpu_info,
	.mem_base = cpu_mem_base,
	.mem_write = cpu_mem_write,
	.mem_read = cpu_mem_read,
	.mem_fill = cpu_mem_fill,
	.module_load = cpu_module_load,
	.module_unload = cpu_module_unload,
	.function_get = cpu_function_get,
	.launch = cpu_launch,
};
