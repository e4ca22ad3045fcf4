/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the opencl backend against the real OpenCL device of this
 * machine (PoCL where there is no GPU): instances, memory through both copy
 * paths, builds and their logs, the four test kernels of test/kernels
 * checked against CPU references, argument and geometry checks, and what
 * OpenCL clients need (info blocks, build options, binaries, NDRanges with
 * offsets, values of any size, copies within memory). Without an
 * OpenCL device the runner exits 77 (skipped).
 *
 * The kernels are read from test/kernels, found from this file's path (or
 * $RPCI_KERNELS_DIR). The backend's source is included to reach its state.
 */

#include "../../drivers/gpu/opencl/gpu_opencl.c"

#include <float.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#define MiB (1024u * 1024u)
#define TEST_MEMORY (16u * MiB)
/** The device model's allocation alignment. */
#define TEST_ALIGN 256u
#define LOG_LEN 4096

static char g_kernels_dir[2 * PATH_MAX + 64];

/* ------------------------------------------------------------ helpers */

/* splitmix64: the same data for the same seed. */
static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static float
rng_float(uint64_t *state)
{
	return (float)((double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

/* Small integers as floats (-8..8): sums of products stay exact. */
static float
rng_small(uint64_t *state)
{
	return (float)((int)(rng_next(state) % 17) - 8);
}

static bool
dir_has_kernels(const char *dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/saxpy.cl", dir);
	return access(path, R_OK) == 0;
}

/*
 * test/kernels: $RPCI_KERNELS_DIR, else next to this file's directory, the
 * path meson compiled it by being relative to the build directory, which is
 * the working directory or three levels above the runner.
 */
static bool
find_kernels_dir(void)
{
	char file[PATH_MAX], exe[PATH_MAX], exe_dir[PATH_MAX];
	const char *env = getenv("RPCI_KERNELS_DIR");
	const char *src_dir;
	ssize_t n;

	if (env != NULL && dir_has_kernels(env)) {
		snprintf(g_kernels_dir, sizeof(g_kernels_dir), "%s", env);
		return true;
	}
	snprintf(file, sizeof(file), "%s", __FILE__);
	src_dir = dirname(file);
	snprintf(g_kernels_dir, sizeof(g_kernels_dir), "%s/../kernels", src_dir);
	if (src_dir[0] == '/' || dir_has_kernels(g_kernels_dir)) {
		return dir_has_kernels(g_kernels_dir);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		return false;
	}
	exe[n] = '\0';
	snprintf(exe_dir, sizeof(exe_dir), "%s", dirname(exe));
	snprintf(g_kernels_dir, sizeof(g_kernels_dir), "%s/../../%s/../kernels", exe_dir,
		 src_dir);
	return dir_has_kernels(g_kernels_dir);
}

/* A file of test/kernels, NUL-terminated (the NUL not counted in *len). */
static char *
read_kernel(const char *name, size_t *len)
{
	char path[sizeof(g_kernels_dir) + 64];
	char *buf = NULL;
	long size;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_kernels_dir, name);
	f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL(f);
	if (f == NULL) {
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf != NULL && fread(buf, 1, (size_t)size, f) == (size_t)size) {
			buf[size] = '\0';
			*len = (size_t)size;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(buf);
	return buf;
}

struct env {
	struct rpci_gpu *gpu;
	struct ocl_dev *dev;
	uint64_t next; /**< bump allocator over device memory */
};

static bool
env_open(struct env *env, uint64_t memory_bytes)
{
	struct rpci_gpu_params params = {
		.memory_bytes = memory_bytes,
		.threads = 1,
		.slowdown = 1.0,
	};

	memset(env, 0, sizeof(*env));
	env->gpu = rpci_gpu_create("opencl", &params);
	CU_ASSERT_PTR_NOT_NULL(env->gpu);
	if (env->gpu == NULL) {
		return false;
	}
	env->dev = env->gpu->priv;
	return true;
}

static void
env_close(struct env *env)
{
	rpci_gpu_destroy(env->gpu);
	env->gpu = NULL;
}

/* Device memory of bytes, aligned as the device model aligns it. */
static uint64_t
env_alloc(struct env *env, uint64_t bytes)
{
	uint64_t addr = env->next;

	env->next = (addr + bytes + TEST_ALIGN - 1) / TEST_ALIGN * TEST_ALIGN;
	CU_ASSERT(env->next <= env->gpu->memory_bytes);
	return addr;
}

static void *
env_load(struct env *env, const char *source, size_t len)
{
	char log[LOG_LEN];
	void *mod = NULL;
	int rc;

	rc = env->gpu->ops->module_load(env->dev, RPCI_GPU_MODULE_OPENCL, source, len, &mod, log,
					sizeof(log));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc != 0) {
		printf("\nbuild failed (%d): %s\n", rc, log);
		return NULL;
	}
	CU_ASSERT_PTR_NOT_NULL(mod);
	return mod;
}

static void *
env_load_file(struct env *env, const char *name)
{
	size_t len = 0;
	char *source = read_kernel(name, &len);
	void *mod;

	if (source == NULL) {
		return NULL;
	}
	mod = env_load(env, source, len);
	free(source);
	return mod;
}

static void *
env_fn(struct env *env, void *mod, const char *name)
{
	void *fn = NULL;
	int rc;

	rc = env->gpu->ops->function_get(env->dev, mod, name, &fn);
	CU_ASSERT_EQUAL(rc, 0);
	return rc == 0 ? fn : NULL;
}

static int
env_launch(struct env *env, void *fn, uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx,
	   uint32_t by, uint32_t bz, const struct rpci_gpu_arg *args, uint32_t nb_args)
{
	struct rpci_gpu_launch l = {
		.grid = { gx, gy, gz },
		.block = { bx, by, bz },
		.nb_args = nb_args,
		.args = args,
	};

	return env->gpu->ops->launch(env->dev, fn, &l);
}

static void
env_put(struct env *env, uint64_t addr, const void *src, size_t len)
{
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env->gpu, addr, src, len), 0);
}

static void
env_get(struct env *env, uint64_t addr, void *dst, size_t len)
{
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env->gpu, addr, dst, len), 0);
}

/* Copies through commands instead of the mapping (the path of discrete GPUs). */
static void
env_use_commands(struct env *env)
{
	pthread_mutex_lock(&env->dev->map_lock);
	CU_ASSERT_EQUAL(ocl_unmap_locked(env->dev), 0);
	env->dev->unified = false;
	pthread_mutex_unlock(&env->dev->map_lock);
}

static struct rpci_gpu_arg
a_ptr(uint64_t addr)
{
	struct rpci_gpu_arg a = { .kind = RPCI_GPU_ARG_DEVPTR, .size = 8, .value = addr };

	return a;
}

static struct rpci_gpu_arg
a_scalar(uint16_t size, uint64_t value)
{
	struct rpci_gpu_arg a = { .kind = RPCI_GPU_ARG_SCALAR, .size = size, .value = value };

	return a;
}

static struct rpci_gpu_arg
a_u32(uint32_t v)
{
	return a_scalar(4, v);
}

static struct rpci_gpu_arg
a_f32(float f)
{
	uint32_t bits;

	memcpy(&bits, &f, sizeof(bits));
	return a_scalar(4, bits);
}

static struct rpci_gpu_arg
a_local(uint16_t size)
{
	struct rpci_gpu_arg a = { .kind = RPCI_GPU_ARG_LOCAL, .size = size, .value = 0 };

	return a;
}

