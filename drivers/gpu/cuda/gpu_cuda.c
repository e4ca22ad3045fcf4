/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The cuda compute backend: device memory and kernels of an NVIDIA GPU,
 * through the CUDA driver API.
 *
 * The driver, libcuda.so.1, is loaded with dlopen when an instance is
 * created, and every entry point is resolved with dlsym, so that the server
 * builds and runs on hosts without CUDA; cuda.h gives the types only. The
 * environment variable RPCI_CUDA_LIBRARY names another library to load
 * instead (the unit tests load a test double of the driver API that way).
 *
 * An instance is one context on device 0 with one stream, one event to wait
 * for kernels, and one allocation of memory_bytes: a device address is an
 * offset in that allocation, mem_base is NULL, and copies and fills go
 * through the driver. Operations come from different threads (the device
 * model's poll thread and its kernel worker), so each one makes the
 * context current first.
 *
 * A kernel fault (an illegal address, an assertion...) leaves a CUDA
 * context unusable: the instance is then "lost", every operation fails with
 * -EIO, and the next fill of the whole device memory (what the device model
 * does before it serves the next client) replaces the context.
 */

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>
#include <rte_log.h>

#include "rpci_gpu.h"

RTE_LOG_REGISTER(rpci_gpu_cuda_logtype, rpci.driver.gpu.cuda, INFO);

/*
 * The backend's lines say why a device cannot be made or was lost; they
 * start with "rpci.gpu.cuda: " (doc/backends.md, test/integration/cuda.sh).
 */
#define CUDA_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_gpu_cuda_logtype, "rpci.gpu.cuda: " fmt "\n", \
		##__VA_ARGS__)

/** The driver library loaded unless RPCI_CUDA_LIBRARY names another. */
#define CUDA_LIBRARY "libcuda.so.1"
/** Environment variable naming the library to load instead. */
#define CUDA_LIBRARY_ENV "RPCI_CUDA_LIBRARY"
/** Size of each JIT log buffer (errors, information). */
#define CUDA_JIT_LOG_MAX 16384
/** Most parameters counted when asking the driver for a kernel's list. */
#define CUDA_PARAMS_SCAN_MAX 4096
/** kernelParams entries passed when the driver cannot tell the kernel's parameters. */
#define CUDA_PARAMS_PAD 256
/** Zero bytes each padding entry points to: the most parameter space a kernel has. */
#define CUDA_PARAM_ZERO_BYTES 32768

/*
 * cuCtxCreate_v2, the context constructor of every driver since CUDA 3.2.
 * CUDA 13's cuda.h maps cuCtxCreate to cuCtxCreate_v4 (drivers of 12.5 and
 * later) and no longer declares _v2, which its driver still exports.
 */
typedef CUresult (*cuda_ctx_create_v2_fn)(CUcontext *ctx, unsigned int flags, CUdevice dev);

/** Entry points of the driver, resolved with dlsym. */
struct cuda_driver {
	void *lib;
	__typeof__(cuInit) *init;
	__typeof__(cuDriverGetVersion) *driver_get_version;
	__typeof__(cuDeviceGetCount) *device_get_count;
	__typeof__(cuDeviceGet) *device_get;
	__typeof__(cuDeviceGetName) *device_get_name;
	__typeof__(cuDeviceGetAttribute) *device_get_attribute;
	cuda_ctx_create_v2_fn ctx_create;
	__typeof__(cuCtxDestroy) *ctx_destroy;
	__typeof__(cuCtxSetCurrent) *ctx_set_current;
	__typeof__(cuMemAlloc) *mem_alloc;
	__typeof__(cuMemFree) *mem_free;
	__typeof__(cuMemcpyHtoD) *memcpy_htod;
	__typeof__(cuMemcpyDtoH) *memcpy_dtoh;
	__typeof__(cuMemsetD8) *memset_d8;
	__typeof__(cuModuleLoadDataEx) *module_load_data_ex;
	__typeof__(cuModuleUnload) *module_unload;
	__typeof__(cuModuleGetFunction) *module_get_function;
	__typeof__(cuLaunchKernel) *launch_kernel;
	__typeof__(cuStreamCreate) *stream_create;
	__typeof__(cuStreamDestroy) *stream_destroy;
	__typeof__(cuStreamSynchronize) *stream_synchronize;
	__typeof__(cuEventCreate) *event_create;
	__typeof__(cuEventRecord) *event_record;
	__typeof__(cuEventSynchronize) *event_synchronize;
	__typeof__(cuEventDestroy) *event_destroy;
	/* optional: NULL when the driver lacks them */
	__typeof__(cuGetErrorName) *get_error_name;
	__typeof__(cuGetErrorString) *get_error_string;
	__typeof__(cuFuncGetParamInfo) *func_get_param_info;
};

/** One entry point: its exported name and where its address goes. */
struct cuda_symbol {
	const char *name;
	size_t offset;
	bool required;
};

#define CUDA_SYM(field, symbol, req) { (symbol), offsetof(struct cuda_driver, field), (req) }

/*
 * The exported names are the ones CUDA 13.0's cuda.h maps the API names to
 * (cuMemAlloc is cuMemAlloc_v2...), which every driver since CUDA 4.0
 * exports, except cuCtxCreate_v2 (see above) and the optional ones:
 * cuGetErrorName/String (CUDA 6.0) and cuFuncGetParamInfo (CUDA 12.4).
 */
static const struct cuda_symbol g_cuda_symbols[] = {
	CUDA_SYM(init, "cuInit", true),
	CUDA_SYM(driver_get_version, "cuDriverGetVersion", true),
	CUDA_SYM(device_get_count, "cuDeviceGetCount", true),
	CUDA_SYM(device_get, "cuDeviceGet", true),
	CUDA_SYM(device_get_name, "cuDeviceGetName", true),
	CUDA_SYM(device_get_attribute, "cuDeviceGetAttribute", true),
	CUDA_SYM(ctx_create, "cuCtxCreate_v2", true),
	CUDA_SYM(ctx_destroy, "cuCtxDestroy_v2", true),
	CUDA_SYM(ctx_set_current, "cuCtxSetCurrent", true),
	CUDA_SYM(mem_alloc, "cuMemAlloc_v2", true),
	CUDA_SYM(mem_free, "cuMemFree_v2", true),
	CUDA_SYM(memcpy_htod, "cuMemcpyHtoD_v2", true),
	CUDA_SYM(memcpy_dtoh, "cuMemcpyDtoH_v2", true),
	CUDA_SYM(memset_d8, "cuMemsetD8_v2", true),
	CUDA_SYM(module_load_data_ex, "cuModuleLoadDataEx", true),
	CUDA_SYM(module_unload, "cuModuleUnload", true),
	CUDA_SYM(module_get_function, "cuModuleGetFunction", true),
	CUDA_SYM(launch_kernel, "cuLaunchKernel", true),
	CUDA_SYM(stream_create, "cuStreamCreate", true),
	CUDA_SYM(stream_destroy, "cuStreamDestroy_v2", true),
	CUDA_SYM(stream_synchronize, "cuStreamSynchronize", true),
	CUDA_SYM(event_create, "cuEventCreate", true),
	CUDA_SYM(event_record, "cuEventRecord", true),
	CUDA_SYM(event_synchronize, "cuEventSynchronize", true),
	CUDA_SYM(event_destroy, "cuEventDestroy_v2", true),
	CUDA_SYM(get_error_name, "cuGetErrorName", false),
	CUDA_SYM(get_error_string, "cuGetErrorString", false),
	CUDA_SYM(func_get_param_info, "cuFuncGetParamInfo", false),
};

#define CUDA_NB_SYMBOLS (sizeof(g_cuda_symbols) / sizeof(g_cuda_symbols[0]))

struct cuda_module;

/** A function handle: what function_get returns. */
struct cuda_function {
	struct cuda_function *next; /**< in its module's list */
	struct cuda_module *module;
	CUfunction fn;
	char name[RPCI_GPU_NAME_MAX];
	/** Parameters the kernel takes, or -1 if the driver cannot tell. */
	int32_t nb_params;
	/** Bytes of each of the first RPCI_GPU_ARGS_MAX parameters. */
	uint32_t param_size[RPCI_GPU_ARGS_MAX];
};

struct cuda_dev;

/** A loaded module and the function handles taken from it. */
struct cuda_module {
	struct cuda_module *next; /**< in its instance's list */
	struct cuda_dev *dev;
	CUmodule mod;
	uint64_t generation; /**< the context it was loaded in */
	struct cuda_function *functions;
};

/** An instance. */
struct cuda_dev {
	struct cuda_driver drv;
	uint64_t memory_bytes;
	CUdevice device;
	CUcontext ctx;       /**< NULL while lost and not replaced */
	CUstream stream;     /**< where kernels run */
	CUevent done;        /**< recorded after each kernel, waited for */
	CUdeviceptr base;    /**< device memory: device address 0 */
	bool lost;           /**< a kernel fault ruined the context */
	uint64_t generation; /**< bumped each time the context is replaced */
	struct cuda_module *modules;
	char device_name[RPCI_GPU_NAME_MAX];
	uint32_t compute_units;
};

/** Where kernelParams entries point when the kernel's parameters are unknown. */
static const uint8_t g_cuda_zero_param[CUDA_PARAM_ZERO_BYTES];

/* --- messages and errors --- */

/* The driver's name and description of a result, or its number. */
static void
cuda_describe(const struct cuda_driver *drv, CUresult rc, char *buf, size_t len)
{
	const char *name = NULL;
	const char *text = NULL;

	if (drv->get_error_name == NULL || drv->get_error_name(rc, &name) != CUDA_SUCCESS) {
		name = NULL;
	}
	if (drv->get_error_string == NULL ||
	    drv->get_error_string(rc, &text) != CUDA_SUCCESS) {
		text = NULL;
	}
	if (name != NULL && text != NULL) {
		snprintf(buf, len, "%s: %s", name, text);
	} else if (name != NULL) {
		snprintf(buf, len, "%s (%d)", name, (int)rc);
	} else if (rc == CUDA_ERROR_STUB_LIBRARY) {
		/* The stub names nothing: say what it is. */
		snprintf(buf, len, "CUDA_ERROR_STUB_LIBRARY: this is the CUDA toolkit's stub "
			 "libcuda, not the NVIDIA driver (is a .../stubs directory in "
			 "LD_LIBRARY_PATH?)");
	} else {
		snprintf(buf, len, "CUDA error %d", (int)rc);
	}
}

/* The errno of a driver result (doc/backends.md has the table). */
static int
cuda_errno(CUresult rc)
{
	switch (rc) {
	case CUDA_SUCCESS:
		return 0;
	case CUDA_ERROR_INVALID_VALUE:
	case CUDA_ERROR_INVALID_HANDLE:
	case CUDA_ERROR_INVALID_IMAGE:
	case CUDA_ERROR_INVALID_PTX:
	case CUDA_ERROR_INVALID_SOURCE:
	case CUDA_ERROR_NO_BINARY_FOR_GPU:
	case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
	case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
	case CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING:
		return -EINVAL;
	case CUDA_ERROR_OUT_OF_MEMORY:
		return -ENOMEM;
	case CUDA_ERROR_NOT_INITIALIZED:
	case CUDA_ERROR_DEINITIALIZED:
	case CUDA_ERROR_STUB_LIBRARY:
	case CUDA_ERROR_NO_DEVICE:
	case CUDA_ERROR_INVALID_DEVICE:
	case CUDA_ERROR_DEVICE_NOT_LICENSED:
	case CUDA_ERROR_SYSTEM_NOT_READY:
	case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
	case CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE:
		return -ENODEV;
	case CUDA_ERROR_DEVICE_UNAVAILABLE:
		return -EBUSY;
	case CUDA_ERROR_NOT_FOUND:
		return -ENOENT;
	case CUDA_ERROR_NOT_READY:
		return -EAGAIN;
	case CUDA_ERROR_NOT_SUPPORTED:
	case CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER:
	case CUDA_ERROR_JIT_COMPILER_NOT_FOUND:
	case CUDA_ERROR_JIT_COMPILATION_DISABLED:
		return -ENOTSUP;
	case CUDA_ERROR_NOT_PERMITTED:
		return -EPERM;
	case CUDA_ERROR_LAUNCH_TIMEOUT:
	case CUDA_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	default:
		/* Kernel faults (ILLEGAL_ADDRESS, LAUNCH_FAILED...) and the rest. */
		return -EIO;
	}
}

/* Whether a result means the context is unusable (CUDA's "sticky" errors). */
static bool
cuda_sticky(CUresult rc)
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

/* Report a failed driver call; marks the instance lost on a sticky error. */
static int
cuda_fail(struct cuda_dev *dev, const char *call, CUresult rc)
{
	char what[256];

	cuda_describe(&dev->drv, rc, what, sizeof(what));
	CUDA_LOG(ERR, "%s: %s", call, what);
	if (cuda_sticky(rc) && !dev->lost) {
		dev->lost = true;
		CUDA_LOG(ERR, "the CUDA context is lost: every operation fails until device "
			 "memory is cleared, which replaces the context");
	}
	return cuda_errno(rc);
}

/* --- the driver library --- */

static int
cuda_driver_load(struct cuda_driver *drv)
{
	const char *path = getenv(CUDA_LIBRARY_ENV);
	const char *err;
	void *sym;
	size_t i;

	if (path == NULL || path[0] == '\0') {
		path = CUDA_LIBRARY;
	}
	memset(drv, 0, sizeof(*drv));
	/* NODELETE: the driver runs threads of its own, it must stay mapped. */
	drv->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (drv->lib == NULL) {
		err = dlerror();
		CUDA_LOG(ERR, "no NVIDIA driver: cannot load %s (%s); the cuda backend needs the "
			 "NVIDIA driver's libcuda.so.1", path, err != NULL ? err : "?");
		return -ENODEV;
	}
	for (i = 0; i < CUDA_NB_SYMBOLS; i++) {
		sym = dlsym(drv->lib, g_cuda_symbols[i].name);
		if (sym == NULL && g_cuda_symbols[i].required) {
			CUDA_LOG(ERR, "%s has no %s: the NVIDIA driver is too old or this is not "
				 "libcuda", path, g_cuda_symbols[i].name);
			dlclose(drv->lib);
			drv->lib = NULL;
			return -ENODEV;
		}
		/* POSIX: a function's address converts through void *. */
		memcpy((uint8_t *)drv + g_cuda_symbols[i].offset, &sym, sizeof(sym));
	}
	return 0;
}

/* --- the context --- */

/* Make the instance's context current on the calling thread. */
static int
cuda_enter(struct cuda_dev *dev)
{
	CUresult rc;

	if (dev->lost) {
		return -EIO;
	}
	rc = dev->drv.ctx_set_current(dev->ctx);
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuCtxSetCurrent", rc);
	}
	return 0;
}

