/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The clEnqueue* calls of the rpci OpenCL ICD: each checks what the
 * specification says it must, makes a command (icd_queue.c) with what it
 * needs and enqueues it. Data the application writes is copied into shared
 * memory before the call returns (the device's DMA reads it from there);
 * data it reads lands in shared memory and is copied into its memory when
 * the command is retired. A mapping is shared memory (or the buffer's host
 * pointer, for CL_MEM_USE_HOST_PTR) that the device fills at the map and
 * reads back at the unmap.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "icd_api.h"
#include "icd_private.h"

/* A buffer used on queue q: valid, of q's context, aligned for q's device. */
static cl_int
mem_check(cl_command_queue q, cl_mem m)
{
	if (!icd_obj_valid(m, ICD_MEM)) {
		return CL_INVALID_MEM_OBJECT;
	}
	if (m->ctx != q->ctx) {
		return CL_INVALID_CONTEXT;
	}
	if (m->parent != NULL && m->origin % q->dev->align != 0) {
		return CL_MISALIGNED_SUB_BUFFER_OFFSET;
	}
	return CL_SUCCESS;
}

static bool
range_ok(const struct _cl_mem *m, size_t offset, size_t size)
{
	return size > 0 && offset <= m->size && size <= m->size - offset;
}

/* The host may read it (CL_MEM_HOST_WRITE_ONLY, _NO_ACCESS say no). */
static bool
host_reads(const struct _cl_mem *m)
{
	return !(m->flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS));
}

static bool
host_writes(const struct _cl_mem *m)
{
	return !(m->flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS));
}

/* ------------------------------------------------------------ buffers */

/*
 * A whole-range transfer between the host and a buffer: a write copies
 * from @p in now (the application may reuse it as soon as we return), a
 * read copies into @p out when the command completes.
 */
static cl_int
enqueue_transfer(cl_command_queue q, cl_mem m, bool write, cl_bool blocking, size_t offset,
		 size_t size, const void *in, void *out, cl_uint n, const cl_event *wl,
		 cl_event *ev)
{
	struct icd_cmd *cmd;
	cl_int err;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	err = mem_check(q, m);
	if (err != CL_SUCCESS) {
		return err;
	}
	if (!range_ok(m, offset, size) || (write ? in == NULL : out == NULL)) {
		return CL_INVALID_VALUE;
	}
	if (write ? !host_writes(m) : !host_reads(m)) {
		return CL_INVALID_OPERATION;
	}
	cmd = icd_cmd_new(q, write ? CL_COMMAND_WRITE_BUFFER : CL_COMMAND_READ_BUFFER,
			  write ? ICD_OP_WRITE : ICD_OP_READ, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	cmd->shm = icd_shm_alloc(size);
	if (cmd->shm == NULL) {
		icd_cmd_discard(cmd);
		return CL_OUT_OF_HOST_MEMORY;
	}
	cmd->size = size;
	if (write) {
		memcpy(cmd->shm, in, size);
		cmd->dst_off = offset;
	} else {
		cmd->src_off = offset;
		cmd->host = out;
	}
	icd_cmd_use(cmd, m, write);
	return icd_cmd_enqueue(cmd, ev, blocking);
}

cl_int
icd_clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset,
			 size_t size, const void *ptr, cl_uint n, const cl_event *wl,
			 cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_transfer(q, m, true, blocking, offset, size, ptr, NULL, n, wl, ev);
	icd_unlock();
	return err;
}

cl_int
icd_clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset,
			size_t size, void *ptr, cl_uint n, const cl_event *wl, cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_transfer(q, m, false, blocking, offset, size, NULL, ptr, n, wl, ev);
	icd_unlock();
	return err;
}

/* Whether [a, a + an) and [b, b + bn) of the same buffer's memory overlap. */
static bool
overlap(cl_mem x, size_t a, size_t an, cl_mem y, size_t b, size_t bn)
{
	if (icd_mem_root(x) != icd_mem_root(y)) {
		return false;
	}
	a += x->origin;
	b += y->origin;
	return a < b + bn && b < a + an;
}