static uint32_t
div_up(uint64_t a, uint64_t b)
{
	return (uint32_t)((a + b - 1) / b);
}

/* ------------------------------------------------------- kernels of the tests */

/* Small kernels that look at what the backend passes. */
static const char g_probe_source[] =
	"__kernel void geometry(__global uint *out)\n"
	"{\n"
	"	if (get_global_id(0) == 0 && get_global_id(1) == 0 && get_global_id(2) == 0) {\n"
	"		out[0] = get_work_dim();\n"
	"		for (uint d = 0; d < 3; d++) {\n"
	"			out[1 + d] = get_global_size(d);\n"
	"			out[4 + d] = get_local_size(d);\n"
	"			out[7 + d] = get_num_groups(d);\n"
	"		}\n"
	"	}\n"
	"	atomic_inc(&out[10]);\n"
	"}\n"
	"__kernel void scalars(__global ulong *out, uchar a, ushort b, uint c, ulong d, float f,\n"
	"		      int e, long g)\n"
	"{\n"
	"	out[0] = a; out[1] = b; out[2] = c; out[3] = d; out[4] = as_uint(f);\n"
	"	out[5] = (ulong)(long)e; out[6] = (ulong)g;\n"
	"}\n"
	"__kernel void reverse(__global const uint *in, __global uint *out, __local uint *a,\n"
	"		      __local uint *b)\n"
	"{\n"
	"	size_t l = get_local_size(0), lid = get_local_id(0), g = get_global_id(0);\n"
	"	a[lid] = in[g];\n"
	"	b[lid] = in[g] * 2u;\n"
	"	barrier(CLK_LOCAL_MEM_FENCE);\n"
	"	out[g] = a[l - 1 - lid] + b[l - 1 - lid];\n"
	"}\n"
	"__kernel void fill(__global uint *out, uint n, uint value)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"	if (i < n) {\n"
	"		out[i] = value;\n"
	"	}\n"
	"}\n";

/* ------------------------------------------------------------ the tests */

static void
test_create_destroy(void)
{
	struct rpci_gpu_params params = { .memory_bytes = MiB, .threads = 1, .slowdown = 1.0 };
	struct rpci_gpu *gpu;
	int i;

	CU_ASSERT_PTR_NOT_NULL(rpci_gpu_ops_find("opencl"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rpci_gpu_backend_names(), "opencl"));

	/* several in a row, and two at once */
	for (i = 0; i < 3; i++) {
		gpu = rpci_gpu_create("opencl", &params);
		CU_ASSERT_PTR_NOT_NULL_FATAL(gpu);
		CU_ASSERT_EQUAL(gpu->memory_bytes, MiB);
		CU_ASSERT_PTR_NULL(gpu->mem_base);
		rpci_gpu_destroy(gpu);
	}
	{
		struct rpci_gpu *a = rpci_gpu_create("opencl", &params);
		struct rpci_gpu *b = rpci_gpu_create("opencl", &params);

		CU_ASSERT_PTR_NOT_NULL(a);
		CU_ASSERT_PTR_NOT_NULL(b);
		CU_ASSERT_PTR_NOT_EQUAL(a, b);
		rpci_gpu_destroy(a);
		rpci_gpu_destroy(b);
	}

	/* bad parameters: EINVAL, nothing left */
	params.memory_bytes = 0;
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_create("opencl", &params));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params.memory_bytes = 1ull << 52; /* more than one buffer may hold */
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_create("opencl", &params));
	CU_ASSERT_EQUAL(errno, EINVAL);
	params.memory_bytes = MiB;
	params.slowdown = 3.0;
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_gpu_create("opencl", &params));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* threads is the cpu backend's and ignored; slowdown 0 means unset */
	params.slowdown = 0.0;
	params.threads = 7;
	gpu = rpci_gpu_create("opencl", &params);
	CU_ASSERT_PTR_NOT_NULL(gpu);
	rpci_gpu_destroy(gpu);
	rpci_gpu_destroy(NULL);
}

static void
test_info(void)
{
	struct rpci_gpu_info info;
	struct env env;
	char name[256];
	cl_uint units = 0;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	memset(&info, 0xa5, sizeof(info));
	CU_ASSERT_EQUAL(env.gpu->ops->info(env.dev, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.backend, "opencl");
	CU_ASSERT_EQUAL(info.module_kinds, 1u << RPCI_GPU_MODULE_OPENCL);
	CU_ASSERT_EQUAL(info.nb_builtins, 0);
	CU_ASSERT(strlen(info.device_name) > 0);
	CU_ASSERT(strlen(info.device_name) < sizeof(info.device_name));
	/* what the device itself says */
	CU_ASSERT_EQUAL(clGetDeviceInfo(env.dev->device, CL_DEVICE_NAME, sizeof(name), name, NULL),
			CL_SUCCESS);
	CU_ASSERT_PTR_NOT_NULL(strstr(name, info.device_name));
	CU_ASSERT_EQUAL(clGetDeviceInfo(env.dev->device, CL_DEVICE_MAX_COMPUTE_UNITS,
					sizeof(units), &units, NULL), CL_SUCCESS);
	CU_ASSERT_EQUAL(info.compute_units, units);
	CU_ASSERT(info.compute_units > 0);
	/* the base address alignment, for the device model's allocator: a power of two */
	CU_ASSERT_EQUAL(info.mem_align, env.dev->align);
	CU_ASSERT(info.mem_align != 0 && (info.mem_align & (info.mem_align - 1)) == 0);
	CU_ASSERT_EQUAL(env.gpu->ops->info(env.dev, NULL), -EINVAL);
	printf("\n  device: %s, %u compute units, sub-buffer alignment %" PRIu64
	       " bytes, %s memory\n", info.device_name, info.compute_units, env.dev->align,
	       env.dev->unified ? "host-unified" : "discrete");
	env_close(&env);
}

/* Write, read and fill at offsets that are not aligned, then the bounds. */
static void
mem_exercise(struct env *env)
{
	const uint64_t size = env->gpu->memory_bytes;
	static const uint64_t offsets[] = { 0, 1, 255, 4096, 100003 };
	static const size_t lens[] = { 1, 3, 64, 4097, 200000 };
	uint8_t *src = malloc(200000), *dst = malloc(200000);
	uint64_t state = 7;
	size_t i, j, k;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dst);

	/* memory reads as zeros at first, at the start and at the end */
	memset(dst, 0xff, 4096);
	env_get(env, 0, dst, 4096);
	for (ok = true, k = 0; k < 4096; k++) {
		ok = ok && dst[k] == 0;
	}
	CU_ASSERT(ok);
	memset(dst, 0xff, 4096);
	env_get(env, size - 4096, dst, 4096);
	for (ok = true, k = 0; k < 4096; k++) {
		ok = ok && dst[k] == 0;
	}
	CU_ASSERT(ok);

	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			for (k = 0; k < lens[j]; k++) {
				src[k] = (uint8_t)rng_next(&state);
			}
			env_put(env, offsets[i], src, lens[j]);
			memset(dst, 0, lens[j]);
			env_get(env, offsets[i], dst, lens[j]);
			CU_ASSERT(memcmp(src, dst, lens[j]) == 0);
		}
	}

	/* a fill changes its range only, whatever its alignment */
	for (k = 0; k < 1000; k++) {
		src[k] = (uint8_t)(k * 7 + 1);
	}
	env_put(env, 1000, src, 1000);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env->gpu, 1003, 0x5a, 989), 0);
	env_get(env, 1000, dst, 1000);
	for (ok = true, k = 0; k < 1000; k++) {
		ok = ok && dst[k] == (k >= 3 && k < 992 ? 0x5a : src[k]);
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env->gpu, 0, 0xc3, (size_t)size), 0);
	env_get(env, size - 1000, dst, 1000);
	for (ok = true, k = 0; k < 1000; k++) {
		ok = ok && dst[k] == 0xc3;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env->gpu, 0, 0, (size_t)size), 0);

	/* bounds: nothing is copied outside memory */
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env->gpu, size - 3, src, 4), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env->gpu, size, dst, 1), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env->gpu, size + 1, 0, 0), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env->gpu, UINT64_MAX, dst, 2), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env->gpu, size, dst, 0), 0);
	/* the ops themselves refuse too */
	CU_ASSERT_EQUAL(env->gpu->ops->mem_write(env->dev, size - 1, src, 2), -EFAULT);
	CU_ASSERT_EQUAL(env->gpu->ops->mem_read(env->dev, size + 1, dst, 0), -EFAULT);
	CU_ASSERT_EQUAL(env->gpu->ops->mem_fill(env->dev, 1, 0, (size_t)size), -EFAULT);
	memset(dst, 0xff, 8);
	env_get(env, size - 8, dst, 8);
	for (ok = true, k = 0; k < 8; k++) {
		ok = ok && dst[k] == 0;
	}
	CU_ASSERT(ok);
	free(src);
	free(dst);
}