/* Fill [base + addr, + len) and wait until it is done (cuMemsetD8 may not). */
static int
cuda_fill(struct cuda_dev *dev, uint64_t addr, uint8_t value, size_t len)
{
	CUresult rc;

	rc = dev->drv.memset_d8(dev->base + addr, value, len);
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuMemsetD8", rc);
	}
	/* The NULL stream is the legacy default stream, where cuMemsetD8 ran. */
	rc = dev->drv.stream_synchronize(NULL);
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuStreamSynchronize", rc);
	}
	return 0;
}

/*
 * Create the context (current on the calling thread), the stream, the event
 * and device memory, filled with value. On failure nothing is left.
 */
static int
cuda_context_open(struct cuda_dev *dev, uint8_t value)
{
	CUresult rc;
	int ret;

	rc = dev->drv.ctx_create(&dev->ctx, CU_CTX_SCHED_AUTO, dev->device);
	if (rc != CUDA_SUCCESS) {
		dev->ctx = NULL;
		return cuda_fail(dev, "cuCtxCreate", rc);
	}
	rc = dev->drv.stream_create(&dev->stream, CU_STREAM_DEFAULT);
	if (rc != CUDA_SUCCESS) {
		ret = cuda_fail(dev, "cuStreamCreate", rc);
		goto err_destroy_ctx;
	}
	/* Blocking: the worker thread sleeps while a kernel runs. */
	rc = dev->drv.event_create(&dev->done, CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING);
	if (rc != CUDA_SUCCESS) {
		ret = cuda_fail(dev, "cuEventCreate", rc);
		goto err_destroy_stream;
	}
	rc = dev->drv.mem_alloc(&dev->base, (size_t)dev->memory_bytes);
	if (rc != CUDA_SUCCESS) {
		ret = cuda_fail(dev, "cuMemAlloc", rc);
		if (ret == -ENOMEM) {
			CUDA_LOG(ERR, "the GPU has no room for memory_mb = %" PRIu64 " (%" PRIu64
				 " bytes)", dev->memory_bytes >> 20, dev->memory_bytes);
		}
		goto err_destroy_event;
	}
	/* Device memory reads as zeros to the first client, as with cpu. */
	ret = cuda_fill(dev, 0, value, (size_t)dev->memory_bytes);
	if (ret < 0) {
		goto err_free_mem;
	}
	return 0;

err_free_mem:
	dev->drv.mem_free(dev->base);
	dev->base = 0;
err_destroy_event:
	dev->drv.event_destroy(dev->done);
	dev->done = NULL;
err_destroy_stream:
	dev->drv.stream_destroy(dev->stream);
	dev->stream = NULL;
err_destroy_ctx:
	dev->drv.ctx_destroy(dev->ctx);
	dev->ctx = NULL;
	return ret;
}

