/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Fuzz harness of the program-to-proxy checks (lib/ipc, rpci_ipc.h): what
 * a local program, untrusted, puts in its shared memory or sends on the
 * proxy's socket.
 *
 * The input is a request ring as a program could leave it:
 *
 *   bytes 0..3    the consumer index (u32, little-endian)
 *   bytes 4..7    the producer index the program published (u32)
 *   bytes 8..15   the size of its shared memory (u64)
 *   bytes 16..    the ring's contents from the consumer's slot on (wrapping
 *                 at the ring's end; the other slots are zero)
 *
 * The ring is walked as lib/proxy's rings_poll() does: a producer more than
 * a ring ahead cuts the program off; otherwise rpci_ipc_req_take() is
 * called until it returns -EAGAIN or an error (the program is cut off),
 * stepping over the slots each good request took. Every answer is checked
 * against a reference written from the header's words (128-bit arithmetic
 * for the ranges): a request is taken if and only if it is good, -EAGAIN
 * comes exactly when its slots are not all published, a refusal is one of
 * the documented errors and says how many slots to skip, a taken request
 * is the slot as written and its inline data the bytes of the slots after
 * it. The same call made twice gives the same answer. The ring is a heap
 * block of exactly its size, so any read past it is a sanitizer report.
 *
 * The whole input is also given, as the bytes of a message or a parameter
 * block, to rpci_ipc_hello_check(), rpci_ipc_hello_ack_check(),
 * rpci_ipc_request_params_check() and rpci_ipc_str_ok(), each checked
 * against its own reference the same way.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "rpci_ipc.h"
#include "fuzz.h"

#define RING_BYTES ((size_t)RPCI_IPC_REQ_SLOTS * RPCI_IPC_REQ_SLOT_SIZE)
#define MASK (RPCI_IPC_REQ_SLOTS - 1)
#define HDR_LEN 16
#define REPLY_MAX (1u << 20) /* the largest reply lib/ipc takes */

typedef unsigned __int128 u128;

static uint8_t *g_ring;

