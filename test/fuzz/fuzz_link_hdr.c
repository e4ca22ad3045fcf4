/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Fuzz harness of the link header and the OPEN body (lib/link/link_hdr.c).
 *
 * The input is the L2 payload of a frame (the Ethernet header taken off), as
 * link_hdr_parse() gets it. A header that parses must encode back to the
 * same bytes with the same CRC32C, which must also equal a bitwise reference
 * CRC32C, and flipping any one bit the CRC covers must make it refused; a
 * split frame's split length lies within its payload. link_hdr_decode()
 * (the header alone, for frames in segments) must agree with the parse but
 * for the CRC. The body of an OPEN or OPEN_ACK, and the whole input too, go
 * through link_open_msg_decode(): what decodes must encode back to the same
 * fixed fields, with a printable, NUL-terminated reason and a max_frame of 0
 * or RPCI_LINK_FRAME_MIN..RPCI_LINK_FRAME_MAX.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "link_private.h"
#include "fuzz.h"

/* Bytes the CRC covers at most: the header and the largest payload. */
#define MAX_COVERED (RPCI_LINK_HDR_LEN + UINT16_MAX)

/* Offset of the reason (64 bytes) in the OPEN body. */
#define OPEN_REASON_OFF 24

/* Copy of the covered bytes, to flip a bit in. */
static uint8_t g_copy[MAX_COVERED];

/* CRC32C (Castagnoli, reflected 0x82F63B78), one bit at a time; no final xor. */
static uint32_t
ref_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++) {
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
		}
	}
	return crc;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool
hdr_equal(const struct link_hdr *a, const struct link_hdr *b)
{
	return a->version == b->version && a->kind == b->kind && a->flags == b->flags &&
	       a->session == b->session && a->seq == b->seq && a->ack == b->ack &&
	       a->payload_len == b->payload_len && a->credit_p == b->credit_p &&
	       a->credit_np == b->credit_np && a->credit_cpl == b->credit_cpl && a->crc == b->crc &&
	       a->split_len == b->split_len;
}

static bool
parse_result_known(enum link_hdr_error err)
{
	return err == LINK_HDR_OK || err == LINK_HDR_SHORT || err == LINK_HDR_VERSION ||
	       err == LINK_HDR_KIND || err == LINK_HDR_FLAGS || err == LINK_HDR_CRC;
}

/* A decoded OPEN body with the bytes after the reason's NUL cleared. */
static void
open_msg_norm(struct rpci_link_open_msg *m)
{
	size_t n = strnlen(m->reason, sizeof(m->reason));

	memset(m->reason + n, 0, sizeof(m->reason) - n);
}

/* link_open_msg_decode() on len bytes at buf. */
static void
check_open_msg(const uint8_t *buf, uint32_t len)
{
	struct rpci_link_open_msg m, m2;
	uint8_t enc[LINK_OPEN_MSG_LEN];
	size_t i, n;
	int rc;

	rc = link_open_msg_decode(buf, len, &m);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
	if (len < LINK_OPEN_MSG_LEN) {
		FUZZ_CHECK(rc == -EBADMSG);
	}
	if (rc != 0) {
		return;
	}
	FUZZ_CHECK(m.status <= 0 && m.status >= -4095);
	FUZZ_CHECK(m.max_frame == 0 ||
		   (m.max_frame >= RPCI_LINK_FRAME_MIN && m.max_frame <= RPCI_LINK_FRAME_MAX));
	n = strnlen(m.reason, sizeof(m.reason));
	FUZZ_CHECK(n < sizeof(m.reason));
	FUZZ_CHECK(n == strnlen((const char *)buf + OPEN_REASON_OFF, sizeof(m.reason) - 1));
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(m.reason[i] >= 0x20 && m.reason[i] <= 0x7e);
		if (buf[OPEN_REASON_OFF + i] >= 0x20 && buf[OPEN_REASON_OFF + i] <= 0x7e) {
			FUZZ_CHECK((uint8_t)m.reason[i] == buf[OPEN_REASON_OFF + i]);
		} else {
			FUZZ_CHECK(m.reason[i] == '?');
		}
	}
	/*
	 * Encoded back: the fields before and after the reason as they were,
	 * the reason as the string decoded, NUL-padded.
	 */
	link_open_msg_encode(&m, enc);
	FUZZ_CHECK(memcmp(enc, buf, OPEN_REASON_OFF) == 0);
	FUZZ_CHECK(memcmp(enc + OPEN_REASON_OFF, m.reason, n) == 0);
	for (i = OPEN_REASON_OFF + n; i < OPEN_REASON_OFF + sizeof(m.reason); i++) {
		FUZZ_CHECK(enc[i] == 0);
	}
	for (; i < LINK_OPEN_MSG_LEN; i++) {
		FUZZ_CHECK(enc[i] == buf[i]);
	}
	/* And decoded again: the same message (the reason compared as a string). */
	FUZZ_CHECK(link_open_msg_decode(enc, sizeof(enc), &m2) == 0);
	open_msg_norm(&m);
	open_msg_norm(&m2);
	FUZZ_CHECK(memcmp(&m, &m2, sizeof(m)) == 0);
	FUZZ_CHECK(link_open_msg_decode(enc, sizeof(enc) - 1, &m2) == -EBADMSG);
}