static void
test_mem_mapped(void)
{
	struct env env;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mem_exercise(&env);
	env_close(&env);
}

static void
test_mem_commands(void)
{
	struct env env;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	env_use_commands(&env);
	mem_exercise(&env);
	env_close(&env);
}

static void
test_modules(void)
{
	static const char bad[] = "__kernel void broken(__global float *x)\n"
				  "{\n"
				  "	x[0] = undeclared_thing + 1.0f;\n"
				  "}\n";
	char log[LOG_LEN];
	struct env env;
	void *mod = NULL, *mod2, *fn = NULL;
	int rc;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	/* a build error: -EINVAL and the compiler's log, naming the problem */
	memset(log, 'x', sizeof(log));
	rc = env.gpu->ops->module_load(env.dev, RPCI_GPU_MODULE_OPENCL, bad, strlen(bad), &mod,
				       log, sizeof(log));
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(memchr(log, '\0', sizeof(log)));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "undeclared_thing"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "error"));
	/* a short log buffer still gets a NUL-terminated start */
	memset(log, 'x', sizeof(log));
	rc = env.gpu->ops->module_load(env.dev, RPCI_GPU_MODULE_OPENCL, bad, strlen(bad), &mod,
				       log, 8);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_EQUAL(strlen(log), 7);
	/* no log buffer at all */
	rc = env.gpu->ops->module_load(env.dev, RPCI_GPU_MODULE_OPENCL, bad, strlen(bad), &mod,
				       NULL, 0);
	CU_ASSERT_EQUAL(rc, -EINVAL);

	/* other kinds, an empty source */
	rc = env.gpu->ops->module_load(env.dev, RPCI_GPU_MODULE_BUILTIN, NULL, 0, &mod, log,
				       sizeof(log));
	CU_ASSERT_EQUAL(rc, -ENOTSUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "OpenCL C"));
	rc = env.gpu->ops->module_load(env.dev, RPCI_GPU_MODULE_PTX, "x", 1, &mod, log,
				       sizeof(log));
	CU_ASSERT_EQUAL(rc, -ENOTSUP);
	rc = env.gpu->ops->module_load(env.dev, RPCI_GPU_MODULE_OPENCL, NULL, 0, &mod, log,
				       sizeof(log));
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT(strlen(log) > 0);

	/* a good build: the log is a string (maybe empty); functions by name */
	memset(log, 'x', sizeof(log));
	rc = env.gpu->ops->module_load(env.dev, RPCI_GPU_MODULE_OPENCL, g_probe_source,
				       strlen(g_probe_source), &mod, log, sizeof(log));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(memchr(log, '\0', sizeof(log)));
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.dev, mod, "geometry", &fn), 0);
	CU_ASSERT_PTR_NOT_NULL(fn);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.dev, mod, "no_such_kernel", &fn),
			-ENOENT);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.dev, mod, "", &fn), -ENOENT);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.dev, mod, "geometr", &fn), -ENOENT);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.dev, NULL, "geometry", &fn), -EINVAL);
	/* the same function twice: two handles, both good */
	fn = env_fn(&env, mod, "fill");
	{
		void *fn2 = env_fn(&env, mod, "fill");
		uint64_t d = env_alloc(&env, 64);
		struct rpci_gpu_arg args[] = { a_ptr(d), a_u32(16), a_u32(9) };
		uint32_t got[16];

		CU_ASSERT_PTR_NOT_EQUAL(fn, fn2);
		CU_ASSERT_EQUAL(env_launch(&env, fn2, 1, 1, 1, 16, 1, 1, args, 3), 0);
		env_get(&env, d, got, sizeof(got));
		CU_ASSERT_EQUAL(got[0], 9);
		CU_ASSERT_EQUAL(got[15], 9);
	}

	/* a second module alongside; unloading one leaves the other */
	mod2 = env_load(&env, g_probe_source, strlen(g_probe_source));
	env.gpu->ops->module_unload(env.dev, mod);
	fn = env_fn(&env, mod2, "fill");
	{
		uint64_t d = env_alloc(&env, 64);
		struct rpci_gpu_arg args[] = { a_ptr(d), a_u32(16), a_u32(4) };
		uint32_t got[16];

		CU_ASSERT_EQUAL(env_launch(&env, fn, 1, 1, 1, 16, 1, 1, args, 3), 0);
		env_get(&env, d, got, sizeof(got));
		CU_ASSERT_EQUAL(got[7], 4);
	}
	/* a module left loaded is freed by destroy */
	env_close(&env);
}

static void
test_saxpy(void)
{
	static const uint32_t sizes[] = { 1, 3, 1000, 4097, 100003 };
	struct env env;
	void *mod, *fn;
	size_t s, i;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mod = env_load_file(&env, "saxpy.cl");
	fn = mod != NULL ? env_fn(&env, mod, "saxpy") : NULL;
	if (fn == NULL) {
		env_close(&env);
		return;
	}
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s];
		float *x = malloc(n * 4ul), *y = malloc(n * 4ul), *out = malloc(n * 4ul);
		uint64_t state = 100 + s, dx, dy;
		float alpha = 1.7f;
		bool ok = true;
		int pass;

		CU_ASSERT_PTR_NOT_NULL_FATAL(x && y && out);
		for (pass = 0; pass < 2; pass++) {
			/* pass 0: integer-valued data, exact; pass 1: random floats */
			for (i = 0; i < n; i++) {
				x[i] = pass == 0 ? rng_small(&state) : rng_float(&state);
				y[i] = pass == 0 ? rng_small(&state) : rng_float(&state);
			}
			env.next = 0;
			dx = env_alloc(&env, n * 4ul);
			dy = env_alloc(&env, n * 4ul);
			env_put(&env, dx, x, n * 4ul);
			env_put(&env, dy, y, n * 4ul);
			{
				struct rpci_gpu_arg args[] = {
					a_f32(pass == 0 ? 3.0f : alpha), a_ptr(dx), a_ptr(dy),
					a_u32(n),
				};

				CU_ASSERT_EQUAL(env_launch(&env, fn, div_up(n, 64), 1, 1, 64, 1, 1,
							   args, 4), 0);
			}
			env_get(&env, dy, out, n * 4ul);
			for (i = 0; i < n; i++) {
				float a = pass == 0 ? 3.0f : alpha;
				double want = (double)a * x[i] + y[i];
				double bound = pass == 0 ? 0.0 :
					2.0 * FLT_EPSILON * (fabs(a * x[i]) + fabs(y[i]));

				ok = ok && fabs(out[i] - want) <= bound;
			}
		}
		CU_ASSERT(ok);
		free(x);
		free(y);
		free(out);
	}
	env_close(&env);
}