static uint32_t
le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
le64_at(const uint8_t *p)
{
	return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

static uint8_t *
slot(uint32_t idx)
{
	return g_ring + (size_t)(idx & MASK) * RPCI_IPC_REQ_SLOT_SIZE;
}

/* [off, off + len) inside [0, size), in exact arithmetic. */
static bool
ref_inside(uint64_t off, uint64_t len, uint64_t size)
{
	return (u128)off + len <= size;
}

/* A device range [addr, addr + len) that does not wrap: the sum fits 64 bits. */
static bool
ref_no_wrap(uint64_t addr, uint64_t len)
{
	return (u128)addr + len <= UINT64_MAX;
}

/* Parameter and smallest reply sizes of a control op, as the structs of the header say. */
static bool
ref_ctrl_sizes(uint8_t op, uint32_t *params, uint32_t *reply)
{
	*params = 0;
	switch (op) {
	case RPCI_IPC_OP_OPEN:
		*params = sizeof(struct rpci_ipc_open_params);
		*reply = sizeof(struct rpci_ipc_open_reply);
		return true;
	case RPCI_IPC_OP_REQUEST:
		*params = sizeof(struct rpci_ipc_request_params);
		*reply = sizeof(struct rpci_ipc_request_reply);
		return true;
	case RPCI_IPC_OP_CLOSE:
		*reply = sizeof(struct rpci_ipc_reply);
		return true;
	case RPCI_IPC_OP_RECONNECT:
		*reply = sizeof(struct rpci_ipc_open_reply);
		return true;
	case RPCI_IPC_OP_REPORT:
		*params = sizeof(struct rpci_ipc_report_params);
		*reply = sizeof(struct rpci_ipc_reply);
		return true;
	case RPCI_IPC_OP_MSG_SEND:
		*params = sizeof(struct rpci_ipc_message);
		*reply = sizeof(struct rpci_ipc_reply);
		return true;
	case RPCI_IPC_OP_MSG_RECV:
		*reply = sizeof(struct rpci_ipc_message);
		return true;
	case RPCI_IPC_OP_STATS:
		*reply = sizeof(struct rpci_ipc_link_stats);
		return true;
	case RPCI_IPC_OP_DEVICES:
		*params = sizeof(struct rpci_ipc_devices_params);
		*reply = sizeof(struct rpci_ipc_devices_reply);
		return true;
	default:
		return false;
	}
}

/* Whether a request of n slots (n published) is good, from the header's rules. */
static bool
ref_good(const struct rpci_ipc_req *r, uint32_t n, uint64_t shm_size)
{
	uint32_t params, reply;
	uint64_t be;

	if (r->op == 0 || r->op >= RPCI_IPC_OP_MAX || r->dev >= RPCI_IPC_DEVICES_MAX ||
	    (r->flags & ~(RPCI_IPC_REQ_F_INLINE | RPCI_IPC_REQ_F_COPY)) != 0) {
		return false;
	}
	if (r->op == RPCI_IPC_OP_MWR) {
		if (r->len == 0 || r->len > RPCI_IPC_XFER_MAX || !ref_no_wrap(r->addr, r->len)) {
			return false;
		}
		if (r->flags & RPCI_IPC_REQ_F_INLINE) {
			/* the data slots hold it, and not one slot more */
			return n >= 2 && r->len <= (n - 1) * RPCI_IPC_REQ_SLOT_SIZE &&
			       r->len > (n - 2) * RPCI_IPC_REQ_SLOT_SIZE;
		}
		return n == 1 && ref_inside(r->buf, r->len, shm_size);
	}
	if (n != 1 || r->flags != 0) {
		return false;
	}
	switch (r->op) {
	case RPCI_IPC_OP_MRD:
		return r->len > 0 && r->len <= RPCI_IPC_XFER_MAX && ref_no_wrap(r->addr, r->len) &&
		       ref_inside(r->buf, r->len, shm_size);
	case RPCI_IPC_OP_CFGRD:
	case RPCI_IPC_OP_CFGWR:
		be = r->arg >> 32;
		return r->addr < 1024 && be >= 1 && be <= 0xf;
	case RPCI_IPC_OP_FENCE:
		return true;
	default:
		break;
	}
	FUZZ_CHECK(ref_ctrl_sizes(r->op, &params, &reply));
	return r->len == params && (params == 0 || ref_inside(r->buf, params, shm_size)) &&
	       r->arg2 >= reply && r->arg2 <= REPLY_MAX && ref_inside(r->arg, r->arg2, shm_size);
}

/* One take at cons, checked; the slots to step over, or 0 to stop the walk. */
static uint32_t
take_one(uint32_t cons, uint32_t avail, uint64_t shm_size)
{
	static struct rpci_ipc_req_view v, again;
	struct rpci_ipc_req r;
	uint32_t n, i;
	int ret;

	memcpy(&r, slot(cons), sizeof(r));
	n = r.nslots;
	ret = rpci_ipc_req_take(g_ring, cons, avail, shm_size, &v);
	/* deterministic, and nothing but the view changes */
	FUZZ_CHECK(rpci_ipc_req_take(g_ring, cons, avail, shm_size, &again) == ret);
	FUZZ_CHECK(again.nslots == v.nslots);
	FUZZ_CHECK(v.nslots >= 1 && v.nslots <= 1 + RPCI_IPC_INLINE_SLOTS_MAX);
	if (n == 0 || n > 1 + RPCI_IPC_INLINE_SLOTS_MAX) {
		FUZZ_CHECK(ret == -EPROTO);
		FUZZ_CHECK(v.nslots == 1);
		return 0;
	}
	if (n > avail) {
		FUZZ_CHECK(ret == -EAGAIN);
		return 0;
	}
	FUZZ_CHECK(v.nslots == n);
	if (!ref_good(&r, n, shm_size)) {
		FUZZ_CHECK(ret == -EPROTO || ret == -EINVAL || ret == -EFAULT || ret == -E2BIG);
		return 0;
	}
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(memcmp(&v.req, &r, sizeof(r)) == 0);
	FUZZ_CHECK(memcmp(&again.req, &r, sizeof(r)) == 0);
	if (r.op == RPCI_IPC_OP_MWR && (r.flags & RPCI_IPC_REQ_F_INLINE)) {
		for (i = 0; i * RPCI_IPC_REQ_SLOT_SIZE < r.len; i++) {
			uint32_t off = i * RPCI_IPC_REQ_SLOT_SIZE;
			uint32_t k = r.len - off < RPCI_IPC_REQ_SLOT_SIZE ? r.len - off :
				RPCI_IPC_REQ_SLOT_SIZE;

			FUZZ_CHECK(memcmp(v.data + off, slot(cons + 1 + i), k) == 0);
			FUZZ_CHECK(memcmp(again.data + off, slot(cons + 1 + i), k) == 0);
		}
	}
	return n;
}

static void
check_ring(const uint8_t *data, size_t size)
{
	uint32_t cons, prod, avail, i, nb_slots, step;
	uint64_t shm_size;
	size_t body;

	if (size < HDR_LEN) {
		return;
	}
	cons = le32_at(data);
	prod = le32_at(data + 4);
	shm_size = le64_at(data + 8);
	body = size - HDR_LEN;
	if (body > RING_BYTES) {
		body = RING_BYTES;
	}
	/* the input's slots from the consumer's on, wrapping at the ring's end */
	nb_slots = (uint32_t)((body + RPCI_IPC_REQ_SLOT_SIZE - 1) / RPCI_IPC_REQ_SLOT_SIZE);
	for (i = 0; i < nb_slots; i++) {
		size_t off = (size_t)i * RPCI_IPC_REQ_SLOT_SIZE;
		size_t k = body - off < RPCI_IPC_REQ_SLOT_SIZE ? body - off :
			RPCI_IPC_REQ_SLOT_SIZE;

		memcpy(slot(cons + i), data + HDR_LEN + off, k);
	}
	/* the walk: rings_poll() cuts off a producer more than a ring ahead */
	avail = prod - cons;
	if (avail <= RPCI_IPC_REQ_SLOTS) {
		while (avail > 0) {
			step = take_one(cons, avail, shm_size);
			if (step == 0) {
				break;
			}
			FUZZ_CHECK(step <= avail);
			cons += step;
			avail -= step;
		}
	}
	/* no state kept for the next input */
	cons = le32_at(data);
	for (i = 0; i < nb_slots; i++) {
		memset(slot(cons + i), 0, RPCI_IPC_REQ_SLOT_SIZE);
	}
}

static void
check_hello(const uint8_t *data, size_t size)
{
	struct rpci_ipc_hello h, ref;
	bool good;
	int ret;

	ret = rpci_ipc_hello_check(data, size, &h);
	if (size != sizeof(ref)) {
		FUZZ_CHECK(ret == -EPROTO);
		return;
	}
	memcpy(&ref, data, sizeof(ref));
	if (ref.magic != RPCI_IPC_MAGIC || ref.version != RPCI_IPC_VERSION ||
	    ref.type != RPCI_IPC_HELLO) {
		FUZZ_CHECK(ret == -EPROTO);
		return;
	}
	good = ref.shm_size >= RPCI_IPC_SHM_MIN && ref.shm_size <= RPCI_IPC_SHM_MAX &&
	       ref.shm_size % 4096 == 0;
	FUZZ_CHECK(ret == (good ? 0 : -EINVAL));
	if (ret == 0) {
		FUZZ_CHECK(h.shm_size == ref.shm_size);
		FUZZ_CHECK(strnlen(h.name, sizeof(h.name)) < sizeof(h.name));
		FUZZ_CHECK(strncmp(h.name, ref.name, sizeof(h.name) - 1) == 0);
	}
}

static void
check_hello_ack(const uint8_t *data, size_t size)
{
	struct rpci_ipc_hello_ack a, ref;
	int ret;

	ret = rpci_ipc_hello_ack_check(data, size, &a);
	if (size != sizeof(ref)) {
		FUZZ_CHECK(ret == -EPROTO);
		return;
	}
	memcpy(&ref, data, sizeof(ref));
	if (ref.magic != RPCI_IPC_MAGIC || ref.version != RPCI_IPC_VERSION ||
	    ref.type != RPCI_IPC_HELLO_ACK) {
		FUZZ_CHECK(ret == -EPROTO);
		return;
	}
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(a.status == ref.status && a.flags == ref.flags && a.app_id == ref.app_id);
	FUZZ_CHECK(a.requester_id == ref.requester_id && a.iova_base == ref.iova_base);
	FUZZ_CHECK(strnlen(a.reason, sizeof(a.reason)) < sizeof(a.reason));
	FUZZ_CHECK(strnlen(a.host, sizeof(a.host)) < sizeof(a.host));
}

static void
check_request_params(const uint8_t *data, size_t size)
{
	struct rpci_ipc_request_params p;
	uint32_t i, k;
	bool good;

	memset(&p, 0, sizeof(p));
	memcpy(&p, data, size < sizeof(p) ? size : sizeof(p));
	good = p.count >= 1 && p.count <= RPCI_IPC_REQUEST_MAX &&
	       memchr(p.req.backend, 0, sizeof(p.req.backend)) != NULL &&
	       memchr(p.req.kernel, 0, sizeof(p.req.kernel)) != NULL &&
	       memchr(p.req.job, 0, sizeof(p.req.job)) != NULL;
	for (i = 0; good && i < p.count; i++) {
		good = p.slots[i] < RPCI_IPC_DEVICES_MAX;
		for (k = 0; good && k < i; k++) {
			good = p.slots[k] != p.slots[i];
		}
	}
	FUZZ_CHECK(rpci_ipc_request_params_check(&p) == (good ? 0 : -EINVAL));
}

static void
check_ranges(const uint8_t *data, size_t size)
{
	uint64_t off, len, shm;

	if (size < 24) {
		return;
	}
	off = le64_at(data);
	len = le64_at(data + 8);
	shm = le64_at(data + 16);
	FUZZ_CHECK(rpci_ipc_range_ok(off, len, shm) == ref_inside(off, len, shm));
	FUZZ_CHECK(rpci_ipc_str_ok((const char *)data, size) ==
		   (memchr(data, 0, size) != NULL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (g_ring == NULL) {
		/* one block of exactly the ring's size, zero, kept zero between inputs */
		g_ring = calloc(1, RING_BYTES);
		FUZZ_CHECK(g_ring != NULL);
	}
	check_ring(data, size);
	check_hello(data, size);
	check_hello_ack(data, size);
	check_request_params(data, size);
	check_ranges(data, size);
	return 0;
}