/* Destroy the context and what it holds (its modules included). */
static void
cuda_context_close(struct cuda_dev *dev)
{
	if (dev->ctx == NULL) {
		return;
	}
	/* A lost context refuses everything but its own destruction. */
	if (!dev->lost && dev->drv.ctx_set_current(dev->ctx) == CUDA_SUCCESS) {
		dev->drv.mem_free(dev->base);
		dev->drv.event_destroy(dev->done);
		dev->drv.stream_destroy(dev->stream);
	}
	dev->drv.ctx_destroy(dev->ctx);
	dev->ctx = NULL;
	dev->stream = NULL;
	dev->done = NULL;
	dev->base = 0;
}

/* Replace a lost context by a fresh one whose memory holds value everywhere. */
static int
cuda_recover(struct cuda_dev *dev, uint8_t value)
{
	int ret;

	cuda_context_close(dev);
	dev->generation++;
	ret = cuda_context_open(dev, value);
	if (ret < 0) {
		CUDA_LOG(ERR, "could not replace the lost CUDA context: the device stays "
			 "unusable");
		return -EIO;
	}
	dev->lost = false;
	CUDA_LOG(NOTICE, "replaced the lost CUDA context: device memory is cleared, earlier "
		 "modules are gone");
	return 0;
}

/* --- ops --- */