/* C = alpha * A.B + beta * C on the tiled kernel with ts x ts tiles; true if it matched. */
static bool
sgemm_case(struct env *env, void *fn, uint32_t m, uint32_t n, uint32_t k, uint32_t ts,
	   bool exact, float beta)
{
	float *A = malloc(sizeof(float) * m * k), *B = malloc(sizeof(float) * k * n);
	float *C = malloc(sizeof(float) * m * n), *out = malloc(sizeof(float) * m * n);
	float alpha = exact ? 2.0f : 1.25f;
	uint64_t state = m * 1000003ull + n * 1009ull + k, dA, dB, dC;
	bool ok = true;
	uint32_t i, j, p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(A && B && C && out);
	for (i = 0; i < m * k; i++) {
		A[i] = exact ? rng_small(&state) : rng_float(&state);
	}
	for (i = 0; i < k * n; i++) {
		B[i] = exact ? rng_small(&state) : rng_float(&state);
	}
	for (i = 0; i < m * n; i++) {
		/* with beta 0, C is not read: NaN must not come through */
		C[i] = beta == 0.0f ? NAN : (exact ? rng_small(&state) : rng_float(&state));
	}
	env->next = 0;
	dA = env_alloc(env, sizeof(float) * m * k);
	dB = env_alloc(env, sizeof(float) * k * n);
	dC = env_alloc(env, sizeof(float) * m * n);
	env_put(env, dA, A, sizeof(float) * m * k);
	env_put(env, dB, B, sizeof(float) * k * n);
	env_put(env, dC, C, sizeof(float) * m * n);
	{
		struct rpci_gpu_arg args[] = {
			a_ptr(dA), a_ptr(dB), a_ptr(dC), a_u32(m), a_u32(n), a_u32(k),
			a_f32(alpha), a_f32(beta),
			a_local((uint16_t)(ts * ts * 4)), a_local((uint16_t)(ts * ts * 4)),
		};

		CU_ASSERT_EQUAL(env_launch(env, fn, div_up(n, ts), div_up(m, ts), 1, ts, ts, 1,
					   args, 10), 0);
	}
	env_get(env, dC, out, sizeof(float) * m * n);
	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			double acc = 0.0, mag = 0.0, cterm, want, bound;

			for (p = 0; p < k; p++) {
				acc += (double)A[i * k + p] * B[p * n + j];
				mag += fabs((double)A[i * k + p] * B[p * n + j]);
			}
			cterm = beta == 0.0f ? 0.0 : (double)beta * C[i * n + j];
			want = alpha * acc + cterm;
			bound = exact ? 0.0 :
				(2.0 * k + 4.0) * FLT_EPSILON * (fabs(alpha) * mag + fabs(cterm));
			if (!(fabs(out[i * n + j] - want) <= bound)) {
				if (ok) {
					printf("\n  sgemm %ux%ux%u ts %u: C[%u][%u] = %.9g, "
					       "want %.9g\n", m, n, k, ts, i, j, out[i * n + j],
					       want);
				}
				ok = false;
			}
		}
	}
	free(A);
	free(B);
	free(C);
	free(out);
	return ok;
}

static void
test_sgemm_tiled(void)
{
	static const uint32_t shapes[][3] = {
		{ 1, 1, 1 }, { 3, 5, 7 }, { 16, 16, 16 }, { 17, 15, 33 }, { 65, 33, 17 },
		{ 127, 200, 31 }, { 64, 64, 64 },
	};
	struct env env;
	void *mod, *fn;
	size_t s;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mod = env_load_file(&env, "sgemm_tiled.cl");
	fn = mod != NULL ? env_fn(&env, mod, "sgemm_tiled") : NULL;
	if (fn == NULL) {
		env_close(&env);
		return;
	}
	for (s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		CU_ASSERT(sgemm_case(&env, fn, shapes[s][0], shapes[s][1], shapes[s][2], 16, true,
				     3.0f));
		CU_ASSERT(sgemm_case(&env, fn, shapes[s][0], shapes[s][1], shapes[s][2], 8, false,
				     0.5f));
	}
	CU_ASSERT(sgemm_case(&env, fn, 33, 47, 29, 4, true, 0.0f));
	CU_ASSERT(sgemm_case(&env, fn, 100, 90, 80, 16, false, 0.0f));
	env_close(&env);
}

static void
test_histogram(void)
{
	static const uint32_t sizes[] = { 1, 255, 4096, 100003 };
	static const uint32_t groups[] = { 1, 3, 16 };
	struct env env;
	void *mod, *fn;
	size_t s, g, i;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mod = env_load_file(&env, "histogram.cl");
	fn = mod != NULL ? env_fn(&env, mod, "histogram") : NULL;
	if (fn == NULL) {
		env_close(&env);
		return;
	}
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
			uint32_t n = sizes[s], want[256], got[256];
			uint8_t *data = malloc(n);
			uint64_t state = n + g, dd, db;

			CU_ASSERT_PTR_NOT_NULL_FATAL(data);
			memset(want, 0, sizeof(want));
			for (i = 0; i < n; i++) {
				/* skewed, so that some bins see many atomics at once */
				data[i] = (uint8_t)(i % 3 == 0 ? 42 : rng_next(&state));
				want[data[i]]++;
			}
			/* bins start at 1000 each: the kernel adds to them */
			for (i = 0; i < 256; i++) {
				got[i] = 1000;
				want[i] += 1000;
			}
			env.next = 0;
			dd = env_alloc(&env, n);
			db = env_alloc(&env, sizeof(got));
			env_put(&env, dd, data, n);
			env_put(&env, db, got, sizeof(got));
			{
				struct rpci_gpu_arg args[] = {
					a_ptr(dd), a_u32(n), a_ptr(db), a_local(256 * 4),
				};

				CU_ASSERT_EQUAL(env_launch(&env, fn, groups[g], 1, 1, 128, 1, 1,
							   args, 4), 0);
			}
			env_get(&env, db, got, sizeof(got));
			CU_ASSERT(memcmp(got, want, sizeof(got)) == 0);
			free(data);
		}
	}
	env_close(&env);
}

/* Exclusive scan reference (wrapping). */
static void
scan_ref(const uint32_t *in, uint32_t *out, uint32_t n)
{
	uint32_t acc = 0, i;

	for (i = 0; i < n; i++) {
		out[i] = acc;
		acc += in[i];
	}
}