static cl_int
enqueue_copy(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_off, size_t dst_off,
	     size_t size, cl_uint n, const cl_event *wl, cl_event *ev)
{
	struct icd_cmd *cmd;
	cl_int err;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	err = mem_check(q, src);
	if (err == CL_SUCCESS) {
		err = mem_check(q, dst);
	}
	if (err != CL_SUCCESS) {
		return err;
	}
	if (!range_ok(src, src_off, size) || !range_ok(dst, dst_off, size)) {
		return CL_INVALID_VALUE;
	}
	if (overlap(src, src_off, size, dst, dst_off, size)) {
		return CL_MEM_COPY_OVERLAP;
	}
	cmd = icd_cmd_new(q, CL_COMMAND_COPY_BUFFER, ICD_OP_COPY, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	cmd->size = size;
	cmd->dst_off = dst_off;
	cmd->src_off = src_off;
	icd_cmd_use(cmd, dst, true);
	icd_cmd_use(cmd, src, false);
	return icd_cmd_enqueue(cmd, ev, false);
}

cl_int
icd_clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_off,
			size_t dst_off, size_t size, cl_uint n, const cl_event *wl, cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_copy(q, src, dst, src_off, dst_off, size, n, wl, ev);
	icd_unlock();
	return err;
}

static cl_int
enqueue_fill(cl_command_queue q, cl_mem m, const void *pattern, size_t psize, size_t offset,
	     size_t size, cl_uint n, const cl_event *wl, cl_event *ev)
{
	struct icd_cmd *cmd;
	cl_int err;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	err = mem_check(q, m);
	if (err != CL_SUCCESS) {
		return err;
	}
	if (pattern == NULL || psize == 0 || psize > RPCI_CMD_PATTERN_MAX ||
	    (psize & (psize - 1)) != 0 || offset % psize != 0 || size % psize != 0 ||
	    !range_ok(m, offset, size)) {
		return CL_INVALID_VALUE;
	}
	cmd = icd_cmd_new(q, CL_COMMAND_FILL_BUFFER, ICD_OP_FILL, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	memcpy(cmd->pattern, pattern, psize);
	cmd->pattern_size = (uint32_t)psize;
	cmd->size = size;
	cmd->dst_off = offset;
	icd_cmd_use(cmd, m, true);
	return icd_cmd_enqueue(cmd, ev, false);
}

cl_int
icd_clEnqueueFillBuffer(cl_command_queue q, cl_mem m, const void *pattern, size_t psize,
			size_t offset, size_t size, cl_uint n, const cl_event *wl, cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_fill(q, m, pattern, psize, offset, size, n, wl, ev);
	icd_unlock();
	return err;
}

/* ------------------------------------------------------------ rectangles */

/* A side of a rectangle: pitches defaulted and checked; its offset; its extent. */
static cl_int
rect_side(const size_t origin[3], const size_t region[3], size_t *row, size_t *slice,
	  size_t *offset, size_t *end)
{
	if (*row == 0) {
		*row = region[0];
	}
	if (*slice == 0) {
		*slice = region[1] * *row;
	}
	if (*row < region[0] || *slice < region[1] * *row || *slice % *row != 0) {
		return CL_INVALID_VALUE;
	}
	*offset = origin[2] * *slice + origin[1] * *row + origin[0];
	*end = *offset + (region[2] - 1) * *slice + (region[1] - 1) * *row + region[0];
	return CL_SUCCESS;
}

static bool
region_ok(const size_t *region)
{
	return region != NULL && region[0] > 0 && region[1] > 0 && region[2] > 0;
}

/* A transfer between a buffer's rectangle and the host's (write: to the buffer). */
static cl_int
enqueue_rect_host(cl_command_queue q, cl_mem m, bool write, cl_bool blocking,
		  const size_t *bo, const size_t *ho, const size_t *region, size_t brp, size_t bsp,
		  size_t hrp, size_t hsp, void *ptr, cl_uint n, const cl_event *wl, cl_event *ev)
{
	size_t boff, bend, hoff, hend, packed;
	struct icd_cmd *cmd;
	cl_int err;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	err = mem_check(q, m);
	if (err != CL_SUCCESS) {
		return err;
	}
	if (ptr == NULL || bo == NULL || ho == NULL || !region_ok(region)) {
		return CL_INVALID_VALUE;
	}
	if (rect_side(bo, region, &brp, &bsp, &boff, &bend) != CL_SUCCESS ||
	    rect_side(ho, region, &hrp, &hsp, &hoff, &hend) != CL_SUCCESS || bend > m->size) {
		return CL_INVALID_VALUE;
	}
	if (write ? !host_writes(m) : !host_reads(m)) {
		return CL_INVALID_OPERATION;
	}
	cmd = icd_cmd_new(q, write ? CL_COMMAND_WRITE_BUFFER_RECT : CL_COMMAND_READ_BUFFER_RECT,
			  ICD_OP_RECT, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	packed = region[0] * region[1] * region[2];
	cmd->shm = icd_shm_alloc(packed);
	if (cmd->shm == NULL) {
		icd_cmd_discard(cmd);
		return CL_OUT_OF_HOST_MEMORY;
	}
	cmd->rect.region[0] = region[0];
	cmd->rect.region[1] = region[1];
	cmd->rect.region[2] = region[2];
	cmd->host_origin[0] = ho[0];
	cmd->host_origin[1] = ho[1];
	cmd->host_origin[2] = ho[2];
	cmd->host_row_pitch = hrp;
	cmd->host_slice_pitch = hsp;
	if (write) {
		uint8_t *dst = cmd->shm;
		size_t y, z;

		for (z = 0; z < region[2]; z++) {
			for (y = 0; y < region[1]; y++) {
				memcpy(dst, (const uint8_t *)ptr + hoff + z * hsp + y * hrp,
				       region[0]);
				dst += region[0];
			}
		}
		cmd->rect_dir = RPCI_RECT_TO_DEVICE;
		cmd->rect.dst_row_pitch = brp;
		cmd->rect.dst_slice_pitch = bsp;
		cmd->dst_off = boff;
	} else {
		cmd->rect_dir = RPCI_RECT_FROM_DEVICE;
		cmd->rect.src_row_pitch = brp;
		cmd->rect.src_slice_pitch = bsp;
		cmd->src_off = boff;
		cmd->host = ptr;
	}
	icd_cmd_use(cmd, m, write);
	return icd_cmd_enqueue(cmd, ev, blocking);
}

cl_int
icd_clEnqueueReadBufferRect(cl_command_queue q, cl_mem m, cl_bool blocking,
			    const size_t *buffer_origin, const size_t *host_origin,
			    const size_t *region, size_t buffer_row_pitch,
			    size_t buffer_slice_pitch, size_t host_row_pitch,
			    size_t host_slice_pitch, void *ptr, cl_uint n, const cl_event *wl,
			    cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_rect_host(q, m, false, blocking, buffer_origin, host_origin, region,
				buffer_row_pitch, buffer_slice_pitch, host_row_pitch,
				host_slice_pitch, ptr, n, wl, ev);
	icd_unlock();
	return err;
}

cl_int
icd_clEnqueueWriteBufferRect(cl_command_queue q, cl_mem m, cl_bool blocking,
			     const size_t *buffer_origin, const size_t *host_origin,
			     const size_t *region, size_t buffer_row_pitch,
			     size_t buffer_slice_pitch, size_t host_row_pitch,
			     size_t host_slice_pitch, const void *ptr, cl_uint n,
			     const cl_event *wl, cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_rect_host(q, m, true, blocking, buffer_origin, host_origin, region,
				buffer_row_pitch, buffer_slice_pitch, host_row_pitch,
				host_slice_pitch, (void *)(uintptr_t)ptr, n, wl, ev);
	icd_unlock();
	return err;
}

static cl_int
enqueue_copy_rect(cl_command_queue q, cl_mem src, cl_mem dst, const size_t *so,
		  const size_t *dorig, const size_t *region, size_t srp, size_t ssp, size_t drp,
		  size_t dsp, cl_uint n, const cl_event *wl, cl_event *ev)
{
	size_t soff, send, doff, dend;
	struct icd_cmd *cmd;
	cl_int err;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	err = mem_check(q, src);
	if (err == CL_SUCCESS) {
		err = mem_check(q, dst);
	}
	if (err != CL_SUCCESS) {
		return err;
	}
	if (so == NULL || dorig == NULL || !region_ok(region)) {
		return CL_INVALID_VALUE;
	}
	if (rect_side(so, region, &srp, &ssp, &soff, &send) != CL_SUCCESS ||
	    rect_side(dorig, region, &drp, &dsp, &doff, &dend) != CL_SUCCESS ||
	    send > src->size || dend > dst->size) {
		return CL_INVALID_VALUE;
	}
	if (icd_mem_root(src) == icd_mem_root(dst) && (srp != drp || ssp != dsp)) {
		return CL_INVALID_VALUE;
	}
	if (overlap(src, soff, send - soff, dst, doff, dend - doff)) {
		return CL_MEM_COPY_OVERLAP;
	}
	cmd = icd_cmd_new(q, CL_COMMAND_COPY_BUFFER_RECT, ICD_OP_RECT, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	cmd->rect_dir = RPCI_RECT_ON_DEVICE;
	cmd->rect.region[0] = region[0];
	cmd->rect.region[1] = region[1];
	cmd->rect.region[2] = region[2];
	cmd->rect.dst_row_pitch = drp;
	cmd->rect.dst_slice_pitch = dsp;
	cmd->rect.src_row_pitch = srp;
	cmd->rect.src_slice_pitch = ssp;
	cmd->dst_off = doff;
	cmd->src_off = soff;
	icd_cmd_use(cmd, dst, true);
	icd_cmd_use(cmd, src, false);
	return icd_cmd_enqueue(cmd, ev, false);
}

cl_int
icd_clEnqueueCopyBufferRect(cl_command_queue q, cl_mem src, cl_mem dst,
			    const size_t *src_origin, const size_t *dst_origin,
			    const size_t *region, size_t src_row_pitch, size_t src_slice_pitch,
			    size_t dst_row_pitch, size_t dst_slice_pitch, cl_uint n,
			    const cl_event *wl, cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_copy_rect(q, src, dst, src_origin, dst_origin, region, src_row_pitch,
				src_slice_pitch, dst_row_pitch, dst_slice_pitch, n, wl, ev);
	icd_unlock();
	return err;
}

/* ------------------------------------------------------------ mappings */

static void *
enqueue_map(cl_command_queue q, cl_mem m, cl_bool blocking, cl_map_flags flags, size_t offset,
	    size_t size, cl_uint n, const cl_event *wl, cl_event *ev, cl_int *err)
{
	const cl_map_flags known = CL_MAP_READ | CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION;
	bool reads = (flags & (CL_MAP_READ | CL_MAP_WRITE)) != 0;
	struct icd_map *map;
	struct icd_cmd *cmd;
	void *ptr;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		*err = CL_INVALID_COMMAND_QUEUE;
		return NULL;
	}
	*err = mem_check(q, m);
	if (*err != CL_SUCCESS) {
		return NULL;
	}
	if ((flags & ~known) || ((flags & CL_MAP_WRITE_INVALIDATE_REGION) &&
				 (flags & (CL_MAP_READ | CL_MAP_WRITE))) ||
	    !range_ok(m, offset, size)) {
		*err = CL_INVALID_VALUE;
		return NULL;
	}
	if (((flags & CL_MAP_READ) && !host_reads(m)) ||
	    ((flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION)) && !host_writes(m))) {
		*err = CL_INVALID_OPERATION;
		return NULL;
	}
	map = calloc(1, sizeof(*map));
	cmd = map != NULL ? icd_cmd_new(q, CL_COMMAND_MAP_BUFFER, ICD_OP_MAP, n, wl, err) : NULL;
	if (cmd == NULL) {
		free(map);
		*err = map == NULL ? CL_OUT_OF_HOST_MEMORY : *err;
		return NULL;
	}
	if (m->host_ptr != NULL) {
		/* CL_MEM_USE_HOST_PTR: the mapping is the host pointer, filled at completion */
		ptr = (uint8_t *)m->host_ptr + offset;
		cmd->shm = reads ? icd_shm_alloc(size) : NULL;
		cmd->host = ptr;
		if (reads && cmd->shm == NULL) {
			goto no_memory;
		}
	} else {
		map->shm = icd_shm_alloc(size);
		if (map->shm == NULL) {
			goto no_memory;
		}
		ptr = map->shm;
		cmd->shm = map->shm;
		cmd->shm_keep = true;
	}
	cmd->size = reads ? size : 0;
	cmd->src_off = offset;
	icd_cmd_use(cmd, m, false);
	map->ptr = ptr;
	map->offset = offset;
	map->size = size;
	map->flags = flags;
	map->next = m->maps;
	m->maps = map;
	m->map_count++;
	*err = icd_cmd_enqueue(cmd, ev, blocking);
	if (*err != CL_SUCCESS) {
		m->maps = map->next;
		m->map_count--;
		icd_shm_free(map->shm);
		free(map);
		return NULL;
	}
	return ptr;

no_memory:
	icd_cmd_discard(cmd);
	free(map);
	*err = CL_OUT_OF_HOST_MEMORY;
	return NULL;
}

void *
icd_clEnqueueMapBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, cl_map_flags flags,
		       size_t offset, size_t size, cl_uint n, const cl_event *wl, cl_event *ev,
		       cl_int *errcode_ret)
{
	cl_int err;
	void *p;

	icd_lock();
	p = enqueue_map(q, m, blocking, flags, offset, size, n, wl, ev, &err);
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return p;
}

