/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Fuzz harness of lib/tlp (rpci_tlp.h).
 *
 * The input is what a DATA frame carries: messages back to back. They are
 * decoded one after the other with the protocol maximums, and each position
 * again with several receivers' limits: every result must be what a
 * reference decoder written from doc/protocol-tlp.md alone says, and agree
 * with rpci_tlp_validate(). Every message that decodes must re-encode to the
 * same header bytes and decode again to the same struct. A read (MRd,
 * CfgRd) is answered by the completion iterator with several max_payload
 * values: the completions must come in address order, byte_count counting
 * down, never more than was asked, each but the last ending on the read
 * completion boundary, and the requester's tag table must accept every one
 * of them in turn. The input's own requests and completions go through one
 * more tag table, whose state must stay consistent whatever they are.
 * Finally the first bytes, taken as an address and a length, must make a
 * valid request through rpci_tlp_set_byte_range() exactly when the range
 * is allowed.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "rpci_tlp.h"
#include "fuzz.h"

/* Messages of one input that get the expensive checks. */
#define MAX_CHECKED 16
/* Tags of the table fed with the input's requests and completions. */
#define INPUT_TAGS 8
/* Most completions a read can need: one partial RCB, then whole ones. */
#define MAX_CPLS (RPCI_TLP_MAX_PAYLOAD / RPCI_TLP_RCB + 2)
/* Completer id used for the iterator's completions. */
#define COMPLETER_ID 0x0100

/* Receivers' limits tried on every position of the input. */
static const struct rpci_tlp_limits g_limits[] = {
	{ .max_payload = 0, .max_read_req = 0 }, /* 0 means the maximums */
	{ .max_payload = 64, .max_read_req = 64 },
	{ .max_payload = 128, .max_read_req = 512 },
	{ .max_payload = 1408, .max_read_req = 4096 }, /* MTU 1500 */
	{ .max_payload = 4096, .max_read_req = 128 },
	{ .max_payload = 100, .max_read_req = 8192 }, /* odd, over the maximum */
};

/* max_payload values given to the completion iterator (some refused). */
static const uint32_t g_cpl_mps[] = { 0, 3, 4, 32, 64, 100, 128, 192, 256, 1408, 4096, 8192 };

/* max_payload values given to rpci_tlp_chunk_len() (multiples of 4, or 0). */
static const uint32_t g_chunk_mps[] = { 0, 4, 64, 100, 1408, 4096, 5000 };

/* Header plus the largest payload: room to decode what was encoded. */
static uint8_t g_buf[RPCI_TLP_HDR_MAX_LEN + RPCI_TLP_MAX_PAYLOAD];

/* Every field but the payload pointer. */
static bool
tlp_equal(const struct rpci_tlp *a, const struct rpci_tlp *b)
{
	return a->type == b->type && a->status == b->status && a->first_be == b->first_be &&
	       a->last_be == b->last_be && a->length_dw == b->length_dw &&
	       a->requester_id == b->requester_id && a->completer_id == b->completer_id &&
	       a->tag == b->tag && a->address == b->address && a->byte_count == b->byte_count &&
	       a->lower_address == b->lower_address && a->msg_code == b->msg_code &&
	       a->reg == b->reg && a->msg_data == b->msg_data;
}

static bool
decode_error(int rc)
{
	return rc == -EMSGSIZE || rc == -EPROTO || rc == -EINVAL || rc == -E2BIG;
}

/* Encode t, then decode it from g_buf (payload bytes as they are): same struct. */
static void
check_encode_decode(const struct rpci_tlp *t)
{
	size_t hdr_len = rpci_tlp_hdr_len(t->type);
	uint32_t payload_len = rpci_tlp_payload_len(t);
	struct rpci_tlp back;
	const char *why = "unset";
	int rc;

	FUZZ_CHECK(hdr_len != 0);
	FUZZ_CHECK(payload_len <= RPCI_TLP_MAX_PAYLOAD);
	rc = rpci_tlp_encode(t, g_buf, sizeof(g_buf));
	FUZZ_CHECK(rc == (int)hdr_len);
	rc = rpci_tlp_decode(g_buf, hdr_len + payload_len, NULL, &back, &why);
	FUZZ_CHECK(rc == (int)(hdr_len + payload_len));
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(tlp_equal(&back, t));
	FUZZ_CHECK(back.payload == (payload_len != 0 ? g_buf + hdr_len : NULL));
}

