/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * TLP-like wire messages: encode, decode, validation, byte ranges, read
 * completion splitting and requester-side tag matching.
 *
 * Pure C, no DPDK, no allocation on the encode/decode path. The byte
 * layouts and rules are in doc/protocol-tlp.md.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpci_tlp.h"

/* Largest number of tags a table may have. */
#define TLP_MAX_TAGS 1024

/* Why strings (static, returned through the why pointers). */
static const char g_why_no_msg[] = "no message";
static const char g_why_unknown_type[] = "unknown type";
static const char g_why_unknown_code[] = "unknown message code";
static const char g_why_trunc_hdr[] = "truncated header";
static const char g_why_trunc_payload[] = "truncated payload";
static const char g_why_reserved[] = "reserved field not zero";
static const char g_why_unused[] = "field unused by type not zero";
static const char g_why_align[] = "address not DW aligned";
static const char g_why_zero_len[] = "zero length";
static const char g_why_over_mps[] = "length over max payload";
static const char g_why_over_mrrs[] = "length over max read request";
static const char g_why_boundary[] = "crosses 4 KiB boundary";
static const char g_why_be[] = "bad byte enables";
static const char g_why_status[] = "bad completion status";
static const char g_why_cpl_data[] = "Cpl with data";
static const char g_why_cpld_nodata[] = "CplD without data";
static const char g_why_cpld_status[] = "CplD with error status";
static const char g_why_byte_count[] = "bad byte count";
static const char g_why_lower_addr[] = "lower address over 0x7f";
static const char g_why_bc_data[] = "byte count under completion data";
static const char g_why_cfg_len[] = "config length not 1 DW";
static const char g_why_cfg_reg[] = "config register out of range";
static const char g_why_msi_payload[] = "MSI with payload";

/* Big-endian field access. */

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

/* Whether n bytes from p are all zero. */
static bool
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static inline int
fail(const char **why, const char *reason, int rc)
{
	if (why != NULL) {
		*why = reason;
	}
	return rc;
}

/* A limit in bytes: 0 and anything over the protocol maximum mean the maximum. */
static inline uint32_t
eff_limit(uint32_t v)
{
	if (v == 0 || v > RPCI_TLP_MAX_PAYLOAD) {
		return RPCI_TLP_MAX_PAYLOAD;
	}
	return v;
}

/* Index of the lowest set bit of a non-zero 4 bit mask. */
static inline uint32_t
be_low(uint8_t be)
{
	uint32_t i;

	for (i = 0; i < 4; i++) {
		if (be & (1u << i)) {
			return i;
		}
	}
	return 0;
}

/* One past the index of the highest set bit of a 4 bit mask (0 for 0). */
static inline uint32_t
be_high_end(uint8_t be)
{
	uint32_t i;

	for (i = 4; i > 0; i--) {
		if (be & (1u << (i - 1))) {
			return i;
		}
	}
	return 0;
}

size_t
rpci_tlp_hdr_len(uint8_t type)
{
	switch (type) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_MWR:
		return RPCI_TLP_HDR_MEM_LEN;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		return RPCI_TLP_HDR_CPL_LEN;
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		return RPCI_TLP_HDR_CFG_LEN;
	case RPCI_TLP_MSG:
		return RPCI_TLP_HDR_MSG_LEN;
	default:
		return 0;
	}
}

bool
rpci_tlp_has_payload(uint8_t type)
{
	return type == RPCI_TLP_MWR || type == RPCI_TLP_CPLD || type == RPCI_TLP_CFGWR ||
	       type == RPCI_TLP_MSG;
}

uint32_t
rpci_tlp_payload_len(const struct rpci_tlp *tlp)
{
	if (!rpci_tlp_has_payload(tlp->type)) {
		return 0;
	}
	return (uint32_t)tlp->length_dw * 4;
}