static cl_int
enqueue_unmap(cl_command_queue q, cl_mem m, void *ptr, cl_uint n, const cl_event *wl,
	      cl_event *ev)
{
	struct icd_map **pp, *map;
	struct icd_cmd *cmd;
	bool writes;
	cl_int err;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	if (!icd_obj_valid(m, ICD_MEM)) {
		return CL_INVALID_MEM_OBJECT;
	}
	if (m->ctx != q->ctx) {
		return CL_INVALID_CONTEXT;
	}
	for (pp = &m->maps; *pp != NULL && (*pp)->ptr != ptr; pp = &(*pp)->next) {
	}
	if (*pp == NULL) {
		return CL_INVALID_VALUE;
	}
	map = *pp;
	writes = (map->flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION)) != 0;
	cmd = icd_cmd_new(q, CL_COMMAND_UNMAP_MEM_OBJECT, ICD_OP_UNMAP, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	if (map->shm != NULL) {
		cmd->shm = map->shm; /* written from where the application wrote, then freed */
	} else if (writes) {
		cmd->shm = icd_shm_alloc(map->size);
		if (cmd->shm == NULL) {
			icd_cmd_discard(cmd);
			return CL_OUT_OF_HOST_MEMORY;
		}
		memcpy(cmd->shm, ptr, map->size);
	}
	cmd->size = writes ? map->size : 0;
	cmd->dst_off = map->offset;
	icd_cmd_use(cmd, m, writes);
	*pp = map->next;
	m->map_count--;
	free(map);
	return icd_cmd_enqueue(cmd, ev, false);
}

