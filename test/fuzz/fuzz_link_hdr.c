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
 *
 * Authenticated frames: the harness holds a session's keys (both ways, with
 * and without encryption: fuzz_link_keys.h), so that input reaches the tag
 * check. An input that parses with flag AUTH must not verify under them (a
 * forgery), nor in the other direction; the input sealed as a frame of a
 * session (its first bytes choose the kind, encryption, counter) must parse,
 * verify, decrypt back to the input, and be refused with any one bit of
 * its counter, tag or payload flipped (or, in the header, by its CRC); the
 * replay window takes each counter once.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <rte_common.h>

#include "link_private.h"
#include "rpci_auth.h"
#include "fuzz.h"
#include "fuzz_link_keys.h"

/* Bytes the CRC covers at most: the header and the largest payload. */
#define MAX_COVERED (RPCI_LINK_HDR_LEN + UINT16_MAX)

/* Offset of the reason (64 bytes) in the OPEN body. */
#define OPEN_REASON_OFF 24

/* Copy of the covered bytes, to flip a bit in. */
static uint8_t g_copy[MAX_COVERED];

/* An authenticated frame's bytes: header, counter and tag, payload. */
#define AUTH_FRAME_MAX (RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + UINT16_MAX)
static uint8_t g_sealed[AUTH_FRAME_MAX];
static uint8_t g_opened[AUTH_FRAME_MAX];

/* The sessions of the known keys: [encrypted][0 client (seals), 1 server (opens)]. */
static struct rpci_auth_sess *g_sess[2][2];

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

/*
 * A frame with a tag: under the harness's keys (either way) it verifies
 * only if it is what sealing its contents makes, byte for byte (a seed
 * sealed with them); a made-up one never does (a forgery).
 */
static void
check_authentic(const uint8_t *data, uint32_t len, const struct link_hdr *h)
{
	unsigned int e = (h->flags & RPCI_LINK_F_ENCRYPTED) != 0, dir;
	struct link_hdr h2;

	for (dir = 0; dir < 2; dir++) {
		memcpy(g_opened, data, len);
		if (link_frame_open(g_sess[e][1 - dir], h, g_opened, len) != 0) {
			continue;
		}
		h2 = *h;
		h2.flags &= (uint16_t)~(RPCI_LINK_F_AUTH | RPCI_LINK_F_ENCRYPTED);
		FUZZ_CHECK(link_frame_seal(g_sess[e][dir], &h2,
					   link_auth_counter(data + RPCI_LINK_HDR_LEN), g_opened,
					   len) == 0);
		FUZZ_CHECK(memcmp(g_opened, data, len) == 0);
	}
}

/* A header that parsed: its fields, its encoding and its CRC. */
static void
check_parsed(const uint8_t *data, uint32_t len, const struct link_hdr *h)
{
	struct link_hdr h2;
	uint8_t enc[RPCI_LINK_HDR_LEN];
	uint32_t crc, ref, covered, bit, room;
	bool crc_payload = (h->flags & RPCI_LINK_F_CRC_PAYLOAD) != 0;

	FUZZ_CHECK(h->version == RPCI_LINK_VERSION);
	FUZZ_CHECK(h->kind >= RPCI_LINK_DATA && h->kind <= RPCI_LINK_CLOSE_ACK);
	FUZZ_CHECK((h->flags & ~LINK_F_KNOWN) == 0);
	FUZZ_CHECK(!(h->flags & RPCI_LINK_F_AUTH) || !(h->flags & RPCI_LINK_F_CRC_PAYLOAD));
	FUZZ_CHECK(!(h->flags & RPCI_LINK_F_ENCRYPTED) ||
		   ((h->flags & RPCI_LINK_F_AUTH) && h->kind == RPCI_LINK_DATA));
	FUZZ_CHECK(!(h->flags & RPCI_LINK_F_KEPT) || h->kind == RPCI_LINK_NAK);
	if (h->flags & RPCI_LINK_F_SPLIT) {
		FUZZ_CHECK(h->kind == RPCI_LINK_DATA && h->split_len >= 1 &&
			   h->split_len <= h->payload_len);
	} else {
		FUZZ_CHECK(h->split_len == 0);
	}
	FUZZ_CHECK(((h->flags & RPCI_LINK_F_CLASS_MASK) >> RPCI_LINK_F_CLASS_SHIFT) <
		   RPCI_LINK_CLASSES);
	FUZZ_CHECK((uint32_t)h->payload_len <= len - link_hdr_room(h->flags));

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
	room = link_hdr_room(h->flags);
	memcpy(g_copy, data, room + h->payload_len);
	FUZZ_CHECK(link_hdr_parse(g_copy, room + h->payload_len, &h2) == LINK_HDR_OK);
	FUZZ_CHECK(hdr_equal(&h2, h));
	FUZZ_CHECK(link_hdr_parse(g_copy, room + h->payload_len - 1u, &h2) == LINK_HDR_SHORT);

	if (h->flags & RPCI_LINK_F_AUTH) {
		check_authentic(data, room + h->payload_len, h);
		memcpy(g_copy, data, room + h->payload_len);
	}

	/* CRC32C finds every one-bit error in what it covers. */
	bit = (h->seq ^ h->ack) % (covered * 8);
	g_copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	FUZZ_CHECK(link_hdr_parse(g_copy, room + h->payload_len, &h2) != LINK_HDR_OK);

	if (h->kind == RPCI_LINK_OPEN || h->kind == RPCI_LINK_OPEN_ACK) {
		check_open_msg(data + RPCI_LINK_HDR_LEN, h->payload_len);
	}
}

