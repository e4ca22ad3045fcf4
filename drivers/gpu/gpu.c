/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Compute backends: the table of backends built in, instance creation, and
 * the bounds-checked helpers every caller of a backend goes through.
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpci_gpu.h"

/*
 * Every backend built in, the default first. A backend that depends on an
 * optional library is listed when meson found it (RPCI_HAVE_*).
 */
static const struct rpci_gpu_ops *const g_gpu_backends[] = {
	&rpci_gpu_cpu_ops,
#ifdef RPCI_HAVE_OPENCL
	&rpci_gpu_opencl_ops,
#endif
#ifdef RPCI_HAVE_CUDA
	&rpci_gpu_cuda_ops,
#endif
};

#define GPU_NB_BACKENDS (sizeof(g_gpu_backends) / sizeof(g_gpu_backends[0]))

/* Backend names separated by spaces, built once from g_gpu_backends. */
static char g_gpu_backend_names[GPU_NB_BACKENDS * RPCI_GPU_NAME_MAX];
static pthread_once_t g_gpu_backend_names_once = PTHREAD_ONCE_INIT;

const struct rpci_gpu_ops *
rpci_gpu_ops_find(const char *name)
{
	size_t i;

	if (name != NULL) {
		for (i = 0; i < GPU_NB_BACKENDS; i++) {
			if (strcmp(g_gpu_backends[i]->name, name) == 0) {
				return g_gpu_backends[i];
			}
		}
	}
	errno = ENOENT;
	return NULL;
}

static void
gpu_backend_names_build(void)
{
	size_t used = 0;
	size_t i;
	int n;

	g_gpu_backend_names[0] = '\0';
	for (i = 0; i < GPU_NB_BACKENDS; i++) {
		n = snprintf(g_gpu_backend_names + used, sizeof(g_gpu_backend_names) - used,
			     "%s%s", i == 0 ? "" : " ", g_gpu_backends[i]->name);
		if (n < 0 || (size_t)n >= sizeof(g_gpu_backend_names) - used) {
			/* Cannot happen: names are shorter than RPCI_GPU_NAME_MAX. */
			break;
		}
		used += (size_t)n;
	}
}

const char *
rpci_gpu_backend_names(void)
{
	pthread_once(&g_gpu_backend_names_once, gpu_backend_names_build);
	return g_gpu_backend_names;
}

struct rpci_gpu *
rpci_gpu_create(const char *backend, const struct rpci_gpu_params *params)
{
	const struct rpci_gpu_ops *ops;
	struct rpci_gpu *gpu;
	void *priv = NULL;
	int rc;

	ops = rpci_gpu_ops_find(backend);
	if (ops == NULL) {
		errno = ENOENT;
		return NULL;
	}
	if (params == NULL) {
		errno = EINVAL;
		return NULL;
	}

	gpu = calloc(1, sizeof(*gpu));
	if (gpu == NULL) {
		errno = ENOMEM;
		return NULL;
	}

	rc = ops->create(params, &priv);
	if (rc < 0) {
		goto err_free_gpu;
	}

	gpu->ops = ops;
	gpu->priv = priv;
	gpu->memory_bytes = params->memory_bytes;
	gpu->mem_base = ops->mem_base != NULL ? ops->mem_base(priv) : NULL;
	return gpu;

err_free_gpu:
	free(gpu);
	errno = -rc;
	return NULL;
}

void
rpci_gpu_destroy(struct rpci_gpu *gpu)
{
	if (gpu == NULL) {
		return;
	}
	gpu->ops->destroy(gpu->priv);
	free(gpu);
}

bool
rpci_gpu_range_ok(const struct rpci_gpu *gpu, uint64_t dev_addr, uint64_t len)
{
	if (gpu == NULL) {
		return false;
	}
	/* Written so that nothing can wrap: dev_addr + len is never formed. */
	return dev_addr <= gpu->memory_bytes && len <= gpu->memory_bytes - dev_addr;
}