cl_int
icd_clEnqueueUnmapMemObject(cl_command_queue q, cl_mem m, void *ptr, cl_uint n,
			    const cl_event *wl, cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_unmap(q, m, ptr, n, wl, ev);
	icd_unlock();
	return err;
}

/* ------------------------------------------------------------ kernels */

/* The NDRange of a launch checked against the kernel and the device. */
static cl_int
ndrange_check(cl_kernel k, int i, cl_device_id d, cl_uint dims, const size_t *offset,
	      const size_t *global, const size_t *local, struct rpci_ndrange *nd, bool *empty)
{
	const struct icd_info_ent *req = icd_info_find(&k->fns[i]->info,
						       CL_KERNEL_COMPILE_WORK_GROUP_SIZE);
	size_t kernel_wg = icd_info_u64(&k->fns[i]->info, CL_KERNEL_WORK_GROUP_SIZE, d->max_wg);
	uint64_t reqd[3] = { 0, 0, 0 }, items = 1;
	cl_uint j;

	if (dims < 1 || dims > d->max_dims) {
		return CL_INVALID_WORK_DIMENSION;
	}
	if (global == NULL) {
		return CL_INVALID_GLOBAL_WORK_SIZE;
	}
	if (req != NULL && req->len >= 24) {
		memcpy(reqd, req->val, 24);
	}
	memset(nd, 0, sizeof(*nd));
	nd->dims = dims;
	nd->local_given = local != NULL;
	*empty = false;
	for (j = 0; j < dims; j++) {
		size_t off = offset != NULL ? offset[j] : 0;

		if (global[j] == 0) {
			*empty = true; /* OpenCL 2.1 on: nothing runs */
		}
		if (off + global[j] < off) {
			return CL_INVALID_GLOBAL_OFFSET;
		}
		nd->offset[j] = off;
		nd->global[j] = global[j];
		if (local != NULL) {
			if (local[j] == 0 || local[j] > d->max_wi[j]) {
				return local[j] == 0 ? CL_INVALID_WORK_GROUP_SIZE :
					CL_INVALID_WORK_ITEM_SIZE;
			}
			if ((!d->nonuniform && global[j] % local[j] != 0) ||
			    (reqd[0] != 0 && local[j] != reqd[j])) {
				return CL_INVALID_WORK_GROUP_SIZE;
			}
			nd->local[j] = local[j];
			items *= local[j];
		}
	}
	if (local == NULL && reqd[0] != 0) {
		return CL_INVALID_WORK_GROUP_SIZE;
	}
	if (local != NULL && (items > kernel_wg || items > d->max_wg)) {
		return CL_INVALID_WORK_GROUP_SIZE;
	}
	return CL_SUCCESS;
}

