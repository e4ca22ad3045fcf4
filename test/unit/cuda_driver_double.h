/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef CUDA_DRIVER_DOUBLE_H
#define CUDA_DRIVER_DOUBLE_H

/*
 * Control API of the TEST DOUBLE of the CUDA driver API
 * (cuda_driver_double.c, built as libcuda_driver_double.so). The cuda
 * backend loads the double in place of libcuda.so.1 when RPCI_CUDA_LIBRARY
 * names it; a test dlopens the same file and resolves these functions with
 * dlsym, so that both see one state.
 */

#include <stddef.h>
#include <stdint.h>

#include <cuda.h>

/** Longest call name recorded. */
#define DOUBLE_NAME_MAX 32
/** Most kernel parameters recorded per launch. */
#define DOUBLE_PARAMS_MAX 32
/** Most JIT options recorded per module load. */
#define DOUBLE_OPTIONS_MAX 8
/** Calls the log keeps (later ones are counted, not kept). */
#define DOUBLE_CALLS_MAX 4096

/** One call to the driver API, as the double saw it. */
struct double_call {
	char name[DOUBLE_NAME_MAX]; /**< exported name, e.g. "cuMemAlloc_v2" */
	CUresult result;            /**< what the double returned */
	CUcontext ctx;              /**< context current on the calling thread */
	/** cuCtxCreate_v2, cuCtxSetCurrent, cuCtxDestroy_v2: the context named. */
	CUcontext ctx_arg;
	/** cuMemAlloc_v2, cuMemFree_v2, cuMemcpy*, cuMemsetD8_v2: device address. */
	CUdeviceptr dptr;
	size_t bytes;          /**< cuMemAlloc_v2, cuMemcpy*, cuMemsetD8_v2 */
	unsigned int value;    /**< cuMemsetD8_v2: the byte; flags of create calls */
	CUstream stream;       /**< cuStreamCreate (made), cuLaunchKernel, cuEventRecord */
	/** cuModuleLoadDataEx: the JIT options given. */
	unsigned int nb_options;
	CUjit_option options[DOUBLE_OPTIONS_MAX];
	/** cuModuleGetFunction, cuLaunchKernel: the kernel's name. */
	char function[64];
	/** cuLaunchKernel */
	unsigned int grid[3];
	unsigned int block[3];
	unsigned int shared;
	unsigned int nb_params; /**< the kernel's, from its PTX signature */
	uint32_t param_size[DOUBLE_PARAMS_MAX];
	/** The first 8 bytes of each parameter's value, as kernelParams gave them. */
	uint8_t params[DOUBLE_PARAMS_MAX][8];
};

/** Forget everything: objects, memory, the call log, failures, settings. */
void double_reset(void);

/**
 * The call log since the last reset or double_log_clear().
 *
 * @param calls
 *   Set to the first record.
 * @return
 *   The number of records (at most DOUBLE_CALLS_MAX).
 */
unsigned int double_calls(const struct double_call **calls);

/** Empty the call log (objects and settings stay). */
void double_log_clear(void);

/**
 * Make a call fail: after `skip` more calls of that name succeed, the next
 * one returns result (once). A sticky result (ILLEGAL_ADDRESS,
 * LAUNCH_FAILED...) also ruins the calling thread's context, as a kernel
 * fault does: every later call in it returns that result until it is
 * destroyed.
 */
void double_fail(const char *name, CUresult result, unsigned int skip);

/** Number of devices cuDeviceGetCount reports (default 1). */
void double_set_devices(int count);

/** Device memory cuMemAlloc_v2 may hand out in all (default 1 GiB). */
void double_set_memory(size_t bytes);

/** Whether cuFuncGetParamInfo works (default) or says CUDA_ERROR_NOT_SUPPORTED. */
void double_set_param_info(int supported);

/**
 * Host memory behind [dptr, dptr + bytes), inside one allocation.
 *
 * @return
 *   The host address, or NULL.
 */
void *double_host(CUdeviceptr dptr, size_t bytes);

/** Objects alive: contexts, allocations, modules, streams and events. */
unsigned int double_live(void);

#endif /* CUDA_DRIVER_DOUBLE_H */
