/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/ipc (rpci_ipc.h): the checks the proxy makes on what a
 * program wrote into shared memory or sent on the socket, and the unix
 * socket helpers the daemons listen with.
 *
 * rpci_ipc_req_take() is run on a request ring of the real size: every
 * malformed case is refused with the documented error (and says how many
 * slots to skip), a request whose slots are not all published is -EAGAIN,
 * and good requests of every op come out as written, their inline data
 * copied out whole, also across the ring's end. The HELLO, HELLO_ACK and
 * REQUEST checks are run on good messages and on each field broken alone.
 * rpci_ipc_listen() and rpci_ipc_unlisten() work in a directory of their
 * own under /tmp, removed at the end.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "rpci_ipc.h"

#define RING_BYTES ((size_t)RPCI_IPC_REQ_SLOTS * RPCI_IPC_REQ_SLOT_SIZE)
#define SHM_SIZE (1ull << 30) /* librpci's default */
#define MASK (RPCI_IPC_REQ_SLOTS - 1)
#define DIM(a) (sizeof(a) / sizeof((a)[0]))
#define BACKLOG 64 /* room for every connect() of the tests: none is accepted */

static uint8_t *g_ring;
static char g_dir[64];

/* ------------------------------------------------------------ the ring */

static struct rpci_ipc_req *
slot_at(uint32_t idx)
{
	return (struct rpci_ipc_req *)(g_ring + (size_t)(idx & MASK) * RPCI_IPC_REQ_SLOT_SIZE);
}

/* A request of op at position idx, the rest of its fields as a good one has them. */
static struct rpci_ipc_req
good_req(uint8_t op)
{
	struct rpci_ipc_req r;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.nslots = 1;
	r.dev = 3;
	r.cookie = 0x1122334455667788ull;
	switch (op) {
	case RPCI_IPC_OP_MWR:
	case RPCI_IPC_OP_MRD:
		r.len = 4096;
		r.addr = 0xe0000000ull;
		r.buf = RPCI_IPC_HEAP_OFF;
		break;
	case RPCI_IPC_OP_CFGRD:
		r.addr = 4;
		r.arg = 0xfull << 32;
		break;
	case RPCI_IPC_OP_CFGWR:
		r.addr = 4;
		r.arg = (0x3ull << 32) | 0x6;
		break;
	case RPCI_IPC_OP_FENCE:
		break;
	default:
		/* control ops: parameters and reply in the heap, as librpci puts them */
		r.buf = RPCI_IPC_HEAP_OFF;
		r.arg = RPCI_IPC_HEAP_OFF + 4096;
		r.arg2 = 4096;
		break;
	}
	return r;
}

/* Sizes lib/ipc expects of a control op's parameters and smallest reply. */
static void
ctrl_sizes(uint8_t op, uint32_t *params, uint32_t *reply)
{
	*params = 0;
	switch (op) {
	case RPCI_IPC_OP_OPEN:
		*params = sizeof(struct rpci_ipc_open_params);
		*reply = sizeof(struct rpci_ipc_open_reply);
		break;
	case RPCI_IPC_OP_REQUEST:
		*params = sizeof(struct rpci_ipc_request_params);
		*reply = sizeof(struct rpci_ipc_request_reply);
		break;
	case RPCI_IPC_OP_RECONNECT:
		*reply = sizeof(struct rpci_ipc_open_reply);
		break;
	case RPCI_IPC_OP_REPORT:
		*params = sizeof(struct rpci_ipc_report_params);
		*reply = sizeof(struct rpci_ipc_reply);
		break;
	case RPCI_IPC_OP_MSG_SEND:
		*params = sizeof(struct rpci_ipc_message);
		*reply = sizeof(struct rpci_ipc_reply);
		break;
	case RPCI_IPC_OP_MSG_RECV:
		*reply = sizeof(struct rpci_ipc_message);
		break;
	case RPCI_IPC_OP_STATS:
		*reply = sizeof(struct rpci_ipc_link_stats);
		break;
	case RPCI_IPC_OP_DEVICES:
		*params = sizeof(struct rpci_ipc_devices_params);
		*reply = sizeof(struct rpci_ipc_devices_reply);
		break;
	default: /* CLOSE */
		*reply = sizeof(struct rpci_ipc_reply);
		break;
	}
}

static struct rpci_ipc_req
good_ctrl(uint8_t op)
{
	struct rpci_ipc_req r = good_req(op);
	uint32_t params, reply;

	ctrl_sizes(op, &params, &reply);
	r.len = params;
	r.buf = params > 0 ? RPCI_IPC_HEAP_OFF : 0;
	r.arg2 = reply;
	return r;
}

