/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the compute-backend layer and of the cpu backend, through
 * the public header only.
 */

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "rpci_gpu.h"

#define MiB (1024u * 1024u)

static const uint32_t g_thread_counts[] = { 1, 2, 3 };
#define NB_THREAD_COUNTS (sizeof(g_thread_counts) / sizeof(g_thread_counts[0]))

static const uint64_t g_vec_sizes[] = { 1, 3, 1000, 4097, 100003 };
#define NB_VEC_SIZES (sizeof(g_vec_sizes) / sizeof(g_vec_sizes[0]))

/* An instance with its built-in module loaded. */
struct env {
	struct rpci_gpu *gpu;
	void *module;
};

static bool
env_open(struct env *env, uint32_t threads, uint64_t memory_bytes, double slowdown)
{
	struct rpci_gpu_params params = {
		.memory_bytes = memory_bytes,
		.threads = threads,
		.slowdown = slowdown,
	};
	char log[128];
	int rc;

	env->module = NULL;
	env->gpu = rpci_gpu_create("cpu", &params);
	CU_ASSERT_PTR_NOT_NULL(env->gpu);
	if (env->gpu == NULL) {
		return false;
	}
	rc = env->gpu->ops->module_load(env->gpu->priv, RPCI_GPU_MODULE_BUILTIN, NULL, 0,
					&env->module, log, sizeof(log));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(env->module);
	if (rc != 0) {
		rpci_gpu_destroy(env->gpu);
		env->gpu = NULL;
		return false;
	}
	return true;
}

static void
env_close(struct env *env)
{
	if (env->gpu == NULL) {
		return;
	}
	env->gpu->ops->module_unload(env->gpu->priv, env->module);
	rpci_gpu_destroy(env->gpu);
	env->gpu = NULL;
}

static void *
env_fn(struct env *env, const char *name)
{
	void *fn = NULL;
	int rc;

	rc = env->gpu->ops->function_get(env->gpu->priv, env->module, name, &fn);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(fn);
	return fn;
}

static int
env_launch(struct env *env, void *fn, const struct rpci_gpu_arg *args, uint32_t nb_args)
{
	struct rpci_gpu_launch launch = {
		.grid = { 1, 1, 1 },
		.block = { 1, 1, 1 },
		.nb_args = nb_args,
		.args = args,
	};

	return env->gpu->ops->launch(env->gpu->priv, fn, &launch);
}

static struct rpci_gpu_arg
arg_ptr(uint64_t addr)
{
	struct rpci_gpu_arg a = { .kind = RPCI_GPU_ARG_DEVPTR, .size = 8, .value = addr };

	return a;
}

static struct rpci_gpu_arg
arg_uint(uint64_t value, uint16_t size)
{
	struct rpci_gpu_arg a = { .kind = RPCI_GPU_ARG_SCALAR, .size = size, .value = value };

	return a;
}

static struct rpci_gpu_arg
arg_f32(float value)
{
	struct rpci_gpu_arg a = { .kind = RPCI_GPU_ARG_SCALAR, .size = 4 };
	uint32_t bits;

	memcpy(&bits, &value, sizeof(bits));
	a.value = bits;
	return a;
}

/* A float with an integer value in [-50, 49]: sums of them are exact. */
static float
rand_int_float(void)
{
	return (float)(rand() % 100 - 50);
}

/* A float in [-1, 1]. */
static float
rand_float(void)
{
	return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

static void
mem_put(struct env *env, uint64_t addr, const float *src, uint64_t n)
{
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env->gpu, addr, src, n * sizeof(float)), 0);
}

static void
mem_get(struct env *env, uint64_t addr, float *dst, uint64_t n)
{
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env->gpu, addr, dst, n * sizeof(float)), 0);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- layer --- */

static void
test_backend_lookup(void)
{
	struct rpci_gpu_params params = { .memory_bytes = MiB, .threads = 1, .slowdown = 1.0 };
	const char *names;

	CU_ASSERT_PTR_EQUAL(rpci_gpu_ops_find("cpu"), &rpci_gpu_cpu_ops);
	CU_ASSERT_STRING_EQUAL(rpci_gpu_cpu_ops.name, "cpu");

	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_ops_find("no-such-backend"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_ops_find(NULL));
	CU_ASSERT_EQUAL(errno, ENOENT);

	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_create("no-such-backend", &params));
	CU_ASSERT_EQUAL(errno, ENOENT);
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_create("CPU", &params));
	CU_ASSERT_EQUAL(errno, ENOENT);

	/* "cpu" first, then whatever else this build has; each name resolves. */
	names = rpci_gpu_backend_names();
	CU_ASSERT_PTR_NOT_NULL_FATAL(names);
	CU_ASSERT_EQUAL(strncmp(names, "cpu", 3), 0);
	CU_ASSERT(names[3] == '\0' || names[3] == ' ');
	{
		char buf[256], *tok, *save = NULL;

		snprintf(buf, sizeof(buf), "%s", names);
		for (tok = strtok_r(buf, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save)) {
			CU_ASSERT_PTR_NOT_NULL(rpci_gpu_ops_find(tok));
		}
	}
	CU_ASSERT_PTR_EQUAL(rpci_gpu_backend_names(), names);

	rpci_gpu_destroy(NULL);
}