/* A decoded message: re-encodes to the bytes it came from, and validates. */
static void
check_roundtrip(const struct rpci_tlp *t, const uint8_t *raw)
{
	uint8_t hdr[RPCI_TLP_HDR_MAX_LEN];
	size_t hdr_len = rpci_tlp_hdr_len(t->type);
	const char *why = "unset";

	FUZZ_CHECK(rpci_tlp_validate(t, NULL, &why) == 0);
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(rpci_tlp_encode(t, hdr, sizeof(hdr)) == (int)hdr_len);
	FUZZ_CHECK(memcmp(hdr, raw, hdr_len) == 0);
	FUZZ_CHECK(rpci_tlp_encode(t, hdr, hdr_len - 1) == -ENOSPC);
	check_encode_decode(t);
}

/* Byte range of a memory request, and back through rpci_tlp_set_byte_range(). */
static void
check_byte_range(const struct rpci_tlp *t)
{
	uint32_t off, count, off2, count2;
	struct rpci_tlp r;

	count = rpci_tlp_byte_range(t, &off);
	FUZZ_CHECK(off < 4);
	FUZZ_CHECK(off + count <= (uint32_t)t->length_dw * 4);
	if (t->length_dw == 1 && t->first_be == 0) {
		FUZZ_CHECK(count == 0 && off == 0);
		return;
	}
	FUZZ_CHECK(count >= 1);
	memset(&r, 0, sizeof(r));
	r.type = t->type;
	r.requester_id = t->requester_id;
	r.tag = t->tag;
	FUZZ_CHECK(rpci_tlp_set_byte_range(&r, t->address + off, count) == 0);
	FUZZ_CHECK(r.address == t->address);
	FUZZ_CHECK(r.length_dw >= 1 && r.length_dw <= t->length_dw);
	FUZZ_CHECK(rpci_tlp_validate(&r, NULL, NULL) == 0);
	count2 = rpci_tlp_byte_range(&r, &off2);
	FUZZ_CHECK(off2 == off && count2 == count);
}

/* Cut a transfer that starts where t does into requests; each must be valid. */
static void
check_chunks(const struct rpci_tlp *t)
{
	struct rpci_tlp_limits lim;
	struct rpci_tlp r;
	uint64_t addr, left;
	uint32_t off, count, mps, eff, c;
	unsigned int i;

	count = rpci_tlp_byte_range(t, &off);
	for (i = 0; i < sizeof(g_chunk_mps) / sizeof(g_chunk_mps[0]); i++) {
		mps = g_chunk_mps[i];
		eff = (mps == 0 || mps > RPCI_TLP_MAX_PAYLOAD) ? RPCI_TLP_MAX_PAYLOAD : mps;
		addr = t->address + off;
		/* A longer transfer (up to 8 KiB more, from the tag) with the larger sizes. */
		left = (uint64_t)count + (eff >= RPCI_TLP_RCB ? (t->tag & 0x1fff) : 0);
		FUZZ_CHECK(rpci_tlp_chunk_len(addr, 0, mps) == 0);
		while (left > 0) {
			c = rpci_tlp_chunk_len(addr, left, mps);
			FUZZ_CHECK(c >= 1 && c <= left);
			FUZZ_CHECK((addr & (RPCI_TLP_BOUNDARY - 1)) + c <= RPCI_TLP_BOUNDARY);
			FUZZ_CHECK(((addr & 3) + c + 3) / 4 * 4 <= eff);
			/* As long as allowed: ends the transfer, a page, or the payload. */
			FUZZ_CHECK(c == left || ((addr + c) & (RPCI_TLP_BOUNDARY - 1)) == 0 ||
				   c == eff - (addr & 3));
			memset(&r, 0, sizeof(r));
			r.type = RPCI_TLP_MWR;
			FUZZ_CHECK(rpci_tlp_set_byte_range(&r, addr, c) == 0);
			lim.max_payload = eff;
			lim.max_read_req = eff;
			FUZZ_CHECK(rpci_tlp_validate(&r, &lim, NULL) == 0);
			addr += c;
			left -= c;
		}
	}
}

