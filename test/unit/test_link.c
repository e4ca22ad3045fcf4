/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/link.
 *
 * The header codec is tested alone. Sessions run between two links (a
 * client and a server) joined back to back by two net_ring ports in this
 * process: the client's TX ring is the server's RX ring and the reverse.
 * Faults (loss, duplication, corruption, reordering, bad frames) are made
 * by taking frames off the ring that the server receives from. net_ring
 * hands the receiver the sender's own mbufs, which may also sit in the
 * sender's replay ring, so a taken frame is never changed in place: a
 * corrupted frame is a changed copy.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "link_private.h"
#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_link.h"

#define ETH_LEN ((uint32_t)sizeof(struct rte_ether_hdr))
#define L2_HDRS (ETH_LEN + RPCI_LINK_HDR_LEN)
#define MTU 1500
/* The pools' MTU: room for the headers and a 4096-byte message. */
#define POOL_MTU (RPCI_LINK_HDR_LEN + RPCI_TLP_HDR_MAX_LEN + RPCI_TLP_MAX_PAYLOAD)
#define MAX_PAYLOAD 1408
#define COPY_THRESHOLD 256
#define NB_MBUFS 8191
#define RING_SIZE 4096
#define PATTERN_LEN (1u << 20)
#define PLAN_MAX 6000
#define REQ_ID 0x0100
#define FUNCTION 3
#define COMPLETER_ID 0x0203
#define TAKE_MAX 256

/* Unsigned comparisons that print both values when they fail. */
#define CHECK_EQ(a, b) \
	do { \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
		CU_ASSERT(a_ == b_); \
		if (a_ != b_) { \
			printf("\n    line %d: %s = %" PRIu64 ", expected %" PRIu64 "\n", \
			       __LINE__, #a, a_, b_); \
		} \
	} while (0)
#define CHECK_GE(a, b) \
	do { \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
		CU_ASSERT(a_ >= b_); \
		if (a_ < b_) { \
			printf("\n    line %d: %s = %" PRIu64 ", expected >= %" PRIu64 "\n", \
			       __LINE__, #a, a_, b_); \
		} \
	} while (0)
#define CHECK_LE(a, b) \
	do { \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
		CU_ASSERT(a_ <= b_); \
		if (a_ > b_) { \
			printf("\n    line %d: %s = %" PRIu64 ", expected <= %" PRIu64 "\n", \
			       __LINE__, #a, a_, b_); \
		} \
	} while (0)

/* Deterministic generator for the tests (xorshift32). */
static uint32_t g_rng = 0x2545f491;

static uint32_t
rng(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 17;
	g_rng ^= g_rng << 5;
	return g_rng;
}

static uint64_t
ms_since(uint64_t t0)
{
	return (rte_get_timer_cycles() - t0) * 1000 / rte_get_timer_hz();
}

static uint64_t
us_since(uint64_t t0)
{
	return (rte_get_timer_cycles() - t0) * 1000000 / rte_get_timer_hz();
}

static void
sleep_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	nanosleep(&ts, NULL);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* The CRC of a header and payload at buf, as the link computes it (frame_seal()). */
static uint32_t
hdr_crc(const uint8_t *buf, uint16_t flags, uint32_t payload_len)
{
	uint32_t crc = link_crc_header(buf);

	if (flags & RPCI_LINK_F_CRC_PAYLOAD) {
		crc = link_crc_update(crc, buf + RPCI_LINK_HDR_LEN, payload_len);
	}
	return crc ^ ~0u;
}

/* Encode a header at buf (payload already after it) and write its CRC. */
static void
hdr_seal(uint8_t *buf, const struct link_hdr *h)
{
	link_hdr_encode(h, buf);
	put_be32(buf + LINK_OFF_CRC, hdr_crc(buf, h->flags, h->payload_len));
}

/* ============================================================ header codec */

static struct link_hdr
hdr_sample(uint8_t kind, uint16_t flags, uint16_t payload_len)
{
	struct link_hdr h;

	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = kind;
	h.flags = flags;
	h.session = 0xdeadbeef;
	h.seq = 0xfffffff0u + kind;
	h.ack = 0x01020304;
	h.payload_len = payload_len;
	h.credit_p = 0x1112;
	h.credit_np = 0x2122;
	h.credit_cpl = 0x3132;
	h.crc = 0x55aa55aa; /* not read by encode */
	return h;
}

static void
test_hdr_roundtrip(void)
{
	uint8_t buf[RPCI_LINK_HDR_LEN + 200];
	struct link_hdr h, out;
	uint8_t kind;
	uint32_t i;

	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 7 + 1);
	}
	for (kind = RPCI_LINK_DATA; kind <= RPCI_LINK_CLOSE_ACK; kind++) {
		uint16_t flags = kind & 1 ? RPCI_LINK_F_CRC_PAYLOAD : 0;

		h = hdr_sample(kind, flags, (uint16_t)(kind * 20));
		link_hdr_encode(&h, buf);
		/* The wire layout: big-endian, CRC and reserved fields zero. */
		CU_ASSERT_EQUAL(buf[LINK_OFF_VERSION], RPCI_LINK_VERSION);
		CU_ASSERT_EQUAL(buf[LINK_OFF_KIND], kind);
		CU_ASSERT_EQUAL(buf[LINK_OFF_FLAGS], 0);
		CU_ASSERT_EQUAL(buf[LINK_OFF_FLAGS + 1], flags);
		CU_ASSERT_EQUAL(get_be32(buf + LINK_OFF_SESSION), 0xdeadbeef);
		CU_ASSERT_EQUAL(buf[LINK_OFF_SESSION], 0xde);
		CU_ASSERT_EQUAL(get_be32(buf + LINK_OFF_SEQ), 0xfffffff0u + kind);
		CU_ASSERT_EQUAL(get_be32(buf + LINK_OFF_ACK), 0x01020304);
		CU_ASSERT_EQUAL(buf[LINK_OFF_ACK + 3], 0x04);
		CU_ASSERT_EQUAL(buf[LINK_OFF_LEN], 0);
		CU_ASSERT_EQUAL(buf[LINK_OFF_LEN + 1], kind * 20);
		CU_ASSERT_EQUAL(buf[LINK_OFF_CREDIT_P], 0x11);
		CU_ASSERT_EQUAL(buf[LINK_OFF_CREDIT_P + 1], 0x12);
		CU_ASSERT_EQUAL(buf[LINK_OFF_CREDIT_NP], 0x21);
		CU_ASSERT_EQUAL(buf[LINK_OFF_CREDIT_CPL + 1], 0x32);
		CU_ASSERT_EQUAL(get_be32(buf + LINK_OFF_CRC), 0);
		CU_ASSERT_EQUAL(buf[LINK_OFF_SPLIT], 0);
		CU_ASSERT_EQUAL(buf[LINK_OFF_SPLIT + 1], 0);
		CU_ASSERT_EQUAL(buf[LINK_OFF_RESERVED], 0);
		CU_ASSERT_EQUAL(buf[LINK_OFF_RESERVED + 1], 0);

		hdr_seal(buf, &h);
		memset(&out, 0xff, sizeof(out));
		CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);
		CU_ASSERT_EQUAL(out.version, RPCI_LINK_VERSION);
		CU_ASSERT_EQUAL(out.kind, kind);
		CU_ASSERT_EQUAL(out.flags, flags);
		CU_ASSERT_EQUAL(out.session, h.session);
		CU_ASSERT_EQUAL(out.seq, h.seq);
		CU_ASSERT_EQUAL(out.ack, h.ack);
		CU_ASSERT_EQUAL(out.payload_len, h.payload_len);
		CU_ASSERT_EQUAL(out.credit_p, h.credit_p);
		CU_ASSERT_EQUAL(out.credit_np, h.credit_np);
		CU_ASSERT_EQUAL(out.credit_cpl, h.credit_cpl);
		CU_ASSERT_EQUAL(out.crc, get_be32(buf + LINK_OFF_CRC));
		CU_ASSERT_EQUAL(out.crc, hdr_crc(buf, flags, h.payload_len));
		/* Exactly the header and its payload is enough. */
		CU_ASSERT_EQUAL(link_hdr_parse(buf, RPCI_LINK_HDR_LEN + h.payload_len, &out),
				LINK_HDR_OK);
	}
	/* Extreme values. */
	memset(&h, 0xff, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = RPCI_LINK_ACK;
	h.flags = 0;
	h.payload_len = 0;
	h.split_len = 0;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, RPCI_LINK_HDR_LEN, &out), LINK_HDR_OK);
	CU_ASSERT_EQUAL(out.session, UINT32_MAX);
	CU_ASSERT_EQUAL(out.seq, UINT32_MAX);
	CU_ASSERT_EQUAL(out.ack, UINT32_MAX);
	CU_ASSERT_EQUAL(out.credit_p, UINT16_MAX);
	CU_ASSERT_EQUAL(out.credit_np, UINT16_MAX);
	CU_ASSERT_EQUAL(out.credit_cpl, UINT16_MAX);
}

static void
test_hdr_crc(void)
{
	uint8_t buf[RPCI_LINK_HDR_LEN + 100];
	struct link_hdr h, out;
	uint32_t bit, refused = 0, crc_errors = 0, accepted = 0;
	uint32_t i;

	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)rng();
	}
	/* With the payload flag: every bit of header and payload is covered. */
	h = hdr_sample(RPCI_LINK_DATA, RPCI_LINK_F_CRC_PAYLOAD, 100);
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL_FATAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);
	for (bit = 0; bit < RPCI_LINK_HDR_LEN * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (link_hdr_parse(buf, sizeof(buf), &out) != LINK_HDR_OK) {
			refused++;
		}
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(refused, RPCI_LINK_HDR_LEN * 8);
	/* A flipped sequence bit is caught by the CRC alone. */
	buf[LINK_OFF_SEQ + 2] ^= 0x10;
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_CRC);
	buf[LINK_OFF_SEQ + 2] ^= 0x10;
	for (bit = RPCI_LINK_HDR_LEN * 8; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (link_hdr_parse(buf, sizeof(buf), &out) == LINK_HDR_CRC) {
			crc_errors++;
		}
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(crc_errors, 100 * 8);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);

	/* Without it: the header still is, the payload is not. */
	h.flags = 0;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL_FATAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);
	refused = 0;
	for (bit = 0; bit < RPCI_LINK_HDR_LEN * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (link_hdr_parse(buf, sizeof(buf), &out) != LINK_HDR_OK) {
			refused++;
		}
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(refused, RPCI_LINK_HDR_LEN * 8);
	for (bit = RPCI_LINK_HDR_LEN * 8; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (link_hdr_parse(buf, sizeof(buf), &out) == LINK_HDR_OK) {
			accepted++;
		}
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(accepted, 100 * 8);

	/* The CRC is CRC32C: the standard check value of "123456789". */
	CU_ASSERT_EQUAL(link_crc_update(~0u, "123456789", 9) ^ ~0u, 0xe3069283);
}

/* CRC32C bit by bit: what the three-stream link_crc_update() must equal. */
static uint32_t
crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++) {
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
		}
	}
	return crc;
}

static void
test_crc_streams(void)
{
	static uint8_t buf[3 * 4096 + 64];
	uint32_t lens[] = { 0, 1, 7, 8, 383, 384, 385, 767, 768, 1408, 1472, 3071, 3072, 3073,
			    4096, 4160, 8192, 9000, 3 * 4096 + 56 };
	unsigned int i, off, bad = 0;
	uint32_t seed = 12345, crc;

	for (i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (i = 0; i < RTE_DIM(lens); i++) {
		for (off = 0; off < 8; off++) {
			if (lens[i] + off > sizeof(buf)) {
				continue;
			}
			if (link_crc_update(~0u, buf + off, lens[i]) !=
			    crc32c_bitwise(~0u, buf + off, lens[i])) {
				bad++;
			}
		}
	}
	CHECK_EQ(bad, 0);
	/* Chained over pieces as a frame's segments are: the same as in one go. */
	crc = link_crc_update(~0u, buf, 1000);
	crc = link_crc_update(crc, buf + 1000, 5000);
	CU_ASSERT_EQUAL(crc, crc32c_bitwise(~0u, buf, 6000));
	/* Any flipped bit of a 4 KiB payload changes it. */
	crc = link_crc_update(~0u, buf, 4096);
	for (i = 0; i < 4096 * 8; i += 97) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (link_crc_update(~0u, buf, 4096) == crc) {
			bad++;
		}
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK_EQ(bad, 0);
}

static void
test_hdr_refused(void)
{
	uint8_t buf[RPCI_LINK_HDR_LEN + 64];
	struct link_hdr h, out;
	uint32_t len;

	memset(buf, 0xa5, sizeof(buf));
	h = hdr_sample(RPCI_LINK_DATA, RPCI_LINK_F_CRC_PAYLOAD, 40);
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL_FATAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);

	/* Shorter than a header. */
	for (len = 0; len < RPCI_LINK_HDR_LEN; len++) {
		CU_ASSERT_EQUAL(link_hdr_parse(buf, len, &out), LINK_HDR_SHORT);
	}
	/* payload_len longer than what follows the header. */
	CU_ASSERT_EQUAL(link_hdr_parse(buf, RPCI_LINK_HDR_LEN + 39, &out), LINK_HDR_SHORT);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, RPCI_LINK_HDR_LEN, &out), LINK_HDR_SHORT);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, RPCI_LINK_HDR_LEN + 40, &out), LINK_HDR_OK);
	h.payload_len = UINT16_MAX;
	link_hdr_encode(&h, buf); /* refused before the CRC is looked at */
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_SHORT);
	h.payload_len = 40;

	/* Bad version (CRC right). */
	h.version = 0;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_VERSION);
	h.version = RPCI_LINK_VERSION + 1;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_VERSION);
	h.version = RPCI_LINK_VERSION;

	/* Unknown kinds. */
	h.kind = 0;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_KIND);
	h.kind = 9;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_KIND);
	h.kind = 0xff;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_KIND);
	h.kind = RPCI_LINK_DATA;

	/* Unknown flag bits, KEPT on anything but a NAK, and traffic class 3 (there are three). */
	h.flags = 0x0010;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.flags = RPCI_LINK_F_KEPT;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.kind = RPCI_LINK_NAK;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);
	CU_ASSERT_EQUAL(out.flags, RPCI_LINK_F_KEPT);
	h.kind = RPCI_LINK_DATA;
	h.flags = RPCI_LINK_F_CLASS_MASK;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.flags = (uint16_t)(RPCI_LINK_CLASS_CPL << RPCI_LINK_F_CLASS_SHIFT);
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);
	CU_ASSERT_EQUAL(out.flags, RPCI_LINK_CLASS_CPL << RPCI_LINK_F_CLASS_SHIFT);
	h.flags = 0x8000 | RPCI_LINK_F_CRC_PAYLOAD;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.flags = RPCI_LINK_F_CRC_PAYLOAD;

	/* Reserved field not zero (the CRC covers it and is right). */
	for (len = 0; len < 2; len++) {
		hdr_seal(buf, &h);
		buf[LINK_OFF_RESERVED + len] = 0x40;
		put_be32(buf + LINK_OFF_CRC, hdr_crc(buf, h.flags, h.payload_len));
		CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	}
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);

	/* A split length without the flag, or the flag with none or too much. */
	h.kind = RPCI_LINK_DATA;
	h.flags = RPCI_LINK_F_CRC_PAYLOAD;
	h.split_len = 1;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.flags = RPCI_LINK_F_CRC_PAYLOAD | RPCI_LINK_F_SPLIT;
	h.split_len = 0;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.split_len = (uint16_t)(h.payload_len + 1);
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.split_len = h.payload_len;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);
	CU_ASSERT_EQUAL(out.split_len, h.payload_len);
	CU_ASSERT_EQUAL(out.flags, RPCI_LINK_F_CRC_PAYLOAD | RPCI_LINK_F_SPLIT);
	h.split_len = 16;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_OK);
	CU_ASSERT_EQUAL(out.split_len, 16);
	/* The CRC covers the split length. */
	buf[LINK_OFF_SPLIT + 1] ^= 1;
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_CRC);
	/* Only DATA frames are split. */
	h.kind = RPCI_LINK_ACK;
	hdr_seal(buf, &h);
	CU_ASSERT_EQUAL(link_hdr_parse(buf, sizeof(buf), &out), LINK_HDR_FLAGS);
	h.split_len = 0;
	h.flags = RPCI_LINK_F_CRC_PAYLOAD;
}

static void
test_open_msg_codec(void)
{
	struct rpci_link_open_msg m, out;
	uint8_t buf[LINK_OPEN_MSG_LEN + 8];
	uint32_t i;

	memset(&m, 0, sizeof(m));
	m.status = -EBUSY;
	m.function = 0x1234;
	m.requester_id = 0x0100;
	m.completer_id = 0x0203;
	m.max_payload = 1408;
	m.replay_frames = 0x00010000;
	snprintf(m.reason, sizeof(m.reason), "function 3 is busy");
	memset(buf, 0xee, sizeof(buf));
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(get_be32(buf), (uint32_t)-EBUSY);
	CU_ASSERT_EQUAL(buf[4], 0x12);
	CU_ASSERT_EQUAL(buf[5], 0x34);
	for (i = 16; i < 24; i++) {
		CU_ASSERT_EQUAL(buf[i], 0);
	}
	CU_ASSERT_EQUAL(memcmp(buf + 24, "function 3 is busy", 18), 0);
	CU_ASSERT_EQUAL(buf[24 + 18], 0);
	CU_ASSERT_EQUAL(buf[LINK_OPEN_MSG_LEN - 1], 0);
	CU_ASSERT_EQUAL(buf[LINK_OPEN_MSG_LEN], 0xee); /* nothing written past the body */

	memset(&out, 0x55, sizeof(out));
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), 0);
	CU_ASSERT_EQUAL(out.lease_id, 0);
	CU_ASSERT_EQUAL(out.status, -EBUSY);
	CU_ASSERT_EQUAL(out.function, 0x1234);
	CU_ASSERT_EQUAL(out.requester_id, 0x0100);
	CU_ASSERT_EQUAL(out.completer_id, 0x0203);
	CU_ASSERT_EQUAL(out.max_payload, 1408);
	CU_ASSERT_EQUAL(out.replay_frames, 0x00010000);
	CU_ASSERT_STRING_EQUAL(out.reason, "function 3 is busy");

	/* The selector's lease id, big-endian after the reason. */
	m.lease_id = 0x0102030405060708ull;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(buf[88], 0x01);
	CU_ASSERT_EQUAL(buf[95], 0x08);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), 0);
	CU_ASSERT_EQUAL(out.lease_id, 0x0102030405060708ull);
	m.lease_id = 0;
	link_open_msg_encode(&m, buf);

	/* Too short. */
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN - 1, &out), -EBADMSG);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, 0, &out), -EBADMSG);

	/* Reserved bytes. */
	for (i = 22; i < 24; i++) {
		link_open_msg_encode(&m, buf);
		buf[i] = 1;
		CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), -EBADMSG);
	}
	/* Credits: each class's, below 2^15. */
	m.credits[RPCI_LINK_CLASS_P] = 512;
	m.credits[RPCI_LINK_CLASS_NP] = 256;
	m.credits[RPCI_LINK_CLASS_CPL] = 0x7fff;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), 0);
	CU_ASSERT_EQUAL(out.credits[RPCI_LINK_CLASS_P], 512);
	CU_ASSERT_EQUAL(out.credits[RPCI_LINK_CLASS_NP], 256);
	CU_ASSERT_EQUAL(out.credits[RPCI_LINK_CLASS_CPL], 0x7fff);
	m.credits[RPCI_LINK_CLASS_NP] = 0x8000;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), -EBADMSG);
	memset(m.credits, 0, sizeof(m.credits));

	/* Status: 0 and errnos only. */
	m.status = 0;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), 0);
	CU_ASSERT_EQUAL(out.status, 0);
	m.status = 1;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), -EBADMSG);
	m.status = INT32_MAX;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), -EBADMSG);
	m.status = -4096;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), -EBADMSG);
	m.status = -4095;
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), 0);
	m.status = 0;

	/* Reasons are made printable. */
	link_open_msg_encode(&m, buf);
	memset(buf + 24, 0, 64);
	memcpy(buf + 24, "a\x01" "b\x7f\xff" "c\n", 7);
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), 0);
	CU_ASSERT_STRING_EQUAL(out.reason, "a?b??c?");

	/* A reason fills at most 63 characters, always terminated. */
	memset(m.reason, 'x', sizeof(m.reason)); /* not terminated */
	link_open_msg_encode(&m, buf);
	CU_ASSERT_EQUAL(buf[24 + 62], 'x');
	CU_ASSERT_EQUAL(buf[24 + 63], 0);
	buf[24 + 63] = 'y'; /* a peer that fills all 64: the last one is dropped */
	CU_ASSERT_EQUAL(link_open_msg_decode(buf, LINK_OPEN_MSG_LEN, &out), 0);
	CU_ASSERT_EQUAL(strlen(out.reason), 63);
	CU_ASSERT_EQUAL(out.reason[62], 'x');
}

