/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The OpenCL compute backend: device memory is one OpenCL buffer on one
 * device (the first GPU of any platform, else the first device of any type),
 * modules are OpenCL C source built for that device, and a launch is one
 * NDRange on one in-order command queue, run to completion.
 *
 * Device addresses are offsets in the buffer. A DEVPTR argument becomes a
 * sub-buffer that starts at its offset and runs to the end of the buffer,
 * created for the launch and released after it. Copies go straight into and
 * out of the buffer: on a device that shares host memory (PoCL, integrated
 * GPUs) through a mapping of the whole buffer, kept between copies and given
 * back before each launch; on the others with blocking read, write and fill
 * commands at the offset. doc/backends.md gives the mapping of memory,
 * arguments, geometry and errors.
 *
 * For clients that speak OpenCL themselves (the rpci OpenCL ICD) it also
 * describes the device, its programs and kernels in info blocks (every
 * clGetDeviceInfo value; program and kernel info), builds with options and
 * from binaries, passes values of any size and runs NDRanges with offsets,
 * and keeps the cl_int behind each failure (api_status).
 */

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <CL/cl.h>
#include <CL/cl_ext.h>

#include <rte_log.h>

#include "rpci_gpu.h"
#include "rpci_vgpu_hw.h"

/* Info blocks carry a size_t as 8 bytes: the server's own are. */
_Static_assert(sizeof(size_t) == 8, "an LP64 server");

RTE_LOG_REGISTER(rpci_gpu_opencl_logtype, rpci.driver.gpu.opencl, INFO);

/* Lines that start with "rpci.gpu.opencl: " (doc/backends.md). */
#define OCL_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_gpu_opencl_logtype, "rpci.gpu.opencl: " fmt "\n", \
		##__VA_ARGS__)

/** clGetPlatformIDs through the ICD loader when no platform is installed (cl_khr_icd). */
#define OCL_PLATFORM_NOT_FOUND_KHR (-1001)
/** Options every program is built with: argument info lets launch check kinds. */
#define OCL_BUILD_OPTIONS "-cl-kernel-arg-info"
/** The platform of the rpci OpenCL ICD: never served again through rpci. */
#define OCL_RPCI_PLATFORM "rpci"
/** Largest value argument whose size launch finds out by asking the driver. */
#define OCL_ARG_PROBE_MAX 4096
/** Most platforms and devices looked at when choosing the device. */
#define OCL_PLATFORMS_MAX 16
#define OCL_DEVICES_MAX 64
/** Pattern of the fill command for the aligned middle of a range (bytes). */
#define OCL_FILL_PATTERN 64
#define OCL_MODULE_MAGIC 0x6f636c6du   /* "oclm" */
#define OCL_FUNCTION_MAGIC 0x6f636c66u /* "oclf" */

/** What an argument of a kernel takes, from its address qualifier and type. */
enum ocl_arg_class {
	OCL_ARG_GLOBAL_PTR = 1, /**< __global or __constant pointer: a DEVPTR */
	OCL_ARG_LOCAL_PTR,      /**< __local pointer: a LOCAL size */
	OCL_ARG_VALUE,          /**< a value passed by copy: a SCALAR */
	OCL_ARG_OPAQUE,         /**< image, sampler, pipe, queue...: nothing we pass */
};

struct ocl_module;

/** A function handle: one cl_kernel and what its arguments take. */
struct ocl_function {
	uint32_t magic;
	LIST_ENTRY(ocl_function) next;
	struct ocl_module *module;
	cl_kernel kernel;
	cl_uint nb_args;
	uint8_t classes[RPCI_GPU_ARGS_MAX]; /**< enum ocl_arg_class of each argument */
};

/** A module: one program built for the device, and the functions taken from it. */
struct ocl_module {
	uint32_t magic;
	LIST_ENTRY(ocl_module) next;
	cl_program program;
	LIST_HEAD(, ocl_function) functions;
};

/** An instance. */
struct ocl_dev {
	cl_device_id device;
	cl_context context;
	cl_command_queue queue;
	cl_mem mem; /**< device memory: [0, memory_bytes) */
	uint64_t memory_bytes;
	uint64_t align;     /**< sub-buffer offsets are multiples (CL_DEVICE_MEM_BASE_ADDR_ALIGN) */
	uint64_t local_mem; /**< CL_DEVICE_LOCAL_MEM_SIZE */
	uint64_t max_param; /**< CL_DEVICE_MAX_PARAMETER_SIZE */
	bool unified;       /**< the device shares host memory: copies through a mapping */
	/*
	 * The mapping of the whole buffer while copies go through it (unified
	 * devices only); NULL while unmapped. The device model may copy from its
	 * polling thread while a launch runs on its worker: the lock orders the
	 * mapping against the launch's unmapping and enqueuing.
	 */
	pthread_mutex_t map_lock;
	uint8_t *map;
	char device_name[RPCI_GPU_NAME_MAX];
	uint32_t compute_units;
	LIST_HEAD(, ocl_module) modules;
};

/* --- errors --- */

/*
 * The cl_int behind the last failure of an operation on this thread
 * (api_status). Per thread: the device model calls copies from its polling
 * thread while a launch runs on its worker.
 */
static __thread cl_int t_ocl_status;

/*
 * The one mapping of OpenCL errors to negative errnos (doc/backends.md has
 * the table). A command that fails while it runs (its event ends in an
 * error) is -EIO, whatever the code: see ocl_launch().
 */