static cl_int
enqueue_kernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
	       const size_t *global, const size_t *local, cl_uint n, const cl_event *wl,
	       cl_event *ev, cl_command_type type)
{
	struct icd_cmd *cmd;
	bool empty = false;
	cl_int err;
	int i;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	if (!icd_obj_valid(k, ICD_KERNEL)) {
		return CL_INVALID_KERNEL;
	}
	if (k->prog->ctx != q->ctx) {
		return CL_INVALID_CONTEXT;
	}
	i = icd_ctx_index(q->ctx, q->dev);
	if (k->fns[i] == NULL) {
		return CL_INVALID_PROGRAM_EXECUTABLE;
	}
	cmd = icd_cmd_new(q, type, ICD_OP_KERNEL, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	err = ndrange_check(k, i, q->dev, dims, offset, global, local, &cmd->nd, &empty);
	if (err == CL_SUCCESS) {
		err = icd_kernel_marshal(k, i, cmd);
	}
	if (err != CL_SUCCESS) {
		icd_cmd_discard(cmd);
		return err;
	}
	if (empty) {
		cmd->op = ICD_OP_MARKER; /* a global size of 0: ordered, nothing runs */
	}
	cmd->kernel = k;
	k->o.refs++;
	return icd_cmd_enqueue(cmd, ev, false);
}

cl_int
icd_clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
			   const size_t *global, const size_t *local, cl_uint n,
			   const cl_event *wl, cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_kernel(q, k, dims, offset, global, local, n, wl, ev,
			     CL_COMMAND_NDRANGE_KERNEL);
	icd_unlock();
	return err;
}

