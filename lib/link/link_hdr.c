/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Link header and control bodies on the wire. Uses only DPDK's header-only
 * helpers (byte order, CRC32C), so it can be fuzzed without an EAL.
 */

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>

#include "link_private.h"
#include "rpci_auth.h"

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

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * CRC32C of payloads, three streams at a time. The crc32 instruction takes
 * 3 cycles and issues one a cycle: one dependency chain runs at a third of
 * its speed. So a block of 3 x L bytes is three independent chains (the
 * first carries the CRC so far, the others start from 0) joined at the end:
 * for a register c, crc(c, A || B) = shift(crc(c, A), |B|) ^ crc(0, B),
 * where shift appends |B| zero bytes (a linear map over GF(2), applied with
 * four 256-entry tables). The result is the serial CRC to the bit
 * (test_link.c and the link header fuzzer compare them).
 */
#define CRC_POLY 0x82f63b78u /* CRC32C, reflected */
#define CRC_LONG 1024u       /* a 3 x 1 KiB block: 4 KiB payloads */
#define CRC_SHORT 128u       /* a 3 x 128 B block: the rest of an MTU */

static uint32_t g_crc_long[4][256];
static uint32_t g_crc_short[4][256];

static uint32_t
gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	while (vec != 0) {
		if (vec & 1) {
			sum ^= *mat;
		}
		vec >>= 1;
		mat++;
	}
	return sum;
}

static void
gf2_square(uint32_t *square, const uint32_t *mat)
{
	unsigned int n;

	for (n = 0; n < 32; n++) {
		square[n] = gf2_times(mat, mat[n]);
	}
}

/* The tables that append len zero bytes (len a power of 2, at least 1). */
static void
crc_zeros_tables(uint32_t tables[4][256], uint32_t len)
{
	uint32_t odd[32], even[32], row = 1;
	const uint32_t *op;
	unsigned int n;

	/* One zero bit in odd, two in even, four in odd. */
	odd[0] = CRC_POLY;
	for (n = 1; n < 32; n++) {
		odd[n] = row;
		row <<= 1;
	}
	gf2_square(even, odd);
	gf2_square(odd, even);
	/* Square up: one zero byte, two, four... until len is used up. */
	for (;;) {
		gf2_square(even, odd);
		len >>= 1;
		if (len == 0) {
			op = even;
			break;
		}
		gf2_square(odd, even);
		len >>= 1;
		if (len == 0) {
			op = odd;
			break;
		}
	}
	for (n = 0; n < 256; n++) {
		tables[0][n] = gf2_times(op, n);
		tables[1][n] = gf2_times(op, n << 8);
		tables[2][n] = gf2_times(op, n << 16);
		tables[3][n] = gf2_times(op, n << 24);
	}
}

RTE_INIT(link_crc_init)
{
	crc_zeros_tables(g_crc_long, CRC_LONG);
	crc_zeros_tables(g_crc_short, CRC_SHORT);
}

static inline uint32_t
crc_shift(const uint32_t tables[4][256], uint32_t crc)
{
	return tables[0][crc & 0xff] ^ tables[1][(crc >> 8) & 0xff] ^
	       tables[2][(crc >> 16) & 0xff] ^ tables[3][crc >> 24];
}

static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* One block of 3 x len bytes (len a multiple of 8). */
static inline uint32_t
crc_block3(uint32_t crc, const uint8_t *p, uint32_t len, const uint32_t tables[4][256])
{
	uint32_t c1 = 0, c2 = 0, i;

	for (i = 0; i < len; i += 8) {
		crc = rte_hash_crc_8byte(load64(p + i), crc);
		c1 = rte_hash_crc_8byte(load64(p + len + i), c1);
		c2 = rte_hash_crc_8byte(load64(p + 2 * len + i), c2);
	}
	crc = crc_shift(tables, crc) ^ c1;
	return crc_shift(tables, crc) ^ c2;
}