const char *
rpci_tlp_type_name(uint8_t type)
{
	switch (type) {
	case RPCI_TLP_MRD:
		return "MRd";
	case RPCI_TLP_MWR:
		return "MWr";
	case RPCI_TLP_CPL:
		return "Cpl";
	case RPCI_TLP_CPLD:
		return "CplD";
	case RPCI_TLP_CFGRD:
		return "CfgRd";
	case RPCI_TLP_CFGWR:
		return "CfgWr";
	case RPCI_TLP_MSG:
		return "Msg";
	default:
		return "unknown";
	}
}

/*
 * Validation, one function per header format. Each also checks that the
 * struct fields the format does not carry are zero, so that what is encoded
 * decodes to the same struct.
 */

static int
validate_mem(const struct rpci_tlp *tlp, uint32_t max_payload, uint32_t max_read_req,
	     const char **why)
{
	uint32_t len = (uint32_t)tlp->length_dw * 4;
	uint8_t fbe = tlp->first_be;
	uint8_t lbe = tlp->last_be;

	if (tlp->status != 0 || tlp->completer_id != 0 || tlp->byte_count != 0 ||
	    tlp->lower_address != 0 || tlp->msg_code != 0 || tlp->reg != 0 ||
	    tlp->msg_data != 0) {
		return fail(why, g_why_unused, -EINVAL);
	}
	if (fbe > 0xf || lbe > 0xf) {
		return fail(why, g_why_be, -EINVAL);
	}
	if ((tlp->address & 3) != 0) {
		return fail(why, g_why_align, -EINVAL);
	}
	if (tlp->length_dw == 0) {
		return fail(why, g_why_zero_len, -EINVAL);
	}
	if (tlp->type == RPCI_TLP_MRD && len > max_read_req) {
		return fail(why, g_why_over_mrrs, -E2BIG);
	}
	if (tlp->type == RPCI_TLP_MWR && len > max_payload) {
		return fail(why, g_why_over_mps, -E2BIG);
	}
	if ((tlp->address & (RPCI_TLP_BOUNDARY - 1)) + len > RPCI_TLP_BOUNDARY) {
		return fail(why, g_why_boundary, -EINVAL);
	}
	if (tlp->length_dw == 1) {
		/* first_be alone covers the DW; 0 is a zero-length request. */
		if (lbe != 0) {
			return fail(why, g_why_be, -EINVAL);
		}
		return 0;
	}
	if (fbe == 0 || lbe == 0) {
		return fail(why, g_why_be, -EINVAL);
	}
	if (tlp->length_dw == 2 && (tlp->address & 7) == 0) {
		/* QW-aligned 2 DW request: any non-zero enables. */
		return 0;
	}
	if ((fbe != 0xf && fbe != 0xe && fbe != 0xc && fbe != 0x8) ||
	    (lbe != 0x1 && lbe != 0x3 && lbe != 0x7 && lbe != 0xf)) {
		return fail(why, g_why_be, -EINVAL);
	}
	return 0;
}

static int
validate_cpl(const struct rpci_tlp *tlp, uint32_t max_payload, const char **why)
{
	if (tlp->first_be != 0 || tlp->last_be != 0 || tlp->address != 0 ||
	    tlp->msg_code != 0 || tlp->reg != 0 || tlp->msg_data != 0) {
		return fail(why, g_why_unused, -EINVAL);
	}
	if (tlp->status != RPCI_TLP_CPL_SC && tlp->status != RPCI_TLP_CPL_UR &&
	    tlp->status != RPCI_TLP_CPL_CRS && tlp->status != RPCI_TLP_CPL_CA) {
		return fail(why, g_why_status, -EINVAL);
	}
	if (tlp->type == RPCI_TLP_CPL) {
		if (tlp->length_dw != 0) {
			return fail(why, g_why_cpl_data, -EINVAL);
		}
	} else {
		if (tlp->status != RPCI_TLP_CPL_SC) {
			return fail(why, g_why_cpld_status, -EINVAL);
		}
		if (tlp->length_dw == 0) {
			return fail(why, g_why_cpld_nodata, -EINVAL);
		}
		if ((uint32_t)tlp->length_dw * 4 > max_payload) {
			return fail(why, g_why_over_mps, -E2BIG);
		}
	}
	if (tlp->byte_count == 0 || tlp->byte_count > RPCI_TLP_MAX_PAYLOAD) {
		return fail(why, g_why_byte_count, -EINVAL);
	}
	if (tlp->lower_address > 0x7f) {
		return fail(why, g_why_lower_addr, -EINVAL);
	}
	/* No wholly unused last DW: the bytes still due reach into it. */
	if (tlp->type == RPCI_TLP_CPLD &&
	    (uint32_t)(tlp->lower_address & 3) + tlp->byte_count <=
		    ((uint32_t)tlp->length_dw - 1) * 4) {
		return fail(why, g_why_bc_data, -EINVAL);
	}
	return 0;
}