static void
auth_init(void)
{
	unsigned int e;

	if (g_sess[0][0] != NULL) {
		return;
	}
	for (e = 0; e < 2; e++) {
		uint8_t flags = e != 0 ? RPCI_AUTH_SESS_ENCRYPT : 0;

		g_sess[e][0] = rpci_auth_sess_from_keys(RPCI_AUTH_CIPHER_AES128GCM, flags,
							g_fuzz_link_keys, true);
		g_sess[e][1] = rpci_auth_sess_from_keys(RPCI_AUTH_CIPHER_AES128GCM, flags,
							g_fuzz_link_keys, false);
		FUZZ_CHECK(g_sess[e][0] != NULL && g_sess[e][1] != NULL);
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

/*
 * The input as the payload of a frame of the session (its first 16 bytes
 * choose the kind, encryption, counter and the bit to flip), sealed: it
 * parses, verifies once, decrypts back to the input; one bit flipped, it
 * does not.
 */
static void
check_sealed(const uint8_t *data, uint32_t len)
{
	static const uint8_t kinds[5] = { RPCI_LINK_DATA, RPCI_LINK_ACK, RPCI_LINK_NAK,
					  RPCI_LINK_CLOSE, RPCI_LINK_CLOSE_ACK };
	struct link_hdr h, h2;
	uint32_t plen, total, bit;
	uint64_t counter;
	bool enc;

	if (len < 16) {
		return;
	}
	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = kinds[data[0] % 5];
	enc = (data[1] & 1) != 0;
	counter = get_be64(data + 2);
	h.session = get_be32(data + 10) | 1u;
	h.seq = (uint32_t)counter;
	plen = h.kind == RPCI_LINK_DATA ? RTE_MIN(len - 16, (uint32_t)UINT16_MAX) : 0;
	h.payload_len = (uint16_t)plen;
	total = RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + plen;
	memcpy(g_sealed + RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN, data + 16, plen);
	FUZZ_CHECK(link_frame_seal(g_sess[enc][0], &h, counter, g_sealed, total) == 0);
	FUZZ_CHECK(link_hdr_parse(g_sealed, total, &h2) == LINK_HDR_OK);
	FUZZ_CHECK((h2.flags & RPCI_LINK_F_AUTH) && link_auth_counter(g_sealed +
								     RPCI_LINK_HDR_LEN) == counter);
	FUZZ_CHECK(((h2.flags & RPCI_LINK_F_ENCRYPTED) != 0) == (enc && h.kind == RPCI_LINK_DATA));
	if (enc && plen >= 16) {
		/* encrypted: not the input any more (16 equal bytes: 2^-128) */
		FUZZ_CHECK(memcmp(g_sealed + RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN, data + 16,
				  plen) != 0);
	}
	memcpy(g_opened, g_sealed, total);
	FUZZ_CHECK(link_frame_open(g_sess[enc][1], &h2, g_opened, total) == 0);
	FUZZ_CHECK(memcmp(g_opened + RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN, data + 16, plen) ==
		   0);
	/* the other direction's keys do not open it */
	memcpy(g_opened, g_sealed, total);
	FUZZ_CHECK(link_frame_open(g_sess[enc][0], &h2, g_opened, total) != 0);
	/* one bit flipped anywhere: refused by the CRC (header) or the tag (the rest) */
	bit = get_be32(data + 12) % (total * 8);
	memcpy(g_opened, g_sealed, total);
	g_opened[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	if (link_hdr_parse(g_opened, total, &h2) == LINK_HDR_OK) {
		FUZZ_CHECK(bit >= RPCI_LINK_HDR_LEN * 8);
		FUZZ_CHECK(link_frame_open(g_sess[enc][1], &h2, g_opened, total) != 0);
	}
}

/* The replay window: any counter of the input taken once, never twice. */
static void
check_window(const uint8_t *data, uint32_t len)
{
	struct rpci_auth_window w;
	uint32_t i;

	rpci_auth_window_init(&w, 0);
	for (i = 0; i + 8 <= len && i < 8 * 64; i += 8) {
		uint64_t c = get_be64(data + i);

		if (rpci_auth_window_take(&w, c)) {
			FUZZ_CHECK(!rpci_auth_window_take(&w, c));
		}
		FUZZ_CHECK(w.top >= c);
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
	auth_init();
	if (err == LINK_HDR_OK) {
		check_parsed(data, len, &h);
	}
	check_open_msg(data, len);
	check_sealed(data, len);
	check_window(data, len);
	return 0;
}