static int
cuda_create(const struct rpci_gpu_params *params, void **priv)
{
	struct cuda_dev *dev;
	char what[256];
	CUresult rc;
	int count = 0;
	int version = 0;
	int sms = 0;
	int ret;

	if (params == NULL || priv == NULL) {
		return -EINVAL;
	}
	if (params->memory_bytes == 0 || params->memory_bytes > SIZE_MAX) {
		return -EINVAL;
	}
	/* 0 is "not set"; the deployment file's default is 1. */
	if (params->slowdown != 0.0 && params->slowdown != 1.0) {
		CUDA_LOG(ERR, "slowdown is a cpu backend parameter: it must be 1 for cuda");
		return -EINVAL;
	}

	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return -ENOMEM;
	}
	dev->memory_bytes = params->memory_bytes;

	ret = cuda_driver_load(&dev->drv);
	if (ret < 0) {
		goto err_free_dev;
	}

	/* Whatever stops these, there is no GPU to use: ENODEV. */
	rc = dev->drv.init(0);
	if (rc != CUDA_SUCCESS) {
		cuda_describe(&dev->drv, rc, what, sizeof(what));
		CUDA_LOG(ERR, "no usable NVIDIA GPU: cuInit failed: %s", what);
		ret = -ENODEV;
		goto err_close_lib;
	}
	rc = dev->drv.device_get_count(&count);
	if (rc != CUDA_SUCCESS || count < 1) {
		if (rc != CUDA_SUCCESS) {
			cuda_describe(&dev->drv, rc, what, sizeof(what));
		} else {
			snprintf(what, sizeof(what), "it counts 0 devices");
		}
		CUDA_LOG(ERR, "no CUDA device found: cuDeviceGetCount: %s", what);
		ret = -ENODEV;
		goto err_close_lib;
	}
	rc = dev->drv.device_get(&dev->device, 0);
	if (rc != CUDA_SUCCESS) {
		cuda_describe(&dev->drv, rc, what, sizeof(what));
		CUDA_LOG(ERR, "no CUDA device 0: cuDeviceGet: %s", what);
		ret = -ENODEV;
		goto err_close_lib;
	}
	rc = dev->drv.device_get_name(dev->device_name, (int)sizeof(dev->device_name),
				      dev->device);
	if (rc != CUDA_SUCCESS) {
		snprintf(dev->device_name, sizeof(dev->device_name), "CUDA device 0");
	}
	dev->device_name[sizeof(dev->device_name) - 1] = '\0';
	rc = dev->drv.device_get_attribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
					   dev->device);
	dev->compute_units = rc == CUDA_SUCCESS && sms > 0 ? (uint32_t)sms : 0;
	if (dev->drv.driver_get_version(&version) != CUDA_SUCCESS) {
		version = 0;
	}

	ret = cuda_context_open(dev, 0);
	if (ret < 0) {
		CUDA_LOG(ERR, "device 0 (%s, driver %d.%d) cannot serve a device of %" PRIu64
			 " bytes", dev->device_name, version / 1000, version % 1000 / 10,
			 dev->memory_bytes);
		goto err_close_lib;
	}
	*priv = dev;
	return 0;