static void
test_max_payload_for_mtu(void)
{
	uint32_t mtu, v, prev = 0, bad = 0;

	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(1500), 1408);
	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(9000), 4096);
	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(0), 0);
	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(64), 0);
	/* the smallest that carries 64 with the header, counter and tag and a message header */
	mtu = RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + RPCI_TLP_HDR_MAX_LEN + 64;
	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(mtu - 1), 0);
	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(mtu), 64);
	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(mtu + 63), 64);
	CU_ASSERT_EQUAL(rpci_link_max_payload_for_mtu(mtu + 64), 128);
	for (mtu = 0; mtu <= 9600; mtu++) {
		v = rpci_link_max_payload_for_mtu(mtu);
		/*
		 * A multiple of 64, fits the MTU with both headers (and an
		 * authenticated frame's counter and tag), never shrinks.
		 */
		if (v % 64 != 0 || v > RPCI_TLP_MAX_PAYLOAD || v < prev ||
		    (v != 0 && v + RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + RPCI_TLP_HDR_MAX_LEN >
		     mtu) ||
		    (v < RPCI_TLP_MAX_PAYLOAD &&
		     v + 64 + RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + RPCI_TLP_HDR_MAX_LEN <=
		     mtu)) {
			bad++;
		}
		prev = v;
	}
	CHECK_EQ(bad, 0);
}

static void
test_idle_backoff(void)
{
	struct rpci_idle idle;
	uint64_t t0, us;
	uint32_t i;

	/* Spinning: never sleeps (10000 sleeps would take far more than 20 ms). */
	rpci_idle_init(&idle, false, 0, 1000);
	t0 = rte_get_timer_cycles();
	for (i = 0; i < 10000; i++) {
		rpci_idle_account(&idle, 0);
	}
	us = us_since(t0);
	CHECK_LE(us, 20000);
	CHECK_EQ(idle.sleep_us, 1);

	/* Adaptive, no spinning: every empty poll sleeps at least 1 us. */
	rpci_idle_init(&idle, true, 0, 1);
	t0 = rte_get_timer_cycles();
	for (i = 0; i < 50; i++) {
		rpci_idle_account(&idle, 0);
	}
	us = us_since(t0);
	CHECK_GE(us, 50);
	CHECK_EQ(idle.empty, 50);
	CHECK_EQ(idle.sleep_us, 1);

	/* Spins spin_polls - 1 times, then sleeps, doubling up to the maximum. */
	rpci_idle_init(&idle, true, 10, 64);
	for (i = 0; i < 9; i++) {
		rpci_idle_account(&idle, 0);
	}
	CHECK_EQ(idle.empty, 9);
	CHECK_EQ(idle.sleep_us, 1);
	rpci_idle_account(&idle, 0);
	CHECK_EQ(idle.sleep_us, 2);
	for (i = 0; i < 10; i++) {
		rpci_idle_account(&idle, 0);
	}
	CHECK_EQ(idle.sleep_us, 64);
	/* Work resets it: spinning again. */
	rpci_idle_account(&idle, 3);
	CHECK_EQ(idle.empty, 0);
	CHECK_EQ(idle.sleep_us, 1);
	t0 = rte_get_timer_cycles();
	for (i = 0; i < 9; i++) {
		rpci_idle_account(&idle, 0);
	}
	CHECK_EQ(idle.sleep_us, 1);
	CHECK_LE(us_since(t0), 5000);
}

/* ================================================================ sessions */

/* What one end's callbacks saw, and how they answer. */
struct side {
	/* open */
	uint32_t open_calls;
	struct rpci_link_open_msg open_req;
	int open_ret;
	const char *open_reason;
	struct rpci_link_session *accepted;
	/* down (may run on the server thread: read after joining it) */
	uint32_t down_calls;
	enum rpci_link_state down_state;
	struct rpci_link_session *down_s;
	/* rx_ctrl */
	uint32_t ctrl_calls;
	struct rte_ether_addr ctrl_src;
	uint8_t ctrl_body[RPCI_LINK_CTRL_MAX];
	uint16_t ctrl_len;
	/* rx_msg: checks each message against the plan */
	uint32_t rx_calls;
	uint32_t eagain_left;
	uint64_t eagain_until; /* and until this TSC */
	uint32_t eagain_calls;
	uint32_t refuse_index;
	uint32_t refused_calls;
	uint32_t next;
	uint32_t delivered;
	uint32_t bad;
	uint32_t wrong_session;
	/* raw: keep the last message instead of checking it against the plan */
	bool raw;
	uint8_t block_classes;  /* raw: decline messages of these classes (bit per class) */
	uint8_t order[64];      /* raw: types in the order they were taken */
	uint32_t raw_calls;
	struct rpci_tlp raw_msg;
	uint8_t raw_payload[RPCI_TLP_MAX_PAYLOAD];
};

static struct rte_ring *g_ring_cs; /* client TX -> server RX */
static struct rte_ring *g_ring_sc; /* server TX -> client RX */
static uint16_t g_port_c;
static uint16_t g_port_s;
static struct rte_mempool *g_pool_c;
static struct rte_mempool *g_ext_c;
static struct rte_mempool *g_pool_s;
static struct rte_mempool *g_ext_s;
static unsigned int g_avail[4];
static bool g_env_ok;

static const struct rte_ether_addr g_mac_c = { .addr_bytes = { 0x02, 0, 0, 0, 0, 0x0c } };
static const struct rte_ether_addr g_mac_s = { .addr_bytes = { 0x02, 0, 0, 0, 0, 0x05 } };
static const struct rte_ether_addr g_mac_other = { .addr_bytes = { 0x02, 0, 0, 0, 0, 0x99 } };

static struct rpci_link *g_cl;
static struct rpci_link *g_sv;
static struct side g_cli;
static struct side g_srv;

/* Set while a thread polls the server: then pump_once() polls the client only. */
static bool g_threaded;
static volatile bool g_stop;
/* Applied to the server's RX ring between the two polls of pump_once(). */
static void (*g_filter)(void);
static uint32_t g_filtered;

/* Plan of messages: message i is an MWr of g_plan_len[i] bytes from g_pattern + g_plan_off[i]. */
static uint8_t g_pattern[PATTERN_LEN] __rte_aligned(64);
static uint16_t g_plan_len[PLAN_MAX];
static uint32_t g_plan_off[PLAN_MAX];
static uint32_t g_plan_n;

static uint64_t
plan_addr(uint32_t i)
{
	/* A message too long for the offset inside its 4 KiB page starts on it. */
	if (g_plan_len[i] > 4096 - 6 * 64) {
		return 0x100000000ull + ((uint64_t)i << 12);
	}
	return 0x100000000ull + ((uint64_t)i << 12) + (i % 7) * 64;
}

/* Sizes 4..MAX_PAYLOAD: tiny (batched), up to the copy threshold, above it (attached). */
static void
plan_make(uint32_t n, uint32_t seed)
{
	uint32_t i, len;

	CU_ASSERT_FATAL(n <= PLAN_MAX);
	g_rng = seed;
	for (i = 0; i < n; i++) {
		uint32_t r = rng();

		switch (i % 5) {
		case 0:
		case 1:
			len = 4 + (r % 8) * 4;
			break;
		case 2:
			len = 36 + (r % ((COPY_THRESHOLD - 36) / 4 + 1)) * 4;
			break;
		case 3:
			len = COPY_THRESHOLD + 4 +
			      (r % ((MAX_PAYLOAD - COPY_THRESHOLD - 4) / 4 + 1)) * 4;
			break;
		default:
			len = 4 + (r % (MAX_PAYLOAD / 4)) * 4;
			break;
		}
		g_plan_len[i] = (uint16_t)len;
		g_plan_off[i] = (rng() % (PATTERN_LEN - MAX_PAYLOAD)) & ~3u;
	}
	/* The edges. */
	if (n >= 4) {
		g_plan_len[0] = 4;
		g_plan_len[1] = MAX_PAYLOAD;
		g_plan_len[2] = COPY_THRESHOLD;
		g_plan_len[3] = COPY_THRESHOLD + 4;
	}
	g_plan_n = n;
}

/* Every plan message of one size. */
static void
plan_fixed(uint32_t n, uint16_t len)
{
	uint32_t i;

	CU_ASSERT_FATAL(n <= PLAN_MAX);
	for (i = 0; i < n; i++) {
		g_plan_len[i] = len;
		g_plan_off[i] = (i * 68) % (PATTERN_LEN - MAX_PAYLOAD);
	}
	g_plan_n = n;
}

static void
plan_msg(uint32_t i, struct rpci_tlp *m)
{
	memset(m, 0, sizeof(*m));
	m->type = RPCI_TLP_MWR;
	m->requester_id = REQ_ID;
	m->tag = (uint16_t)i;
	CU_ASSERT(rpci_tlp_set_byte_range(m, plan_addr(i), g_plan_len[i]) == 0);
}

static bool
plan_check(uint32_t i, const struct rpci_tlp *msg)
{
	uint32_t len;

	if (i >= g_plan_n) {
		return false;
	}
	len = g_plan_len[i];
	return msg->type == RPCI_TLP_MWR && msg->address == plan_addr(i) &&
	       msg->length_dw == len / 4 && msg->requester_id == REQ_ID &&
	       msg->tag == (uint16_t)i && msg->first_be == 0xf &&
	       msg->last_be == (len == 4 ? 0 : 0xf) && msg->payload != NULL &&
	       memcmp(msg->payload, g_pattern + g_plan_off[i], len) == 0;
}

/* ---------------------------------------------------------------- callbacks */

static int
on_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	struct side *sd = arg;
	uint32_t i = sd->next;

	sd->rx_calls++;
	if (sd->eagain_left > 0) {
		sd->eagain_left--;
		sd->eagain_calls++;
		return -EAGAIN;
	}
	if (sd->eagain_until != 0 && rte_get_timer_cycles() < sd->eagain_until) {
		sd->eagain_calls++;
		return -EAGAIN;
	}
	if (sd->accepted != NULL && s != sd->accepted) {
		sd->wrong_session++;
	}
	if (sd->raw) {
		bool posted = msg->type == RPCI_TLP_MWR || msg->type == RPCI_TLP_MSG;
		bool cpl = msg->type == RPCI_TLP_CPL || msg->type == RPCI_TLP_CPLD;
		uint8_t cls = posted ? RPCI_LINK_CLASS_P :
			(cpl ? RPCI_LINK_CLASS_CPL : RPCI_LINK_CLASS_NP);

		if (sd->block_classes & (1u << cls)) {
			sd->eagain_calls++;
			return -EAGAIN;
		}
		if (sd->raw_calls < RTE_DIM(sd->order)) {
			sd->order[sd->raw_calls] = msg->type;
		}
		sd->raw_calls++;
		sd->raw_msg = *msg;
		sd->raw_msg.payload = NULL;
		memset(sd->raw_payload, 0x5a, sizeof(sd->raw_payload));
		if (msg->payload != NULL) {
			memcpy(sd->raw_payload, msg->payload, rpci_tlp_payload_len(msg));
		}
		return 0;
	}
	if (!plan_check(i, msg)) {
		if (sd->bad < 3) {
			printf("\n    message %u: got %s addr %#" PRIx64 " len %u tag %u\n", i,
			       rpci_tlp_type_name(msg->type), msg->address, msg->length_dw * 4,
			       msg->tag);
		}
		sd->bad++;
	}
	sd->next++;
	sd->delivered++;
	if (i == sd->refuse_index) {
		sd->refused_calls++;
		return -EPERM;
	}
	return 0;
}

static int
on_open(struct rpci_link_session *s, const struct rpci_link_open_msg *req,
	struct rpci_link_open_msg *ack, void *arg)
{
	struct side *sd = arg;

	sd->open_calls++;
	sd->open_req = *req;
	if (sd->open_ret < 0) {
		snprintf(ack->reason, sizeof(ack->reason), "%s", sd->open_reason);
		return sd->open_ret;
	}
	sd->accepted = s;
	ack->completer_id = COMPLETER_ID;
	return 0;
}

static void
on_down(struct rpci_link_session *s, enum rpci_link_state state, void *arg)
{
	struct side *sd = arg;

	sd->down_calls++;
	sd->down_state = state;
	sd->down_s = s;
}

static void
on_rx_ctrl(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
	   uint16_t len, void *arg)
{
	struct side *sd = arg;

	RTE_SET_USED(link);
	sd->ctrl_calls++;
	sd->ctrl_src = *src;
	sd->ctrl_len = len;
	memcpy(sd->ctrl_body, body, RTE_MIN(len, (uint16_t)sizeof(sd->ctrl_body)));
}

static const struct rpci_link_ops g_ops = {
	.rx_msg = on_rx_msg,
	.open = on_open,
	.down = on_down,
	.rx_ctrl = on_rx_ctrl,
};

/* A server that serves nothing. */
static const struct rpci_link_ops g_ops_no_open = {
	.rx_msg = on_rx_msg,
	.down = on_down,
};

/* ------------------------------------------------------------------ frames */

static void
ring_drain(struct rte_ring *r)
{
	struct rte_mbuf *m[64];
	unsigned int n, i;

	while ((n = rte_ring_dequeue_burst(r, (void **)m, RTE_DIM(m), NULL)) > 0) {
		for (i = 0; i < n; i++) {
			rte_pktmbuf_free(m[i]);
		}
	}
}

static void
ring_put(struct rte_ring *r, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(r, m) != 0) {
		CU_FAIL("ring full");
		rte_pktmbuf_free(m);
	}
}

/* A reference more on every segment of a frame (to enqueue it twice). */
static void
frame_ref(struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next) {
		rte_mbuf_refcnt_update(m, 1);
	}
}

static uint8_t g_scratch[RPCI_LINK_FRAME_MAX];

/* Copy a frame (maybe chained) to g_scratch and parse its link header. */
static enum link_hdr_error
frame_parse(const struct rte_mbuf *m, struct link_hdr *h)
{
	const void *p;

	if (m->pkt_len < ETH_LEN || m->pkt_len > sizeof(g_scratch)) {
		return LINK_HDR_SHORT;
	}
	p = rte_pktmbuf_read(m, 0, m->pkt_len, g_scratch);
	if (p != g_scratch) {
		memcpy(g_scratch, p, m->pkt_len);
	}
	return link_hdr_parse(g_scratch + ETH_LEN, m->pkt_len - ETH_LEN, h);
}

/* A copy of a frame in one fresh segment, with byte off XORed with mask. */
static struct rte_mbuf *
frame_copy_flip(const struct rte_mbuf *m, uint32_t off, uint8_t mask)
{
	struct rte_mbuf *c = rte_pktmbuf_alloc(g_pool_s);
	uint8_t *d;
	const void *src;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	d = (uint8_t *)rte_pktmbuf_append(c, (uint16_t)m->pkt_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	src = rte_pktmbuf_read(m, 0, m->pkt_len, d);
	if (src != d) {
		memcpy(d, src, m->pkt_len);
	}
	CU_ASSERT_FATAL(off < m->pkt_len);
	d[off] ^= mask;
	return c;
}

/*
 * A frame built by hand: h as given (its payload_len too), then len body
 * bytes; the CRC is right unless bad_crc.
 */
static struct rte_mbuf *
frame_build(const struct rte_ether_addr *dst, const struct rte_ether_addr *src,
	    uint16_t ethertype, const struct link_hdr *h, const void *body, uint16_t len,
	    bool bad_crc)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool_s);
	struct rte_ether_hdr *eth;
	uint8_t *p;
	uint32_t crc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(L2_HDRS + len));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	eth = (struct rte_ether_hdr *)p;
	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(src, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(ethertype);
	link_hdr_encode(h, p + ETH_LEN);
	if (len > 0) {
		memcpy(p + L2_HDRS, body, len);
	}
	crc = link_crc_header(p + ETH_LEN);
	if (h->flags & RPCI_LINK_F_CRC_PAYLOAD) {
		crc = link_crc_update(crc, p + L2_HDRS, len);
	}
	crc ^= ~0u;
	if (bad_crc) {
		crc ^= 0x00010000;
	}
	put_be32(p + ETH_LEN + LINK_OFF_CRC, crc);
	return m;
}

/* ------------------------------------------------------------- environment */

/*
 * Authenticated sessions (suite link_auth): the keys of the two hosts of a
 * deployment made for the run, and whether the links get them and encrypt.
 */
static struct rpci_conf *g_auth_conf;
static struct rpci_auth *g_auth_c;
static struct rpci_auth *g_auth_s;
static char g_auth_dir[64];
static bool g_use_auth;
static bool g_use_encrypt;

static struct rpci_link_params
params_make(bool server)
{
	struct rpci_link_params p;

	memset(&p, 0, sizeof(p));
	p.port_id = server ? g_port_s : g_port_c;
	p.queue_id = 0;
	p.mac = server ? g_mac_s : g_mac_c;
	p.crc_payload = true;
	p.mtu = MTU;
	p.replay_frames = 64;
	p.retransmit_us = 1000;
	p.retransmit_max = 12;
	p.keepalive_ms = 50;
	p.dead_ms = 2000;
	p.burst = 32;
	p.copy_threshold = COPY_THRESHOLD;
	p.pool = server ? g_pool_s : g_pool_c;
	p.ext_pool = server ? g_ext_s : g_ext_c;
	p.ops = &g_ops;
	p.ops_arg = server ? &g_srv : &g_cli;
	if (g_use_auth) {
		p.auth = server ? g_auth_s : g_auth_c;
		p.encrypt = g_use_encrypt;
	}
	return p;
}

static void
side_reset(struct side *sd)
{
	memset(sd, 0, sizeof(*sd));
	sd->refuse_index = UINT32_MAX;
}

/* Free both links and whatever is on the wire. */
static void
env_release(void)
{
	rpci_link_free(g_cl);
	rpci_link_free(g_sv);
	g_cl = NULL;
	g_sv = NULL;
	ring_drain(g_ring_cs);
	ring_drain(g_ring_sc);
	g_filter = NULL;
	g_threaded = false;
}

static void
env_start_with(const struct rpci_link_params *pc, const struct rpci_link_params *ps)
{
	CU_ASSERT_FATAL(g_env_ok);
	env_release();
	side_reset(&g_cli);
	side_reset(&g_srv);
	g_filtered = 0;
	g_cl = rpci_link_create(pc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_cl);
	g_sv = rpci_link_create(ps);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_sv);
}

static void
env_start(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);

	env_start_with(&pc, &ps);
}

/* Free everything; every mbuf must be back in its pool. */
static void
env_stop(void)
{
	env_release();
	CHECK_EQ(rte_mempool_avail_count(g_pool_c), g_avail[0]);
	CHECK_EQ(rte_mempool_avail_count(g_ext_c), g_avail[1]);
	CHECK_EQ(rte_mempool_avail_count(g_pool_s), g_avail[2]);
	CHECK_EQ(rte_mempool_avail_count(g_ext_s), g_avail[3]);
}

static void
pump_once(void)
{
	rpci_link_poll(g_cl);
	if (g_filter != NULL) {
		g_filter();
	}
	if (!g_threaded) {
		rpci_link_poll(g_sv);
	}
}

static void
pump_for(uint32_t ms)
{
	uint64_t t0 = rte_get_timer_cycles();

	while (ms_since(t0) < ms) {
		pump_once();
	}
}

/* Pump until the server has consumed n messages and s's frames are all acked. */
static bool
pump_until_delivered(struct rpci_link_session *s, uint32_t n, uint32_t ms)
{
	uint64_t t0 = rte_get_timer_cycles();

	for (;;) {
		if (g_srv.delivered >= n &&
		    rpci_link_session_acked(s, rpci_link_session_tx_seq(s))) {
			return true;
		}
		if (ms_since(t0) > ms) {
			printf("\n    delivered %u of %u after %u ms\n", g_srv.delivered, n, ms);
			return false;
		}
		pump_once();
	}
}

/* Send plan messages [from, to); with pump, poll while the window is full. */
static int
send_plan(struct rpci_link_session *s, uint32_t from, uint32_t to, bool pump)
{
	uint64_t t0 = rte_get_timer_cycles();
	struct rpci_tlp m;
	uint32_t i;
	int ret;

	for (i = from; i < to; i++) {
		plan_msg(i, &m);
		for (;;) {
			ret = rpci_link_send(s, &m, g_pattern + g_plan_off[i], 0);
			if (ret != -EAGAIN || !pump || ms_since(t0) > 5000) {
				break;
			}
			pump_once();
		}
		if (ret != 0) {
			printf("\n    send of message %u: %d\n", i, ret);
			return ret;
		}
	}
	return 0;
}