/* Answer a read with the iterator; the requester's table must take every completion. */
static void
check_cpl_iter(const struct rpci_tlp *req, uint32_t mps)
{
	bool is_cfg = req->type == RPCI_TLP_CFGRD;
	struct rpci_tlp_limits lim = { 0 };
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp_tags *tags;
	struct rpci_tlp cpl;
	uint32_t off, count, left, avail, delivered, got_off, got_len, skip, n = 0;
	uint64_t src, next;
	void *cookie;
	bool done;
	int rc;

	rc = rpci_tlp_cpl_iter_init(&it, req, COMPLETER_ID, mps);
	if (is_cfg ? mps < 4 : (mps < RPCI_TLP_RCB || mps % RPCI_TLP_RCB != 0)) {
		FUZZ_CHECK(rc == -EINVAL);
		return;
	}
	FUZZ_CHECK(rc == 0);
	lim.max_payload = mps > RPCI_TLP_MAX_PAYLOAD ? RPCI_TLP_MAX_PAYLOAD : mps;
	tags = rpci_tlp_tags_create(1);
	FUZZ_CHECK(tags != NULL);
	FUZZ_CHECK(rpci_tlp_tag_alloc(tags, req, &it) == 0);
	if (is_cfg) {
		off = 0;
		count = 4;
		next = (uint64_t)req->reg * 4;
	} else {
		count = rpci_tlp_byte_range(req, &off);
		next = req->address + off;
	}
	left = count;
	while ((rc = rpci_tlp_cpl_iter_next(&it, &cpl, &src)) == 1) {
		n++;
		FUZZ_CHECK(n <= MAX_CPLS);
		FUZZ_CHECK(cpl.type == RPCI_TLP_CPLD && cpl.status == RPCI_TLP_CPL_SC);
		FUZZ_CHECK(cpl.requester_id == req->requester_id && cpl.tag == req->tag);
		FUZZ_CHECK(cpl.completer_id == COMPLETER_ID);
		FUZZ_CHECK(rpci_tlp_validate(&cpl, &lim, NULL) == 0);
		check_encode_decode(&cpl);
		if (count == 0) {
			/* Zero-length read: one CplD of 1 DW, byte count 1. */
			FUZZ_CHECK(n == 1 && cpl.length_dw == 1 && cpl.byte_count == 1);
			FUZZ_CHECK(cpl.lower_address == (req->address & 0x7f));
			FUZZ_CHECK(src == req->address);
			delivered = 0;
		} else if (is_cfg) {
			FUZZ_CHECK(n == 1 && cpl.length_dw == 1 && cpl.byte_count == 4);
			FUZZ_CHECK(cpl.lower_address == 0 && src == next);
			delivered = 4;
		} else {
			FUZZ_CHECK(cpl.byte_count == left);
			FUZZ_CHECK(cpl.lower_address == (next & 0x7f));
			FUZZ_CHECK(src == (next & ~(uint64_t)3));
			avail = (uint32_t)cpl.length_dw * 4 - (uint32_t)(next & 3);
			delivered = avail < left ? avail : left;
			FUZZ_CHECK(delivered >= 1);
			/* No wholly unused last DW. */
			FUZZ_CHECK(avail - delivered < 4);
			if (delivered < left) {
				FUZZ_CHECK(((next + delivered) & (RPCI_TLP_RCB - 1)) == 0);
			}
			FUZZ_CHECK(next + delivered - (req->address + off) <= count);
		}
		cpl.tag = 0; /* the table's tag for the read */
		rc = rpci_tlp_tag_complete(tags, &cpl, &got_off, &got_len, &skip, &cookie, &done);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(cookie == &it);
		FUZZ_CHECK(got_off == count - left);
		FUZZ_CHECK(got_len == delivered);
		FUZZ_CHECK(skip == (count == 0 || is_cfg ? 0 : (uint32_t)(next & 3)));
		FUZZ_CHECK(skip + got_len <= (uint32_t)cpl.length_dw * 4);
		next += delivered;
		left -= delivered;
		FUZZ_CHECK(done == (left == 0));
	}
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(n >= 1 && left == 0);
	FUZZ_CHECK(rpci_tlp_cpl_iter_next(&it, &cpl, &src) == 0);
	FUZZ_CHECK(tags->in_use == 0);
	rpci_tlp_tags_free(tags);
}

