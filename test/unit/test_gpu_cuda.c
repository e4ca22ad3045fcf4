/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the cuda backend through the public ops (rpci_gpu_create
 * ("cuda", ...)), without a GPU: the backend loads the TEST DOUBLE of the
 * CUDA driver API (cuda_driver_double.c) that RPCI_CUDA_LIBRARY names, and
 * this suite opens the same library to read its call log and steer it
 * (cuda_driver_double.h). The double runs the shipped PTX kernels saxpy
 * and sgemm (RPCI_TEST_KERNELS) on the host, so results are checked end to
 * end. RPCI_CUDA_STUB, when set, names NVIDIA's stub libcuda.so: a real
 * export list, whose cuInit says there is no driver.
 */

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <cuda.h>

#include "cuda_driver_double.h"
#include "rpci_gpu.h"

#define MiB (1024u * 1024u)

/* The double's control API and one of its entry points, by dlsym. */
struct dbl {
	void *lib;
	__typeof__(double_reset) *reset;
	__typeof__(double_calls) *calls;
	__typeof__(double_log_clear) *log_clear;
	__typeof__(double_fail) *fail;
	__typeof__(double_set_devices) *set_devices;
	__typeof__(double_set_memory) *set_memory;
	__typeof__(double_set_param_info) *set_param_info;
	__typeof__(double_host) *host;
	__typeof__(double_live) *live;
	__typeof__(cuMemsetD8) *memset_d8;
};

static struct dbl g_dbl;
static const char *g_kernels_dir;

/* An instance. */
struct env {
	struct rpci_gpu *gpu;
	void *module;
	void *fn;
};

/* --- helpers --- */

/* Names of the calls logged from index `from`, separated by spaces. */
static void
calls_string(unsigned int from, char *buf, size_t len)
{
	const struct double_call *calls;
	unsigned int n = g_dbl.calls(&calls);
	size_t used = 0;
	unsigned int i;
	int w;

	buf[0] = '\0';
	for (i = from; i < n; i++) {
		w = snprintf(buf + used, len - used, "%s%s", used == 0 ? "" : " ", calls[i].name);
		if (w < 0 || (size_t)w >= len - used) {
			break;
		}
		used += (size_t)w;
	}
}

static unsigned int
calls_count(void)
{
	const struct double_call *calls;

	return g_dbl.calls(&calls);
}

/* The nth (0: first) logged call of that name, or NULL. */
static const struct double_call *
call_find(const char *name, unsigned int nth)
{
	const struct double_call *calls;
	unsigned int n = g_dbl.calls(&calls);
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (strcmp(calls[i].name, name) == 0) {
			if (nth == 0) {
				return &calls[i];
			}
			nth--;
		}
	}
	return NULL;
}

/* Like call_find(), but a missing call is a failure and reads as an empty record. */
static const struct double_call *
call_at(const char *name, unsigned int nth)
{
	static const struct double_call none = { .name = "(not called)", .result = -1 };
	const struct double_call *c = call_find(name, nth);

	if (c == NULL) {
		CU_FAIL("an expected driver call was not made");
		return &none;
	}
	return c;
}

/* The first logged call of that name at index from or later, or NULL. */
static const struct double_call *
call_find_from(const char *name, unsigned int from)
{
	const struct double_call *calls;
	unsigned int n = g_dbl.calls(&calls);
	unsigned int i;

	for (i = from; i < n; i++) {
		if (strcmp(calls[i].name, name) == 0) {
			return &calls[i];
		}
	}
	return NULL;
}

static unsigned int
call_count(const char *name)
{
	const struct double_call *calls;
	unsigned int n = g_dbl.calls(&calls);
	unsigned int i, count = 0;

	for (i = 0; i < n; i++) {
		count += strcmp(calls[i].name, name) == 0;
	}
	return count;
}

/* The device address of device memory (the backend's one allocation). */
static CUdeviceptr
dev_base(void)
{
	const struct double_call *c = call_find("cuMemAlloc_v2", 0);

	return c == NULL ? 0 : c->dptr;
}

/* Read a whole file; NOT NUL-terminated, as an image from a client. */
static void *
file_read(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	void *buf = NULL;
	long size;

	snprintf(path, sizeof(path), "%s/%s", g_kernels_dir, name);
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size);
		if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)size;
	}
	fclose(f);
	return buf;
}

/* stderr into a temporary file, to read what the backend said. */
struct capture {
	FILE *tmp;
	int saved;
};

static void
capture_begin(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	c->saved = dup(STDERR_FILENO);
	if (c->tmp != NULL && c->saved >= 0) {
		dup2(fileno(c->tmp), STDERR_FILENO);
	}
}

static void
capture_end(struct capture *c, char *buf, size_t len)
{
	size_t n = 0;

	fflush(stderr);
	if (c->saved >= 0) {
		dup2(c->saved, STDERR_FILENO);
		close(c->saved);
	}
	if (c->tmp != NULL) {
		rewind(c->tmp);
		n = fread(buf, 1, len - 1, c->tmp);
		fclose(c->tmp);
	}
	buf[n] = '\0';
	/* show it in the test's output too */
	fprintf(stderr, "%s", buf);
}

static struct rpci_gpu *
create(uint64_t memory_bytes)
{
	struct rpci_gpu_params params = {
		.memory_bytes = memory_bytes,
		.threads = 1,
		.slowdown = 1.0,
	};

	return rpci_gpu_create("cuda", &params);
}

static bool
env_open(struct env *env, uint64_t memory_bytes)
{
	memset(env, 0, sizeof(*env));
	env->gpu = create(memory_bytes);
	CU_ASSERT_PTR_NOT_NULL(env->gpu);
	return env->gpu != NULL;
}

/* Load a PTX file of test/kernels and get one function of it. */
static int
env_load(struct env *env, const char *file, const char *kernel)
{
	char log[256];
	size_t len = 0;
	void *image;
	int rc;

	image = file_read(file, &len);
	CU_ASSERT_PTR_NOT_NULL(image);
	if (image == NULL) {
		return -ENOENT;
	}
	rc = env->gpu->ops->module_load(env->gpu->priv, RPCI_GPU_MODULE_PTX, image, len,
					&env->module, log, sizeof(log));
	free(image);
	if (rc < 0) {
		return rc;
	}
	return env->gpu->ops->function_get(env->gpu->priv, env->module, kernel, &env->fn);
}

static int
env_load_text(struct env *env, const char *ptx, const char *kernel)
{
	char log[256];
	int rc;

	rc = env->gpu->ops->module_load(env->gpu->priv, RPCI_GPU_MODULE_PTX, ptx, strlen(ptx),
					&env->module, log, sizeof(log));
	if (rc < 0) {
		return rc;
	}
	return env->gpu->ops->function_get(env->gpu->priv, env->module, kernel, &env->fn);
}

static void
env_close(struct env *env)
{
	if (env->gpu == NULL) {
		return;
	}
	if (env->module != NULL) {
		env->gpu->ops->module_unload(env->gpu->priv, env->module);
	}
	rpci_gpu_destroy(env->gpu);
	env->gpu = NULL;
}

