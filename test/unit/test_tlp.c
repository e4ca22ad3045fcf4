/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/tlp, through its public header only.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "rpci_tlp.h"

#define BUF_LEN (RPCI_TLP_HDR_MAX_LEN + RPCI_TLP_MAX_PAYLOAD)

/* Deterministic generator for the tests (xorshift32), independent of libc rand(). */
static uint32_t g_rng = 0x12345678;

static uint32_t
rng(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 17;
	g_rng ^= g_rng << 5;
	return g_rng;
}

/* Builders of valid messages. */

static struct rpci_tlp
mk_mrd(uint64_t addr, uint32_t len)
{
	struct rpci_tlp t;

	memset(&t, 0, sizeof(t));
	t.type = RPCI_TLP_MRD;
	t.requester_id = 0x0102;
	t.tag = 7;
	CU_ASSERT_FATAL(rpci_tlp_set_byte_range(&t, addr, len) == 0);
	return t;
}

static struct rpci_tlp
mk_mem(uint8_t type, uint64_t address, uint16_t length_dw, uint8_t fbe, uint8_t lbe)
{
	struct rpci_tlp t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	t.address = address;
	t.length_dw = length_dw;
	t.first_be = fbe;
	t.last_be = lbe;
	t.requester_id = 0x0a0b;
	t.tag = 0x1234;
	return t;
}

static struct rpci_tlp
mk_cpld(uint16_t length_dw, uint32_t byte_count, uint8_t lower_address)
{
	struct rpci_tlp t;

	memset(&t, 0, sizeof(t));
	t.type = RPCI_TLP_CPLD;
	t.status = RPCI_TLP_CPL_SC;
	t.length_dw = length_dw;
	t.requester_id = 0x0301;
	t.completer_id = 0x0400;
	t.tag = 3;
	t.byte_count = byte_count;
	t.lower_address = lower_address;
	return t;
}

static struct rpci_tlp
mk_cfg(uint8_t type, uint16_t reg, uint8_t fbe)
{
	struct rpci_tlp t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	t.first_be = fbe;
	t.length_dw = 1;
	t.requester_id = 0x0001;
	t.completer_id = 0x0100;
	t.tag = 9;
	t.reg = reg;
	return t;
}

static struct rpci_tlp
mk_msg(uint8_t code, uint16_t length_dw, uint32_t data)
{
	struct rpci_tlp t;

	memset(&t, 0, sizeof(t));
	t.type = RPCI_TLP_MSG;
	t.msg_code = code;
	t.length_dw = length_dw;
	t.requester_id = 0x0203;
	t.tag = 0;
	t.msg_data = data;
	return t;
}

/* Compare every field but the payload pointer. */
static int
tlp_fields_equal(const struct rpci_tlp *a, const struct rpci_tlp *b)
{
	return a->type == b->type && a->status == b->status && a->first_be == b->first_be &&
	       a->last_be == b->last_be && a->length_dw == b->length_dw &&
	       a->requester_id == b->requester_id && a->completer_id == b->completer_id &&
	       a->tag == b->tag && a->address == b->address && a->byte_count == b->byte_count &&
	       a->lower_address == b->lower_address && a->msg_code == b->msg_code &&
	       a->reg == b->reg && a->msg_data == b->msg_data;
}

/* Encode header and a patterned payload into buf; returns total length. */
static int
encode_full(const struct rpci_tlp *t, uint8_t *buf, size_t size, uint8_t seed)
{
	uint32_t plen = rpci_tlp_payload_len(t);
	uint32_t i;
	int rc;

	rc = rpci_tlp_encode(t, buf, size);
	if (rc < 0) {
		return rc;
	}
	if ((size_t)rc + plen > size) {
		return -ENOSPC;
	}
	for (i = 0; i < plen; i++) {
		buf[rc + i] = (uint8_t)(seed + i * 7);
	}
	return rc + (int)plen;
}

/* Decode status of a buffer. */
static int
dec(const uint8_t *buf, size_t size, const struct rpci_tlp_limits *lim)
{
	struct rpci_tlp t;

	return rpci_tlp_decode(buf, size, lim, &t, NULL);
}

/* All message kinds used by several tests. */
static size_t
sample_msgs(struct rpci_tlp *out)
{
	size_t n = 0;

	out[n++] = mk_mem(RPCI_TLP_MRD, 0x1122334455667000ull, 16, 0xf, 0xf);
	out[n++] = mk_mem(RPCI_TLP_MRD, 0x1000, 1, 0x0, 0x0);
	out[n++] = mk_mem(RPCI_TLP_MRD, 0xfffffffffffff000ull, 1024, 0xf, 0xf);
	out[n++] = mk_mem(RPCI_TLP_MWR, 0xabcd0004ull, 3, 0xe, 0x3);
	out[n++] = mk_mem(RPCI_TLP_MWR, 0x8, 2, 0x5, 0xa);
	out[n++] = mk_mem(RPCI_TLP_MWR, 0x4, 1, 0x6, 0x0);
	out[n] = mk_cpld(0, 12, 0x44);
	out[n].type = RPCI_TLP_CPL;
	out[n].status = RPCI_TLP_CPL_UR;
	n++;
	out[n] = mk_cpld(0, 4, 0);
	out[n].type = RPCI_TLP_CPL;
	n++;
	out[n] = mk_cpld(0, 4096, 0x7f);
	out[n].type = RPCI_TLP_CPL;
	out[n].status = RPCI_TLP_CPL_CA;
	n++;
	out[n] = mk_cpld(0, 1, 0);
	out[n].type = RPCI_TLP_CPL;
	out[n].status = RPCI_TLP_CPL_CRS;
	n++;
	out[n++] = mk_cpld(16, 64, 0x40);
	out[n++] = mk_cpld(2, 5, 0x7e);
	out[n++] = mk_cpld(1024, 4096, 0);
	out[n++] = mk_cfg(RPCI_TLP_CFGRD, 0, 0xf);
	out[n++] = mk_cfg(RPCI_TLP_CFGRD, 1023, 0x0);
	out[n++] = mk_cfg(RPCI_TLP_CFGWR, 0x3ff, 0x3);
	out[n++] = mk_msg(RPCI_TLP_MSG_MSI, 0, 0xdeadbeef);
	out[n++] = mk_msg(RPCI_TLP_MSG_VENDOR, 0, 1);
	out[n++] = mk_msg(RPCI_TLP_MSG_VENDOR, 5, 0x80000001u);
	return n;
}

/*
 * Basics
 */

static void
test_hdr_len_and_names(void)
{
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(RPCI_TLP_MRD), 24);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(RPCI_TLP_MWR), 24);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(RPCI_TLP_CPL), 24);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(RPCI_TLP_CPLD), 24);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(RPCI_TLP_CFGRD), 16);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(RPCI_TLP_CFGWR), 16);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(RPCI_TLP_MSG), 16);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(0), 0);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(8), 0);
	CU_ASSERT_EQUAL(rpci_tlp_hdr_len(0xff), 0);

	CU_ASSERT_FALSE(rpci_tlp_has_payload(RPCI_TLP_MRD));
	CU_ASSERT_TRUE(rpci_tlp_has_payload(RPCI_TLP_MWR));
	CU_ASSERT_FALSE(rpci_tlp_has_payload(RPCI_TLP_CPL));
	CU_ASSERT_TRUE(rpci_tlp_has_payload(RPCI_TLP_CPLD));
	CU_ASSERT_FALSE(rpci_tlp_has_payload(RPCI_TLP_CFGRD));
	CU_ASSERT_TRUE(rpci_tlp_has_payload(RPCI_TLP_CFGWR));
	CU_ASSERT_TRUE(rpci_tlp_has_payload(RPCI_TLP_MSG));
	CU_ASSERT_FALSE(rpci_tlp_has_payload(0x42));

	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(RPCI_TLP_MRD), "MRd");
	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(RPCI_TLP_MWR), "MWr");
	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(RPCI_TLP_CPL), "Cpl");
	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(RPCI_TLP_CPLD), "CplD");
	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(RPCI_TLP_CFGRD), "CfgRd");
	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(RPCI_TLP_CFGWR), "CfgWr");
	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(RPCI_TLP_MSG), "Msg");
	CU_ASSERT_STRING_EQUAL(rpci_tlp_type_name(0x99), "unknown");
}