/* Completions without data for a non-posted request, and what the requester makes of them. */
static void
check_cpl_for(const struct rpci_tlp *req)
{
	static const uint8_t statuses[] = { RPCI_TLP_CPL_SC, RPCI_TLP_CPL_UR, RPCI_TLP_CPL_CRS,
					    RPCI_TLP_CPL_CA };
	struct rpci_tlp_tags *tags;
	struct rpci_tlp cpl;
	uint32_t off, len, skip, count;
	void *cookie;
	bool done, fits;
	unsigned int i;
	int rc;

	count = req->type == RPCI_TLP_MRD ? rpci_tlp_byte_range(req, &off) : 0;
	tags = rpci_tlp_tags_create(1);
	FUZZ_CHECK(tags != NULL);
	for (i = 0; i < sizeof(statuses); i++) {
		rpci_tlp_cpl_for(&cpl, req, COMPLETER_ID, statuses[i]);
		FUZZ_CHECK(cpl.type == RPCI_TLP_CPL && cpl.status == statuses[i]);
		FUZZ_CHECK(cpl.requester_id == req->requester_id && cpl.tag == req->tag);
		FUZZ_CHECK(rpci_tlp_validate(&cpl, NULL, NULL) == 0);
		check_encode_decode(&cpl);
		FUZZ_CHECK(rpci_tlp_tag_alloc(tags, req, &cpl) == 0);
		cpl.tag = 0;
		rc = rpci_tlp_tag_complete(tags, &cpl, &off, &len, &skip, &cookie, &done);
		if (statuses[i] != RPCI_TLP_CPL_SC) {
			FUZZ_CHECK(rc == -EIO && done && cookie == &cpl && len == 0);
			FUZZ_CHECK(tags->in_use == 0);
			continue;
		}
		/* A Cpl SC ends a CfgWr or a zero-length read, nothing else. */
		fits = req->type == RPCI_TLP_CFGWR || (req->type == RPCI_TLP_MRD && count == 0);
		if (fits) {
			FUZZ_CHECK(rc == 0 && done && cookie == &cpl && len == 0);
			FUZZ_CHECK(tags->in_use == 0);
		} else {
			FUZZ_CHECK(rc == -EBADMSG && !done && cookie == NULL && len == 0);
			FUZZ_CHECK(tags->in_use == 1);
			FUZZ_CHECK(rpci_tlp_tag_release(tags, 0, &cookie) == 0 && cookie == &cpl);
		}
	}
	rpci_tlp_tags_free(tags);
}

/* One of the input's requests takes a tag of the input's table. */
static void
feed_request(struct rpci_tlp_tags *tags, const struct rpci_tlp *req, uintptr_t id)
{
	uint16_t before = tags->in_use;
	struct rpci_tlp_tag_slot *slot;
	uint32_t off = 0, total;
	int tag;

	tag = rpci_tlp_tag_alloc(tags, req, (void *)id);
	if (before == tags->nb_tags) {
		FUZZ_CHECK(tag == -EBUSY);
		return;
	}
	FUZZ_CHECK(tag >= 0 && tag < tags->nb_tags);
	FUZZ_CHECK(tags->in_use == before + 1);
	slot = &tags->slots[tag];
	switch (req->type) {
	case RPCI_TLP_MRD:
		total = rpci_tlp_byte_range(req, &off);
		FUZZ_CHECK(slot->addr == req->address + off);
		break;
	case RPCI_TLP_CFGRD:
		total = 4;
		FUZZ_CHECK(slot->addr == (uint64_t)req->reg * 4);
		break;
	default:
		total = 0;
		FUZZ_CHECK(slot->addr == (uint64_t)req->reg * 4);
		break;
	}
	FUZZ_CHECK(slot->in_use && slot->type == req->type && slot->cookie == (void *)id);
	FUZZ_CHECK(slot->total == total && slot->remaining == total);
}