/* The answer to a session's OPEN, pumping both ends for at most a second. */
static int
answer_wait(struct rpci_link_session *s, struct rpci_link_open_msg *ack)
{
	uint64_t t0 = rte_get_timer_cycles();
	int ret;

	while ((ret = rpci_link_session_answer(s, ack)) == -EINPROGRESS && ms_since(t0) < 1000) {
		pump_once();
	}
	return ret;
}

/* Open a session from the client to the server, pumping both. */
static struct rpci_link_session *
session_open(struct rpci_link_open_msg *ack_out)
{
	struct rpci_link_open_msg req, ack;
	struct rpci_link_session *s;
	int ret;

	memset(&req, 0, sizeof(req));
	req.function = FUNCTION;
	req.requester_id = REQ_ID;
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ret = answer_wait(s, &ack);
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CU_ASSERT_EQUAL_FATAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_srv.accepted);
	if (ack_out != NULL) {
		*ack_out = ack;
	}
	/* The server's RX ring is empty after this. */
	pump_once();
	return s;
}

/*
 * Send plan messages [from, to) without letting the server poll, flush the
 * client, and take the DATA frames off the server's RX ring, in order.
 */
static unsigned int
burst_take(struct rpci_link_session *s, uint32_t from, uint32_t to, struct rte_mbuf **pkts)
{
	struct link_hdr h;
	unsigned int n, i;
	uint32_t seq0 = rpci_link_session_tx_seq(s);

	CU_ASSERT_EQUAL_FATAL(rte_ring_count(g_ring_cs), 0);
	CU_ASSERT_EQUAL_FATAL(send_plan(s, from, to, false), 0);
	rpci_link_flush(g_cl);
	n = rte_ring_dequeue_burst(g_ring_cs, (void **)pkts, TAKE_MAX, NULL);
	CHECK_EQ(n, rpci_link_session_tx_seq(s) - seq0);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(frame_parse(pkts[i], &h), LINK_HDR_OK);
		CU_ASSERT_EQUAL(h.kind, RPCI_LINK_DATA);
		CU_ASSERT_EQUAL(h.seq, seq0 + i);
		CU_ASSERT_EQUAL(h.session, rpci_link_session_id(s));
	}
	return n;
}

/* Everything sent so far arrived once, in order, intact. */
static void
check_delivered(uint32_t n)
{
	CHECK_EQ(g_srv.delivered, n);
	CHECK_EQ(g_srv.next, n);
	CHECK_EQ(g_srv.bad, 0);
	CHECK_EQ(g_srv.wrong_session, 0);
	CHECK_EQ(g_cli.rx_calls, 0);
}

/* ------------------------------------------------------------------- tests */

static void
test_create_params(void)
{
	struct rpci_link_params p;
	struct rpci_link *l;

	CU_ASSERT_FATAL(g_env_ok);
	env_release();
	p = params_make(false);
	l = rpci_link_create(&p);
	CU_ASSERT_PTR_NOT_NULL(l);
	if (l != NULL) {
		CU_ASSERT_EQUAL(rpci_link_max_payload(l), MAX_PAYLOAD);
		CU_ASSERT(rte_is_same_ether_addr(rpci_link_mac(l), &g_mac_c));
		rpci_link_free(l);
	}
	p.max_payload = 512;
	l = rpci_link_create(&p);
	CU_ASSERT_PTR_NOT_NULL(l);
	if (l != NULL) {
		CU_ASSERT_EQUAL(rpci_link_max_payload(l), 512);
		rpci_link_free(l);
	}

#define REFUSED(field, value) \
	do { \
		p = params_make(false); \
		p.field = value; \
		rte_errno = 0; \
		l = rpci_link_create(&p); \
		CU_ASSERT_PTR_NULL(l); \
		CU_ASSERT_EQUAL(rte_errno, EINVAL); \
		rpci_link_free(l); \
	} while (0)
	REFUSED(pool, NULL);
	REFUSED(ext_pool, NULL);
	REFUSED(ops, NULL);
	REFUSED(replay_frames, 4);
	REFUSED(replay_frames, 65536);
	REFUSED(burst, 0);
	REFUSED(retransmit_us, 0);
	REFUSED(retransmit_max, 0);
	REFUSED(keepalive_ms, 0);
	REFUSED(dead_ms, 50);
	REFUSED(mtu, 100);
	REFUSED(max_payload, 100);
	REFUSED(max_payload, 1472);
#undef REFUSED
	rpci_link_free(NULL);
	env_stop();
}

static void
test_open_accept(void)
{
	struct rpci_link_open_msg ack;
	struct rpci_link_session *s, *ss;
	struct rpci_link_stats st;
	int marker;

	env_start();
	s = session_open(&ack);
	ss = g_srv.accepted;
	/* What the server was asked. */
	CHECK_EQ(g_srv.open_calls, 1);
	CHECK_EQ(g_srv.open_req.function, FUNCTION);
	CHECK_EQ(g_srv.open_req.requester_id, REQ_ID);
	CHECK_EQ(g_srv.open_req.max_payload, MAX_PAYLOAD);
	CHECK_EQ(g_srv.open_req.replay_frames, 64);
	/* What it answered. */
	CHECK_EQ(ack.status, 0);
	CHECK_EQ(ack.completer_id, COMPLETER_ID);
	CHECK_EQ(ack.function, FUNCTION);
	CHECK_EQ(ack.requester_id, REQ_ID);
	CHECK_EQ(ack.max_payload, MAX_PAYLOAD);
	CHECK_EQ(ack.replay_frames, 64);
	/* Both ends agree on the session. */
	CU_ASSERT_EQUAL(rpci_link_session_state(ss), RPCI_LINK_S_OPEN);
	CU_ASSERT_NOT_EQUAL(rpci_link_session_id(s), 0);
	CU_ASSERT_EQUAL(rpci_link_session_id(ss), rpci_link_session_id(s));
	CU_ASSERT(rte_is_same_ether_addr(rpci_link_session_peer(s), &g_mac_s));
	CU_ASSERT(rte_is_same_ether_addr(rpci_link_session_peer(ss), &g_mac_c));
	CU_ASSERT_PTR_EQUAL(rpci_link_session_link(s), g_cl);
	CU_ASSERT_PTR_EQUAL(rpci_link_session_link(ss), g_sv);
	CU_ASSERT_EQUAL(rpci_link_session_answer(ss, NULL), -EINVAL); /* not opened by us */
	CU_ASSERT_EQUAL(rpci_link_session_answer(s, NULL), 0);
	CU_ASSERT_PTR_NULL(rpci_link_session_priv(s));
	rpci_link_session_set_priv(s, &marker);
	CU_ASSERT_PTR_EQUAL(rpci_link_session_priv(s), &marker);
	CHECK_EQ(rpci_link_tx_room(s), 64);
	CU_ASSERT(rpci_link_session_acked(s, rpci_link_session_tx_seq(s)));
	rpci_link_stats_get(g_sv, &st);
	CHECK_EQ(st.rx_frames, 1);
	CHECK_EQ(st.rx_bad_header + st.rx_bad_crc + st.rx_not_ours + st.rx_unknown_session, 0);
	CHECK_EQ(g_cli.down_calls + g_srv.down_calls, 0);

	/* One message goes through. */
	plan_make(4, 1);
	CU_ASSERT_EQUAL(send_plan(s, 0, 4, true), 0);
	CU_ASSERT(pump_until_delivered(s, 4, 1000));
	check_delivered(4);
	env_stop();
}

static void
test_open_refuse(void)
{
	struct rpci_link_open_msg req, ack;
	struct rpci_link_session *s;
	struct rpci_link_params pc, ps;
	struct rpci_link_stats st;
	struct link_hdr h;
	uint32_t id;
	int ret;

	env_start();
	g_srv.open_ret = -EBUSY;
	g_srv.open_reason = "function 3 is in use by 02:00:00:00:00:07";
	memset(&req, 0, sizeof(req));
	req.function = FUNCTION;
	req.requester_id = REQ_ID;
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPENING);
	CU_ASSERT_EQUAL(rpci_link_session_answer(s, &ack), -EINPROGRESS);
	CU_ASSERT_EQUAL(rpci_link_send(s, &(struct rpci_tlp){ .type = RPCI_TLP_MRD }, NULL, 0),
			-ENOTCONN);
	ret = answer_wait(s, &ack);
	CHECK_EQ(-ret, EBUSY);
	CHECK_EQ(-ack.status, EBUSY);
	CU_ASSERT_STRING_EQUAL(ack.reason, "function 3 is in use by 02:00:00:00:00:07");
	CHECK_EQ(g_srv.open_calls, 1);
	CU_ASSERT_NOT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	CHECK_EQ(rpci_link_tx_room(s), 0);
	/* The server kept nothing: a frame of that session is unknown to it. */
	id = rpci_link_session_id(s);
	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = RPCI_LINK_ACK;
	h.session = id;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, NULL, 0,
					false));
	pump_once();
	rpci_link_stats_get(g_sv, &st);
	CHECK_EQ(st.rx_unknown_session, 1);
	rpci_link_session_free(s);
	CHECK_EQ(g_cli.down_calls + g_srv.down_calls, 0);
	env_stop();

	/* A server with no open callback refuses everything. */
	pc = params_make(false);
	ps = params_make(true);
	ps.ops = &g_ops_no_open;
	env_start_with(&pc, &ps);
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ret = answer_wait(s, &ack);
	CHECK_EQ(-ret, ECONNREFUSED);
	CU_ASSERT(strlen(ack.reason) > 0);
	rpci_link_session_free(s);
	env_stop();

	/* A client that takes smaller payloads than the server sends is refused. */
	pc = params_make(false);
	pc.max_payload = 1024;
	ps = params_make(true);
	env_start_with(&pc, &ps);
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ret = answer_wait(s, &ack);
	CHECK_EQ(-ret, EPROTO);
	CHECK_EQ(g_srv.open_calls, 0);
	rpci_link_session_free(s);
	env_stop();

	/*
	 * And the other way: a client that sends larger payloads than the
	 * server takes. Accepting it would lose every such message (the
	 * server drops them as malformed, acked), so it must be refused too.
	 */
	pc = params_make(false);
	ps = params_make(true);
	ps.max_payload = 512;
	env_start_with(&pc, &ps);
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ret = answer_wait(s, &ack);
	CHECK_EQ(-ret, EPROTO);
	CHECK_EQ(g_srv.open_calls, 0);
	if (ret == 0) {
		/* What would happen: a 1024-byte write vanishes. */
		plan_fixed(1, 1024);
		CU_ASSERT_EQUAL(send_plan(s, 0, 1, true), 0);
		pump_for(10);
		rpci_link_stats_get(g_sv, &st);
		CHECK_EQ(st.rx_malformed_msg, 0);
		CHECK_EQ(g_srv.delivered, 1);
	}
	rpci_link_session_free(s);
	env_stop();
}

static void
test_open_retry(void)
{
	struct rpci_link_open_msg req, ack;
	struct rpci_link_session *s;
	struct rte_mbuf *pkts[8];
	struct link_hdr h;
	unsigned int n;
	uint64_t t0, ms;
	int ret;

	env_start();
	memset(&req, 0, sizeof(req));
	req.function = FUNCTION;
	req.requester_id = REQ_ID;
	t0 = rte_get_timer_cycles();
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* The first OPEN is lost. */
	n = rte_ring_dequeue_burst(g_ring_cs, (void **)pkts, RTE_DIM(pkts), NULL);
	CHECK_EQ(n, 1);
	if (n == 1) {
		CU_ASSERT_EQUAL(frame_parse(pkts[0], &h), LINK_HDR_OK);
		CU_ASSERT_EQUAL(h.kind, RPCI_LINK_OPEN);
		CU_ASSERT_EQUAL(h.session, rpci_link_session_id(s));
		rte_pktmbuf_free(pkts[0]);
	}
	while ((ret = rpci_link_session_answer(s, &ack)) == -EINPROGRESS && ms_since(t0) < 1000) {
		pump_once();
	}
	ms = ms_since(t0);
	CHECK_EQ(-ret, 0);
	CHECK_EQ(ack.completer_id, COMPLETER_ID);
	CHECK_GE(ms, 45); /* sent again one keepalive period (50 ms) later */
	CHECK_LE(ms, 500);
	CHECK_EQ(g_srv.open_calls, 1);
	plan_make(8, 2);
	CU_ASSERT_EQUAL(send_plan(s, 0, 8, true), 0);
	CU_ASSERT(pump_until_delivered(s, 8, 1000));
	check_delivered(8);
	env_stop();

	/* The first OPEN_ACK is lost: the server says it again. */
	env_start();
	t0 = rte_get_timer_cycles();
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	rpci_link_poll(g_sv);
	n = rte_ring_dequeue_burst(g_ring_sc, (void **)pkts, RTE_DIM(pkts), NULL);
	CHECK_EQ(n, 1);
	if (n == 1) {
		CU_ASSERT_EQUAL(frame_parse(pkts[0], &h), LINK_HDR_OK);
		CU_ASSERT_EQUAL(h.kind, RPCI_LINK_OPEN_ACK);
		rte_pktmbuf_free(pkts[0]);
	}
	CU_ASSERT_EQUAL(rpci_link_session_answer(s, &ack), -EINPROGRESS);
	while ((ret = rpci_link_session_answer(s, &ack)) == -EINPROGRESS && ms_since(t0) < 1000) {
		pump_once();
	}
	CHECK_EQ(-ret, 0);
	CHECK_GE(ms_since(t0), 45);
	CHECK_EQ(g_srv.open_calls, 1);
	CHECK_EQ(ack.completer_id, COMPLETER_ID);
	CU_ASSERT_EQUAL(send_plan(s, 0, 8, true), 0);
	CU_ASSERT(pump_until_delivered(s, 8, 1000));
	check_delivered(8);
	env_stop();
}

static void
test_open_duplicate(void)
{
	struct rpci_link_open_msg req, ack;
	struct rpci_link_session *s;
	struct rpci_link_stats st;
	struct rte_mbuf *open_frame = NULL;
	int ret;

	env_start();
	memset(&req, 0, sizeof(req));
	req.function = FUNCTION;
	req.requester_id = REQ_ID;
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(g_ring_cs, (void **)&open_frame), 0);
	/* Delivered twice now, and once more later. */
	frame_ref(open_frame);
	frame_ref(open_frame);
	ring_put(g_ring_cs, open_frame);
	ring_put(g_ring_cs, open_frame);
	ret = answer_wait(s, &ack);
	CHECK_EQ(-ret, 0);
	pump_once();
	CHECK_EQ(g_srv.open_calls, 1);
	/* The server answered both (its first answer might have been lost). */
	rpci_link_stats_get(g_cl, &st);
	CHECK_GE(st.rx_frames, 2);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);

	plan_make(20, 3);
	CU_ASSERT_EQUAL(send_plan(s, 0, 10, true), 0);
	CU_ASSERT(pump_until_delivered(s, 10, 1000));
	/* A late copy of the OPEN changes nothing. */
	ring_put(g_ring_cs, open_frame);
	CU_ASSERT_EQUAL(send_plan(s, 10, 20, true), 0);
	CU_ASSERT(pump_until_delivered(s, 20, 1000));
	pump_for(5);
	CHECK_EQ(g_srv.open_calls, 1);
	check_delivered(20);
	CHECK_EQ(g_srv.down_calls + g_cli.down_calls, 0);
	env_stop();
}

static uint32_t g_frames_seen;
static uint32_t g_frames_over_mtu;

/* Look at every frame to the server (none may exceed the MTU) and pass it on. */
static void
check_frame_sizes(void)
{
	struct rte_mbuf *m[64];
	unsigned int n, i;

	n = rte_ring_dequeue_burst(g_ring_cs, (void **)m, RTE_DIM(m), NULL);
	for (i = 0; i < n; i++) {
		g_frames_seen++;
		if (m[i]->pkt_len - ETH_LEN > MTU) {
			g_frames_over_mtu++;
		}
	}
	if (n > 0 && rte_ring_enqueue_bulk(g_ring_cs, (void **)m, n, NULL) != n) {
		CU_FAIL("ring full");
		for (i = 0; i < n; i++) {
			rte_pktmbuf_free(m[i]);
		}
	}
}

/* Many messages of every size, delivered once, in order, intact. */
static void
ordered_run(bool crc_payload, uint32_t copy_threshold, uint32_t replay, uint32_t n)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;
	uint32_t seq;

	pc.crc_payload = ps.crc_payload = crc_payload;
	pc.copy_threshold = ps.copy_threshold = copy_threshold;
	pc.replay_frames = ps.replay_frames = replay;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(n, 4 + n);
	g_frames_seen = g_frames_over_mtu = 0;
	g_filter = check_frame_sizes;
	CU_ASSERT_EQUAL(send_plan(s, 0, n, true), 0);
	seq = rpci_link_session_tx_seq(s);
	CU_ASSERT(pump_until_delivered(s, n, 5000));
	CU_ASSERT(rpci_link_session_acked(s, seq));
	pump_for(5);
	check_delivered(n);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(sc.tx_msgs, n);
	CHECK_EQ(ss.rx_msgs, n);
	CHECK_EQ(sc.zero_copy + sc.copied, n);
	CHECK_EQ(ss.rx_data, sc.tx_data);
	CHECK_EQ(seq, sc.tx_data);
	if (copy_threshold == 0) {
		/* Every payload in place: split frames, several messages in most. */
		CHECK_EQ(sc.zero_copy, n);
		CHECK_EQ(sc.tx_split, sc.tx_data);
		/*
		 * A split frame ends when a largest message would not fit: with
		 * a counter and tag in 1500-byte frames, never a second one.
		 */
		CU_ASSERT(sc.tx_data < n || (g_use_auth && sc.tx_data == n));
	} else {
		CU_ASSERT(sc.tx_msgs > sc.tx_data); /* small messages share frames */
		CU_ASSERT(sc.zero_copy > 0);
		CU_ASSERT(sc.copied > 0);
	}
	CHECK_EQ(ss.rx_bad_crc + ss.rx_bad_header + ss.rx_malformed_msg + ss.rx_refused_msg, 0);
	CHECK_EQ(ss.rx_not_ours + ss.rx_unknown_session + ss.rx_queue_full, 0);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	CHECK_EQ(rpci_link_tx_room(s), pc.replay_frames);
	CHECK_GE(g_frames_seen, sc.tx_data);
	CHECK_EQ(g_frames_over_mtu, 0);
	env_stop();
}

/* Small messages fill frames up to the MTU, and no further. */
static void
test_frame_packing(void)
{
	/* Copied 200-byte writes: 224 bytes each, 6 in 1468 bytes after the link header. */
	const uint32_t per_frame = (MTU - RPCI_LINK_HDR_LEN) / (RPCI_TLP_HDR_MEM_LEN + 200);
	struct rpci_link_session *s;
	struct rte_mbuf *pkts[TAKE_MAX];
	struct link_hdr h;
	unsigned int n, i;

	env_start();
	s = session_open(NULL);
	plan_fixed(100, 200);
	n = burst_take(s, 0, 100, pkts);
	CHECK_EQ(per_frame, 6);
	CHECK_EQ(n, (100 + per_frame - 1) / per_frame);
	for (i = 0; i < n; i++) {
		uint32_t l2 = pkts[i]->pkt_len - ETH_LEN;

		CHECK_LE(l2, MTU);
		CU_ASSERT_EQUAL(frame_parse(pkts[i], &h), LINK_HDR_OK);
		CHECK_EQ(h.payload_len, l2 - RPCI_LINK_HDR_LEN);
		if (i + 1 < n) {
			CHECK_EQ(h.payload_len, per_frame * (RPCI_TLP_HDR_MEM_LEN + 200));
		}
		CHECK_EQ(pkts[i]->nb_segs, 1);
		ring_put(g_ring_cs, pkts[i]);
	}
	CU_ASSERT(pump_until_delivered(s, 100, 1000));
	check_delivered(100);
	env_stop();
}

static void
test_ordered_delivery(void)
{
	ordered_run(true, COPY_THRESHOLD, 256, 5000);
	/* Every payload attached, no payload CRC, a small window. */
	ordered_run(false, 0, 16, 1000);
}