static int
env_launch(struct env *env, const uint32_t grid[3], const uint32_t block[3],
	   const struct rpci_gpu_arg *args, uint32_t nb_args)
{
	struct rpci_gpu_launch l = {
		.grid = { grid[0], grid[1], grid[2] },
		.block = { block[0], block[1], block[2] },
		.nb_args = nb_args,
		.args = args,
	};

	return env->gpu->ops->launch(env->gpu->priv, env->fn, &l);
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

static struct rpci_gpu_arg
arg_local(uint16_t size)
{
	struct rpci_gpu_arg a = { .kind = RPCI_GPU_ARG_LOCAL, .size = size };

	return a;
}

static bool
is_sticky(CUresult rc)
{
	return rc == CUDA_ERROR_ILLEGAL_ADDRESS || rc == CUDA_ERROR_LAUNCH_FAILED ||
	       rc == CUDA_ERROR_LAUNCH_TIMEOUT || rc == CUDA_ERROR_MISALIGNED_ADDRESS ||
	       rc == CUDA_ERROR_ASSERT || rc == CUDA_ERROR_ECC_UNCORRECTABLE;
}

/* A kernel of each parameter size, one with a 16-byte parameter, one with none. */
static const char g_pack_ptx[] =
	"//\n// written for test_gpu_cuda.c\n//\n\n"
	".version 9.0\n"
	".target sm_75\n"
	".address_size 64\n"
	"\n"
	".visible .entry pack(\n"
	"\t.param .u8 pack_param_0,\n"
	"\t.param .u16 pack_param_1,\n"
	"\t.param .u32 pack_param_2,\n"
	"\t.param .u64 pack_param_3,\n"
	"\t.param .u64 .ptr .global .align 4 pack_param_4,\n"
	"\t.param .f32 pack_param_5\n"
	")\n"
	"{\n\tret;\n}\n"
	"\n"
	".visible .entry wide(\n"
	"\t.param .align 8 .b8 wide_param_0[16]\n"
	")\n"
	"{\n\tret;\n}\n"
	"\n"
	".visible .entry empty()\n"
	"{\n\tret;\n}\n";

/* --- loading the driver --- */

static void
test_backend_lookup(void)
{
	CU_ASSERT_PTR_EQUAL(rpci_gpu_ops_find("cuda"), &rpci_gpu_cuda_ops);
	CU_ASSERT_PTR_NOT_NULL(strstr(rpci_gpu_backend_names(), "cuda"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rpci_gpu_backend_names(), "cpu"));
}

/* Create with RPCI_CUDA_LIBRARY set to lib: must fail with ENODEV; what it said. */
static void
create_with_library(const char *lib, char *msg, size_t msg_len)
{
	const char *saved = getenv("RPCI_CUDA_LIBRARY");
	char keep[512];
	struct capture cap;
	struct rpci_gpu *gpu;
	int err;

	snprintf(keep, sizeof(keep), "%s", saved != NULL ? saved : "");
	setenv("RPCI_CUDA_LIBRARY", lib, 1);
	capture_begin(&cap);
	errno = 0;
	gpu = create(MiB);
	err = errno;
	capture_end(&cap, msg, msg_len);
	setenv("RPCI_CUDA_LIBRARY", keep, 1);

	CU_ASSERT_PTR_NULL(gpu);
	CU_ASSERT_EQUAL(err, ENODEV);
	rpci_gpu_destroy(gpu);
}

static void
test_library_missing(void)
{
	char msg[1024];

	create_with_library("/nonexistent/libcuda.so.1", msg, sizeof(msg));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no NVIDIA driver"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "/nonexistent/libcuda.so.1"));

	/* a library that is not the driver: named with what it lacks */
	create_with_library("libc.so.6", msg, sizeof(msg));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "libc.so.6 has no cuInit"));
}

/* NVIDIA's stub: every symbol the backend needs resolves, cuInit says "stub". */
static void
test_library_stub(void)
{
	const char *stub = getenv("RPCI_CUDA_STUB");
	char msg[1024];

	if (stub == NULL || stub[0] == '\0' || access(stub, R_OK) != 0) {
		printf("(no stub libcuda.so in the toolkit: skipped) ");
		return;
	}
	create_with_library(stub, msg, sizeof(msg));
	CU_ASSERT_PTR_NULL(strstr(msg, " has no "));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no usable NVIDIA GPU: cuInit failed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "CUDA_ERROR_STUB_LIBRARY: this is the CUDA toolkit's "
				      "stub libcuda, not the NVIDIA driver"));
}

static void
test_no_device(void)
{
	struct capture cap;
	struct rpci_gpu *gpu;
	char msg[1024];
	int err;

	g_dbl.reset();
	g_dbl.set_devices(0);
	capture_begin(&cap);
	errno = 0;
	gpu = create(MiB);
	err = errno;
	capture_end(&cap, msg, sizeof(msg));
	CU_ASSERT_PTR_NULL(gpu);
	CU_ASSERT_EQUAL(err, ENODEV);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no CUDA device found"));
	CU_ASSERT_EQUAL(g_dbl.live(), 0);

	g_dbl.reset();
	g_dbl.fail("cuInit", CUDA_ERROR_NO_DEVICE, 0);
	capture_begin(&cap);
	errno = 0;
	gpu = create(MiB);
	err = errno;
	capture_end(&cap, msg, sizeof(msg));
	CU_ASSERT_PTR_NULL(gpu);
	CU_ASSERT_EQUAL(err, ENODEV);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "cuInit failed: CUDA_ERROR_NO_DEVICE"));
	CU_ASSERT_EQUAL(g_dbl.live(), 0);
}

static void
test_bad_params(void)
{
	struct rpci_gpu_params params = { .memory_bytes = 0, .threads = 1, .slowdown = 1.0 };
	struct rpci_gpu *gpu;

	g_dbl.reset();
	errno = 0;
	gpu = rpci_gpu_create("cuda", &params);
	CU_ASSERT_PTR_NULL(gpu);
	CU_ASSERT_EQUAL(errno, EINVAL);

	params.memory_bytes = MiB;
	params.slowdown = 2.0;
	errno = 0;
	gpu = rpci_gpu_create("cuda", &params);
	CU_ASSERT_PTR_NULL(gpu);
	CU_ASSERT_EQUAL(errno, EINVAL);

	errno = 0;
	gpu = rpci_gpu_create("cuda", NULL);
	CU_ASSERT_PTR_NULL(gpu);
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* refused before the driver was touched */
	CU_ASSERT_EQUAL(calls_count(), 0);

	/* threads is ignored; slowdown 0 is "not set" */
	params.threads = 8;
	params.slowdown = 0.0;
	gpu = rpci_gpu_create("cuda", &params);
	CU_ASSERT_PTR_NOT_NULL(gpu);
	rpci_gpu_destroy(gpu);
	CU_ASSERT_EQUAL(g_dbl.live(), 0);
}

static void
test_no_room(void)
{
	struct capture cap;
	struct rpci_gpu *gpu;
	char msg[1024];
	int err;

	g_dbl.reset();
	g_dbl.set_memory(MiB);
	capture_begin(&cap);
	errno = 0;
	gpu = create(2 * MiB);
	err = errno;
	capture_end(&cap, msg, sizeof(msg));
	CU_ASSERT_PTR_NULL(gpu);
	CU_ASSERT_EQUAL(err, ENOMEM);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no room for memory_mb = 2"));
	CU_ASSERT_EQUAL(g_dbl.live(), 0);
}

/* --- the sequence of calls --- */