static void
test_create_bad_params(void)
{
	const struct rpci_gpu_params bad[] = {
		{ .memory_bytes = 0, .threads = 1, .slowdown = 1.0 },
		{ .memory_bytes = MiB, .threads = 65, .slowdown = 1.0 },
		{ .memory_bytes = MiB, .threads = UINT32_MAX, .slowdown = 1.0 },
		{ .memory_bytes = MiB, .threads = 1, .slowdown = 0.0 },
		{ .memory_bytes = MiB, .threads = 1, .slowdown = 0.999 },
		{ .memory_bytes = MiB, .threads = 1, .slowdown = -2.0 },
		{ .memory_bytes = MiB, .threads = 1, .slowdown = NAN },
		{ .memory_bytes = MiB, .threads = 1, .slowdown = INFINITY },
	};
	struct rpci_gpu_params params = { .memory_bytes = MiB, .threads = 0, .slowdown = 1.0 };
	struct rpci_gpu_info info;
	struct rpci_gpu *gpu;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		gpu = rpci_gpu_create("cpu", &bad[i]);
		CU_ASSERT_PTR_NULL(gpu);
		CU_ASSERT_EQUAL(errno, EINVAL);
		rpci_gpu_destroy(gpu);
	}
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_create("cpu", NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);

	/* threads 0 means 1 */
	gpu = rpci_gpu_create("cpu", &params);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gpu);
	CU_ASSERT_EQUAL(gpu->ops->info(gpu->priv, &info), 0);
	CU_ASSERT_EQUAL(info.compute_units, 1);
	CU_ASSERT_STRING_EQUAL(info.device_name, "cpu (1 thread)");
	rpci_gpu_destroy(gpu);

	/* the limits themselves are accepted */
	params.threads = 64;
	params.slowdown = 1.0;
	gpu = rpci_gpu_create("cpu", &params);
	CU_ASSERT_PTR_NOT_NULL(gpu);
	rpci_gpu_destroy(gpu);
}

static void
test_info(void)
{
	static const char *const expected[] = {
		"vector-add", "saxpy", "sgemm", "reduce-sum", "empty",
	};
	struct rpci_gpu_info info;
	struct env env;
	size_t i, j;
	bool found;

	if (!env_open(&env, 3, MiB, 1.0)) {
		return;
	}
	memset(&info, 0xa5, sizeof(info));
	CU_ASSERT_EQUAL(env.gpu->ops->info(env.gpu->priv, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.backend, "cpu");
	CU_ASSERT_STRING_EQUAL(info.device_name, "cpu (3 threads)");
	CU_ASSERT_EQUAL(info.module_kinds, 1u << RPCI_GPU_MODULE_BUILTIN);
	CU_ASSERT_EQUAL(info.compute_units, 3);
	CU_ASSERT_EQUAL(info.nb_builtins, 5);
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		found = false;
		for (j = 0; j < info.nb_builtins && j < RPCI_GPU_BUILTINS_MAX; j++) {
			if (strcmp(info.builtins[j], expected[i]) == 0) {
				found = true;
			}
		}
		CU_ASSERT(found);
	}
	env_close(&env);
}

static void
test_mem_bounds(void)
{
	const uint64_t size = 4096;
	uint8_t buf[64], back[64], all[4096];
	struct env env;
	size_t i;

	if (!env_open(&env, 1, size, 1.0)) {
		return;
	}
	CU_ASSERT_EQUAL(env.gpu->memory_bytes, size);
	CU_ASSERT_PTR_NOT_NULL(env.gpu->mem_base);
	CU_ASSERT_PTR_EQUAL(env.gpu->mem_base, env.gpu->ops->mem_base(env.gpu->priv));

	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 7 + 1);
	}
	/* in range, up to the very end */
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, size - 16, buf, 16), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 0, back, sizeof(back)), 0);
	CU_ASSERT_EQUAL(memcmp(buf, back, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, size - 16, back, 16), 0);
	CU_ASSERT_EQUAL(memcmp(buf, back, 16), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, size, buf, 0), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, size, back, 0), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, size, 0, 0), 0);

	/* past the end, and wrapping: nothing changes */
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 0, all, sizeof(all)), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, size - 15, buf, 16), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, size + 1, buf, 0), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, UINT64_MAX - 3, buf, 8), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 8, buf, SIZE_MAX), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, size - 15, 0xff, 16), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, UINT64_MAX, 0xff, 2), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, size - 15, back, 16), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, UINT64_MAX - 3, back, 8), -EFAULT);
	CU_ASSERT_EQUAL(memcmp(all, env.gpu->mem_base, sizeof(all)), 0);

	/* fill */
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, 100, 0x5a, 50), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 0, all, sizeof(all)), 0);
	for (i = 0; i < 200; i++) {
		if (i >= 100 && i < 150) {
			CU_ASSERT_EQUAL(all[i], 0x5a);
		} else if (i < sizeof(buf)) {
			CU_ASSERT_EQUAL(all[i], buf[i]);
		} else {
			CU_ASSERT_EQUAL(all[i], 0);
		}
	}

	/* NULL arguments */
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(NULL, 0, buf, 1), -EINVAL);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(NULL, 0, back, 1), -EINVAL);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(NULL, 0, 0, 1), -EINVAL);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, NULL, 1), -EINVAL);

	/* the ops keep a wrong caller in range too */
	CU_ASSERT_EQUAL(env.gpu->ops->mem_write(env.gpu->priv, size - 1, buf, 2), -EFAULT);
	CU_ASSERT_EQUAL(env.gpu->ops->mem_read(env.gpu->priv, UINT64_MAX, back, 2), -EFAULT);
	CU_ASSERT_EQUAL(env.gpu->ops->mem_fill(env.gpu->priv, size, 0, 1), -EFAULT);
	CU_ASSERT_EQUAL(env.gpu->ops->mem_fill(env.gpu->priv, size - 1, 0x11, 1), 0);
	CU_ASSERT_EQUAL(((uint8_t *)env.gpu->mem_base)[size - 1], 0x11);

	/* range_ok */
	CU_ASSERT(rpci_gpu_range_ok(env.gpu, 0, size));
	CU_ASSERT(rpci_gpu_range_ok(env.gpu, size, 0));
	CU_ASSERT(rpci_gpu_range_ok(env.gpu, size - 1, 1));
	CU_ASSERT(!rpci_gpu_range_ok(env.gpu, size - 1, 2));
	CU_ASSERT(!rpci_gpu_range_ok(env.gpu, size + 1, 0));
	CU_ASSERT(!rpci_gpu_range_ok(env.gpu, 0, size + 1));
	CU_ASSERT(!rpci_gpu_range_ok(env.gpu, 1, UINT64_MAX));
	CU_ASSERT(!rpci_gpu_range_ok(env.gpu, UINT64_MAX, 1));
	CU_ASSERT(!rpci_gpu_range_ok(env.gpu, UINT64_MAX, 0));
	CU_ASSERT(!rpci_gpu_range_ok(NULL, 0, 0));

	env_close(&env);
}