/* Put r at idx (with inline data after it) and take it from there. */
static int
take_at(uint32_t idx, const struct rpci_ipc_req *r, const void *data, uint32_t len,
	uint32_t avail, uint64_t shm_size, struct rpci_ipc_req_view *v)
{
	uint32_t i;

	memset(g_ring, 0xa5, RING_BYTES);
	*slot_at(idx) = *r;
	for (i = 0; i * RPCI_IPC_REQ_SLOT_SIZE < len; i++) {
		uint32_t n = len - i * RPCI_IPC_REQ_SLOT_SIZE;

		memcpy(slot_at(idx + 1 + i), (const uint8_t *)data + i * RPCI_IPC_REQ_SLOT_SIZE,
		       n < RPCI_IPC_REQ_SLOT_SIZE ? n : RPCI_IPC_REQ_SLOT_SIZE);
	}
	memset(v, 0x5a, sizeof(*v));
	return rpci_ipc_req_take(g_ring, idx, avail, shm_size, v);
}

/* Take r at position 100, all its slots published. */
static int
take(const struct rpci_ipc_req *r, struct rpci_ipc_req_view *v)
{
	return take_at(100, r, NULL, 0, r->nslots == 0 ? 1 : r->nslots, SHM_SIZE, v);
}

static void
test_take_empty_and_unpublished(void)
{
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r = good_req(RPCI_IPC_OP_FENCE);
	uint8_t data[1000];

	/* nothing published */
	CU_ASSERT_EQUAL(take_at(7, &r, NULL, 0, 0, SHM_SIZE, &v), -EAGAIN);
	CU_ASSERT_EQUAL(v.nslots, 1);
	/* an inline write of 16 slots of which 15 are published: not yet */
	memset(data, 0x42, sizeof(data));
	r = good_req(RPCI_IPC_OP_MWR);
	r.flags = RPCI_IPC_REQ_F_INLINE;
	r.len = sizeof(data);
	r.nslots = 1 + (sizeof(data) + 63) / 64;
	CU_ASSERT_EQUAL(r.nslots, 17);
	CU_ASSERT_EQUAL(take_at(7, &r, data, r.len, 16, SHM_SIZE, &v), -EAGAIN);
	CU_ASSERT_EQUAL(take_at(7, &r, data, r.len, 1, SHM_SIZE, &v), -EAGAIN);
	/* all published, and more behind it: taken */
	CU_ASSERT_EQUAL(take_at(7, &r, data, r.len, 17, SHM_SIZE, &v), 0);
	CU_ASSERT_EQUAL(v.nslots, 17);
	CU_ASSERT_EQUAL(take_at(7, &r, data, r.len, RPCI_IPC_REQ_SLOTS, SHM_SIZE, &v), 0);
	CU_ASSERT_EQUAL(memcmp(v.data, data, sizeof(data)), 0);
}

static void
test_take_bad_nslots(void)
{
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r = good_req(RPCI_IPC_OP_FENCE);

	r.nslots = 0;
	CU_ASSERT_EQUAL(take_at(5, &r, NULL, 0, 64, SHM_SIZE, &v), -EPROTO);
	CU_ASSERT_EQUAL(v.nslots, 1); /* skip at least the slot */
	r.nslots = 2 + RPCI_IPC_INLINE_SLOTS_MAX;
	CU_ASSERT_EQUAL(take_at(5, &r, NULL, 0, 64, SHM_SIZE, &v), -EPROTO);
	CU_ASSERT_EQUAL(v.nslots, 1);
	/* refused even before its slots are published: it can never be good */
	CU_ASSERT_EQUAL(take_at(5, &r, NULL, 0, 1, SHM_SIZE, &v), -EPROTO);
	r.nslots = 255;
	CU_ASSERT_EQUAL(take_at(5, &r, NULL, 0, 64, SHM_SIZE, &v), -EPROTO);
	/* more than one slot: only an inline write may */
	r = good_req(RPCI_IPC_OP_FENCE);
	r.nslots = 2;
	CU_ASSERT_EQUAL(take_at(5, &r, NULL, 0, 2, SHM_SIZE, &v), -EPROTO);
	CU_ASSERT_EQUAL(v.nslots, 2);
	r = good_req(RPCI_IPC_OP_MRD);
	r.nslots = 3;
	CU_ASSERT_EQUAL(take_at(5, &r, NULL, 0, 3, SHM_SIZE, &v), -EPROTO);
	CU_ASSERT_EQUAL(v.nslots, 3);
	/* a write from shared memory takes one slot */
	r = good_req(RPCI_IPC_OP_MWR);
	r.nslots = 2;
	CU_ASSERT_EQUAL(take_at(5, &r, NULL, 0, 2, SHM_SIZE, &v), -EPROTO);
	CU_ASSERT_EQUAL(v.nslots, 2);
}