static void
test_create_destroy_sequence(void)
{
	const struct double_call *c, *ctx;
	struct rpci_gpu *gpu;
	uint8_t *mem;
	char seq[1024];
	unsigned int from;
	size_t i;
	bool zero = true;

	g_dbl.reset();
	gpu = create(MiB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gpu);
	calls_string(0, seq, sizeof(seq));
	CU_ASSERT_STRING_EQUAL(seq, "cuInit cuDeviceGetCount cuDeviceGet cuDeviceGetName "
			       "cuDeviceGetAttribute cuDriverGetVersion cuCtxCreate_v2 "
			       "cuStreamCreate cuEventCreate cuMemAlloc_v2 cuMemsetD8_v2 "
			       "cuStreamSynchronize");
	ctx = call_find("cuCtxCreate_v2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(ctx->result, CUDA_SUCCESS);
	c = call_at("cuEventCreate", 0);
	CU_ASSERT_EQUAL(c->value, CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING);
	c = call_at("cuMemAlloc_v2", 0);
	CU_ASSERT_EQUAL(c->bytes, MiB);
	CU_ASSERT_EQUAL(c->ctx, ctx->ctx_arg);
	/* all of device memory cleared, and waited for */
	c = call_at("cuMemsetD8_v2", 0);
	CU_ASSERT_EQUAL(c->dptr, dev_base());
	CU_ASSERT_EQUAL(c->bytes, MiB);
	CU_ASSERT_EQUAL(c->value, 0);
	c = call_at("cuStreamSynchronize", 0);
	CU_ASSERT_PTR_NULL(c->stream);
	mem = g_dbl.host(dev_base(), MiB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	for (i = 0; i < MiB; i++) {
		zero = zero && mem[i] == 0;
	}
	CU_ASSERT_TRUE(zero);
	CU_ASSERT_EQUAL(g_dbl.live(), 4);

	CU_ASSERT_PTR_NULL(gpu->mem_base);
	CU_ASSERT_PTR_NULL(gpu->ops->mem_base(gpu->priv));

	from = calls_count();
	rpci_gpu_destroy(gpu);
	calls_string(from, seq, sizeof(seq));
	CU_ASSERT_STRING_EQUAL(seq, "cuCtxSetCurrent cuMemFree_v2 cuEventDestroy_v2 "
			       "cuStreamDestroy_v2 cuCtxDestroy_v2");
	c = call_at("cuCtxDestroy_v2", 0);
	CU_ASSERT_PTR_EQUAL(c->ctx_arg, ctx->ctx_arg);
	CU_ASSERT_EQUAL(g_dbl.live(), 0);
}

static void
test_info(void)
{
	struct rpci_gpu_info info;
	struct env env;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL(env.gpu->ops->info(env.gpu->priv, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.backend, "cuda");
	CU_ASSERT_STRING_EQUAL(info.device_name, "CUDA driver double 0");
	CU_ASSERT_EQUAL(info.module_kinds, 1u << RPCI_GPU_MODULE_PTX);
	CU_ASSERT_EQUAL(info.compute_units, 7);
	CU_ASSERT_EQUAL(info.nb_builtins, 0);
	CU_ASSERT_EQUAL(env.gpu->ops->info(env.gpu->priv, NULL), -EINVAL);
	env_close(&env);
}

static void
test_memory(void)
{
	const struct double_call *c;
	uint8_t buf[64], back[64];
	struct env env;
	uint8_t *mem;
	char seq[512];
	unsigned int from;
	size_t i;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 7 + 1);
	}

	from = calls_count();
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 4096, buf, sizeof(buf)), 0);
	calls_string(from, seq, sizeof(seq));
	CU_ASSERT_STRING_EQUAL(seq, "cuCtxSetCurrent cuMemcpyHtoD_v2");
	c = call_at("cuMemcpyHtoD_v2", 0);
	CU_ASSERT_EQUAL(c->dptr, dev_base() + 4096);
	CU_ASSERT_EQUAL(c->bytes, sizeof(buf));
	mem = g_dbl.host(dev_base(), MiB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_EQUAL(memcmp(mem + 4096, buf, sizeof(buf)), 0);

	from = calls_count();
	memset(back, 0, sizeof(back));
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 4096, back, sizeof(back)), 0);
	calls_string(from, seq, sizeof(seq));
	CU_ASSERT_STRING_EQUAL(seq, "cuCtxSetCurrent cuMemcpyDtoH_v2");
	CU_ASSERT_EQUAL(call_at("cuMemcpyDtoH_v2", 0)->dptr, dev_base() + 4096);
	CU_ASSERT_EQUAL(memcmp(back, buf, sizeof(buf)), 0);

	from = calls_count();
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, 4100, 0x5A, 50), 0);
	calls_string(from, seq, sizeof(seq));
	CU_ASSERT_STRING_EQUAL(seq, "cuCtxSetCurrent cuMemsetD8_v2 cuStreamSynchronize");
	c = call_at("cuMemsetD8_v2", 1);
	CU_ASSERT_EQUAL(c->dptr, dev_base() + 4100);
	CU_ASSERT_EQUAL(c->bytes, 50);
	CU_ASSERT_EQUAL(c->value, 0x5A);
	CU_ASSERT_EQUAL(mem[4099], buf[3]);
	CU_ASSERT_EQUAL(mem[4100], 0x5A);
	CU_ASSERT_EQUAL(mem[4149], 0x5A);
	CU_ASSERT_EQUAL(mem[4150], buf[54]);

	/* the last byte, and nothing past it */
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, MiB - 1, buf, 1), 0);
	CU_ASSERT_EQUAL(call_at("cuMemcpyHtoD_v2", 1)->dptr, dev_base() + MiB - 1);
	from = calls_count();
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, MiB - 1, buf, 2), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, MiB, back, 1), -EFAULT);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, UINT64_MAX, 0, 1), -EFAULT);
	/* the ops themselves refuse a wrong caller too */
	CU_ASSERT_EQUAL(env.gpu->ops->mem_write(env.gpu->priv, MiB - 1, buf, 2), -EFAULT);
	CU_ASSERT_EQUAL(env.gpu->ops->mem_read(env.gpu->priv, MiB + 1, back, 0), -EFAULT);
	CU_ASSERT_EQUAL(env.gpu->ops->mem_fill(env.gpu->priv, 0, 0, MiB + 1), -EFAULT);
	/* zero bytes: nothing to ask the driver */
	CU_ASSERT_EQUAL(env.gpu->ops->mem_write(env.gpu->priv, MiB, buf, 0), 0);
	CU_ASSERT_EQUAL(calls_count(), from);
	env_close(&env);
}

/* --- contexts and threads --- */

struct thread_job {
	struct env *env;
	int write_rc, launch_rc, read_rc;
	CUresult direct_rc;
	float y[256];
};

/* A thread that never made the context current: the double must refuse it. */
static void *
thread_direct(void *arg)
{
	struct thread_job *job = arg;

	job->direct_rc = g_dbl.memset_d8(dev_base(), 0, 4);
	return NULL;
}

static void *
thread_ops(void *arg)
{
	struct thread_job *job = arg;
	struct env *env = job->env;
	float x[256];
	struct rpci_gpu_arg args[4];
	uint32_t i;

	for (i = 0; i < 256; i++) {
		x[i] = (float)i;
		job->y[i] = 1.0f;
	}
	job->write_rc = rpci_gpu_mem_write(env->gpu, 0, x, sizeof(x));
	if (job->write_rc == 0) {
		job->write_rc = rpci_gpu_mem_write(env->gpu, 1024, job->y, sizeof(job->y));
	}
	args[0] = arg_f32(2.0f);
	args[1] = arg_ptr(0);
	args[2] = arg_ptr(1024);
	args[3] = arg_uint(256, 8);
	job->launch_rc = env_launch(env, (uint32_t[3]){ 1, 1, 1 }, (uint32_t[3]){ 256, 1, 1 },
				    args, 4);
	job->read_rc = rpci_gpu_mem_read(env->gpu, 1024, job->y, sizeof(job->y));
	return NULL;
}

static void
test_other_threads(void)
{
	const struct double_call *ctx, *calls;
	struct thread_job job;
	struct env env;
	pthread_t t;
	unsigned int from, n, i;
	bool ok = true;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "saxpy.ptx", "saxpy"), 0);
	ctx = call_find("cuCtxCreate_v2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);

	memset(&job, 0, sizeof(job));
	job.env = &env;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, thread_direct, &job), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(job.direct_rc, CUDA_ERROR_INVALID_CONTEXT);

	from = calls_count();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, thread_ops, &job), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(job.write_rc, 0);
	CU_ASSERT_EQUAL(job.launch_rc, 0);
	CU_ASSERT_EQUAL(job.read_rc, 0);
	for (i = 0; i < 256; i++) {
		ok = ok && job.y[i] == 2.0f * (float)i + 1.0f;
	}
	CU_ASSERT_TRUE(ok);
	/* every op began by making the instance's context current */
	n = g_dbl.calls(&calls);
	CU_ASSERT_TRUE(n > from);
	if (n > from) {
		CU_ASSERT_STRING_EQUAL(calls[from].name, "cuCtxSetCurrent");
		CU_ASSERT_PTR_EQUAL(calls[from].ctx_arg, ctx->ctx_arg);
	}
	for (i = from; i < n; i++) {
		CU_ASSERT_EQUAL(calls[i].result, CUDA_SUCCESS);
	}
	env_close(&env);
}

/* --- modules and functions --- */

static void
test_module_kinds(void)
{
	char log[128];
	void *mod = NULL;
	struct env env;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	g_dbl.log_clear();
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_BUILTIN, NULL, 0,
						  &mod, log, sizeof(log)), -ENOTSUP);
	CU_ASSERT_STRING_EQUAL(log, "cuda backend loads PTX modules only");
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_OPENCL,
						  "__kernel void k(void) {}", 24, &mod, log,
						  sizeof(log)), -ENOTSUP);
	CU_ASSERT_STRING_EQUAL(log, "cuda backend loads PTX modules only");
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, NULL, 0,
						  &mod, log, sizeof(log)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(log, "empty PTX image");
	CU_ASSERT_PTR_NULL(mod);
	CU_ASSERT_EQUAL(call_count("cuModuleLoadDataEx"), 0);
	env_close(&env);
}

