/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_GPU_H
#define RPCI_GPU_H

/**
 * @file
 * Compute backends behind one ops table.
 *
 * A backend owns a device's memory and runs kernels on it. Device memory is
 * one flat range of addresses [0, memory_bytes): the device model allocates
 * within it and names buffers by their offset, which is the "device
 * address" every operation takes. A backend whose memory the server's CPU
 * can address (cpu) exposes it with mem_base, so that the fabric reads and
 * writes it in place; the others implement mem_read and mem_write.
 *
 * Backends are listed in one table (drivers/gpu/gpu.c); rpci_gpu_create()
 * picks one by name.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest kernel or device name, NUL included. */
#define RPCI_GPU_NAME_MAX 64
/** Most arguments of one launch. */
#define RPCI_GPU_ARGS_MAX 32
/** Most built-in kernels a backend lists. */
#define RPCI_GPU_BUILTINS_MAX 16

/** Kinds of module a client loads. */
enum rpci_gpu_module_kind {
	RPCI_GPU_MODULE_BUILTIN = 0, /**< the backend's built-in kernels; no image */
	RPCI_GPU_MODULE_OPENCL = 1,  /**< OpenCL C source */
	RPCI_GPU_MODULE_PTX = 2,     /**< NVIDIA PTX */
	/** a program binary of the backend's API (OpenCL: from CL_PROGRAM_BINARIES) */
	RPCI_GPU_MODULE_OPENCL_BINARY = 3,
};

/** Kinds of kernel argument. */
enum rpci_gpu_arg_kind {
	RPCI_GPU_ARG_DEVPTR = 1, /**< a device address (8 bytes) */
	RPCI_GPU_ARG_SCALAR = 2, /**< a value of 1, 2, 4 or 8 bytes */
	RPCI_GPU_ARG_LOCAL = 3,  /**< local (shared) memory of size bytes */
	RPCI_GPU_ARG_BYVAL = 4,  /**< a value of any size (struct, vector): size bytes at data */
};

/** One kernel argument. */
struct rpci_gpu_arg {
	uint16_t kind; /**< enum rpci_gpu_arg_kind */
	uint16_t size; /**< bytes of the value (DEVPTR: 8) or of local memory */
	uint32_t reserved;
	/** DEVPTR: device address; SCALAR: the value's bytes, little-endian. */
	uint64_t value;
	const void *data; /**< BYVAL: the value's bytes */
};

/**
 * An NDRange: OpenCL's geometry, with a global offset and a work-group
 * size the backend may choose. A launch that carries one ignores its grid
 * and block; a backend that cannot honour it refuses the launch
 * (-ENOTSUP).
 */
struct rpci_gpu_ndrange {
	uint32_t dims;       /**< 1 to 3 */
	bool local_given;    /**< false: the backend chooses the work-group size */
	uint64_t offset[3];
	uint64_t global[3];  /**< work items in each dimension */
	uint64_t local[3];   /**< work-group size, when given */
};

/** A kernel launch. */
struct rpci_gpu_launch {
	uint32_t grid[3];  /**< work groups (blocks) in x, y, z */
	uint32_t block[3]; /**< work items (threads) per group in x, y, z */
	uint32_t nb_args;  /**< number of arguments */
	const struct rpci_gpu_arg *args;
	const struct rpci_gpu_ndrange *ndrange; /**< NULL: grid and block, no offset */
};

/** Parameters of a backend instance (from the deployment file). */
struct rpci_gpu_params {
	uint64_t memory_bytes; /**< device memory size */
	uint32_t threads;      /**< CPU threads a kernel may use (cpu backend) */
	double slowdown;       /**< make kernels this many times slower (cpu backend) */
};

/** What a backend reports about itself (its "API information"). */
struct rpci_gpu_info {
	char backend[RPCI_GPU_NAME_MAX];    /**< backend name, e.g. "cpu" */
	char device_name[RPCI_GPU_NAME_MAX]; /**< what it runs on */
	uint32_t module_kinds;              /**< bit (1 << enum rpci_gpu_module_kind) per kind */
	uint32_t compute_units;             /**< threads, compute units or SMs */
	/**
	 * Alignment (bytes, a power of two) that device addresses given to
	 * launch must have (OpenCL: CL_DEVICE_MEM_BASE_ADDR_ALIGN); the device
	 * model aligns every allocation to it, and to at least 256. 0: 256.
	 */
	uint32_t mem_align;
	uint32_t nb_builtins;
	char builtins[RPCI_GPU_BUILTINS_MAX][RPCI_GPU_NAME_MAX]; /**< built-in kernel names */
};