static void
test_take_bad_op_dev_flags(void)
{
	static const uint8_t bad_ops[] = { 0, RPCI_IPC_OP_MAX, RPCI_IPC_OP_MAX + 1, 0x80, 0xff };
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r;
	uint8_t op;
	unsigned int i;

	for (i = 0; i < DIM(bad_ops); i++) {
		r = good_req(RPCI_IPC_OP_FENCE);
		r.op = bad_ops[i];
		CU_ASSERT_EQUAL(take(&r, &v), -EPROTO);
		CU_ASSERT_EQUAL(v.nslots, 1);
	}
	for (op = 1; op < RPCI_IPC_OP_MAX; op++) {
		r = op >= RPCI_IPC_OP_OPEN ? good_ctrl(op) : good_req(op);
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		r.dev = RPCI_IPC_DEVICES_MAX;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.dev = 0xff;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.dev = RPCI_IPC_DEVICES_MAX - 1;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		/* a flag nobody defined */
		r.flags = 0x04;
		CU_ASSERT_NOT_EQUAL(take(&r, &v), 0);
		r.flags = 0x80;
		CU_ASSERT_NOT_EQUAL(take(&r, &v), 0);
		if (op != RPCI_IPC_OP_MWR) {
			/* INLINE and COPY are a write's */
			r.flags = RPCI_IPC_REQ_F_INLINE;
			CU_ASSERT_NOT_EQUAL(take(&r, &v), 0);
			r.flags = RPCI_IPC_REQ_F_COPY;
			CU_ASSERT_NOT_EQUAL(take(&r, &v), 0);
		}
	}
	/* the exact errors the header documents, per kind of op */
	r = good_req(RPCI_IPC_OP_MWR);
	r.flags = 0x04;
	CU_ASSERT_EQUAL(take(&r, &v), -EPROTO);
	r = good_req(RPCI_IPC_OP_MRD);
	r.flags = RPCI_IPC_REQ_F_COPY;
	CU_ASSERT_EQUAL(take(&r, &v), -EPROTO);
	r.flags = RPCI_IPC_REQ_F_INLINE;
	CU_ASSERT_EQUAL(take(&r, &v), -EPROTO);
	r = good_req(RPCI_IPC_OP_CFGRD);
	r.flags = RPCI_IPC_REQ_F_COPY;
	CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
	r = good_req(RPCI_IPC_OP_FENCE);
	r.flags = RPCI_IPC_REQ_F_COPY;
	CU_ASSERT_EQUAL(take(&r, &v), -EPROTO);
	r = good_ctrl(RPCI_IPC_OP_CLOSE);
	r.flags = RPCI_IPC_REQ_F_COPY;
	CU_ASSERT_EQUAL(take(&r, &v), -EPROTO);
}

static void
test_take_lengths_and_addresses(void)
{
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r;
	uint8_t ops[] = { RPCI_IPC_OP_MWR, RPCI_IPC_OP_MRD };
	unsigned int i;

	for (i = 0; i < DIM(ops); i++) {
		r = good_req(ops[i]);
		r.len = 0;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.len = RPCI_IPC_XFER_MAX + 1;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.len = UINT32_MAX;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.len = RPCI_IPC_XFER_MAX;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		/* the device range may not wrap the address space */
		r.len = 8;
		r.addr = UINT64_MAX - 3;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.addr = UINT64_MAX - 7; /* ends exactly at 2^64: wraps to 0 */
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.addr = UINT64_MAX - 8;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		/* the buffer lies in the shared memory, all of it */
		r = good_req(ops[i]);
		r.len = 8;
		r.buf = SHM_SIZE - 8;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		r.buf = SHM_SIZE - 4;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.buf = SHM_SIZE;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.buf = UINT64_MAX - 3; /* buf + len wraps */
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.buf = UINT64_MAX;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.buf = 0;
		r.len = RPCI_IPC_XFER_MAX;
		CU_ASSERT_EQUAL(take_at(100, &r, NULL, 0, 1, RPCI_IPC_XFER_MAX, &v), 0);
		CU_ASSERT_EQUAL(take_at(100, &r, NULL, 0, 1, RPCI_IPC_XFER_MAX - 1, &v), -EFAULT);
		CU_ASSERT_EQUAL(take_at(100, &r, NULL, 0, 1, 0, &v), -EFAULT);
	}
	/* configuration requests: a DW register of the 4 KiB space, byte enables 1..f */
	for (i = 0; i < 2; i++) {
		r = good_req(i == 0 ? RPCI_IPC_OP_CFGRD : RPCI_IPC_OP_CFGWR);
		r.addr = 1023;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		r.addr = 1024;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.addr = UINT64_MAX;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.addr = 0;
		r.arg = 0x1ull << 32;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		r.arg = 0xffffffffull; /* no byte enabled */
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.arg = 0x10ull << 32;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		r.arg = 0x8000000full << 32;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
	}
}

