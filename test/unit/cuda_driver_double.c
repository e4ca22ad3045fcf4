/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * TEST DOUBLE of the CUDA driver API (libcuda.so.1), for the cuda backend's
 * unit tests on hosts without an NVIDIA GPU. It is no driver: it exports
 * the entry points the backend resolves (drivers/gpu/cuda/gpu_cuda.c) and
 * plays them on the host:
 *
 * - device memory is host memory (malloc), named by made-up device
 *   addresses far apart, so that a host pointer passed as a device address
 *   or an access past an allocation is caught; fresh allocations hold
 *   0xA5 bytes, as real ones hold whatever was there;
 * - contexts are current per thread, as in CUDA: a call that needs a
 *   context and has none fails with CUDA_ERROR_INVALID_CONTEXT;
 * - cuModuleLoadDataEx reads the PTX's .entry signatures (names, parameter
 *   sizes) and refuses text that is not PTX with CUDA_ERROR_INVALID_PTX and
 *   a message in the JIT error log; cuFuncGetParamInfo answers from the
 *   signatures;
 * - cuLaunchKernel reads each parameter through kernelParams as the
 *   signature sizes it, records the launch, and runs the two kernels it
 *   knows by name, saxpy and sgemm (test/kernels/saxpy.cu, sgemm.cu), on the host, over
 *   the threads the grid and block cover; a kernel reaching outside its
 *   allocations faults: CUDA_ERROR_ILLEGAL_ADDRESS, and the context is
 *   ruined (sticky) until destroyed. Other kernels run as no-ops.
 *
 * Every call is logged (double_calls()), except the queries without effect:
 * cuGetErrorName, cuGetErrorString, cuFuncGetParamInfo. Any call can be made
 * to fail (double_fail()). cuda_driver_double.h is the control API.
 */

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

#include "cuda_driver_double.h"

/* cuda.h of CUDA 13 maps cuCtxCreate to _v4 and no longer declares _v2. */
CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);

#define D_CTX_MAX 16
#define D_ALLOC_MAX 64
#define D_MOD_MAX 64
#define D_FUNC_MAX 16
#define D_STREAM_MAX 16
#define D_EVENT_MAX 16
#define D_FAIL_MAX 16
/** Largest parameter the double reads (the classic limit of all parameters). */
#define D_PARAM_BYTES_MAX 4096
/** Dynamic shared memory a launch may ask for (48 KiB, without opt-in). */
#define D_SHARED_MAX (48u * 1024u)
/** Device addresses: first allocation here, then spaced by at least this. */
#define D_DPTR_BASE 0x7f0000000000ull
#define D_DPTR_GAP (1ull << 30)

struct CUctx_st {
	bool used;
	CUresult sticky; /**< a fault ruined it: every call returns this */
};

struct CUfunc_st {
	struct CUmod_st *mod;
	char name[64];
	unsigned int nb_params;
	uint32_t size[DOUBLE_PARAMS_MAX];
	uint32_t offset[DOUBLE_PARAMS_MAX];
};

struct CUmod_st {
	bool used;
	CUcontext ctx;
	unsigned int nb_funcs;
	struct CUfunc_st funcs[D_FUNC_MAX];
};

struct CUstream_st {
	bool used;
	CUcontext ctx;
};

struct CUevent_st {
	bool used;
	CUcontext ctx;
};

struct d_alloc {
	bool used;
	CUcontext ctx;
	CUdeviceptr dptr;
	size_t bytes;
	uint8_t *host;
};