static void
test_arg_helpers(void)
{
	struct rpci_gpu_arg a;
	uint64_t u;
	float f;

	a = arg_uint(0x1122334455667788ull, 1);
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(&a, &u), 0);
	CU_ASSERT_EQUAL(u, 0x88);
	a.size = 2;
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(&a, &u), 0);
	CU_ASSERT_EQUAL(u, 0x7788);
	a.size = 4;
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(&a, &u), 0);
	CU_ASSERT_EQUAL(u, 0x55667788);
	a.size = 8;
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(&a, &u), 0);
	CU_ASSERT_EQUAL(u, 0x1122334455667788ull);
	a.size = 3;
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(&a, &u), -EINVAL);
	a.size = 0;
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(&a, &u), -EINVAL);
	a = arg_ptr(64);
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(&a, &u), -EINVAL);
	CU_ASSERT_EQUAL(rpci_gpu_arg_u64(NULL, &u), -EINVAL);

	a = arg_f32(-2.5f);
	CU_ASSERT_EQUAL(rpci_gpu_arg_f32(&a, &f), 0);
	CU_ASSERT_EQUAL(f, -2.5f);
	a.size = 8;
	CU_ASSERT_EQUAL(rpci_gpu_arg_f32(&a, &f), -EINVAL);
	a = arg_ptr(0);
	a.size = 4;
	CU_ASSERT_EQUAL(rpci_gpu_arg_f32(&a, &f), -EINVAL);
	CU_ASSERT_EQUAL(rpci_gpu_arg_f32(NULL, &f), -EINVAL);
}

static void
test_modules(void)
{
	static const char image[] = "__kernel void k(void) {}";
	char log[128];
	void *module = NULL, *fn = NULL;
	struct env env;
	int rc;

	if (!env_open(&env, 1, MiB, 1.0)) {
		return;
	}
	memset(log, 'x', sizeof(log));
	rc = env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_OPENCL, image,
				       sizeof(image), &module, log, sizeof(log));
	CU_ASSERT_EQUAL(rc, -ENOTSUP);
	CU_ASSERT_PTR_NULL(module);
	CU_ASSERT_STRING_EQUAL(log, "cpu backend loads built-in modules only");
	rc = env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, image, sizeof(image),
				       &module, log, 8);
	CU_ASSERT_EQUAL(rc, -ENOTSUP);
	CU_ASSERT_EQUAL(strlen(log), 7);

	/* built-in: the image is ignored, the log is empty */
	memset(log, 'x', sizeof(log));
	rc = env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_BUILTIN, image,
				       sizeof(image), &module, log, sizeof(log));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(module);
	CU_ASSERT_STRING_EQUAL(log, "");

	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, module, "sgemm", &fn), 0);
	CU_ASSERT_PTR_NOT_NULL(fn);
	CU_ASSERT_PTR_EQUAL(env_fn(&env, "sgemm"), fn);
	fn = NULL;
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, module, "nope", &fn), -ENOENT);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, module, "SGEMM", &fn),
			-ENOENT);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, module, "", &fn), -ENOENT);
	CU_ASSERT_PTR_NULL(fn);
	env.gpu->ops->module_unload(env.gpu->priv, module);

	/* a launch of something that is no function handle */
	{
		struct rpci_gpu_launch launch = { .nb_args = 0 };

		CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, &launch, &launch), -EINVAL);
	}
	env_close(&env);
}

/* --- kernels --- */