static void
test_take_inline(void)
{
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r = good_req(RPCI_IPC_OP_MWR);
	uint8_t data[RPCI_IPC_INLINE_MAX + 64];
	uint32_t i;

	for (i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 7 + 1);
	}
	r.flags = RPCI_IPC_REQ_F_INLINE;
	/* no data slot */
	r.len = 4;
	r.nslots = 1;
	CU_ASSERT_EQUAL(take_at(9, &r, data, 0, 1, SHM_SIZE, &v), -EPROTO);
	/* data that does not fit its slots */
	r.len = 65;
	r.nslots = 2;
	CU_ASSERT_EQUAL(take_at(9, &r, data, 64, 2, SHM_SIZE, &v), -EPROTO);
	CU_ASSERT_EQUAL(v.nslots, 2);
	/* slots it does not fill: one too many */
	r.len = 64;
	r.nslots = 3;
	CU_ASSERT_EQUAL(take_at(9, &r, data, 64, 3, SHM_SIZE, &v), -EPROTO);
	CU_ASSERT_EQUAL(v.nslots, 3);
	r.len = 1;
	r.nslots = 17;
	CU_ASSERT_EQUAL(take_at(9, &r, data, 1, 17, SHM_SIZE, &v), -EPROTO);
	/* more inline data than a request carries */
	r.len = RPCI_IPC_INLINE_MAX + 1;
	r.nslots = 18;
	CU_ASSERT_EQUAL(take_at(9, &r, data, r.len, 18, SHM_SIZE, &v), -EPROTO);
	r.len = RPCI_IPC_INLINE_MAX + 1;
	r.nslots = 17;
	CU_ASSERT_EQUAL(take_at(9, &r, data, RPCI_IPC_INLINE_MAX, 17, SHM_SIZE, &v), -EPROTO);
	/* a zero-length write */
	r.len = 0;
	r.nslots = 2;
	CU_ASSERT_EQUAL(take_at(9, &r, data, 0, 2, SHM_SIZE, &v), -EINVAL);
	/* good sizes at every slot boundary; buf is not looked at */
	for (i = 1; i <= RPCI_IPC_INLINE_MAX; i += (i % 64 == 0 || i % 64 == 63) ? 1 : 31) {
		r.len = i;
		r.nslots = (uint8_t)(1 + (i + 63) / 64);
		r.buf = UINT64_MAX;
		CU_ASSERT_EQUAL_FATAL(take_at(9, &r, data, i, r.nslots, SHM_SIZE, &v), 0);
		CU_ASSERT_EQUAL(v.nslots, r.nslots);
		CU_ASSERT_EQUAL(v.req.len, i);
		CU_ASSERT_EQUAL(memcmp(v.data, data, i), 0);
	}
}

/* Inline data across the ring's end, and with indices that wrap 2^32. */
static void
test_take_inline_wraps(void)
{
	static const uint32_t starts[] = { RPCI_IPC_REQ_SLOTS - 1, RPCI_IPC_REQ_SLOTS - 2,
					   RPCI_IPC_REQ_SLOTS - 9, RPCI_IPC_REQ_SLOTS - 16,
					   UINT32_MAX, UINT32_MAX - 5, 0 };
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r = good_req(RPCI_IPC_OP_MWR);
	uint8_t data[RPCI_IPC_INLINE_MAX];
	uint32_t i, k;

	for (i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(0x80 ^ (i * 13));
	}
	r.flags = RPCI_IPC_REQ_F_INLINE;
	for (k = 0; k < DIM(starts); k++) {
		r.len = RPCI_IPC_INLINE_MAX - 5;
		r.nslots = 17;
		CU_ASSERT_EQUAL(take_at(starts[k], &r, data, r.len, 17, SHM_SIZE, &v), 0);
		CU_ASSERT_EQUAL(v.nslots, 17);
		CU_ASSERT_EQUAL(memcmp(&v.req, slot_at(starts[k]), sizeof(v.req)), 0);
		CU_ASSERT_EQUAL(memcmp(v.data, data, r.len), 0);
		/* a copy: the program changing the ring afterwards changes nothing */
		memset(g_ring, 0, RING_BYTES);
		CU_ASSERT_EQUAL(memcmp(v.data, data, r.len), 0);
		CU_ASSERT_EQUAL(v.req.len, RPCI_IPC_INLINE_MAX - 5);
		r.len = 70;
		r.nslots = 3;
		CU_ASSERT_EQUAL(take_at(starts[k], &r, data, r.len, 3, SHM_SIZE, &v), 0);
		CU_ASSERT_EQUAL(memcmp(v.data, data, r.len), 0);
	}
}

/* Walk a ring of several requests as the proxy does. */
static void
test_take_walk(void)
{
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r;
	uint8_t data[300];
	uint32_t cons = RPCI_IPC_REQ_SLOTS - 3, prod = cons, i;
	int count = 0;

	memset(g_ring, 0, RING_BYTES);
	for (i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)i;
	}
	r = good_req(RPCI_IPC_OP_CFGRD);
	*slot_at(prod++) = r;
	r = good_req(RPCI_IPC_OP_MWR);
	r.flags = RPCI_IPC_REQ_F_INLINE;
	r.len = sizeof(data);
	r.nslots = 1 + 5;
	*slot_at(prod++) = r;
	for (i = 0; i < 5; i++) {
		uint32_t n = sizeof(data) - i * 64 < 64 ? sizeof(data) - i * 64 : 64;

		memcpy(slot_at(prod++), data + i * 64, n);
	}
	r = good_ctrl(RPCI_IPC_OP_STATS);
	*slot_at(prod++) = r;
	while (prod - cons > 0) {
		int ret = rpci_ipc_req_take(g_ring, cons, prod - cons, SHM_SIZE, &v);

		CU_ASSERT_EQUAL_FATAL(ret, 0);
		if (v.req.op == RPCI_IPC_OP_MWR) {
			CU_ASSERT_EQUAL(memcmp(v.data, data, sizeof(data)), 0);
		}
		cons += v.nslots;
		count++;
	}
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL(cons, prod);
}