static int
ocl_errno(cl_int err)
{
	switch (err) {
	case CL_SUCCESS:
		return 0;
	case CL_OUT_OF_HOST_MEMORY:
	case CL_OUT_OF_RESOURCES:
	case CL_MEM_OBJECT_ALLOCATION_FAILURE:
		return -ENOMEM;
	case CL_DEVICE_NOT_FOUND:
	case CL_DEVICE_NOT_AVAILABLE:
	case OCL_PLATFORM_NOT_FOUND_KHR:
		return -ENODEV;
	case CL_COMPILER_NOT_AVAILABLE:
	case CL_LINKER_NOT_AVAILABLE:
		return -ENOTSUP;
	case CL_INVALID_KERNEL_NAME:
		return -ENOENT;
	case CL_BUILD_PROGRAM_FAILURE:
	case CL_COMPILE_PROGRAM_FAILURE:
	case CL_LINK_PROGRAM_FAILURE:
	case CL_INVALID_BUILD_OPTIONS:
	case CL_INVALID_PROGRAM_EXECUTABLE:
	case CL_INVALID_KERNEL_DEFINITION:
	case CL_INVALID_VALUE:
	case CL_INVALID_BUFFER_SIZE:
	case CL_MISALIGNED_SUB_BUFFER_OFFSET:
	case CL_INVALID_MEM_OBJECT:
	case CL_INVALID_SAMPLER:
	case CL_INVALID_ARG_INDEX:
	case CL_INVALID_ARG_VALUE:
	case CL_INVALID_ARG_SIZE:
	case CL_INVALID_KERNEL_ARGS:
	case CL_INVALID_WORK_DIMENSION:
	case CL_INVALID_WORK_GROUP_SIZE:
	case CL_INVALID_WORK_ITEM_SIZE:
	case CL_INVALID_GLOBAL_OFFSET:
	case CL_INVALID_GLOBAL_WORK_SIZE:
	case CL_INVALID_IMAGE_SIZE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* A failure of OpenCL: kept for api_status, returned as an errno. */
static int
ocl_fail(cl_int err)
{
	if (err != CL_SUCCESS) {
		t_ocl_status = err;
	}
	return ocl_errno(err);
}

static int32_t
ocl_api_status(void *priv)
{
	(void)priv;
	return t_ocl_status;
}

/* Only create() speaks: the server prints errno, this says what OpenCL said. */
static void
ocl_complain(const char *what, cl_int err)
{
	if (err == CL_SUCCESS) {
		OCL_LOG(ERR, "%s", what);
	} else {
		OCL_LOG(ERR, "%s (OpenCL error %d)", what, (int)err);
	}
}

/* --- device choice --- */

static bool
ocl_device_usable(cl_device_id device)
{
	cl_bool available = CL_FALSE, compiler = CL_FALSE;

	if (clGetDeviceInfo(device, CL_DEVICE_AVAILABLE, sizeof(available), &available,
			    NULL) != CL_SUCCESS ||
	    clGetDeviceInfo(device, CL_DEVICE_COMPILER_AVAILABLE, sizeof(compiler), &compiler,
			    NULL) != CL_SUCCESS) {
		return false;
	}
	return available && compiler;
}

/* The first usable device of a type over every platform, or NULL. */
static cl_device_id
ocl_device_find(const cl_platform_id *platforms, cl_uint nb_platforms, cl_device_type type)
{
	cl_device_id devices[OCL_DEVICES_MAX];
	cl_uint i, j, nb;

	for (i = 0; i < nb_platforms; i++) {
		char name[64] = "";

		/* A remote device of this very fabric (a server with the rpci ICD
		 * installed) is never served again: it would loop. */
		if (clGetPlatformInfo(platforms[i], CL_PLATFORM_NAME, sizeof(name) - 1, name,
				      NULL) == CL_SUCCESS && strcmp(name, OCL_RPCI_PLATFORM) == 0) {
			continue;
		}
		if (clGetDeviceIDs(platforms[i], type, OCL_DEVICES_MAX, devices, &nb) !=
		    CL_SUCCESS) {
			continue;
		}
		if (nb > OCL_DEVICES_MAX) {
			nb = OCL_DEVICES_MAX;
		}
		for (j = 0; j < nb; j++) {
			if (ocl_device_usable(devices[j])) {
				return devices[j];
			}
		}
	}
	return NULL;
}

/* The first GPU, else the first device of any type: 0, or -ENODEV (said why). */
static int
ocl_device_choose(cl_device_id *device)
{
	cl_platform_id platforms[OCL_PLATFORMS_MAX];
	cl_uint nb = 0;
	cl_int err;

	err = clGetPlatformIDs(OCL_PLATFORMS_MAX, platforms, &nb);
	if (err != CL_SUCCESS || nb == 0) {
		ocl_complain("no OpenCL platform is installed", err);
		return -ENODEV;
	}
	if (nb > OCL_PLATFORMS_MAX) {
		nb = OCL_PLATFORMS_MAX;
	}
	*device = ocl_device_find(platforms, nb, CL_DEVICE_TYPE_GPU);
	if (*device == NULL) {
		*device = ocl_device_find(platforms, nb, CL_DEVICE_TYPE_ALL);
	}
	if (*device == NULL) {
		ocl_complain("no usable OpenCL device (available, with a compiler)",
			     CL_DEVICE_NOT_FOUND);
		return -ENODEV;
	}
	return 0;
}

/* Device name, compute units and limits into dev. */
static int
ocl_device_describe(struct ocl_dev *dev, uint64_t *max_alloc)
{
	char name[256];
	cl_uint units = 0, align_bits = 0;
	cl_ulong alloc = 0, local = 0;
	cl_bool unified = CL_FALSE;
	size_t len, start, max_param = 0;
	cl_int err;

	err = clGetDeviceInfo(dev->device, CL_DEVICE_NAME, sizeof(name) - 1, name, NULL);
	if (err != CL_SUCCESS) {
		/* A name longer than the buffer: the start of it is enough. */
		snprintf(name, sizeof(name), "OpenCL device");
	}
	name[sizeof(name) - 1] = '\0';
	/* Some drivers pad the name with blanks. */
	for (start = 0; name[start] == ' '; start++) {
	}
	for (len = strlen(name); len > start && name[len - 1] == ' '; len--) {
	}
	name[len] = '\0';
	snprintf(dev->device_name, sizeof(dev->device_name), "%s", name + start);

	err = clGetDeviceInfo(dev->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(units), &units,
			      NULL);
	if (err == CL_SUCCESS) {
		err = clGetDeviceInfo(dev->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN,
				      sizeof(align_bits), &align_bits, NULL);
	}
	if (err == CL_SUCCESS) {
		err = clGetDeviceInfo(dev->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(alloc),
				      &alloc, NULL);
	}
	if (err == CL_SUCCESS) {
		err = clGetDeviceInfo(dev->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(local), &local,
				      NULL);
	}
	if (err == CL_SUCCESS) {
		err = clGetDeviceInfo(dev->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof(unified),
				      &unified, NULL);
	}
	if (err == CL_SUCCESS) {
		err = clGetDeviceInfo(dev->device, CL_DEVICE_MAX_PARAMETER_SIZE, sizeof(max_param),
				      &max_param, NULL);
	}
	if (err != CL_SUCCESS) {
		ocl_complain("cannot query the OpenCL device", err);
		return ocl_errno(err);
	}
	dev->compute_units = units;
	dev->align = align_bits >= 8 ? align_bits / 8 : 1;
	dev->local_mem = local;
	dev->max_param = max_param;
	dev->unified = unified == CL_TRUE;
	*max_alloc = alloc;
	return 0;
}

/* --- memory --- */

/* The callers check bounds; this check only keeps a wrong caller in range. */
static bool
ocl_range_ok(const struct ocl_dev *dev, uint64_t dev_addr, uint64_t len)
{
	return dev_addr <= dev->memory_bytes && len <= dev->memory_bytes - dev_addr;
}

/* Map the whole buffer for the host if it is not (map_lock held). */
static int
ocl_map_locked(struct ocl_dev *dev)
{
	void *p;
	cl_int err;

	if (dev->map != NULL) {
		return 0;
	}
	p = clEnqueueMapBuffer(dev->queue, dev->mem, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
			       (size_t)dev->memory_bytes, 0, NULL, NULL, &err);
	if (err != CL_SUCCESS || p == NULL) {
		return err != CL_SUCCESS ? ocl_fail(err) : -EIO;
	}
	dev->map = p;
	return 0;
}

/*
 * Give the mapping back (map_lock held). Commands enqueued after this see
 * what the host wrote: the queue is in order.
 */
static int
ocl_unmap_locked(struct ocl_dev *dev)
{
	cl_int err;

	if (dev->map == NULL) {
		return 0;
	}
	err = clEnqueueUnmapMemObject(dev->queue, dev->mem, dev->map, 0, NULL, NULL);
	if (err != CL_SUCCESS) {
		return ocl_errno(err);
	}
	dev->map = NULL;
	return 0;
}

/* The host address of dev_addr in the mapping, mapping first (map_lock held). */
static int
ocl_mapped(struct ocl_dev *dev, uint64_t dev_addr, uint8_t **p)
{
	int rc = ocl_map_locked(dev);

	if (rc == 0) {
		*p = dev->map + dev_addr;
	}
	return rc;
}

static int
ocl_mem_write(void *priv, uint64_t dev_addr, const void *src, size_t len)
{
	struct ocl_dev *dev = priv;
	uint8_t *p;
	int rc;

	t_ocl_status = CL_SUCCESS;
	if (!ocl_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	if (!dev->unified) {
		return ocl_fail(clEnqueueWriteBuffer(dev->queue, dev->mem, CL_TRUE,
						      (size_t)dev_addr, len, src, 0, NULL, NULL));
	}
	pthread_mutex_lock(&dev->map_lock);
	rc = ocl_mapped(dev, dev_addr, &p);
	if (rc == 0) {
		memcpy(p, src, len);
	}
	pthread_mutex_unlock(&dev->map_lock);
	return rc;
}

static int
ocl_mem_read(void *priv, uint64_t dev_addr, void *dst, size_t len)
{
	struct ocl_dev *dev = priv;
	uint8_t *p;
	int rc;

	t_ocl_status = CL_SUCCESS;
	if (!ocl_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	if (!dev->unified) {
		return ocl_fail(clEnqueueReadBuffer(dev->queue, dev->mem, CL_TRUE,
						     (size_t)dev_addr, len, dst, 0, NULL, NULL));
	}
	pthread_mutex_lock(&dev->map_lock);
	rc = ocl_mapped(dev, dev_addr, &p);
	if (rc == 0) {
		memcpy(dst, p, len);
	}
	pthread_mutex_unlock(&dev->map_lock);
	return rc;
}

/* Enqueue a fill of [offset, offset + len) with a pattern of size bytes of value. */
static cl_int
ocl_fill_enqueue(struct ocl_dev *dev, uint64_t offset, uint64_t len, uint8_t value,
		 size_t size)
{
	uint8_t pattern[OCL_FILL_PATTERN];

	if (len == 0) {
		return CL_SUCCESS;
	}
	memset(pattern, value, size);
	return clEnqueueFillBuffer(dev->queue, dev->mem, pattern, size, (size_t)offset,
				   (size_t)len, 0, NULL, NULL);
}

/*
 * Fill with commands: the ends byte by byte, the aligned middle with a
 * wide pattern (several times faster on PoCL), then wait for them.
 */
static int
ocl_fill_commands(struct ocl_dev *dev, uint64_t dev_addr, uint8_t value, uint64_t len)
{
	uint64_t head = 0, mid = 0, tail = len;
	cl_int err;

	if (len >= 2 * OCL_FILL_PATTERN) {
		head = (OCL_FILL_PATTERN - dev_addr % OCL_FILL_PATTERN) % OCL_FILL_PATTERN;
		mid = (len - head) / OCL_FILL_PATTERN * OCL_FILL_PATTERN;
		tail = len - head - mid;
	}
	err = ocl_fill_enqueue(dev, dev_addr, head, value, 1);
	if (err == CL_SUCCESS) {
		err = ocl_fill_enqueue(dev, dev_addr + head, mid, value, OCL_FILL_PATTERN);
	}
	if (err == CL_SUCCESS) {
		err = ocl_fill_enqueue(dev, dev_addr + head + mid, tail, value, 1);
	}
	if (err == CL_SUCCESS) {
		err = clFinish(dev->queue);
	} else {
		/* What was enqueued must end before the caller goes on. */
		clFinish(dev->queue);
	}
	return ocl_fail(err);
}

static int
ocl_mem_fill(void *priv, uint64_t dev_addr, uint8_t value, size_t len)
{
	struct ocl_dev *dev = priv;
	uint8_t *p;
	int rc;

	t_ocl_status = CL_SUCCESS;
	if (!ocl_range_ok(dev, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	if (!dev->unified) {
		return ocl_fill_commands(dev, dev_addr, value, len);
	}
	pthread_mutex_lock(&dev->map_lock);
	rc = ocl_mapped(dev, dev_addr, &p);
	if (rc == 0) {
		memset(p, value, len);
	}
	pthread_mutex_unlock(&dev->map_lock);
	return rc;
}

static void *
ocl_mem_base(void *priv)
{
	(void)priv;
	/* The CPU never addresses the buffer for good: see ocl_mem_write(). */
	return NULL;
}

/* --- instances --- */

/*
 * A first build loads the compiler (seconds with PoCL and a cold cache). The
 * device model builds on its polling thread, where seconds without polling
 * make the client give the session up: the compiler is loaded here, before
 * the server serves. The kernel uses what the test kernels use.
 */
static const char g_ocl_warm_up_source[] =
	"__kernel void rpci_warm_up(__global uint *x, __local uint *l)\n"
	"{\n"
	"	l[get_local_id(0)] = x[get_global_id(0)];\n"
	"	barrier(CLK_LOCAL_MEM_FENCE);\n"
	"	atomic_add(&x[0], l[0]);\n"
	"}\n";

static cl_int
ocl_warm_up(struct ocl_dev *dev)
{
	const char *source = g_ocl_warm_up_source;
	cl_program program;
	cl_int err;

	program = clCreateProgramWithSource(dev->context, 1, &source, NULL, &err);
	if (program == NULL) {
		return err != CL_SUCCESS ? err : CL_OUT_OF_HOST_MEMORY;
	}
	err = clBuildProgram(program, 1, &dev->device, OCL_BUILD_OPTIONS, NULL, NULL);
	clReleaseProgram(program);
	return err;
}

static int
ocl_create(const struct rpci_gpu_params *params, void **priv)
{
	struct ocl_dev *dev;
	uint64_t max_alloc = 0;
	cl_int err;
	int rc;

	if (params == NULL || priv == NULL) {
		return -EINVAL;
	}
	if (params->memory_bytes == 0 || params->memory_bytes > SIZE_MAX) {
		return -EINVAL;
	}
	/* threads is the cpu backend's; a slowdown it cannot honour is refused. */
	if (params->slowdown != 0.0 && params->slowdown != 1.0) {
		OCL_LOG(ERR, "slowdown %g: only the cpu backend slows down", params->slowdown);
		return -EINVAL;
	}

	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return -ENOMEM;
	}
	dev->memory_bytes = params->memory_bytes;
	LIST_INIT(&dev->modules);
	rc = -pthread_mutex_init(&dev->map_lock, NULL);
	if (rc < 0) {
		goto err_free_dev;
	}
	rc = ocl_device_choose(&dev->device);
	if (rc < 0) {
		goto err_destroy_lock;
	}
	rc = ocl_device_describe(dev, &max_alloc);
	if (rc < 0) {
		goto err_destroy_lock;
	}
	if (dev->memory_bytes > max_alloc) {
		OCL_LOG(ERR, "%s: %" PRIu64 " bytes of memory asked, at most %" PRIu64
			" in one buffer", dev->device_name, dev->memory_bytes, max_alloc);
		rc = -EINVAL;
		goto err_destroy_lock;
	}

	dev->context = clCreateContext(NULL, 1, &dev->device, NULL, NULL, &err);
	if (dev->context == NULL) {
		ocl_complain("cannot create a context", err);
		rc = err != CL_SUCCESS ? ocl_errno(err) : -EIO;
		goto err_destroy_lock;
	}
	err = ocl_warm_up(dev);
	if (err != CL_SUCCESS) {
		ocl_complain("the OpenCL compiler does not build a trivial kernel", err);
		rc = ocl_errno(err);
		goto err_release_context;
	}
	dev->queue = clCreateCommandQueue(dev->context, dev->device, 0, &err);
	if (dev->queue == NULL) {
		ocl_complain("cannot create a command queue", err);
		rc = err != CL_SUCCESS ? ocl_errno(err) : -EIO;
		goto err_release_context;
	}
	dev->mem = clCreateBuffer(dev->context,
				  CL_MEM_READ_WRITE | (dev->unified ? CL_MEM_ALLOC_HOST_PTR : 0),
				  (size_t)dev->memory_bytes, NULL, &err);
	if (dev->mem == NULL) {
		ocl_complain("cannot allocate device memory", err);
		rc = err != CL_SUCCESS ? ocl_errno(err) : -EIO;
		goto err_release_queue;
	}
	/*
	 * Device memory reads as zeros until written, as with the cpu backend
	 * (the device model clears only what a client dirtied). The fill also
	 * makes the allocation real now rather than at the first copy.
	 */
	rc = ocl_mem_fill(dev, 0, 0, (size_t)dev->memory_bytes);
	if (rc < 0) {
		ocl_complain("cannot clear device memory", CL_SUCCESS);
		goto err_release_mem;
	}

	*priv = dev;
	return 0;

err_release_mem:
	pthread_mutex_lock(&dev->map_lock);
	ocl_unmap_locked(dev);
	pthread_mutex_unlock(&dev->map_lock);
	clFinish(dev->queue);
	clReleaseMemObject(dev->mem);
err_release_queue:
	clReleaseCommandQueue(dev->queue);
err_release_context:
	clReleaseContext(dev->context);
err_destroy_lock:
	pthread_mutex_destroy(&dev->map_lock);
err_free_dev:
	free(dev);
	return rc;
}

static void ocl_module_unload(void *priv, void *module);

static void
ocl_destroy(void *priv)
{
	struct ocl_dev *dev = priv;

	if (dev == NULL) {
		return;
	}
	while (!LIST_EMPTY(&dev->modules)) {
		ocl_module_unload(dev, LIST_FIRST(&dev->modules));
	}
	pthread_mutex_lock(&dev->map_lock);
	ocl_unmap_locked(dev);
	pthread_mutex_unlock(&dev->map_lock);
	clFinish(dev->queue);
	clReleaseMemObject(dev->mem);
	clReleaseCommandQueue(dev->queue);
	clReleaseContext(dev->context);
	pthread_mutex_destroy(&dev->map_lock);
	free(dev);
}

static int
ocl_info(void *priv, struct rpci_gpu_info *info)
{
	const struct ocl_dev *dev = priv;

	if (dev == NULL || info == NULL) {
		return -EINVAL;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->backend, sizeof(info->backend), "%s", "opencl");
	snprintf(info->device_name, sizeof(info->device_name), "%s", dev->device_name);
	info->module_kinds = 1u << RPCI_GPU_MODULE_OPENCL;
	info->compute_units = dev->compute_units;
	info->mem_align = dev->align < (1u << 20) ? (uint32_t)dev->align : 1u << 20;
	info->nb_builtins = 0;
	return 0;
}

/* --- modules and functions --- */

static void
ocl_log_put(char *log, size_t log_len, const char *text)
{
	if (log != NULL && log_len > 0) {
		snprintf(log, log_len, "%s", text);
	}
}

/*
 * The program's build log into log (truncated to fit, trailing blank lines
 * dropped). Nothing is written if the log cannot be had.
 */
static void
ocl_build_log(const struct ocl_dev *dev, cl_program program, char *log, size_t log_len)
{
	size_t size = 0, n;
	char *text;

	if (log == NULL || log_len == 0) {
		return;
	}
	if (clGetProgramBuildInfo(program, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
	    CL_SUCCESS || size == 0) {
		return;
	}
	text = malloc(size + 1);
	if (text == NULL) {
		return;
	}
	if (clGetProgramBuildInfo(program, dev->device, CL_PROGRAM_BUILD_LOG, size, text, NULL) ==
	    CL_SUCCESS) {
		text[size] = '\0';
		for (n = strlen(text); n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' ||
						 text[n - 1] == '\r' || text[n - 1] == '\t'); n--) {
		}
		text[n] = '\0';
		ocl_log_put(log, log_len, text);
	}
	free(text);
}

/* The options a program is built with: ours, then the client's. NULL: no memory. */
static char *
ocl_options(const char *options)
{
	size_t n = strlen(OCL_BUILD_OPTIONS) + 1 + (options != NULL ? strlen(options) : 0) + 1;
	char *all = malloc(n);

	if (all != NULL) {
		snprintf(all, n, "%s %s", OCL_BUILD_OPTIONS, options != NULL ? options : "");
	}
	return all;
}

/* A program from source or from a binary of this device. */
static cl_program
ocl_program_create(struct ocl_dev *dev, enum rpci_gpu_module_kind kind, const void *image,
		   size_t len, cl_int *err)
{
	const char *source = image;
	const unsigned char *binary = image;
	cl_int status = CL_SUCCESS;
	cl_program program;

	if (kind == RPCI_GPU_MODULE_OPENCL) {
		return clCreateProgramWithSource(dev->context, 1, &source, &len, err);
	}
	program = clCreateProgramWithBinary(dev->context, 1, &dev->device, &len, &binary,
					    &status, err);
	if (program != NULL && status != CL_SUCCESS) {
		clReleaseProgram(program);
		*err = status;
		return NULL;
	}
	return program;
}

static int
ocl_module_build(void *priv, enum rpci_gpu_module_kind kind, const void *image, size_t len,
		 const char *options, void **module, char *log, size_t log_len)
{
	struct ocl_dev *dev = priv;
	struct ocl_module *mod;
	char what[96];
	char *all;
	cl_int err;
	int rc;

	t_ocl_status = CL_SUCCESS;
	ocl_log_put(log, log_len, "");
	if (dev == NULL || module == NULL) {
		return -EINVAL;
	}
	if (kind != RPCI_GPU_MODULE_OPENCL && kind != RPCI_GPU_MODULE_OPENCL_BINARY) {
		ocl_log_put(log, log_len, "opencl backend loads OpenCL C source and binaries only");
		return -ENOTSUP;
	}
	if (image == NULL || len == 0) {
		ocl_log_put(log, log_len, kind == RPCI_GPU_MODULE_OPENCL ?
			    "empty OpenCL C source" : "empty program binary");
		t_ocl_status = kind == RPCI_GPU_MODULE_OPENCL ? CL_INVALID_VALUE :
			CL_INVALID_BINARY;
		return -EINVAL;
	}
	all = ocl_options(options);
	mod = calloc(1, sizeof(*mod));
	if (mod == NULL || all == NULL) {
		rc = -ENOMEM;
		goto err_free_mod;
	}
	mod->magic = OCL_MODULE_MAGIC;
	LIST_INIT(&mod->functions);
	mod->program = ocl_program_create(dev, kind, image, len, &err);
	if (mod->program == NULL) {
		rc = err != CL_SUCCESS ? ocl_fail(err) : -EIO;
		snprintf(what, sizeof(what), "%s failed: OpenCL error %d",
			 kind == RPCI_GPU_MODULE_OPENCL ? "clCreateProgramWithSource" :
			 "clCreateProgramWithBinary", (int)err);
		ocl_log_put(log, log_len, what);
		goto err_free_mod;
	}
	err = clBuildProgram(mod->program, 1, &dev->device, all, NULL, NULL);
	ocl_build_log(dev, mod->program, log, log_len);
	if (err != CL_SUCCESS) {
		rc = ocl_fail(err);
		if (log != NULL && log_len > 0 && log[0] == '\0') {
			snprintf(what, sizeof(what), "clBuildProgram failed: OpenCL error %d",
				 (int)err);
			ocl_log_put(log, log_len, what);
		}
		goto err_release_program;
	}
	free(all);
	LIST_INSERT_HEAD(&dev->modules, mod, next);
	*module = mod;
	return 0;

err_release_program:
	clReleaseProgram(mod->program);
err_free_mod:
	free(mod);
	free(all);
	return rc;
}

static int
ocl_module_load(void *priv, enum rpci_gpu_module_kind kind, const void *image, size_t len,
		void **module, char *log, size_t log_len)
{
	if (kind != RPCI_GPU_MODULE_OPENCL) {
		/* binaries come with build options: module_build */
		t_ocl_status = CL_SUCCESS;
		ocl_log_put(log, log_len, "opencl backend loads OpenCL C source only");
		return -ENOTSUP;
	}
	return ocl_module_build(priv, kind, image, len, "", module, log, log_len);
}

static void
ocl_function_free(struct ocl_function *fn)
{
	LIST_REMOVE(fn, next);
	clReleaseKernel(fn->kernel);
	fn->magic = 0;
	free(fn);
}

static void
ocl_module_unload(void *priv, void *module)
{
	struct ocl_module *mod = module;

	(void)priv;
	if (mod == NULL || mod->magic != OCL_MODULE_MAGIC) {
		return;
	}
	while (!LIST_EMPTY(&mod->functions)) {
		ocl_function_free(LIST_FIRST(&mod->functions));
	}
	LIST_REMOVE(mod, next);
	clReleaseProgram(mod->program);
	mod->magic = 0;
	free(mod);
}

/* Whether an OpenCL type name is one of the opaque types passed by value. */
static bool
ocl_type_opaque(const char *type)
{
	static const char *const opaque[] = {
		"sampler_t", "queue_t", "clk_event_t", "reserve_id_t", "event_t",
	};
	size_t i;

	for (i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
		if (strcmp(type, opaque[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* What argument index takes, from the argument info the build asked for. */
static int
ocl_arg_classify(cl_kernel kernel, cl_uint index, uint8_t *class)
{
	cl_kernel_arg_address_qualifier address;
	size_t size = 0;
	char *type;
	cl_int err;

	err = clGetKernelArgInfo(kernel, index, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof(address),
				 &address, NULL);
	if (err == CL_SUCCESS) {
		err = clGetKernelArgInfo(kernel, index, CL_KERNEL_ARG_TYPE_NAME, 0, NULL, &size);
	}
	if (err != CL_SUCCESS) {
		/* Without it arguments cannot be checked: a wrong one could crash the driver. */
		return err == CL_KERNEL_ARG_INFO_NOT_AVAILABLE ? -ENOTSUP : ocl_errno(err);
	}
	type = calloc(1, size + 1);
	if (type == NULL) {
		return -ENOMEM;
	}
	err = clGetKernelArgInfo(kernel, index, CL_KERNEL_ARG_TYPE_NAME, size, type, NULL);
	if (err != CL_SUCCESS) {
		free(type);
		return ocl_errno(err);
	}
	switch (address) {
	case CL_KERNEL_ARG_ADDRESS_GLOBAL:
	case CL_KERNEL_ARG_ADDRESS_CONSTANT:
		/* images and pipes are global too, but no pointers */
		*class = strchr(type, '*') != NULL ? OCL_ARG_GLOBAL_PTR : OCL_ARG_OPAQUE;
		break;
	case CL_KERNEL_ARG_ADDRESS_LOCAL:
		*class = OCL_ARG_LOCAL_PTR;
		break;
	default:
		*class = ocl_type_opaque(type) ? OCL_ARG_OPAQUE : OCL_ARG_VALUE;
		break;
	}
	free(type);
	return 0;
}

static int
ocl_function_get(void *priv, void *module, const char *name, void **function)
{
	struct ocl_module *mod = module;
	struct ocl_function *fn;
	cl_int err;
	cl_uint i;
	int rc;

	(void)priv;
	t_ocl_status = CL_SUCCESS;
	if (mod == NULL || mod->magic != OCL_MODULE_MAGIC || name == NULL || function == NULL) {
		return -EINVAL;
	}
	fn = calloc(1, sizeof(*fn));
	if (fn == NULL) {
		return -ENOMEM;
	}
	fn->kernel = clCreateKernel(mod->program, name, &err);
	if (fn->kernel == NULL) {
		rc = err != CL_SUCCESS ? ocl_fail(err) : -EIO;
		goto err_free_fn;
	}
	err = clGetKernelInfo(fn->kernel, CL_KERNEL_NUM_ARGS, sizeof(fn->nb_args), &fn->nb_args,
			      NULL);
	if (err != CL_SUCCESS) {
		rc = ocl_fail(err);
		goto err_release_kernel;
	}
	/* A kernel of more arguments than a launch carries is found, never launched. */
	for (i = 0; i < fn->nb_args && i < RPCI_GPU_ARGS_MAX; i++) {
		rc = ocl_arg_classify(fn->kernel, i, &fn->classes[i]);
		if (rc < 0) {
			goto err_release_kernel;
		}
	}
	fn->magic = OCL_FUNCTION_MAGIC;
	fn->module = mod;
	LIST_INSERT_HEAD(&mod->functions, fn, next);
	*function = fn;
	return 0;

err_release_kernel:
	clReleaseKernel(fn->kernel);
err_free_fn:
	free(fn);
	return rc;
}

/* --- info blocks --- */

/*
 * An info block being written (rpci_vgpu_hw.h): entries go in while they
 * fit; len keeps counting past cap, so that a block too large for the
 * buffer still says how large it is.
 */
struct ocl_blob {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint32_t count;
};

static void
ocl_blob_init(struct ocl_blob *b, void *buf, size_t cap)
{
	b->buf = buf;
	b->cap = buf != NULL ? cap : 0;
	b->len = sizeof(struct rpci_vgpu_info_hdr);
	b->count = 0;
}

static void
ocl_blob_put(struct ocl_blob *b, uint32_t key, const void *value, size_t len)
{
	struct rpci_vgpu_info_ent e = { .key = key, .len = (uint32_t)len };
	size_t need = sizeof(e) + ((len + 3) & ~(size_t)3);

	if (len > UINT32_MAX - 4) {
		return;
	}
	if (b->len + need <= b->cap) {
		memcpy(b->buf + b->len, &e, sizeof(e));
		if (len > 0) {
			memcpy(b->buf + b->len + sizeof(e), value, len);
		}
		memset(b->buf + b->len + sizeof(e) + len, 0, need - sizeof(e) - len);
	}
	b->len += need;
	b->count++;
}

/* The header, and the block's size: 0, or -ENOSPC when it did not fit. */
static int
ocl_blob_finish(struct ocl_blob *b, size_t *size)
{
	struct rpci_vgpu_info_hdr h = {
		.magic = RPCI_VGPU_INFO_MAGIC,
		.version = RPCI_VGPU_INFO_VERSION,
		.api = RPCI_VGPU_API_OPENCL,
		.count = b->count,
		.len = (uint32_t)b->len,
	};

	*size = b->len;
	if (b->len > b->cap || b->len > UINT32_MAX) {
		return -ENOSPC;
	}
	memcpy(b->buf, &h, sizeof(h));
	return 0;
}

/* One clGet*Info query of an object, in the shape every such function has. */
typedef cl_int (*ocl_query_fn)(const void *obj, const void *extra, cl_uint key, size_t size,
			       void *value, size_t *size_ret);

/* Ask a query and put its value; a query the driver does not answer is left out. */
static void
ocl_blob_query(struct ocl_blob *b, uint32_t key, ocl_query_fn query, const void *obj,
	       const void *extra, cl_uint param)
{
	size_t size = 0;
	void *value;

	if (query(obj, extra, param, 0, NULL, &size) != CL_SUCCESS || size > (1u << 20)) {
		return;
	}
	value = calloc(1, size + 1);
	if (value == NULL) {
		return;
	}
	if (query(obj, extra, param, size, value, NULL) == CL_SUCCESS) {
		ocl_blob_put(b, key, value, size);
	}
	free(value);
}

static cl_int
ocl_query_device(const void *obj, const void *extra, cl_uint key, size_t size, void *value,
		 size_t *size_ret)
{
	(void)extra;
	return clGetDeviceInfo((cl_device_id)(uintptr_t)obj, key, size, value, size_ret);
}

static cl_int
ocl_query_program(const void *obj, const void *extra, cl_uint key, size_t size, void *value,
		  size_t *size_ret)
{
	(void)extra;
	return clGetProgramInfo((cl_program)(uintptr_t)obj, key, size, value, size_ret);
}

static cl_int
ocl_query_build(const void *obj, const void *extra, cl_uint key, size_t size, void *value,
		size_t *size_ret)
{
	return clGetProgramBuildInfo((cl_program)(uintptr_t)obj, (cl_device_id)(uintptr_t)extra,
				     key, size, value, size_ret);
}

static cl_int
ocl_query_kernel(const void *obj, const void *extra, cl_uint key, size_t size, void *value,
		 size_t *size_ret)
{
	(void)extra;
	return clGetKernelInfo((cl_kernel)(uintptr_t)obj, key, size, value, size_ret);
}

static cl_int
ocl_query_work_group(const void *obj, const void *extra, cl_uint key, size_t size,
		     void *value, size_t *size_ret)
{
	return clGetKernelWorkGroupInfo((cl_kernel)(uintptr_t)obj,
					(cl_device_id)(uintptr_t)extra, key, size, value,
					size_ret);
}

/* extra: the argument index, as a pointer-sized integer */
static cl_int
ocl_query_arg(const void *obj, const void *extra, cl_uint key, size_t size, void *value,
	      size_t *size_ret)
{
	return clGetKernelArgInfo((cl_kernel)(uintptr_t)obj, (cl_uint)(uintptr_t)extra, key,
				  size, value, size_ret);
}

/*
 * Device queries that are not asked: those whose value is an object of this
 * process (the platform, a parent device).
 */
static bool
ocl_device_key_skipped(cl_uint key)
{
	return key == CL_DEVICE_PLATFORM || key == CL_DEVICE_PARENT_DEVICE;
}

/* Device queries of extensions outside 0x1000..0x10ff whose values are data. */
static const cl_uint g_ocl_device_ext_keys[] = {
	CL_DEVICE_PCI_BUS_INFO_KHR,
};

/*
 * The memory a client sees is the buffer of memory_bytes, not the device's:
 * CL_DEVICE_GLOBAL_MEM_SIZE is that, and one allocation may take at most a
 * quarter of it (OpenCL's minimum for CL_DEVICE_MAX_MEM_ALLOC_SIZE), at
 * least 128 MiB or all of it, never more than the device allows.
 */
static void
ocl_blob_memory(struct ocl_blob *b, const struct ocl_dev *dev, cl_ulong device_max_alloc)
{
	cl_ulong global = dev->memory_bytes;
	cl_ulong alloc = global / 4;

	if (alloc < (128ull << 20)) {
		alloc = global < (128ull << 20) ? global : 128ull << 20;
	}
	if (alloc > device_max_alloc) {
		alloc = device_max_alloc;
	}
	ocl_blob_put(b, CL_DEVICE_GLOBAL_MEM_SIZE, &global, sizeof(global));
	ocl_blob_put(b, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &alloc, sizeof(alloc));
}

static int
ocl_api_info(void *priv, void *buf, size_t len, size_t *size)
{
	struct ocl_dev *dev = priv;
	struct ocl_blob b;
	cl_ulong max_alloc = 0;
	cl_uint key;
	size_t i;

	t_ocl_status = CL_SUCCESS;
	if (dev == NULL || size == NULL) {
		return -EINVAL;
	}
	if (clGetDeviceInfo(dev->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(max_alloc),
			    &max_alloc, NULL) != CL_SUCCESS) {
		max_alloc = dev->memory_bytes;
	}
	ocl_blob_init(&b, buf, len);
	for (key = 0x1000; key <= 0x10ff; key++) {
		if (ocl_device_key_skipped(key) || key == CL_DEVICE_GLOBAL_MEM_SIZE ||
		    key == CL_DEVICE_MAX_MEM_ALLOC_SIZE) {
			continue;
		}
		ocl_blob_query(&b, key, ocl_query_device, dev->device, NULL, key);
	}
	for (i = 0; i < sizeof(g_ocl_device_ext_keys) / sizeof(g_ocl_device_ext_keys[0]); i++) {
		ocl_blob_query(&b, g_ocl_device_ext_keys[i], ocl_query_device, dev->device, NULL,
			       g_ocl_device_ext_keys[i]);
	}
	ocl_blob_memory(&b, dev, max_alloc);
	return ocl_blob_finish(&b, size);
}

/* A module's info block: what clGetProgramInfo and clGetProgramBuildInfo say. */
static void
ocl_module_blob(const struct ocl_dev *dev, const struct ocl_module *mod, struct ocl_blob *b)
{
	static const cl_uint program_keys[] = {
		CL_PROGRAM_NUM_KERNELS, CL_PROGRAM_KERNEL_NAMES, CL_PROGRAM_BINARY_SIZES,
		CL_PROGRAM_IL, CL_PROGRAM_SCOPE_GLOBAL_CTORS_PRESENT,
		CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT,
	};
	static const cl_uint build_keys[] = {
		CL_PROGRAM_BINARY_TYPE, CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE,
	};
	size_t i;

	for (i = 0; i < sizeof(program_keys) / sizeof(program_keys[0]); i++) {
		ocl_blob_query(b, program_keys[i], ocl_query_program, mod->program, NULL,
			       program_keys[i]);
	}
	for (i = 0; i < sizeof(build_keys) / sizeof(build_keys[0]); i++) {
		ocl_blob_query(b, build_keys[i], ocl_query_build, mod->program, dev->device,
			       build_keys[i]);
	}
}

/* The program's binary for the device into buf (or only its size). */
static int
ocl_module_binary(const struct ocl_module *mod, void *buf, size_t len, size_t *size)
{
	size_t bin_size = 0;
	unsigned char *bins[1];
	cl_int err;

	err = clGetProgramInfo(mod->program, CL_PROGRAM_BINARY_SIZES, sizeof(bin_size), &bin_size,
			       NULL);
	if (err != CL_SUCCESS) {
		return ocl_fail(err);
	}
	*size = bin_size;
	if (bin_size == 0) {
		/* the platform gives no binary */
		t_ocl_status = CL_INVALID_PROGRAM_EXECUTABLE;
		return -ENOTSUP;
	}
	if (bin_size > len || buf == NULL) {
		return -ENOSPC;
	}
	bins[0] = buf;
	return ocl_fail(clGetProgramInfo(mod->program, CL_PROGRAM_BINARIES, sizeof(bins), bins,
					 NULL));
}

static int
ocl_module_info(void *priv, void *module, uint32_t key, void *buf, size_t len, size_t *size)
{
	struct ocl_dev *dev = priv;
	struct ocl_module *mod = module;
	struct ocl_blob b;

	t_ocl_status = CL_SUCCESS;
	if (dev == NULL || mod == NULL || mod->magic != OCL_MODULE_MAGIC || size == NULL) {
		return -EINVAL;
	}
	if (key == RPCI_VGPU_INFO_KEY_BINARY) {
		return ocl_module_binary(mod, buf, len, size);
	}
	if (key != 0) {
		return -EINVAL;
	}
	ocl_blob_init(&b, buf, len);
	ocl_module_blob(dev, mod, &b);
	return ocl_blob_finish(&b, size);
}

/*
 * The size of a value argument, found out by asking the driver to take
 * values of each size up to CL_DEVICE_MAX_PARAMETER_SIZE: drivers refuse a
 * size that is not the type's with CL_INVALID_ARG_SIZE, PoCL also takes a
 * 3-component vector's size without its padding (12 for a float4). One or
 * two sizes taken: the larger; none or more (a struct, whose size PoCL does
 * not check): 0, not known. The argument is left set to zeros.
 */
static uint32_t
ocl_arg_size_probe(const struct ocl_dev *dev, cl_kernel kernel, cl_uint index)
{
	static const uint8_t zeros[OCL_ARG_PROBE_MAX];
	size_t max = dev->max_param < OCL_ARG_PROBE_MAX ? dev->max_param : OCL_ARG_PROBE_MAX;
	size_t s, largest = 0;
	unsigned int taken = 0;

	for (s = 1; s <= max && taken <= 2; s++) {
		if (clSetKernelArg(kernel, index, s, zeros) == CL_SUCCESS) {
			taken++;
			largest = s;
		}
	}
	return taken == 0 || taken > 2 ? 0 : (uint32_t)largest;
}

/* One argument's info: what clGetKernelArgInfo says, and a value's size. */
static void
ocl_function_arg_blob(const struct ocl_dev *dev, const struct ocl_function *fn, cl_uint index,
		      struct ocl_blob *b)
{
	static const cl_uint arg_keys[] = {
		CL_KERNEL_ARG_ADDRESS_QUALIFIER, CL_KERNEL_ARG_ACCESS_QUALIFIER,
		CL_KERNEL_ARG_TYPE_NAME, CL_KERNEL_ARG_TYPE_QUALIFIER, CL_KERNEL_ARG_NAME,
	};
	uint8_t class = OCL_ARG_OPAQUE;
	uint32_t size;
	size_t i;

	for (i = 0; i < sizeof(arg_keys) / sizeof(arg_keys[0]); i++) {
		ocl_blob_query(b, RPCI_VGPU_INFO_ARG(index, arg_keys[i]), ocl_query_arg,
			       fn->kernel, (const void *)(uintptr_t)index, arg_keys[i]);
	}
	if (ocl_arg_classify(fn->kernel, index, &class) == 0 && class == OCL_ARG_VALUE) {
		size = ocl_arg_size_probe(dev, fn->kernel, index);
		ocl_blob_put(b, RPCI_VGPU_INFO_ARG(index, RPCI_VGPU_INFO_ARG_SIZE), &size,
			     sizeof(size));
	}
}

static int
ocl_function_info(void *priv, void *function, uint32_t key, void *buf, size_t len,
		  size_t *size)
{
	static const cl_uint kernel_keys[] = {
		CL_KERNEL_FUNCTION_NAME, CL_KERNEL_NUM_ARGS, CL_KERNEL_ATTRIBUTES,
	};
	static const cl_uint work_group_keys[] = {
		CL_KERNEL_WORK_GROUP_SIZE, CL_KERNEL_COMPILE_WORK_GROUP_SIZE,
		CL_KERNEL_LOCAL_MEM_SIZE, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
		CL_KERNEL_PRIVATE_MEM_SIZE,
	};
	struct ocl_dev *dev = priv;
	struct ocl_function *fn = function;
	struct ocl_blob b;
	cl_uint i;

	t_ocl_status = CL_SUCCESS;
	if (dev == NULL || fn == NULL || fn->magic != OCL_FUNCTION_MAGIC || size == NULL ||
	    key != 0) {
		return -EINVAL;
	}
	ocl_blob_init(&b, buf, len);
	for (i = 0; i < sizeof(kernel_keys) / sizeof(kernel_keys[0]); i++) {
		ocl_blob_query(&b, kernel_keys[i], ocl_query_kernel, fn->kernel, NULL,
			       kernel_keys[i]);
	}
	for (i = 0; i < sizeof(work_group_keys) / sizeof(work_group_keys[0]); i++) {
		ocl_blob_query(&b, work_group_keys[i], ocl_query_work_group, fn->kernel,
			       dev->device, work_group_keys[i]);
	}
	for (i = 0; i < fn->nb_args && i < 0x7fff; i++) {
		ocl_function_arg_blob(dev, fn, i, &b);
	}
	return ocl_blob_finish(&b, size);
}

/* --- launches --- */

/*
 * The NDRange of a launch: its own (offset, and a work-group size or none),
 * or global[i] = grid[i] * block[i], local[i] = block[i], in as many
 * dimensions as the highest one of more than one work item (at least 1).
 */
struct ocl_geom {
	cl_uint dims;
	bool has_offset;
	bool has_local;
	size_t offset[3];
	size_t global[3];
	size_t local[3];
};

static int
ocl_geometry(const struct rpci_gpu_launch *launch, struct ocl_geom *g)
{
	const struct rpci_gpu_ndrange *nd = launch->ndrange;
	uint64_t items;
	int i;

	memset(g, 0, sizeof(*g));
	if (nd != NULL) {
		if (nd->dims < 1 || nd->dims > 3) {
			t_ocl_status = CL_INVALID_WORK_DIMENSION;
			return -EINVAL;
		}
		g->dims = nd->dims;
		g->has_local = nd->local_given;
		for (i = 0; i < (int)nd->dims; i++) {
			g->offset[i] = (size_t)nd->offset[i];
			g->global[i] = (size_t)nd->global[i];
			g->local[i] = (size_t)nd->local[i];
			g->has_offset |= nd->offset[i] != 0;
		}
		return 0;
	}
	g->dims = 1;
	g->has_local = true;
	for (i = 0; i < 3; i++) {
		if (launch->grid[i] == 0 || launch->block[i] == 0) {
			return -EINVAL;
		}
		items = (uint64_t)launch->grid[i] * launch->block[i];
		g->global[i] = (size_t)items;
		g->local[i] = launch->block[i];
		if (items > 1) {
			g->dims = (cl_uint)i + 1;
		}
	}
	return 0;
}

/*
 * Check every argument against what the kernel takes, changing nothing:
 * -EINVAL for a kind, size or alignment that does not fit, -EFAULT for a
 * device address outside device memory.
 */
static int
ocl_args_check(const struct ocl_dev *dev, const struct ocl_function *fn,
	       const struct rpci_gpu_launch *launch)
{
	const struct rpci_gpu_arg *a;
	uint64_t local = 0;
	uint32_t i;

	if (launch->nb_args != fn->nb_args || launch->nb_args > RPCI_GPU_ARGS_MAX ||
	    (launch->nb_args > 0 && launch->args == NULL)) {
		return -EINVAL;
	}
	for (i = 0; i < launch->nb_args; i++) {
		a = &launch->args[i];
		switch (a->kind) {
		case RPCI_GPU_ARG_DEVPTR:
			if (fn->classes[i] != OCL_ARG_GLOBAL_PTR || a->size != 8) {
				return -EINVAL;
			}
			if (a->value > dev->memory_bytes) {
				return -EFAULT;
			}
			if (a->value % dev->align != 0) {
				return -EINVAL;
			}
			break;
		case RPCI_GPU_ARG_SCALAR:
			if (fn->classes[i] != OCL_ARG_VALUE ||
			    (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)) {
				return -EINVAL;
			}
			break;
		case RPCI_GPU_ARG_BYVAL:
			if (fn->classes[i] != OCL_ARG_VALUE || a->size == 0 || a->data == NULL) {
				return -EINVAL;
			}
			break;
		case RPCI_GPU_ARG_LOCAL:
			if (fn->classes[i] != OCL_ARG_LOCAL_PTR || a->size == 0) {
				return -EINVAL;
			}
			local += a->size;
			break;
		default:
			return -EINVAL;
		}
	}
	if (local > dev->local_mem) {
		return -EINVAL;
	}
	return 0;
}

/* Set argument i: a sub-buffer into subs[i] for a DEVPTR. */
static cl_int
ocl_arg_set(struct ocl_dev *dev, cl_kernel kernel, cl_uint i, const struct rpci_gpu_arg *a,
	    cl_mem *sub)
{
	cl_buffer_region region;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	cl_int err;

	switch (a->kind) {
	case RPCI_GPU_ARG_DEVPTR:
		if (a->value == dev->memory_bytes) {
			/* The end of memory: nothing to reach there, a NULL pointer. */
			return clSetKernelArg(kernel, i, sizeof(cl_mem), NULL);
		}
		region.origin = (size_t)a->value;
		region.size = (size_t)(dev->memory_bytes - a->value);
		*sub = clCreateSubBuffer(dev->mem, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
		if (*sub == NULL) {
			return err != CL_SUCCESS ? err : CL_OUT_OF_RESOURCES;
		}
		return clSetKernelArg(kernel, i, sizeof(cl_mem), sub);
	case RPCI_GPU_ARG_SCALAR:
		/* The value's low bytes, as the kernel's type of that size. */
		switch (a->size) {
		case 1:
			v8 = (uint8_t)a->value;
			return clSetKernelArg(kernel, i, 1, &v8);
		case 2:
			v16 = (uint16_t)a->value;
			return clSetKernelArg(kernel, i, 2, &v16);
		case 4:
			v32 = (uint32_t)a->value;
			return clSetKernelArg(kernel, i, 4, &v32);
		default:
			v64 = a->value;
			return clSetKernelArg(kernel, i, 8, &v64);
		}
	case RPCI_GPU_ARG_BYVAL:
		return clSetKernelArg(kernel, i, a->size, a->data);
	default:
		return clSetKernelArg(kernel, i, a->size, NULL);
	}
}

static int
ocl_launch(void *priv, void *function, const struct rpci_gpu_launch *launch)
{
	struct ocl_dev *dev = priv;
	struct ocl_function *fn = function;
	cl_mem subs[RPCI_GPU_ARGS_MAX] = { NULL };
	struct ocl_geom g;
	cl_event done = NULL;
	cl_uint i;
	cl_int err = CL_SUCCESS, status = CL_COMPLETE;
	int rc;

	t_ocl_status = CL_SUCCESS;
	if (dev == NULL || fn == NULL || fn->magic != OCL_FUNCTION_MAGIC || launch == NULL) {
		return -EINVAL;
	}
	rc = ocl_geometry(launch, &g);
	if (rc == 0) {
		rc = ocl_args_check(dev, fn, launch);
	}
	if (rc < 0) {
		return rc;
	}

	/*
	 * From the unmapping to the enqueuing, under the lock: a copy from the
	 * device model's other thread maps again only behind the kernel.
	 */
	pthread_mutex_lock(&dev->map_lock);
	rc = ocl_unmap_locked(dev);
	for (i = 0; rc == 0 && i < launch->nb_args; i++) {
		err = ocl_arg_set(dev, fn->kernel, i, &launch->args[i], &subs[i]);
		rc = ocl_fail(err);
	}
	if (rc == 0) {
		err = clEnqueueNDRangeKernel(dev->queue, fn->kernel, g.dims,
					     g.has_offset ? g.offset : NULL, g.global,
					     g.has_local ? g.local : NULL, 0, NULL, &done);
		rc = ocl_fail(err);
	}
	pthread_mutex_unlock(&dev->map_lock);

	if (rc == 0) {
		/* The kernel ran or failed: either way an error of its own is -EIO. */
		err = clWaitForEvents(1, &done);
		if (err == CL_SUCCESS) {
			err = clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS,
					     sizeof(status), &status, NULL);
		}
		if (err != CL_SUCCESS || status < 0) {
			t_ocl_status = status < 0 ? status : err;
			rc = -EIO;
		}
		clReleaseEvent(done);
	}
	for (i = 0; i < launch->nb_args && i < RPCI_GPU_ARGS_MAX; i++) {
		if (subs[i] != NULL) {
			clReleaseMemObject(subs[i]);
		}
	}
	return rc;
}

/* Copy within the buffer: on the mapping, or with a command (through the host
 * when the ranges overlap, which OpenCL refuses). */
static int
ocl_mem_copy(void *priv, uint64_t dst, uint64_t src, size_t len)
{
	struct ocl_dev *dev = priv;
	uint8_t *p, *bounce;
	int rc;

	t_ocl_status = CL_SUCCESS;
	if (!ocl_range_ok(dev, dst, len) || !ocl_range_ok(dev, src, len)) {
		return -EFAULT;
	}
	if (len == 0 || dst == src) {
		return 0;
	}
	if (dev->unified) {
		pthread_mutex_lock(&dev->map_lock);
		rc = ocl_mapped(dev, 0, &p);
		if (rc == 0) {
			memmove(p + dst, p + src, len);
		}
		pthread_mutex_unlock(&dev->map_lock);
		return rc;
	}
	if (dst + len <= src || src + len <= dst) {
		rc = ocl_fail(clEnqueueCopyBuffer(dev->queue, dev->mem, dev->mem, (size_t)src,
						  (size_t)dst, len, 0, NULL, NULL));
		return rc == 0 ? ocl_fail(clFinish(dev->queue)) : rc;
	}
	bounce = malloc(len);
	if (bounce == NULL) {
		return -ENOMEM;
	}
	rc = ocl_mem_read(dev, src, bounce, len);
	if (rc == 0) {
		rc = ocl_mem_write(dev, dst, bounce, len);
	}
	free(bounce);
	return rc;
}

const struct rpci_gpu_ops rpci_gpu_opencl_ops = {
	.name = "opencl",
	.create = ocl_create,
	.destroy = ocl_destroy,
	.info = ocl_info,
	.mem_base = ocl_mem_base,
	.mem_write = ocl_mem_write,
	.mem_read = ocl_mem_read,
	.mem_fill = ocl_mem_fill,
	.module_load = ocl_module_load,
	.module_unload = ocl_module_unload,
	.function_get = ocl_function_get,
	.launch = ocl_launch,
	.api_info = ocl_api_info,
	.api_status = ocl_api_status,
	.mem_copy = ocl_mem_copy,
	.module_build = ocl_module_build,
	.module_info = ocl_module_info,
	.function_info = ocl_function_info,
};