static void
test_bad_ptx(void)
{
	static const char not_ptx[] = "this is not PTX at all";
	static const char broken[] = ".version 9.0\n.target sm_75\n.address_size 64\n\n"
				     ".visible .entry broken(\n\t.param .u64\n)\n{\n\tret;\n}\n";
	const struct double_call *c;
	char log[512], small[16];
	void *mod = NULL;
	struct env env;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	memset(log, 'x', sizeof(log));
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, not_ptx,
						  strlen(not_ptx), &mod, log, sizeof(log)),
			-EINVAL);
	/* the JIT's error log, as the driver wrote it */
	CU_ASSERT_STRING_EQUAL(log, "ptxas fatal   : (CUDA driver double) line 1: not PTX: "
			       "no .version or .target directive");
	CU_ASSERT_PTR_NULL(mod);
	c = call_find("cuModuleLoadDataEx", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->result, CUDA_ERROR_INVALID_PTX);
	CU_ASSERT_EQUAL(c->nb_options, 4);
	CU_ASSERT_EQUAL(c->options[0], CU_JIT_ERROR_LOG_BUFFER);
	CU_ASSERT_EQUAL(c->options[1], CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
	CU_ASSERT_EQUAL(c->options[2], CU_JIT_INFO_LOG_BUFFER);
	CU_ASSERT_EQUAL(c->options[3], CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES);

	/* a log buffer shorter than the message: cut, NUL-terminated */
	memset(small, 'x', sizeof(small));
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, not_ptx,
						  strlen(not_ptx), &mod, small, sizeof(small)),
			-EINVAL);
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
	CU_ASSERT_EQUAL(strncmp(small, "ptxas fatal", 11), 0);

	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, broken,
						  strlen(broken), &mod, log, sizeof(log)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "line 7: expected a parameter type and name"));

	/* a failure the JIT says nothing about: the driver's error instead */
	g_dbl.fail("cuModuleLoadDataEx", CUDA_ERROR_OUT_OF_MEMORY, 0);
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, g_pack_ptx,
						  strlen(g_pack_ptx), &mod, log, sizeof(log)),
			-ENOMEM);
	CU_ASSERT_STRING_EQUAL(log, "cuModuleLoadDataEx: CUDA_ERROR_OUT_OF_MEMORY: out of memory");
	CU_ASSERT_EQUAL(g_dbl.live(), 4);

	/* and a good one: the JIT's information log comes back */
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, g_pack_ptx,
						  strlen(g_pack_ptx), &mod, log, sizeof(log)), 0);
	CU_ASSERT_STRING_EQUAL(log, "(CUDA driver double) 3 kernel(s) read");
	env.module = mod;
	env_close(&env);
	CU_ASSERT_EQUAL(g_dbl.live(), 0);
}

static void
test_functions(void)
{
	char name[RPCI_GPU_NAME_MAX + 1];
	void *fn = NULL, *again = NULL;
	unsigned int live;
	struct env env;
	char seq[256];
	unsigned int from;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "sgemm.ptx", "sgemm"), 0);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, env.module, "saxpy", &fn),
			-ENOENT);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, env.module, "sgem", &fn),
			-ENOENT);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, env.module, name, &fn),
			-EINVAL);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, NULL, "sgemm", &fn), -EINVAL);

	/* the same name twice: one handle, one lookup */
	from = calls_count();
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, env.module, "sgemm", &again),
			0);
	CU_ASSERT_PTR_EQUAL(again, env.fn);
	CU_ASSERT_EQUAL(calls_count(), from);
	CU_ASSERT_EQUAL(call_count("cuModuleGetFunction"), 3);

	live = g_dbl.live();
	from = calls_count();
	env.gpu->ops->module_unload(env.gpu->priv, env.module);
	env.module = NULL;
	calls_string(from, seq, sizeof(seq));
	CU_ASSERT_STRING_EQUAL(seq, "cuCtxSetCurrent cuModuleUnload");
	CU_ASSERT_EQUAL(g_dbl.live(), live - 1);
	env_close(&env);
}

static void
test_destroy_with_modules(void)
{
	struct env env;
	void *m2 = NULL, *f2 = NULL;
	char log[128];

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "saxpy.ptx", "saxpy"), 0);
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX, g_pack_ptx,
						  strlen(g_pack_ptx), &m2, log, sizeof(log)), 0);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, m2, "pack", &f2), 0);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, m2, "empty", &f2), 0);
	CU_ASSERT_EQUAL(g_dbl.live(), 6);
	/* destroy frees modules never unloaded (the context takes them along) */
	rpci_gpu_destroy(env.gpu);
	CU_ASSERT_EQUAL(g_dbl.live(), 0);
	CU_ASSERT_EQUAL(call_count("cuModuleUnload"), 0);
}

/* --- launches: argument packing and checks --- */

static void
test_arg_packing(void)
{
	const struct double_call *c, *stream;
	struct rpci_gpu_arg args[8];
	struct env env;
	uint64_t ptr;
	float f;
	char seq[256];
	unsigned int from;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load_text(&env, g_pack_ptx, "pack"), 0);
	/* LOCAL arguments take no parameter slot: they add up to dynamic shared memory */
	args[0] = arg_uint(0xFFFFFFABu, 1);
	args[1] = arg_local(100);
	args[2] = arg_uint(0x1234BEEFu, 2);
	args[3] = arg_uint(0xDEADBEEFu, 4);
	args[4] = arg_uint(0x0123456789ABCDEFull, 8);
	args[5] = arg_ptr(0x100);
	args[6] = arg_local(28);
	args[7] = arg_f32(2.5f);

	from = calls_count();
	CU_ASSERT_EQUAL(env_launch(&env, (uint32_t[3]){ 3, 2, 1 }, (uint32_t[3]){ 32, 4, 2 },
				   args, 8), 0);
	calls_string(from, seq, sizeof(seq));
	CU_ASSERT_STRING_EQUAL(seq, "cuCtxSetCurrent cuLaunchKernel cuEventRecord "
			       "cuEventSynchronize");
	c = call_find("cuLaunchKernel", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->result, CUDA_SUCCESS);
	CU_ASSERT_STRING_EQUAL(c->function, "pack");
	CU_ASSERT_EQUAL(c->grid[0], 3);
	CU_ASSERT_EQUAL(c->grid[1], 2);
	CU_ASSERT_EQUAL(c->grid[2], 1);
	CU_ASSERT_EQUAL(c->block[0], 32);
	CU_ASSERT_EQUAL(c->block[1], 4);
	CU_ASSERT_EQUAL(c->block[2], 2);
	CU_ASSERT_EQUAL(c->shared, 128);
	stream = call_at("cuStreamCreate", 0);
	CU_ASSERT_PTR_NOT_NULL(c->stream);
	CU_ASSERT_PTR_EQUAL(c->stream, stream->stream);
	CU_ASSERT_PTR_EQUAL(call_at("cuEventRecord", 0)->stream, stream->stream);

	CU_ASSERT_EQUAL_FATAL(c->nb_params, 6);
	CU_ASSERT_EQUAL(c->param_size[0], 1);
	CU_ASSERT_EQUAL(c->param_size[1], 2);
	CU_ASSERT_EQUAL(c->param_size[2], 4);
	CU_ASSERT_EQUAL(c->param_size[3], 8);
	CU_ASSERT_EQUAL(c->param_size[4], 8);
	CU_ASSERT_EQUAL(c->param_size[5], 4);
	/* each value's own bytes, little-endian, cut to its size */
	CU_ASSERT_EQUAL(c->params[0][0], 0xAB);
	CU_ASSERT_EQUAL(memcmp(c->params[1], "\xEF\xBE", 2), 0);
	CU_ASSERT_EQUAL(memcmp(c->params[2], "\xEF\xBE\xAD\xDE", 4), 0);
	CU_ASSERT_EQUAL(memcmp(c->params[3], "\xEF\xCD\xAB\x89\x67\x45\x23\x01", 8), 0);
	/* a device address is an offset in device memory: base + value */
	memcpy(&ptr, c->params[4], 8);
	CU_ASSERT_EQUAL(ptr, dev_base() + 0x100);
	memcpy(&f, c->params[5], 4);
	CU_ASSERT_EQUAL(f, 2.5f);

	/* no LOCAL: no dynamic shared memory */
	args[1] = arg_local(0);
	args[6] = arg_local(0);
	CU_ASSERT_EQUAL(env_launch(&env, (uint32_t[3]){ 1, 1, 1 }, (uint32_t[3]){ 1, 1, 1 },
				   args, 8), 0);
	CU_ASSERT_EQUAL(call_at("cuLaunchKernel", 1)->shared, 0);
	CU_ASSERT_EQUAL(env_launch(&env, (uint32_t[3]){ 1, 1, 1 }, (uint32_t[3]){ 1, 1, 1 },
				   (struct rpci_gpu_arg[]){ args[0], args[2], args[3], args[4],
							    args[5], args[7] }, 6), 0);
	CU_ASSERT_EQUAL(call_at("cuLaunchKernel", 2)->shared, 0);
	env_close(&env);
}