static bool
slot_equal(const struct rpci_tlp_tag_slot *a, const struct rpci_tlp_tag_slot *b)
{
	return a->in_use == b->in_use && a->type == b->type && a->total == b->total &&
	       a->remaining == b->remaining && a->addr == b->addr && a->cookie == b->cookie;
}

/* One of the input's completions goes to the input's table. */
static void
feed_completion(struct rpci_tlp_tags *tags, const struct rpci_tlp *cpl)
{
	struct rpci_tlp_tag_slot snap[INPUT_TAGS], was;
	uint16_t before = tags->in_use;
	uint32_t off = 1, len = 1, skip = 1;
	void *cookie = &snap;
	bool done = true;
	unsigned int i;
	int rc;

	memcpy(snap, tags->slots, sizeof(snap));
	rc = rpci_tlp_tag_complete(tags, cpl, &off, &len, &skip, &cookie, &done);
	FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -ENOENT || rc == -EBADMSG);
	if (cpl->tag >= INPUT_TAGS || !snap[cpl->tag].in_use) {
		FUZZ_CHECK(rc == -ENOENT);
	}
	/* Slots other than the completion's never change. */
	for (i = 0; i < INPUT_TAGS; i++) {
		if (i != cpl->tag || rc == -ENOENT || rc == -EBADMSG) {
			FUZZ_CHECK(slot_equal(&tags->slots[i], &snap[i]));
		}
	}
	if (rc == -ENOENT || rc == -EBADMSG) {
		FUZZ_CHECK(off == 0 && len == 0 && skip == 0 && cookie == NULL && !done);
		FUZZ_CHECK(tags->in_use == before);
		return;
	}
	was = snap[cpl->tag];
	FUZZ_CHECK(cookie == was.cookie);
	FUZZ_CHECK(off == was.total - was.remaining);
	if (rc == -EIO) {
		FUZZ_CHECK(cpl->status != RPCI_TLP_CPL_SC);
		FUZZ_CHECK(done && len == 0 && !tags->slots[cpl->tag].in_use);
		FUZZ_CHECK(tags->in_use == before - 1);
		return;
	}
	FUZZ_CHECK(cpl->status == RPCI_TLP_CPL_SC);
	FUZZ_CHECK(len <= was.remaining);
	if (cpl->type == RPCI_TLP_CPL) {
		FUZZ_CHECK(len == 0 && skip == 0);
	} else {
		FUZZ_CHECK(skip < 4 && skip + len <= (uint32_t)cpl->length_dw * 4);
	}
	if (was.type == RPCI_TLP_CFGRD) {
		FUZZ_CHECK(len == 4 && done);
	}
	if (done) {
		FUZZ_CHECK(len == was.remaining && !tags->slots[cpl->tag].in_use);
		FUZZ_CHECK(tags->in_use == before - 1);
	} else {
		/* A partial completion delivers something. */
		FUZZ_CHECK(len >= 1 && tags->slots[cpl->tag].in_use);
		FUZZ_CHECK(tags->slots[cpl->tag].remaining == was.remaining - len);
		FUZZ_CHECK(tags->in_use == before);
	}
}

/* Whatever is left in the input's table is given back. */
static void
release_all(struct rpci_tlp_tags *tags)
{
	void *cookie;
	uint16_t tag;

	for (tag = 0; tag < tags->nb_tags; tag++) {
		if (tags->slots[tag].in_use) {
			cookie = NULL;
			FUZZ_CHECK(rpci_tlp_tag_release(tags, tag, &cookie) == 0);
			FUZZ_CHECK(cookie != NULL);
		}
		FUZZ_CHECK(rpci_tlp_tag_release(tags, tag, NULL) == -ENOENT);
	}
	FUZZ_CHECK(tags->in_use == 0);
}