static int
validate_cfg(const struct rpci_tlp *tlp, const char **why)
{
	if (tlp->status != 0 || tlp->address != 0 || tlp->byte_count != 0 ||
	    tlp->lower_address != 0 || tlp->msg_code != 0 || tlp->msg_data != 0) {
		return fail(why, g_why_unused, -EINVAL);
	}
	if (tlp->first_be > 0xf || tlp->last_be != 0) {
		return fail(why, g_why_be, -EINVAL);
	}
	if (tlp->length_dw != 1) {
		return fail(why, g_why_cfg_len, -EINVAL);
	}
	if (tlp->reg >= RPCI_TLP_CFG_REGS) {
		return fail(why, g_why_cfg_reg, -EINVAL);
	}
	return 0;
}

static int
validate_msg(const struct rpci_tlp *tlp, uint32_t max_payload, const char **why)
{
	if (tlp->status != 0 || tlp->first_be != 0 || tlp->last_be != 0 ||
	    tlp->completer_id != 0 || tlp->address != 0 || tlp->byte_count != 0 ||
	    tlp->lower_address != 0 || tlp->reg != 0) {
		return fail(why, g_why_unused, -EINVAL);
	}
	switch (tlp->msg_code) {
	case RPCI_TLP_MSG_MSI:
		if (tlp->length_dw != 0) {
			return fail(why, g_why_msi_payload, -EINVAL);
		}
		return 0;
	case RPCI_TLP_MSG_VENDOR:
		if ((uint32_t)tlp->length_dw * 4 > max_payload) {
			return fail(why, g_why_over_mps, -E2BIG);
		}
		return 0;
	default:
		return fail(why, g_why_unknown_code, -EPROTO);
	}
}

int
rpci_tlp_validate(const struct rpci_tlp *tlp, const struct rpci_tlp_limits *limits,
		  const char **why)
{
	uint32_t max_payload = RPCI_TLP_MAX_PAYLOAD;
	uint32_t max_read_req = RPCI_TLP_MAX_PAYLOAD;
	int rc;

	if (tlp == NULL) {
		return fail(why, g_why_no_msg, -EINVAL);
	}
	if (limits != NULL) {
		max_payload = eff_limit(limits->max_payload);
		max_read_req = eff_limit(limits->max_read_req);
	}
	switch (tlp->type) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_MWR:
		rc = validate_mem(tlp, max_payload, max_read_req, why);
		break;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		rc = validate_cpl(tlp, max_payload, why);
		break;
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		rc = validate_cfg(tlp, why);
		break;
	case RPCI_TLP_MSG:
		rc = validate_msg(tlp, max_payload, why);
		break;
	default:
		rc = fail(why, g_why_unknown_type, -EPROTO);
		break;
	}
	if (rc == 0 && why != NULL) {
		*why = NULL;
	}
	return rc;
}