static void
test_prefix_sum(void)
{
	static const uint32_t sizes[] = { 1, 127, 128, 129, 1000, 100003 };
	const uint32_t l = 64, chunk = 2 * 64;
	struct env env;
	void *mod, *single, *blocks, *add;
	size_t s, i;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mod = env_load_file(&env, "prefix_sum.cl");
	single = mod != NULL ? env_fn(&env, mod, "prefix_sum") : NULL;
	blocks = mod != NULL ? env_fn(&env, mod, "scan_blocks") : NULL;
	add = mod != NULL ? env_fn(&env, mod, "scan_add") : NULL;
	if (single == NULL || blocks == NULL || add == NULL) {
		env_close(&env);
		return;
	}
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s], nb_chunks = div_up(n, chunk);
		uint32_t *in = malloc(n * 4ul), *want = malloc(n * 4ul), *got = malloc(n * 4ul);
		uint64_t state = n, din, dout, dsums;

		CU_ASSERT_PTR_NOT_NULL_FATAL(in && want && got);
		for (i = 0; i < n; i++) {
			in[i] = (uint32_t)rng_next(&state); /* the sums wrap */
		}
		scan_ref(in, want, n);
		env.next = 0;
		din = env_alloc(&env, n * 4ul);
		dout = env_alloc(&env, n * 4ul);
		dsums = env_alloc(&env, nb_chunks * 4ul);
		env_put(&env, din, in, n * 4ul);

		/* one launch, one group carrying across chunks */
		{
			struct rpci_gpu_arg args[] = {
				a_ptr(din), a_ptr(dout), a_u32(n), a_local(chunk * 4),
			};

			CU_ASSERT_EQUAL(env_launch(&env, single, 1, 1, 1, l, 1, 1, args, 4), 0);
		}
		memset(got, 0, n * 4ul);
		env_get(&env, dout, got, n * 4ul);
		CU_ASSERT(memcmp(got, want, n * 4ul) == 0);

		/* three launches from the host, every group busy */
		CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, dout, 0, n * 4ul), 0);
		{
			struct rpci_gpu_arg a1[] = {
				a_ptr(din), a_ptr(dout), a_ptr(dsums), a_u32(n), a_local(chunk * 4),
			};
			struct rpci_gpu_arg a2[] = {
				a_ptr(dsums), a_ptr(dsums), a_u32(nb_chunks), a_local(chunk * 4),
			};
			struct rpci_gpu_arg a3[] = {
				a_ptr(dout), a_ptr(dsums), a_u32(n), a_u32(chunk),
			};

			CU_ASSERT_EQUAL(env_launch(&env, blocks, nb_chunks, 1, 1, l, 1, 1, a1, 5),
					0);
			CU_ASSERT_EQUAL(env_launch(&env, single, 1, 1, 1, l, 1, 1, a2, 4), 0);
			CU_ASSERT_EQUAL(env_launch(&env, add, div_up(n, 256), 1, 1, 256, 1, 1, a3,
						   4), 0);
		}
		memset(got, 0, n * 4ul);
		env_get(&env, dout, got, n * 4ul);
		CU_ASSERT(memcmp(got, want, n * 4ul) == 0);

		/* in place */
		{
			struct rpci_gpu_arg args[] = {
				a_ptr(din), a_ptr(din), a_u32(n), a_local(chunk * 4),
			};

			CU_ASSERT_EQUAL(env_launch(&env, single, 1, 1, 1, l, 1, 1, args, 4), 0);
		}
		env_get(&env, din, got, n * 4ul);
		CU_ASSERT(memcmp(got, want, n * 4ul) == 0);
		free(in);
		free(want);
		free(got);
	}
	env_close(&env);
}

static void
test_geometry(void)
{
	/* grid, block, then dims, global sizes and local sizes expected */
	static const uint32_t cases[][13] = {
		{ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
		{ 3, 1, 1, 4, 1, 1, 1, 12, 1, 1, 4, 1, 1 },
		{ 1, 1, 1, 8, 1, 1, 1, 8, 1, 1, 8, 1, 1 },
		{ 2, 3, 1, 4, 2, 1, 2, 8, 6, 1, 4, 2, 1 },
		{ 1, 2, 1, 1, 1, 1, 2, 1, 2, 1, 1, 1, 1 },
		{ 2, 1, 3, 2, 2, 1, 3, 4, 2, 3, 2, 2, 1 },
		{ 1, 1, 2, 1, 1, 1, 3, 1, 1, 2, 1, 1, 1 },
	};
	struct env env;
	void *mod, *fn;
	uint64_t d;
	size_t c;
	int i;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mod = env_load(&env, g_probe_source, strlen(g_probe_source));
	fn = mod != NULL ? env_fn(&env, mod, "geometry") : NULL;
	if (fn == NULL) {
		env_close(&env);
		return;
	}
	d = env_alloc(&env, 64);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const uint32_t *k = cases[c];
		struct rpci_gpu_arg args[] = { a_ptr(d) };
		uint32_t out[11];

		CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, d, 0, sizeof(out)), 0);
		CU_ASSERT_EQUAL(env_launch(&env, fn, k[0], k[1], k[2], k[3], k[4], k[5], args, 1),
				0);
		env_get(&env, d, out, sizeof(out));
		CU_ASSERT_EQUAL(out[0], k[6]);
		for (i = 0; i < 3; i++) {
			CU_ASSERT_EQUAL(out[1 + i], k[7 + i]);
			CU_ASSERT_EQUAL(out[4 + i], k[10 + i]);
			CU_ASSERT_EQUAL(out[7 + i], k[i]);
		}
		/* every work item ran once */
		CU_ASSERT_EQUAL(out[10], k[7] * k[8] * k[9]);
	}
	env_close(&env);
}

static void
test_scalars_and_local(void)
{
	struct env env;
	void *mod, *fn;
	uint64_t d, din, dout;
	uint64_t out[7];
	uint32_t in[64], got[64], i;
	float f = -2.75f;
	uint32_t fbits;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mod = env_load(&env, g_probe_source, strlen(g_probe_source));
	fn = mod != NULL ? env_fn(&env, mod, "scalars") : NULL;
	if (fn == NULL) {
		env_close(&env);
		return;
	}
	memcpy(&fbits, &f, sizeof(fbits));
	d = env_alloc(&env, sizeof(out));
	{
		/* each value in the low bytes; the bytes above must not matter */
		struct rpci_gpu_arg args[] = {
			a_ptr(d), a_scalar(1, 0xffffff00000000c8ull),
			a_scalar(2, 0xabcd0000beefull),
			a_scalar(4, 0x1234567890abcdefull), a_scalar(8, 0xfedcba9876543210ull),
			a_scalar(4, fbits), a_scalar(4, (uint32_t)-5), a_scalar(8, (uint64_t)-7),
		};

		CU_ASSERT_EQUAL(env_launch(&env, fn, 1, 1, 1, 1, 1, 1, args, 8), 0);
	}
	env_get(&env, d, out, sizeof(out));
	CU_ASSERT_EQUAL(out[0], 0xc8);
	CU_ASSERT_EQUAL(out[1], 0xbeef);
	CU_ASSERT_EQUAL(out[2], 0x90abcdefull);
	CU_ASSERT_EQUAL(out[3], 0xfedcba9876543210ull);
	CU_ASSERT_EQUAL(out[4], fbits);
	CU_ASSERT_EQUAL(out[5], (uint64_t)-5);
	CU_ASSERT_EQUAL(out[6], (uint64_t)-7);

	/* two local buffers of the group's size: each group reverses its part */
	fn = env_fn(&env, mod, "reverse");
	for (i = 0; i < 64; i++) {
		in[i] = i * 3 + 1;
	}
	din = env_alloc(&env, sizeof(in));
	dout = env_alloc(&env, sizeof(got));
	env_put(&env, din, in, sizeof(in));
	{
		struct rpci_gpu_arg args[] = { a_ptr(din), a_ptr(dout), a_local(16 * 4),
					       a_local(16 * 4) };

		CU_ASSERT_EQUAL(env_launch(&env, fn, 4, 1, 1, 16, 1, 1, args, 4), 0);
	}
	env_get(&env, dout, got, sizeof(got));
	for (i = 0; i < 64; i++) {
		uint32_t src = in[(i / 16) * 16 + 15 - i % 16];

		CU_ASSERT_EQUAL(got[i], src * 3);
	}
	env_close(&env);
}