static void
test_take_control_ops(void)
{
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r;
	uint32_t params, reply;
	uint8_t op;

	for (op = RPCI_IPC_OP_OPEN; op < RPCI_IPC_OP_MAX; op++) {
		ctrl_sizes(op, &params, &reply);
		r = good_ctrl(op);
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		CU_ASSERT_EQUAL(memcmp(&v.req, &r, sizeof(r)), 0);
		/* parameters of the wrong size */
		r.len = params + 1;
		CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
		if (params > 0) {
			r.len = params - 1;
			CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
			r.len = 0;
			CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
			/* outside the shared memory */
			r = good_ctrl(op);
			r.buf = SHM_SIZE - params + 1;
			CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
			r.buf = UINT64_MAX - 1;
			CU_ASSERT_EQUAL(take(&r, &v), -EINVAL);
			r.buf = SHM_SIZE - params;
			CU_ASSERT_EQUAL(take(&r, &v), 0);
		} else {
			/* no parameters: buf is not looked at */
			r = good_ctrl(op);
			r.buf = UINT64_MAX;
			CU_ASSERT_EQUAL(take(&r, &v), 0);
		}
		/* a reply too small, too large, or outside the shared memory */
		r = good_ctrl(op);
		r.arg2 = reply - 1;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.arg2 = 0;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.arg2 = (1u << 20) + 1;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.arg2 = 1u << 20;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		r.arg2 = reply;
		r.arg = SHM_SIZE - reply + 1;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.arg = UINT64_MAX - 7;
		CU_ASSERT_EQUAL(take(&r, &v), -EFAULT);
		r.arg = SHM_SIZE - reply;
		CU_ASSERT_EQUAL(take(&r, &v), 0);
	}
}

static void
test_take_good_every_op(void)
{
	struct rpci_ipc_req_view v;
	struct rpci_ipc_req r;
	uint8_t op;

	for (op = 1; op < RPCI_IPC_OP_MAX; op++) {
		r = op >= RPCI_IPC_OP_OPEN ? good_ctrl(op) : good_req(op);
		r.reserved[0] = 0x77; /* reserved bytes are not looked at */
		CU_ASSERT_EQUAL(take(&r, &v), 0);
		CU_ASSERT_EQUAL(v.nslots, 1);
		CU_ASSERT_EQUAL(memcmp(&v.req, &r, sizeof(r)), 0);
	}
	/* the flags a write may have */
	r = good_req(RPCI_IPC_OP_MWR);
	r.flags = RPCI_IPC_REQ_F_COPY;
	CU_ASSERT_EQUAL(take(&r, &v), 0);
	r.flags = RPCI_IPC_REQ_F_INLINE | RPCI_IPC_REQ_F_COPY;
	r.len = 8;
	r.nslots = 2;
	CU_ASSERT_EQUAL(take(&r, &v), 0);
	/* device slot 0 and the last */
	r = good_req(RPCI_IPC_OP_FENCE);
	r.dev = 0;
	CU_ASSERT_EQUAL(take(&r, &v), 0);
	r.dev = RPCI_IPC_DEVICES_MAX - 1;
	CU_ASSERT_EQUAL(take(&r, &v), 0);
}

/* ------------------------------------------------------------- checks */

static void
test_range_ok(void)
{
	CU_ASSERT_TRUE(rpci_ipc_range_ok(0, 0, 0));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(0, 1, 0));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(1, 0, 0));
	CU_ASSERT_TRUE(rpci_ipc_range_ok(4096, 0, 4096));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(4097, 0, 4096));
	CU_ASSERT_TRUE(rpci_ipc_range_ok(0, 4096, 4096));
	CU_ASSERT_TRUE(rpci_ipc_range_ok(4095, 1, 4096));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(4095, 2, 4096));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(1, 4096, 4096));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(UINT64_MAX, 1, UINT64_MAX));
	CU_ASSERT_TRUE(rpci_ipc_range_ok(UINT64_MAX, 0, UINT64_MAX));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(2, UINT64_MAX - 1, UINT64_MAX));
	CU_ASSERT_TRUE(rpci_ipc_range_ok(1, UINT64_MAX - 1, UINT64_MAX));
	CU_ASSERT_FALSE(rpci_ipc_range_ok(UINT64_MAX - 1, 4, 4096));
}

static void
test_str_ok(void)
{
	char s[8] = "abc";

	CU_ASSERT_TRUE(rpci_ipc_str_ok(s, sizeof(s)));
	memset(s, 'x', sizeof(s));
	CU_ASSERT_FALSE(rpci_ipc_str_ok(s, sizeof(s)));
	s[7] = '\0';
	CU_ASSERT_TRUE(rpci_ipc_str_ok(s, sizeof(s)));
	CU_ASSERT_FALSE(rpci_ipc_str_ok(s, 7));
}

static struct rpci_ipc_hello
good_hello(void)
{
	struct rpci_ipc_hello h;

	memset(&h, 0, sizeof(h));
	h.magic = RPCI_IPC_MAGIC;
	h.version = RPCI_IPC_VERSION;
	h.type = RPCI_IPC_HELLO;
	h.shm_size = 1ull << 30;
	snprintf(h.name, sizeof(h.name), "prog");
	return h;
}