static void
test_vector_add(void)
{
	const uint64_t nmax = 100003;
	float *a = malloc(nmax * sizeof(float));
	float *b = malloc(nmax * sizeof(float));
	float *c = malloc(nmax * sizeof(float));
	const uint64_t pa = 0, pb = 1 * MiB, pc = 4 * MiB;
	struct rpci_gpu_arg args[4];
	struct env env;
	size_t t, s;
	uint64_t i, n;
	void *fn;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (t = 0; t < NB_THREAD_COUNTS; t++) {
		if (!env_open(&env, g_thread_counts[t], 8 * MiB, 1.0)) {
			break;
		}
		fn = env_fn(&env, "vector-add");
		for (s = 0; s < NB_VEC_SIZES; s++) {
			n = g_vec_sizes[s];
			for (i = 0; i < nmax; i++) {
				a[i] = rand_int_float();
				b[i] = rand_int_float();
				c[i] = 12345.0f;
			}
			mem_put(&env, pa, a, nmax);
			mem_put(&env, pb, b, nmax);
			mem_put(&env, pc, c, nmax);
			args[0] = arg_ptr(pa);
			args[1] = arg_ptr(pb);
			args[2] = arg_ptr(pc);
			/* n as 4 bytes and as 8 bytes */
			args[3] = arg_uint(n, s % 2 ? 8 : 4);
			CU_ASSERT_EQUAL(env_launch(&env, fn, args, 4), 0);
			mem_get(&env, pc, c, nmax);
			ok = true;
			for (i = 0; i < nmax; i++) {
				if (c[i] != (i < n ? a[i] + b[i] : 12345.0f)) {
					ok = false;
				}
			}
			CU_ASSERT(ok);
		}
		/* n = 0 does nothing */
		args[3] = arg_uint(0, 8);
		CU_ASSERT_EQUAL(env_launch(&env, fn, args, 4), 0);
		mem_get(&env, pc, c, 1);
		CU_ASSERT_EQUAL(c[0], a[0] + b[0]);
		env_close(&env);
	}
	free(a);
	free(b);
	free(c);
}

static void
test_saxpy(void)
{
	const uint64_t nmax = 100003;
	float *x = malloc(nmax * sizeof(float));
	float *y = malloc(nmax * sizeof(float));
	float *out = malloc(nmax * sizeof(float));
	const uint64_t px = 1 * MiB, py = 5 * MiB;
	const float alpha = -3.0f;
	struct rpci_gpu_arg args[4];
	struct env env;
	size_t t, s;
	uint64_t i, n;
	void *fn;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (t = 0; t < NB_THREAD_COUNTS; t++) {
		if (!env_open(&env, g_thread_counts[t], 8 * MiB, 1.0)) {
			break;
		}
		fn = env_fn(&env, "saxpy");
		for (s = 0; s < NB_VEC_SIZES; s++) {
			n = g_vec_sizes[s];
			for (i = 0; i < nmax; i++) {
				x[i] = rand_int_float();
				y[i] = rand_int_float();
			}
			mem_put(&env, px, x, nmax);
			mem_put(&env, py, y, nmax);
			args[0] = arg_f32(alpha);
			args[1] = arg_ptr(px);
			args[2] = arg_ptr(py);
			args[3] = arg_uint(n, s % 2 ? 4 : 8);
			CU_ASSERT_EQUAL(env_launch(&env, fn, args, 4), 0);
			mem_get(&env, py, out, nmax);
			ok = true;
			for (i = 0; i < nmax; i++) {
				if (out[i] != (i < n ? alpha * x[i] + y[i] : y[i])) {
					ok = false;
				}
			}
			CU_ASSERT(ok);
		}
		env_close(&env);
	}
	free(x);
	free(y);
	free(out);
}

struct sgemm_case {
	uint64_t m, n, k;
};

static const struct sgemm_case g_sgemm_cases[] = {
	{ 1, 1, 1 }, { 3, 5, 7 }, { 64, 64, 64 }, { 65, 33, 17 }, { 127, 200, 31 },
	{ 9, 300, 5 }, { 130, 129, 3 },
};
#define NB_SGEMM_CASES (sizeof(g_sgemm_cases) / sizeof(g_sgemm_cases[0]))

static int
sgemm_launch(struct env *env, void *fn, uint64_t pa, uint64_t pb, uint64_t pc, uint64_t m,
	     uint64_t n, uint64_t k, float alpha, float beta)
{
	struct rpci_gpu_arg args[8] = {
		arg_ptr(pa), arg_ptr(pb), arg_ptr(pc), arg_uint(m, 4), arg_uint(n, 8),
		arg_uint(k, 4), arg_f32(alpha), arg_f32(beta),
	};

	return env_launch(env, fn, args, 8);
}

/* Random data: each element within 1e-5 of the sum of the magnitudes of its terms. */
static void
test_sgemm_random(void)
{
	const uint64_t cap = 200 * 200;
	const uint64_t pa = 0, pb = 1 * MiB, pc = 2 * MiB;
	const float alpha = 1.25f, beta = -0.5f;
	float *a = malloc(cap * sizeof(float));
	float *b = malloc(cap * sizeof(float));
	float *c0 = malloc(cap * sizeof(float));
	float *c = malloc(cap * sizeof(float));
	double acc, mag, ref, term, old;
	uint64_t i, j, p, m, n, k;
	struct env env;
	size_t t, s;
	void *fn;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (t = 0; t < NB_THREAD_COUNTS; t++) {
		if (!env_open(&env, g_thread_counts[t], 4 * MiB, 1.0)) {
			break;
		}
		fn = env_fn(&env, "sgemm");
		for (s = 0; s < NB_SGEMM_CASES; s++) {
			m = g_sgemm_cases[s].m;
			n = g_sgemm_cases[s].n;
			k = g_sgemm_cases[s].k;
			for (i = 0; i < m * k; i++) {
				a[i] = rand_float();
			}
			for (i = 0; i < k * n; i++) {
				b[i] = rand_float();
			}
			for (i = 0; i < m * n; i++) {
				c0[i] = rand_float();
			}
			mem_put(&env, pa, a, m * k);
			mem_put(&env, pb, b, k * n);
			mem_put(&env, pc, c0, m * n);
			CU_ASSERT_EQUAL(sgemm_launch(&env, fn, pa, pb, pc, m, n, k, alpha, beta),
					0);
			mem_get(&env, pc, c, m * n);
			ok = true;
			for (i = 0; i < m; i++) {
				for (j = 0; j < n; j++) {
					acc = 0.0;
					mag = 0.0;
					for (p = 0; p < k; p++) {
						term = (double)a[i * k + p] * b[p * n + j];
						acc += term;
						mag += fabs(term);
					}
					old = c0[i * n + j];
					ref = alpha * acc + beta * old;
					mag = fabs(alpha) * mag + fabs(beta * old);
					if (fabs((double)c[i * n + j] - ref) > 1e-5 * mag + 1e-30) {
						ok = false;
					}
				}
			}
			CU_ASSERT(ok);
			if (!ok) {
				printf("\nsgemm %lux%lux%lu threads %u: wrong\n", (unsigned long)m,
				       (unsigned long)n, (unsigned long)k, g_thread_counts[t]);
			}
		}
		env_close(&env);
	}
	free(a);
	free(b);
	free(c0);
	free(c);
}