int
rpci_tlp_encode(const struct rpci_tlp *tlp, void *buf, size_t size)
{
	uint8_t *p = buf;
	size_t hdr_len;
	int rc;

	rc = rpci_tlp_validate(tlp, NULL, NULL);
	if (rc != 0) {
		return rc;
	}
	hdr_len = rpci_tlp_hdr_len(tlp->type);
	if (buf == NULL || size < hdr_len) {
		return -ENOSPC;
	}
	memset(p, 0, hdr_len);
	p[0] = tlp->type;
	switch (tlp->type) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_MWR:
		p[2] = (uint8_t)(tlp->first_be | (tlp->last_be << 4));
		put_be16(p + 4, tlp->length_dw);
		put_be16(p + 6, tlp->requester_id);
		put_be16(p + 8, tlp->tag);
		put_be64(p + 12, tlp->address);
		break;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		p[1] = tlp->status;
		put_be16(p + 4, tlp->length_dw);
		put_be16(p + 6, tlp->requester_id);
		put_be16(p + 8, tlp->tag);
		put_be16(p + 10, tlp->completer_id);
		put_be32(p + 12, tlp->byte_count);
		p[16] = tlp->lower_address;
		break;
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		p[2] = tlp->first_be;
		put_be16(p + 4, tlp->length_dw);
		put_be16(p + 6, tlp->requester_id);
		put_be16(p + 8, tlp->tag);
		put_be16(p + 10, tlp->completer_id);
		put_be16(p + 12, tlp->reg);
		break;
	default: /* RPCI_TLP_MSG, the only type left after validation */
		p[1] = tlp->msg_code;
		put_be16(p + 4, tlp->length_dw);
		put_be16(p + 6, tlp->requester_id);
		put_be16(p + 8, tlp->tag);
		put_be32(p + 12, tlp->msg_data);
		break;
	}
	return (int)hdr_len;
}

/* Parse a header whose length was checked; fails only on reserved bits. */
static int
parse_hdr(const uint8_t *p, struct rpci_tlp *tlp)
{
	memset(tlp, 0, sizeof(*tlp));
	tlp->type = p[0];
	switch (tlp->type) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_MWR:
		if (p[1] != 0 || p[3] != 0 || !all_zero(p + 10, 2) || !all_zero(p + 20, 4)) {
			return -EINVAL;
		}
		tlp->first_be = p[2] & 0xf;
		tlp->last_be = p[2] >> 4;
		tlp->address = get_be64(p + 12);
		break;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		if (!all_zero(p + 2, 2) || (p[16] & 0x80) != 0 || !all_zero(p + 17, 7)) {
			return -EINVAL;
		}
		tlp->status = p[1];
		tlp->completer_id = get_be16(p + 10);
		tlp->byte_count = get_be32(p + 12);
		tlp->lower_address = p[16];
		break;
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		if (p[1] != 0 || p[3] != 0 || !all_zero(p + 14, 2)) {
			return -EINVAL;
		}
		/* last_be is a field (checked to be 0 by validation), not reserved. */
		tlp->first_be = p[2] & 0xf;
		tlp->last_be = p[2] >> 4;
		tlp->completer_id = get_be16(p + 10);
		tlp->reg = get_be16(p + 12);
		break;
	default: /* RPCI_TLP_MSG */
		if (!all_zero(p + 2, 2) || !all_zero(p + 10, 2)) {
			return -EINVAL;
		}
		tlp->msg_code = p[1];
		tlp->msg_data = get_be32(p + 12);
		break;
	}
	tlp->length_dw = get_be16(p + 4);
	tlp->requester_id = get_be16(p + 6);
	tlp->tag = get_be16(p + 8);
	return 0;
}

int
rpci_tlp_decode_hdr(const void *buf, size_t size, const struct rpci_tlp_limits *limits,
		    struct rpci_tlp *tlp, const char **why)
{
	const uint8_t *p = buf;
	size_t hdr_len;
	int rc;