err_close_lib:
	dlclose(dev->drv.lib);
err_free_dev:
	free(dev);
	return ret;
}

static void
cuda_function_free_all(struct cuda_module *mod)
{
	struct cuda_function *f, *next;

	for (f = mod->functions; f != NULL; f = next) {
		next = f->next;
		free(f);
	}
	mod->functions = NULL;
}

static void
cuda_destroy(void *priv)
{
	struct cuda_dev *dev = priv;
	struct cuda_module *mod, *next;

	if (dev == NULL) {
		return;
	}
	/* Destroying the context unloads the modules: only the handles remain. */
	for (mod = dev->modules; mod != NULL; mod = next) {
		next = mod->next;
		cuda_function_free_all(mod);
		free(mod);
	}
	dev->modules = NULL;
	cuda_context_close(dev);
	dlclose(dev->drv.lib);
	free(dev);
}

static int
cuda_info(void *priv, struct rpci_gpu_info *info)
{
	const struct cuda_dev *dev = priv;

	if (dev == NULL || info == NULL) {
		return -EINVAL;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->backend, sizeof(info->backend), "%s", "cuda");
	snprintf(info->device_name, sizeof(info->device_name), "%s", dev->device_name);
	info->module_kinds = 1u << RPCI_GPU_MODULE_PTX;
	info->compute_units = dev->compute_units;
	info->nb_builtins = 0;
	return 0;
}

static void *
cuda_mem_base(void *priv)
{
	(void)priv;
	return NULL;
}