uint32_t
link_crc_update(uint32_t crc, const void *buf, uint32_t len)
{
	const uint8_t *p = buf;

	/*
	 * rte_hash_crc() loads through uint64_t pointers; frames put the
	 * header at offset 14, so load with memcpy (one instruction on x86)
	 * to stay defined for any alignment.
	 */
	while (len >= 3 * CRC_LONG) {
		crc = crc_block3(crc, p, CRC_LONG, g_crc_long);
		p += 3 * CRC_LONG;
		len -= 3 * CRC_LONG;
	}
	while (len >= 3 * CRC_SHORT) {
		crc = crc_block3(crc, p, CRC_SHORT, g_crc_short);
		p += 3 * CRC_SHORT;
		len -= 3 * CRC_SHORT;
	}
	while (len >= 8) {
		crc = rte_hash_crc_8byte(load64(p), crc);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t v;

		memcpy(&v, p, sizeof(v));
		crc = rte_hash_crc_4byte(v, crc);
		p += 4;
		len -= 4;
	}
	while (len > 0) {
		crc = rte_hash_crc_1byte(*p, crc);
		p++;
		len--;
	}
	return crc;
}

uint32_t
link_crc_header(const uint8_t *hdr)
{
	static const uint8_t zero[4];
	uint32_t crc = ~0u;

	crc = link_crc_update(crc, hdr, LINK_OFF_CRC);
	crc = link_crc_update(crc, zero, sizeof(zero));
	crc = link_crc_update(crc, hdr + LINK_OFF_SPLIT, RPCI_LINK_HDR_LEN - LINK_OFF_SPLIT);
	return crc;
}

void
link_hdr_encode(const struct link_hdr *h, uint8_t *buf)
{
	buf[LINK_OFF_VERSION] = h->version;
	buf[LINK_OFF_KIND] = h->kind;
	put_be16(buf + LINK_OFF_FLAGS, h->flags);
	put_be32(buf + LINK_OFF_SESSION, h->session);
	put_be32(buf + LINK_OFF_SEQ, h->seq);
	put_be32(buf + LINK_OFF_ACK, h->ack);
	put_be16(buf + LINK_OFF_LEN, h->payload_len);
	put_be16(buf + LINK_OFF_CREDIT_P, h->credit_p);
	put_be16(buf + LINK_OFF_CREDIT_NP, h->credit_np);
	put_be16(buf + LINK_OFF_CREDIT_CPL, h->credit_cpl);
	put_be32(buf + LINK_OFF_CRC, 0);
	put_be16(buf + LINK_OFF_SPLIT, h->split_len);
	put_be16(buf + LINK_OFF_RESERVED, 0);
}

enum link_hdr_error
link_hdr_decode(const uint8_t *buf, uint32_t len, struct link_hdr *h)
{
	if (len < RPCI_LINK_HDR_LEN) {
		return LINK_HDR_SHORT;
	}
	h->version = buf[LINK_OFF_VERSION];
	h->kind = buf[LINK_OFF_KIND];
	h->flags = get_be16(buf + LINK_OFF_FLAGS);
	h->session = get_be32(buf + LINK_OFF_SESSION);
	h->seq = get_be32(buf + LINK_OFF_SEQ);
	h->ack = get_be32(buf + LINK_OFF_ACK);
	h->payload_len = get_be16(buf + LINK_OFF_LEN);
	h->credit_p = get_be16(buf + LINK_OFF_CREDIT_P);
	h->credit_np = get_be16(buf + LINK_OFF_CREDIT_NP);
	h->credit_cpl = get_be16(buf + LINK_OFF_CREDIT_CPL);
	h->crc = get_be32(buf + LINK_OFF_CRC);
	h->split_len = get_be16(buf + LINK_OFF_SPLIT);

	if (h->version != RPCI_LINK_VERSION) {
		return LINK_HDR_VERSION;
	}
	if (h->kind < RPCI_LINK_DATA || h->kind > RPCI_LINK_CLOSE_ACK) {
		return LINK_HDR_KIND;
	}
	if ((h->flags & ~LINK_F_KNOWN) != 0 ||
	    ((h->flags & RPCI_LINK_F_KEPT) && h->kind != RPCI_LINK_NAK) ||
	    ((h->flags & RPCI_LINK_F_PORT_STOPS) && (h->kind != RPCI_LINK_CLOSE ||
							 h->session != 0)) ||
	    ((h->flags & RPCI_LINK_F_CLASS_MASK) >> RPCI_LINK_F_CLASS_SHIFT) >= RPCI_LINK_CLASSES ||
	    get_be16(buf + LINK_OFF_RESERVED) != 0) {
		return LINK_HDR_FLAGS;
	}
	/* A split frame is a DATA frame whose message headers take 1..payload_len bytes. */
	if ((h->flags & RPCI_LINK_F_SPLIT) ?
	    (h->kind != RPCI_LINK_DATA || h->split_len == 0 || h->split_len > h->payload_len) :
	    h->split_len != 0) {
		return LINK_HDR_FLAGS;
	}
	/*
	 * Counter and tag: on the frames of a session (never with the payload
	 * CRC, which the tag replaces); encrypted: a DATA frame's payload.
	 */
	if (((h->flags & RPCI_LINK_F_AUTH) &&
	     ((h->kind != RPCI_LINK_DATA && h->kind != RPCI_LINK_ACK && h->kind != RPCI_LINK_NAK &&
	       h->kind != RPCI_LINK_CLOSE && h->kind != RPCI_LINK_CLOSE_ACK) || h->session == 0 ||
	      (h->flags & RPCI_LINK_F_CRC_PAYLOAD))) ||
	    ((h->flags & RPCI_LINK_F_ENCRYPTED) &&
	     (!(h->flags & RPCI_LINK_F_AUTH) || h->kind != RPCI_LINK_DATA))) {
		return LINK_HDR_FLAGS;
	}
	if (len < link_hdr_room(h->flags) ||
	    (uint32_t)h->payload_len > len - link_hdr_room(h->flags)) {
		return LINK_HDR_SHORT;
	}
	return LINK_HDR_OK;
}