static void
test_arg_checks(void)
{
	struct rpci_gpu_arg good[6], bad[33];
	const uint32_t one[3] = { 1, 1, 1 };
	void *wide = NULL, *empty = NULL;
	struct rpci_gpu_launch l;
	struct env env;
	unsigned int launches;
	int i;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load_text(&env, g_pack_ptx, "pack"), 0);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, env.module, "wide", &wide), 0);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, env.module, "empty", &empty),
			0);
	good[0] = arg_uint(1, 1);
	good[1] = arg_uint(2, 2);
	good[2] = arg_uint(3, 4);
	good[3] = arg_uint(4, 8);
	good[4] = arg_ptr(0);
	good[5] = arg_f32(1.0f);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, good, 6), 0);
	launches = call_count("cuLaunchKernel");

	/* count: the kernel's parameters, as the driver lists them */
	CU_ASSERT_EQUAL(env_launch(&env, one, one, good, 5), -EINVAL);
	memcpy(bad, good, sizeof(good));
	bad[6] = arg_uint(0, 4);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 7), -EINVAL);
	/* sizes */
	memcpy(bad, good, sizeof(good));
	bad[1] = arg_uint(2, 4);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 6), -EINVAL);
	memcpy(bad, good, sizeof(good));
	bad[4] = arg_uint(0, 8); /* a scalar of 8 bytes where a pointer goes: same size, fine */
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 6), 0);
	launches++;
	bad[4] = arg_ptr(0);
	bad[4].size = 4;
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 6), -EINVAL);
	memcpy(bad, good, sizeof(good));
	bad[2].size = 3;
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 6), -EINVAL);
	/* kinds */
	memcpy(bad, good, sizeof(good));
	bad[3].kind = 0;
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 6), -EINVAL);
	bad[3].kind = 9;
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 6), -EINVAL);
	/* too many, or missing */
	for (i = 0; i < 33; i++) {
		bad[i] = arg_local(1);
	}
	CU_ASSERT_EQUAL(env_launch(&env, one, one, bad, 33), -EINVAL);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, NULL, 6), -EINVAL);
	/* geometry */
	CU_ASSERT_EQUAL(env_launch(&env, (uint32_t[3]){ 1, 0, 1 }, one, good, 6), -EINVAL);
	CU_ASSERT_EQUAL(env_launch(&env, one, (uint32_t[3]){ 1, 1, 0 }, good, 6), -EINVAL);
	/* a 16-byte parameter cannot be given */
	l = (struct rpci_gpu_launch){ .grid = { 1, 1, 1 }, .block = { 1, 1, 1 }, .nb_args = 1,
				      .args = &good[3] };
	CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, wide, &l), -EINVAL);
	/* a kernel without parameters */
	CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, empty, &l), -EINVAL);
	l.nb_args = 0;
	l.args = NULL;
	CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, empty, &l), 0);
	launches++;
	/* only LOCAL arguments: still no parameter */
	l.nb_args = 2;
	l.args = bad;
	CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, empty, &l), 0);
	launches++;
	CU_ASSERT_EQUAL(call_at("cuLaunchKernel", launches - 1)->shared, 2);
	/* no handle */
	CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, NULL, &l), -EINVAL);
	CU_ASSERT_EQUAL(env.gpu->ops->launch(env.gpu->priv, empty, NULL), -EINVAL);

	/* none of the refused ones reached the driver */
	CU_ASSERT_EQUAL(call_count("cuLaunchKernel"), launches);
	env_close(&env);
}

static void
test_arg_bounds(void)
{
	struct rpci_gpu_arg args[6];
	const uint32_t one[3] = { 1, 1, 1 };
	const struct double_call *c;
	struct env env;
	uint64_t ptr;
	unsigned int launches;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load_text(&env, g_pack_ptx, "pack"), 0);
	args[0] = arg_uint(1, 1);
	args[1] = arg_uint(2, 2);
	args[2] = arg_uint(3, 4);
	args[3] = arg_uint(4, 8);
	args[5] = arg_f32(1.0f);

	/* the end of device memory is an address (of an empty buffer) */
	args[4] = arg_ptr(MiB);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, args, 6), 0);
	c = call_find("cuLaunchKernel", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memcpy(&ptr, c->params[4], 8);
	CU_ASSERT_EQUAL(ptr, dev_base() + MiB);
	launches = call_count("cuLaunchKernel");

	args[4] = arg_ptr(MiB + 1);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, args, 6), -EFAULT);
	args[4] = arg_ptr(UINT64_MAX);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, args, 6), -EFAULT);
	/* a host pointer is no device address */
	args[4] = arg_ptr((uint64_t)(uintptr_t)&env);
	CU_ASSERT_EQUAL(env_launch(&env, one, one, args, 6), -EFAULT);
	/* argument errors come before address errors */
	args[1].size = 3;
	CU_ASSERT_EQUAL(env_launch(&env, one, one, args, 6), -EINVAL);
	CU_ASSERT_EQUAL(call_count("cuLaunchKernel"), launches);
	env_close(&env);
}

/* A driver that cannot list a kernel's parameters (before CUDA 12.4). */
static void
test_params_unknown(void)
{
	struct rpci_gpu_arg args[4];
	const uint32_t one[3] = { 1, 1, 1 };
	const uint32_t block[3] = { 64, 1, 1 };
	const struct double_call *c;
	float x[64], y[64], back[64];
	struct env env;
	unsigned int i;
	bool same = true, done = true;

	g_dbl.reset();
	g_dbl.set_param_info(0);
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "saxpy.ptx", "saxpy"), 0);
	for (i = 0; i < 64; i++) {
		x[i] = (float)i;
		y[i] = 1.0f;
	}
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, x, sizeof(x)), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 256, y, sizeof(y)), 0);
	args[0] = arg_f32(3.0f);
	args[1] = arg_ptr(0);
	args[2] = arg_ptr(256);
	args[3] = arg_uint(64, 8);

	/* n left out: the driver reads a zero, and nothing is computed */
	CU_ASSERT_EQUAL(env_launch(&env, one, block, args, 3), 0);
	c = call_find("cuLaunchKernel", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->nb_params, 4);
	CU_ASSERT_EQUAL(memcmp(c->params[3], "\0\0\0\0\0\0\0\0", 8), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 256, back, sizeof(back)), 0);
	for (i = 0; i < 64; i++) {
		same = same && back[i] == 1.0f;
	}
	CU_ASSERT_TRUE(same);

	CU_ASSERT_EQUAL(env_launch(&env, one, block, args, 4), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 256, back, sizeof(back)), 0);
	for (i = 0; i < 64; i++) {
		done = done && back[i] == 3.0f * (float)i + 1.0f;
	}
	CU_ASSERT_TRUE(done);
	env_close(&env);

	/* where the driver can tell, the same short list is refused */
	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "saxpy.ptx", "saxpy"), 0);
	CU_ASSERT_EQUAL(env_launch(&env, one, block, args, 3), -EINVAL);
	CU_ASSERT_EQUAL(call_count("cuLaunchKernel"), 0);
	env_close(&env);
}

/* --- error mapping --- */

enum err_op {
	OP_CREATE,
	OP_WRITE,
	OP_READ,
	OP_FILL,
	OP_LOAD,
	OP_GET,
	OP_LAUNCH,
};

struct err_case {
	const char *call;
	CUresult result;
	enum err_op op;
	int expect; /**< the op's result (OP_CREATE: -errno) */
};