static void
test_arg_errors(void)
{
	struct env env;
	void *mod, *fill, *rev;
	uint64_t size, d, before[4] = { 1, 2, 3, 4 }, after[4];
	struct rpci_gpu_launch l = { .grid = { 1, 1, 1 }, .block = { 4, 1, 1 } };

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	size = env.gpu->memory_bytes;
	mod = env_load(&env, g_probe_source, strlen(g_probe_source));
	fill = mod != NULL ? env_fn(&env, mod, "fill") : NULL;
	rev = mod != NULL ? env_fn(&env, mod, "reverse") : NULL;
	if (fill == NULL || rev == NULL) {
		env_close(&env);
		return;
	}
	d = env_alloc(&env, sizeof(before));
	env_put(&env, d, before, sizeof(before));
	{
		/* fill(__global uint *out, uint n, uint value) */
		struct rpci_gpu_arg good[] = { a_ptr(d), a_u32(8), a_u32(0x77) };
		struct rpci_gpu_arg ptr_for_scalar[] = { a_ptr(d), a_ptr(d), a_u32(0x77) };
		struct rpci_gpu_arg scalar_for_ptr[] = { a_u32(8), a_u32(8), a_u32(0x77) };
		struct rpci_gpu_arg scalar64_for_ptr[] = { a_scalar(8, d), a_u32(8), a_u32(1) };
		struct rpci_gpu_arg local_for_ptr[] = { a_local(64), a_u32(8), a_u32(1) };
		struct rpci_gpu_arg wrong_size[] = { a_ptr(d), a_scalar(2, 8), a_u32(1) };
		struct rpci_gpu_arg odd_size[] = { a_ptr(d), a_scalar(3, 8), a_u32(1) };
		struct rpci_gpu_arg bad_kind[] = { a_ptr(d), a_u32(8), a_u32(1) };
		struct rpci_gpu_arg beyond[] = { a_ptr(size + TEST_ALIGN), a_u32(8), a_u32(1) };
		struct rpci_gpu_arg far_beyond[] = { a_ptr(UINT64_MAX & ~255ull), a_u32(0),
						     a_u32(1) };
		struct rpci_gpu_arg at_end[] = { a_ptr(size), a_u32(0), a_u32(1) };
		struct rpci_gpu_arg last[] = { a_ptr(size - TEST_ALIGN), a_u32(64), a_u32(5) };

		bad_kind[1].kind = 9;
		/* count against CL_KERNEL_NUM_ARGS */
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, good, 2), -EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, good, 0), -EINVAL);
		{
			struct rpci_gpu_arg four[] = { a_ptr(d), a_u32(8), a_u32(1), a_u32(1) };

			CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, four, 4),
					-EINVAL);
		}
		/* kinds and sizes that do not fit the kernel */
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, ptr_for_scalar, 3),
				-EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, scalar_for_ptr, 3),
				-EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, scalar64_for_ptr, 3),
				-EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, local_for_ptr, 3),
				-EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, wrong_size, 3), -EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, odd_size, 3), -EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, bad_kind, 3), -EINVAL);
		/* device addresses outside memory */
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, beyond, 3), -EFAULT);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, far_beyond, 3), -EFAULT);
		/* the end of memory is an address (of nothing) */
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, at_end, 3), 0);
		/* the last bytes of memory are reachable */
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 64, 1, 1, last, 3), 0);
		{
			uint32_t tail[64];
			int i;
			bool ok = true;

			env_get(&env, size - TEST_ALIGN, tail, sizeof(tail));
			for (i = 0; i < 64; i++) {
				ok = ok && tail[i] == 5;
			}
			CU_ASSERT(ok);
		}
		/* a misaligned device address, if the device has an alignment */
		if (env.dev->align > 1) {
			struct rpci_gpu_arg misaligned[] = { a_ptr(d + env.dev->align / 2),
							     a_u32(1), a_u32(1) };

			CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, misaligned, 3),
					-EINVAL);
		}
		/* geometry */
		CU_ASSERT_EQUAL(env_launch(&env, fill, 0, 1, 1, 4, 1, 1, good, 3), -EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 0, 1, good, 3), -EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 1u << 30, 1, 1, good, 3),
				-EINVAL);
		/* bad handles and launch */
		CU_ASSERT_EQUAL(env.gpu->ops->launch(env.dev, NULL, &l), -EINVAL);
		CU_ASSERT_EQUAL(env.gpu->ops->launch(env.dev, mod, &l), -EINVAL);
		CU_ASSERT_EQUAL(env.gpu->ops->launch(env.dev, fill, NULL), -EINVAL);
		l.nb_args = 3;
		l.args = NULL;
		CU_ASSERT_EQUAL(env.gpu->ops->launch(env.dev, fill, &l), -EINVAL);

		/* none of these wrote anything */
		env_get(&env, d, after, sizeof(after));
		CU_ASSERT(memcmp(before, after, sizeof(after)) == 0);
		/* and the function still works */
		CU_ASSERT_EQUAL(env_launch(&env, fill, 1, 1, 1, 4, 1, 1, good, 3), 0);
		env_get(&env, d, after, sizeof(after));
		CU_ASSERT_EQUAL(((uint32_t *)after)[3], 0x77);
		CU_ASSERT_EQUAL(((uint32_t *)after)[4], 3); /* the work items past 4 did not run */
	}
	{
		/* reverse(in, out, __local a, __local b) */
		struct rpci_gpu_arg zero_local[] = { a_ptr(d), a_ptr(d), a_local(0), a_local(64) };
		struct rpci_gpu_arg ptr_for_local[] = { a_ptr(d), a_ptr(d), a_ptr(d), a_local(64) };
		struct rpci_gpu_arg scalar_for_local[] = { a_ptr(d), a_ptr(d), a_u32(64),
							   a_local(64) };
		struct rpci_gpu_arg too_much[] = { a_ptr(d), a_ptr(d), a_local(64), a_local(64) };
		uint64_t local_mem = env.dev->local_mem;

		CU_ASSERT_EQUAL(env_launch(&env, rev, 1, 1, 1, 4, 1, 1, zero_local, 4), -EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, rev, 1, 1, 1, 4, 1, 1, ptr_for_local, 4),
				-EINVAL);
		CU_ASSERT_EQUAL(env_launch(&env, rev, 1, 1, 1, 4, 1, 1, scalar_for_local, 4),
				-EINVAL);
		/* more local memory than the device has */
		env.dev->local_mem = 100;
		CU_ASSERT_EQUAL(env_launch(&env, rev, 1, 1, 1, 4, 1, 1, too_much, 4), -EINVAL);
		env.dev->local_mem = local_mem;
		CU_ASSERT_EQUAL(env_launch(&env, rev, 1, 1, 1, 4, 1, 1, too_much, 4), 0);
	}
	env_close(&env);
}

