/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Link header and control bodies on the wire. Uses only DPDK's header-only
 * helpers (byte order, CRC32C), so it can be fuzzed without an EAL.
 */

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>

#include "link_private.h"

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

uint32_t
link_crc_update(uint32_t crc, const void *buf, uint32_t len)
{
	const uint8_t *p = buf;

	/*
	 * rte_hash_crc() loads through uint64_t pointers; frames put the
	 * header at offset 14, so load with memcpy (one instruction on x86)
	 * to stay defined for any alignment.
	 */
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		crc = rte_hash_crc_8byte(v, crc);
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
	crc = link_crc_update(crc, hdr + LINK_OFF_RESERVED, RPCI_LINK_HDR_LEN - LINK_OFF_RESERVED);
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
	put_be32(buf + LINK_OFF_RESERVED, 0);
}

enum link_hdr_error
link_hdr_parse(const uint8_t *buf, uint32_t len, struct link_hdr *h)
{
	uint32_t crc;

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

	if (h->version != RPCI_LINK_VERSION) {
		return LINK_HDR_VERSION;
	}
	if (h->kind < RPCI_LINK_DATA || h->kind > RPCI_LINK_CLOSE_ACK) {
		return LINK_HDR_KIND;
	}
	if ((h->flags & ~(RPCI_LINK_F_CRC_PAYLOAD | RPCI_LINK_F_CLASS_MASK)) != 0 ||
	    ((h->flags & RPCI_LINK_F_CLASS_MASK) >> RPCI_LINK_F_CLASS_SHIFT) >= RPCI_LINK_CLASSES ||
	    get_be32(buf + LINK_OFF_RESERVED) != 0) {
		return LINK_HDR_FLAGS;
	}
	if ((uint32_t)h->payload_len > len - RPCI_LINK_HDR_LEN) {
		return LINK_HDR_SHORT;
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
 * credits P, NP, CPL (3 x be16), reserved (2 bytes, zero), reason (64 bytes,
 * NUL-padded), lease id (be64).
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
	for (i = 22; i < 24; i++) {
		if (buf[i] != 0) {
			return -EBADMSG;
		}
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