/**
 * Operations of a compute backend. Every int operation returns 0 or a
 * negative errno. The device model serializes commands: launch and
 * module_load run on a worker thread while no other command of the same
 * instance runs; only mem_read/mem_write (client BAR2 accesses) may come
 * from the polling thread meanwhile.
 */
struct rpci_gpu_ops {
	const char *name; /**< backend name used in the deployment file */
	/** Create an instance; *priv receives its state. */
	int (*create)(const struct rpci_gpu_params *params, void **priv);
	/** Destroy an instance and everything it holds. */
	void (*destroy)(void *priv);
	/** Describe the instance. */
	int (*info)(void *priv, struct rpci_gpu_info *info);
	/** Host address of device memory, or NULL if the CPU cannot address it. */
	void *(*mem_base)(void *priv);
	/** Copy into device memory (bounds already checked by the caller). */
	int (*mem_write)(void *priv, uint64_t dev_addr, const void *src, size_t len);
	/** Copy out of device memory (bounds already checked by the caller). */
	int (*mem_read)(void *priv, uint64_t dev_addr, void *dst, size_t len);
	/** Set device memory to a byte value (clearing between clients). */
	int (*mem_fill)(void *priv, uint64_t dev_addr, uint8_t value, size_t len);
	/**
	 * Load a module. log receives a NUL-terminated build log (may be
	 * empty) whether or not the load succeeds.
	 */
	int (*module_load)(void *priv, enum rpci_gpu_module_kind kind, const void *image,
			   size_t len, void **module, char *log, size_t log_len);
	/** Unload a module and its functions. */
	void (*module_unload)(void *priv, void *module);
	/** Look a function up by name in a module. */
	int (*function_get)(void *priv, void *module, const char *name, void **function);
	/**
	 * Run a function to completion. Device addresses in the arguments
	 * are checked against the memory size by the backend, which knows
	 * the extent each kernel touches: a kernel that would reach outside
	 * device memory fails with -EFAULT and changes nothing.
	 */
	int (*launch)(void *priv, void *function, const struct rpci_gpu_launch *launch);

	/* Optional operations (NULL: the device model refuses them with -ENOTSUP). */

	/**
	 * The API info block of the device (rpci_vgpu_hw.h, struct
	 * rpci_vgpu_info_hdr): what the backend's API says of it. *size
	 * receives its length; -ENOSPC (nothing written) if larger than len.
	 */
	int (*api_info)(void *priv, void *buf, size_t len, size_t *size);
	/**
	 * The backend API's own error code behind the last operation of the
	 * calling thread that failed (OpenCL: a cl_int), 0 if none. Each
	 * operation clears it when it starts.
	 */
	int32_t (*api_status)(void *priv);
	/** Copy within device memory (bounds checked by the caller; may overlap). */
	int (*mem_copy)(void *priv, uint64_t dst, uint64_t src, size_t len);
	/**
	 * Load a module as module_load() does, with build options (a
	 * NUL-terminated string, "" for none); also the only way to load
	 * RPCI_GPU_MODULE_OPENCL_BINARY.
	 */
	int (*module_build)(void *priv, enum rpci_gpu_module_kind kind, const void *image,
			    size_t len, const char *options, void **module, char *log,
			    size_t log_len);
	/**
	 * What a module holds: key 0 its info block, RPCI_VGPU_INFO_KEY_BINARY
	 * its binary. *size receives the length; -ENOSPC if larger than len.
	 */
	int (*module_info)(void *priv, void *module, uint32_t key, void *buf, size_t len,
			   size_t *size);
	/** A function's info block (key 0), as module_info. */
	int (*function_info)(void *priv, void *function, uint32_t key, void *buf, size_t len,
			     size_t *size);
};