/* Copies from another thread while kernels run, as the device model's poller may do. */
struct copier {
	struct env *env;
	uint64_t addr;
	volatile bool stop;
	int errors;
	unsigned int rounds;
};

static void *
copier_main(void *arg)
{
	struct copier *c = arg;
	uint8_t buf[1408], back[1408];
	unsigned int i;

	while (!c->stop) {
		for (i = 0; i < sizeof(buf); i++) {
			buf[i] = (uint8_t)(c->rounds + i);
		}
		if (rpci_gpu_mem_write(c->env->gpu, c->addr, buf, sizeof(buf)) < 0 ||
		    rpci_gpu_mem_read(c->env->gpu, c->addr, back, sizeof(back)) < 0 ||
		    memcmp(buf, back, sizeof(buf)) != 0) {
			c->errors++;
		}
		c->rounds++;
	}
	return NULL;
}

static void
test_copies_during_launches(void)
{
	struct copier c;
	struct env env;
	pthread_t thread;
	void *mod, *fn;
	uint64_t d;
	uint32_t got[1024];
	int i, bad = 0;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	mod = env_load(&env, g_probe_source, strlen(g_probe_source));
	fn = mod != NULL ? env_fn(&env, mod, "fill") : NULL;
	if (fn == NULL) {
		env_close(&env);
		return;
	}
	d = env_alloc(&env, sizeof(got));
	memset(&c, 0, sizeof(c));
	c.env = &env;
	c.addr = env_alloc(&env, 4096);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&thread, NULL, copier_main, &c), 0);
	for (i = 0; i < 50; i++) {
		struct rpci_gpu_arg args[] = { a_ptr(d), a_u32(1024), a_u32((uint32_t)i) };

		CU_ASSERT_EQUAL(env_launch(&env, fn, 4, 1, 1, 256, 1, 1, args, 3), 0);
		env_get(&env, d, got, sizeof(got));
		bad += got[0] != (uint32_t)i || got[1023] != (uint32_t)i;
	}
	c.stop = true;
	pthread_join(thread, NULL);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(c.errors, 0);
	CU_ASSERT(c.rounds > 0);
	env_close(&env);
}

/* ------------------------------------------------------- what OpenCL clients need */

/* An entry of an info block (rpci_vgpu_hw.h), or NULL; *len its length. */
static const uint8_t *
block_find(const uint8_t *b, size_t size, uint32_t key, uint32_t *len)
{
	struct rpci_vgpu_info_hdr h;
	size_t off = sizeof(h);
	uint32_t i;

	memcpy(&h, b, sizeof(h));
	for (i = 0; i < h.count && off + 8 <= size; i++) {
		struct rpci_vgpu_info_ent e;

		memcpy(&e, b + off, sizeof(e));
		if (e.key == key) {
			*len = e.len;
			return b + off + 8;
		}
		off += 8 + ((e.len + 3) & ~3u);
	}
	return NULL;
}

static uint64_t
block_u64(const uint8_t *b, size_t size, uint32_t key)
{
	uint32_t len = 0;
	const uint8_t *v = block_find(b, size, key, &len);
	uint64_t x = 0;

	if (v != NULL && len <= 8) {
		memcpy(&x, v, len);
	}
	return x;
}

static const char g_client_source[] =
	"typedef struct { int a; int b; } pair_t;\n"
	"__kernel void k(__global int *x, int3 v, pair_t s, __local int *l)\n"
	"{\n"
	"	l[get_local_id(0)] = V;\n"
	"	barrier(CLK_LOCAL_MEM_FENCE);\n"
	"	x[get_global_id(0)] = l[get_local_id(0)] + v.y + s.b;\n"
	"}\n";

/*
 * The info blocks (device, program, kernel), builds with options and from
 * binaries, the cl_int behind a failure, an NDRange with an offset and no
 * work-group size, values of any size, copies within device memory.
 */