	if (buf == NULL || size < 1) {
		return fail(why, g_why_trunc_hdr, -EMSGSIZE);
	}
	hdr_len = rpci_tlp_hdr_len(p[0]);
	if (hdr_len == 0) {
		return fail(why, g_why_unknown_type, -EPROTO);
	}
	if (size < hdr_len) {
		return fail(why, g_why_trunc_hdr, -EMSGSIZE);
	}
	if (parse_hdr(p, tlp) != 0) {
		return fail(why, g_why_reserved, -EINVAL);
	}
	rc = rpci_tlp_validate(tlp, limits, why);
	if (rc != 0) {
		return rc;
	}
	tlp->payload = NULL;
	return (int)hdr_len;
}

int
rpci_tlp_decode(const void *buf, size_t size, const struct rpci_tlp_limits *limits,
		struct rpci_tlp *tlp, const char **why)
{
	const uint8_t *p = buf;
	uint32_t payload_len;
	int hdr_len;

	hdr_len = rpci_tlp_decode_hdr(buf, size, limits, tlp, why);
	if (hdr_len < 0) {
		return hdr_len;
	}
	payload_len = rpci_tlp_payload_len(tlp);
	if (size - (size_t)hdr_len < payload_len) {
		return fail(why, g_why_trunc_payload, -EMSGSIZE);
	}
	tlp->payload = payload_len != 0 ? p + hdr_len : NULL;
	return hdr_len + (int)payload_len;
}

int
rpci_tlp_set_byte_range(struct rpci_tlp *tlp, uint64_t addr, uint32_t len)
{
	uint32_t off = (uint32_t)(addr & 3);
	uint32_t span, last_end;

	if (len > RPCI_TLP_MAX_PAYLOAD) {
		return -E2BIG;
	}
	if ((addr & (RPCI_TLP_BOUNDARY - 1)) + len > RPCI_TLP_BOUNDARY) {
		return -EINVAL;
	}
	tlp->address = addr & ~(uint64_t)3;
	if (len == 0) {
		tlp->length_dw = 1;
		tlp->first_be = 0;
		tlp->last_be = 0;
		return 0;
	}
	span = off + len;
	tlp->length_dw = (uint16_t)((span + 3) / 4);
	if (tlp->length_dw == 1) {
		tlp->first_be = (uint8_t)((0xfu << off) & ((1u << span) - 1));
		tlp->last_be = 0;
		return 0;
	}
	last_end = span - ((uint32_t)tlp->length_dw - 1) * 4; /* 1..4 */
	tlp->first_be = (uint8_t)((0xfu << off) & 0xf);
	tlp->last_be = (uint8_t)((1u << last_end) - 1);
	return 0;
}

uint32_t
rpci_tlp_byte_range(const struct rpci_tlp *tlp, uint32_t *first_offset)
{
	uint8_t fbe = tlp->first_be & 0xf;
	uint8_t lbe = tlp->last_be & 0xf;
	uint32_t off, end;

	if (tlp->length_dw <= 1) {
		if (fbe == 0) {
			off = 0;
			end = 0;
		} else {
			off = be_low(fbe);
			end = be_high_end(fbe);
		}
	} else {
		off = be_low(fbe);
		end = ((uint32_t)tlp->length_dw - 1) * 4 + be_high_end(lbe);
		if (end < off) {
			end = off; /* invalid enables: empty range rather than garbage */
		}
	}
	if (first_offset != NULL) {
		*first_offset = off;
	}
	return end - off;
}

uint32_t
rpci_tlp_chunk_len(uint64_t addr, uint64_t remaining, uint32_t max_payload)
{
	uint32_t mps = max_payload;
	uint32_t chunk;

	if (remaining == 0) {
		return 0;
	}
	if (mps == 0 || mps > RPCI_TLP_MAX_PAYLOAD) {
		mps = RPCI_TLP_MAX_PAYLOAD;
	}
	mps &= ~3u;
	if (mps < 4) {
		mps = 4;
	}
	/* The partial first DW counts against max_payload: keep the DW span in it. */
	chunk = mps - (uint32_t)(addr & 3);
	if (chunk > RPCI_TLP_BOUNDARY - (addr & (RPCI_TLP_BOUNDARY - 1))) {
		chunk = (uint32_t)(RPCI_TLP_BOUNDARY - (addr & (RPCI_TLP_BOUNDARY - 1)));
	}
	if (remaining < chunk) {
		chunk = (uint32_t)remaining;
	}
	return chunk;
}