static void
test_payload_len(void)
{
	struct rpci_tlp t;

	t = mk_mem(RPCI_TLP_MRD, 0, 8, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_payload_len(&t), 0);
	t.type = RPCI_TLP_MWR;
	CU_ASSERT_EQUAL(rpci_tlp_payload_len(&t), 32);
	t = mk_cfg(RPCI_TLP_CFGRD, 1, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_payload_len(&t), 0);
	t.type = RPCI_TLP_CFGWR;
	CU_ASSERT_EQUAL(rpci_tlp_payload_len(&t), 4);
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 3);
	CU_ASSERT_EQUAL(rpci_tlp_payload_len(&t), 0);
	t = mk_cpld(3, 12, 0);
	CU_ASSERT_EQUAL(rpci_tlp_payload_len(&t), 12);
}

/* Golden bytes: the big-endian layouts of doc/protocol-tlp.md. */
static void
test_wire_layout(void)
{
	static const uint8_t mrd_bytes[24] = {
		0x01, 0, 0x3e, 0, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 0, 0,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x04, 0, 0, 0, 0,
	};
	static const uint8_t cpl_bytes[24] = {
		0x04, 0, 0, 0, 0x00, 0x02, 0xaa, 0xbb, 0x00, 0x11, 0xcc, 0xdd,
		0x00, 0x00, 0x00, 0x05, 0x7e, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t cfg_bytes[16] = {
		0x06, 0, 0x0c, 0, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04,
		0x03, 0xff, 0, 0,
	};
	static const uint8_t msg_bytes[16] = {
		0x07, 0x01, 0, 0, 0x00, 0x00, 0x00, 0x05, 0x00, 0x06, 0, 0,
		0x89, 0xab, 0xcd, 0xef,
	};
	uint8_t buf[32];
	struct rpci_tlp t;

	t = mk_mem(RPCI_TLP_MRD, 0x0102030405060704ull, 3, 0xe, 0x3);
	t.requester_id = 0x1234;
	t.tag = 0x5678;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	CU_ASSERT_EQUAL(memcmp(buf, mrd_bytes, 24), 0);

	t = mk_cpld(2, 5, 0x7e);
	t.requester_id = 0xaabb;
	t.tag = 0x11;
	t.completer_id = 0xccdd;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	CU_ASSERT_EQUAL(memcmp(buf, cpl_bytes, 24), 0);

	t = mk_cfg(RPCI_TLP_CFGWR, 0x3ff, 0xc);
	t.requester_id = 2;
	t.tag = 3;
	t.completer_id = 4;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 16);
	CU_ASSERT_EQUAL(memcmp(buf, cfg_bytes, 16), 0);

	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 0x89abcdef);
	t.requester_id = 5;
	t.tag = 6;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 16);
	CU_ASSERT_EQUAL(memcmp(buf, msg_bytes, 16), 0);
}

/*
 * Encode / decode
 */

static void
test_roundtrip_all_types(void)
{
	static uint8_t buf[BUF_LEN];
	struct rpci_tlp msgs[32], out;
	const char *why;
	size_t n, i;
	uint32_t plen;
	int len, rc;

	n = sample_msgs(msgs);
	for (i = 0; i < n; i++) {
		why = "unset";
		CU_ASSERT_EQUAL(rpci_tlp_validate(&msgs[i], NULL, &why), 0);
		CU_ASSERT_PTR_NULL(why);
		len = encode_full(&msgs[i], buf, sizeof(buf), (uint8_t)i);
		plen = rpci_tlp_payload_len(&msgs[i]);
		CU_ASSERT_EQUAL(len, (int)(rpci_tlp_hdr_len(msgs[i].type) + plen));
		memset(&out, 0xa5, sizeof(out));
		why = "unset";
		rc = rpci_tlp_decode(buf, (size_t)len, NULL, &out, &why);
		CU_ASSERT_EQUAL(rc, len);
		CU_ASSERT_PTR_NULL(why);
		CU_ASSERT_TRUE(tlp_fields_equal(&msgs[i], &out));
		if (plen != 0) {
			CU_ASSERT_PTR_EQUAL(out.payload, buf + rpci_tlp_hdr_len(msgs[i].type));
		} else {
			CU_ASSERT_PTR_NULL(out.payload);
		}
		/* Extra bytes after the message are not part of it. */
		rc = rpci_tlp_decode(buf, (size_t)len + 10 <= sizeof(buf) ? (size_t)len + 10 :
				     (size_t)len, NULL, &out, NULL);
		CU_ASSERT_EQUAL(rc, len);
	}
}

static void
test_batch_decode(void)
{
	static uint8_t buf[8 * BUF_LEN];
	struct rpci_tlp msgs[32], out;
	size_t n, i, pos = 0, round;
	int len[64];
	size_t start[64];
	size_t k = 0;
	int rc;

	n = sample_msgs(msgs);
	/* Two rounds of every kind, back to back. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i++) {
			start[k] = pos;
			len[k] = encode_full(&msgs[i], buf + pos, sizeof(buf) - pos,
					     (uint8_t)(k * 3));
			CU_ASSERT_FATAL(len[k] > 0);
			pos += (size_t)len[k];
			k++;
		}
	}
	pos = 0;
	for (i = 0; i < k; i++) {
		rc = rpci_tlp_decode(buf + pos, sizeof(buf) - pos, NULL, &out, NULL);
		CU_ASSERT_EQUAL(rc, len[i]);
		CU_ASSERT_EQUAL(pos, start[i]);
		CU_ASSERT_TRUE(tlp_fields_equal(&msgs[i % n], &out));
		if (rpci_tlp_payload_len(&out) != 0) {
			CU_ASSERT_PTR_EQUAL(out.payload,
					    buf + pos + rpci_tlp_hdr_len(out.type));
			CU_ASSERT_EQUAL(((const uint8_t *)out.payload)[0], (uint8_t)(i * 3));
		}
		if (rc <= 0) {
			break;
		}
		pos += (size_t)rc;
	}
	/* What follows the batch (zeros) is type 0: unknown. */
	CU_ASSERT_EQUAL(rpci_tlp_decode(buf + pos, sizeof(buf) - pos, NULL, &out, NULL), -EPROTO);
}

static void
test_decode_short_buffers(void)
{
	static uint8_t buf[BUF_LEN];
	struct rpci_tlp msgs[32], out;
	const char *why;
	size_t n, i, hdr, cut;
	int len;

	why = NULL;
	CU_ASSERT_EQUAL(rpci_tlp_decode(buf, 0, NULL, &out, &why), -EMSGSIZE);
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_EQUAL(rpci_tlp_decode(NULL, 0, NULL, &out, NULL), -EMSGSIZE);

	n = sample_msgs(msgs);
	for (i = 0; i < n; i++) {
		len = encode_full(&msgs[i], buf, sizeof(buf), 1);
		CU_ASSERT_FATAL(len > 0);
		hdr = rpci_tlp_hdr_len(msgs[i].type);
		/* Every cut inside the header: 1 byte, ..., header - 1. */
		for (cut = 1; cut < hdr; cut++) {
			why = NULL;
			CU_ASSERT_EQUAL(rpci_tlp_decode(buf, cut, NULL, &out, &why), -EMSGSIZE);
			CU_ASSERT_PTR_NOT_NULL(why);
			if (why != NULL) {
				CU_ASSERT_STRING_EQUAL(why, "truncated header");
			}
		}
		/* Payload cut short, by one byte and down to nothing. */
		if ((size_t)len > hdr) {
			why = NULL;
			CU_ASSERT_EQUAL(rpci_tlp_decode(buf, (size_t)len - 1, NULL, &out, &why),
					-EMSGSIZE);
			CU_ASSERT_PTR_NOT_NULL(why);
			if (why != NULL) {
				CU_ASSERT_STRING_EQUAL(why, "truncated payload");
			}
			CU_ASSERT_EQUAL(dec(buf, hdr, NULL), -EMSGSIZE);
			CU_ASSERT_EQUAL(dec(buf, hdr + 1, NULL), -EMSGSIZE);
		}
		CU_ASSERT_EQUAL(dec(buf, (size_t)len, NULL), len);
		/* The header alone: decoded as decode() does, the payload not looked for. */
		memset(&out, 0xa5, sizeof(out));
		CU_ASSERT_EQUAL(rpci_tlp_decode_hdr(buf, hdr, NULL, &out, NULL), (int)hdr);
		CU_ASSERT_PTR_NULL(out.payload);
		CU_ASSERT_EQUAL(rpci_tlp_payload_len(&out), (size_t)len - hdr);
		CU_ASSERT_EQUAL(out.type, msgs[i].type);
		CU_ASSERT_EQUAL(out.address, msgs[i].address);
		CU_ASSERT_EQUAL(out.tag, msgs[i].tag);
		CU_ASSERT_EQUAL(rpci_tlp_decode_hdr(buf, hdr - 1, NULL, &out, &why), -EMSGSIZE);
		CU_ASSERT_EQUAL(rpci_tlp_decode_hdr(buf, 0, NULL, &out, NULL), -EMSGSIZE);
	}
}