/* The callers check bounds; this check only keeps a wrong caller in range. */
static bool
cuda_range_ok(const struct cuda_dev *dev, uint64_t dev_addr, uint64_t len)
{
	return dev_addr <= dev->memory_bytes && len <= dev->memory_bytes - dev_addr;
}

static int
cuda_mem_write(void *priv, uint64_t dev_addr, const void *src, size_t len)
{
	struct cuda_dev *dev = priv;
	CUresult rc;
	int ret;

	if (dev == NULL || (src == NULL && len != 0)) {
		return -EINVAL;
	}
	if (!cuda_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	ret = cuda_enter(dev);
	if (ret < 0) {
		return ret;
	}
	rc = dev->drv.memcpy_htod(dev->base + dev_addr, src, len);
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuMemcpyHtoD", rc);
	}
	return 0;
}

static int
cuda_mem_read(void *priv, uint64_t dev_addr, void *dst, size_t len)
{
	struct cuda_dev *dev = priv;
	CUresult rc;
	int ret;

	if (dev == NULL || (dst == NULL && len != 0)) {
		return -EINVAL;
	}
	if (!cuda_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	ret = cuda_enter(dev);
	if (ret < 0) {
		return ret;
	}
	rc = dev->drv.memcpy_dtoh(dst, dev->base + dev_addr, len);
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuMemcpyDtoH", rc);
	}
	return 0;
}