cl_int
icd_clEnqueueTask(cl_command_queue q, cl_kernel k, cl_uint n, const cl_event *wl,
		  cl_event *ev)
{
	static const size_t one[3] = { 1, 1, 1 };
	cl_int err;

	icd_lock();
	err = enqueue_kernel(q, k, 1, NULL, one, one, n, wl, ev, CL_COMMAND_TASK);
	icd_unlock();
	return err;
}

/* ------------------------------------------------------------ ordering */

/* A marker or a barrier: done when what it waits for and every earlier command are. */
static cl_int
enqueue_marker(cl_command_queue q, cl_command_type type, cl_uint n, const cl_event *wl,
	       cl_event *ev)
{
	struct icd_cmd *cmd;
	cl_int err;

	cmd = icd_cmd_new(q, type, ICD_OP_MARKER, n, wl, &err);
	return cmd != NULL ? icd_cmd_enqueue(cmd, ev, false) : err;
}

cl_int
icd_clEnqueueMarkerWithWaitList(cl_command_queue q, cl_uint n, const cl_event *wl,
				cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_marker(q, CL_COMMAND_MARKER, n, wl, ev);
	icd_unlock();
	return err;
}

cl_int
icd_clEnqueueBarrierWithWaitList(cl_command_queue q, cl_uint n, const cl_event *wl,
				 cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_marker(q, CL_COMMAND_BARRIER, n, wl, ev);
	icd_unlock();
	return err;
}