static void
test_client_ops(void)
{
	static uint8_t block[RPCI_VGPU_INFO_MAX];
	const struct rpci_gpu_ops *ops;
	char log[LOG_LEN];
	struct env env;
	size_t size = 0, bin_size = 0;
	uint32_t len = 0, i, v3[4] = { 1, 2, 3, 0 }, pair[2] = { 40, 100 };
	int32_t x[64];
	uint8_t *bin, mem[4096], ref[4096];
	void *mod = NULL, *mod2 = NULL, *fn = NULL;
	struct rpci_gpu_arg args[4];
	struct rpci_gpu_ndrange nd = {
		.dims = 1, .offset = { 8 }, .global = { 16 }, .local = { 4 }, .local_given = true,
	};
	struct rpci_gpu_launch l = { .nb_args = 4, .args = args, .ndrange = &nd };
	uint64_t xa;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	ops = env.gpu->ops;

	/* the device's block: its own answers, memory as the client sees it */
	CU_ASSERT_EQUAL(ops->api_info(env.dev, block, sizeof(block), &size), 0);
	CU_ASSERT(size > 1000 && size <= sizeof(block));
	CU_ASSERT_EQUAL(((const struct rpci_vgpu_info_hdr *)(const void *)block)->magic,
			RPCI_VGPU_INFO_MAGIC);
	CU_ASSERT_PTR_NOT_NULL(block_find(block, size, CL_DEVICE_NAME, &len));
	CU_ASSERT_EQUAL(block_u64(block, size, CL_DEVICE_GLOBAL_MEM_SIZE), TEST_MEMORY);
	CU_ASSERT(block_u64(block, size, CL_DEVICE_MAX_MEM_ALLOC_SIZE) <= TEST_MEMORY);
	CU_ASSERT_PTR_NULL(block_find(block, size, CL_DEVICE_PLATFORM, &len));
	CU_ASSERT_EQUAL(ops->api_info(env.dev, block, 64, &size), -ENOSPC);
	CU_ASSERT(size > 64);

	/* options reach the compiler; without them the build fails with its cl_int */
	CU_ASSERT_EQUAL(ops->module_build(env.dev, RPCI_GPU_MODULE_OPENCL, g_client_source,
					  strlen(g_client_source), "", &mod, log, sizeof(log)),
			-EINVAL);
	CU_ASSERT_EQUAL(ops->api_status(env.dev), CL_BUILD_PROGRAM_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "V"));
	CU_ASSERT_EQUAL(ops->module_build(env.dev, RPCI_GPU_MODULE_OPENCL, g_client_source,
					  strlen(g_client_source), "-DV=5", &mod, log, sizeof(log)),
			0);
	CU_ASSERT_EQUAL(ops->api_status(env.dev), 0);
	CU_ASSERT_EQUAL(ops->module_info(env.dev, mod, 0, block, sizeof(block), &size), 0);
	CU_ASSERT_EQUAL(block_u64(block, size, CL_PROGRAM_NUM_KERNELS), 1);
	CU_ASSERT_EQUAL(ops->function_get(env.dev, mod, "k", &fn), 0);
	CU_ASSERT_EQUAL(ops->function_info(env.dev, fn, 0, block, sizeof(block), &size), 0);
	CU_ASSERT_EQUAL(block_u64(block, size, CL_KERNEL_NUM_ARGS), 4);
	CU_ASSERT_EQUAL(block_u64(block, size, RPCI_VGPU_INFO_ARG(1, RPCI_VGPU_INFO_ARG_SIZE)), 16);
	CU_ASSERT_EQUAL(block_u64(block, size,
				  RPCI_VGPU_INFO_ARG(0, CL_KERNEL_ARG_ADDRESS_QUALIFIER)),
			CL_KERNEL_ARG_ADDRESS_GLOBAL);
	CU_ASSERT(block_u64(block, size, CL_KERNEL_WORK_GROUP_SIZE) >= 1);

	/* an NDRange with an offset, an int3 and a struct by value */
	xa = env_alloc(&env, sizeof(x));
	memset(x, 0, sizeof(x));
	env_put(&env, xa, x, sizeof(x));
	args[0] = a_ptr(xa);
	args[1] = (struct rpci_gpu_arg){ .kind = RPCI_GPU_ARG_BYVAL, .size = 16, .data = v3 };
	args[2] = (struct rpci_gpu_arg){ .kind = RPCI_GPU_ARG_BYVAL, .size = 8, .data = pair };
	args[3] = a_local(16);
	CU_ASSERT_EQUAL(ops->launch(env.dev, fn, &l), 0);
	env_get(&env, xa, x, sizeof(x));
	for (i = 0; i < 64; i++) {
		CU_ASSERT_EQUAL(x[i], i >= 8 && i < 24 ? 5 + 2 + 100 : 0);
	}
	nd.local_given = false; /* the device chooses */
	nd.offset[0] = 32;
	CU_ASSERT_EQUAL(ops->launch(env.dev, fn, &l), 0);
	env_get(&env, xa, x, sizeof(x));
	CU_ASSERT_EQUAL(x[40], 107);
	nd.dims = 4;
	CU_ASSERT_EQUAL(ops->launch(env.dev, fn, &l), -EINVAL);
	CU_ASSERT_EQUAL(ops->api_status(env.dev), CL_INVALID_WORK_DIMENSION);
	nd.dims = 1;
	args[1].data = NULL;
	CU_ASSERT_EQUAL(ops->launch(env.dev, fn, &l), -EINVAL);

	/* the binary, built again; a corrupt one says CL_INVALID_BINARY */
	CU_ASSERT_EQUAL(ops->module_info(env.dev, mod, RPCI_VGPU_INFO_KEY_BINARY, NULL, 0,
					 &bin_size), -ENOSPC);
	CU_ASSERT_FATAL(bin_size > 0);
	bin = malloc(bin_size);
	CU_ASSERT_EQUAL(ops->module_info(env.dev, mod, RPCI_VGPU_INFO_KEY_BINARY, bin, bin_size,
					 &size), 0);
	CU_ASSERT_EQUAL(ops->module_build(env.dev, RPCI_GPU_MODULE_OPENCL_BINARY, bin, bin_size,
					  "", &mod2, log, sizeof(log)), 0);
	CU_ASSERT_EQUAL(ops->function_get(env.dev, mod2, "k", &fn), 0);
	ops->module_unload(env.dev, mod2);
	memset(bin, 0x5a, bin_size < 256 ? bin_size : 256);
	CU_ASSERT(ops->module_build(env.dev, RPCI_GPU_MODULE_OPENCL_BINARY, bin, bin_size, "",
				    &mod2, log, sizeof(log)) < 0);
	CU_ASSERT(ops->api_status(env.dev) < 0);
	free(bin);
	CU_ASSERT_EQUAL(ops->module_load(env.dev, RPCI_GPU_MODULE_OPENCL_BINARY, "x", 1, &mod2,
					 log, sizeof(log)), -ENOTSUP);

	/* copies within device memory, overlapping, on the mapping then by commands */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t a = env_alloc(&env, sizeof(mem));

		for (i = 0; i < sizeof(mem); i++) {
			ref[i] = (uint8_t)(i * 3 + pass);
		}
		env_put(&env, a, ref, sizeof(ref));
		CU_ASSERT_EQUAL(rpci_gpu_mem_copy(env.gpu, a + 100, a + 10, 1000), 0);
		memmove(ref + 100, ref + 10, 1000);
		CU_ASSERT_EQUAL(rpci_gpu_mem_copy(env.gpu, a + 2000, a + 2100, 1000), 0);
		memmove(ref + 2000, ref + 2100, 1000);
		CU_ASSERT_EQUAL(rpci_gpu_mem_copy(env.gpu, a + 3000, a, 512), 0);
		memmove(ref + 3000, ref, 512);
		env_get(&env, a, mem, sizeof(mem));
		CU_ASSERT_EQUAL(memcmp(mem, ref, sizeof(mem)), 0);
		CU_ASSERT_EQUAL(rpci_gpu_mem_copy(env.gpu, TEST_MEMORY - 10, a, 20), -EFAULT);
		env_use_commands(&env);
	}
	env_close(&env);
}

/* A kernel, then a fill of all memory (the device model's reset): zeros everywhere. */
static void
test_reset_after_launch(void)
{
	struct env env;
	void *mod, *fn;
	uint64_t d;
	uint32_t got[256];
	int i, pass;
	bool ok = true;

	if (!env_open(&env, TEST_MEMORY)) {
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			env_use_commands(&env);
		}
		mod = env_load(&env, g_probe_source, strlen(g_probe_source));
		fn = mod != NULL ? env_fn(&env, mod, "fill") : NULL;
		if (fn == NULL) {
			break;
		}
		env.next = 0;
		d = env_alloc(&env, sizeof(got));
		{
			struct rpci_gpu_arg args[] = { a_ptr(d), a_u32(256), a_u32(0xdeadbeef) };

			CU_ASSERT_EQUAL(env_launch(&env, fn, 1, 1, 1, 256, 1, 1, args, 3), 0);
		}
		env.gpu->ops->module_unload(env.dev, mod);
		env_get(&env, d, got, sizeof(got));
		CU_ASSERT_EQUAL(got[255], 0xdeadbeef);
		CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, 0, 0, (size_t)env.gpu->memory_bytes),
				0);
		env_get(&env, d, got, sizeof(got));
		for (i = 0; i < 256; i++) {
			ok = ok && got[i] == 0;
		}
	}
	CU_ASSERT(ok);
	env_close(&env);
}

int
main(void)
{
	struct rpci_gpu_params params = { .memory_bytes = MiB, .threads = 1, .slowdown = 1.0 };
	struct rpci_gpu *probe;
	CU_pSuite suite;
	unsigned int n;

	/* No OpenCL device here: nothing to test, which is not a failure. */
	probe = rpci_gpu_create("opencl", &params);
	if (probe == NULL) {
		printf("no OpenCL device (%s): skipped\n", strerror(errno));
		return 77;
	}
	rpci_gpu_destroy(probe);
	if (!find_kernels_dir()) {
		printf("test/kernels not found (set RPCI_KERNELS_DIR)\n");
		return 1;
	}

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("gpu_opencl", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_create_destroy);
	CU_ADD_TEST(suite, test_info);
	CU_ADD_TEST(suite, test_mem_mapped);
	CU_ADD_TEST(suite, test_mem_commands);
	CU_ADD_TEST(suite, test_modules);
	CU_ADD_TEST(suite, test_saxpy);
	CU_ADD_TEST(suite, test_sgemm_tiled);
	CU_ADD_TEST(suite, test_histogram);
	CU_ADD_TEST(suite, test_prefix_sum);
	CU_ADD_TEST(suite, test_geometry);
	CU_ADD_TEST(suite, test_scalars_and_local);
	CU_ADD_TEST(suite, test_arg_errors);
	CU_ADD_TEST(suite, test_copies_during_launches);
	CU_ADD_TEST(suite, test_reset_after_launch);
	CU_ADD_TEST(suite, test_client_ops);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}