static int
cuda_mem_fill(void *priv, uint64_t dev_addr, uint8_t value, size_t len)
{
	struct cuda_dev *dev = priv;
	int ret;

	if (dev == NULL) {
		return -EINVAL;
	}
	if (!cuda_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	/* Clearing all of a lost device's memory: start again from a fresh context. */
	if (dev->lost && dev_addr == 0 && len == dev->memory_bytes) {
		return cuda_recover(dev, value);
	}
	if (len == 0) {
		return 0;
	}
	ret = cuda_enter(dev);
	if (ret < 0) {
		return ret;
	}
	return cuda_fill(dev, dev_addr, value, len);
}

/* Copy a JIT log that may lack its NUL (filled: bytes the driver reports). */
static void
cuda_jit_log_end(char *buf, uintptr_t filled)
{
	if (filled < CUDA_JIT_LOG_MAX) {
		buf[filled] = '\0';
	}
	buf[CUDA_JIT_LOG_MAX - 1] = '\0';
}

static int
cuda_module_load(void *priv, enum rpci_gpu_module_kind kind, const void *image, size_t len,
		 void **module, char *log, size_t log_len)
{
	struct cuda_dev *dev = priv;
	CUjit_option opts[4] = {
		CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
		CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
	};
	void *vals[4];
	struct cuda_module *mod;
	char *error_log = NULL;
	char *info_log = NULL;
	char what[256];
	char *ptx = NULL;
	CUmodule cu_mod;
	CUresult rc;
	int ret;

	if (log != NULL && log_len > 0) {
		log[0] = '\0';
	}
	if (dev == NULL || module == NULL) {
		return -EINVAL;
	}
	if (kind != RPCI_GPU_MODULE_PTX) {
		if (log != NULL && log_len > 0) {
			snprintf(log, log_len, "cuda backend loads PTX modules only");
		}
		return -ENOTSUP;
	}
	if (image == NULL || len == 0) {
		if (log != NULL && log_len > 0) {
			snprintf(log, log_len, "empty PTX image");
		}
		return -EINVAL;
	}
	ret = cuda_enter(dev);
	if (ret < 0) {
		if (log != NULL && log_len > 0) {
			snprintf(log, log_len, "%s", dev->lost ? "the CUDA context is lost" :
				 "the CUDA context cannot be made current");
		}
		return ret;
	}

	/* The driver takes PTX as a C string: the image need not end with a NUL. */
	ptx = malloc(len + 1);
	error_log = calloc(1, CUDA_JIT_LOG_MAX);
	info_log = calloc(1, CUDA_JIT_LOG_MAX);
	mod = calloc(1, sizeof(*mod));
	if (ptx == NULL || error_log == NULL || info_log == NULL || mod == NULL) {
		ret = -ENOMEM;
		goto out_free;
	}
	memcpy(ptx, image, len);
	ptx[len] = '\0';

	vals[0] = error_log;
	vals[1] = (void *)(uintptr_t)CUDA_JIT_LOG_MAX;
	vals[2] = info_log;
	vals[3] = (void *)(uintptr_t)CUDA_JIT_LOG_MAX;
	rc = dev->drv.module_load_data_ex(&cu_mod, ptx, 4, opts, vals);
	/* On return the size options hold the bytes written. */
	cuda_jit_log_end(error_log, (uintptr_t)vals[1]);
	cuda_jit_log_end(info_log, (uintptr_t)vals[3]);
	if (rc != CUDA_SUCCESS) {
		ret = cuda_fail(dev, "cuModuleLoadDataEx", rc);
		if (log != NULL && log_len > 0) {
			if (error_log[0] != '\0') {
				snprintf(log, log_len, "%s", error_log);
			} else {
				cuda_describe(&dev->drv, rc, what, sizeof(what));
				snprintf(log, log_len, "cuModuleLoadDataEx: %s", what);
			}
		}
		goto out_free;
	}
	if (log != NULL && log_len > 0) {
		snprintf(log, log_len, "%s", info_log);
	}

	mod->dev = dev;
	mod->mod = cu_mod;
	mod->generation = dev->generation;
	mod->next = dev->modules;
	dev->modules = mod;
	*module = mod;
	mod = NULL;
	ret = 0;

out_free:
	free(mod);
	free(info_log);
	free(error_log);
	free(ptx);
	return ret;
}

static void
cuda_module_unload(void *priv, void *module)
{
	struct cuda_dev *dev = priv;
	struct cuda_module *mod = module;
	struct cuda_module **p;
	CUresult rc;

	if (dev == NULL || mod == NULL || mod->dev != dev) {
		return;
	}
	for (p = &dev->modules; *p != NULL; p = &(*p)->next) {
		if (*p == mod) {
			*p = mod->next;
			break;
		}
	}
	/* A module of a replaced context went with it. */
	if (mod->generation == dev->generation && cuda_enter(dev) == 0) {
		rc = dev->drv.module_unload(mod->mod);
		if (rc != CUDA_SUCCESS) {
			cuda_fail(dev, "cuModuleUnload", rc);
		}
	}
	cuda_function_free_all(mod);
	free(mod);
}

/* Learn the kernel's parameters from the driver, when it can tell. */
static void
cuda_params_probe(struct cuda_dev *dev, struct cuda_function *f)
{
	size_t offset, size;
	uint32_t i;
	CUresult rc;

	f->nb_params = -1;
	if (dev->drv.func_get_param_info == NULL) {
		return;
	}
	for (i = 0; i < CUDA_PARAMS_SCAN_MAX; i++) {
		rc = dev->drv.func_get_param_info(f->fn, i, &offset, &size);
		if (rc == CUDA_ERROR_INVALID_VALUE) {
			/* past the last parameter */
			f->nb_params = (int32_t)i;
			return;
		}
		if (rc != CUDA_SUCCESS) {
			return;
		}
		if (i < RPCI_GPU_ARGS_MAX) {
			f->param_size[i] = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
		}
	}
	f->nb_params = CUDA_PARAMS_SCAN_MAX;
}

static int
cuda_function_get(void *priv, void *module, const char *name, void **function)
{
	struct cuda_dev *dev = priv;
	struct cuda_module *mod = module;
	struct cuda_function *f;
	CUfunction fn;
	CUresult rc;
	int ret;

	if (dev == NULL || mod == NULL || mod->dev != dev || name == NULL || function == NULL ||
	    strlen(name) >= RPCI_GPU_NAME_MAX) {
		return -EINVAL;
	}
	if (mod->generation != dev->generation) {
		return -EIO;
	}
	for (f = mod->functions; f != NULL; f = f->next) {
		if (strcmp(f->name, name) == 0) {
			*function = f;
			return 0;
		}
	}
	ret = cuda_enter(dev);
	if (ret < 0) {
		return ret;
	}
	rc = dev->drv.module_get_function(&fn, mod->mod, name);
	if (rc == CUDA_ERROR_NOT_FOUND) {
		return -ENOENT;
	}
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuModuleGetFunction", rc);
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return -ENOMEM;
	}
	f->module = mod;
	f->fn = fn;
	snprintf(f->name, sizeof(f->name), "%s", name);
	cuda_params_probe(dev, f);
	f->next = mod->functions;
	mod->functions = f;
	*function = f;
	return 0;
}

/** The kernelParams of one launch and the values they point to. */
struct cuda_params {
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		CUdeviceptr ptr;
	} values[RPCI_GPU_ARGS_MAX];
	void *ptrs[CUDA_PARAMS_PAD];
	uint32_t nb;            /**< parameters given (LOCAL arguments are not) */
	unsigned int shared;    /**< dynamic shared memory: the LOCAL sizes summed */
};

/*
 * Build kernelParams from the arguments. Checks, in order, with nothing
 * launched unless all pass: kinds and sizes (-EINVAL), the kernel's
 * parameter list when the driver gives it (-EINVAL), and that each device
 * address lies in device memory (-EFAULT).
 */