static void
test_hello_check(void)
{
	struct rpci_ipc_hello h = good_hello(), out;
	uint8_t big[sizeof(h) + 1];

	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), 0);
	CU_ASSERT_EQUAL(out.shm_size, 1ull << 30);
	CU_ASSERT_STRING_EQUAL(out.name, "prog");
	/* a name without its NUL is cut, not read past */
	memset(h.name, 'n', sizeof(h.name));
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), 0);
	CU_ASSERT_EQUAL(strlen(out.name), sizeof(out.name) - 1);
	/* sizes */
	h = good_hello();
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h) - 1, &out), -EPROTO);
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, 0, &out), -EPROTO);
	memcpy(big, &h, sizeof(h));
	big[sizeof(h)] = 0;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(big, sizeof(big), &out), -EPROTO);
	/* each header field wrong alone */
	h.magic ^= 1;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EPROTO);
	h = good_hello();
	h.version = RPCI_IPC_VERSION + 1;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EPROTO);
	h = good_hello();
	h.type = RPCI_IPC_HELLO_ACK;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EPROTO);
	/* the memory's size: within the limits, whole pages */
	h = good_hello();
	h.shm_size = RPCI_IPC_SHM_MIN;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), 0);
	h.shm_size = RPCI_IPC_SHM_MAX;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), 0);
	h.shm_size = RPCI_IPC_SHM_MIN - 4096;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EINVAL);
	h.shm_size = RPCI_IPC_SHM_MAX + 4096;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EINVAL);
	h.shm_size = RPCI_IPC_SHM_MIN + 100;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EINVAL);
	h.shm_size = 0;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EINVAL);
	h.shm_size = UINT64_MAX & ~4095ull;
	CU_ASSERT_EQUAL(rpci_ipc_hello_check(&h, sizeof(h), &out), -EINVAL);
}

static struct rpci_ipc_hello_ack
good_ack(void)
{
	struct rpci_ipc_hello_ack a;

	memset(&a, 0, sizeof(a));
	a.magic = RPCI_IPC_MAGIC;
	a.version = RPCI_IPC_VERSION;
	a.type = RPCI_IPC_HELLO_ACK;
	a.app_id = 7;
	a.requester_id = 0x0203;
	a.iova_base = 3ull << 40;
	snprintf(a.host, sizeof(a.host), "client0");
	return a;
}

static void
test_hello_ack_check(void)
{
	struct rpci_ipc_hello_ack a = good_ack(), out;
	uint8_t big[sizeof(a) + 4];

	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(&a, sizeof(a), &out), 0);
	CU_ASSERT_EQUAL(out.app_id, 7);
	CU_ASSERT_EQUAL(out.requester_id, 0x0203);
	CU_ASSERT_EQUAL(out.iova_base, 3ull << 40);
	CU_ASSERT_STRING_EQUAL(out.host, "client0");
	/* a refusal is a good message: its status and reason are the answer */
	a.status = -EUSERS;
	snprintf(a.reason, sizeof(a.reason), "too many");
	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(&a, sizeof(a), &out), 0);
	CU_ASSERT_EQUAL(out.status, -EUSERS);
	CU_ASSERT_STRING_EQUAL(out.reason, "too many");
	/* texts without their NUL are cut */
	memset(a.reason, 'r', sizeof(a.reason));
	memset(a.host, 'h', sizeof(a.host));
	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(&a, sizeof(a), &out), 0);
	CU_ASSERT_EQUAL(strlen(out.reason), sizeof(out.reason) - 1);
	CU_ASSERT_EQUAL(strlen(out.host), sizeof(out.host) - 1);
	a = good_ack();
	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(&a, sizeof(a) - 1, &out), -EPROTO);
	memcpy(big, &a, sizeof(a));
	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(big, sizeof(big), &out), -EPROTO);
	a.magic = 0;
	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(&a, sizeof(a), &out), -EPROTO);
	a = good_ack();
	a.version = 0;
	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(&a, sizeof(a), &out), -EPROTO);
	a = good_ack();
	a.type = RPCI_IPC_HELLO;
	CU_ASSERT_EQUAL(rpci_ipc_hello_ack_check(&a, sizeof(a), &out), -EPROTO);
}

static struct rpci_ipc_request_params
good_params(uint32_t count)
{
	struct rpci_ipc_request_params p;
	uint32_t i;

	memset(&p, 0, sizeof(p));
	p.count = count;
	for (i = 0; i < count; i++) {
		p.slots[i] = (uint8_t)(RPCI_IPC_DEVICES_MAX - 1 - 2 * i);
	}
	snprintf(p.req.backend, sizeof(p.req.backend), "cpu");
	snprintf(p.req.kernel, sizeof(p.req.kernel), "saxpy");
	snprintf(p.req.job, sizeof(p.req.job), "sgemm");
	return p;
}