static void
test_backpressure_rx(void)
{
	struct rpci_link_params pc, ps;
	struct rpci_link_session *s;
	struct rpci_link_stats ss, sc;

	env_start();
	s = session_open(NULL);
	g_srv.eagain_left = 50;
	g_srv.refuse_index = 300;
	plan_make(600, 5);
	CU_ASSERT_EQUAL(send_plan(s, 0, 600, true), 0);
	CU_ASSERT(pump_until_delivered(s, 600, 3000));
	pump_for(5);
	CHECK_EQ(g_srv.eagain_calls, 50);
	CHECK_EQ(g_srv.refused_calls, 1);
	CHECK_EQ(g_srv.rx_calls, 650);
	check_delivered(600);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_msgs, 600);
	CHECK_EQ(ss.rx_refused_msg, 1);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	env_stop();

	/*
	 * A receive queue of 2 frames while the receiver waits: the credits
	 * hold the sender back, nothing is dropped.
	 */
	pc = params_make(false);
	ps = params_make(true);
	ps.rx_queue_frames = 2;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	g_srv.eagain_left = 200;
	plan_make(600, 17);
	CU_ASSERT_EQUAL(send_plan(s, 0, 600, true), 0);
	CU_ASSERT(pump_until_delivered(s, 600, 3000));
	pump_for(5);
	CHECK_EQ(g_srv.eagain_calls, 200);
	check_delivered(600);
	rpci_link_stats_get(g_sv, &ss);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_EQ(ss.rx_queue_full, 0);
	CHECK_GE(sc.tx_no_credit, 1);
	CHECK_EQ(ss.rx_msgs, 600);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	env_stop();
}

static void
test_window(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rpci_tlp m;
	uint32_t sent = 0;
	int ret = 0;

	pc.replay_frames = 8;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	CHECK_EQ(rpci_link_tx_room(s), 8);
	/* A frame being filled takes its place in the window. */
	plan_fixed(42, 8);
	CU_ASSERT_EQUAL(send_plan(s, 0, 2, false), 0);
	CHECK_EQ(rpci_link_tx_room(s), 7);
	CU_ASSERT(pump_until_delivered(s, 2, 1000));
	CHECK_EQ(rpci_link_tx_room(s), 8);
	g_srv.next = g_srv.delivered = 0;
	plan_fixed(40, 512); /* attached: one frame each */
	while (sent < 40) {
		plan_msg(sent, &m);
		ret = rpci_link_send(s, &m, g_pattern + g_plan_off[sent], 0);
		if (ret != 0) {
			break;
		}
		sent++;
		CHECK_EQ(rpci_link_tx_room(s), 8 - sent);
	}
	CHECK_EQ(-ret, EAGAIN);
	CHECK_EQ(sent, 8);
	CHECK_EQ(rpci_link_tx_room(s), 0);
	/* A small message needs a frame too. */
	g_plan_len[sent] = 8;
	plan_msg(sent, &m);
	CHECK_EQ(-rpci_link_send(s, &m, g_pattern + g_plan_off[sent], 0), EAGAIN);
	/* The client alone cannot make room. */
	rpci_link_poll(g_cl);
	rpci_link_poll(g_cl);
	CHECK_EQ(rpci_link_tx_room(s), 0);
	CU_ASSERT(pump_until_delivered(s, 8, 1000));
	CHECK_EQ(rpci_link_tx_room(s), 8);
	CU_ASSERT_EQUAL(send_plan(s, sent, 40, true), 0);
	CU_ASSERT(pump_until_delivered(s, 40, 1000));
	check_delivered(40);
	CHECK_EQ(rpci_link_tx_room(s), 8);
	env_stop();
}

/* Pump until the server has taken n raw messages. */
static bool
pump_until_raw(uint32_t n, uint32_t ms)
{
	uint64_t t0 = rte_get_timer_cycles();

	while (g_srv.raw_calls < n) {
		if (ms_since(t0) > ms) {
			return false;
		}
		pump_once();
	}
	return true;
}

static void
send_one(struct rpci_link_session *s, uint8_t type, uint16_t tag)
{
	static const uint8_t word[4] = { 1, 2, 3, 4 };
	struct rpci_tlp m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.tag = tag;
	if (type == RPCI_TLP_CPL) {
		m.requester_id = 0x0100;
		m.completer_id = 0x0200;
		m.byte_count = 4;
	} else {
		CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x1000 + 64u * tag, 4), 0);
	}
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, type == RPCI_TLP_MWR ? word : NULL, 0), 0);
}

/*
 * PCIe's ordering across the three traffic classes: a read the receiver
 * cannot answer yet does not hold up later writes and completions (no
 * deadlock), and nothing passes an earlier write that waits.
 */
static void
test_class_ordering(void)
{
	struct rpci_link_session *s;
	struct rpci_link_stats st;

	env_start();
	s = session_open(NULL);
	g_srv.raw = true;

	g_srv.block_classes = 1u << RPCI_LINK_CLASS_NP;
	send_one(s, RPCI_TLP_MRD, 1);
	send_one(s, RPCI_TLP_MWR, 2);
	send_one(s, RPCI_TLP_CPL, 3);
	rpci_link_flush(g_cl);
	CU_ASSERT(pump_until_raw(2, 1000));
	pump_for(5);
	CHECK_EQ(g_srv.raw_calls, 2);
	CHECK_EQ(g_srv.order[0], RPCI_TLP_MWR);
	CHECK_EQ(g_srv.order[1], RPCI_TLP_CPL);
	g_srv.block_classes = 0;
	CU_ASSERT(pump_until_raw(3, 1000));
	CHECK_EQ(g_srv.order[2], RPCI_TLP_MRD);

	g_srv.block_classes = 1u << RPCI_LINK_CLASS_P;
	send_one(s, RPCI_TLP_MWR, 4);
	send_one(s, RPCI_TLP_MRD, 5);
	send_one(s, RPCI_TLP_CPL, 6);
	rpci_link_flush(g_cl);
	pump_for(10);
	CHECK_EQ(g_srv.raw_calls, 3);
	g_srv.block_classes = 0;
	CU_ASSERT(pump_until_raw(6, 1000));
	CHECK_EQ(g_srv.order[3], RPCI_TLP_MWR);
	CHECK_EQ(g_srv.order[4], RPCI_TLP_MRD);
	CHECK_EQ(g_srv.order[5], RPCI_TLP_CPL);

	/* One class per frame: three frames went for each group of three. */
	rpci_link_stats_get(g_cl, &st);
	CHECK_EQ(st.tx_data, 6);
	rpci_link_stats_get(g_sv, &st);
	CHECK_EQ(st.rx_queue_full, 0);
	env_stop();
}

static void
test_send_modes(void)
{
	static uint8_t src[RPCI_TLP_MAX_PAYLOAD] __rte_aligned(64);
	struct rpci_link_session *s;
	struct rpci_link_stats a, b;
	struct rpci_tlp m;
	uint32_t i, n = 0;

	env_start();
	s = session_open(NULL);
	g_srv.raw = true;
	for (i = 0; i < sizeof(src); i++) {
		src[i] = (uint8_t)(0xa0 + i);
	}

	/* EXACT: a partial DW is copied byte by byte, the rest zero. */
	memset(&m, 0, sizeof(m));
	m.type = RPCI_TLP_MWR;
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x1001, 3), 0);
	CU_ASSERT_EQUAL(m.first_be, 0xe);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, RPCI_LINK_SEND_EXACT), 0);
	CU_ASSERT(pump_until_raw(++n, 1000));
	CU_ASSERT_EQUAL(g_srv.raw_msg.address, 0x1000);
	CU_ASSERT_EQUAL(g_srv.raw_msg.length_dw, 1);
	CU_ASSERT_EQUAL(g_srv.raw_payload[0], 0);
	CU_ASSERT_EQUAL(memcmp(g_srv.raw_payload + 1, src + 1, 3), 0);
	/* Without it, the whole DW. */
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, 0), 0);
	CU_ASSERT(pump_until_raw(++n, 1000));
	CU_ASSERT_EQUAL(memcmp(g_srv.raw_payload, src, 4), 0);

	/* EXACT and large: partial ends are never attached. */
	rpci_link_stats_get(g_cl, &a);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x2002, 600), 0);
	CU_ASSERT_EQUAL(m.length_dw, 151);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, RPCI_LINK_SEND_EXACT), 0);
	CU_ASSERT(pump_until_raw(++n, 1000));
	rpci_link_stats_get(g_cl, &b);
	CHECK_EQ(b.copied - a.copied, 1);
	CHECK_EQ(b.zero_copy - a.zero_copy, 0);
	CU_ASSERT_EQUAL(g_srv.raw_payload[0], 0);
	CU_ASSERT_EQUAL(g_srv.raw_payload[1], 0);
	CU_ASSERT_EQUAL(memcmp(g_srv.raw_payload + 2, src + 2, 600), 0);
	CU_ASSERT_EQUAL(g_srv.raw_payload[602], 0);
	CU_ASSERT_EQUAL(g_srv.raw_payload[603], 0);
	/* EXACT with whole DWs is attached as usual. */
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x3000, 600), 0);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, RPCI_LINK_SEND_EXACT), 0);
	CU_ASSERT(pump_until_raw(++n, 1000));
	rpci_link_stats_get(g_cl, &a);
	CHECK_EQ(a.zero_copy - b.zero_copy, 1);
	CU_ASSERT_EQUAL(memcmp(g_srv.raw_payload, src, 600), 0);

	/* The threshold: up to it copied, above it attached unless COPY. */
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x4000, COPY_THRESHOLD), 0);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, 0), 0);
	CU_ASSERT(pump_until_raw(++n, 1000));
	rpci_link_stats_get(g_cl, &b);
	CHECK_EQ(b.copied - a.copied, 1);
	CHECK_EQ(b.zero_copy - a.zero_copy, 0);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x4000, COPY_THRESHOLD + 4), 0);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, RPCI_LINK_SEND_COPY), 0);
	CU_ASSERT(pump_until_raw(++n, 1000));
	rpci_link_stats_get(g_cl, &a);
	CHECK_EQ(a.copied - b.copied, 1);
	CHECK_EQ(a.zero_copy - b.zero_copy, 0);

	/* A copied payload may change as soon as it is sent. */
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x5000, MAX_PAYLOAD), 0);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, RPCI_LINK_SEND_COPY), 0);
	src[100] ^= 0xff;
	CU_ASSERT(pump_until_raw(++n, 1000));
	src[100] ^= 0xff;
	CU_ASSERT_EQUAL(memcmp(g_srv.raw_payload, src, MAX_PAYLOAD), 0);

	/* Refused messages leave the frame being filled intact. */
	rpci_link_stats_get(g_cl, &b);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x6000, 16), 0);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, src, 0), 0); /* opens a frame */
	m.length_dw = 0;
	CHECK_EQ(-rpci_link_send(s, &m, src, 0), EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x7000, MAX_PAYLOAD + 64), 0);
	CHECK_EQ(-rpci_link_send(s, &m, src, 0), EINVAL);
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x7000, 64), 0);
	CHECK_EQ(-rpci_link_send(s, &m, NULL, 0), EINVAL);
	m.type = 0;
	CHECK_EQ(-rpci_link_send(s, &m, src, 0), EINVAL);
	m.type = RPCI_TLP_MWR;
	m.address = 0x7002; /* not DW-aligned */
	CHECK_EQ(-rpci_link_send(s, &m, src, 0), EINVAL);
	m.address = 0x7000;
	CHECK_EQ(rpci_link_send(NULL, &m, src, 0), -EINVAL);
	/* A read carries no payload. */
	memset(&m, 0, sizeof(m));
	m.type = RPCI_TLP_MRD;
	m.tag = 77;
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0x8000, 4096), 0);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, NULL, 0), 0);
	n += 2;
	CU_ASSERT(pump_until_raw(n, 1000));
	CU_ASSERT_EQUAL(g_srv.raw_msg.type, RPCI_TLP_MRD);
	CU_ASSERT_EQUAL(g_srv.raw_msg.tag, 77);
	CU_ASSERT_EQUAL(g_srv.raw_msg.length_dw, 1024);
	rpci_link_stats_get(g_cl, &a);
	CHECK_EQ(a.tx_msgs - b.tx_msgs, 2);
	/* A write and a read are of two classes: two frames. */
	CHECK_EQ(a.tx_data - b.tx_data, 2);
	pump_for(5);
	CHECK_EQ(g_srv.raw_calls, n);
	CHECK_EQ(g_srv.bad + g_srv.wrong_session, 0);
	env_stop();
}

static void
test_pool_exhaustion(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rte_mempool *pool = NULL, *ext = NULL;
	struct rpci_link_session *s;
	struct rpci_link_stats sc;
	struct rpci_tlp m;
	uint32_t sent = 0;
	int ret;

	/* The smallest pools a link may be given. */
	ret = rpci_link_pools_create("tlsmall", 64, MTU, SOCKET_ID_ANY, &pool, &ext);
	CHECK_EQ(-ret, 0);
	if (ret != 0) {
		return;
	}
	CHECK_EQ(rte_mempool_avail_count(pool), 64);
	pc.pool = pool;
	pc.ext_pool = ext;
	pc.replay_frames = 128; /* the pool runs out before the window */
	ps.rx_queue_frames = 1024; /* and before the server's credits */
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_fixed(200, 512);
	for (;;) {
		plan_msg(sent, &m);
		ret = rpci_link_send(s, &m, g_pattern + g_plan_off[sent], 0);
		if (ret != 0) {
			break;
		}
		sent++;
	}
	CHECK_EQ(-ret, EAGAIN);
	CHECK_GE(sent, 60);
	CHECK_LE(sent, 64); /* one frame mbuf each */
	CU_ASSERT(rpci_link_tx_room(s) > 0);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_GE(sc.no_mbuf, 1);
	CU_ASSERT(pump_until_delivered(s, sent, 1000));
	CU_ASSERT_EQUAL(send_plan(s, sent, 200, true), 0);
	CU_ASSERT(pump_until_delivered(s, 200, 2000));
	pump_for(5);
	check_delivered(200);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	env_stop();
	CHECK_EQ(rte_mempool_avail_count(pool), 64);
	CHECK_EQ(rte_mempool_avail_count(ext), 64);
	rte_mempool_free(pool);
	rte_mempool_free(ext);
}

/* Send [from, to) in one burst, drop the frames at the positions given, recover. */
static void
loss_burst(struct rpci_link_session *s, uint32_t from, uint32_t to, const unsigned int *drop,
	   unsigned int nb_drop)
{
	struct rte_mbuf *pkts[TAKE_MAX];
	unsigned int n, i, k;

	n = burst_take(s, from, to, pkts);
	for (i = 0; i < n; i++) {
		bool dropped = false;

		for (k = 0; k < nb_drop; k++) {
			dropped |= drop[k] == i || (drop[k] == UINT32_MAX && i == n - 1);
		}
		if (dropped) {
			rte_pktmbuf_free(pkts[i]);
		} else {
			ring_put(g_ring_cs, pkts[i]);
		}
	}
	CU_ASSERT(pump_until_delivered(s, to, 1500));
	pump_for(5);
	check_delivered(to);
}

static void
test_loss_middle(void)
{
	static const unsigned int one[] = { 7 };
	static const unsigned int several[] = { 2, 3, 10, 17 };
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;

	/* A long replay time-out: the NAK alone must bring the frames back. */
	pc.retransmit_us = ps.retransmit_us = 50000;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(80, 6);

	loss_burst(s, 0, 40, one, RTE_DIM(one));
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(ss.rx_out_of_order, 1);
	CHECK_GE(ss.nak_sent, 1);
	CHECK_GE(sc.nak_rcvd, 1);
	CHECK_GE(sc.tx_retransmit, 1);

	loss_burst(s, 40, 80, several, RTE_DIM(several));
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(ss.rx_out_of_order, 2);
	CHECK_GE(ss.nak_sent, 2);
	CHECK_GE(sc.nak_rcvd, 2);
	CHECK_GE(sc.tx_retransmit, 2);
	CHECK_EQ(sc.timeouts, 0);
	CHECK_EQ(ss.rx_data, sc.tx_data);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	env_stop();
}

/*
 * Selective repeat: the frames after a gap are kept, and only the missing
 * frames travel again, whatever follows them.
 */
static void
test_loss_selective(void)
{
	static const unsigned int two[] = { 3, 9 };
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;

	/* A long replay time-out: the NAKs alone must bring the frames back. */
	pc.retransmit_us = ps.retransmit_us = 50000;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(40, 9);

	loss_burst(s, 0, 40, two, RTE_DIM(two));
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(sc.tx_data, 12);
	/* Every frame after the first gap but the second missing one was kept. */
	CHECK_EQ(ss.rx_kept, sc.tx_data - 3 - 2);
	CHECK_EQ(ss.rx_out_of_order, ss.rx_kept);
	/* Two frames lost, two sent again: the NAKs said what was kept. */
	CHECK_EQ(sc.tx_retransmit, 2);
	CHECK_EQ(ss.nak_sent, 2);
	CHECK_EQ(sc.timeouts, 0);
	CHECK_EQ(ss.rx_data, sc.tx_data);
	CHECK_EQ(ss.rx_duplicate, 0);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	env_stop();
}

static void
test_loss_tail(void)
{
	static const unsigned int last[] = { UINT32_MAX };
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rte_mbuf *pkts[TAKE_MAX];
	struct rpci_link_stats sc, ss;
	unsigned int n, i;
	uint64_t t0, timeouts;

	pc.retransmit_us = ps.retransmit_us = 1500;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(60, 7);

	t0 = rte_get_timer_cycles();
	loss_burst(s, 0, 30, last, RTE_DIM(last));
	CHECK_LE(ms_since(t0), 500);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(sc.timeouts, 1);
	CHECK_GE(sc.tx_retransmit, 1);
	CHECK_EQ(ss.rx_out_of_order, 0); /* nothing to see for the receiver */

	/* The last three: the probe fills the first hole, the rest follows. */
	rpci_link_stats_get(g_cl, &sc);
	timeouts = sc.timeouts;
	t0 = rte_get_timer_cycles();
	n = burst_take(s, 30, 60, pkts);
	CHECK_GE(n, 4);
	for (i = 0; i < n; i++) {
		if (i + 3 >= n && n >= 4) {
			rte_pktmbuf_free(pkts[i]);
		} else {
			ring_put(g_ring_cs, pkts[i]);
		}
	}
	CU_ASSERT(pump_until_delivered(s, 60, 1500));
	CHECK_LE(ms_since(t0), 500);
	pump_for(5);
	check_delivered(60);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_GE(sc.timeouts, timeouts + 1);
	/* One time-out for the three (one each would be a probe per frame). */
	CHECK_LE(sc.timeouts, timeouts + 2);
	CHECK_GE(sc.tx_retransmit, 4);
	CHECK_EQ(sc.sessions_dead, 0);
	env_stop();
}

static void
test_duplicates(void)
{
	struct rpci_link_session *s;
	struct rte_mbuf *pkts[TAKE_MAX];
	struct rpci_link_stats sc, ss;
	unsigned int n, i;

	env_start();
	s = session_open(NULL);
	plan_make(40, 8);
	n = burst_take(s, 0, 40, pkts);
	for (i = 0; i < n; i++) {
		frame_ref(pkts[i]);
		ring_put(g_ring_cs, pkts[i]);
		ring_put(g_ring_cs, pkts[i]);
	}
	CU_ASSERT(pump_until_delivered(s, 40, 1000));
	pump_for(5);
	check_delivered(40);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(ss.rx_duplicate, n);
	CHECK_EQ(ss.rx_data, n);
	CHECK_EQ(ss.rx_msgs, 40);
	CHECK_EQ(sc.sessions_dead, 0);
	env_stop();
}

/*
 * The built-in fault injector on both ends and both directions: every
 * message still arrives exactly once, in order, intact; the counters show
 * the faults were made and recovered.
 */
static void
test_fault_injector(void)
{
	const struct rpci_link_faults f = {
		.drop = 0.05, .dup = 0.03, .reorder = 0.03, .corrupt = 0.01,
	};
	const struct rpci_link_faults bad = { .drop = 1.5 };
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;
	int d;

	env_start();
	s = session_open(NULL);
	CHECK_EQ(rpci_link_set_faults(g_cl, &bad, NULL, 1), -EINVAL);
	CHECK_EQ(rpci_link_set_faults(g_cl, &f, &f, 42), 0);
	CHECK_EQ(rpci_link_set_faults(g_sv, &f, &f, 43), 0);
	plan_make(3000, 21);
	CU_ASSERT_EQUAL(send_plan(s, 0, 3000, true), 0);
	CU_ASSERT(pump_until_delivered(s, 3000, 10000));
	pump_for(5);
	check_delivered(3000);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	for (d = 0; d < 2; d++) {
		CHECK_GE(sc.fault_drop[d] + ss.fault_drop[d], 1);
		CHECK_GE(sc.fault_dup[d] + ss.fault_dup[d], 1);
		CHECK_GE(sc.fault_reorder[d] + ss.fault_reorder[d], 1);
	}
	CHECK_GE(sc.fault_corrupt[0] + ss.fault_corrupt[1] + sc.fault_corrupt[1] +
		 ss.fault_corrupt[0], 1);
	CHECK_GE(sc.tx_retransmit, 1);
	CHECK_GE(ss.rx_duplicate + ss.rx_out_of_order, 1);
	CHECK_EQ(ss.rx_msgs, 3000);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	/* Off again: nothing more is injected. */
	CHECK_EQ(rpci_link_set_faults(g_cl, NULL, NULL, 0), 0);
	CHECK_EQ(rpci_link_set_faults(g_sv, NULL, NULL, 0), 0);
	env_stop();
}