/** A backend instance: its ops and its state. */
struct rpci_gpu {
	const struct rpci_gpu_ops *ops;
	void *priv;
	uint64_t memory_bytes;
	void *mem_base; /**< ops->mem_base(), cached */
};

/**
 * Find a backend by name.
 *
 * @param name
 *   Backend name, e.g. "cpu".
 * @return
 *   Its ops table, or NULL with errno ENOENT.
 */
const struct rpci_gpu_ops *rpci_gpu_ops_find(const char *name);

/**
 * Names of the backends built in, separated by spaces (for messages).
 *
 * @return
 *   A static string.
 */
const char *rpci_gpu_backend_names(void);

/**
 * Create a backend instance.
 *
 * @param backend
 *   Backend name.
 * @param params
 *   Its parameters.
 * @return
 *   The instance, or NULL with errno set: ENOENT (no such backend), EINVAL
 *   (bad parameters), ENOMEM, or the backend's own error.
 */
struct rpci_gpu *rpci_gpu_create(const char *backend, const struct rpci_gpu_params *params);

/**
 * Destroy a backend instance.
 *
 * @param gpu
 *   The instance; NULL is ignored.
 */
void rpci_gpu_destroy(struct rpci_gpu *gpu);

/**
 * Copy into device memory, bounds checked.
 *
 * @return
 *   0, -EFAULT (outside device memory), or the backend's error.
 */
int rpci_gpu_mem_write(struct rpci_gpu *gpu, uint64_t dev_addr, const void *src, size_t len);

/**
 * Copy out of device memory, bounds checked.
 *
 * @return
 *   0, -EFAULT (outside device memory), or the backend's error.
 */
int rpci_gpu_mem_read(struct rpci_gpu *gpu, uint64_t dev_addr, void *dst, size_t len);

/**
 * Fill device memory with a byte, bounds checked.
 *
 * @return
 *   0, -EFAULT (outside device memory), or the backend's error.
 */
int rpci_gpu_mem_fill(struct rpci_gpu *gpu, uint64_t dev_addr, uint8_t value, size_t len);

/**
 * Copy within device memory, bounds checked; the ranges may overlap. Uses
 * the backend's mem_copy, memmove on mem_base, or else mem_read and
 * mem_write through a bounce buffer.
 *
 * @return
 *   0, -EFAULT (outside device memory), -ENOMEM, or the backend's error.
 */
int rpci_gpu_mem_copy(struct rpci_gpu *gpu, uint64_t dst, uint64_t src, size_t len);

/**
 * The backend API's error code behind the last failed operation of the
 * calling thread (struct rpci_gpu_ops, api_status).
 *
 * @return
 *   The code, or 0 (none, or a backend without one).
 */
int32_t rpci_gpu_api_status(const struct rpci_gpu *gpu);

/**
 * Whether [dev_addr, dev_addr + len) lies inside device memory.
 *
 * @return
 *   true if it does (len 0 at any address up to the end included).
 */
bool rpci_gpu_range_ok(const struct rpci_gpu *gpu, uint64_t dev_addr, uint64_t len);

/**
 * Read a scalar argument as an unsigned integer.
 *
 * @param arg
 *   The argument.
 * @param value
 *   Set to the value (zero-extended).
 * @return
 *   0, or -EINVAL if arg is not a scalar of 1, 2, 4 or 8 bytes.
 */
int rpci_gpu_arg_u64(const struct rpci_gpu_arg *arg, uint64_t *value);

/**
 * Read a scalar argument as a float (4 bytes).
 *
 * @return
 *   0, or -EINVAL if arg is not a 4-byte scalar.
 */
int rpci_gpu_arg_f32(const struct rpci_gpu_arg *arg, float *value);

/** The cpu backend's ops (drivers/gpu/cpu). */
extern const struct rpci_gpu_ops rpci_gpu_cpu_ops;
/** The OpenCL backend's ops (drivers/gpu/opencl), built when OpenCL is found. */
extern const struct rpci_gpu_ops rpci_gpu_opencl_ops;
/** The CUDA backend's ops (drivers/gpu/cuda), built when the CUDA headers are found. */
extern const struct rpci_gpu_ops rpci_gpu_cuda_ops;

#ifdef __cplusplus
}
#endif

#endif /* RPCI_GPU_H */