cl_int
icd_clEnqueueMarker(cl_command_queue q, cl_event *ev)
{
	cl_int err;

	if (ev == NULL) {
		return CL_INVALID_VALUE;
	}
	icd_lock();
	err = enqueue_marker(q, CL_COMMAND_MARKER, 0, NULL, ev);
	icd_unlock();
	return err;
}

cl_int
icd_clEnqueueBarrier(cl_command_queue q)
{
	cl_int err;

	icd_lock();
	err = enqueue_marker(q, CL_COMMAND_BARRIER, 0, NULL, NULL);
	icd_unlock();
	return err;
}

cl_int
icd_clEnqueueWaitForEvents(cl_command_queue q, cl_uint n, const cl_event *list)
{
	cl_int err;

	if (n == 0 || list == NULL) {
		return CL_INVALID_VALUE;
	}
	icd_lock();
	err = enqueue_marker(q, CL_COMMAND_BARRIER, n, list, NULL);
	if (err == CL_INVALID_EVENT_WAIT_LIST) {
		err = CL_INVALID_EVENT;
	}
	icd_unlock();
	return err;
}

static cl_int
enqueue_migrate(cl_command_queue q, cl_uint num, const cl_mem *mems, cl_mem_migration_flags flags,
		cl_uint n, const cl_event *wl, cl_event *ev)
{
	struct icd_cmd *cmd;
	cl_int err;
	cl_uint i;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		return CL_INVALID_COMMAND_QUEUE;
	}
	if (num == 0 || mems == NULL ||
	    (flags & ~(cl_mem_migration_flags)(CL_MIGRATE_MEM_OBJECT_HOST |
					       CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED))) {
		return CL_INVALID_VALUE;
	}
	for (i = 0; i < num; i++) {
		err = mem_check(q, mems[i]);
		if (err != CL_SUCCESS) {
			return err;
		}
	}
	cmd = icd_cmd_new(q, CL_COMMAND_MIGRATE_MEM_OBJECTS, ICD_OP_MIGRATE, n, wl, &err);
	if (cmd == NULL) {
		return err;
	}
	/* to the queue's device (the host's copy is made by reads and maps) */
	for (i = 0; i < num && !(flags & CL_MIGRATE_MEM_OBJECT_HOST); i++) {
		if (cmd->nb_uses == sizeof(cmd->uses) / sizeof(cmd->uses[0])) {
			break; /* the rest go when they are used */
		}
		icd_cmd_use(cmd, mems[i], (flags & CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED) != 0);
	}
	return icd_cmd_enqueue(cmd, ev, false);
}

cl_int
icd_clEnqueueMigrateMemObjects(cl_command_queue q, cl_uint num, const cl_mem *mems,
			       cl_mem_migration_flags flags, cl_uint n, const cl_event *wl,
			       cl_event *ev)
{
	cl_int err;

	icd_lock();
	err = enqueue_migrate(q, num, mems, flags, n, wl, ev);
	icd_unlock();
	return err;
}