/*
 * Completion iterator. it->cpl is the template of every completion. When
 * it->cpl.length_dw is not zero the template is a whole prepared completion
 * (CfgRd, zero-length MRd) still to be produced, its data at it->next_addr;
 * otherwise the MRd is split from it->next_addr over it->remaining bytes.
 */

int
rpci_tlp_cpl_iter_init(struct rpci_tlp_cpl_iter *it, const struct rpci_tlp *mrd,
		       uint16_t completer_id, uint32_t max_payload)
{
	uint32_t off, count;

	if (it == NULL || mrd == NULL) {
		return -EINVAL;
	}
	if (mrd->type != RPCI_TLP_MRD && mrd->type != RPCI_TLP_CFGRD) {
		return -EINVAL;
	}
	if (rpci_tlp_validate(mrd, NULL, NULL) != 0) {
		return -EINVAL;
	}
	if (mrd->type == RPCI_TLP_MRD &&
	    (max_payload < RPCI_TLP_RCB || max_payload % RPCI_TLP_RCB != 0)) {
		return -EINVAL;
	}
	if (mrd->type == RPCI_TLP_CFGRD && max_payload < 4) {
		return -EINVAL;
	}
	if (max_payload > RPCI_TLP_MAX_PAYLOAD) {
		max_payload = RPCI_TLP_MAX_PAYLOAD;
	}
	memset(it, 0, sizeof(*it));
	it->cpl.type = RPCI_TLP_CPLD;
	it->cpl.status = RPCI_TLP_CPL_SC;
	it->cpl.requester_id = mrd->requester_id;
	it->cpl.tag = mrd->tag;
	it->cpl.completer_id = completer_id;
	it->max_payload = max_payload;
	if (mrd->type == RPCI_TLP_CFGRD) {
		it->cpl.length_dw = 1;
		it->cpl.byte_count = 4;
		it->cpl.lower_address = 0;
		it->next_addr = (uint64_t)mrd->reg * 4;
		it->remaining = 4;
		return 0;
	}
	count = rpci_tlp_byte_range(mrd, &off);
	if (count == 0) {
		/* Zero-length read: one CplD of 1 DW, byte count 1 (PCIe). */
		it->cpl.length_dw = 1;
		it->cpl.byte_count = 1;
		it->cpl.lower_address = (uint8_t)(mrd->address & 0x7f);
		it->next_addr = mrd->address;
		it->remaining = 0;
		return 0;
	}
	it->next_addr = mrd->address + off;
	it->remaining = count;
	return 0;
}

int
rpci_tlp_cpl_iter_next(struct rpci_tlp_cpl_iter *it, struct rpci_tlp *cpl, uint64_t *src_addr)
{
	uint64_t start = it->next_addr;
	uint32_t off = (uint32_t)(start & 3);
	uint32_t len;

	if (it->cpl.length_dw != 0) {
		*cpl = it->cpl;
		*src_addr = it->next_addr;
		it->cpl.length_dw = 0;
		it->remaining = 0;
		return 1;
	}
	if (it->remaining == 0) {
		return 0;
	}
	if (((off + it->remaining + 3) & ~3u) <= it->max_payload) {
		/* The rest fits: last completion. */
		len = it->remaining;
	} else {
		/*
		 * End on the last RCB multiple whose DW span from the start is
		 * within max_payload: (start & ~63) + max_payload, always past
		 * start since max_payload is a multiple of RCB.
		 */
		len = it->max_payload - (uint32_t)(start & (RPCI_TLP_RCB - 1));
	}
	*cpl = it->cpl;
	cpl->length_dw = (uint16_t)((off + len + 3) / 4);
	cpl->byte_count = it->remaining;
	cpl->lower_address = (uint8_t)(start & 0x7f);
	*src_addr = start & ~(uint64_t)3;
	it->next_addr = start + len;
	it->remaining -= len;
	return 1;
}