/*
 * Reference decoder, written from doc/protocol-tlp.md alone (header layouts,
 * reserved bytes, the rules in their order, the decode steps): what
 * rpci_tlp_decode() must return for the bytes at p. Returns the message
 * length or the negative errno of the first broken rule.
 */
static uint32_t
ref_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool
ref_zero(const uint8_t *p, size_t from, size_t to)
{
	size_t i;

	for (i = from; i <= to; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static uint32_t
ref_limit(uint32_t v)
{
	return (v == 0 || v > 4096) ? 4096 : v;
}

static int
ref_mem_rules(const uint8_t *p, uint32_t mps, uint32_t mrrs)
{
	uint8_t fbe = p[2] & 0xf, lbe = p[2] >> 4;
	uint32_t len = ((uint32_t)p[4] << 8 | p[5]) * 4;
	uint64_t addr = (uint64_t)ref_be32(p + 12) << 32 | ref_be32(p + 16);

	if ((addr & 3) != 0 || len == 0) {
		return -EINVAL;
	}
	if ((p[0] == RPCI_TLP_MRD && len > mrrs) || (p[0] == RPCI_TLP_MWR && len > mps)) {
		return -E2BIG;
	}
	if ((addr % 4096) + len > 4096) {
		return -EINVAL;
	}
	if (len == 4) {
		return lbe == 0 ? 0 : -EINVAL;
	}
	if (fbe == 0 || lbe == 0) {
		return -EINVAL;
	}
	if (len == 8 && addr % 8 == 0) {
		return 0;
	}
	if ((fbe != 0xf && fbe != 0xe && fbe != 0xc && fbe != 0x8) ||
	    (lbe != 0x1 && lbe != 0x3 && lbe != 0x7 && lbe != 0xf)) {
		return -EINVAL;
	}
	return 0;
}

static int
ref_cpl_rules(const uint8_t *p, uint32_t mps)
{
	uint32_t len_dw = (uint32_t)p[4] << 8 | p[5];
	uint32_t bc = ref_be32(p + 12);
	uint8_t st = p[1];

	if (st != 0 && st != 1 && st != 2 && st != 4) {
		return -EINVAL;
	}
	if (p[0] == RPCI_TLP_CPL && len_dw != 0) {
		return -EINVAL;
	}
	if (p[0] == RPCI_TLP_CPLD) {
		if (st != 0 || len_dw == 0) {
			return -EINVAL;
		}
		if (len_dw * 4 > mps) {
			return -E2BIG;
		}
	}
	if (bc < 1 || bc > 4096) {
		return -EINVAL;
	}
	if (p[0] == RPCI_TLP_CPLD && (uint32_t)(p[16] & 3) + bc <= (len_dw - 1) * 4) {
		return -EINVAL;
	}
	return 0;
}

static int
ref_decode(const uint8_t *p, size_t size, const struct rpci_tlp_limits *lim)
{
	uint32_t mps = lim != NULL ? ref_limit(lim->max_payload) : 4096;
	uint32_t mrrs = lim != NULL ? ref_limit(lim->max_read_req) : 4096;
	uint32_t len_dw, payload = 0;
	size_t hdr;
	int rc;

	if (size == 0) {
		return -EMSGSIZE;
	}
	switch (p[0]) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_MWR:
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		hdr = 24;
		break;
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
	case RPCI_TLP_MSG:
		hdr = 16;
		break;
	default:
		return -EPROTO;
	}
	if (size < hdr) {
		return -EMSGSIZE;
	}
	len_dw = (uint32_t)p[4] << 8 | p[5];
	switch (p[0]) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_MWR:
		if (p[1] != 0 || p[3] != 0 || !ref_zero(p, 10, 11) || !ref_zero(p, 20, 23)) {
			return -EINVAL;
		}
		rc = ref_mem_rules(p, mps, mrrs);
		payload = p[0] == RPCI_TLP_MWR ? len_dw * 4 : 0;
		break;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		if (!ref_zero(p, 2, 3) || (p[16] & 0x80) != 0 || !ref_zero(p, 17, 23)) {
			return -EINVAL;
		}
		rc = ref_cpl_rules(p, mps);
		payload = p[0] == RPCI_TLP_CPLD ? len_dw * 4 : 0;
		break;
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		if (p[1] != 0 || p[3] != 0 || !ref_zero(p, 14, 15)) {
			return -EINVAL;
		}
		rc = ((p[2] >> 4) != 0 || len_dw != 1 || ((uint32_t)p[12] << 8 | p[13]) >= 1024) ?
			     -EINVAL : 0;
		payload = p[0] == RPCI_TLP_CFGWR ? 4 : 0;
		break;
	default:
		if (!ref_zero(p, 2, 3) || !ref_zero(p, 10, 11)) {
			return -EINVAL;
		}
		if (p[1] != RPCI_TLP_MSG_MSI && p[1] != RPCI_TLP_MSG_VENDOR) {
			rc = -EPROTO;
		} else if (p[1] == RPCI_TLP_MSG_MSI) {
			rc = len_dw != 0 ? -EINVAL : 0;
		} else {
			rc = len_dw * 4 > mps ? -E2BIG : 0;
		}
		payload = len_dw * 4;
		break;
	}
	if (rc != 0) {
		return rc;
	}
	if (size - hdr < payload) {
		return -EMSGSIZE;
	}
	return (int)(hdr + payload);
}