static void
test_unknown_type_and_code(void)
{
	uint8_t buf[64];
	struct rpci_tlp t;
	const char *why;
	int types[] = { 0x00, 0x08, 0x10, 0x81, 0xff };
	size_t i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		buf[0] = (uint8_t)types[i];
		why = NULL;
		CU_ASSERT_EQUAL(rpci_tlp_decode(buf, sizeof(buf), NULL, &t, &why), -EPROTO);
		CU_ASSERT_PTR_NOT_NULL(why);
		/* Even a one-byte buffer tells the type is unknown. */
		CU_ASSERT_EQUAL(rpci_tlp_decode(buf, 1, NULL, &t, NULL), -EPROTO);
		memset(&t, 0, sizeof(t));
		t.type = (uint8_t)types[i];
		CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EPROTO);
		CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf + 32, 32), -EPROTO);
	}

	/* Unknown message codes. */
	t = mk_msg(0x02, 0, 1);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EPROTO);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), -EPROTO);
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 1);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 16);
	buf[1] = 0x00;
	CU_ASSERT_EQUAL(dec(buf, 16, NULL), -EPROTO);
	buf[1] = 0x7e;
	CU_ASSERT_EQUAL(dec(buf, 16, NULL), -EPROTO);
	buf[1] = 0xff;
	CU_ASSERT_EQUAL(dec(buf, 16, NULL), -EPROTO);
	buf[1] = RPCI_TLP_MSG_VENDOR;
	CU_ASSERT_EQUAL(dec(buf, 16, NULL), 16);
}

static void
test_reserved_bytes(void)
{
	static uint8_t buf[BUF_LEN];
	struct rpci_tlp msgs[32], out;
	const char *why;
	uint8_t reserved[24];
	size_t n, i, b, hdr;
	int len, rc;

	n = sample_msgs(msgs);
	for (i = 0; i < n; i++) {
		len = encode_full(&msgs[i], buf, sizeof(buf), 2);
		CU_ASSERT_FATAL(len > 0);
		hdr = rpci_tlp_hdr_len(msgs[i].type);
		memset(reserved, 0, sizeof(reserved));
		switch (msgs[i].type) {
		case RPCI_TLP_MRD:
		case RPCI_TLP_MWR:
			reserved[1] = reserved[3] = reserved[10] = reserved[11] = 1;
			memset(reserved + 20, 1, 4);
			break;
		case RPCI_TLP_CPL:
		case RPCI_TLP_CPLD:
			reserved[2] = reserved[3] = 1;
			memset(reserved + 17, 1, 7);
			break;
		case RPCI_TLP_CFGRD:
		case RPCI_TLP_CFGWR:
			reserved[1] = reserved[3] = reserved[14] = reserved[15] = 1;
			break;
		default:
			reserved[2] = reserved[3] = reserved[10] = reserved[11] = 1;
			break;
		}
		for (b = 0; b < hdr; b++) {
			if (!reserved[b]) {
				continue;
			}
			buf[b] ^= 0x01;
			why = NULL;
			rc = rpci_tlp_decode(buf, (size_t)len, NULL, &out, &why);
			CU_ASSERT_EQUAL(rc, -EINVAL);
			CU_ASSERT_PTR_NOT_NULL(why);
			if (why != NULL) {
				CU_ASSERT_STRING_EQUAL(why, "reserved field not zero");
			}
			buf[b] ^= 0x81; /* high bit only */
			CU_ASSERT_EQUAL(dec(buf, (size_t)len, NULL), -EINVAL);
			buf[b] ^= 0x80;
			CU_ASSERT_EQUAL(dec(buf, (size_t)len, NULL), len);
		}
		/* Cpl: bit 7 of lower_address is reserved. */
		if (msgs[i].type == RPCI_TLP_CPL || msgs[i].type == RPCI_TLP_CPLD) {
			buf[16] |= 0x80;
			why = NULL;
			CU_ASSERT_EQUAL(rpci_tlp_decode(buf, (size_t)len, NULL, &out, &why),
					-EINVAL);
			CU_ASSERT_PTR_NOT_NULL(why);
			if (why != NULL) {
				CU_ASSERT_STRING_EQUAL(why, "reserved field not zero");
			}
			buf[16] &= 0x7f;
			CU_ASSERT_EQUAL(dec(buf, (size_t)len, NULL), len);
		}
		/* Config: last_be must be 0. */
		if (msgs[i].type == RPCI_TLP_CFGRD || msgs[i].type == RPCI_TLP_CFGWR) {
			buf[2] |= 0x10;
			CU_ASSERT_EQUAL(dec(buf, (size_t)len, NULL), -EINVAL);
			buf[2] &= 0x0f;
		}
	}
}

static void
test_unused_fields_rejected(void)
{
	uint8_t buf[32];
	struct rpci_tlp t;

	t = mk_mem(RPCI_TLP_MRD, 0x100, 1, 0xf, 0);
	t.completer_id = 1;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), -EINVAL);
	t = mk_mem(RPCI_TLP_MWR, 0x100, 1, 0xf, 0);
	t.msg_data = 1;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cpld(1, 4, 0);
	t.address = 4;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cfg(RPCI_TLP_CFGRD, 1, 0xf);
	t.address = 4;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 1);
	t.completer_id = 1;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	/* The payload pointer is ignored by encode. */
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 1);
	t.payload = buf;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 16);
}

static void
test_encode_nospc(void)
{
	uint8_t buf[32];
	struct rpci_tlp msgs[32];
	size_t n, i, hdr;

	n = sample_msgs(msgs);
	for (i = 0; i < n; i++) {
		hdr = rpci_tlp_hdr_len(msgs[i].type);
		memset(buf, 0xee, sizeof(buf));
		CU_ASSERT_EQUAL(rpci_tlp_encode(&msgs[i], buf, hdr - 1), -ENOSPC);
		CU_ASSERT_EQUAL(rpci_tlp_encode(&msgs[i], buf, 0), -ENOSPC);
		CU_ASSERT_EQUAL(buf[0], 0xee);
		CU_ASSERT_EQUAL(rpci_tlp_encode(&msgs[i], buf, hdr), (int)hdr);
		/* Only the header is written. */
		CU_ASSERT_EQUAL(buf[hdr], 0xee);
	}
	/* An invalid message is rejected before the room is looked at. */
	msgs[0].address |= 2;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&msgs[0], buf, 1), -EINVAL);
}

/*
 * Validation rules
 */

static void
test_mem_length_limits(void)
{
	static uint8_t buf[BUF_LEN];
	struct rpci_tlp_limits lim = { .max_payload = 256, .max_read_req = 512 };
	struct rpci_tlp_limits zero = { 0, 0 };
	struct rpci_tlp t;
	const char *why;
	int len;

	/* Zero length. */
	t = mk_mem(RPCI_TLP_MRD, 0x1000, 0, 0, 0);
	why = NULL;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(why);
	t.type = RPCI_TLP_MWR;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);

	/* Over the protocol maximum. */
	t = mk_mem(RPCI_TLP_MRD, 0x1000, 1025, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -E2BIG);
	t = mk_mem(RPCI_TLP_MWR, 0x1000, 1025, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -E2BIG);
	t = mk_mem(RPCI_TLP_MWR, 0x1000, 0xffff, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -E2BIG);

	/* Custom limits: MRd against max_read_req, MWr against max_payload. */
	t = mk_mem(RPCI_TLP_MRD, 0x1000, 128, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &lim, NULL), 0);
	t.length_dw = 129;
	why = NULL;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &lim, &why), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &zero, NULL), 0);
	t = mk_mem(RPCI_TLP_MWR, 0x1000, 64, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &lim, NULL), 0);
	t.length_dw = 65;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &lim, NULL), -E2BIG);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &zero, NULL), 0);

	/* Decode applies the limits. */
	len = encode_full(&t, buf, sizeof(buf), 0);
	CU_ASSERT_EQUAL(len, 24 + 260);
	CU_ASSERT_EQUAL(dec(buf, (size_t)len, &lim), -E2BIG);
	CU_ASSERT_EQUAL(dec(buf, (size_t)len, NULL), len);
	/* A zero-length MRd encoded by hand. */
	t = mk_mem(RPCI_TLP_MRD, 0x1000, 1, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	buf[5] = 0;
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), -EINVAL);

	/* Completions and vendor messages against max_payload. */
	t = mk_cpld(65, 260, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &lim, NULL), -E2BIG);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t = mk_cpld(1025, 4096, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -E2BIG);
	t = mk_msg(RPCI_TLP_MSG_VENDOR, 65, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &lim, NULL), -E2BIG);
	t.length_dw = 64;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, &lim, NULL), 0);
	t.length_dw = 1025;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -E2BIG);
}