void
rpci_tlp_cpl_for(struct rpci_tlp *cpl, const struct rpci_tlp *req, uint16_t completer_id,
		 uint8_t status)
{
	uint32_t off = 0;
	uint32_t count;

	memset(cpl, 0, sizeof(*cpl));
	cpl->type = RPCI_TLP_CPL;
	cpl->status = status;
	cpl->requester_id = req->requester_id;
	cpl->tag = req->tag;
	cpl->completer_id = completer_id;
	switch (req->type) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_MWR:
		count = rpci_tlp_byte_range(req, &off);
		cpl->byte_count = count != 0 ? count : 1;
		cpl->lower_address = (uint8_t)((req->address + off) & 0x7f);
		break;
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		cpl->byte_count = 4;
		break;
	default:
		cpl->byte_count = 1;
		break;
	}
}

struct rpci_tlp_tags *
rpci_tlp_tags_create(uint16_t nb_tags)
{
	struct rpci_tlp_tags *tags;

	if (nb_tags == 0 || nb_tags > TLP_MAX_TAGS) {
		errno = EINVAL;
		return NULL;
	}
	tags = calloc(1, sizeof(*tags));
	if (tags == NULL) {
		goto err_out;
	}
	tags->slots = calloc(nb_tags, sizeof(*tags->slots));
	if (tags->slots == NULL) {
		goto err_free_tags;
	}
	tags->nb_tags = nb_tags;
	return tags;

err_free_tags:
	free(tags);
err_out:
	errno = ENOMEM;
	return NULL;
}

void
rpci_tlp_tags_free(struct rpci_tlp_tags *tags)
{
	if (tags == NULL) {
		return;
	}
	free(tags->slots);
	free(tags);
}

int
rpci_tlp_tag_alloc(struct rpci_tlp_tags *tags, const struct rpci_tlp *req, void *cookie)
{
	struct rpci_tlp_tag_slot *slot;
	uint32_t off = 0;
	uint16_t i, tag = 0;

	if (tags == NULL || req == NULL) {
		return -EINVAL;
	}
	if (req->type != RPCI_TLP_MRD && req->type != RPCI_TLP_CFGRD &&
	    req->type != RPCI_TLP_CFGWR) {
		return -EINVAL;
	}
	if (rpci_tlp_validate(req, NULL, NULL) != 0) {
		return -EINVAL;
	}
	if (tags->in_use >= tags->nb_tags) {
		return -EBUSY;
	}
	for (i = 0; i < tags->nb_tags; i++) {
		tag = (uint16_t)((tags->next + i) % tags->nb_tags);
		if (!tags->slots[tag].in_use) {
			break;
		}
	}
	if (i == tags->nb_tags) {
		return -EBUSY;
	}
	slot = &tags->slots[tag];
	slot->type = req->type;
	slot->cookie = cookie;
	switch (req->type) {
	case RPCI_TLP_MRD:
		slot->total = rpci_tlp_byte_range(req, &off);
		slot->addr = req->address + off;
		break;
	case RPCI_TLP_CFGRD:
		slot->total = 4;
		slot->addr = (uint64_t)req->reg * 4;
		break;
	default: /* RPCI_TLP_CFGWR */
		slot->total = 0;
		slot->addr = (uint64_t)req->reg * 4;
		break;
	}
	slot->remaining = slot->total;
	slot->in_use = true;
	tags->in_use++;
	tags->next = (uint16_t)((tag + 1) % tags->nb_tags);
	return tag;
}

static void
tag_free_slot(struct rpci_tlp_tags *tags, struct rpci_tlp_tag_slot *slot)
{
	slot->in_use = false;
	slot->cookie = NULL;
	tags->in_use--;
}