/* The position at data must decode under every receiver's limits as validate() says. */
static void
check_limits(const uint8_t *data, size_t size, int rc, const struct rpci_tlp *t)
{
	const char *why;
	struct rpci_tlp tl;
	unsigned int i;
	int rc_l, vr;

	FUZZ_CHECK(rc == ref_decode(data, size, NULL));
	/* The header alone decodes as the whole does, up to the payload. */
	why = "unset";
	rc_l = rpci_tlp_decode_hdr(data, size, NULL, &tl, &why);
	if (rc >= 0) {
		FUZZ_CHECK(rc_l == (int)rpci_tlp_hdr_len(data[0]) && why == NULL);
		FUZZ_CHECK(tl.payload == NULL && rc == rc_l + (int)rpci_tlp_payload_len(&tl));
	} else if (rc_l >= 0) {
		/* only the payload can be what is missing */
		FUZZ_CHECK(rc == -EMSGSIZE && size - (size_t)rc_l < rpci_tlp_payload_len(&tl));
	} else {
		FUZZ_CHECK(rc_l == rc && why != NULL);
	}
	for (i = 0; i < sizeof(g_limits) / sizeof(g_limits[0]); i++) {
		why = "unset";
		rc_l = rpci_tlp_decode(data, size, &g_limits[i], &tl, &why);
		FUZZ_CHECK(rc_l == ref_decode(data, size, &g_limits[i]));
		if (rc < 0) {
			/* Limits are never wider than the maximums. */
			FUZZ_CHECK(decode_error(rc_l) && why != NULL);
			continue;
		}
		vr = rpci_tlp_validate(t, &g_limits[i], NULL);
		if (vr != 0) {
			FUZZ_CHECK(rc_l == vr && why != NULL);
		} else {
			FUZZ_CHECK(rc_l == rc && why == NULL);
			FUZZ_CHECK(tlp_equal(&tl, t) && tl.payload == t->payload);
		}
	}
}

/* The expensive checks of one decoded message. */
static void
check_message(const struct rpci_tlp *t, const uint8_t *raw)
{
	unsigned int i;

	check_roundtrip(t, raw);
	switch (t->type) {
	case RPCI_TLP_MRD:
		check_byte_range(t);
		check_chunks(t);
		check_cpl_for(t);
		for (i = 0; i < sizeof(g_cpl_mps) / sizeof(g_cpl_mps[0]); i++) {
			check_cpl_iter(t, g_cpl_mps[i]);
		}
		break;
	case RPCI_TLP_MWR:
		check_byte_range(t);
		check_chunks(t);
		break;
	case RPCI_TLP_CFGRD:
		check_cpl_for(t);
		for (i = 0; i < sizeof(g_cpl_mps) / sizeof(g_cpl_mps[0]); i++) {
			check_cpl_iter(t, g_cpl_mps[i]);
		}
		break;
	case RPCI_TLP_CFGWR:
		check_cpl_for(t);
		break;
	default:
		break;
	}
}