static void
test_corruption(void)
{
	struct rpci_link_session *s;
	struct rte_mbuf *pkts[TAKE_MAX];
	struct rpci_link_stats sc, ss;
	unsigned int n, i;

	env_start();
	s = session_open(NULL);
	plan_make(60, 9);
	n = burst_take(s, 0, 60, pkts);
	CHECK_GE(n, 16);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i == 5) {
			/* One payload bit: the last byte of the frame. */
			m = frame_copy_flip(pkts[i], pkts[i]->pkt_len - 1, 0x08);
			rte_pktmbuf_free(pkts[i]);
		} else if (i == 12) {
			/* One header bit (in the sequence number). */
			m = frame_copy_flip(pkts[i], ETH_LEN + LINK_OFF_SEQ + 3, 0x02);
			rte_pktmbuf_free(pkts[i]);
		}
		ring_put(g_ring_cs, m);
	}
	CU_ASSERT(pump_until_delivered(s, 60, 1500));
	pump_for(5);
	check_delivered(60);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_bad_crc, 2);
	CHECK_GE(sc.tx_retransmit, 1);
	CHECK_EQ(ss.rx_malformed_msg, 0);
	env_stop();
}

static void
test_reorder(void)
{
	struct rpci_link_session *s;
	struct rte_mbuf *pkts[TAKE_MAX];
	struct rpci_link_stats ss;
	unsigned int n, i;

	env_start();
	s = session_open(NULL);
	plan_make(60, 10);
	n = burst_take(s, 0, 60, pkts);
	CHECK_GE(n, 16);
	if (n >= 16) {
		RTE_SWAP(pkts[3], pkts[4]);
		RTE_SWAP(pkts[10], pkts[14]);
	}
	for (i = 0; i < n; i++) {
		ring_put(g_ring_cs, pkts[i]);
	}
	CU_ASSERT(pump_until_delivered(s, 60, 1500));
	pump_for(5);
	check_delivered(60);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(ss.rx_out_of_order, 2);
	CHECK_EQ(ss.rx_data, n);
	env_stop();
}

/* Poll the client alone until s leaves the OPEN state; returns the ms it took. */
static uint64_t
client_poll_until_down(struct rpci_link_session *s, uint32_t ms)
{
	uint64_t t0 = rte_get_timer_cycles();

	while (rpci_link_session_state(s) == RPCI_LINK_S_OPEN && ms_since(t0) < ms) {
		if (rpci_link_poll(g_cl) == 0) {
			sleep_us(20);
		}
	}
	return ms_since(t0);
}

static void
test_dead_peer(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rpci_link_stats sc;
	struct rpci_tlp m;
	uint64_t ms;

	pc.dead_ms = ps.dead_ms = 300;
	pc.keepalive_ms = ps.keepalive_ms = 50;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(4, 11);
	CU_ASSERT_EQUAL(send_plan(s, 0, 4, true), 0);
	CU_ASSERT(pump_until_delivered(s, 4, 1000));
	/* The server stops. */
	ms = client_poll_until_down(s, 2000);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_DEAD);
	CHECK_GE(ms, 200);
	CHECK_LE(ms, 1000);
	CHECK_EQ(g_cli.down_calls, 1);
	CHECK_EQ(g_cli.down_state, RPCI_LINK_S_DEAD);
	CU_ASSERT_PTR_EQUAL(g_cli.down_s, s);
	plan_msg(0, &m);
	CHECK_EQ(-rpci_link_send(s, &m, g_pattern + g_plan_off[0], 0), ENOTCONN);
	CHECK_EQ(rpci_link_tx_room(s), 0);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_EQ(sc.sessions_dead, 1);
	/* Dead stays dead, and down is said once. */
	pump_for(20);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_DEAD);
	CHECK_EQ(g_cli.down_calls, 1);
	rpci_link_session_free(s);
	env_stop();
}

static void
drop_all(void)
{
	struct rte_mbuf *m[64];
	unsigned int n, i;

	while ((n = rte_ring_dequeue_burst(g_ring_cs, (void **)m, RTE_DIM(m), NULL)) > 0) {
		for (i = 0; i < n; i++) {
			rte_pktmbuf_free(m[i]);
		}
		g_filtered += n;
	}
}

static void
test_dead_retransmit_max(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rpci_link_stats sc;
	uint64_t t0;

	pc.retransmit_max = 4;
	pc.retransmit_us = 1000;
	pc.dead_ms = ps.dead_ms = 1500;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(3, 12);
	g_filter = drop_all;
	CU_ASSERT_EQUAL(send_plan(s, 0, 3, false), 0);
	t0 = rte_get_timer_cycles();
	while (rpci_link_session_state(s) == RPCI_LINK_S_OPEN && ms_since(t0) < 3000) {
		pump_once();
	}
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_DEAD);
	/* Long before dead_ms: the replays gave up, not the keepalives. */
	CHECK_LE(ms_since(t0), 700);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_EQ(sc.timeouts, 5);
	CHECK_EQ(sc.tx_retransmit, 4);
	CHECK_EQ(sc.sessions_dead, 1);
	CHECK_EQ(g_cli.down_calls, 1);
	CHECK_EQ(g_cli.down_state, RPCI_LINK_S_DEAD);
	CHECK_EQ(g_srv.delivered, 0);
	CHECK_GE(g_filtered, 5);
	rpci_link_session_free(s);
	env_stop();
}

static void
test_keepalive(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;
	uint64_t t0;

	pc.dead_ms = ps.dead_ms = 300;
	pc.keepalive_ms = ps.keepalive_ms = 50;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	t0 = rte_get_timer_cycles();
	while (ms_since(t0) < 1000) {
		if (rpci_link_poll(g_cl) + rpci_link_poll(g_sv) == 0) {
			sleep_us(50);
		}
	}
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	CU_ASSERT_EQUAL(rpci_link_session_state(g_srv.accepted), RPCI_LINK_S_OPEN);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	CHECK_EQ(g_cli.down_calls + g_srv.down_calls, 0);
	/* About one ACK per keepalive period each way, no more than a few per period. */
	CHECK_GE(sc.ack_sent, 10);
	CHECK_GE(ss.ack_sent, 10);
	CHECK_LE(sc.ack_sent + ss.ack_sent, 200);
	plan_make(10, 13);
	CU_ASSERT_EQUAL(send_plan(s, 0, 10, true), 0);
	CU_ASSERT(pump_until_delivered(s, 10, 1000));
	check_delivered(10);
	env_stop();
}

static void *
server_thread(void *arg)
{
	RTE_SET_USED(arg);
	while (!g_stop) {
		if (rpci_link_poll(g_sv) == 0) {
			sleep_us(10);
		}
	}
	return NULL;
}

static void
test_close_orderly(void)
{
	struct rpci_link_session *s, *ss;
	pthread_t th;
	uint64_t t0;
	int ret;

	env_start();
	s = session_open(NULL);
	ss = g_srv.accepted;
	plan_make(150, 14);
	/*
	 * The server holds its messages back for 100 ms: the CLOSE arrives
	 * while frames it acked wait for delivery, and must wait for them.
	 */
	g_srv.eagain_until = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
	g_threaded = true;
	g_stop = false;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, server_thread, NULL), 0);
	ret = send_plan(s, 0, 150, true);
	t0 = rte_get_timer_cycles();
	if (ret == 0) {
		ret = rpci_link_close(s, 2000);
	} else {
		rpci_link_session_free(s);
	}
	g_stop = true;
	pthread_join(th, NULL);
	g_threaded = false;
	CHECK_EQ(-ret, 0);
	CHECK_LE(ms_since(t0), 1000);
	/* Everything sent before the close was delivered before it. */
	check_delivered(150);
	CHECK_GE(g_srv.eagain_calls, 1);
	CHECK_EQ(g_srv.down_calls, 1);
	CHECK_EQ(g_srv.down_state, RPCI_LINK_S_CLOSED);
	CU_ASSERT_PTR_EQUAL(g_srv.down_s, ss);
	CU_ASSERT_EQUAL(rpci_link_session_state(ss), RPCI_LINK_S_CLOSED);
	CHECK_EQ(g_cli.down_calls, 0);
	rpci_link_session_free(ss);
	env_stop();
}

static void
test_close_dead_peer(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_session *s;
	uint64_t t0, ms;
	int ret;

	pc.dead_ms = ps.dead_ms = 300;
	pc.keepalive_ms = ps.keepalive_ms = 50;
	env_start_with(&pc, &ps);

	/* The peer stops; the close times out first. */
	s = session_open(NULL);
	t0 = rte_get_timer_cycles();
	ret = rpci_link_close(s, 100);
	ms = ms_since(t0);
	CHECK_EQ(-ret, ETIMEDOUT);
	CHECK_GE(ms, 90);
	CHECK_LE(ms, 250);
	ring_drain(g_ring_cs);

	/* The peer stops; the session dies while closing. */
	s = session_open(NULL);
	t0 = rte_get_timer_cycles();
	ret = rpci_link_close(s, 1000);
	ms = ms_since(t0);
	CU_ASSERT(ret == -ETIMEDOUT || ret == -ENOTCONN);
	if (ret != -ETIMEDOUT && ret != -ENOTCONN) {
		printf("\n    close of a session whose peer is gone: %d after %" PRIu64 " ms\n",
		       ret, ms);
	}
	CHECK_LE(ms, 1100);
	ring_drain(g_ring_cs);

	/* The peer stops with data unacked. */
	s = session_open(NULL);
	plan_make(5, 15);
	CU_ASSERT_EQUAL(send_plan(s, 0, 5, false), 0);
	t0 = rte_get_timer_cycles();
	ret = rpci_link_close(s, 1000);
	ms = ms_since(t0);
	CU_ASSERT(ret == -ETIMEDOUT || ret == -ENOTCONN);
	CHECK_LE(ms, 1100);
	ring_drain(g_ring_cs);

	/* Already dead: nothing to wait for. */
	s = session_open(NULL);
	client_poll_until_down(s, 2000);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_DEAD);
	t0 = rte_get_timer_cycles();
	CHECK_EQ(-rpci_link_close(s, 1000), ENOTCONN);
	CHECK_LE(ms_since(t0), 10);
	env_stop();
}

static void
test_bad_frames(void)
{
	struct rpci_link_session *s;
	struct rpci_link_stats before, ss;
	struct link_hdr h, d;
	struct rpci_tlp m;
	uint8_t body[64 + 24];
	int len;

	env_start();
	s = session_open(NULL);
	plan_fixed(2, 64);
	rpci_link_stats_get(g_sv, &before);

	/* A DATA frame the server would take (next sequence, plan message 0)... */
	plan_msg(0, &m);
	len = rpci_tlp_encode(&m, body, sizeof(body));
	CU_ASSERT_EQUAL_FATAL(len, 24);
	memcpy(body + 24, g_pattern + g_plan_off[0], 64);
	memset(&d, 0, sizeof(d));
	d.version = RPCI_LINK_VERSION;
	d.kind = RPCI_LINK_DATA;
	d.flags = RPCI_LINK_F_CRC_PAYLOAD;
	d.session = rpci_link_session_id(s);
	d.seq = rpci_link_session_tx_seq(s);
	d.payload_len = sizeof(body);
	/* ...sent with faults. */
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, 0x0800, &d, body, sizeof(body),
					false));
	ring_put(g_ring_cs, frame_build(&g_mac_other, &g_mac_c, RPCI_LINK_ETHERTYPE, &d, body,
					sizeof(body), false));
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &d, body,
					sizeof(body), true));
	h = d;
	h.session ^= 0x5a5a5a5a;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					sizeof(body), false));
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_other, RPCI_LINK_ETHERTYPE, &d, body,
					sizeof(body), false));
	h = d;
	h.version = 2;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					sizeof(body), false));
	h = d;
	h.payload_len = sizeof(body) + 1;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					sizeof(body), false));
	h = d;
	h.kind = 9;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					sizeof(body), false));
	/* Too short for the headers. */
	{
		struct rte_mbuf *sm = frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &d,
						  body, 0, false);

		rte_pktmbuf_trim(sm, RPCI_LINK_HDR_LEN - 4);
		ring_put(g_ring_cs, sm);
	}
	pump_for(10);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_not_ours - before.rx_not_ours, 3);
	CHECK_EQ(ss.rx_bad_crc - before.rx_bad_crc, 1);
	CHECK_EQ(ss.rx_unknown_session - before.rx_unknown_session, 2);
	CHECK_EQ(ss.rx_bad_header - before.rx_bad_header, 3);
	CHECK_EQ(ss.rx_data - before.rx_data, 0);
	CHECK_EQ(g_srv.rx_calls, 0);
	/* The session goes on with the real frames. */
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	CU_ASSERT_EQUAL(send_plan(s, 0, 2, true), 0);
	CU_ASSERT(pump_until_delivered(s, 2, 1000));
	pump_for(5);
	check_delivered(2);
	env_stop();
}

static void
test_malformed_msg(void)
{
	struct rpci_link_session *s;
	struct rpci_link_stats ss, sc;
	struct rte_mbuf *orig = NULL;
	struct rpci_tlp m;
	struct link_hdr h;
	uint8_t body[24 + 64 + 16];
	uint32_t seq;
	int len;

	env_start();
	s = session_open(NULL);
	plan_make(3, 16);
	g_plan_len[0] = 64;

	/* A frame of pure garbage takes the place of the client's first DATA frame. */
	memset(&m, 0, sizeof(m));
	m.type = RPCI_TLP_MWR;
	CU_ASSERT_EQUAL_FATAL(rpci_tlp_set_byte_range(&m, 0xdead000, 8), 0);
	CU_ASSERT_EQUAL_FATAL(rpci_link_send(s, &m, g_pattern, 0), 0);
	rpci_link_flush(g_cl);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(g_ring_cs, (void **)&orig), 0);
	CU_ASSERT_EQUAL_FATAL(frame_parse(orig, &h), LINK_HDR_OK);
	CU_ASSERT_EQUAL_FATAL(h.kind, RPCI_LINK_DATA);
	rte_pktmbuf_free(orig);
	memset(body, 0xee, sizeof(body));
	h.payload_len = 40;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body, 40,
					false));
	seq = rpci_link_session_tx_seq(s);
	pump_for(5);
	CU_ASSERT(rpci_link_session_acked(s, seq)); /* acked all the same */
	CHECK_EQ(g_srv.rx_calls, 0);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_malformed_msg, 1);

	/* The next frame: a good message, then a truncated one. */
	CU_ASSERT_EQUAL_FATAL(rpci_link_send(s, &m, g_pattern, 0), 0);
	rpci_link_flush(g_cl);
	CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(g_ring_cs, (void **)&orig), 0);
	CU_ASSERT_EQUAL_FATAL(frame_parse(orig, &h), LINK_HDR_OK);
	rte_pktmbuf_free(orig);
	plan_msg(0, &m);
	len = rpci_tlp_encode(&m, body, sizeof(body));
	CU_ASSERT_EQUAL_FATAL(len, 24);
	memcpy(body + 24, g_pattern + g_plan_off[0], 64);
	/* Then the first 16 bytes of a 24-byte MWr header: cut short. */
	memcpy(body + 88, body, 16);
	h.payload_len = sizeof(body);
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					sizeof(body), false));
	seq = rpci_link_session_tx_seq(s);
	pump_for(5);
	CU_ASSERT(rpci_link_session_acked(s, seq));
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_malformed_msg, 2);
	CHECK_EQ(g_srv.delivered, 1);
	CHECK_EQ(g_srv.bad, 0);

	/* And the session goes on. */
	CU_ASSERT_EQUAL(send_plan(s, 1, 3, true), 0);
	CU_ASSERT(pump_until_delivered(s, 3, 1000));
	pump_for(5);
	check_delivered(3);
	rpci_link_stats_get(g_sv, &ss);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_EQ(ss.rx_malformed_msg, 2);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	env_stop();
}

static void
test_ctrl(void)
{
	static const struct rte_ether_addr bcast = {
		.addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }
	};
	struct rpci_link_stats ss;
	uint8_t body[RPCI_LINK_CTRL_MAX + 1];
	uint32_t i;

	env_start();
	for (i = 0; i < sizeof(body); i++) {
		body[i] = (uint8_t)(i * 13 + 5);
	}
	/* No session needed. */
	CU_ASSERT_EQUAL(rpci_link_send_ctrl(g_cl, &g_mac_s, body, 100), 0);
	pump_for(2);
	CHECK_EQ(g_srv.ctrl_calls, 1);
	CHECK_EQ(g_srv.ctrl_len, 100);
	CU_ASSERT(rte_is_same_ether_addr(&g_srv.ctrl_src, &g_mac_c));
	CU_ASSERT_EQUAL(memcmp(g_srv.ctrl_body, body, 100), 0);
	CHECK_EQ(g_cli.ctrl_calls, 0);

	/* The largest, to everyone. */
	CU_ASSERT_EQUAL(rpci_link_send_ctrl(g_cl, &bcast, body + 1, RPCI_LINK_CTRL_MAX), 0);
	pump_for(2);
	CHECK_EQ(g_srv.ctrl_calls, 2);
	CHECK_EQ(g_srv.ctrl_len, RPCI_LINK_CTRL_MAX);
	CU_ASSERT_EQUAL(memcmp(g_srv.ctrl_body, body + 1, RPCI_LINK_CTRL_MAX), 0);

	/* Empty, and the other way. */
	CU_ASSERT_EQUAL(rpci_link_send_ctrl(g_sv, &g_mac_c, NULL, 0), 0);
	pump_for(2);
	CHECK_EQ(g_cli.ctrl_calls, 1);
	CHECK_EQ(g_cli.ctrl_len, 0);
	CU_ASSERT(rte_is_same_ether_addr(&g_cli.ctrl_src, &g_mac_s));

	/* Not for us. */
	CU_ASSERT_EQUAL(rpci_link_send_ctrl(g_cl, &g_mac_other, body, 10), 0);
	pump_for(2);
	CHECK_EQ(g_srv.ctrl_calls, 2);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_not_ours, 1);

	/* Refused. */
	CHECK_EQ(-rpci_link_send_ctrl(g_cl, &g_mac_s, body, RPCI_LINK_CTRL_MAX + 1), EINVAL);
	CHECK_EQ(-rpci_link_send_ctrl(g_cl, &g_mac_s, NULL, 4), EINVAL);
	CHECK_EQ(-rpci_link_send_ctrl(g_cl, NULL, body, 4), EINVAL);
	CHECK_EQ(rte_ring_count(g_ring_cs), 0);

	/* And with a session open, too. */
	(void)session_open(NULL);
	CU_ASSERT_EQUAL(rpci_link_send_ctrl(g_cl, &g_mac_s, body + 7, 33), 0);
	pump_for(2);
	CHECK_EQ(g_srv.ctrl_calls, 3);
	CHECK_EQ(g_srv.ctrl_len, 33);
	CU_ASSERT_EQUAL(memcmp(g_srv.ctrl_body, body + 7, 33), 0);
	env_stop();
}

static void
test_no_mbuf_leak(void)
{
	CU_ASSERT_FATAL(g_env_ok);
	env_release();
	CHECK_EQ(rte_mempool_avail_count(g_pool_c), g_avail[0]);
	CHECK_EQ(rte_mempool_avail_count(g_ext_c), g_avail[1]);
	CHECK_EQ(rte_mempool_avail_count(g_pool_s), g_avail[2]);
	CHECK_EQ(rte_mempool_avail_count(g_ext_s), g_avail[3]);
	CHECK_EQ(g_avail[0], NB_MBUFS);
	CHECK_EQ(g_avail[2], NB_MBUFS);
}

/* ---------------------------------------------------------------- harness */

/* ============================================================= large frames */

/* Links whose frames may be as large as a link's can be. */
static struct rpci_link_params
params_big(bool server)
{
	struct rpci_link_params p = params_make(server);

	p.frame_max = RPCI_LINK_FRAME_MAX;
	return p;
}