/*
 * Integer data: the results are exact, so they equal the reference and are
 * the same bits whatever the thread count. beta 0 ignores what C held.
 */
static void
test_sgemm_exact(void)
{
	const uint64_t m = 131, n = 257, k = 45;
	const uint64_t pa = 0, pb = 1 * MiB, pc = 2 * MiB;
	float *a = malloc(m * k * sizeof(float));
	float *b = malloc(k * n * sizeof(float));
	float *c0 = malloc(m * n * sizeof(float));
	float *c = malloc(m * n * sizeof(float));
	float *first = malloc(m * n * sizeof(float));
	uint64_t i, j, p;
	struct env env;
	double acc;
	size_t t;
	void *fn;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	for (i = 0; i < m * k; i++) {
		a[i] = (float)(rand() % 9 - 4);
	}
	for (i = 0; i < k * n; i++) {
		b[i] = (float)(rand() % 9 - 4);
	}
	for (i = 0; i < m * n; i++) {
		c0[i] = rand_int_float();
	}
	for (t = 0; t < NB_THREAD_COUNTS; t++) {
		if (!env_open(&env, g_thread_counts[t], 4 * MiB, 1.0)) {
			break;
		}
		fn = env_fn(&env, "sgemm");
		mem_put(&env, pa, a, m * k);
		mem_put(&env, pb, b, k * n);
		mem_put(&env, pc, c0, m * n);
		CU_ASSERT_EQUAL(sgemm_launch(&env, fn, pa, pb, pc, m, n, k, 2.0f, -1.0f), 0);
		mem_get(&env, pc, c, m * n);
		ok = true;
		for (i = 0; i < m; i++) {
			for (j = 0; j < n; j++) {
				acc = 0.0;
				for (p = 0; p < k; p++) {
					acc += (double)a[i * k + p] * b[p * n + j];
				}
				if (c[i * n + j] != (float)(2.0 * acc - c0[i * n + j])) {
					ok = false;
				}
			}
		}
		CU_ASSERT(ok);
		if (t == 0) {
			memcpy(first, c, m * n * sizeof(float));
		} else {
			CU_ASSERT_EQUAL(memcmp(first, c, m * n * sizeof(float)), 0);
		}

		/* beta 0: C is not read, a NaN there does not come through */
		CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, pc, 0xff, m * n * sizeof(float)), 0);
		CU_ASSERT_EQUAL(sgemm_launch(&env, fn, pa, pb, pc, m, n, k, 1.0f, 0.0f), 0);
		mem_get(&env, pc, c, m * n);
		ok = true;
		for (i = 0; i < m * n; i++) {
			if (c[i] != (first[i] + c0[i]) / 2.0f) {
				ok = false;
			}
		}
		CU_ASSERT(ok);
		env_close(&env);
	}
	free(a);
	free(b);
	free(c0);
	free(c);
	free(first);
}

/* The reduce-sum the spec gives: blocks of 4096 in double, then the blocks in order. */
static float
reduce_ref(const float *in, uint64_t n)
{
	double total = 0.0, block;
	uint64_t i, j;

	for (i = 0; i < n; i += 4096) {
		block = 0.0;
		for (j = i; j < n && j < i + 4096; j++) {
			block += (double)in[j];
		}
		total += block;
	}
	return (float)total;
}