static void
test_mem_alignment_boundary(void)
{
	uint8_t buf[32];
	struct rpci_tlp t;
	const char *why;
	uint64_t a;

	for (a = 1; a < 4; a++) {
		t = mk_mem(RPCI_TLP_MRD, 0x1000 + a, 1, 0xf, 0);
		why = NULL;
		CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, &why), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(why);
		if (why != NULL) {
			CU_ASSERT_STRING_EQUAL(why, "address not DW aligned");
		}
		CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), -EINVAL);
	}
	/* An unaligned address arriving on the wire. */
	t = mk_mem(RPCI_TLP_MWR, 0x2000, 1, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	buf[19] |= 2;
	CU_ASSERT_EQUAL(dec(buf, 28, NULL), -EINVAL);

	/* 4 KiB boundary. */
	t = mk_mem(RPCI_TLP_MRD, 0xffc, 1, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t = mk_mem(RPCI_TLP_MRD, 0xffc, 2, 0xf, 0xf);
	why = NULL;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, &why), -EINVAL);
	if (why != NULL) {
		CU_ASSERT_STRING_EQUAL(why, "crosses 4 KiB boundary");
	}
	t = mk_mem(RPCI_TLP_MWR, 0x1004, 1024, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_mem(RPCI_TLP_MWR, 0x1000, 1024, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t = mk_mem(RPCI_TLP_MWR, 0x1f00, 64, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t = mk_mem(RPCI_TLP_MWR, 0x1f04, 64, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	/* The top page of the address space does not wrap. */
	t = mk_mem(RPCI_TLP_MRD, 0xfffffffffffffffcull, 1, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t = mk_mem(RPCI_TLP_MRD, 0xfffffffffffffffcull, 2, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
}

static void
test_byte_enables(void)
{
	static const uint8_t fbe_ok[] = { 0xf, 0xe, 0xc, 0x8 };
	static const uint8_t lbe_ok[] = { 0x1, 0x3, 0x7, 0xf };
	uint8_t buf[32];
	struct rpci_tlp t;
	const char *why;
	unsigned int f, l;
	int ok, rc;

	/* Length 1: any first_be, last_be must be 0. */
	for (f = 0; f < 16; f++) {
		t = mk_mem(RPCI_TLP_MWR, 0x100, 1, (uint8_t)f, 0);
		CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
		for (l = 1; l < 16; l++) {
			t.last_be = (uint8_t)l;
			why = NULL;
			CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, &why), -EINVAL);
			if (why != NULL) {
				CU_ASSERT_STRING_EQUAL(why, "bad byte enables");
			}
		}
	}
	/* Length > 1: zero first or last. */
	t = mk_mem(RPCI_TLP_MRD, 0x100, 3, 0, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_mem(RPCI_TLP_MRD, 0x100, 3, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_mem(RPCI_TLP_MRD, 0x100, 2, 0, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_mem(RPCI_TLP_MRD, 0x100, 2, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);

	/* Contiguity, length 3 and unaligned length 2: exactly the listed values pass. */
	for (f = 0; f < 16; f++) {
		for (l = 0; l < 16; l++) {
			ok = memchr(fbe_ok, (int)f, sizeof(fbe_ok)) != NULL &&
			     memchr(lbe_ok, (int)l, sizeof(lbe_ok)) != NULL;
			t = mk_mem(RPCI_TLP_MRD, 0x100, 3, (uint8_t)f, (uint8_t)l);
			rc = rpci_tlp_validate(&t, NULL, NULL);
			CU_ASSERT_EQUAL(rc, ok ? 0 : -EINVAL);
			t = mk_mem(RPCI_TLP_MWR, 0x104, 2, (uint8_t)f, (uint8_t)l);
			rc = rpci_tlp_validate(&t, NULL, NULL);
			CU_ASSERT_EQUAL(rc, ok ? 0 : -EINVAL);
			/* QW-aligned 2 DW: any non-zero enables. */
			t = mk_mem(RPCI_TLP_MWR, 0x108, 2, (uint8_t)f, (uint8_t)l);
			rc = rpci_tlp_validate(&t, NULL, NULL);
			CU_ASSERT_EQUAL(rc, (f != 0 && l != 0) ? 0 : -EINVAL);
		}
	}
	/* The QW exception on the wire and its unaligned twin. */
	t = mk_mem(RPCI_TLP_MRD, 0x2008, 2, 0x1, 0x8);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), 24);
	t = mk_mem(RPCI_TLP_MRD, 0x200c, 2, 0x1, 0x8);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), -EINVAL);
	buf[19] = 0x0c;
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), -EINVAL);
	/* Non-contiguous on the wire, length 3. */
	t = mk_mem(RPCI_TLP_MRD, 0x2000, 3, 0xf, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	buf[2] = 0x5f; /* last_be 0x5 */
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), -EINVAL);
	buf[2] = 0xfd; /* first_be 0xd */
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), -EINVAL);
	buf[2] = 0x7c;
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), 24);

	/* Values that do not fit 4 bits. */
	t = mk_mem(RPCI_TLP_MWR, 0x100, 1, 0x1f, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_mem(RPCI_TLP_MWR, 0x100, 3, 0xf, 0x1f);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cfg(RPCI_TLP_CFGRD, 0, 0x10);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
}

static void
test_cpl_rules(void)
{
	uint8_t buf[64];
	struct rpci_tlp t;
	const char *why;
	uint8_t st;

	/* Status values. */
	for (st = 0; st < 16; st++) {
		t = mk_cpld(0, 4, 0);
		t.type = RPCI_TLP_CPL;
		t.status = st;
		CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL),
				(st == 0 || st == 1 || st == 2 || st == 4) ? 0 : -EINVAL);
	}
	/* CplD with error status. */
	t = mk_cpld(1, 4, 0);
	t.status = RPCI_TLP_CPL_UR;
	why = NULL;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(why);
	t = mk_cpld(1, 4, 0);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	buf[1] = RPCI_TLP_CPL_CA;
	CU_ASSERT_EQUAL(dec(buf, 28, NULL), -EINVAL);
	buf[1] = RPCI_TLP_CPL_SC;
	CU_ASSERT_EQUAL(dec(buf, 28, NULL), 28);

	/* Cpl with data, CplD without. */
	t = mk_cpld(1, 4, 0);
	t.type = RPCI_TLP_CPL;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cpld(0, 4, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cpld(0, 4, 0);
	t.type = RPCI_TLP_CPL;
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	buf[5] = 1;
	CU_ASSERT_EQUAL(dec(buf, sizeof(buf), NULL), -EINVAL);

	/* byte_count 0 and over the maximum. */
	t = mk_cpld(1, 0, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t.type = RPCI_TLP_CPL;
	t.length_dw = 0;
	t.status = RPCI_TLP_CPL_UR;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cpld(1, 4097, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cpld(1, 4, 0);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 24);
	memset(buf + 12, 0, 4);
	CU_ASSERT_EQUAL(dec(buf, 28, NULL), -EINVAL);

	/* lower_address over 7 bits. */
	t = mk_cpld(1, 4, 0x80);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);

	/* Data consistent with byte_count: no wholly unused last DW. */
	t = mk_cpld(2, 5, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t = mk_cpld(2, 4, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cpld(2, 2, 3); /* bytes 3..4 of the DW span: 2 DW */
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t = mk_cpld(2, 1, 3);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cpld(1, 4096, 0); /* first of several: byte_count above its data */
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
}

static void
test_cfg_msg_rules(void)
{
	uint8_t buf[32];
	struct rpci_tlp t;
	const char *why;

	t = mk_cfg(RPCI_TLP_CFGRD, 1023, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
	t.reg = 1024;
	why = NULL;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, &why), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(why);
	t = mk_cfg(RPCI_TLP_CFGWR, 0, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)), 16);
	buf[12] = 0x04; /* reg 1024 */
	CU_ASSERT_EQUAL(dec(buf, 20, NULL), -EINVAL);
	buf[12] = 0x03;
	CU_ASSERT_EQUAL(dec(buf, 20, NULL), 20);
	buf[5] = 2; /* length 2 */
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), -EINVAL);
	buf[5] = 0;
	CU_ASSERT_EQUAL(dec(buf, 24, NULL), -EINVAL);

	t = mk_cfg(RPCI_TLP_CFGRD, 0, 0xf);
	t.last_be = 0x1;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_cfg(RPCI_TLP_CFGRD, 0, 0xf);
	t.length_dw = 2;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);

	/* MSI carries no payload; vendor messages may. */
	t = mk_msg(RPCI_TLP_MSG_MSI, 1, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), -EINVAL);
	t = mk_msg(RPCI_TLP_MSG_VENDOR, 1024, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
}