static int
cuda_params_build(const struct cuda_dev *dev, const struct cuda_function *f,
		  const struct rpci_gpu_launch *launch, struct cuda_params *p)
{
	const struct rpci_gpu_arg *arg;
	uint32_t i;

	if (launch->nb_args > RPCI_GPU_ARGS_MAX || (launch->nb_args != 0 && launch->args == NULL)) {
		return -EINVAL;
	}
	p->nb = 0;
	p->shared = 0;
	for (i = 0; i < launch->nb_args; i++) {
		arg = &launch->args[i];
		switch (arg->kind) {
		case RPCI_GPU_ARG_DEVPTR:
			if (arg->size != sizeof(uint64_t)) {
				return -EINVAL;
			}
			break;
		case RPCI_GPU_ARG_SCALAR:
			if (arg->size != 1 && arg->size != 2 && arg->size != 4 && arg->size != 8) {
				return -EINVAL;
			}
			break;
		case RPCI_GPU_ARG_LOCAL:
			/* CUDA has one dynamic shared array: every LOCAL adds to it. */
			p->shared += arg->size;
			continue;
		default:
			return -EINVAL;
		}
		if (f->nb_params >= 0 &&
		    (p->nb >= (uint32_t)f->nb_params || f->param_size[p->nb] != arg->size)) {
			return -EINVAL;
		}
		p->nb++;
	}
	if (f->nb_params >= 0 && p->nb != (uint32_t)f->nb_params) {
		return -EINVAL;
	}

	p->nb = 0;
	for (i = 0; i < launch->nb_args; i++) {
		arg = &launch->args[i];
		switch (arg->kind) {
		case RPCI_GPU_ARG_DEVPTR:
			/* The kernel's extent is unknown: the address itself must be in. */
			if (arg->value > dev->memory_bytes) {
				return -EFAULT;
			}
			p->values[p->nb].ptr = dev->base + arg->value;
			break;
		case RPCI_GPU_ARG_SCALAR:
			if (arg->size == 1) {
				p->values[p->nb].u8 = (uint8_t)arg->value;
			} else if (arg->size == 2) {
				p->values[p->nb].u16 = (uint16_t)arg->value;
			} else if (arg->size == 4) {
				p->values[p->nb].u32 = (uint32_t)arg->value;
			} else {
				p->values[p->nb].u64 = arg->value;
			}
			break;
		default:
			continue;
		}
		p->ptrs[p->nb] = &p->values[p->nb];
		p->nb++;
	}
	/*
	 * A kernel whose parameters the driver cannot tell reads as many
	 * entries as it has parameters: those not given read as zeros.
	 */
	for (i = p->nb; i < CUDA_PARAMS_PAD; i++) {
		p->ptrs[i] = (void *)(uintptr_t)g_cuda_zero_param;
	}
	return 0;
}

static int
cuda_launch(void *priv, void *function, const struct rpci_gpu_launch *launch)
{
	struct cuda_dev *dev = priv;
	struct cuda_function *f = function;
	struct cuda_params p;
	CUresult rc;
	int ret;

	if (dev == NULL || f == NULL || launch == NULL || f->module == NULL ||
	    f->module->dev != dev) {
		return -EINVAL;
	}
	if (launch->ndrange != NULL) {
		return -ENOTSUP; /* CUDA has grids and blocks, no offsets */
	}
	if (launch->grid[0] == 0 || launch->grid[1] == 0 || launch->grid[2] == 0 ||
	    launch->block[0] == 0 || launch->block[1] == 0 || launch->block[2] == 0) {
		return -EINVAL;
	}
	ret = cuda_params_build(dev, f, launch, &p);
	if (ret < 0) {
		return ret;
	}
	if (f->module->generation != dev->generation) {
		return -EIO;
	}
	ret = cuda_enter(dev);
	if (ret < 0) {
		return ret;
	}
	rc = dev->drv.launch_kernel(f->fn, launch->grid[0], launch->grid[1], launch->grid[2],
				    launch->block[0], launch->block[1], launch->block[2],
				    p.shared, dev->stream, p.ptrs, NULL);
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuLaunchKernel", rc);
	}
	rc = dev->drv.event_record(dev->done, dev->stream);
	if (rc != CUDA_SUCCESS) {
		ret = cuda_fail(dev, "cuEventRecord", rc);
		/* The kernel is queued all the same: wait for it another way. */
		dev->drv.stream_synchronize(dev->stream);
		return ret;
	}
	rc = dev->drv.event_synchronize(dev->done);
	if (rc != CUDA_SUCCESS) {
		return cuda_fail(dev, "cuEventSynchronize", rc);
	}
	return 0;
}

const struct rpci_gpu_ops rpci_gpu_cuda_ops = {
	.name = "cuda",
	.create = cuda_create,
	.destroy = cuda_destroy,
	.info = cuda_info,
	.mem_base = cuda_mem_base,
	.mem_write = cuda_mem_write,
	.mem_read = cuda_mem_read,
	.mem_fill = cuda_mem_fill,
	.module_load = cuda_module_load,
	.module_unload = cuda_module_unload,
	.function_get = cuda_function_get,
	.launch = cuda_launch,
};