static uint64_t
get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

/*
 * The sender's side: the first bytes of the input as a byte range
 * (address, length) and a tag. rpci_tlp_set_byte_range() must refuse it
 * exactly when it is too long or crosses a 4 KiB boundary; otherwise the
 * MRd and MWr it makes must be valid and go through every check above.
 */
static void
check_built(const uint8_t *data, size_t size)
{
	struct rpci_tlp t;
	uint64_t addr;
	uint32_t len, off, count;
	int rc, want;

	if (size < 12) {
		return;
	}
	addr = get_le64(data);
	len = ((uint32_t)data[8] | ((uint32_t)data[9] << 8)) % (RPCI_TLP_MAX_PAYLOAD + 2);
	if (len > RPCI_TLP_MAX_PAYLOAD) {
		want = -E2BIG;
	} else if ((addr & (RPCI_TLP_BOUNDARY - 1)) + len > RPCI_TLP_BOUNDARY) {
		want = -EINVAL;
	} else {
		want = 0;
	}
	memset(&t, 0, sizeof(t));
	t.type = RPCI_TLP_MRD;
	t.requester_id = 0x0100;
	t.tag = (uint16_t)(data[10] | (data[11] << 8));
	rc = rpci_tlp_set_byte_range(&t, addr, len);
	FUZZ_CHECK(rc == want);
	if (rc != 0) {
		return;
	}
	count = rpci_tlp_byte_range(&t, &off);
	FUZZ_CHECK(count == len && t.address + off == (len != 0 ? addr : (addr & ~(uint64_t)3)));
	check_encode_decode(&t);
	check_message(&t, g_buf);
	t.type = RPCI_TLP_MWR;
	check_encode_decode(&t);
	check_message(&t, g_buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpci_tlp_tags *tags;
	struct rpci_tlp t, shorter;
	const char *why;
	size_t off = 0, hdr_len;
	unsigned int n = 0;
	int rc;

	tags = rpci_tlp_tags_create(INPUT_TAGS);
	FUZZ_CHECK(tags != NULL);
	for (;;) {
		why = "unset";
		rc = rpci_tlp_decode(data + off, size - off, NULL, &t, &why);
		check_limits(data + off, size - off, rc, &t);
		if (rc < 0) {
			FUZZ_CHECK(decode_error(rc) && why != NULL);
			if (off == size) {
				FUZZ_CHECK(rc == -EMSGSIZE);
			}
			break;
		}
		hdr_len = rpci_tlp_hdr_len(t.type);
		FUZZ_CHECK(why == NULL);
		FUZZ_CHECK(hdr_len != 0 && (size_t)rc == hdr_len + rpci_tlp_payload_len(&t));
		FUZZ_CHECK((size_t)rc <= size - off);
		FUZZ_CHECK(t.payload == (rpci_tlp_payload_len(&t) != 0 ? data + off + hdr_len :
					 NULL));
		/* One byte short is always a truncation. */
		FUZZ_CHECK(rpci_tlp_decode(data + off, (size_t)rc - 1, NULL, &shorter, NULL) ==
			   -EMSGSIZE);
		if (n < MAX_CHECKED) {
			check_message(&t, data + off);
		}
		if (t.type == RPCI_TLP_MRD || t.type == RPCI_TLP_CFGRD ||
		    t.type == RPCI_TLP_CFGWR) {
			feed_request(tags, &t, (uintptr_t)n + 1);
		} else if (t.type == RPCI_TLP_CPL || t.type == RPCI_TLP_CPLD) {
			feed_completion(tags, &t);
		}
		n++;
		off += (size_t)rc;
	}
	release_all(tags);
	rpci_tlp_tags_free(tags);
	check_built(data, size);
	return 0;
}