static const struct err_case g_err_cases[] = {
	{ "cuInit", CUDA_ERROR_NO_DEVICE, OP_CREATE, -ENODEV },
	{ "cuInit", CUDA_ERROR_STUB_LIBRARY, OP_CREATE, -ENODEV },
	{ "cuInit", CUDA_ERROR_UNKNOWN, OP_CREATE, -ENODEV },
	{ "cuDeviceGetCount", CUDA_ERROR_NOT_INITIALIZED, OP_CREATE, -ENODEV },
	{ "cuDeviceGet", CUDA_ERROR_INVALID_DEVICE, OP_CREATE, -ENODEV },
	{ "cuCtxCreate_v2", CUDA_ERROR_OUT_OF_MEMORY, OP_CREATE, -ENOMEM },
	{ "cuCtxCreate_v2", CUDA_ERROR_DEVICE_UNAVAILABLE, OP_CREATE, -EBUSY },
	{ "cuCtxCreate_v2", CUDA_ERROR_INVALID_DEVICE, OP_CREATE, -ENODEV },
	{ "cuCtxCreate_v2", CUDA_ERROR_NOT_PERMITTED, OP_CREATE, -EPERM },
	{ "cuStreamCreate", CUDA_ERROR_UNKNOWN, OP_CREATE, -EIO },
	{ "cuEventCreate", CUDA_ERROR_OUT_OF_MEMORY, OP_CREATE, -ENOMEM },
	{ "cuMemAlloc_v2", CUDA_ERROR_OUT_OF_MEMORY, OP_CREATE, -ENOMEM },
	{ "cuMemsetD8_v2", CUDA_ERROR_INVALID_VALUE, OP_CREATE, -EINVAL },
	{ "cuStreamSynchronize", CUDA_ERROR_ECC_UNCORRECTABLE, OP_CREATE, -EIO },
	{ "cuCtxSetCurrent", CUDA_ERROR_INVALID_CONTEXT, OP_WRITE, -EIO },
	{ "cuCtxSetCurrent", CUDA_ERROR_DEINITIALIZED, OP_READ, -ENODEV },
	{ "cuMemcpyHtoD_v2", CUDA_ERROR_INVALID_VALUE, OP_WRITE, -EINVAL },
	{ "cuMemcpyHtoD_v2", CUDA_ERROR_NOT_PERMITTED, OP_WRITE, -EPERM },
	{ "cuMemcpyHtoD_v2", CUDA_ERROR_UNKNOWN, OP_WRITE, -EIO },
	{ "cuMemcpyDtoH_v2", CUDA_ERROR_ILLEGAL_ADDRESS, OP_READ, -EIO },
	{ "cuMemcpyDtoH_v2", CUDA_ERROR_ECC_UNCORRECTABLE, OP_READ, -EIO },
	{ "cuMemcpyDtoH_v2", CUDA_ERROR_DEVICE_UNAVAILABLE, OP_READ, -EBUSY },
	{ "cuMemsetD8_v2", CUDA_ERROR_OUT_OF_MEMORY, OP_FILL, -ENOMEM },
	{ "cuStreamSynchronize", CUDA_ERROR_LAUNCH_TIMEOUT, OP_FILL, -ETIMEDOUT },
	{ "cuModuleLoadDataEx", CUDA_ERROR_INVALID_PTX, OP_LOAD, -EINVAL },
	{ "cuModuleLoadDataEx", CUDA_ERROR_UNSUPPORTED_PTX_VERSION, OP_LOAD, -EINVAL },
	{ "cuModuleLoadDataEx", CUDA_ERROR_NO_BINARY_FOR_GPU, OP_LOAD, -EINVAL },
	{ "cuModuleLoadDataEx", CUDA_ERROR_INVALID_IMAGE, OP_LOAD, -EINVAL },
	{ "cuModuleLoadDataEx", CUDA_ERROR_INVALID_SOURCE, OP_LOAD, -EINVAL },
	{ "cuModuleLoadDataEx", CUDA_ERROR_OUT_OF_MEMORY, OP_LOAD, -ENOMEM },
	{ "cuModuleLoadDataEx", CUDA_ERROR_JIT_COMPILER_NOT_FOUND, OP_LOAD, -ENOTSUP },
	{ "cuModuleLoadDataEx", CUDA_ERROR_JIT_COMPILATION_DISABLED, OP_LOAD, -ENOTSUP },
	{ "cuModuleGetFunction", CUDA_ERROR_NOT_FOUND, OP_GET, -ENOENT },
	{ "cuModuleGetFunction", CUDA_ERROR_INVALID_HANDLE, OP_GET, -EINVAL },
	{ "cuModuleGetFunction", CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, OP_GET, -ENODEV },
	{ "cuLaunchKernel", CUDA_ERROR_INVALID_VALUE, OP_LAUNCH, -EINVAL },
	{ "cuLaunchKernel", CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, OP_LAUNCH, -EINVAL },
	{ "cuLaunchKernel", CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING, OP_LAUNCH, -EINVAL },
	{ "cuLaunchKernel", CUDA_ERROR_NOT_SUPPORTED, OP_LAUNCH, -ENOTSUP },
	{ "cuLaunchKernel", CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER, OP_LAUNCH, -ENOTSUP },
	{ "cuLaunchKernel", CUDA_ERROR_NOT_READY, OP_LAUNCH, -EAGAIN },
	{ "cuLaunchKernel", CUDA_ERROR_NOT_FOUND, OP_LAUNCH, -ENOENT },
	{ "cuLaunchKernel", CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE, OP_LAUNCH, -ENODEV },
	{ "cuEventRecord", CUDA_ERROR_INVALID_HANDLE, OP_LAUNCH, -EINVAL },
	{ "cuEventSynchronize", CUDA_ERROR_LAUNCH_FAILED, OP_LAUNCH, -EIO },
	{ "cuEventSynchronize", CUDA_ERROR_ILLEGAL_ADDRESS, OP_LAUNCH, -EIO },
	{ "cuEventSynchronize", CUDA_ERROR_MISALIGNED_ADDRESS, OP_LAUNCH, -EIO },
	{ "cuEventSynchronize", CUDA_ERROR_ASSERT, OP_LAUNCH, -EIO },
	{ "cuEventSynchronize", CUDA_ERROR_LAUNCH_TIMEOUT, OP_LAUNCH, -ETIMEDOUT },
	{ "cuEventSynchronize", CUDA_ERROR_TIMEOUT, OP_LAUNCH, -ETIMEDOUT },
	{ "cuEventSynchronize", CUDA_ERROR_UNKNOWN, OP_LAUNCH, -EIO },
};

#define NB_ERR_CASES (sizeof(g_err_cases) / sizeof(g_err_cases[0]))

/* Run the op of a case on an instance (saxpy loaded) and return its result. */
static int
err_op_run(struct env *env, enum err_op op)
{
	struct rpci_gpu_arg args[4] = {
		arg_f32(1.0f), arg_ptr(0), arg_ptr(64), arg_uint(16, 8),
	};
	uint8_t buf[64] = { 0 };
	char log[256];
	void *mod = NULL, *fn = NULL;
	int rc;

	switch (op) {
	case OP_WRITE:
		return rpci_gpu_mem_write(env->gpu, 0, buf, sizeof(buf));
	case OP_READ:
		return rpci_gpu_mem_read(env->gpu, 0, buf, sizeof(buf));
	case OP_FILL:
		return rpci_gpu_mem_fill(env->gpu, 0, 1, 64);
	case OP_LOAD:
		rc = env->gpu->ops->module_load(env->gpu->priv, RPCI_GPU_MODULE_PTX, g_pack_ptx,
						strlen(g_pack_ptx), &mod, log, sizeof(log));
		/* the log always says something on failure */
		if (rc < 0 && log[0] == '\0') {
			return -9999;
		}
		if (rc == 0) {
			env->gpu->ops->module_unload(env->gpu->priv, mod);
		}
		return rc;
	case OP_GET:
		return env->gpu->ops->function_get(env->gpu->priv, env->module, "pack", &fn);
	case OP_LAUNCH:
		return env_launch(env, (uint32_t[3]){ 1, 1, 1 }, (uint32_t[3]){ 16, 1, 1 }, args,
				  4);
	default:
		return -9999;
	}
}