int
rpci_gpu_mem_write(struct rpci_gpu *gpu, uint64_t dev_addr, const void *src, size_t len)
{
	if (gpu == NULL || (src == NULL && len != 0)) {
		return -EINVAL;
	}
	if (!rpci_gpu_range_ok(gpu, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	if (gpu->mem_base != NULL) {
		memcpy((uint8_t *)gpu->mem_base + dev_addr, src, len);
		return 0;
	}
	return gpu->ops->mem_write(gpu->priv, dev_addr, src, len);
}

int
rpci_gpu_mem_read(struct rpci_gpu *gpu, uint64_t dev_addr, void *dst, size_t len)
{
	if (gpu == NULL || (dst == NULL && len != 0)) {
		return -EINVAL;
	}
	if (!rpci_gpu_range_ok(gpu, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	if (gpu->mem_base != NULL) {
		memcpy(dst, (const uint8_t *)gpu->mem_base + dev_addr, len);
		return 0;
	}
	return gpu->ops->mem_read(gpu->priv, dev_addr, dst, len);
}

int
rpci_gpu_mem_fill(struct rpci_gpu *gpu, uint64_t dev_addr, uint8_t value, size_t len)
{
	if (gpu == NULL) {
		return -EINVAL;
	}
	if (!rpci_gpu_range_ok(gpu, dev_addr, len)) {
		return -EFAULT;
	}
	if (len == 0) {
		return 0;
	}
	if (gpu->mem_base != NULL) {
		memset((uint8_t *)gpu->mem_base + dev_addr, value, len);
		return 0;
	}
	return gpu->ops->mem_fill(gpu->priv, dev_addr, value, len);
}

/* Bytes a copy through a bounce buffer moves at a time. */
#define GPU_BOUNCE_MAX (1u << 20)

int
rpci_gpu_mem_copy(struct rpci_gpu *gpu, uint64_t dst, uint64_t src, size_t len)
{
	uint8_t *bounce;
	size_t done = 0, n;
	int rc = 0;

	if (gpu == NULL) {
		return -EINVAL;
	}
	if (!rpci_gpu_range_ok(gpu, dst, len) || !rpci_gpu_range_ok(gpu, src, len)) {
		return -EFAULT;
	}
	if (len == 0 || dst == src) {
		return 0;
	}
	if (gpu->mem_base != NULL) {
		memmove((uint8_t *)gpu->mem_base + dst, (const uint8_t *)gpu->mem_base + src, len);
		return 0;
	}
	if (gpu->ops->mem_copy != NULL) {
		return gpu->ops->mem_copy(gpu->priv, dst, src, len);
	}
	bounce = malloc(len < GPU_BOUNCE_MAX ? len : GPU_BOUNCE_MAX);
	if (bounce == NULL) {
		return -ENOMEM;
	}
	/* Overlapping with the destination above the source: from the end. */
	while (done < len && rc == 0) {
		uint64_t off;

		n = len - done < GPU_BOUNCE_MAX ? len - done : GPU_BOUNCE_MAX;
		off = dst > src ? len - done - n : done;
		rc = gpu->ops->mem_read(gpu->priv, src + off, bounce, n);
		if (rc == 0) {
			rc = gpu->ops->mem_write(gpu->priv, dst + off, bounce, n);
		}
		done += n;
	}
	free(bounce);
	return rc;
}

int32_t
rpci_gpu_api_status(const struct rpci_gpu *gpu)
{
	if (gpu == NULL || gpu->ops->api_status == NULL) {
		return 0;
	}
	return gpu->ops->api_status(gpu->priv);
}

int
rpci_gpu_arg_u64(const struct rpci_gpu_arg *arg, uint64_t *value)
{
	if (arg == NULL || value == NULL || arg->kind != RPCI_GPU_ARG_SCALAR) {
		return -EINVAL;
	}
	switch (arg->size) {
	case 1:
		*value = arg->value & UINT8_MAX;
		return 0;
	case 2:
		*value = arg->value & UINT16_MAX;
		return 0;
	case 4:
		*value = arg->value & UINT32_MAX;
		return 0;
	case 8:
		*value = arg->value;
		return 0;
	default:
		return -EINVAL;
	}
}

int
rpci_gpu_arg_f32(const struct rpci_gpu_arg *arg, float *value)
{
	uint32_t bits;

	if (arg == NULL || value == NULL || arg->kind != RPCI_GPU_ARG_SCALAR ||
	    arg->size != sizeof(float)) {
		return -EINVAL;
	}
	bits = (uint32_t)(arg->value & UINT32_MAX);
	memcpy(value, &bits, sizeof(*value));
	return 0;
}