/* A header that parsed: its fields, its encoding and its CRC. */
static void
check_parsed(const uint8_t *data, uint32_t len, const struct link_hdr *h)
{
	struct link_hdr h2;
	uint8_t enc[RPCI_LINK_HDR_LEN];
	uint32_t crc, ref, covered, bit;
	bool crc_payload = (h->flags & RPCI_LINK_F_CRC_PAYLOAD) != 0;

	FUZZ_CHECK(h->version == RPCI_LINK_VERSION);
	FUZZ_CHECK(h->kind >= RPCI_LINK_DATA && h->kind <= RPCI_LINK_CLOSE_ACK);
	FUZZ_CHECK((h->flags & ~(RPCI_LINK_F_CRC_PAYLOAD | RPCI_LINK_F_CLASS_MASK |
				 RPCI_LINK_F_KEPT | RPCI_LINK_F_SPLIT)) == 0);
	FUZZ_CHECK(!(h->flags & RPCI_LINK_F_KEPT) || h->kind == RPCI_LINK_NAK);
	if (h->flags & RPCI_LINK_F_SPLIT) {
		FUZZ_CHECK(h->kind == RPCI_LINK_DATA && h->split_len >= 1 &&
			   h->split_len <= h->payload_len);
	} else {
		FUZZ_CHECK(h->split_len == 0);
	}
	FUZZ_CHECK(((h->flags & RPCI_LINK_F_CLASS_MASK) >> RPCI_LINK_F_CLASS_SHIFT) <
		   RPCI_LINK_CLASSES);
	FUZZ_CHECK((uint32_t)h->payload_len <= len - RPCI_LINK_HDR_LEN);

	/* Encode: the same bytes, the CRC field written as zero. */
	link_hdr_encode(h, enc);
	FUZZ_CHECK(memcmp(enc, data, LINK_OFF_CRC) == 0);
	FUZZ_CHECK(get_be32(enc + LINK_OFF_CRC) == 0);
	FUZZ_CHECK(memcmp(enc + LINK_OFF_RESERVED, data + LINK_OFF_RESERVED,
			  RPCI_LINK_HDR_LEN - LINK_OFF_RESERVED) == 0);

	/* The CRC, computed as the sender does, and bit by bit. */
	crc = link_crc_header(enc);
	FUZZ_CHECK(crc == link_crc_header(data));
	ref = ref_crc32c(~0u, enc, RPCI_LINK_HDR_LEN);
	if (crc_payload) {
		crc = link_crc_update(crc, data + RPCI_LINK_HDR_LEN, h->payload_len);
		ref = ref_crc32c(ref, data + RPCI_LINK_HDR_LEN, h->payload_len);
	}
	FUZZ_CHECK(crc == ref);
	FUZZ_CHECK((crc ^ ~0u) == h->crc);
	FUZZ_CHECK(get_be32(data + LINK_OFF_CRC) == h->crc);

	/* What follows the payload (Ethernet padding) does not matter. */
	covered = RPCI_LINK_HDR_LEN + (crc_payload ? h->payload_len : 0);
	memcpy(g_copy, data, RPCI_LINK_HDR_LEN + h->payload_len);
	FUZZ_CHECK(link_hdr_parse(g_copy, RPCI_LINK_HDR_LEN + h->payload_len, &h2) ==
		   LINK_HDR_OK);
	FUZZ_CHECK(hdr_equal(&h2, h));
	FUZZ_CHECK(link_hdr_parse(g_copy, RPCI_LINK_HDR_LEN + h->payload_len - 1u, &h2) ==
		   LINK_HDR_SHORT);

	/* CRC32C finds every one-bit error in what it covers. */
	bit = (h->seq ^ h->ack) % (covered * 8);
	g_copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	FUZZ_CHECK(link_hdr_parse(g_copy, RPCI_LINK_HDR_LEN + h->payload_len, &h2) != LINK_HDR_OK);

	if (h->kind == RPCI_LINK_OPEN || h->kind == RPCI_LINK_OPEN_ACK) {
		check_open_msg(data + RPCI_LINK_HDR_LEN, h->payload_len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len = size > MAX_COVERED * 2 ? MAX_COVERED * 2 : (uint32_t)size;
	enum link_hdr_error err;
	struct link_hdr h;

	/* The CRC helper against the reference, at two alignments. */
	FUZZ_CHECK(link_crc_update(~0u, data, len) == ref_crc32c(~0u, data, len));
	if (len > 0) {
		FUZZ_CHECK(link_crc_update(~0u, data + 1, len - 1) ==
			   ref_crc32c(~0u, data + 1, len - 1));
	}

	err = link_hdr_parse(data, len, &h);
	FUZZ_CHECK(parse_result_known(err));
	{
		/* The header alone: the same verdict, the CRC aside, and the same fields. */
		struct link_hdr hd;
		enum link_hdr_error derr = link_hdr_decode(data, len, &hd);

		FUZZ_CHECK(derr == err || (err == LINK_HDR_CRC && derr == LINK_HDR_OK));
		if (err == LINK_HDR_OK) {
			FUZZ_CHECK(hdr_equal(&hd, &h));
		}
	}
	if (len < RPCI_LINK_HDR_LEN) {
		FUZZ_CHECK(err == LINK_HDR_SHORT);
	}
	if (err == LINK_HDR_OK) {
		check_parsed(data, len, &h);
	}
	check_open_msg(data, len);
	return 0;
}