/* Message i: len bytes at g_pattern + i * stride (contiguous when stride is len). */
static void
plan_strided(uint32_t n, uint16_t len, uint32_t stride)
{
	uint32_t i;

	CU_ASSERT_FATAL(n <= PLAN_MAX && (uint64_t)n * stride <= PATTERN_LEN);
	for (i = 0; i < n; i++) {
		g_plan_len[i] = len;
		g_plan_off[i] = i * stride;
	}
	g_plan_n = n;
}

/*
 * The client's frames as they cross the wire: how many DATA frames (each
 * sequence number once: the filter may see a frame again while it waits in
 * the ring), how many split, the longest, the most segments.
 */
static bool g_wire_started;
static uint32_t g_wire_next_seq;
static uint32_t g_wire_frames;
static uint32_t g_wire_data;
static uint32_t g_wire_split;
static uint32_t g_wire_max_len;
static uint32_t g_wire_max_segs;

/* Decode the link header of a frame of any length, reading only its headers. */
static enum link_hdr_error
frame_hdr(const struct rte_mbuf *m, struct link_hdr *h)
{
	uint8_t buf[L2_HDRS];
	const uint8_t *p;

	if (m->pkt_len < L2_HDRS) {
		return LINK_HDR_SHORT;
	}
	p = rte_pktmbuf_read(m, 0, L2_HDRS, buf);
	return link_hdr_decode(p + ETH_LEN, m->pkt_len - ETH_LEN, h);
}

static void
watch_reset(void)
{
	g_wire_frames = g_wire_data = g_wire_split = g_wire_max_len = g_wire_max_segs = 0;
	g_wire_started = false;
}

static void
watch_frames(void)
{
	struct rte_mbuf *m[64];
	struct link_hdr h;
	unsigned int n, i;

	n = rte_ring_dequeue_burst(g_ring_cs, (void **)m, RTE_DIM(m), NULL);
	for (i = 0; i < n; i++) {
		g_wire_frames++;
		g_wire_max_len = RTE_MAX(g_wire_max_len, m[i]->pkt_len);
		g_wire_max_segs = RTE_MAX(g_wire_max_segs, (uint32_t)m[i]->nb_segs);
		if (frame_hdr(m[i], &h) == LINK_HDR_OK && h.kind == RPCI_LINK_DATA &&
		    (!g_wire_started || h.seq == g_wire_next_seq)) {
			g_wire_started = true;
			g_wire_next_seq = h.seq + 1;
			g_wire_data++;
			if (h.flags & RPCI_LINK_F_SPLIT) {
				g_wire_split++;
			}
		}
	}
	if (n > 0 && rte_ring_enqueue_bulk(g_ring_cs, (void **)m, n, NULL) != n) {
		CU_FAIL("ring full");
		for (i = 0; i < n; i++) {
			rte_pktmbuf_free(m[i]);
		}
	}
}

/* Send the plan, pump until it is all delivered and acked, check it arrived intact. */
static void
plan_deliver(struct rpci_link_session *s, uint32_t n)
{
	CU_ASSERT_EQUAL(send_plan(s, 0, n, true), 0);
	CU_ASSERT(pump_until_delivered(s, n, 5000));
	pump_for(5);
	check_delivered(n);
}

/*
 * Payloads sent in place from contiguous memory travel as split frames of
 * 15 messages of 4096 bytes: the headers in one segment, the 60 KiB of
 * payloads in one more.
 */
static void
test_large_split_frames(void)
{
	struct rpci_link_params pc = params_big(false);
	struct rpci_link_params ps = params_big(true);
	const uint32_t per = (RPCI_LINK_FRAME_MAX - L2_HDRS) /
			     (RPCI_TLP_HDR_MEM_LEN + RPCI_TLP_MAX_PAYLOAD);
	struct rpci_link_open_msg ack;
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;

	CHECK_EQ(per, 15);
	env_start_with(&pc, &ps);
	CHECK_EQ(rpci_link_frame_max(g_cl), RPCI_LINK_FRAME_MAX);
	CHECK_EQ(rpci_link_max_payload(g_cl), RPCI_TLP_MAX_PAYLOAD);
	s = session_open(&ack);
	CHECK_EQ(ack.max_frame, RPCI_LINK_FRAME_MAX);
	CHECK_EQ(g_srv.open_req.max_frame, RPCI_LINK_FRAME_MAX);
	plan_strided(10 * per, RPCI_TLP_MAX_PAYLOAD, RPCI_TLP_MAX_PAYLOAD);
	watch_reset();
	g_filter = watch_frames;
	plan_deliver(s, 10 * per);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(sc.tx_data, 10);
	CHECK_EQ(sc.tx_split, 10);
	CHECK_EQ(sc.zero_copy, 10 * per);
	CHECK_EQ(g_wire_data, 10);
	CHECK_EQ(g_wire_split, 10);
	CHECK_EQ(g_wire_max_segs, 2);
	CHECK_EQ(g_wire_max_len, L2_HDRS + (g_use_auth ? RPCI_LINK_AUTH_LEN : 0) +
				 per * (RPCI_TLP_HDR_MEM_LEN + RPCI_TLP_MAX_PAYLOAD));
	/* Headers in one segment, payloads in the next: nothing to gather. */
	CHECK_EQ(ss.rx_gathered, 0);
	CHECK_EQ(ss.rx_msgs, 10 * per);
	CHECK_EQ(ss.rx_bad_chain + ss.rx_malformed_msg + ss.rx_bad_crc, 0);

	/* The same, 2 KiB apart: a segment per payload, at most tx_segs_max. */
	env_stop();
	pc.tx_segs_max = 4;
	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_strided(30, RPCI_TLP_MAX_PAYLOAD, RPCI_TLP_MAX_PAYLOAD + 2048);
	watch_reset();
	g_filter = watch_frames;
	plan_deliver(s, 30);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_EQ(sc.tx_data, 10);
	CHECK_EQ(g_wire_max_segs, 4);
	env_stop();
}

/* Small messages, copied, and payloads in place mixed, in frames up to 64 KiB. */
static void
test_large_mixed(void)
{
	struct rpci_link_params pc = params_big(false);
	struct rpci_link_params ps = params_big(true);
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;
	struct rpci_tlp m;
	uint32_t i;

	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(2000, 77);
	/* and every tenth message a full 4096 bytes, copied or in place */
	for (i = 5; i < 2000; i += 10) {
		g_plan_len[i] = RPCI_TLP_MAX_PAYLOAD;
	}
	watch_reset();
	g_filter = watch_frames;
	for (i = 0; i < 2000; i++) {
		int ret;
		uint64_t t0 = rte_get_timer_cycles();

		plan_msg(i, &m);
		do {
			/* every 20th 4096-byte message copied into the frame */
			ret = rpci_link_send(s, &m, g_pattern + g_plan_off[i],
					     i % 20 == 5 ? RPCI_LINK_SEND_COPY : 0);
			if (ret == -EAGAIN) {
				pump_once();
			}
		} while (ret == -EAGAIN && ms_since(t0) < 5000);
		CU_ASSERT_EQUAL_FATAL(ret, 0);
	}
	CU_ASSERT(pump_until_delivered(s, 2000, 5000));
	pump_for(5);
	check_delivered(2000);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CU_ASSERT(sc.tx_split > 0);
	CU_ASSERT(sc.tx_split < sc.tx_data);
	CU_ASSERT(sc.copied > 0 && sc.zero_copy > 0);
	CHECK_LE(g_wire_max_len, RPCI_LINK_FRAME_MAX);
	CHECK_EQ(ss.rx_bad_chain + ss.rx_malformed_msg + ss.rx_bad_crc, 0);
	env_stop();
}

/*
 * A copy of a frame as a PMD could deliver it: chained in segments of
 * sizes that cut through message headers and payloads (the first holds the
 * Ethernet and link headers and 3 bytes more).
 */
static struct rte_mbuf *
frame_rechain(const struct rte_mbuf *m)
{
	static const uint16_t sizes[] = { 3, 1, 700, 13, 2048, 5, 4000, 1 };
	struct rte_mbuf *head = NULL, *last = NULL, *seg;
	uint32_t off = 0, k = 0, len;
	const void *src;
	void *dst;

	while (off < m->pkt_len) {
		len = off == 0 ? L2_HDRS + 3 : sizes[k++ % RTE_DIM(sizes)];
		len = RTE_MIN(len, m->pkt_len - off);
		seg = rte_pktmbuf_alloc(g_pool_s);
		CU_ASSERT_PTR_NOT_NULL_FATAL(seg);
		dst = rte_pktmbuf_append(seg, (uint16_t)len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
		src = rte_pktmbuf_read(m, off, len, dst);
		CU_ASSERT_PTR_NOT_NULL_FATAL(src);
		if (src != dst) {
			memcpy(dst, src, len);
		}
		if (head == NULL) {
			head = seg;
		} else {
			last->next = seg;
			head->nb_segs++;
			head->pkt_len += len;
		}
		last = seg;
		off += len;
	}
	return head;
}

static uint32_t g_rechained;

/* Every DATA frame to the server re-chained (frame_rechain()). */
static void
rechain_frames(void)
{
	struct rte_mbuf *m[64];
	struct link_hdr h;
	unsigned int n, i;

	n = rte_ring_dequeue_burst(g_ring_cs, (void **)m, RTE_DIM(m), NULL);
	for (i = 0; i < n; i++) {
		if (frame_hdr(m[i], &h) == LINK_HDR_OK && h.kind == RPCI_LINK_DATA) {
			struct rte_mbuf *c = frame_rechain(m[i]);

			rte_pktmbuf_free(m[i]);
			m[i] = c;
			g_rechained++;
		}
	}
	if (n > 0 && rte_ring_enqueue_bulk(g_ring_cs, (void **)m, n, NULL) != n) {
		CU_FAIL("ring full");
		for (i = 0; i < n; i++) {
			rte_pktmbuf_free(m[i]);
		}
	}
}

/* Frames in chains cut anywhere (as a PMD may): every message read across the cuts. */
static void
test_chained_rx(void)
{
	struct rpci_link_params pc = params_big(false);
	struct rpci_link_params ps = params_big(true);
	struct rpci_link_session *s;
	struct rpci_link_stats ss;
	uint32_t round;

	for (round = 0; round < 2; round++) {
		/* with the payload CRC (over every segment), and without */
		pc.crc_payload = ps.crc_payload = round == 0;
		env_start_with(&pc, &ps);
		s = session_open(NULL);
		if (round == 0) {
			plan_make(1500, 99);
		} else {
			plan_strided(240, RPCI_TLP_MAX_PAYLOAD, RPCI_TLP_MAX_PAYLOAD);
		}
		g_rechained = 0;
		g_filter = rechain_frames;
		plan_deliver(s, g_plan_n);
		rpci_link_stats_get(g_sv, &ss);
		CU_ASSERT(g_rechained > 0);
		CU_ASSERT(ss.rx_gathered > 0);
		CHECK_EQ(ss.rx_bad_chain + ss.rx_malformed_msg + ss.rx_bad_crc, 0);
		env_stop();
	}
}

/* A copy of a frame (any length, chained as the pool's mbufs need) with byte off XORed. */
static struct rte_mbuf *
frame_copy_flip_any(const struct rte_mbuf *m, uint32_t off, uint8_t mask)
{
	struct rte_mbuf *c = rte_pktmbuf_copy(m, g_pool_s, 0, UINT32_MAX), *seg;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (seg = c; seg != NULL && off >= seg->data_len; seg = seg->next) {
		off -= seg->data_len;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(seg);
	*rte_pktmbuf_mtod_offset(seg, uint8_t *, off) ^= mask;
	return c;
}

/*
 * The payload CRC on and off: a bit flipped in a payload is caught with
 * it, and goes through without it (where the port is trusted); a bit
 * flipped in a header is caught either way.
 */
static void
test_crc_payload_modes(void)
{
	struct rpci_link_params pc = params_big(false);
	struct rpci_link_params ps = params_big(true);
	struct rpci_link_session *s;
	struct rpci_link_stats ss;
	struct rte_mbuf *m = NULL;
	struct link_hdr h;
	uint32_t round, seq;

	for (round = 0; round < 2; round++) {
		bool crc = round == 0;

		pc.crc_payload = ps.crc_payload = crc;
		env_start_with(&pc, &ps);
		s = session_open(NULL);
		plan_strided(45, RPCI_TLP_MAX_PAYLOAD, RPCI_TLP_MAX_PAYLOAD);
		/* The first frame: a bit of its last payload flipped on the wire. */
		CU_ASSERT_EQUAL(send_plan(s, 0, 15, false), 0);
		rpci_link_flush(g_cl);
		CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(g_ring_cs, (void **)&m), 0);
		CU_ASSERT_EQUAL_FATAL(frame_hdr(m, &h), LINK_HDR_OK);
		CHECK_EQ(h.flags & RPCI_LINK_F_CRC_PAYLOAD, crc ? RPCI_LINK_F_CRC_PAYLOAD : 0);
		ring_put(g_ring_cs, frame_copy_flip_any(m, m->pkt_len - 100, 0x04));
		rte_pktmbuf_free(m);
		seq = rpci_link_session_tx_seq(s);
		pump_for(5);
		rpci_link_stats_get(g_sv, &ss);
		if (crc) {
			/* Refused, then sent again intact. */
			CHECK_EQ(ss.rx_bad_crc, 1);
			CU_ASSERT(pump_until_delivered(s, 15, 2000));
			CHECK_EQ(g_srv.bad, 0);
		} else {
			/* Taken as it came: message 14 is wrong, the link could not know. */
			CHECK_EQ(ss.rx_bad_crc, 0);
			CU_ASSERT(rpci_link_session_acked(s, seq));
			CHECK_EQ(g_srv.delivered, 15);
			CHECK_EQ(g_srv.bad, 1);
		}
		/* The second frame: a bit of its link header flipped. */
		CU_ASSERT_EQUAL(send_plan(s, 15, 30, false), 0);
		rpci_link_flush(g_cl);
		CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(g_ring_cs, (void **)&m), 0);
		ring_put(g_ring_cs, frame_copy_flip_any(m, ETH_LEN + LINK_OFF_SEQ + 3, 0x01));
		rte_pktmbuf_free(m);
		pump_for(5);
		rpci_link_stats_get(g_sv, &ss);
		CHECK_EQ(ss.rx_bad_crc, crc ? 2 : 1);
		CU_ASSERT(pump_until_delivered(s, 30, 2000));
		/* And a bit of its split length: the CRC covers the whole header. */
		CU_ASSERT_EQUAL(send_plan(s, 30, 45, false), 0);
		rpci_link_flush(g_cl);
		CU_ASSERT_EQUAL_FATAL(rte_ring_dequeue(g_ring_cs, (void **)&m), 0);
		ring_put(g_ring_cs, frame_copy_flip_any(m, ETH_LEN + LINK_OFF_SPLIT + 1, 0x08));
		rte_pktmbuf_free(m);
		CU_ASSERT(pump_until_delivered(s, 45, 2000));
		pump_for(5);
		rpci_link_stats_get(g_sv, &ss);
		CHECK_EQ(ss.rx_bad_crc + ss.rx_bad_header, crc ? 3 : 2);
		CHECK_EQ(g_srv.delivered, 45);
		CHECK_EQ(g_srv.bad, crc ? 0 : 1);
		CHECK_EQ(ss.rx_malformed_msg, 0);
		g_srv.bad = 0; /* expected above */
		env_stop();
	}
}

/*
 * The header of a DATA frame built by hand in the place of the client's
 * next one: the client sends a message, whose frame is taken off the wire,
 * so that the server takes the hand-made one as that frame.
 */
static struct link_hdr
next_data_hdr(struct rpci_link_session *s)
{
	struct rte_mbuf *orig = NULL;
	struct link_hdr h;
	struct rpci_tlp m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_TLP_MWR;
	CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&m, 0xdead000, 8), 0);
	CU_ASSERT_EQUAL(rpci_link_send(s, &m, g_pattern, 0), 0);
	rpci_link_flush(g_cl);
	CU_ASSERT_EQUAL(rte_ring_dequeue(g_ring_cs, (void **)&orig), 0);
	memset(&h, 0, sizeof(h));
	if (orig != NULL) {
		CU_ASSERT_EQUAL(frame_hdr(orig, &h), LINK_HDR_OK);
		rte_pktmbuf_free(orig);
	}
	return h;
}

/* Chains that do not add up, headers cut, split frames that lie: dropped and counted. */
static void
test_bad_chains(void)
{
	struct rpci_link_params pc = params_big(false);
	struct rpci_link_params ps = params_big(true);
	struct rpci_link_session *s;
	struct rpci_link_stats ss;
	struct rte_mbuf *m, *c;
	struct link_hdr h;
	struct rpci_tlp msg;
	uint8_t body[2 * RPCI_TLP_HDR_MEM_LEN + 2 * 64 + 8];
	uint32_t seq;
	int len;

	env_start_with(&pc, &ps);
	s = session_open(NULL);
	plan_make(3, 5);
	g_plan_len[0] = g_plan_len[1] = 64;

	/* A chain whose segments add up to less than its length (as the next frame). */
	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = RPCI_LINK_DATA;
	h.session = rpci_link_session_id(s);
	h.seq = rpci_link_session_tx_seq(s);
	m = frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, NULL, 0, false);
	c = frame_rechain(m);
	rte_pktmbuf_free(m);
	CU_ASSERT_FATAL(c->nb_segs >= 1);
	c->pkt_len += 10;
	ring_put(g_ring_cs, c);
	/* One that claims more segments than it has. */
	m = frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, NULL, 0, false);
	m->nb_segs = 3;
	ring_put(g_ring_cs, m);
	/* One that cuts the link header in two. */
	m = frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, NULL, 0, false);
	c = rte_pktmbuf_alloc(g_pool_s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memcpy(rte_pktmbuf_append(c, 20), rte_pktmbuf_mtod_offset(m, void *, L2_HDRS - 20), 20);
	m->data_len = (uint16_t)(L2_HDRS - 20);
	m->next = c;
	m->nb_segs = 2;
	ring_put(g_ring_cs, m);
	pump_for(5);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_bad_chain, 3);
	CHECK_EQ(ss.rx_data, 0);
	CHECK_EQ(g_srv.rx_calls, 0);

	/* A split frame whose headers claim more payload than it carries. */
	h = next_data_hdr(s);
	plan_msg(0, &msg);
	len = rpci_tlp_encode(&msg, body, sizeof(body));
	CU_ASSERT_EQUAL_FATAL(len, RPCI_TLP_HDR_MEM_LEN);
	plan_msg(1, &msg);
	CU_ASSERT_EQUAL_FATAL(rpci_tlp_encode(&msg, body + len, sizeof(body) - len), len);
	memcpy(body + 2 * len, g_pattern + g_plan_off[0], 64);
	memcpy(body + 2 * len + 64, g_pattern + g_plan_off[1], 40); /* 24 bytes short */
	h.flags |= RPCI_LINK_F_SPLIT;
	h.split_len = (uint16_t)(2 * len);
	h.payload_len = (uint16_t)(2 * len + 64 + 40);
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					h.payload_len, false));
	seq = rpci_link_session_tx_seq(s);
	pump_for(5);
	CU_ASSERT(rpci_link_session_acked(s, seq)); /* intact as a frame: acked */
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_malformed_msg, 1);
	CHECK_EQ(g_srv.delivered, 1); /* the first message was whole */

	/* One with payload bytes no header claims. */
	h = next_data_hdr(s);
	plan_msg(1, &msg);
	CU_ASSERT_EQUAL_FATAL(rpci_tlp_encode(&msg, body, sizeof(body)), len);
	memcpy(body + len, g_pattern + g_plan_off[1], 64);
	h.flags |= RPCI_LINK_F_SPLIT;
	h.split_len = (uint16_t)len;
	h.payload_len = (uint16_t)(len + 64 + 8);
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					h.payload_len, false));
	seq = rpci_link_session_tx_seq(s);
	pump_for(5);
	CU_ASSERT(rpci_link_session_acked(s, seq));
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_malformed_msg, 2);
	CHECK_EQ(g_srv.delivered, 2);

	/* And the session goes on. */
	CU_ASSERT_EQUAL(send_plan(s, 2, 3, true), 0);
	CU_ASSERT(pump_until_delivered(s, 3, 1000));
	pump_for(5);
	check_delivered(3);
	CU_ASSERT_EQUAL(rpci_link_session_state(s), RPCI_LINK_S_OPEN);
	env_stop();
}