static void
test_error_mapping(void)
{
	const struct double_call *failed;
	const struct err_case *ec;
	struct rpci_gpu *gpu;
	struct capture cap;
	struct env env;
	char msg[2048];
	unsigned int from;
	size_t i;
	int rc, after;

	for (i = 0; i < NB_ERR_CASES; i++) {
		ec = &g_err_cases[i];
		g_dbl.reset();
		if (ec->op == OP_CREATE) {
			g_dbl.fail(ec->call, ec->result, 0);
			capture_begin(&cap);
			errno = 0;
			gpu = create(MiB);
			rc = -errno;
			capture_end(&cap, msg, sizeof(msg));
			if (gpu != NULL || rc != ec->expect || g_dbl.live() != 0 ||
			    strstr(msg, "rpci.gpu.cuda: ") == NULL) {
				printf("\n  case %zu: %s failing with %d: create gave %d (expected "
				       "%d), %u objects left\n", i, ec->call, (int)ec->result, rc,
				       ec->expect, g_dbl.live());
			}
			CU_ASSERT_PTR_NULL(gpu);
			CU_ASSERT_EQUAL(rc, ec->expect);
			CU_ASSERT_EQUAL(g_dbl.live(), 0);
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "rpci.gpu.cuda: "));
			rpci_gpu_destroy(gpu);
			continue;
		}

		if (!env_open(&env, MiB)) {
			continue;
		}
		if (env_load_text(&env, g_pack_ptx, "pack") != 0) {
			CU_FAIL("loading the pack module");
			env_close(&env);
			continue;
		}
		env.gpu->ops->module_unload(env.gpu->priv, env.module);
		env.module = NULL;
		if (env_load(&env, "saxpy.ptx", "saxpy") != 0) {
			CU_FAIL("loading saxpy");
			env_close(&env);
			continue;
		}
		g_dbl.fail(ec->call, ec->result, 0);
		from = calls_count();
		capture_begin(&cap);
		rc = err_op_run(&env, ec->op);
		/* a context ruined by the failure fails everything after it */
		after = rpci_gpu_mem_write(env.gpu, 0, msg, 16);
		capture_end(&cap, msg, sizeof(msg));
		if (rc != ec->expect || after != (is_sticky(ec->result) ? -EIO : 0)) {
			printf("\n  case %zu: %s failing with %d: op %d gave %d (expected %d), "
			       "then %d\n", i, ec->call, (int)ec->result, (int)ec->op, rc,
			       ec->expect, after);
		}
		CU_ASSERT_EQUAL(rc, ec->expect);
		CU_ASSERT_EQUAL(after, is_sticky(ec->result) ? -EIO : 0);
		/* the failure was the one asked for, and was reported */
		failed = call_find_from(ec->call, from);
		CU_ASSERT_PTR_NOT_NULL(failed);
		CU_ASSERT_EQUAL(failed != NULL ? failed->result : CUDA_SUCCESS, ec->result);
		if (ec->result != CUDA_ERROR_NOT_FOUND) {
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "rpci.gpu.cuda: "));
		}
		env_close(&env);
		CU_ASSERT_EQUAL(g_dbl.live(), 0);
	}
}

/* --- a kernel fault, and the context replaced --- */

static void
test_lost_context(void)
{
	struct rpci_gpu_arg args[4];
	const uint32_t grid[3] = { 4096, 1, 1 };
	const uint32_t block[3] = { 256, 1, 1 };
	float x[256], y[256], back[256];
	void *old_module, *fn = NULL, *mod = NULL;
	struct capture cap;
	struct env env;
	char msg[2048], log[256];
	uint8_t *mem;
	unsigned int from, i;
	bool ok = true;

	g_dbl.reset();
	if (!env_open(&env, MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "saxpy.ptx", "saxpy"), 0);
	old_module = env.module;
	for (i = 0; i < 256; i++) {
		x[i] = (float)i;
		y[i] = 2.0f;
	}
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, x, sizeof(x)), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 4096, y, sizeof(y)), 0);

	/*
	 * Addresses in device memory, but n reaches past it: the backend
	 * cannot know, the GPU faults (the double: ILLEGAL_ADDRESS).
	 */
	args[0] = arg_f32(1.0f);
	args[1] = arg_ptr(0);
	args[2] = arg_ptr(4096);
	args[3] = arg_uint(1u << 20, 8);
	capture_begin(&cap);
	CU_ASSERT_EQUAL(env_launch(&env, grid, block, args, 4), -EIO);
	capture_end(&cap, msg, sizeof(msg));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "CUDA_ERROR_ILLEGAL_ADDRESS"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "the CUDA context is lost"));

	/* lost: everything fails, without asking the driver */
	from = calls_count();
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 0, back, sizeof(back)), -EIO);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, back, sizeof(back)), -EIO);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, 0, 0, 4096), -EIO);
	CU_ASSERT_EQUAL(env_launch(&env, grid, block, args, 4), -EIO);
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, env.module, "other", &fn),
			-EIO);
	CU_ASSERT_EQUAL(env.gpu->ops->module_load(env.gpu->priv, RPCI_GPU_MODULE_PTX,
						  g_pack_ptx, strlen(g_pack_ptx), &mod, log,
						  sizeof(log)), -EIO);
	CU_ASSERT_STRING_EQUAL(log, "the CUDA context is lost");
	CU_ASSERT_EQUAL(calls_count(), from);

	/* clearing all of device memory (between clients) replaces the context */
	capture_begin(&cap);
	CU_ASSERT_EQUAL(rpci_gpu_mem_fill(env.gpu, 0, 0, MiB), 0);
	capture_end(&cap, msg, sizeof(msg));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "replaced the lost CUDA context"));
	calls_string(from, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(msg, "cuCtxDestroy_v2 cuCtxCreate_v2 cuStreamCreate cuEventCreate "
			       "cuMemAlloc_v2 cuMemsetD8_v2 cuStreamSynchronize");
	CU_ASSERT_EQUAL(g_dbl.live(), 4);
	mem = g_dbl.host(call_at("cuMemAlloc_v2", 1)->dptr, MiB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_EQUAL(mem[0], 0);
	CU_ASSERT_EQUAL(mem[MiB - 1], 0);

	/* the old module went with the old context */
	CU_ASSERT_EQUAL(env.gpu->ops->function_get(env.gpu->priv, old_module, "saxpy", &fn),
			-EIO);
	CU_ASSERT_EQUAL(env_launch(&env, grid, block, args, 4), -EIO);
	from = calls_count();
	env.gpu->ops->module_unload(env.gpu->priv, old_module);
	env.module = NULL;
	CU_ASSERT_EQUAL(calls_count(), from);

	/* and the device serves again */
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "saxpy.ptx", "saxpy"), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, x, sizeof(x)), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 4096, y, sizeof(y)), 0);
	args[3] = arg_uint(256, 8);
	CU_ASSERT_EQUAL(env_launch(&env, (uint32_t[3]){ 1, 1, 1 }, block, args, 4), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 4096, back, sizeof(back)), 0);
	for (i = 0; i < 256; i++) {
		ok = ok && back[i] == (float)i + 2.0f;
	}
	CU_ASSERT_TRUE(ok);
	env_close(&env);
	CU_ASSERT_EQUAL(g_dbl.live(), 0);
}

/* --- the shipped kernels, end to end --- */

static float
rand_int_float(void)
{
	return (float)(rand() % 9 - 4);
}

static float
rand_float(void)
{
	return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

static void
test_saxpy(void)
{
	static const uint64_t sizes[] = { 1, 1000, 100003 };
	struct rpci_gpu_arg args[4];
	struct env env;
	float *x, *y, *out, *ref;
	uint64_t n, i, covered;
	uint32_t grid;
	size_t s;
	int pass;
	bool ok;

	g_dbl.reset();
	if (!env_open(&env, 4 * MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "saxpy.ptx", "saxpy"), 0);
	x = malloc(100003 * sizeof(float));
	y = malloc(100003 * sizeof(float));
	out = malloc(100003 * sizeof(float));
	ref = malloc(100003 * sizeof(float));
	CU_ASSERT_FATAL(x != NULL && y != NULL && out != NULL && ref != NULL);
	srand(11);
	for (pass = 0; pass < 2; pass++) {
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			n = sizes[s];
			for (i = 0; i < n; i++) {
				x[i] = pass == 0 ? rand_int_float() : rand_float();
				y[i] = pass == 0 ? rand_int_float() : rand_float();
				ref[i] = 3.0f * x[i] + y[i];
			}
			CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, x, n * 4), 0);
			CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 2 * MiB, y, n * 4), 0);
			args[0] = arg_f32(3.0f);
			args[1] = arg_ptr(0);
			args[2] = arg_ptr(2 * MiB);
			args[3] = arg_uint(n, 8);
			grid = (uint32_t)((n + 255) / 256);
			CU_ASSERT_EQUAL(env_launch(&env, (uint32_t[3]){ grid, 1, 1 },
						   (uint32_t[3]){ 256, 1, 1 }, args, 4), 0);
			CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 2 * MiB, out, n * 4), 0);
			ok = true;
			for (i = 0; i < n; i++) {
				ok = ok && (pass == 0 ? out[i] == ref[i] :
					    fabsf(out[i] - ref[i]) <= 1e-6f);
			}
			CU_ASSERT_TRUE(ok);
		}
	}

	/* a grid too small covers a prefix only: the geometry reaches the kernel */
	n = 1000;
	for (i = 0; i < n; i++) {
		x[i] = 1.0f;
		y[i] = 5.0f;
	}
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 0, x, n * 4), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, 2 * MiB, y, n * 4), 0);
	args[3] = arg_uint(n, 8);
	CU_ASSERT_EQUAL(env_launch(&env, (uint32_t[3]){ 2, 1, 1 }, (uint32_t[3]){ 128, 1, 1 },
				   args, 4), 0);
	CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, 2 * MiB, out, n * 4), 0);
	covered = 2 * 128;
	ok = true;
	for (i = 0; i < n; i++) {
		ok = ok && out[i] == (i < covered ? 8.0f : 5.0f);
	}
	CU_ASSERT_TRUE(ok);

	free(ref);
	free(out);
	free(y);
	free(x);
	env_close(&env);
}