/* Whether cpl is the expected completion of the slot; sets the delivery. */
static bool
tag_cpl_fits(const struct rpci_tlp_tag_slot *slot, const struct rpci_tlp *cpl, uint32_t *offset,
	     uint32_t *len, uint32_t *skip)
{
	bool cpld = cpl->type == RPCI_TLP_CPLD;
	uint32_t avail;

	*offset = 0;
	*len = 0;
	*skip = 0;
	switch (slot->type) {
	case RPCI_TLP_CFGWR:
		return !cpld;
	case RPCI_TLP_CFGRD:
		if (!cpld || cpl->length_dw != 1 || cpl->byte_count != 4 ||
		    cpl->lower_address != 0) {
			return false;
		}
		*len = 4;
		return true;
	default: /* RPCI_TLP_MRD */
		break;
	}
	if (slot->total == 0) {
		/* Zero-length read: CplD of 1 DW (or a Cpl), byte count 1. */
		return cpl->byte_count == 1 && cpl->lower_address == (slot->addr & 0x7f) &&
		       (!cpld || cpl->length_dw == 1);
	}
	if (!cpld || cpl->byte_count != slot->remaining ||
	    cpl->lower_address != ((slot->addr + (slot->total - slot->remaining)) & 0x7f)) {
		return false;
	}
	*skip = cpl->lower_address & 3;
	avail = (uint32_t)cpl->length_dw * 4 - *skip;
	*len = avail < slot->remaining ? avail : slot->remaining;
	*offset = slot->total - slot->remaining;
	return true;
}

int
rpci_tlp_tag_complete(struct rpci_tlp_tags *tags, const struct rpci_tlp *cpl, uint32_t *offset,
		      uint32_t *len, uint32_t *payload_skip, void **cookie, bool *done)
{
	struct rpci_tlp_tag_slot *slot;
	uint32_t o = 0, l = 0, s = 0;
	void *ck = NULL;
	bool d = false;
	int rc;

	if (tags == NULL || cpl == NULL || cpl->tag >= tags->nb_tags ||
	    !tags->slots[cpl->tag].in_use) {
		rc = -ENOENT;
		goto out;
	}
	slot = &tags->slots[cpl->tag];
	if ((cpl->type != RPCI_TLP_CPL && cpl->type != RPCI_TLP_CPLD) ||
	    rpci_tlp_validate(cpl, NULL, NULL) != 0) {
		rc = -EBADMSG;
		goto out;
	}
	if (cpl->status != RPCI_TLP_CPL_SC) {
		o = slot->total - slot->remaining;
		ck = slot->cookie;
		d = true;
		tag_free_slot(tags, slot);
		rc = -EIO;
		goto out;
	}
	if (!tag_cpl_fits(slot, cpl, &o, &l, &s)) {
		o = 0;
		l = 0;
		s = 0;
		rc = -EBADMSG;
		goto out;
	}
	ck = slot->cookie;
	slot->remaining -= l;
	if (slot->remaining == 0) {
		d = true;
		tag_free_slot(tags, slot);
	}
	rc = 0;
out:
	if (offset != NULL) {
		*offset = o;
	}
	if (len != NULL) {
		*len = l;
	}
	if (payload_skip != NULL) {
		*payload_skip = s;
	}
	if (cookie != NULL) {
		*cookie = ck;
	}
	if (done != NULL) {
		*done = d;
	}
	return rc;
}

int
rpci_tlp_tag_release(struct rpci_tlp_tags *tags, uint16_t tag, void **cookie)
{
	struct rpci_tlp_tag_slot *slot;

	if (tags == NULL || tag >= tags->nb_tags || !tags->slots[tag].in_use) {
		return -ENOENT;
	}
	slot = &tags->slots[tag];
	if (cookie != NULL) {
		*cookie = slot->cookie;
	}
	tag_free_slot(tags, slot);
	return 0;
}