static void
test_decode_fuzz(void)
{
	static uint8_t buf[BUF_LEN + 64];
	struct rpci_tlp msgs[32], t;
	struct rpci_tlp_limits lim = { .max_payload = 512, .max_read_req = 1024 };
	const char *why;
	uint8_t *heap;
	unsigned int ok = 0;
	size_t size, i, n;
	int iter, rc, len;

	n = sample_msgs(msgs);
	srand(42);
	for (iter = 0; iter < 100000; iter++) {
		if (iter % 2 == 0) {
			/* Random garbage, mostly short, sometimes long. */
			size = (size_t)rand() % 80;
			if (iter % 16 == 0) {
				size = (size_t)rand() % sizeof(buf);
			}
			for (i = 0; i < size; i++) {
				buf[i] = (uint8_t)rand();
			}
			if (size > 0 && iter % 4 == 0) {
				buf[0] = (uint8_t)(1 + rand() % 7);
			}
		} else {
			/* A valid message with a few random bytes changed, maybe cut. */
			len = encode_full(&msgs[(size_t)rand() % n], buf, sizeof(buf), 0);
			CU_ASSERT_FATAL(len > 0);
			size = (size_t)len;
			for (i = (size_t)rand() % 3; i > 0; i--) {
				buf[(size_t)rand() % RPCI_TLP_HDR_MAX_LEN] ^=
					(uint8_t)(1u << (rand() % 8));
			}
			if (rand() % 8 == 0) {
				size = (size_t)rand() % (size + 1);
			} else if (rand() % 8 == 0) {
				size += (size_t)rand() % 64;
			}
		}
		/* Exactly sized heap copy so ASan sees any over-read. */
		heap = malloc(size != 0 ? size : 1);
		CU_ASSERT_FATAL(heap != NULL);
		memcpy(heap, buf, size);
		why = NULL;
		rc = rpci_tlp_decode(heap, size, (iter & 2) ? &lim : NULL, &t, &why);
		if (rc >= 0) {
			ok++;
			CU_ASSERT((size_t)rc <= size);
			CU_ASSERT((size_t)rc ==
				  rpci_tlp_hdr_len(t.type) + rpci_tlp_payload_len(&t));
			CU_ASSERT_PTR_NULL(why);
			CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
			if (t.payload != NULL) {
				CU_ASSERT((const uint8_t *)t.payload > heap);
				CU_ASSERT((const uint8_t *)t.payload + rpci_tlp_payload_len(&t) <=
					  heap + size);
			}
			/* What decodes re-encodes to the same header bytes. */
			CU_ASSERT_EQUAL(rpci_tlp_encode(&t, buf, sizeof(buf)),
					(int)rpci_tlp_hdr_len(t.type));
			CU_ASSERT_EQUAL(memcmp(buf, heap, rpci_tlp_hdr_len(t.type)), 0);
		} else {
			CU_ASSERT(rc == -EMSGSIZE || rc == -EPROTO || rc == -EINVAL ||
				  rc == -E2BIG);
			CU_ASSERT_PTR_NOT_NULL(why);
		}
		free(heap);
	}
	/* The mutated half must often stay valid, or the test proves little. */
	CU_ASSERT(ok > 5000);
}

/*
 * Byte ranges and chunks
 */

static void
test_byte_range_basic(void)
{
	struct rpci_tlp t;
	uint32_t off;

	memset(&t, 0, sizeof(t));
	t.type = RPCI_TLP_MRD;
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x1001, 2), 0);
	CU_ASSERT_EQUAL(t.address, 0x1000);
	CU_ASSERT_EQUAL(t.length_dw, 1);
	CU_ASSERT_EQUAL(t.first_be, 0x6);
	CU_ASSERT_EQUAL(t.last_be, 0);
	CU_ASSERT_EQUAL(rpci_tlp_byte_range(&t, &off), 2);
	CU_ASSERT_EQUAL(off, 1);

	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x1003, 2), 0);
	CU_ASSERT_EQUAL(t.length_dw, 2);
	CU_ASSERT_EQUAL(t.first_be, 0x8);
	CU_ASSERT_EQUAL(t.last_be, 0x1);

	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x1002, 0), 0);
	CU_ASSERT_EQUAL(t.address, 0x1000);
	CU_ASSERT_EQUAL(t.length_dw, 1);
	CU_ASSERT_EQUAL(t.first_be, 0);
	CU_ASSERT_EQUAL(t.last_be, 0);
	off = 9;
	CU_ASSERT_EQUAL(rpci_tlp_byte_range(&t, &off), 0);
	CU_ASSERT_EQUAL(off, 0);

	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x2000, 4096), 0);
	CU_ASSERT_EQUAL(t.length_dw, 1024);
	CU_ASSERT_EQUAL(t.first_be, 0xf);
	CU_ASSERT_EQUAL(t.last_be, 0xf);

	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x2000, 4097), -E2BIG);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x2001, 4096), -EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x2fff, 2), -EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x2fff, 1), 0);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x2fff, 0), 0);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0xffffffffffffffffull, 1), 0);
	CU_ASSERT_EQUAL(t.address, 0xfffffffffffffffcull);
	CU_ASSERT_EQUAL(t.first_be, 0x8);

	/* Only the range fields are touched. */
	t.tag = 0x55;
	t.requester_id = 0x66;
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&t, 0x10, 8), 0);
	CU_ASSERT_EQUAL(t.tag, 0x55);
	CU_ASSERT_EQUAL(t.requester_id, 0x66);
	CU_ASSERT_EQUAL(t.type, RPCI_TLP_MRD);

	/* QW-aligned non-contiguous 2 DW: the span of the enables. */
	t = mk_mem(RPCI_TLP_MWR, 0x108, 2, 0x2, 0x4);
	CU_ASSERT_EQUAL(rpci_tlp_byte_range(&t, &off), 6);
	CU_ASSERT_EQUAL(off, 1);
	/* Non-contiguous 1 DW: the span too. */
	t = mk_mem(RPCI_TLP_MWR, 0x108, 1, 0x9, 0);
	CU_ASSERT_EQUAL(rpci_tlp_byte_range(&t, &off), 4);
	CU_ASSERT_EQUAL(off, 0);
	/* Config. */
	t = mk_cfg(RPCI_TLP_CFGRD, 5, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_byte_range(&t, &off), 4);
	t = mk_cfg(RPCI_TLP_CFGRD, 5, 0xc);
	CU_ASSERT_EQUAL(rpci_tlp_byte_range(&t, &off), 2);
	CU_ASSERT_EQUAL(off, 2);
}

static void
test_byte_range_inverse(void)
{
	struct rpci_tlp t;
	uint64_t bases[] = { 0, 0x1000, 0x7ffff000ull, 0xfffffffffffff000ull };
	uint64_t addr;
	uint32_t len, off, start, n = 0, got;
	size_t b;
	int rc, crosses;

	for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (start = 0; start < 4096; start += (start < 16 || start > 4080) ? 1 : 61) {
			for (len = 0; len <= 4097; len += (len < 70 || len > 4090) ? 1 : 37) {
				addr = bases[b] + start;
				memset(&t, 0, sizeof(t));
				t.type = RPCI_TLP_MRD;
				rc = rpci_tlp_set_byte_range(&t, addr, len);
				crosses = len != 0 && start + len > 4096;
				if (len > 4096) {
					CU_ASSERT_EQUAL(rc, -E2BIG);
					continue;
				}
				if (crosses) {
					CU_ASSERT_EQUAL(rc, -EINVAL);
					continue;
				}
				CU_ASSERT_EQUAL_FATAL(rc, 0);
				n++;
				CU_ASSERT_EQUAL(t.address, addr & ~3ull);
				CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
				got = rpci_tlp_byte_range(&t, &off);
				CU_ASSERT_EQUAL(got, len);
				if (len != 0) {
					CU_ASSERT_EQUAL(t.address + off, addr);
					CU_ASSERT_EQUAL(t.length_dw,
							((addr & 3) + len + 3) / 4);
				} else {
					CU_ASSERT_EQUAL(t.length_dw, 1);
					CU_ASSERT_EQUAL(t.first_be, 0);
				}
				t.type = RPCI_TLP_MWR;
				CU_ASSERT_EQUAL(rpci_tlp_validate(&t, NULL, NULL), 0);
			}
		}
	}
	CU_ASSERT(n > 10000);
}