/* C = alpha * A.B + beta * C, summed as test/kernels/sgemm.cu does. */
static void
sgemm_ref(const float *a, const float *b, float *c, uint64_t m, uint64_t n, uint64_t k,
	  float alpha, float beta)
{
	uint64_t i, j, p;
	float acc;

	for (i = 0; i < m; i++) {
		for (j = 0; j < n; j++) {
			acc = 0.0f;
			for (p = 0; p < k; p++) {
				acc += a[i * k + p] * b[p * n + j];
			}
			if (beta == 0.0f) {
				c[i * n + j] = alpha * acc;
			} else {
				c[i * n + j] = alpha * acc + beta * c[i * n + j];
			}
		}
	}
}

static void
test_sgemm(void)
{
	static const uint64_t dims[][3] = {
		{ 1, 1, 1 }, { 3, 5, 7 }, { 65, 33, 17 }, { 127, 200, 31 }, { 300, 200, 500 },
	};
	const uint64_t pa = 0, pb = MiB, pc = 2 * MiB;
	struct rpci_gpu_arg args[8];
	float *a, *b, *c, *ref, *out;
	uint64_t m, n, k, i;
	struct env env;
	size_t d;
	float beta;
	int pass;
	bool ok;

	g_dbl.reset();
	if (!env_open(&env, 4 * MiB)) {
		return;
	}
	CU_ASSERT_EQUAL_FATAL(env_load(&env, "sgemm.ptx", "sgemm"), 0);
	a = malloc(300 * 500 * sizeof(float));
	b = malloc(500 * 200 * sizeof(float));
	c = malloc(300 * 200 * sizeof(float));
	ref = malloc(300 * 200 * sizeof(float));
	out = malloc(300 * 200 * sizeof(float));
	CU_ASSERT_FATAL(a != NULL && b != NULL && c != NULL && ref != NULL && out != NULL);
	srand(5);
	for (d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
		for (pass = 0; pass < 2; pass++) {
			m = dims[d][0];
			n = dims[d][1];
			k = dims[d][2];
			/* beta 0: C is not read, NaN there does not come through */
			beta = pass == 0 ? 0.0f : 0.5f;
			for (i = 0; i < m * k; i++) {
				a[i] = d % 2 == 0 ? rand_int_float() : rand_float();
			}
			for (i = 0; i < k * n; i++) {
				b[i] = d % 2 == 0 ? rand_int_float() : rand_float();
			}
			for (i = 0; i < m * n; i++) {
				c[i] = pass == 0 ? NAN : rand_int_float();
				ref[i] = c[i];
			}
			sgemm_ref(a, b, ref, m, n, k, 2.0f, beta);
			CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, pa, a, m * k * 4), 0);
			CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, pb, b, k * n * 4), 0);
			CU_ASSERT_EQUAL(rpci_gpu_mem_write(env.gpu, pc, c, m * n * 4), 0);
			args[0] = arg_ptr(pa);
			args[1] = arg_ptr(pb);
			args[2] = arg_ptr(pc);
			args[3] = arg_uint(m, 8);
			args[4] = arg_uint(n, 8);
			args[5] = arg_uint(k, 8);
			args[6] = arg_f32(2.0f);
			args[7] = arg_f32(beta);
			CU_ASSERT_EQUAL(env_launch(&env,
						   (uint32_t[3]){ (uint32_t)((n + 15) / 16),
								  (uint32_t)((m + 15) / 16), 1 },
						   (uint32_t[3]){ 16, 16, 1 }, args, 8), 0);
			CU_ASSERT_EQUAL(rpci_gpu_mem_read(env.gpu, pc, out, m * n * 4), 0);
			ok = true;
			for (i = 0; i < m * n; i++) {
				ok = ok && out[i] == ref[i];
			}
			if (!ok) {
				printf("\n  sgemm %" PRIu64 "x%" PRIu64 "x%" PRIu64
				       " beta %g wrong\n", m, n, k, (double)beta);
			}
			CU_ASSERT_TRUE(ok);
		}
	}
	free(out);
	free(ref);
	free(c);
	free(b);
	free(a);
	env_close(&env);
}

/* --- runner --- */

static bool
double_open(void)
{
	const char *path = getenv("RPCI_CUDA_LIBRARY");

	if (path == NULL || path[0] == '\0') {
		fprintf(stderr, "test_gpu_cuda: RPCI_CUDA_LIBRARY must name the CUDA driver "
			"double (meson test sets it)\n");
		return false;
	}
	g_dbl.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (g_dbl.lib == NULL) {
		fprintf(stderr, "test_gpu_cuda: %s\n", dlerror());
		return false;
	}
	*(void **)&g_dbl.reset = dlsym(g_dbl.lib, "double_reset");
	*(void **)&g_dbl.calls = dlsym(g_dbl.lib, "double_calls");
	*(void **)&g_dbl.log_clear = dlsym(g_dbl.lib, "double_log_clear");
	*(void **)&g_dbl.fail = dlsym(g_dbl.lib, "double_fail");
	*(void **)&g_dbl.set_devices = dlsym(g_dbl.lib, "double_set_devices");
	*(void **)&g_dbl.set_memory = dlsym(g_dbl.lib, "double_set_memory");
	*(void **)&g_dbl.set_param_info = dlsym(g_dbl.lib, "double_set_param_info");
	*(void **)&g_dbl.host = dlsym(g_dbl.lib, "double_host");
	*(void **)&g_dbl.live = dlsym(g_dbl.lib, "double_live");
	*(void **)&g_dbl.memset_d8 = dlsym(g_dbl.lib, "cuMemsetD8_v2");
	if (g_dbl.reset == NULL || g_dbl.calls == NULL || g_dbl.log_clear == NULL ||
	    g_dbl.fail == NULL || g_dbl.set_devices == NULL || g_dbl.set_memory == NULL ||
	    g_dbl.set_param_info == NULL || g_dbl.host == NULL || g_dbl.live == NULL ||
	    g_dbl.memset_d8 == NULL) {
		fprintf(stderr, "test_gpu_cuda: %s is not the CUDA driver double\n", path);
		return false;
	}
	return true;
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int n;

	g_kernels_dir = getenv("RPCI_TEST_KERNELS");
	if (g_kernels_dir == NULL || g_kernels_dir[0] == '\0') {
		g_kernels_dir = "test/kernels";
	}
	if (!double_open()) {
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("gpu_cuda", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_backend_lookup);
	CU_ADD_TEST(suite, test_library_missing);
	CU_ADD_TEST(suite, test_library_stub);
	CU_ADD_TEST(suite, test_no_device);
	CU_ADD_TEST(suite, test_bad_params);
	CU_ADD_TEST(suite, test_no_room);
	CU_ADD_TEST(suite, test_create_destroy_sequence);
	CU_ADD_TEST(suite, test_info);
	CU_ADD_TEST(suite, test_memory);
	CU_ADD_TEST(suite, test_other_threads);
	CU_ADD_TEST(suite, test_module_kinds);
	CU_ADD_TEST(suite, test_bad_ptx);
	CU_ADD_TEST(suite, test_functions);
	CU_ADD_TEST(suite, test_destroy_with_modules);
	CU_ADD_TEST(suite, test_arg_packing);
	CU_ADD_TEST(suite, test_arg_checks);
	CU_ADD_TEST(suite, test_arg_bounds);
	CU_ADD_TEST(suite, test_params_unknown);
	CU_ADD_TEST(suite, test_error_mapping);
	CU_ADD_TEST(suite, test_lost_context);
	CU_ADD_TEST(suite, test_saxpy);
	CU_ADD_TEST(suite, test_sgemm);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}