enum link_hdr_error
link_hdr_parse(const uint8_t *buf, uint32_t len, struct link_hdr *h)
{
	enum link_hdr_error err;
	uint32_t crc;

	err = link_hdr_decode(buf, len, h);
	if (err != LINK_HDR_OK) {
		return err;
	}
	crc = link_crc_header(buf);
	if (h->flags & RPCI_LINK_F_CRC_PAYLOAD) {
		crc = link_crc_update(crc, buf + RPCI_LINK_HDR_LEN, h->payload_len);
	}
	if ((crc ^ ~0u) != h->crc) {
		return LINK_HDR_CRC;
	}
	return LINK_HDR_OK;
}

/*
 * OPEN body: status (be32), function (be16), requester_id (be16),
 * completer_id (be16), max_payload (be16), replay_frames (be32),
 * credits P, NP, CPL (3 x be16), max_frame (be16: 0, or
 * RPCI_LINK_FRAME_MIN..RPCI_LINK_FRAME_MAX), reason (64 bytes, NUL-padded),
 * lease id (be64).
 */
void
link_open_msg_encode(const struct rpci_link_open_msg *m, uint8_t *buf)
{
	memset(buf, 0, LINK_OPEN_MSG_LEN);
	put_be32(buf + 0, (uint32_t)m->status);
	put_be16(buf + 4, m->function);
	put_be16(buf + 6, m->requester_id);
	put_be16(buf + 8, m->completer_id);
	put_be16(buf + 10, m->max_payload);
	put_be32(buf + 12, m->replay_frames);
	put_be16(buf + 16, m->credits[RPCI_LINK_CLASS_P]);
	put_be16(buf + 18, m->credits[RPCI_LINK_CLASS_NP]);
	put_be16(buf + 20, m->credits[RPCI_LINK_CLASS_CPL]);
	put_be16(buf + 22, m->max_frame);
	memcpy(buf + 24, m->reason, strnlen(m->reason, sizeof(m->reason) - 1));
	put_be32(buf + 88, (uint32_t)(m->lease_id >> 32));
	put_be32(buf + 92, (uint32_t)m->lease_id);
}