static void
test_chunk_len(void)
{
	uint32_t mps_list[] = { 64, 128, 256, 512, 1024, 1408, 4096 };
	uint64_t starts[] = { 0, 1, 2, 3, 0xffd, 0x1fc3, 0x123456789, 0xfffffffffff00001ull };
	uint64_t lens[] = { 1, 3, 63, 64, 65, 4095, 4096, 4097, 100003 };
	struct rpci_tlp t;
	uint64_t addr, left, covered;
	uint32_t chunk, mps;
	size_t m, s, l;
	int rc;

	CU_ASSERT_EQUAL(rpci_tlp_chunk_len(0x1000, 0, 128), 0);
	CU_ASSERT_EQUAL(rpci_tlp_chunk_len(0x1000, 1000, 128), 128);
	CU_ASSERT_EQUAL(rpci_tlp_chunk_len(0x1001, 1000, 128), 127);
	CU_ASSERT_EQUAL(rpci_tlp_chunk_len(0x1ff0, 1000, 128), 16);
	CU_ASSERT_EQUAL(rpci_tlp_chunk_len(0x1ff0, 5, 128), 5);
	CU_ASSERT_EQUAL(rpci_tlp_chunk_len(0x1000, 100000, 4096), 4096);
	CU_ASSERT_EQUAL(rpci_tlp_chunk_len(0x1000, 100000, 8192), 4096);

	for (m = 0; m < sizeof(mps_list) / sizeof(mps_list[0]); m++) {
		mps = mps_list[m];
		for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
			for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				addr = starts[s];
				left = lens[l];
				covered = 0;
				while (left > 0) {
					chunk = rpci_tlp_chunk_len(addr, left, mps);
					CU_ASSERT_FATAL(chunk > 0 && chunk <= left);
					/* No 4 KiB crossing, DW span within mps. */
					CU_ASSERT((addr & 4095) + chunk <= 4096);
					CU_ASSERT((((addr & 3) + chunk + 3) & ~3ull) <= mps);
					/* The chunk makes a valid MWr under those limits. */
					memset(&t, 0, sizeof(t));
					t.type = RPCI_TLP_MWR;
					rc = rpci_tlp_set_byte_range(&t, addr, chunk);
					CU_ASSERT_EQUAL(rc, 0);
					CU_ASSERT((uint32_t)t.length_dw * 4 <= mps);
					covered += chunk;
					addr += chunk;
					left -= chunk;
				}
				CU_ASSERT_EQUAL(covered, lens[l]);
				CU_ASSERT_EQUAL(addr, starts[s] + lens[l]);
			}
		}
	}
}

/*
 * Completions and tags
 */

/* Answer one read through the iterator and reassemble it through a tag table. */
static void
split_and_reassemble(uint64_t addr, uint32_t len, uint32_t mps)
{
	static uint8_t src[2 * 4096 + 64], dst[4096], wire[BUF_LEN];
	struct rpci_tlp_limits lim = { .max_payload = mps, .max_read_req = 4096 };
	struct rpci_tlp_tags *tags;
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp req, cpl, got;
	uint64_t src_addr, base = addr & ~4095ull, pos;
	uint32_t off, dlen, skip, expect_bc = len, ncpl = 0, i, plen;
	void *cookie;
	bool done = false;
	int tag, rc, wlen;

	for (i = 0; i < sizeof(src); i++) {
		src[i] = (uint8_t)(i * 13 + (i >> 8) + 1);
	}
	memset(dst, 0, sizeof(dst));

	req = mk_mrd(addr, len);
	tags = rpci_tlp_tags_create(32);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tags);
	tag = rpci_tlp_tag_alloc(tags, &req, dst);
	CU_ASSERT_FATAL(tag >= 0);
	req.tag = (uint16_t)tag;

	CU_ASSERT_EQUAL_FATAL(rpci_tlp_cpl_iter_init(&it, &req, 0x77, mps), 0);
	pos = addr;
	while (rpci_tlp_cpl_iter_next(&it, &cpl, &src_addr) == 1) {
		ncpl++;
		CU_ASSERT_FATAL(ncpl <= 4096);
		CU_ASSERT_EQUAL(cpl.type, RPCI_TLP_CPLD);
		CU_ASSERT_EQUAL(cpl.status, RPCI_TLP_CPL_SC);
		CU_ASSERT_EQUAL(cpl.tag, tag);
		CU_ASSERT_EQUAL(cpl.requester_id, req.requester_id);
		CU_ASSERT_EQUAL(cpl.completer_id, 0x77);
		CU_ASSERT_EQUAL(cpl.byte_count, expect_bc);
		CU_ASSERT_EQUAL(cpl.lower_address, pos & 0x7f);
		CU_ASSERT_EQUAL(src_addr, pos & ~3ull);
		CU_ASSERT((uint32_t)cpl.length_dw * 4 <= mps);
		CU_ASSERT_EQUAL(rpci_tlp_validate(&cpl, &lim, NULL), 0);
		/* Over the wire, payload from the source at src_addr. */
		wlen = rpci_tlp_encode(&cpl, wire, sizeof(wire));
		CU_ASSERT_EQUAL_FATAL(wlen, 24);
		plen = rpci_tlp_payload_len(&cpl);
		CU_ASSERT_FATAL(src_addr - base + plen <= sizeof(src));
		memcpy(wire + wlen, src + (src_addr - base), plen);
		CU_ASSERT_EQUAL_FATAL(rpci_tlp_decode(wire, (size_t)wlen + plen, &lim, &got, NULL),
				      wlen + (int)plen);

		rc = rpci_tlp_tag_complete(tags, &got, &off, &dlen, &skip, &cookie, &done);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_PTR_EQUAL(cookie, dst);
		CU_ASSERT_EQUAL(off, pos - addr);
		CU_ASSERT_EQUAL(skip, pos & 3);
		CU_ASSERT(dlen > 0);
		CU_ASSERT_FATAL(off + dlen <= len && skip + dlen <= plen);
		memcpy(dst + off, (const uint8_t *)got.payload + skip, dlen);
		pos += dlen;
		expect_bc -= dlen;
		if (expect_bc != 0) {
			/* Every completion but the last ends on the RCB. */
			CU_ASSERT_EQUAL(pos % RPCI_TLP_RCB, 0);
			CU_ASSERT_FALSE(done);
		} else {
			CU_ASSERT_TRUE(done);
		}
	}
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src_addr), 0);
	CU_ASSERT_EQUAL(expect_bc, 0);
	CU_ASSERT_EQUAL(pos, addr + len);
	CU_ASSERT_TRUE(done);
	CU_ASSERT_EQUAL(memcmp(dst, src + (addr - base), len), 0);
	CU_ASSERT_EQUAL(tags->in_use, 0);
	/* Not the fewest completions possible, but close: at most one extra. */
	CU_ASSERT(ncpl <= (len + (addr & 63)) / mps + 2);
	rpci_tlp_tags_free(tags);
}

static void
test_cpl_split_reassemble(void)
{
	uint32_t mps_list[] = { 64, 128, 256, 1024, 1408, 4096 };
	uint64_t offs[] = { 0, 1, 2, 3, 4, 60, 63, 64, 65, 127, 1000, 2047, 4000, 4095 };
	uint32_t lens[] = { 1, 2, 3, 4, 5, 7, 63, 64, 65, 100, 128, 129, 1000, 1408, 2049, 4096 };
	size_t m, o, l;
	uint32_t r;

	for (m = 0; m < sizeof(mps_list) / sizeof(mps_list[0]); m++) {
		for (o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				if (offs[o] + lens[l] > 4096) {
					continue;
				}
				split_and_reassemble(0x40000 + offs[o], lens[l], mps_list[m]);
			}
			/* The longest read that fits from there. */
			split_and_reassemble(0x40000 + offs[o], (uint32_t)(4096 - offs[o]),
					     mps_list[m]);
		}
		for (r = 0; r < 200; r++) {
			uint32_t off = rng() % 4096;
			uint32_t len = 1 + rng() % (4096 - off);

			split_and_reassemble(0x9000 + off, len, mps_list[m]);
		}
	}
}