static void
test_reduce_sum(void)
{
	static const uint64_t sizes[] = { 1, 3, 1000, 4095, 4096, 4097, 100003, 1000000 };
	const uint64_t nmax = 1000000;
	const uint64_t pin = 16, pout = 8;
	float *ints = malloc(nmax * sizeof(float));
	float *reals = malloc(nmax * sizeof(float));
	float first[sizeof(sizes) / sizeof(sizes[0])];
	struct rpci_gpu_arg args[3];
	float out;
	double exact;
	struct env env;
	size_t t, s;
	uint64_t i, n;
	void *fn;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ints);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reals);
	for (i = 0; i < nmax; i++) {
		ints[i] = rand_int_float();
		/* positive and negative, of very different magnitudes */
		reals[i] = rand_float() * (float)(1 + rand() % 1000);
	}
	for (t = 0; t < NB_THREAD_COUNTS; t++) {
		if (!env_open(&env, g_thread_counts[t], 8 * MiB, 1.0)) {
			break;
		}
		fn = env_fn(&env, "reduce-sum");
		args[0] = arg_ptr(pin);
		args[1] = arg_ptr(pout);
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			n = sizes[s];
			args[2] = arg_uint(n, s % 2 ? 4 : 8);

			/* integers: exact */
			mem_put(&env, pin, ints, n);
			CU_ASSERT_EQUAL(env_launch(&env, fn, args, 3), 0);
			mem_get(&env, pout, &out, 1);
			exact = 0.0;
			for (i = 0; i < n; i++) {
				exact += ints[i];
			}
			CU_ASSERT_EQUAL(out, (float)exact);

			/* reals: the spec's order, the same bits for every thread count */
			mem_put(&env, pin, reals, n);
			CU_ASSERT_EQUAL(env_launch(&env, fn, args, 3), 0);
			mem_get(&env, pout, &out, 1);
			CU_ASSERT_EQUAL(memcmp(&out, &(float){ reduce_ref(reals, n) }, 4), 0);
			if (t == 0) {
				first[s] = out;
			} else {
				CU_ASSERT_EQUAL(memcmp(&first[s], &out, sizeof(out)), 0);
			}
		}

		/* n = 0: out = 0 */
		out = 42.0f;
		mem_put(&env, pout, &out, 1);
		args[2] = arg_uint(0, 8);
		CU_ASSERT_EQUAL(env_launch(&env, fn, args, 3), 0);
		mem_get(&env, pout, &out, 1);
		CU_ASSERT_EQUAL(out, 0.0f);

		/* out inside in: written after the sum */
		mem_put(&env, pin, ints, 100);
		args[1] = arg_ptr(pin + 4 * 10);
		args[2] = arg_uint(100, 4);
		CU_ASSERT_EQUAL(env_launch(&env, fn, args, 3), 0);
		mem_get(&env, pin + 4 * 10, &out, 1);
		exact = 0.0;
		for (i = 0; i < 100; i++) {
			exact += ints[i];
		}
		CU_ASSERT_EQUAL(out, (float)exact);
		env_close(&env);
	}
	free(ints);
	free(reals);
}

/*
 * The order of the spec, visible: 2^60, ones, -2^60. In double, 2^60 + 1 is
 * 2^60 but 2^60 + 4096 is exact: the ones of block 0 and of the last block
 * are lost, those of the two blocks between are not, whatever the threads.
 * A running sum would give 0, blocks of another size another number.
 */
static void
test_reduce_order(void)
{
	const uint64_t n = 3 * 4096 + 5;
	float *in = malloc(n * sizeof(float));
	struct rpci_gpu_arg args[3];
	struct env env;
	uint64_t i;
	size_t t;
	float out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	for (i = 0; i < n; i++) {
		in[i] = 1.0f;
	}
	in[0] = 0x1p60f;
	in[n - 1] = -0x1p60f;
	CU_ASSERT_EQUAL(reduce_ref(in, n), 8192.0f);
	for (t = 0; t < NB_THREAD_COUNTS; t++) {
		if (!env_open(&env, g_thread_counts[t], MiB, 1.0)) {
			break;
		}
		mem_put(&env, 0, in, n);
		args[0] = arg_ptr(0);
		args[1] = arg_ptr(n * sizeof(float));
		args[2] = arg_uint(n, 4);
		CU_ASSERT_EQUAL(env_launch(&env, env_fn(&env, "reduce-sum"), args, 3), 0);
		mem_get(&env, n * sizeof(float), &out, 1);
		CU_ASSERT_EQUAL(out, 8192.0f);
		env_close(&env);
	}
	free(in);
}

static void
test_empty(void)
{
	struct rpci_gpu_arg arg = arg_uint(1, 4);
	struct env env;
	void *fn;
	int i;

	if (!env_open(&env, 2, MiB, 1.0)) {
		return;
	}
	fn = env_fn(&env, "empty");
	for (i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL(env_launch(&env, fn, NULL, 0), 0);
	}
	CU_ASSERT_EQUAL(env_launch(&env, fn, &arg, 1), -EINVAL);
	CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, fn, NULL), -EINVAL);
	env_close(&env);
}

/* --- validation --- */