struct d_fail {
	bool used;
	char name[DOUBLE_NAME_MAX];
	CUresult result;
	unsigned int skip;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread CUcontext g_current;

static bool g_initialized;
static int g_devices = 1;
static size_t g_memory_limit = (size_t)1 << 30;
static size_t g_memory_used;
static bool g_param_info = true;
static CUdeviceptr g_next_dptr = D_DPTR_BASE;

static struct CUctx_st g_ctx[D_CTX_MAX];
static struct d_alloc g_alloc[D_ALLOC_MAX];
static struct CUmod_st g_mod[D_MOD_MAX];
static struct CUstream_st g_stream[D_STREAM_MAX];
static struct CUevent_st g_event[D_EVENT_MAX];
static struct d_fail g_fail[D_FAIL_MAX];

static struct double_call g_calls[DOUBLE_CALLS_MAX];
static unsigned int g_nb_calls;
static struct double_call g_overflow; /* where calls past the log's end go */

/* --- control API --- */

void
double_reset(void)
{
	size_t i;

	pthread_mutex_lock(&g_lock);
	for (i = 0; i < D_ALLOC_MAX; i++) {
		free(g_alloc[i].host);
	}
	memset(g_ctx, 0, sizeof(g_ctx));
	memset(g_alloc, 0, sizeof(g_alloc));
	memset(g_mod, 0, sizeof(g_mod));
	memset(g_stream, 0, sizeof(g_stream));
	memset(g_event, 0, sizeof(g_event));
	memset(g_fail, 0, sizeof(g_fail));
	g_nb_calls = 0;
	g_initialized = false;
	g_devices = 1;
	g_memory_limit = (size_t)1 << 30;
	g_memory_used = 0;
	g_param_info = true;
	g_next_dptr = D_DPTR_BASE;
	pthread_mutex_unlock(&g_lock);
	g_current = NULL;
}

unsigned int
double_calls(const struct double_call **calls)
{
	unsigned int n;

	pthread_mutex_lock(&g_lock);
	*calls = g_calls;
	n = g_nb_calls;
	pthread_mutex_unlock(&g_lock);
	return n;
}

void
double_log_clear(void)
{
	pthread_mutex_lock(&g_lock);
	g_nb_calls = 0;
	pthread_mutex_unlock(&g_lock);
}

void
double_fail(const char *name, CUresult result, unsigned int skip)
{
	size_t i;

	pthread_mutex_lock(&g_lock);
	for (i = 0; i < D_FAIL_MAX; i++) {
		if (!g_fail[i].used) {
			g_fail[i].used = true;
			snprintf(g_fail[i].name, sizeof(g_fail[i].name), "%s", name);
			g_fail[i].result = result;
			g_fail[i].skip = skip;
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
}

void
double_set_devices(int count)
{
	pthread_mutex_lock(&g_lock);
	g_devices = count;
	pthread_mutex_unlock(&g_lock);
}

void
double_set_memory(size_t bytes)
{
	pthread_mutex_lock(&g_lock);
	g_memory_limit = bytes;
	pthread_mutex_unlock(&g_lock);
}

void
double_set_param_info(int supported)
{
	pthread_mutex_lock(&g_lock);
	g_param_info = supported != 0;
	pthread_mutex_unlock(&g_lock);
}

/* The allocation holding [dptr, dptr + bytes), or NULL. Lock held. */
static struct d_alloc *
alloc_find(CUdeviceptr dptr, size_t bytes)
{
	size_t i;

	for (i = 0; i < D_ALLOC_MAX; i++) {
		struct d_alloc *a = &g_alloc[i];

		if (a->used && dptr >= a->dptr && dptr - a->dptr <= a->bytes &&
		    bytes <= a->bytes - (dptr - a->dptr)) {
			return a;
		}
	}
	return NULL;
}

/* Host address of [dptr, dptr + bytes), or NULL. Lock held. */
static void *
host_of(CUdeviceptr dptr, size_t bytes)
{
	struct d_alloc *a = alloc_find(dptr, bytes);

	return a == NULL ? NULL : a->host + (dptr - a->dptr);
}

void *
double_host(CUdeviceptr dptr, size_t bytes)
{
	void *host;

	pthread_mutex_lock(&g_lock);
	host = host_of(dptr, bytes);
	pthread_mutex_unlock(&g_lock);
	return host;
}

unsigned int
double_live(void)
{
	unsigned int n = 0;
	size_t i;

	pthread_mutex_lock(&g_lock);
	for (i = 0; i < D_CTX_MAX; i++) {
		n += g_ctx[i].used;
	}
	for (i = 0; i < D_ALLOC_MAX; i++) {
		n += g_alloc[i].used;
	}
	for (i = 0; i < D_MOD_MAX; i++) {
		n += g_mod[i].used;
	}
	for (i = 0; i < D_STREAM_MAX; i++) {
		n += g_stream[i].used;
	}
	for (i = 0; i < D_EVENT_MAX; i++) {
		n += g_event[i].used;
	}
	pthread_mutex_unlock(&g_lock);
	return n;
}

/* --- the call log and failures --- */

static bool
sticky(CUresult rc)
{
	switch (rc) {
	case CUDA_ERROR_ECC_UNCORRECTABLE:
	case CUDA_ERROR_NVLINK_UNCORRECTABLE:
	case CUDA_ERROR_CONTAINED:
	case CUDA_ERROR_ILLEGAL_ADDRESS:
	case CUDA_ERROR_LAUNCH_TIMEOUT:
	case CUDA_ERROR_ASSERT:
	case CUDA_ERROR_HARDWARE_STACK_ERROR:
	case CUDA_ERROR_ILLEGAL_INSTRUCTION:
	case CUDA_ERROR_MISALIGNED_ADDRESS:
	case CUDA_ERROR_INVALID_ADDRESS_SPACE:
	case CUDA_ERROR_INVALID_PC:
	case CUDA_ERROR_LAUNCH_FAILED:
		return true;
	default:
		return false;
	}
}

static bool
ctx_valid(CUcontext ctx)
{
	return ctx != NULL && ctx >= &g_ctx[0] && ctx < &g_ctx[D_CTX_MAX] && ctx->used;
}

/*
 * Start a call: take the lock, log it, and set *rc to the failure asked
 * for it, if any (CUDA_SUCCESS otherwise).
 */
static struct double_call *
call_begin(const char *name, CUresult *rc)
{
	struct double_call *r;
	size_t i;

	pthread_mutex_lock(&g_lock);
	r = g_nb_calls < DOUBLE_CALLS_MAX ? &g_calls[g_nb_calls++] : &g_overflow;
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ctx = g_current;
	*rc = CUDA_SUCCESS;
	for (i = 0; i < D_FAIL_MAX; i++) {
		if (!g_fail[i].used || strcmp(g_fail[i].name, name) != 0) {
			continue;
		}
		if (g_fail[i].skip > 0) {
			g_fail[i].skip--;
			continue;
		}
		*rc = g_fail[i].result;
		g_fail[i].used = false;
		if (sticky(*rc) && ctx_valid(g_current)) {
			g_current->sticky = *rc;
		}
		break;
	}
	return r;
}

static CUresult
call_end(struct double_call *r, CUresult rc)
{
	r->result = rc;
	pthread_mutex_unlock(&g_lock);
	return rc;
}

/* What every call that works in a context checks first. Lock held. */
static CUresult
need_ctx(void)
{
	if (!g_initialized) {
		return CUDA_ERROR_NOT_INITIALIZED;
	}
	if (!ctx_valid(g_current)) {
		return CUDA_ERROR_INVALID_CONTEXT;
	}
	return g_current->sticky;
}

/* --- errors --- */

struct d_error {
	CUresult rc;
	const char *name;
	const char *text;
};

static const struct d_error g_errors[] = {
	{ CUDA_SUCCESS, "CUDA_SUCCESS", "no error" },
	{ CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument" },
	{ CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory" },
	{ CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error" },
	{ CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected" },
	{ CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal" },
	{ CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX",
	  "a PTX JIT compilation failed" },
	{ CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context" },
	{ CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found" },
	{ CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS",
	  "an illegal memory access was encountered" },
	{ CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure" },
	{ CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error" },
};

#define D_NB_ERRORS (sizeof(g_errors) / sizeof(g_errors[0]))

CUresult CUDAAPI
cuGetErrorName(CUresult error, const char **pStr)
{
	size_t i;

	for (i = 0; i < D_NB_ERRORS; i++) {
		if (g_errors[i].rc == error) {
			*pStr = g_errors[i].name;
			return CUDA_SUCCESS;
		}
	}
	*pStr = NULL;
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI
cuGetErrorString(CUresult error, const char **pStr)
{
	size_t i;

	for (i = 0; i < D_NB_ERRORS; i++) {
		if (g_errors[i].rc == error) {
			*pStr = g_errors[i].text;
			return CUDA_SUCCESS;
		}
	}
	*pStr = NULL;
	return CUDA_ERROR_INVALID_VALUE;
}

/* --- initialization, devices --- */

CUresult CUDAAPI
cuInit(unsigned int Flags)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuInit", &rc);
	r->value = Flags;
	if (rc == CUDA_SUCCESS && Flags != 0) {
		rc = CUDA_ERROR_INVALID_VALUE;
	}
	if (rc == CUDA_SUCCESS) {
		g_initialized = true;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuDriverGetVersion(int *driverVersion)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuDriverGetVersion", &rc);
	if (rc == CUDA_SUCCESS && driverVersion == NULL) {
		rc = CUDA_ERROR_INVALID_VALUE;
	}
	if (rc == CUDA_SUCCESS) {
		*driverVersion = 13000;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuDeviceGetCount(int *count)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuDeviceGetCount", &rc);
	if (rc == CUDA_SUCCESS && !g_initialized) {
		rc = CUDA_ERROR_NOT_INITIALIZED;
	}
	if (rc == CUDA_SUCCESS) {
		*count = g_devices;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuDeviceGet(CUdevice *device, int ordinal)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuDeviceGet", &rc);
	if (rc == CUDA_SUCCESS && !g_initialized) {
		rc = CUDA_ERROR_NOT_INITIALIZED;
	}
	if (rc == CUDA_SUCCESS && (ordinal < 0 || ordinal >= g_devices)) {
		rc = CUDA_ERROR_INVALID_DEVICE;
	}
	if (rc == CUDA_SUCCESS) {
		*device = ordinal;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuDeviceGetName(char *name, int len, CUdevice dev)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuDeviceGetName", &rc);
	if (rc == CUDA_SUCCESS && (name == NULL || len <= 0)) {
		rc = CUDA_ERROR_INVALID_VALUE;
	}
	if (rc == CUDA_SUCCESS && (dev < 0 || dev >= g_devices)) {
		rc = CUDA_ERROR_INVALID_DEVICE;
	}
	if (rc == CUDA_SUCCESS) {
		snprintf(name, (size_t)len, "CUDA driver double %d", dev);
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuDeviceGetAttribute", &rc);
	r->value = (unsigned int)attrib;
	if (rc == CUDA_SUCCESS && (dev < 0 || dev >= g_devices)) {
		rc = CUDA_ERROR_INVALID_DEVICE;
	}
	if (rc == CUDA_SUCCESS) {
		if (attrib == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT) {
			*pi = 7;
		} else {
			rc = CUDA_ERROR_INVALID_VALUE;
		}
	}
	return call_end(r, rc);
}

/* --- contexts --- */

CUresult
cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	struct double_call *r;
	CUresult rc;
	size_t i;

	r = call_begin("cuCtxCreate_v2", &rc);
	r->value = flags;
	if (rc == CUDA_SUCCESS && !g_initialized) {
		rc = CUDA_ERROR_NOT_INITIALIZED;
	}
	if (rc == CUDA_SUCCESS && (dev < 0 || dev >= g_devices)) {
		rc = CUDA_ERROR_INVALID_DEVICE;
	}
	if (rc == CUDA_SUCCESS) {
		rc = CUDA_ERROR_OUT_OF_MEMORY;
		for (i = 0; i < D_CTX_MAX; i++) {
			if (!g_ctx[i].used) {
				memset(&g_ctx[i], 0, sizeof(g_ctx[i]));
				g_ctx[i].used = true;
				*pctx = &g_ctx[i];
				g_current = &g_ctx[i];
				r->ctx_arg = &g_ctx[i];
				rc = CUDA_SUCCESS;
				break;
			}
		}
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuCtxDestroy_v2(CUcontext ctx)
{
	struct double_call *r;
	CUresult rc;
	size_t i;

	r = call_begin("cuCtxDestroy_v2", &rc);
	r->ctx_arg = ctx;
	if (rc == CUDA_SUCCESS && !ctx_valid(ctx)) {
		rc = CUDA_ERROR_INVALID_VALUE;
	}
	if (rc == CUDA_SUCCESS) {
		/* Everything the context holds goes with it, a ruined one too. */
		for (i = 0; i < D_ALLOC_MAX; i++) {
			if (g_alloc[i].used && g_alloc[i].ctx == ctx) {
				g_memory_used -= g_alloc[i].bytes;
				free(g_alloc[i].host);
				memset(&g_alloc[i], 0, sizeof(g_alloc[i]));
			}
		}
		for (i = 0; i < D_MOD_MAX; i++) {
			if (g_mod[i].used && g_mod[i].ctx == ctx) {
				g_mod[i].used = false;
			}
		}
		for (i = 0; i < D_STREAM_MAX; i++) {
			if (g_stream[i].used && g_stream[i].ctx == ctx) {
				g_stream[i].used = false;
			}
		}
		for (i = 0; i < D_EVENT_MAX; i++) {
			if (g_event[i].used && g_event[i].ctx == ctx) {
				g_event[i].used = false;
			}
		}
		ctx->used = false;
		ctx->sticky = CUDA_SUCCESS;
		if (g_current == ctx) {
			g_current = NULL;
		}
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuCtxSetCurrent(CUcontext ctx)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuCtxSetCurrent", &rc);
	r->ctx_arg = ctx;
	if (rc == CUDA_SUCCESS && !g_initialized) {
		rc = CUDA_ERROR_NOT_INITIALIZED;
	}
	if (rc == CUDA_SUCCESS && ctx != NULL && !ctx_valid(ctx)) {
		rc = CUDA_ERROR_INVALID_CONTEXT;
	}
	if (rc == CUDA_SUCCESS) {
		g_current = ctx;
	}
	return call_end(r, rc);
}

/* --- memory --- */

CUresult CUDAAPI
cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	struct double_call *r;
	struct d_alloc *a = NULL;
	CUresult rc;
	size_t i;

	r = call_begin("cuMemAlloc_v2", &rc);
	r->bytes = bytesize;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && (dptr == NULL || bytesize == 0)) {
		rc = CUDA_ERROR_INVALID_VALUE;
	}
	if (rc == CUDA_SUCCESS && bytesize > g_memory_limit - g_memory_used) {
		rc = CUDA_ERROR_OUT_OF_MEMORY;
	}
	for (i = 0; rc == CUDA_SUCCESS && i < D_ALLOC_MAX; i++) {
		if (!g_alloc[i].used) {
			a = &g_alloc[i];
			break;
		}
	}
	if (rc == CUDA_SUCCESS && a == NULL) {
		rc = CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (rc == CUDA_SUCCESS) {
		a->host = malloc(bytesize);
		if (a->host == NULL) {
			rc = CUDA_ERROR_OUT_OF_MEMORY;
		}
	}
	if (rc == CUDA_SUCCESS) {
		memset(a->host, 0xA5, bytesize);
		a->used = true;
		a->ctx = g_current;
		a->bytes = bytesize;
		a->dptr = g_next_dptr;
		g_next_dptr += ((bytesize + D_DPTR_GAP - 1) / D_DPTR_GAP + 1) * D_DPTR_GAP;
		g_memory_used += bytesize;
		*dptr = a->dptr;
		r->dptr = a->dptr;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuMemFree_v2(CUdeviceptr dptr)
{
	struct double_call *r;
	CUresult rc;
	size_t i;

	r = call_begin("cuMemFree_v2", &rc);
	r->dptr = dptr;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS) {
		rc = CUDA_ERROR_INVALID_VALUE;
		for (i = 0; i < D_ALLOC_MAX; i++) {
			if (g_alloc[i].used && g_alloc[i].dptr == dptr) {
				g_memory_used -= g_alloc[i].bytes;
				free(g_alloc[i].host);
				memset(&g_alloc[i], 0, sizeof(g_alloc[i]));
				rc = CUDA_SUCCESS;
				break;
			}
		}
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
{
	struct double_call *r;
	CUresult rc;
	void *dst;

	r = call_begin("cuMemcpyHtoD_v2", &rc);
	r->dptr = dstDevice;
	r->bytes = ByteCount;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS) {
		dst = host_of(dstDevice, ByteCount);
		if (dst == NULL || (srcHost == NULL && ByteCount != 0)) {
			rc = CUDA_ERROR_INVALID_VALUE;
		} else if (ByteCount != 0) {
			memcpy(dst, srcHost, ByteCount);
		}
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
{
	struct double_call *r;
	CUresult rc;
	void *src;

	r = call_begin("cuMemcpyDtoH_v2", &rc);
	r->dptr = srcDevice;
	r->bytes = ByteCount;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS) {
		src = host_of(srcDevice, ByteCount);
		if (src == NULL || (dstHost == NULL && ByteCount != 0)) {
			rc = CUDA_ERROR_INVALID_VALUE;
		} else if (ByteCount != 0) {
			memcpy(dstHost, src, ByteCount);
		}
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{
	struct double_call *r;
	CUresult rc;
	void *dst;

	r = call_begin("cuMemsetD8_v2", &rc);
	r->dptr = dstDevice;
	r->bytes = N;
	r->value = uc;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS) {
		dst = host_of(dstDevice, N);
		if (dst == NULL) {
			rc = CUDA_ERROR_INVALID_VALUE;
		} else {
			memset(dst, uc, N);
		}
	}
	return call_end(r, rc);
}

/* --- modules: a reader of PTX .entry signatures --- */

static const char *
skip_blanks(const char *s)
{
	for (;;) {
		if (isspace((unsigned char)*s)) {
			s++;
		} else if (s[0] == '/' && s[1] == '/') {
			while (*s != '\0' && *s != '\n') {
				s++;
			}
		} else if (s[0] == '/' && s[1] == '*') {
			s += 2;
			while (*s != '\0' && !(s[0] == '*' && s[1] == '/')) {
				s++;
			}
			if (*s != '\0') {
				s += 2;
			}
		} else {
			return s;
		}
	}
}

static size_t
ident_len(const char *s)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == '$' || s[0] == '%')) {
		return 0;
	}
	while (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '$' || s[n] == '%') {
		n++;
	}
	return n;
}

/* Bytes of a PTX fundamental type (without its dot), 0 if not one. */
static uint32_t
type_size(const char *t, size_t len)
{
	static const struct {
		const char *name;
		uint32_t size;
	} types[] = {
		{ "b8", 1 },  { "u8", 1 },  { "s8", 1 },  { "b16", 2 }, { "u16", 2 },
		{ "s16", 2 }, { "f16", 2 }, { "bf16", 2 }, { "b32", 4 }, { "u32", 4 },
		{ "s32", 4 }, { "f32", 4 }, { "b64", 8 }, { "u64", 8 }, { "s64", 8 },
		{ "f64", 8 },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strlen(types[i].name) == len && strncmp(types[i].name, t, len) == 0) {
			return types[i].size;
		}
	}
	return 0;
}

static unsigned int
line_of(const char *start, const char *at)
{
	unsigned int line = 1;

	for (; start < at; start++) {
		line += *start == '\n';
	}
	return line;
}

/* Parse one parameter: ".param [.align N] .type name[[count]]". */
static const char *
parse_param(const char *s, uint32_t *size, uint32_t *align, const char **error)
{
	uint32_t elem = 0;
	unsigned long count = 1;
	unsigned long a = 0;
	char *end;
	size_t n;

	s = skip_blanks(s);
	if (strncmp(s, ".param", 6) != 0) {
		*error = "expected .param";
		return s;
	}
	s += 6;
	for (;;) {
		s = skip_blanks(s);
		if (*s != '.') {
			break;
		}
		n = ident_len(s + 1);
		if (n == 5 && strncmp(s + 1, "align", 5) == 0) {
			a = strtoul(s + 6, &end, 10);
			if (end == s + 6) {
				*error = "expected an alignment";
				return s;
			}
			s = end;
			continue;
		}
		if (type_size(s + 1, n) != 0) {
			elem = type_size(s + 1, n);
		}
		/* other qualifiers (.ptr, .global...) change nothing here */
		s += 1 + n;
	}
	n = ident_len(s);
	if (elem == 0 || n == 0) {
		*error = "expected a parameter type and name";
		return s;
	}
	s += n;
	if (*s == '[') {
		count = strtoul(s + 1, &end, 10);
		if (end == s + 1 || *end != ']' || count == 0 || count > D_PARAM_BYTES_MAX) {
			*error = "bad array parameter";
			return s;
		}
		s = end + 1;
	}
	*size = elem * (uint32_t)count;
	*align = a != 0 ? (uint32_t)a : elem;
	if (*size > D_PARAM_BYTES_MAX || *align == 0 || *align > 256) {
		*error = "parameter too large";
		return s;
	}
	return s;
}

/* Read the .entry signatures of a PTX text into mod; a message on error. */
static CUresult
ptx_read(struct CUmod_st *mod, const char *ptx, char *log, size_t log_len)
{
	const char *error = NULL;
	const char *s = ptx;
	struct CUfunc_st *f;
	uint32_t offset, size, align;
	size_t n;

	if (strstr(ptx, ".version") == NULL || strstr(ptx, ".target") == NULL) {
		snprintf(log, log_len, "ptxas fatal   : (CUDA driver double) line 1: not PTX: "
			 "no .version or .target directive");
		return CUDA_ERROR_INVALID_PTX;
	}
	while ((s = strstr(s, ".entry")) != NULL) {
		s = skip_blanks(s + 6);
		n = ident_len(s);
		if (n == 0 || n >= sizeof(f->name)) {
			error = "expected a kernel name";
			break;
		}
		if (mod->nb_funcs == D_FUNC_MAX) {
			error = "too many kernels for the double";
			break;
		}
		f = &mod->funcs[mod->nb_funcs];
		memset(f, 0, sizeof(*f));
		f->mod = mod;
		memcpy(f->name, s, n);
		s = skip_blanks(s + n);
		if (*s != '(') {
			/* a declaration without parameters is still a kernel */
			mod->nb_funcs++;
			continue;
		}
		s = skip_blanks(s + 1);
		offset = 0;
		while (*s != ')') {
			if (f->nb_params == DOUBLE_PARAMS_MAX) {
				error = "too many parameters for the double";
				break;
			}
			s = parse_param(s, &size, &align, &error);
			if (error != NULL) {
				break;
			}
			offset = (offset + align - 1) / align * align;
			f->offset[f->nb_params] = offset;
			f->size[f->nb_params] = size;
			f->nb_params++;
			offset += size;
			s = skip_blanks(s);
			if (*s == ',') {
				s = skip_blanks(s + 1);
			} else if (*s != ')') {
				error = "expected ',' or ')'";
				break;
			}
		}
		if (error != NULL) {
			break;
		}
		mod->nb_funcs++;
	}
	if (error != NULL) {
		snprintf(log, log_len, "ptxas fatal   : (CUDA driver double) line %u: %s",
			 line_of(ptx, s), error);
		return CUDA_ERROR_INVALID_PTX;
	}
	return CUDA_SUCCESS;
}

CUresult CUDAAPI
cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
		   CUjit_option *options, void **optionValues)
{
	char *error_log = NULL, *info_log = NULL;
	size_t error_len = 0, info_len = 0;
	char scratch[256];
	struct CUmod_st *mod = NULL;
	struct double_call *r;
	CUresult rc;
	unsigned int i;

	r = call_begin("cuModuleLoadDataEx", &rc);
	r->nb_options = numOptions;
	for (i = 0; i < numOptions && i < DOUBLE_OPTIONS_MAX; i++) {
		r->options[i] = options[i];
	}
	for (i = 0; i < numOptions; i++) {
		switch (options[i]) {
		case CU_JIT_ERROR_LOG_BUFFER:
			error_log = optionValues[i];
			break;
		case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES:
			error_len = (size_t)(uintptr_t)optionValues[i];
			break;
		case CU_JIT_INFO_LOG_BUFFER:
			info_log = optionValues[i];
			break;
		case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES:
			info_len = (size_t)(uintptr_t)optionValues[i];
			break;
		default:
			break;
		}
	}
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && (module == NULL || image == NULL)) {
		rc = CUDA_ERROR_INVALID_VALUE;
	}
	for (i = 0; rc == CUDA_SUCCESS && i < D_MOD_MAX; i++) {
		if (!g_mod[i].used) {
			mod = &g_mod[i];
			break;
		}
	}
	if (rc == CUDA_SUCCESS && mod == NULL) {
		rc = CUDA_ERROR_OUT_OF_MEMORY;
	}
	scratch[0] = '\0';
	if (rc == CUDA_SUCCESS) {
		memset(mod, 0, sizeof(*mod));
		rc = ptx_read(mod, image, scratch, sizeof(scratch));
	}
	if (rc == CUDA_SUCCESS) {
		mod->used = true;
		mod->ctx = g_current;
		*module = mod;
	}
	/* Both logs are written, and the size options say how many bytes each holds. */
	if (error_log != NULL && error_len > 0) {
		snprintf(error_log, error_len, "%s", rc == CUDA_SUCCESS ? "" : scratch);
	}
	if (info_log != NULL && info_len > 0) {
		if (rc == CUDA_SUCCESS) {
			snprintf(info_log, info_len, "(CUDA driver double) %u kernel(s) read",
				 mod->nb_funcs);
		} else {
			info_log[0] = '\0';
		}
	}
	for (i = 0; i < numOptions; i++) {
		if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) {
			optionValues[i] = (void *)(uintptr_t)(error_log != NULL && error_len > 0 ?
							      strlen(error_log) + 1 : 0);
		} else if (options[i] == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES) {
			optionValues[i] = (void *)(uintptr_t)(info_log != NULL && info_len > 0 ?
							      strlen(info_log) + 1 : 0);
		}
	}
	return call_end(r, rc);
}

static bool
mod_valid(CUmodule mod)
{
	return mod != NULL && mod >= &g_mod[0] && mod < &g_mod[D_MOD_MAX] && mod->used;
}

CUresult CUDAAPI
cuModuleUnload(CUmodule hmod)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuModuleUnload", &rc);
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && !mod_valid(hmod)) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	if (rc == CUDA_SUCCESS) {
		hmod->used = false;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	struct double_call *r;
	CUresult rc;
	unsigned int i;

	r = call_begin("cuModuleGetFunction", &rc);
	if (name != NULL) {
		snprintf(r->function, sizeof(r->function), "%s", name);
	}
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && (hfunc == NULL || name == NULL)) {
		rc = CUDA_ERROR_INVALID_VALUE;
	}
	if (rc == CUDA_SUCCESS && !mod_valid(hmod)) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	if (rc == CUDA_SUCCESS) {
		rc = CUDA_ERROR_NOT_FOUND;
		for (i = 0; i < hmod->nb_funcs; i++) {
			if (strcmp(hmod->funcs[i].name, name) == 0) {
				*hfunc = &hmod->funcs[i];
				rc = CUDA_SUCCESS;
				break;
			}
		}
	}
	return call_end(r, rc);
}

static bool
func_valid(CUfunction f)
{
	return f != NULL && mod_valid(f->mod) && f >= &f->mod->funcs[0] &&
	       f < &f->mod->funcs[f->mod->nb_funcs];
}

CUresult CUDAAPI
cuFuncGetParamInfo(CUfunction func, size_t paramIndex, size_t *paramOffset, size_t *paramSize)
{
	CUresult rc = CUDA_SUCCESS;

	/* A query without effect: not logged. */
	pthread_mutex_lock(&g_lock);
	if (!g_param_info) {
		rc = CUDA_ERROR_NOT_SUPPORTED;
	} else if (!func_valid(func) || paramOffset == NULL ||
		   paramIndex >= func->nb_params) {
		rc = CUDA_ERROR_INVALID_VALUE;
	} else {
		*paramOffset = func->offset[paramIndex];
		if (paramSize != NULL) {
			*paramSize = func->size[paramIndex];
		}
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

/* --- streams and events --- */

CUresult CUDAAPI
cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
	struct double_call *r;
	CUresult rc;
	size_t i;

	r = call_begin("cuStreamCreate", &rc);
	r->value = Flags;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS) {
		rc = CUDA_ERROR_OUT_OF_MEMORY;
		for (i = 0; i < D_STREAM_MAX; i++) {
			if (!g_stream[i].used) {
				g_stream[i].used = true;
				g_stream[i].ctx = g_current;
				*phStream = &g_stream[i];
				r->stream = &g_stream[i];
				rc = CUDA_SUCCESS;
				break;
			}
		}
	}
	return call_end(r, rc);
}

static bool
stream_ok(CUstream s)
{
	/* NULL is the default stream */
	return s == NULL || (s >= &g_stream[0] && s < &g_stream[D_STREAM_MAX] && s->used &&
			     s->ctx == g_current);
}

CUresult CUDAAPI
cuStreamDestroy_v2(CUstream hStream)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuStreamDestroy_v2", &rc);
	r->stream = hStream;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && (hStream == NULL || !stream_ok(hStream))) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	if (rc == CUDA_SUCCESS) {
		hStream->used = false;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuStreamSynchronize(CUstream hStream)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuStreamSynchronize", &rc);
	r->stream = hStream;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && !stream_ok(hStream)) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
	struct double_call *r;
	CUresult rc;
	size_t i;

	r = call_begin("cuEventCreate", &rc);
	r->value = Flags;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS) {
		rc = CUDA_ERROR_OUT_OF_MEMORY;
		for (i = 0; i < D_EVENT_MAX; i++) {
			if (!g_event[i].used) {
				g_event[i].used = true;
				g_event[i].ctx = g_current;
				*phEvent = &g_event[i];
				rc = CUDA_SUCCESS;
				break;
			}
		}
	}
	return call_end(r, rc);
}

static bool
event_ok(CUevent e)
{
	return e != NULL && e >= &g_event[0] && e < &g_event[D_EVENT_MAX] && e->used &&
	       e->ctx == g_current;
}

CUresult CUDAAPI
cuEventRecord(CUevent hEvent, CUstream hStream)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuEventRecord", &rc);
	r->stream = hStream;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && (!event_ok(hEvent) || !stream_ok(hStream))) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuEventSynchronize(CUevent hEvent)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuEventSynchronize", &rc);
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && !event_ok(hEvent)) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	return call_end(r, rc);
}

CUresult CUDAAPI
cuEventDestroy_v2(CUevent hEvent)
{
	struct double_call *r;
	CUresult rc;

	r = call_begin("cuEventDestroy_v2", &rc);
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && !event_ok(hEvent)) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	if (rc == CUDA_SUCCESS) {
		hEvent->used = false;
	}
	return call_end(r, rc);
}

/* --- kernels --- */

/* Parameter values of a launch, 8 bytes each at most (the known kernels). */
struct d_args {
	uint8_t v[DOUBLE_PARAMS_MAX][8];
};

static uint64_t
arg_u64(const struct d_args *a, unsigned int i)
{
	uint64_t v;

	memcpy(&v, a->v[i], sizeof(v));
	return v;
}

static float
arg_f32(const struct d_args *a, unsigned int i)
{
	float v;

	memcpy(&v, a->v[i], sizeof(v));
	return v;
}

/* Whether f takes parameters of exactly these sizes. */
static bool
signature_is(CUfunction f, const uint32_t *sizes, unsigned int n)
{
	unsigned int i;

	if (f->nb_params != n) {
		return false;
	}
	for (i = 0; i < n; i++) {
		if (f->size[i] != sizes[i]) {
			return false;
		}
	}
	return true;
}

/* test/kernels/saxpy.cu: y[i] = alpha * x[i] + y[i], i < n, one thread each. */
static CUresult
run_saxpy(const struct d_args *a, const unsigned int grid[3], const unsigned int block[3])
{
	float alpha = arg_f32(a, 0);
	CUdeviceptr x = arg_u64(a, 1), y = arg_u64(a, 2);
	uint64_t n = arg_u64(a, 3);
	uint64_t threads = (uint64_t)grid[0] * block[0];
	uint64_t count = n < threads ? n : threads;
	float *xs, *ys;
	uint64_t i;

	if (count == 0) {
		return CUDA_SUCCESS;
	}
	if (x % 4 != 0 || y % 4 != 0) {
		return CUDA_ERROR_MISALIGNED_ADDRESS;
	}
	xs = host_of(x, count * sizeof(float));
	ys = host_of(y, count * sizeof(float));
	if (xs == NULL || ys == NULL) {
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	}
	for (i = 0; i < count; i++) {
		ys[i] = alpha * xs[i] + ys[i];
	}
	return CUDA_SUCCESS;
}

/* test/kernels/sgemm.cu: C = alpha * A.B + beta * C over the threads launched. */
static CUresult
run_sgemm(const struct d_args *a, const unsigned int grid[3], const unsigned int block[3])
{
	CUdeviceptr pa = arg_u64(a, 0), pb = arg_u64(a, 1), pc = arg_u64(a, 2);
	uint64_t m = arg_u64(a, 3), n = arg_u64(a, 4), k = arg_u64(a, 5);
	float alpha = arg_f32(a, 6), beta = arg_f32(a, 7);
	uint64_t rows = (uint64_t)grid[1] * block[1];
	uint64_t cols = (uint64_t)grid[0] * block[0];
	uint64_t bytes_a, bytes_b, bytes_c, i, j, p;
	const float *ha, *hb;
	float *hc, acc;

	rows = m < rows ? m : rows;
	cols = n < cols ? n : cols;
	if (rows == 0 || cols == 0) {
		return CUDA_SUCCESS;
	}
	if (pa % 4 != 0 || pb % 4 != 0 || pc % 4 != 0) {
		return CUDA_ERROR_MISALIGNED_ADDRESS;
	}
	/* The rows of A, B and C the threads reach. */
	if (__builtin_mul_overflow(rows, k, &bytes_a) ||
	    __builtin_mul_overflow(bytes_a, 4, &bytes_a) ||
	    __builtin_mul_overflow(k, n, &bytes_b) ||
	    __builtin_mul_overflow(bytes_b, 4, &bytes_b) ||
	    __builtin_mul_overflow(rows, n, &bytes_c) ||
	    __builtin_mul_overflow(bytes_c, 4, &bytes_c)) {
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	}
	ha = host_of(pa, bytes_a);
	hb = host_of(pb, bytes_b);
	hc = host_of(pc, bytes_c);
	if ((k != 0 && (ha == NULL || hb == NULL)) || hc == NULL) {
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	}
	for (i = 0; i < rows; i++) {
		for (j = 0; j < cols; j++) {
			acc = 0.0f;
			for (p = 0; p < k; p++) {
				acc += ha[i * k + p] * hb[p * n + j];
			}
			if (beta == 0.0f) {
				hc[i * n + j] = alpha * acc;
			} else {
				hc[i * n + j] = alpha * acc + beta * hc[i * n + j];
			}
		}
	}
	return CUDA_SUCCESS;
}

CUresult CUDAAPI
cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
	       unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
	       unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
	       void **kernelParams, void **extra)
{
	static const uint32_t saxpy_sig[] = { 4, 8, 8, 8 };
	static const uint32_t sgemm_sig[] = { 8, 8, 8, 8, 8, 8, 4, 4 };
	static uint8_t param[D_PARAM_BYTES_MAX];
	struct d_args args;
	struct double_call *r;
	CUresult rc;
	unsigned int i;

	r = call_begin("cuLaunchKernel", &rc);
	r->grid[0] = gridDimX;
	r->grid[1] = gridDimY;
	r->grid[2] = gridDimZ;
	r->block[0] = blockDimX;
	r->block[1] = blockDimY;
	r->block[2] = blockDimZ;
	r->shared = sharedMemBytes;
	r->stream = hStream;
	if (rc == CUDA_SUCCESS) {
		rc = need_ctx();
	}
	if (rc == CUDA_SUCCESS && (!func_valid(f) || f->mod->ctx != g_current ||
				   !stream_ok(hStream))) {
		rc = CUDA_ERROR_INVALID_HANDLE;
	}
	if (rc == CUDA_SUCCESS) {
		snprintf(r->function, sizeof(r->function), "%s", f->name);
		if (gridDimX == 0 || gridDimY == 0 || gridDimZ == 0 || blockDimX == 0 ||
		    blockDimY == 0 || blockDimZ == 0 || blockDimX > 1024 || blockDimY > 1024 ||
		    blockDimZ > 64 || (uint64_t)blockDimX * blockDimY * blockDimZ > 1024 ||
		    sharedMemBytes > D_SHARED_MAX || extra != NULL ||
		    (f->nb_params != 0 && kernelParams == NULL)) {
			rc = CUDA_ERROR_INVALID_VALUE;
		}
	}
	if (rc != CUDA_SUCCESS) {
		return call_end(r, rc);
	}

	/* Read every parameter in full, as the driver does. */
	memset(&args, 0, sizeof(args));
	r->nb_params = f->nb_params;
	for (i = 0; i < f->nb_params; i++) {
		memcpy(param, kernelParams[i], f->size[i]);
		r->param_size[i] = f->size[i];
		memcpy(r->params[i], param, f->size[i] < 8 ? f->size[i] : 8);
		memcpy(args.v[i], param, f->size[i] < 8 ? f->size[i] : 8);
	}

	/* Run the kernel now; a fault shows at the next call, as on a GPU. */
	if (strcmp(f->name, "saxpy") == 0 && signature_is(f, saxpy_sig, 4)) {
		rc = run_saxpy(&args, r->grid, r->block);
	} else if (strcmp(f->name, "sgemm") == 0 && signature_is(f, sgemm_sig, 8)) {
		rc = run_sgemm(&args, r->grid, r->block);
	}
	if (rc != CUDA_SUCCESS) {
		g_current->sticky = rc;
	}
	return call_end(r, CUDA_SUCCESS);
}