static void
test_cpl_iter_special(void)
{
	struct rpci_tlp_tags *tags;
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp req, cpl, nodata;
	uint64_t src;
	uint32_t off, len, skip;
	void *cookie;
	bool done;
	int tag;

	tags = rpci_tlp_tags_create(4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tags);

	/* Zero-length read: one CplD of 1 DW, byte_count 1. */
	req = mk_mrd(0x1236, 0);
	CU_ASSERT_EQUAL(req.address, 0x1234);
	tag = rpci_tlp_tag_alloc(tags, &req, &it);
	CU_ASSERT_FATAL(tag >= 0);
	req.tag = (uint16_t)tag;
	CU_ASSERT_EQUAL(tags->slots[tag].total, 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 5, 128), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 1);
	CU_ASSERT_EQUAL(cpl.type, RPCI_TLP_CPLD);
	CU_ASSERT_EQUAL(cpl.length_dw, 1);
	CU_ASSERT_EQUAL(cpl.byte_count, 1);
	CU_ASSERT_EQUAL(cpl.lower_address, 0x34);
	CU_ASSERT_EQUAL(cpl.tag, tag);
	CU_ASSERT_EQUAL(src, 0x1234);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&cpl, NULL, NULL), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 5, 128), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 1);
	done = false;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &cpl, &off, &len, &skip, &cookie, &done), 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_TRUE(done);
	CU_ASSERT_PTR_EQUAL(cookie, &it);
	CU_ASSERT_EQUAL(tags->in_use, 0);

	/* Zero-length read answered by a Cpl SC. */
	tag = rpci_tlp_tag_alloc(tags, &req, NULL);
	CU_ASSERT_FATAL(tag >= 0);
	req.tag = (uint16_t)tag;
	rpci_tlp_cpl_for(&cpl, &req, 5, RPCI_TLP_CPL_SC);
	CU_ASSERT_EQUAL(cpl.byte_count, 1);
	CU_ASSERT_EQUAL(cpl.lower_address, 0x34);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&cpl, NULL, NULL), 0);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &cpl, &off, &len, &skip, &cookie, &done), 0);
	CU_ASSERT_TRUE(done);
	CU_ASSERT_EQUAL(len, 0);

	/* CfgRd: one CplD of 1 DW, byte_count 4, lower_address 0, data at reg * 4. */
	req = mk_cfg(RPCI_TLP_CFGRD, 0x123, 0xf);
	tag = rpci_tlp_tag_alloc(tags, &req, &req);
	CU_ASSERT_FATAL(tag >= 0);
	req.tag = (uint16_t)tag;
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0x100, 3), -EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0x100, 4), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 1);
	CU_ASSERT_EQUAL(cpl.type, RPCI_TLP_CPLD);
	CU_ASSERT_EQUAL(cpl.length_dw, 1);
	CU_ASSERT_EQUAL(cpl.byte_count, 4);
	CU_ASSERT_EQUAL(cpl.lower_address, 0);
	CU_ASSERT_EQUAL(cpl.completer_id, 0x100);
	CU_ASSERT_EQUAL(cpl.requester_id, req.requester_id);
	CU_ASSERT_EQUAL(src, 0x123 * 4);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 0);
	/* A Cpl SC does not answer a CfgRd. */
	rpci_tlp_cpl_for(&nodata, &req, 0x100, RPCI_TLP_CPL_SC);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &nodata, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0x100, 4), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 1);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &cpl, &off, &len, &skip, &cookie, &done), 0);
	CU_ASSERT_EQUAL(off, 0);
	CU_ASSERT_EQUAL(len, 4);
	CU_ASSERT_EQUAL(skip, 0);
	CU_ASSERT_TRUE(done);
	CU_ASSERT_PTR_EQUAL(cookie, &req);

	/* CfgWr: completed by a Cpl SC, not by a CplD. */
	req = mk_cfg(RPCI_TLP_CFGWR, 7, 0x3);
	tag = rpci_tlp_tag_alloc(tags, &req, NULL);
	CU_ASSERT_FATAL(tag >= 0);
	req.tag = (uint16_t)tag;
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0x100, 64), -EINVAL);
	cpl = mk_cpld(1, 4, 0);
	cpl.tag = (uint16_t)tag;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &cpl, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	rpci_tlp_cpl_for(&cpl, &req, 0x100, RPCI_TLP_CPL_SC);
	CU_ASSERT_EQUAL(cpl.type, RPCI_TLP_CPL);
	CU_ASSERT_EQUAL(cpl.byte_count, 4);
	CU_ASSERT_EQUAL(cpl.lower_address, 0);
	CU_ASSERT_EQUAL(cpl.tag, tag);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &cpl, &off, &len, &skip, &cookie, &done), 0);
	CU_ASSERT_TRUE(done);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(tags->in_use, 0);

	/* Bad iterator arguments. */
	req = mk_mrd(0x1000, 100);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0, 32), -EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0, 96), -EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0, 192), 0);
	/* Over the protocol maximum: split as 4096. */
	req = mk_mrd(0x1001, 4095);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0, 8192), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 1);
	CU_ASSERT_EQUAL(cpl.length_dw, 1024);
	CU_ASSERT_EQUAL(cpl.byte_count, 4095);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&cpl, NULL, NULL), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &cpl, &src), 0);
	req = mk_mrd(0x1000, 100);
	req.type = RPCI_TLP_MWR;
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0, 128), -EINVAL);
	req = mk_mem(RPCI_TLP_MRD, 0x1000, 3, 0x5, 0xf);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 0, 128), -EINVAL);

	rpci_tlp_tags_free(tags);
}

static void
test_cpl_for(void)
{
	struct rpci_tlp req, cpl;

	req = mk_mrd(0x10a5, 300);
	req.tag = 17;
	rpci_tlp_cpl_for(&cpl, &req, 0x42, RPCI_TLP_CPL_UR);
	CU_ASSERT_EQUAL(cpl.type, RPCI_TLP_CPL);
	CU_ASSERT_EQUAL(cpl.status, RPCI_TLP_CPL_UR);
	CU_ASSERT_EQUAL(cpl.tag, 17);
	CU_ASSERT_EQUAL(cpl.requester_id, req.requester_id);
	CU_ASSERT_EQUAL(cpl.completer_id, 0x42);
	CU_ASSERT_EQUAL(cpl.byte_count, 300);
	CU_ASSERT_EQUAL(cpl.lower_address, 0x25);
	CU_ASSERT_EQUAL(cpl.length_dw, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&cpl, NULL, NULL), 0);

	req = mk_mrd(0x1000, 4096);
	rpci_tlp_cpl_for(&cpl, &req, 0x42, RPCI_TLP_CPL_CA);
	CU_ASSERT_EQUAL(cpl.byte_count, 4096);
	CU_ASSERT_EQUAL(cpl.lower_address, 0);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&cpl, NULL, NULL), 0);

	req = mk_cfg(RPCI_TLP_CFGRD, 1000, 0xf);
	rpci_tlp_cpl_for(&cpl, &req, 0x42, RPCI_TLP_CPL_CRS);
	CU_ASSERT_EQUAL(cpl.byte_count, 4);
	CU_ASSERT_EQUAL(cpl.lower_address, 0);
	CU_ASSERT_EQUAL(cpl.completer_id, 0x42);
	CU_ASSERT_EQUAL(rpci_tlp_validate(&cpl, NULL, NULL), 0);
}

