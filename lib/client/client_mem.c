/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The heap: the shared memory past the rings, where everything the proxy
 * and the devices touch lives: the drivers' completion queues and launch
 * parameters, memory from rpci_host_alloc() (sent to the wire from where it
 * is, and written there by the devices' DMA), and two staging halves
 * through which copies from and to ordinary memory pass (one memcpy each
 * way, as CUDA stages pageable memory).
 *
 * The allocator keeps its books outside the shared memory: a list of free
 * extents, coalesced, and a list of allocated ones. Large blocks freed are
 * given back to the kernel (hole punching), so a program that allocated
 * and freed a lot does not keep the pages.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "client_private.h"

#define HEAP_MIN_ALIGN 64u
#define HEAP_PAGE 4096u
#define HEAP_PUNCH_MIN (2u << 20)

static int
ext_insert(struct cl_extent **arr, uint32_t *nb, uint32_t *cap, uint32_t at,
	   struct cl_extent e)
{
	if (*nb == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 64;
		struct cl_extent *n = realloc(*arr, sizeof(*n) * ncap);

		if (n == NULL) {
			return -ENOMEM;
		}
		*arr = n;
		*cap = ncap;
	}
	memmove(*arr + at + 1, *arr + at, sizeof(**arr) * (*nb - at));
	(*arr)[at] = e;
	(*nb)++;
	return 0;
}

static void
ext_remove(struct cl_extent *arr, uint32_t *nb, uint32_t at)
{
	memmove(arr + at, arr + at + 1, sizeof(*arr) * (*nb - at - 1));
	(*nb)--;
}

int
cl_heap_init(struct rpci_client *c)
{
	struct cl_heap *h = &c->heap;
	struct cl_extent all = {
		.off = RPCI_IPC_HEAP_OFF,
		.len = c->shm_size - RPCI_IPC_HEAP_OFF,
	};

	memset(h, 0, sizeof(*h));
	return ext_insert(&h->free, &h->nb_free, &h->cap_free, 0, all);
}

void
cl_heap_fini(struct rpci_client *c)
{
	free(c->heap.free);
	free(c->heap.used);
	memset(&c->heap, 0, sizeof(c->heap));
}

void *
cl_heap_alloc(struct rpci_client *c, uint64_t size, uint64_t align)
{
	struct cl_heap *h = &c->heap;
	uint32_t i, at;

	/* More than the heap never fits (and rounding it up to 64 bytes could wrap to 0). */
	if (size == 0 || size > c->shm_size) {
		return NULL;
	}
	if (align < HEAP_MIN_ALIGN) {
		align = HEAP_MIN_ALIGN;
	}
	if (size >= 65536 && align < HEAP_PAGE) {
		align = HEAP_PAGE;
	}
	size = CL_ALIGN(size, HEAP_MIN_ALIGN);
	for (i = 0; i < h->nb_free; i++) {
		struct cl_extent *f = &h->free[i];
		uint64_t start = CL_ALIGN(f->off, align);
		uint64_t pad = start - f->off;
		struct cl_extent u = { .off = start, .len = size };

		if (f->len < pad || f->len - pad < size) {
			continue;
		}
		for (at = 0; at < h->nb_used && h->used[at].off < start; at++) {
		}
		if (ext_insert(&h->used, &h->nb_used, &h->cap_used, at, u) < 0) {
			return NULL;
		}
		/* what is left: before the aligned start, and after the block */
		if (pad > 0 && f->len - pad - size > 0) {
			struct cl_extent tail = { .off = start + size,
						  .len = f->len - pad - size };

			f->len = pad;
			if (ext_insert(&h->free, &h->nb_free, &h->cap_free, i + 1, tail) < 0) {
				f->len = pad + size + tail.len;
				ext_remove(h->used, &h->nb_used, at);
				return NULL;
			}
		} else if (pad > 0) {
			f->len = pad;
		} else if (f->len - size > 0) {
			f->off += size;
			f->len -= size;
		} else {
			ext_remove(h->free, &h->nb_free, i);
		}
		h->in_use += size;
		return c->shm + start;
	}
	return NULL;
}

int
cl_heap_free(struct rpci_client *c, void *p)
{
	struct cl_heap *h = &c->heap;
	struct cl_extent e;
	uint64_t off;
	uint32_t i, at;

	if (p == NULL || (uint8_t *)p < c->shm || (uint8_t *)p >= c->shm + c->shm_size) {
		return -EINVAL;
	}
	off = (uint64_t)((uint8_t *)p - c->shm);
	for (i = 0; i < h->nb_used && h->used[i].off != off; i++) {
	}
	if (i == h->nb_used) {
		return -EINVAL;
	}
	e = h->used[i];
	ext_remove(h->used, &h->nb_used, i);
	h->in_use -= e.len;
	if (e.len >= HEAP_PUNCH_MIN) {
		uint64_t lo = CL_ALIGN(e.off, HEAP_PAGE);
		uint64_t hi = (e.off + e.len) & ~(uint64_t)(HEAP_PAGE - 1);

		/* give the pages back (the memfd is shared memory: this frees them) */
		if (hi > lo) {
			madvise(c->shm + lo, hi - lo, MADV_REMOVE);
		}
	}
	/* back into the free list, joined with its neighbours */
	for (at = 0; at < h->nb_free && h->free[at].off < e.off; at++) {
	}
	if (at > 0 && h->free[at - 1].off + h->free[at - 1].len == e.off) {
		h->free[at - 1].len += e.len;
		if (at < h->nb_free && h->free[at - 1].off + h->free[at - 1].len ==
		    h->free[at].off) {
			h->free[at - 1].len += h->free[at].len;
			ext_remove(h->free, &h->nb_free, at);
		}
		return 0;
	}
	if (at < h->nb_free && e.off + e.len == h->free[at].off) {
		h->free[at].off = e.off;
		h->free[at].len += e.len;
		return 0;
	}
	return ext_insert(&h->free, &h->nb_free, &h->cap_free, at, e);
}

bool
cl_in_shm(const struct rpci_client *c, const void *p, uint64_t len, uint64_t *off)
{
	const uint8_t *b = p;

	if (b < c->shm + RPCI_IPC_HEAP_OFF || b > c->shm + c->shm_size ||
	    len > (uint64_t)(c->shm + c->shm_size - b)) {
		return false;
	}
	if (off != NULL) {
		*off = (uint64_t)(b - c->shm);
	}
	return true;
}

uint64_t
cl_iova(const struct rpci_client *c, const void *p)
{
	return c->ack.iova_base + (uint64_t)((const uint8_t *)p - c->shm);
}

void *
cl_from_iova(const struct rpci_client *c, uint64_t iova, uint64_t len)
{
	uint64_t off;

	if (iova < c->ack.iova_base) {
		return NULL;
	}
	off = iova - c->ack.iova_base;
	if (off < RPCI_IPC_HEAP_OFF || off > c->shm_size || len > c->shm_size - off) {
		return NULL;
	}
	return c->shm + off;
}

/* ---------------------------------------------------------- staging */

uint8_t *
cl_stage_take(struct rpci_client *c, unsigned int half)
{
	int ret;

	if (c->stage == NULL) {
		c->stage = cl_heap_alloc(c, 2ull * CL_STAGE_HALF, HEAP_PAGE);
		if (c->stage == NULL) {
			cl_fail(-ENOMEM, "no room for staging in shared memory");
			return NULL;
		}
		c->stage_op[0] = c->stage_op[1] = -1;
	}
	if (c->stage_op[half] >= 0) {
		/*
		 * The half is free once its fence is answered, whatever the answer:
		 * a failed one (a lost session) was the business of the copy that
		 * used it, which reported it (cl_stage_drain()) or was posted.
		 */
		ret = cl_op_wait(c, c->stage_op[half], c->stage_dev[half], 0);
		cl_op_free(c, c->stage_op[half]);
		c->stage_op[half] = -1;
		if (ret == -ENOTCONN && c->dead) {
			cl_dead_error(c);
			return NULL;
		}
	}
	return c->stage + (uint64_t)half * CL_STAGE_HALF;
}

int
cl_stage_fence(struct rpci_client *c, unsigned int half, struct rpci_device *dev)
{
	struct rpci_ipc_req r;
	uint64_t cookie;
	int o, ret;

	o = cl_op_alloc(c, &cookie);
	if (o < 0) {
		return cl_fail(-EBUSY, "too many requests in flight");
	}
	memset(&r, 0, sizeof(r));
	r.op = RPCI_IPC_OP_FENCE;
	r.dev = dev->slot;
	r.cookie = cookie;
	ret = cl_post(c, &r, NULL, 0);
	if (ret < 0) {
		cl_op_free(c, o);
		return ret;
	}
	c->stage_op[half] = o;
	c->stage_dev[half] = dev;
	return 0;
}

int
cl_stage_drain(struct rpci_client *c)
{
	int ret = 0;
	unsigned int h;

	if (c->stage == NULL) {
		return 0;
	}
	for (h = 0; h < 2; h++) {
		if (c->stage_op[h] >= 0) {
			int r = cl_op_wait(c, c->stage_op[h], c->stage_dev[h], 0);

			cl_op_free(c, c->stage_op[h]);
			c->stage_op[h] = -1;
			if (ret == 0 && r < 0) {
				ret = r;
			}
		}
	}
	return ret;
}