static void
test_request_params_check(void)
{
	struct rpci_ipc_request_params p;
	uint32_t i;

	for (i = 1; i <= RPCI_IPC_REQUEST_MAX; i++) {
		p = good_params(i);
		CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), 0);
	}
	p = good_params(1);
	p.count = 0;
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	p.count = RPCI_IPC_REQUEST_MAX + 1;
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	p.count = UINT32_MAX;
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	/* a slot out of range */
	p = good_params(3);
	p.slots[2] = RPCI_IPC_DEVICES_MAX;
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	p.slots[2] = 0xff;
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	/* a slot twice */
	p = good_params(3);
	p.slots[2] = p.slots[0];
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	/* slots past count are not looked at */
	p = good_params(2);
	p.slots[2] = p.slots[0];
	p.slots[3] = 0xff;
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), 0);
	/* each name without its NUL */
	p = good_params(1);
	memset(p.req.backend, 'b', sizeof(p.req.backend));
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	p = good_params(1);
	memset(p.req.kernel, 'k', sizeof(p.req.kernel));
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	p = good_params(1);
	memset(p.req.job, 'j', sizeof(p.req.job));
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), -EINVAL);
	p.req.job[sizeof(p.req.job) - 1] = '\0';
	CU_ASSERT_EQUAL(rpci_ipc_request_params_check(&p), 0);
}

/* ------------------------------------------------------------- sockets */

static void
path_in_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", g_dir, name);
}

/* Whether something accepts a connection of type at path. */
static bool
answers(const char *path, int type)
{
	struct sockaddr_un a;
	int fd, ret;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return ret == 0;
}

/* Listen with the owner and group left as they are. */
static int
listen_as_is(const char *path, int type, mode_t mode, uint64_t *dev, uint64_t *ino)
{
	return rpci_ipc_listen(path, type, (uid_t)-1, (gid_t)-1, mode, BACKLOG, dev, ino);
}

/* A socket file nobody listens on (its process is gone), as a crash leaves it. */
static int
make_stale(const char *path)
{
	struct sockaddr_un a;
	int fd, ret;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0) {
		return -errno;
	}
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static void
test_listen_basic(void)
{
	char path[108];
	struct stat st;
	uint64_t dev = 0, ino = 0;
	mode_t old;
	int fd, flags;

	/* the directory is made; the mode is exactly as asked, whatever the umask */
	path_in_dir(path, sizeof(path), "a/b/proxy.sock");
	old = umask(077);
	fd = listen_as_is(path, SOCK_SEQPACKET, 0666, &dev, &ino);
	umask(old);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0666);
	CU_ASSERT_EQUAL(dev, (uint64_t)st.st_dev);
	CU_ASSERT_EQUAL(ino, (uint64_t)st.st_ino);
	flags = fcntl(fd, F_GETFL);
	CU_ASSERT(flags >= 0 && (flags & O_NONBLOCK));
	flags = fcntl(fd, F_GETFD);
	CU_ASSERT(flags >= 0 && (flags & FD_CLOEXEC));
	CU_ASSERT_TRUE(answers(path, SOCK_SEQPACKET));
	rpci_ipc_unlisten(fd, path, dev, ino);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(errno, ENOENT);
	/* another mode, a stream socket, a directory that exists */
	fd = listen_as_is(path, SOCK_STREAM, 0600, &dev, &ino);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_TRUE(answers(path, SOCK_STREAM));
	rpci_ipc_unlisten(fd, path, dev, ino);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
	/* nothing to close: the file, if any, stays */
	CU_ASSERT_EQUAL(make_stale(path), 0);
	rpci_ipc_unlisten(-1, path, 0, 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	unlink(path);
}

static void
test_listen_owner(void)
{
	char path[108];
	struct stat st;
	uint64_t dev, ino;
	int fd;

	path_in_dir(path, sizeof(path), "owned.sock");
	/* our own user and group: always allowed */
	fd = rpci_ipc_listen(path, SOCK_SEQPACKET, getuid(), getgid(), 0660, BACKLOG, &dev, &ino);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_uid, getuid());
	CU_ASSERT_EQUAL(st.st_gid, getgid());
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0660);
	rpci_ipc_unlisten(fd, path, dev, ino);
	if (geteuid() != 0) {
		/* another owner: refused, and nothing is left behind */
		fd = rpci_ipc_listen(path, SOCK_SEQPACKET, 0, (gid_t)-1, 0660, BACKLOG, &dev, &ino);
		CU_ASSERT_EQUAL(fd, -EPERM);
		CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
		return;
	}
	/* root gives it away (to nobody: 65534) */
	fd = rpci_ipc_listen(path, SOCK_SEQPACKET, 65534, 65534, 0660, BACKLOG, &dev, &ino);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_uid, 65534);
	CU_ASSERT_EQUAL(st.st_gid, 65534);
	rpci_ipc_unlisten(fd, path, dev, ino);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
}