static void
test_arg_validation(void)
{
	struct rpci_gpu_arg args[9];
	void *vadd, *saxpy, *sgemm, *reduce;
	struct env env;

	if (!env_open(&env, 2, MiB, 1.0)) {
		return;
	}
	vadd = env_fn(&env, "vector-add");
	saxpy = env_fn(&env, "saxpy");
	sgemm = env_fn(&env, "sgemm");
	reduce = env_fn(&env, "reduce-sum");

	/* a good launch, then one thing wrong at a time */
	args[0] = arg_ptr(0);
	args[1] = arg_ptr(256);
	args[2] = arg_ptr(512);
	args[3] = arg_uint(16, 4);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), 0);
	/* count */
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 3), -EINVAL);
	args[4] = arg_uint(16, 4);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 5), -EINVAL);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 0), -EINVAL);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, NULL, 4), -EINVAL);
	/* kind */
	args[0] = arg_uint(0, 8);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);
	args[0] = arg_ptr(0);
	args[3] = arg_ptr(16);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);
	args[3] = arg_uint(16, 4);
	args[3].kind = RPCI_GPU_ARG_LOCAL;
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);
	args[3].kind = 0;
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);
	/* sizes */
	args[3] = arg_uint(16, 2);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);
	args[3] = arg_uint(16, 1);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);
	args[3] = arg_uint(16, 4);
	args[1].size = 4;
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);
	args[1] = arg_ptr(256);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), 0);

	/* saxpy: alpha must be a 4-byte scalar */
	args[0] = arg_f32(2.0f);
	args[1] = arg_ptr(0);
	args[2] = arg_ptr(256);
	args[3] = arg_uint(16, 8);
	CU_ASSERT_EQUAL(env_launch(&env, saxpy, args, 4), 0);
	args[0].size = 8;
	CU_ASSERT_EQUAL(env_launch(&env, saxpy, args, 4), -EINVAL);
	args[0] = arg_ptr(0);
	CU_ASSERT_EQUAL(env_launch(&env, saxpy, args, 4), -EINVAL);

	/* sgemm: dimensions 1..65536, alpha and beta f32 */
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 256, 512, 2, 3, 4, 1.0f, 0.0f), 0);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 256, 512, 0, 3, 4, 1.0f, 0.0f), -EINVAL);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 256, 512, 2, 0, 4, 1.0f, 0.0f), -EINVAL);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 256, 512, 2, 3, 0, 1.0f, 0.0f), -EINVAL);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 256, 512, 65537, 1, 1, 1.0f, 0.0f),
			-EINVAL);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 256, 512, 1, 1ull << 32 | 1, 1, 1.0f, 0.0f),
			-EINVAL);
	{
		struct rpci_gpu_arg g[8] = {
			arg_ptr(0), arg_ptr(256), arg_ptr(512), arg_uint(2, 4), arg_uint(3, 4),
			arg_uint(4, 4), arg_f32(1.0f), arg_uint(0, 8),
		};

		CU_ASSERT_EQUAL(env_launch(&env, sgemm, g, 8), -EINVAL);
		g[7] = arg_f32(0.0f);
		CU_ASSERT_EQUAL(env_launch(&env, sgemm, g, 8), 0);
		CU_ASSERT_EQUAL(env_launch(&env, sgemm, g, 7), -EINVAL);
		g[5] = arg_uint(4, 2);
		CU_ASSERT_EQUAL(env_launch(&env, sgemm, g, 8), -EINVAL);
	}

	/* unaligned device addresses */
	args[0] = arg_ptr(2);
	args[1] = arg_ptr(0);
	args[2] = arg_uint(16, 4);
	CU_ASSERT_EQUAL(env_launch(&env, reduce, args, 3), -EINVAL);
	args[0] = arg_ptr(0);
	args[1] = arg_ptr(1);
	CU_ASSERT_EQUAL(env_launch(&env, reduce, args, 3), -EINVAL);
	args[1] = arg_ptr(4);
	CU_ASSERT_EQUAL(env_launch(&env, reduce, args, 3), 0);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 256, 514, 2, 3, 4, 1.0f, 0.0f), -EINVAL);
	args[0] = arg_ptr(3);
	args[1] = arg_ptr(256);
	args[2] = arg_ptr(512);
	args[3] = arg_uint(16, 4);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EINVAL);

	env_close(&env);
}

/* Launches that reach outside device memory fail with -EFAULT and change nothing. */
static void
test_extents(void)
{
	const uint64_t size = 64 * 1024;
	uint8_t *before = malloc(size);
	uint8_t *after = malloc(size);
	void *vadd, *saxpy, *sgemm, *reduce;
	struct rpci_gpu_arg args[4];
	struct env env;
	uint64_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	if (!env_open(&env, 3, size, 1.0)) {
		free(before);
		free(after);
		return;
	}
	vadd = env_fn(&env, "vector-add");
	saxpy = env_fn(&env, "saxpy");
	sgemm = env_fn(&env, "sgemm");
	reduce = env_fn(&env, "reduce-sum");
	for (i = 0; i < size; i++) {
		before[i] = (uint8_t)(i * 13 + 5);
	}
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, before, size), 0);

	/* vector-add: c one element too long, then exactly fitting */
	args[0] = arg_ptr(0);
	args[1] = arg_ptr(0);
	args[2] = arg_ptr(size - 4 * 100);
	args[3] = arg_uint(101, 4);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EFAULT);
	args[0] = arg_ptr(size - 4 * 100);
	args[2] = arg_ptr(0);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EFAULT);
	/* an address past the end, even with n = 0 */
	args[0] = arg_ptr(size + 4);
	args[3] = arg_uint(0, 4);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EFAULT);
	/* n * 4 wraps around 2^64 to a small number */
	args[0] = arg_ptr(0);
	args[3] = arg_uint((1ull << 62) + 1, 8);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EFAULT);
	args[3] = arg_uint(UINT64_MAX, 8);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EFAULT);
	args[3] = arg_uint(UINT32_MAX, 4);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EFAULT);
	/* address + bytes wraps */
	args[0] = arg_ptr(UINT64_MAX - 3);
	args[3] = arg_uint(2, 4);
	CU_ASSERT_EQUAL(env_launch(&env, vadd, args, 4), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 0, after, size), 0);
	CU_ASSERT_EQUAL(memcmp(before, after, size), 0);

	/* saxpy */
	args[0] = arg_f32(1.0f);
	args[1] = arg_ptr(0);
	args[2] = arg_ptr(size - 8);
	args[3] = arg_uint(3, 4);
	CU_ASSERT_EQUAL(env_launch(&env, saxpy, args, 4), -EFAULT);
	args[3] = arg_uint((1ull << 62) + 2, 8);
	args[2] = arg_ptr(0);
	CU_ASSERT_EQUAL(env_launch(&env, saxpy, args, 4), -EFAULT);

	/* sgemm: C of 128 x 128 floats is 64 KiB; A, B and C each a byte past */
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 0, 4, 128, 128, 1, 1.0f, 1.0f), -EFAULT);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 4, 0, 0, 128, 1, 128, 1.0f, 1.0f), -EFAULT);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 4, 0, 1, 128, 128, 1.0f, 1.0f), -EFAULT);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 0, 0, 65536, 65536, 65536, 1.0f, 1.0f),
			-EFAULT);
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 0, UINT64_MAX - 3, 1, 1, 1, 1.0f, 1.0f),
			-EFAULT);

	/* reduce-sum: in too long; out past the end */
	args[0] = arg_ptr(4);
	args[1] = arg_ptr(0);
	args[2] = arg_uint(size / 4, 4);
	CU_ASSERT_EQUAL(env_launch(&env, reduce, args, 3), -EFAULT);
	args[0] = arg_ptr(0);
	args[1] = arg_ptr(size);
	args[2] = arg_uint(0, 4);
	CU_ASSERT_EQUAL(env_launch(&env, reduce, args, 3), -EFAULT);
	args[2] = arg_uint((1ull << 62) + 1, 8);
	args[1] = arg_ptr(0);
	CU_ASSERT_EQUAL(env_launch(&env, reduce, args, 3), -EFAULT);

	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 0, after, size), 0);
	CU_ASSERT_EQUAL(memcmp(before, after, size), 0);

	/* launches that end exactly at the end do run (C: 128 x 64 floats, the upper half) */
	CU_ASSERT_EQUAL(sgemm_launch(&env, sgemm, 0, 512, size / 2, 128, 64, 1, 1.0f, 1.0f), 0);
	args[0] = arg_ptr(0);
	args[1] = arg_ptr(size - 4);
	args[2] = arg_uint(size / 4, 4);
	CU_ASSERT_EQUAL(env_launch(&env, reduce, args, 3), 0);

	env_close(&env);
	free(before);
	free(after);
}