/* Each end sends frames no larger than the other takes. */
static void
test_frame_negotiation(void)
{
	struct rpci_link_params pc = params_big(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_open_msg ack;
	struct rpci_link_session *s;

	/* The same max payload, frames of 64 KiB and of the MTU's. */
	pc.max_payload = ps.max_payload = MAX_PAYLOAD;
	env_start_with(&pc, &ps);
	CHECK_EQ(rpci_link_frame_max(g_sv), MTU + ETH_LEN);
	s = session_open(&ack);
	CHECK_EQ(ack.max_frame, MTU + ETH_LEN);
	CHECK_EQ(g_srv.open_req.max_frame, RPCI_LINK_FRAME_MAX);
	plan_strided(60, MAX_PAYLOAD, MAX_PAYLOAD);
	watch_reset();
	g_filter = watch_frames;
	plan_deliver(s, 60);
	CHECK_LE(g_wire_max_len, MTU + ETH_LEN);
	{
		struct rpci_link_stats sc;

		rpci_link_stats_get(g_cl, &sc);
		CHECK_EQ(g_wire_data, 60);
		CHECK_EQ(sc.tx_data, 60);
	}
	env_stop();

	/* Frames the max payload does not fit: the link is not made. */
	pc = params_make(false);
	pc.max_payload = MAX_PAYLOAD;
	pc.frame_max = 1000;
	CU_ASSERT_PTR_NULL(rpci_link_create(&pc));
	pc.frame_max = RPCI_LINK_FRAME_MAX + 1;
	CU_ASSERT_PTR_NULL(rpci_link_create(&pc));
	pc.frame_max = RPCI_LINK_FRAME_MIN - 1;
	CU_ASSERT_PTR_NULL(rpci_link_create(&pc));
}

/* Large frames through the fault injector: every message once, in order. */
static void
test_large_faults(void)
{
	struct rpci_link_params pc = params_big(false);
	struct rpci_link_params ps = params_big(true);
	const struct rpci_link_faults f = {
		.drop = 0.03, .dup = 0.02, .reorder = 0.03, .corrupt = 0.02,
	};
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;

	env_start_with(&pc, &ps);
	s = session_open(NULL);
	CU_ASSERT_EQUAL(rpci_link_set_faults(g_cl, &f, NULL, 7), 0);
	CU_ASSERT_EQUAL(rpci_link_set_faults(g_sv, &f, NULL, 8), 0);
	plan_strided(PLAN_MAX / 2, RPCI_TLP_MAX_PAYLOAD, 128);
	CU_ASSERT_EQUAL(send_plan(s, 0, g_plan_n, true), 0);
	CU_ASSERT(pump_until_delivered(s, g_plan_n, 20000));
	pump_for(20);
	check_delivered(g_plan_n);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CU_ASSERT(sc.fault_drop[0] > 0 && sc.fault_corrupt[0] > 0 && sc.fault_reorder[0] > 0);
	CU_ASSERT(sc.tx_retransmit > 0);
	/* a corrupted frame: its CRC, or (authenticated, no payload CRC) its tag */
	CU_ASSERT(ss.rx_bad_crc + ss.rx_auth_bad_tag > 0);
	CHECK_EQ(ss.rx_malformed_msg, 0);
	CHECK_EQ(sc.sessions_dead + ss.sessions_dead, 0);
	CU_ASSERT_EQUAL(rpci_link_set_faults(g_cl, NULL, NULL, 0), 0);
	CU_ASSERT_EQUAL(rpci_link_set_faults(g_sv, NULL, NULL, 0), 0);
	env_stop();
}

/* The frame size and payload CRC of a host: its own, the file's, its port kind's. */
static void
test_host_frame(void)
{
	static const char text[] =
		"link = { frame_max = %u; %s };\n"
		"hosts = ( { name = \"s\"; roles = [ \"server\" ]; mac = \"02:00:00:00:00:01\";\n"
		"  eal = { lcores = \"0\"; };\n"
		"  devices = ( { name = \"d\"; backend = \"cpu\"; memory_mb = 64;\n"
		"    vendor_id = 0x7270; device_id = 1; class_code = 0x030200; } );\n"
		"  %s },\n"
		"  { name = \"c\"; roles = [ \"client\" ]; mac = \"02:00:00:00:00:02\";\n"
		"  eal = { lcores = \"1\"; }; server = \"s\"; } );\n";
	const struct rpci_port_info memif = {
		.driver = "net_memif", .kind = RPCI_PORT_MEMIF, .frame_max = 65024,
		.crc_payload = false,
	};
	const struct rpci_port_info afp = {
		.driver = "net_af_packet", .kind = RPCI_PORT_AF_PACKET, .frame_max = 1514,
		.crc_payload = true,
	};
	const struct {
		uint32_t link_frame;
		const char *link_crc;
		const char *host;
		const struct rpci_port_info *pi;
		int ret;
		uint32_t frame;
		bool crc;
	} cases[] = {
		{ 0, "", "", &memif, 0, 65024, false },
		{ 0, "", "", &afp, 0, 1514, true },
		{ 0, "crc_payload = true;", "", &memif, 0, 65024, true },
		{ 0, "crc_payload = true;", "crc_payload = false;", &memif, 0, 65024, false },
		{ 9014, "", "", &memif, 0, 9014, false },
		{ 0, "", "frame_max = 4200;", &memif, 0, 4200, false },
		{ 65024, "", "frame_max = 1000;", &afp, 0, 1000, true },
		{ 9014, "crc_payload = false;", "", &afp, -EINVAL, 0, false },
		{ 0, "", "frame_max = 1515;", &afp, -EINVAL, 0, false },
	};
	struct rpci_port_info small = memif, info;
	struct rpci_conf *conf;
	char buf[1024], err[256];
	uint32_t i, frame;
	bool crc;
	int ret;

	for (i = 0; i < RTE_DIM(cases); i++) {
		snprintf(buf, sizeof(buf), text, cases[i].link_frame, cases[i].link_crc,
			 cases[i].host);
		conf = rpci_conf_load_string(buf, "test", err, sizeof(err));
		if (conf == NULL) {
			printf("\n    %s\n", err);
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
		err[0] = '\0';
		frame = 0;
		crc = !cases[i].crc;
		ret = rpci_link_host_frame(conf, &conf->hosts[0], cases[i].pi, &frame, &crc, err,
					   sizeof(err));
		CHECK_EQ(-ret, -cases[i].ret);
		if (ret == 0) {
			CHECK_EQ(frame, cases[i].frame);
			CHECK_EQ(crc, cases[i].crc);
		} else {
			CU_ASSERT(strstr(err, "host 's': frame_max") != NULL);
		}
		rpci_conf_free(conf);
	}
	/* A memif whose buffers are too small for any frame. */
	small.frame_max = 512;
	snprintf(buf, sizeof(buf), text, 0, "", "");
	conf = rpci_conf_load_string(buf, "test", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CHECK_EQ(-rpci_link_host_frame(conf, &conf->hosts[0], &small, &frame, &crc, err,
				       sizeof(err)), EINVAL);
	CU_ASSERT(strstr(err, "bsize") != NULL);
	rpci_conf_free(conf);

	/* The test's net_ring port: another kind, the MTU's frame, the CRC on. */
	CHECK_EQ(-rpci_port_info_get(g_port_c, MTU, &info), 0);
	CHECK_EQ(info.kind, RPCI_PORT_OTHER);
	CHECK_EQ(info.frame_max, MTU + ETH_LEN);
	CU_ASSERT(info.crc_payload);
	CU_ASSERT(info.tx_segs_max >= 2);
	CHECK_EQ(-rpci_port_info_get(RTE_MAX_ETHPORTS - 1, MTU, &info), ENODEV);
}

/* Two ring ports back to back, and pools for each end. */
static int
env_init(void)
{
	int pc, ps, ret;
	uint32_t i;

	g_rng = 0x9e3779b9;
	for (i = 0; i < PATTERN_LEN; i++) {
		g_pattern[i] = (uint8_t)(rng() >> 7);
	}
	g_ring_cs = rte_ring_create("tl_cs", RING_SIZE, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	g_ring_sc = rte_ring_create("tl_sc", RING_SIZE, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (g_ring_cs == NULL || g_ring_sc == NULL) {
		printf("rings: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	pc = rte_eth_from_rings("tl_client", &g_ring_sc, 1, &g_ring_cs, 1, SOCKET_ID_ANY);
	ps = rte_eth_from_rings("tl_server", &g_ring_cs, 1, &g_ring_sc, 1, SOCKET_ID_ANY);
	if (pc < 0 || ps < 0) {
		printf("ring ports: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	g_port_c = (uint16_t)pc;
	g_port_s = (uint16_t)ps;
	/* Header mbufs that hold a largest message copied in (large-frame tests). */
	ret = rpci_link_pools_create("tlc", NB_MBUFS, POOL_MTU, SOCKET_ID_ANY, &g_pool_c,
				     &g_ext_c);
	if (ret == 0) {
		ret = rpci_link_pools_create("tls", NB_MBUFS, POOL_MTU, SOCKET_ID_ANY, &g_pool_s,
					     &g_ext_s);
	}
	if (ret != 0) {
		printf("pools: %s\n", strerror(-ret));
		return -1;
	}
	ret = rpci_port_init(g_port_c, MTU, 512, g_pool_c, &g_mac_c, NULL);
	if (ret == 0) {
		ret = rpci_port_init(g_port_s, MTU, 512, g_pool_s, &g_mac_s, NULL);
	}
	if (ret != 0) {
		printf("ports: %s\n", strerror(-ret));
		return -1;
	}
	g_avail[0] = rte_mempool_avail_count(g_pool_c);
	g_avail[1] = rte_mempool_avail_count(g_ext_c);
	g_avail[2] = rte_mempool_avail_count(g_pool_s);
	g_avail[3] = rte_mempool_avail_count(g_ext_s);
	g_env_ok = true;
	return 0;
}

static void
env_fini(void)
{
	env_release();
	if (!g_env_ok) {
		return;
	}
	rpci_port_close(g_port_c);
	rpci_port_close(g_port_s);
	rte_mempool_free(g_pool_c);
	rte_mempool_free(g_ext_c);
	rte_mempool_free(g_pool_s);
	rte_mempool_free(g_ext_s);
	rte_ring_free(g_ring_cs);
	rte_ring_free(g_ring_sc);
	g_env_ok = false;
}

/* ================================================ authenticated sessions */

/* A copy of a frame with byte off XORed with mask and its header's CRC made right again. */
static struct rte_mbuf *
frame_copy_flip_crc(const struct rte_mbuf *m, uint32_t off, uint8_t mask)
{
	struct rte_mbuf *c = frame_copy_flip(m, off, mask);
	uint8_t *hdr = rte_pktmbuf_mtod_offset(c, uint8_t *, ETH_LEN);

	put_be32(hdr + LINK_OFF_CRC, link_crc_header(hdr) ^ ~0u);
	return c;
}

/* Close a session in order, pumping both ends (the server's owner frees its side). */
static int
close_pumped(struct rpci_link_session *s)
{
	uint64_t t0 = rte_get_timer_cycles();
	int ret;

	CU_ASSERT_EQUAL_FATAL(rpci_link_close_start(s), 0);
	while ((ret = rpci_link_close_poll(s)) == -EINPROGRESS && ms_since(t0) < 2000) {
		pump_once();
	}
	if (g_srv.down_s != NULL) {
		rpci_link_session_free(g_srv.down_s);
		g_srv.down_s = NULL;
		g_srv.accepted = NULL;
	}
	rpci_link_session_free(s);
	return ret;
}

static uint32_t g_auth_wire_data;
static uint32_t g_auth_wire_tagged;
static uint32_t g_auth_wire_encrypted;

/* The client's DATA frames on the wire: how many carry a tag, and are encrypted. */
static void
watch_auth(void)
{
	struct rte_mbuf *m[64];
	struct link_hdr h;
	unsigned int n, i;

	n = rte_ring_dequeue_burst(g_ring_cs, (void **)m, RTE_DIM(m), NULL);
	for (i = 0; i < n; i++) {
		if (frame_hdr(m[i], &h) == LINK_HDR_OK && h.kind == RPCI_LINK_DATA) {
			g_auth_wire_data++;
			g_auth_wire_tagged += (h.flags & RPCI_LINK_F_AUTH) != 0;
			g_auth_wire_encrypted += (h.flags & RPCI_LINK_F_ENCRYPTED) != 0;
		}
	}
	if (n > 0 && rte_ring_enqueue_bulk(g_ring_cs, (void **)m, n, NULL) != n) {
		CU_FAIL("ring full");
	}
}

/* A session with keys: both ends agree what it is, who the other is; every frame tagged. */
static void
test_auth_session(void)
{
	const uint8_t want = g_use_encrypt ? RPCI_LINK_SEC_ENCRYPT : RPCI_LINK_SEC_MAC;
	struct rpci_link_session_auth ca, sa;
	struct rpci_link_open_msg ack;
	struct rpci_link_stats sc, ss;
	struct rpci_link_session *s;

	env_start();
	CU_ASSERT(rpci_link_auth_on(g_cl) && rpci_link_auth_on(g_sv));
	s = session_open(&ack);
	rpci_link_session_auth_get(s, &ca);
	rpci_link_session_auth_get(g_srv.accepted, &sa);
	CHECK_EQ(ack.security, want);
	CHECK_EQ(g_srv.open_req.security, want);
	CHECK_EQ(ca.security, want);
	CHECK_EQ(sa.security, want);
	CHECK_EQ(ca.cipher, RPCI_AUTH_CIPHER_AES128GCM);
	CHECK_EQ(sa.cipher, RPCI_AUTH_CIPHER_AES128GCM);
	/* the authenticated peers: "sv" is host 0, "cl" host 1 */
	CHECK_EQ(rpci_link_session_peer_host(s), 0);
	CHECK_EQ(rpci_link_session_peer_host(g_srv.accepted), 1);
	plan_make(400, 17);
	g_auth_wire_data = g_auth_wire_tagged = g_auth_wire_encrypted = 0;
	g_filter = watch_auth;
	plan_deliver(s, 400);
	CU_ASSERT(g_auth_wire_data > 0);
	CHECK_EQ(g_auth_wire_tagged, g_auth_wire_data);
	CHECK_EQ(g_auth_wire_encrypted, g_use_encrypt ? g_auth_wire_data : 0);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(sc.tx_sealed, sc.tx_data);
	CHECK_GE(ss.rx_verified, ss.rx_data);
	CHECK_GE(sc.rx_verified, 1); /* the server's ACKs */
	CHECK_EQ(ss.rx_auth_bad_tag + ss.rx_auth_replay + ss.rx_auth_missing, 0);
	CHECK_EQ(sc.rx_auth_bad_tag + sc.rx_auth_replay + sc.rx_auth_missing, 0);
	CHECK_EQ(ss.open_unsigned + ss.open_bad_tag + ss.open_stale + ss.open_replay +
		 ss.open_unknown_host + ss.open_refused + sc.open_ack_refused, 0);
	rpci_link_session_auth_get(g_srv.accepted, &sa);
	CHECK_GE(sa.rx_verified, ss.rx_data);
	CU_ASSERT_EQUAL(close_pumped(s), 0);
	env_stop();
}

/*
 * Frames altered on the way (a header field, the payload, the counter, the
 * tag; the header's CRC made right again): refused as bad tags, never
 * delivered; the genuine frames behind them are.
 */
static void
test_auth_tamper(void)
{
	struct rpci_link_session_auth sa;
	struct rte_mbuf *pkts[TAKE_MAX];
	struct rpci_link_stats ss;
	struct rpci_link_session *s;
	struct link_hdr h;
	unsigned int n, i;
	uint32_t off;

	env_start();
	s = session_open(NULL);
	plan_make(40, 23);
	n = burst_take(s, 0, 40, pkts);
	CU_ASSERT_FATAL(n >= 4);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(frame_hdr(pkts[i], &h), LINK_HDR_OK);
		CU_ASSERT(h.flags & RPCI_LINK_F_AUTH);
		switch (i % 4) {
		case 0:
			off = ETH_LEN + LINK_OFF_CREDIT_P + 1; /* what the CRC alone would let by */
			break;
		case 1:
			off = L2_HDRS + RPCI_LINK_AUTH_LEN + h.payload_len - 1; /* the payload */
			break;
		case 2:
			off = L2_HDRS + 2; /* the counter's high half */
			break;
		default:
			off = L2_HDRS + 8 + 15; /* the tag */
			break;
		}
		ring_put(g_ring_cs, frame_copy_flip_crc(pkts[i], off, 0x10));
		ring_put(g_ring_cs, pkts[i]);
	}
	CU_ASSERT(pump_until_delivered(s, 40, 2000));
	pump_for(5);
	check_delivered(40);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_auth_bad_tag, n);
	CHECK_EQ(ss.rx_bad_crc + ss.rx_bad_header + ss.rx_malformed_msg, 0);
	rpci_link_session_auth_get(g_srv.accepted, &sa);
	CHECK_EQ(sa.rx_bad_tag, n);
	env_stop();
}

/*
 * Frames of a live session recorded and sent again: at once, a DATA frame
 * is a duplicate (acked again, never delivered twice); once the session has
 * moved on by more than the sender's window, a replay (refused without an
 * answer); a recorded ACK is a replay at once.
 */
static void
test_auth_replay(void)
{
	struct rte_mbuf *pkts[TAKE_MAX], *cap[TAKE_MAX], *acks[64], *m[64];
	struct rpci_link_stats sc, ss, ss0;
	struct rpci_link_session *s;
	struct link_hdr h;
	unsigned int n, i, k, nacks = 0;

	env_start();
	s = session_open(NULL);
	plan_make(12, 31);
	n = burst_take(s, 0, 12, pkts);
	for (i = 0; i < n; i++) {
		cap[i] = frame_copy_flip(pkts[i], 0, 0);
		ring_put(g_ring_cs, pkts[i]);
	}
	/* the server takes them and acks: record its ACKs on their way back */
	rpci_link_poll(g_sv);
	k = rte_ring_dequeue_burst(g_ring_sc, (void **)m, RTE_DIM(m), NULL);
	for (i = 0; i < k; i++) {
		if (frame_hdr(m[i], &h) == LINK_HDR_OK && h.kind == RPCI_LINK_ACK && nacks < 64) {
			acks[nacks++] = frame_copy_flip(m[i], 0, 0);
		}
	}
	CU_ASSERT(rte_ring_enqueue_bulk(g_ring_sc, (void **)m, k, NULL) == k);
	CU_ASSERT_FATAL(nacks > 0);
	CU_ASSERT(pump_until_delivered(s, 12, 1000));
	pump_for(5);
	/* at once: duplicates */
	rpci_link_stats_get(g_sv, &ss0);
	for (i = 0; i < n; i++) {
		ring_put(g_ring_cs, frame_copy_flip(cap[i], 0, 0));
	}
	pump_for(5);
	check_delivered(12);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_duplicate - ss0.rx_duplicate, n);
	CHECK_EQ(ss.rx_auth_replay, 0);
	/* a recorded ACK: a replay at once */
	for (i = 0; i < nacks; i++) {
		ring_put(g_ring_sc, acks[i]);
	}
	pump_for(5);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_EQ(sc.rx_auth_replay, nacks);
	/* after the sender's window (64 frames): replays */
	g_srv.next = g_srv.delivered = 0;
	plan_fixed(300, 512); /* attached: a frame each (encrypted, copied: two a frame) */
	plan_deliver(s, 300);
	for (i = 0; i < n; i++) {
		ring_put(g_ring_cs, cap[i]);
	}
	pump_for(5);
	check_delivered(300);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_auth_replay, n);
	CHECK_EQ(ss.rx_auth_bad_tag + ss.rx_bad_crc, 0);
	env_stop();
}

/* The bytes of plan message i on the wire (header and payload); their length. */
static uint32_t
plan_bytes(uint32_t i, uint8_t *buf)
{
	struct rpci_tlp m;
	uint32_t hlen;

	plan_msg(i, &m);
	hlen = (uint32_t)rpci_tlp_hdr_len(m.type);
	CU_ASSERT_FATAL(rpci_tlp_encode(&m, buf, hlen) == (int)hlen);
	memcpy(buf + hlen, g_pattern + g_plan_off[i], g_plan_len[i]);
	return hlen + g_plan_len[i];
}

/*
 * Frames made by a host on the wire with the session's id and the client's
 * address: a DATA frame without a tag (the next sequence number, a right
 * CRC), one with a made-up tag, an ACK without one to the client. Refused
 * and counted; the session goes on.
 */
static void
test_auth_spoof(void)
{
	uint8_t body[RPCI_LINK_AUTH_LEN + RPCI_TLP_HDR_MAX_LEN + MAX_PAYLOAD];
	struct rpci_link_session_auth sa;
	struct rpci_link_stats sc, ss;
	struct rpci_link_session *s;
	struct link_hdr h;
	uint32_t len, i;

	env_start();
	s = session_open(NULL);
	plan_make(20, 41);
	CU_ASSERT_EQUAL(send_plan(s, 0, 10, true), 0);
	CU_ASSERT(pump_until_delivered(s, 10, 1000));
	/* no tag */
	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = RPCI_LINK_DATA;
	h.flags = RPCI_LINK_F_CRC_PAYLOAD;
	h.session = rpci_link_session_id(s);
	h.seq = rpci_link_session_tx_seq(s);
	h.credit_p = h.credit_np = h.credit_cpl = 100;
	len = plan_bytes(10, body);
	h.payload_len = (uint16_t)len;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					(uint16_t)len, false));
	/* a made-up tag */
	h.flags = RPCI_LINK_F_AUTH;
	for (i = 0; i < RPCI_LINK_AUTH_LEN; i++) {
		body[i] = (uint8_t)rng();
	}
	link_auth_counter_put(body, h.seq);
	len = plan_bytes(10, body + RPCI_LINK_AUTH_LEN);
	h.payload_len = (uint16_t)len;
	ring_put(g_ring_cs, frame_build(&g_mac_s, &g_mac_c, RPCI_LINK_ETHERTYPE, &h, body,
					(uint16_t)(RPCI_LINK_AUTH_LEN + len), false));
	/* an ACK without a tag to the client, as the server */
	h.kind = RPCI_LINK_ACK;
	h.flags = 0;
	h.payload_len = 0;
	h.ack = rpci_link_session_tx_seq(s) + 5;
	ring_put(g_ring_sc, frame_build(&g_mac_c, &g_mac_s, RPCI_LINK_ETHERTYPE, &h, NULL, 0,
					false));
	pump_for(5);
	CHECK_EQ(g_srv.delivered, 10);
	rpci_link_stats_get(g_sv, &ss);
	rpci_link_stats_get(g_cl, &sc);
	CHECK_EQ(ss.rx_auth_missing, 1);
	CHECK_EQ(ss.rx_auth_bad_tag, 1);
	CHECK_EQ(sc.rx_auth_missing, 1);
	rpci_link_session_auth_get(g_srv.accepted, &sa);
	CHECK_EQ(sa.rx_missing, 1);
	CHECK_EQ(sa.rx_bad_tag, 1);
	/* the session goes on */
	CU_ASSERT_EQUAL(send_plan(s, 10, 20, true), 0);
	CU_ASSERT(pump_until_delivered(s, 20, 1000));
	pump_for(5);
	check_delivered(20);
	env_stop();
}

/* An OPEN frame from src: h's session, body (96 bytes), then block (NULL: none). */
static struct rte_mbuf *
open_frame(const struct rte_ether_addr *src, uint32_t session, const uint8_t *body,
	   struct rpci_auth_sess *sec, uint64_t now_us, bool garbage)
{
	uint8_t buf[RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN + RPCI_LINK_OPEN_AUTH_LEN];
	struct link_hdr h;
	uint32_t i;

	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = RPCI_LINK_OPEN;
	h.session = session;
	h.payload_len = LINK_OPEN_MSG_LEN + (sec != NULL || garbage ? RPCI_LINK_OPEN_AUTH_LEN : 0);
	link_hdr_encode(&h, buf);
	memcpy(buf + RPCI_LINK_HDR_LEN, body, LINK_OPEN_MSG_LEN);
	if (sec != NULL) {
		CU_ASSERT(rpci_auth_sess_offer(sec, buf, RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN,
					       buf + RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN,
					       now_us) == 0);
	} else if (garbage) {
		uint8_t *b = buf + RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN;

		for (i = 0; i < RPCI_LINK_OPEN_AUTH_LEN; i++) {
			b[i] = (uint8_t)rng();
		}
		b[0] = RPCI_AUTH_CIPHER_AES128GCM;
		b[1] = 0;
		b[2] = 1; /* "cl" */
		b[3] = 0; /* "sv" */
		memset(b + 4, 0, 4);
		link_auth_counter_put(b + 8, rpci_auth_now_us());
	}
	return frame_build(&g_mac_s, src, RPCI_LINK_ETHERTYPE, &h, buf + RPCI_LINK_HDR_LEN,
			   h.payload_len, false);
}

/*
 * OPENs the server refuses before any session is made: without a block,
 * with a made-up one, signed by another host of the file from the client's
 * address, stamped outside the window, the client's real OPEN sent again
 * once its session is closed. Each counted; the device never asked.
 */
static void
test_auth_open(void)
{
	struct rpci_link_open_msg req, ack;
	struct rpci_auth *other;
	struct rpci_auth_sess *sec;
	struct rpci_link_session *s;
	struct rpci_link_stats ss;
	struct rte_mbuf *rec = NULL, *m[16];
	struct link_hdr h;
	uint8_t body[LINK_OPEN_MSG_LEN];
	char err[256];
	unsigned int k, i;
	int ret;

	env_start();
	memset(&req, 0, sizeof(req));
	req.function = FUNCTION;
	req.requester_id = REQ_ID;
	req.max_payload = MAX_PAYLOAD;
	req.replay_frames = 64;
	req.credits[0] = req.credits[1] = req.credits[2] = 16;
	link_open_msg_encode(&req, body);
	ring_put(g_ring_cs, open_frame(&g_mac_c, 0x100, body, NULL, 0, false));
	ring_put(g_ring_cs, open_frame(&g_mac_c, 0x101, body, NULL, 0, true));
	other = rpci_auth_create(g_auth_conf, "other", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	sec = rpci_auth_sess_client(other, 0, RPCI_AUTH_CIPHER_AES128GCM, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
	ring_put(g_ring_cs, open_frame(&g_mac_c, 0x102, body, sec, rpci_auth_now_us(), false));
	rpci_auth_sess_free(sec);
	sec = rpci_auth_sess_client(g_auth_c, 0, RPCI_AUTH_CIPHER_AES128GCM, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
	ring_put(g_ring_cs, open_frame(&g_mac_c, 0x103, body, sec, rpci_auth_now_us() - 3000000,
				       false));
	rpci_auth_sess_free(sec);
	rpci_auth_free(other);
	pump_for(5);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.open_unsigned, 1);
	CHECK_EQ(ss.open_bad_tag, 1);
	CHECK_EQ(ss.open_unknown_host, 1);
	CHECK_EQ(ss.open_stale, 1);
	CHECK_EQ(g_srv.open_calls, 0);

	/* the client's real OPEN, recorded on its way */
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	k = rte_ring_dequeue_burst(g_ring_cs, (void **)m, RTE_DIM(m), NULL);
	for (i = 0; i < k; i++) {
		if (frame_hdr(m[i], &h) == LINK_HDR_OK && h.kind == RPCI_LINK_OPEN) {
			rec = frame_copy_flip(m[i], 0, 0);
		}
	}
	CU_ASSERT(rte_ring_enqueue_bulk(g_ring_cs, (void **)m, k, NULL) == k);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	ret = answer_wait(s, &ack);
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CHECK_EQ(g_srv.open_calls, 1);
	/* sent again while it is open: the same OPEN, answered again, nothing new */
	ring_put(g_ring_cs, frame_copy_flip(rec, 0, 0));
	pump_for(5);
	CHECK_EQ(g_srv.open_calls, 1);
	CU_ASSERT_EQUAL(close_pumped(s), 0);
	/* and once it is closed: a replay */
	ring_put(g_ring_cs, rec);
	pump_for(5);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.open_replay, 1);
	CHECK_EQ(g_srv.open_calls, 1);
	env_stop();
}

/*
 * A client asks for a session whose frames are not authenticated: refused
 * by a server that authenticates every frame (auth.sessions "required"),
 * taken by one where it is optional (frames then carry their CRC, no tag).
 */
static void
test_auth_optional(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_open_msg req, ack;
	struct rpci_link_session_auth ca;
	struct rpci_link_session *s;
	struct rpci_link_stats ss;
	int ret;

	memset(&req, 0, sizeof(req));
	req.function = FUNCTION;
	req.requester_id = REQ_ID;
	req.security = RPCI_LINK_SEC_NONE;
	env_start_with(&pc, &ps);
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ret = answer_wait(s, &ack);
	CHECK_EQ(-ret, EACCES);
	CU_ASSERT(strstr(ack.reason, "auth.sessions") != NULL);
	rpci_link_session_free(s);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.open_refused, 1);
	CHECK_EQ(g_srv.open_calls, 0);

	ps.sessions_optional = true;
	env_start_with(&pc, &ps);
	s = rpci_link_connect(g_cl, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ret = answer_wait(s, &ack);
	CHECK_EQ(ret, 0);
	rpci_link_session_auth_get(s, &ca);
	CHECK_EQ(ca.security, RPCI_LINK_SEC_NONE);
	CHECK_EQ(ack.security, RPCI_LINK_SEC_NONE);
	CHECK_EQ(rpci_link_session_peer_host(g_srv.accepted), 1); /* the OPEN was authenticated */
	pump_once();
	plan_make(100, 5);
	plan_deliver(s, 100);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_EQ(ss.rx_verified, 0);
	CU_ASSERT_EQUAL(close_pumped(s), 0);
	env_stop();
}

/*
 * Keys at one end only: a client without keys is refused (its OPEN has no
 * block), a client with keys takes no answer without one (the server has
 * none): neither session opens.
 */
static void
test_auth_one_side(void)
{
	struct rpci_link_params pc = params_make(false);
	struct rpci_link_params ps = params_make(true);
	struct rpci_link_open_msg req, ack;
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;
	int k;

	memset(&req, 0, sizeof(req));
	req.function = FUNCTION;
	req.requester_id = REQ_ID;
	for (k = 0; k < 2; k++) {
		pc = params_make(false);
		ps = params_make(true);
		if (k == 0) {
			pc.auth = NULL;
		} else {
			ps.auth = NULL;
		}
		env_start_with(&pc, &ps);
		s = rpci_link_connect(g_cl, &g_mac_s, &req);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		pump_for(30);
		CHECK_EQ(-rpci_link_session_answer(s, &ack), EINPROGRESS);
		rpci_link_stats_get(g_cl, &sc);
		rpci_link_stats_get(g_sv, &ss);
		if (k == 0) {
			CHECK_EQ(g_srv.open_calls, 0);
			CHECK_GE(ss.open_unsigned, 1);
		} else {
			CHECK_GE(sc.open_ack_refused, 1);
		}
		rpci_link_session_free(s);
		env_stop();
	}
}

/*
 * The server's CLOSE_ACK is lost: the client's CLOSE sent again reaches a
 * server that has freed the session; it checks the CLOSE with the keys it
 * kept and answers with a CLOSE_ACK the client verifies: a clean close.
 */
static void
test_auth_close_again(void)
{
	struct rpci_link_session *s;
	struct rpci_link_stats sc, ss;
	struct rte_mbuf *m[16];
	struct link_hdr h;
	unsigned int k, i, dropped = 0;
	uint64_t t0;
	int ret;

	env_start();
	s = session_open(NULL);
	plan_make(10, 3);
	plan_deliver(s, 10);
	CU_ASSERT_EQUAL(rpci_link_close_start(s), 0);
	t0 = rte_get_timer_cycles();
	while ((ret = rpci_link_close_poll(s)) == -EINPROGRESS && ms_since(t0) < 2000) {
		rpci_link_poll(g_cl);
		rpci_link_poll(g_sv);
		if (g_srv.down_calls > 0 && g_srv.down_s != NULL) {
			rpci_link_session_free(g_srv.down_s); /* the server's owner frees it */
			g_srv.down_s = NULL;
		}
		k = rte_ring_dequeue_burst(g_ring_sc, (void **)m, RTE_DIM(m), NULL);
		for (i = 0; i < k; i++) {
			if (dropped == 0 && frame_hdr(m[i], &h) == LINK_HDR_OK &&
			    h.kind == RPCI_LINK_CLOSE_ACK) {
				rte_pktmbuf_free(m[i]);
				m[i] = NULL;
				dropped++;
			} else {
				ring_put(g_ring_sc, m[i]);
			}
		}
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(dropped, 1);
	rpci_link_stats_get(g_cl, &sc);
	rpci_link_stats_get(g_sv, &ss);
	CHECK_GE(ss.rx_unknown_session, 1);
	CHECK_EQ(sc.rx_auth_missing + sc.rx_auth_bad_tag + ss.rx_auth_bad_tag, 0);
	rpci_link_session_free(s);
	env_stop();
}

/* The keys of hosts "cl" (the client link's MAC) and "sv" (the server's), in the run's dir. */
static int
auth_suite_init(void)
{
	char text[1024], err[512];

	snprintf(g_auth_dir, sizeof(g_auth_dir), "/tmp/rpci-test-link-XXXXXX");
	if (mkdtemp(g_auth_dir) == NULL) {
		return -1;
	}
	snprintf(text, sizeof(text),
		 "auth = { mode = \"keys\"; dir = \"%s\"; window_ms = 2000; };\n"
		 "hosts = (\n"
		 " { name = \"sv\"; roles = [ \"server\" ]; mac = \"02:00:00:00:00:05\";"
		 "   eal = { lcores = \"0\"; }; devices = ( { name = \"g0\"; backend = \"cpu\";"
		 "   memory_mb = 64; vendor_id = 0x7270; device_id = 1;"
		 "   class_code = 0x030200; } ); },\n"
		 " { name = \"cl\"; roles = [ \"client\" ]; mac = \"02:00:00:00:00:0c\";"
		 "   eal = { lcores = \"0\"; }; server = \"sv\"; },\n"
		 " { name = \"other\"; roles = [ \"client\" ]; mac = \"02:00:00:00:00:0d\";"
		 "   eal = { lcores = \"0\"; }; server = \"sv\"; }\n"
		 ");\n", g_auth_dir);
	g_auth_conf = rpci_conf_load_string(text, "link-auth.cfg", err, sizeof(err));
	if (g_auth_conf == NULL || rpci_auth_keygen(g_auth_dir, "sv", err, sizeof(err)) < 0 ||
	    rpci_auth_keygen(g_auth_dir, "cl", err, sizeof(err)) < 0 ||
	    rpci_auth_keygen(g_auth_dir, "other", err, sizeof(err)) < 0) {
		printf("auth suite: %s\n", err);
		return -1;
	}
	g_auth_c = rpci_auth_create(g_auth_conf, "cl", err, sizeof(err));
	g_auth_s = rpci_auth_create(g_auth_conf, "sv", err, sizeof(err));
	if (g_auth_c == NULL || g_auth_s == NULL) {
		printf("auth suite: %s\n", err);
		return -1;
	}
	g_use_auth = true;
	return 0;
}

static int
auth_suite_fini(void)
{
	char cmd[128];

	env_release();
	g_use_auth = false;
	g_use_encrypt = false;
	rpci_auth_free(g_auth_c);
	rpci_auth_free(g_auth_s);
	g_auth_c = NULL;
	g_auth_s = NULL;
	rpci_conf_free(g_auth_conf);
	g_auth_conf = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_auth_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The same, every session encrypted. */
static int
auth_enc_suite_init(void)
{
	int ret = auth_suite_init();

	g_use_encrypt = true;
	return ret;
}

int
main(int argc, char **argv)
{
	char *eal_args[] = {
		argv[0], "--no-huge", "-m", "256", "--no-pci", "--file-prefix",
		"rpci-test-link", "-l", "0", "--log-level", "rpci.*:warning",
	};
	CU_pSuite suite;
	unsigned int n;

	RTE_SET_USED(argc);
	if (rte_eal_init((int)RTE_DIM(eal_args), eal_args) < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (env_init() != 0) {
		printf("cannot set up the ring ports: session tests will fail\n");
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		env_fini();
		rte_eal_cleanup();
		return 1;
	}
	suite = CU_add_suite("link_codec", NULL, NULL);
	if (suite == NULL) {
		goto registry_fail;
	}
	CU_ADD_TEST(suite, test_hdr_roundtrip);
	CU_ADD_TEST(suite, test_hdr_crc);
	CU_ADD_TEST(suite, test_crc_streams);
	CU_ADD_TEST(suite, test_hdr_refused);
	CU_ADD_TEST(suite, test_open_msg_codec);
	CU_ADD_TEST(suite, test_max_payload_for_mtu);
	CU_ADD_TEST(suite, test_idle_backoff);

	suite = CU_add_suite("link_sessions", NULL, NULL);
	if (suite == NULL) {
		goto registry_fail;
	}
	CU_ADD_TEST(suite, test_create_params);
	CU_ADD_TEST(suite, test_open_accept);
	CU_ADD_TEST(suite, test_open_refuse);
	CU_ADD_TEST(suite, test_open_retry);
	CU_ADD_TEST(suite, test_open_duplicate);
	CU_ADD_TEST(suite, test_ordered_delivery);
	CU_ADD_TEST(suite, test_frame_packing);
	CU_ADD_TEST(suite, test_send_modes);
	CU_ADD_TEST(suite, test_backpressure_rx);
	CU_ADD_TEST(suite, test_window);
	CU_ADD_TEST(suite, test_loss_middle);
	CU_ADD_TEST(suite, test_loss_selective);
	CU_ADD_TEST(suite, test_loss_tail);
	CU_ADD_TEST(suite, test_duplicates);
	CU_ADD_TEST(suite, test_class_ordering);
	CU_ADD_TEST(suite, test_fault_injector);
	CU_ADD_TEST(suite, test_corruption);
	CU_ADD_TEST(suite, test_reorder);
	CU_ADD_TEST(suite, test_dead_peer);
	CU_ADD_TEST(suite, test_dead_retransmit_max);
	CU_ADD_TEST(suite, test_keepalive);
	CU_ADD_TEST(suite, test_close_orderly);
	CU_ADD_TEST(suite, test_close_dead_peer);
	CU_ADD_TEST(suite, test_bad_frames);
	CU_ADD_TEST(suite, test_malformed_msg);
	CU_ADD_TEST(suite, test_ctrl);
	CU_ADD_TEST(suite, test_pool_exhaustion);
	CU_ADD_TEST(suite, test_no_mbuf_leak);
	CU_ADD_TEST(suite, test_large_split_frames);
	CU_ADD_TEST(suite, test_large_mixed);
	CU_ADD_TEST(suite, test_chained_rx);
	CU_ADD_TEST(suite, test_crc_payload_modes);
	CU_ADD_TEST(suite, test_bad_chains);
	CU_ADD_TEST(suite, test_frame_negotiation);
	CU_ADD_TEST(suite, test_large_faults);
	CU_ADD_TEST(suite, test_host_frame);

	/*
	 * The session tests that do not read frames' bytes, with every frame
	 * authenticated; encrypted, those that do not count how payloads travel
	 * (an encrypted session copies them all).
	 */
	for (n = 0; n < 2; n++) {
		suite = CU_add_suite(n == 0 ? "link_auth" : "link_auth_encrypted",
				     n == 0 ? auth_suite_init : auth_enc_suite_init,
				     auth_suite_fini);
		if (suite == NULL) {
			goto registry_fail;
		}
		CU_ADD_TEST(suite, test_auth_session);
		CU_ADD_TEST(suite, test_auth_tamper);
		CU_ADD_TEST(suite, test_auth_replay);
		CU_ADD_TEST(suite, test_open_accept);
		CU_ADD_TEST(suite, test_open_retry);
		if (n == 0) {
			CU_ADD_TEST(suite, test_auth_spoof);
			CU_ADD_TEST(suite, test_auth_open);
			CU_ADD_TEST(suite, test_auth_optional);
			CU_ADD_TEST(suite, test_auth_one_side);
			CU_ADD_TEST(suite, test_auth_close_again);
			CU_ADD_TEST(suite, test_ordered_delivery);
			CU_ADD_TEST(suite, test_send_modes);
			CU_ADD_TEST(suite, test_window);
			CU_ADD_TEST(suite, test_large_split_frames);
			CU_ADD_TEST(suite, test_large_mixed);
		}
		CU_ADD_TEST(suite, test_backpressure_rx);
		CU_ADD_TEST(suite, test_loss_middle);
		CU_ADD_TEST(suite, test_loss_selective);
		CU_ADD_TEST(suite, test_loss_tail);
		CU_ADD_TEST(suite, test_duplicates);
		CU_ADD_TEST(suite, test_class_ordering);
		CU_ADD_TEST(suite, test_fault_injector);
		CU_ADD_TEST(suite, test_reorder);
		CU_ADD_TEST(suite, test_close_orderly);
		CU_ADD_TEST(suite, test_no_mbuf_leak);
		CU_ADD_TEST(suite, test_chained_rx);
		CU_ADD_TEST(suite, test_large_faults);
	}

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	env_fini();
	rte_eal_cleanup();
	return n ? 1 : 0;

registry_fail:
	CU_cleanup_registry();
	env_fini();
	rte_eal_cleanup();
	return 1;
}