static void
test_tag_errors(void)
{
	struct rpci_tlp_tags *tags;
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp req, c1, c2, c3, bad, err;
	uint64_t src;
	uint32_t off = 99, len = 99, skip = 99;
	void *cookie = NULL;
	bool done = true;
	int tag, marker;

	tags = rpci_tlp_tags_create(8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tags);

	/* Unknown tag: out of range, or not in use. */
	c1 = mk_cpld(1, 4, 0);
	c1.tag = 8;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &c1, &off, &len, &skip, &cookie, &done),
			-ENOENT);
	CU_ASSERT_FALSE(done);
	c1.tag = 3;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &c1, &off, &len, &skip, &cookie, &done),
			-ENOENT);
	CU_ASSERT_EQUAL(rpci_tlp_tag_release(tags, 3, NULL), -ENOENT);
	CU_ASSERT_EQUAL(rpci_tlp_tag_release(tags, 800, NULL), -ENOENT);

	/* A 3-completion read, completions delivered out of order. */
	req = mk_mrd(0x5010, 200);
	tag = rpci_tlp_tag_alloc(tags, &req, &marker);
	CU_ASSERT_FATAL(tag >= 0);
	req.tag = (uint16_t)tag;
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_init(&it, &req, 1, 64), 0);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &c1, &src), 1);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &c2, &src), 1);
	CU_ASSERT_EQUAL(rpci_tlp_cpl_iter_next(&it, &c3, &src), 1);
	CU_ASSERT_EQUAL(c1.byte_count, 200);
	CU_ASSERT_EQUAL(c2.byte_count, 200 - 48);
	CU_ASSERT_EQUAL(c3.byte_count, 200 - 48 - 64);

	done = true;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &c2, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	CU_ASSERT_FALSE(done);
	CU_ASSERT_EQUAL(tags->slots[tag].remaining, 200);
	/* Right byte count, wrong lower address. */
	bad = c1;
	bad.lower_address = (uint8_t)(bad.lower_address + 4);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &bad, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	/* Right lower address, wrong byte count (one more or one less). */
	bad = c1;
	bad.byte_count = c1.byte_count - 1;
	CU_ASSERT_EQUAL(rpci_tlp_validate(&bad, NULL, NULL), 0);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &bad, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	bad.byte_count = c1.byte_count + 1;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &bad, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	/* A Cpl SC with bytes left. */
	rpci_tlp_cpl_for(&bad, &req, 1, RPCI_TLP_CPL_SC);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &bad, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	/* An invalid completion (CplD with error status) does not fit either. */
	bad = c1;
	bad.status = RPCI_TLP_CPL_UR;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &bad, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	CU_ASSERT_EQUAL(tags->slots[tag].remaining, 200);
	CU_ASSERT_EQUAL(tags->in_use, 1);

	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &c1, &off, &len, &skip, &cookie, &done), 0);
	CU_ASSERT_EQUAL(off, 0);
	CU_ASSERT_EQUAL(len, 48);
	CU_ASSERT_EQUAL(skip, 0);
	CU_ASSERT_FALSE(done);
	CU_ASSERT_PTR_EQUAL(cookie, &marker);
	/* The same completion again is now out of order. */
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &c1, &off, &len, &skip, &cookie, &done),
			-EBADMSG);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &c3, &off, &len, &skip, &cookie, &done),
			-EBADMSG);

	/* An error completion ends the request and frees the tag. */
	rpci_tlp_cpl_for(&err, &req, 1, RPCI_TLP_CPL_CA);
	err.byte_count = c2.byte_count;
	cookie = NULL;
	done = false;
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &err, &off, &len, &skip, &cookie, &done), -EIO);
	CU_ASSERT_TRUE(done);
	CU_ASSERT_PTR_EQUAL(cookie, &marker);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(tags->in_use, 0);
	CU_ASSERT_FALSE(tags->slots[tag].in_use);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &c2, &off, &len, &skip, &cookie, &done),
			-ENOENT);
	CU_ASSERT_EQUAL(rpci_tlp_tag_release(tags, (uint16_t)tag, NULL), -ENOENT);

	/* Error status for a CfgRd. */
	req = mk_cfg(RPCI_TLP_CFGRD, 4, 0xf);
	tag = rpci_tlp_tag_alloc(tags, &req, &marker);
	CU_ASSERT_FATAL(tag >= 0);
	req.tag = (uint16_t)tag;
	rpci_tlp_cpl_for(&err, &req, 1, RPCI_TLP_CPL_UR);
	CU_ASSERT_EQUAL(rpci_tlp_tag_complete(tags, &err, &off, &len, &skip, &cookie, &done), -EIO);
	CU_ASSERT_TRUE(done);
	CU_ASSERT_EQUAL(tags->in_use, 0);

	/* Requests a tag cannot be taken for. */
	req = mk_mem(RPCI_TLP_MWR, 0x1000, 1, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), -EINVAL);
	req = mk_msg(RPCI_TLP_MSG_MSI, 0, 1);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), -EINVAL);
	req = mk_cpld(1, 4, 0);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), -EINVAL);
	req = mk_mem(RPCI_TLP_MRD, 0x1002, 1, 0xf, 0);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), -EINVAL);
	CU_ASSERT_EQUAL(tags->in_use, 0);

	rpci_tlp_tags_free(tags);
}

static void
test_tag_exhaust_release(void)
{
	struct rpci_tlp_tags *tags;
	struct rpci_tlp req;
	int cookies[16];
	void *cookie;
	int i, tag;

	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_tlp_tags_create(0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_tlp_tags_create(1025));
	CU_ASSERT_EQUAL(errno, EINVAL);
	tags = rpci_tlp_tags_create(1024);
	CU_ASSERT_PTR_NOT_NULL(tags);
	rpci_tlp_tags_free(tags);
	rpci_tlp_tags_free(NULL);

	tags = rpci_tlp_tags_create(16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tags);
	req = mk_mrd(0x3000, 64);
	for (i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, &cookies[i]), i);
	}
	CU_ASSERT_EQUAL(tags->in_use, 16);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), -EBUSY);
	CU_ASSERT_EQUAL(rpci_tlp_tag_release(tags, 5, &cookie), 0);
	CU_ASSERT_PTR_EQUAL(cookie, &cookies[5]);
	CU_ASSERT_EQUAL(rpci_tlp_tag_release(tags, 5, &cookie), -ENOENT);
	CU_ASSERT_EQUAL(rpci_tlp_tag_release(tags, 9, NULL), 0);
	CU_ASSERT_EQUAL(tags->in_use, 14);
	/* Round robin from the last allocation: 5, then 9. */
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), 5);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), 9);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), -EBUSY);
	/* Release everything; the next allocations go round from after 9. */
	for (i = 0; i < 16; i++) {
		CU_ASSERT_EQUAL(rpci_tlp_tag_release(tags, (uint16_t)i, NULL), 0);
	}
	CU_ASSERT_EQUAL(tags->in_use, 0);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), 10);
	CU_ASSERT_EQUAL(rpci_tlp_tag_alloc(tags, &req, NULL), 11);
	/* Slot bookkeeping. */
	req = mk_mrd(0x3005, 10);
	tag = rpci_tlp_tag_alloc(tags, &req, NULL);
	CU_ASSERT_EQUAL(tag, 12);
	CU_ASSERT_EQUAL(tags->slots[12].type, RPCI_TLP_MRD);
	CU_ASSERT_EQUAL(tags->slots[12].addr, 0x3005);
	CU_ASSERT_EQUAL(tags->slots[12].total, 10);
	CU_ASSERT_EQUAL(tags->slots[12].remaining, 10);
	req = mk_cfg(RPCI_TLP_CFGRD, 10, 0x1);
	tag = rpci_tlp_tag_alloc(tags, &req, NULL);
	CU_ASSERT_EQUAL(tags->slots[tag].addr, 40);
	CU_ASSERT_EQUAL(tags->slots[tag].total, 4);
	req = mk_cfg(RPCI_TLP_CFGWR, 10, 0x1);
	tag = rpci_tlp_tag_alloc(tags, &req, NULL);
	CU_ASSERT_EQUAL(tags->slots[tag].total, 0);
	CU_ASSERT_EQUAL(tags->slots[tag].type, RPCI_TLP_CFGWR);
	rpci_tlp_tags_free(tags);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int n;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("tlp_codec", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_hdr_len_and_names);
	CU_ADD_TEST(suite, test_payload_len);
	CU_ADD_TEST(suite, test_wire_layout);
	CU_ADD_TEST(suite, test_roundtrip_all_types);
	CU_ADD_TEST(suite, test_batch_decode);
	CU_ADD_TEST(suite, test_decode_short_buffers);
	CU_ADD_TEST(suite, test_unknown_type_and_code);
	CU_ADD_TEST(suite, test_reserved_bytes);
	CU_ADD_TEST(suite, test_unused_fields_rejected);
	CU_ADD_TEST(suite, test_encode_nospc);
	CU_ADD_TEST(suite, test_decode_fuzz);

	suite = CU_add_suite("tlp_rules", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_mem_length_limits);
	CU_ADD_TEST(suite, test_mem_alignment_boundary);
	CU_ADD_TEST(suite, test_byte_enables);
	CU_ADD_TEST(suite, test_cpl_rules);
	CU_ADD_TEST(suite, test_cfg_msg_rules);

	suite = CU_add_suite("tlp_ranges", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_byte_range_basic);
	CU_ADD_TEST(suite, test_byte_range_inverse);
	CU_ADD_TEST(suite, test_chunk_len);

	suite = CU_add_suite("tlp_completions", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_cpl_split_reassemble);
	CU_ADD_TEST(suite, test_cpl_iter_special);
	CU_ADD_TEST(suite, test_cpl_for);
	CU_ADD_TEST(suite, test_tag_errors);
	CU_ADD_TEST(suite, test_tag_exhaust_release);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}