/* --- threads and slowdown --- */

static double
sgemm_min_time(struct env *env, void *fn, uint64_t dim, int runs)
{
	double best = 1e9, t0, t;
	int i;

	for (i = 0; i < runs; i++) {
		t0 = now_s();
		CU_ASSERT_EQUAL(sgemm_launch(env, fn, 0, MiB, 2 * MiB, dim, dim, dim, 1.0f, 0.0f),
				0);
		t = now_s() - t0;
		if (t < best) {
			best = t;
		}
	}
	return best;
}

static void
test_slowdown(void)
{
	const uint64_t dim = 96;
	struct env fast, slow;
	double t1, t3;

	if (!env_open(&fast, 1, 4 * MiB, 1.0)) {
		return;
	}
	if (!env_open(&slow, 1, 4 * MiB, 3.0)) {
		env_close(&fast);
		return;
	}
	t1 = sgemm_min_time(&fast, env_fn(&fast, "sgemm"), dim, 5);
	t3 = sgemm_min_time(&slow, env_fn(&slow, "sgemm"), dim, 5);
	CU_ASSERT(t3 >= 1.5 * t1);
	if (!(t3 >= 1.5 * t1)) {
		printf("\nslowdown 1: %.6f s, slowdown 3: %.6f s\n", t1, t3);
	}
	env_close(&fast);
	env_close(&slow);
}

/* Many launches back to back, and instances that come and go, on several threads. */
static void
test_pool_stress(void)
{
	const uint64_t n = 4097;
	float a[4097], b[4097], c[4097];
	struct rpci_gpu_arg args[4];
	struct env env;
	uint64_t i;
	void *fn;
	bool ok;
	int round;

	for (round = 0; round < 20; round++) {
		if (!env_open(&env, (uint32_t)(2 + round % 7), MiB, 1.0)) {
			return;
		}
		/* launch at once, before the workers may have started waiting */
		fn = env_fn(&env, "vector-add");
		args[0] = arg_ptr(0);
		args[1] = arg_ptr(0);
		args[2] = arg_ptr(0);
		args[3] = arg_uint(n, 4);
		CU_ASSERT_EQUAL(env_launch(&env, fn, args, 4), 0);
		env_close(&env);
	}

	if (!env_open(&env, 3, MiB, 1.0)) {
		return;
	}
	fn = env_fn(&env, "vector-add");
	for (i = 0; i < n; i++) {
		a[i] = (float)(i % 1000);
		b[i] = 1.0f;
	}
	mem_put(&env, 0, a, n);
	mem_put(&env, 32768, b, n);
	args[0] = arg_ptr(0);
	args[1] = arg_ptr(32768);
	args[2] = arg_ptr(0);
	args[3] = arg_uint(n, 4);
	/* a += b, 500 times */
	for (round = 0; round < 500; round++) {
		CU_ASSERT_EQUAL(env_launch(&env, fn, args, 4), 0);
	}
	mem_get(&env, 0, c, n);
	ok = true;
	for (i = 0; i < n; i++) {
		if (c[i] != a[i] + 500.0f) {
			ok = false;
		}
	}
	CU_ASSERT(ok);
	env_close(&env);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int n;

	srand(12345);
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("gpu_cpu", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_backend_lookup);
	CU_ADD_TEST(suite, test_create_bad_params);
	CU_ADD_TEST(suite, test_info);
	CU_ADD_TEST(suite, test_mem_bounds);
	CU_ADD_TEST(suite, test_arg_helpers);
	CU_ADD_TEST(suite, test_modules);
	CU_ADD_TEST(suite, test_vector_add);
	CU_ADD_TEST(suite, test_saxpy);
	CU_ADD_TEST(suite, test_sgemm_random);
	CU_ADD_TEST(suite, test_sgemm_exact);
	CU_ADD_TEST(suite, test_reduce_sum);
	CU_ADD_TEST(suite, test_reduce_order);
	CU_ADD_TEST(suite, test_empty);
	CU_ADD_TEST(suite, test_arg_validation);
	CU_ADD_TEST(suite, test_extents);
	CU_ADD_TEST(suite, test_slowdown);
	CU_ADD_TEST(suite, test_pool_stress);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}