int
link_open_msg_decode(const uint8_t *buf, uint32_t len, struct rpci_link_open_msg *m)
{
	uint32_t i;

	if (len < LINK_OPEN_MSG_LEN) {
		return -EBADMSG;
	}
	memset(m, 0, sizeof(*m));
	m->status = (int32_t)get_be32(buf + 0);
	m->function = get_be16(buf + 4);
	m->requester_id = get_be16(buf + 6);
	m->completer_id = get_be16(buf + 8);
	m->max_payload = get_be16(buf + 10);
	m->replay_frames = get_be32(buf + 12);
	m->credits[RPCI_LINK_CLASS_P] = get_be16(buf + 16);
	m->credits[RPCI_LINK_CLASS_NP] = get_be16(buf + 18);
	m->credits[RPCI_LINK_CLASS_CPL] = get_be16(buf + 20);
	m->max_frame = get_be16(buf + 22);
	if (m->max_frame != 0 &&
	    (m->max_frame < RPCI_LINK_FRAME_MIN || m->max_frame > RPCI_LINK_FRAME_MAX)) {
		return -EBADMSG;
	}
	/* A credit count is a queue size: below 2^15, so that limits compare. */
	for (i = 0; i < RPCI_LINK_CLASSES; i++) {
		if (m->credits[i] >= 0x8000) {
			return -EBADMSG;
		}
	}
	if (m->status > 0 || m->status < -4095) {
		return -EBADMSG;
	}
	memcpy(m->reason, buf + 24, sizeof(m->reason) - 1);
	m->reason[sizeof(m->reason) - 1] = '\0';
	m->lease_id = ((uint64_t)get_be32(buf + 88) << 32) | get_be32(buf + 92);
	/* Only printable text: the reason is shown to people. */
	for (i = 0; m->reason[i] != '\0'; i++) {
		if (m->reason[i] < 0x20 || m->reason[i] > 0x7e) {
			m->reason[i] = '?';
		}
	}
	return 0;
}

/* ------------------------------------------------- authenticated frames */

void
link_hdr_aad(const uint8_t *hdr, uint8_t *aad)
{
	memcpy(aad, hdr, RPCI_LINK_HDR_LEN);
	memset(aad + LINK_OFF_CRC, 0, 4);
}

uint64_t
link_auth_counter(const uint8_t *ext)
{
	return ((uint64_t)get_be32(ext) << 32) | get_be32(ext + 4);
}

void
link_auth_counter_put(uint8_t *ext, uint64_t counter)
{
	put_be32(ext, (uint32_t)(counter >> 32));
	put_be32(ext + 4, (uint32_t)counter);
}

int
link_frame_open(struct rpci_auth_sess *sess, const struct link_hdr *h, uint8_t *buf,
		uint32_t len)
{
	uint8_t aad[RPCI_LINK_HDR_LEN];
	uint8_t *ext = buf + RPCI_LINK_HDR_LEN, *pay = ext + RPCI_LINK_AUTH_LEN;
	bool enc = (h->flags & RPCI_LINK_F_ENCRYPTED) != 0;
	int ret;

	if (!(h->flags & RPCI_LINK_F_AUTH) || !rpci_auth_sess_ready(sess) ||
	    len < RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + (uint32_t)h->payload_len) {
		return -EINVAL;
	}
	link_hdr_aad(buf, aad);
	ret = rpci_auth_sess_open_start(sess, link_auth_counter(ext), aad, sizeof(aad));
	if (ret == 0) {
		ret = rpci_auth_sess_open_data(sess, pay, enc ? pay : NULL, h->payload_len);
	}
	if (ret == 0) {
		ret = rpci_auth_sess_open_finish(sess, ext + 8);
	}
	return ret;
}

int
link_frame_seal(struct rpci_auth_sess *sess, struct link_hdr *h, uint64_t counter, uint8_t *buf,
		uint32_t len)
{
	uint8_t *ext = buf + RPCI_LINK_HDR_LEN, *pay = ext + RPCI_LINK_AUTH_LEN;
	bool enc;
	uint32_t crc;
	int ret;

	if (!rpci_auth_sess_ready(sess) ||
	    len < RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + (uint32_t)h->payload_len) {
		return -EINVAL;
	}
	h->flags = (uint16_t)((h->flags | RPCI_LINK_F_AUTH) & ~RPCI_LINK_F_CRC_PAYLOAD);
	enc = rpci_auth_sess_encrypts(sess) && h->kind == RPCI_LINK_DATA;
	if (enc) {
		h->flags |= RPCI_LINK_F_ENCRYPTED;
	}
	link_hdr_encode(h, buf);
	link_auth_counter_put(ext, counter);
	ret = rpci_auth_sess_seal_start(sess, counter, buf, RPCI_LINK_HDR_LEN);
	if (ret == 0) {
		ret = rpci_auth_sess_seal_data(sess, pay, enc ? pay : NULL, h->payload_len);
	}
	if (ret == 0) {
		ret = rpci_auth_sess_seal_finish(sess, ext + 8);
	}
	crc = link_crc_header(buf) ^ ~0u;
	put_be32(buf + LINK_OFF_CRC, crc);
	h->crc = crc;
	return ret;
}