static void
test_listen_stale_and_live(void)
{
	char path[108];
	struct stat st;
	uint64_t dev, ino, dev2, ino2;
	int fd, fd2;

	path_in_dir(path, sizeof(path), "stale.sock");
	/* a stale socket file is replaced */
	CU_ASSERT_EQUAL_FATAL(make_stale(path), 0);
	CU_ASSERT_FALSE(answers(path, SOCK_SEQPACKET));
	fd = listen_as_is(path, SOCK_SEQPACKET, 0660, &dev, &ino);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_TRUE(answers(path, SOCK_SEQPACKET));
	/* a live one is not, and keeps working */
	fd2 = listen_as_is(path, SOCK_SEQPACKET, 0660, &dev2, &ino2);
	CU_ASSERT_EQUAL(fd2, -EADDRINUSE);
	CU_ASSERT_TRUE(answers(path, SOCK_SEQPACKET));
	/* nor one of another type that someone listens on */
	fd2 = listen_as_is(path, SOCK_STREAM, 0660, &dev2, &ino2);
	CU_ASSERT_EQUAL(fd2, -EADDRINUSE);
	CU_ASSERT_TRUE(answers(path, SOCK_SEQPACKET));
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL((uint64_t)st.st_ino, ino);
	/*
	 * Someone removed our file and listens there now: our unlisten leaves
	 * theirs alone.
	 */
	CU_ASSERT_EQUAL(unlink(path), 0);
	fd2 = listen_as_is(path, SOCK_SEQPACKET, 0660, &dev2, &ino2);
	CU_ASSERT_FATAL(fd2 >= 0);
	CU_ASSERT_NOT_EQUAL(ino2, ino);
	rpci_ipc_unlisten(fd, path, dev, ino);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL((uint64_t)st.st_ino, ino2);
	CU_ASSERT_TRUE(answers(path, SOCK_SEQPACKET));
	rpci_ipc_unlisten(fd2, path, dev2, ino2);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
}

static void
test_listen_refused(void)
{
	char path[200], file[108];
	struct stat st;
	uint64_t dev, ino;
	int fd;
	FILE *f;

	/* a path that is not a socket is never removed */
	path_in_dir(file, sizeof(file), "regular");
	f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("keep me\n", f);
	fclose(f);
	fd = listen_as_is(file, SOCK_SEQPACKET, 0660, &dev, &ino);
	CU_ASSERT_EQUAL(fd, -EEXIST);
	CU_ASSERT_EQUAL(stat(file, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_size, 8);
	/* nor a directory */
	fd = listen_as_is(g_dir, SOCK_SEQPACKET, 0660, &dev, &ino);
	CU_ASSERT_EQUAL(fd, -EEXIST);
	/* a directory that cannot be made (a file is in the way) */
	snprintf(path, sizeof(path), "%s/sub/x.sock", file);
	fd = listen_as_is(path, SOCK_SEQPACKET, 0660, &dev, &ino);
	CU_ASSERT_EQUAL(fd, -ENOTDIR);
	unlink(file);
	/* names */
	fd = listen_as_is("", SOCK_SEQPACKET, 0660, &dev, &ino);
	CU_ASSERT_EQUAL(fd, -EINVAL);
	fd = listen_as_is(NULL, SOCK_SEQPACKET, 0660, &dev, &ino);
	CU_ASSERT_EQUAL(fd, -EINVAL);
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0';
	fd = listen_as_is(path, SOCK_SEQPACKET, 0660, &dev, &ino);
	CU_ASSERT_EQUAL(fd, -ENAMETOOLONG);
}

/* ------------------------------------------------------------- runner */

static int
suite_init(void)
{
	g_ring = malloc(RING_BYTES);
	snprintf(g_dir, sizeof(g_dir), "/tmp/rpci-test-ipc-%d-XXXXXX", (int)getpid());
	if (g_ring == NULL || mkdtemp(g_dir) == NULL) {
		return -1;
	}
	return 0;
}

static int
suite_fini(void)
{
	static const char *const made[] = { "a/b/proxy.sock", "owned.sock", "stale.sock",
					     "regular", "a/b", "a" };
	char path[108];
	unsigned int i;

	free(g_ring);
	/* what a failed test may have left, then the directory */
	for (i = 0; i < DIM(made); i++) {
		path_in_dir(path, sizeof(path), made[i]);
		if (unlink(path) < 0 && errno == EISDIR) {
			rmdir(path);
		}
		rmdir(path);
	}
	return rmdir(g_dir) == 0 ? 0 : -1;
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int n;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("ipc", suite_init, suite_fini);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_take_empty_and_unpublished);
	CU_ADD_TEST(suite, test_take_bad_nslots);
	CU_ADD_TEST(suite, test_take_bad_op_dev_flags);
	CU_ADD_TEST(suite, test_take_lengths_and_addresses);
	CU_ADD_TEST(suite, test_take_inline);
	CU_ADD_TEST(suite, test_take_inline_wraps);
	CU_ADD_TEST(suite, test_take_walk);
	CU_ADD_TEST(suite, test_take_control_ops);
	CU_ADD_TEST(suite, test_take_good_every_op);
	CU_ADD_TEST(suite, test_range_ok);
	CU_ADD_TEST(suite, test_str_ok);
	CU_ADD_TEST(suite, test_hello_check);
	CU_ADD_TEST(suite, test_hello_ack_check);
	CU_ADD_TEST(suite, test_request_params_check);
	CU_ADD_TEST(suite, test_listen_basic);
	CU_ADD_TEST(suite, test_listen_owner);
	CU_ADD_TEST(suite, test_listen_stale_and_live);
	CU_ADD_TEST(suite, test_listen_refused);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return (int)n;
}
