/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_LINK_PRIVATE_H
#define RPCI_LINK_PRIVATE_H

/*
 * Internals of lib/link, shared by link.c, link_hdr.c and the tests.
 * Not for other libraries.
 */

#include <stdint.h>

#include <rte_log.h>
#include <rte_mbuf.h>

#include "rpci_link.h"

extern int rpci_link_logtype;

#define LINK_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_link_logtype, "rpci.link: %s(): " fmt "\n", \
		__func__, ##__VA_ARGS__)

/* Offsets of the link header fields on the wire (big-endian). */
#define LINK_OFF_VERSION 0
#define LINK_OFF_KIND 1
#define LINK_OFF_FLAGS 2
#define LINK_OFF_SESSION 4
#define LINK_OFF_SEQ 8
#define LINK_OFF_ACK 12
#define LINK_OFF_LEN 16
#define LINK_OFF_CREDIT_P 18
#define LINK_OFF_CREDIT_NP 20
#define LINK_OFF_CREDIT_CPL 22
#define LINK_OFF_CRC 24
#define LINK_OFF_SPLIT 28
#define LINK_OFF_RESERVED 30

/* A link header, decoded. */
struct link_hdr {
	uint8_t version;
	uint8_t kind;
	uint16_t flags;
	uint32_t session;
	uint32_t seq;
	uint32_t ack;
	uint16_t payload_len;
	uint16_t credit_p;
	uint16_t credit_np;
	uint16_t credit_cpl;
	uint32_t crc;
	uint16_t split_len; /* F_SPLIT: bytes of message headers before the payloads */
};

/* Why a header was refused (link_hdr_parse()). */
enum link_hdr_error {
	LINK_HDR_OK = 0,
	LINK_HDR_SHORT,       /* frame shorter than the header or its payload */
	LINK_HDR_VERSION,     /* unknown version */
	LINK_HDR_KIND,        /* unknown kind */
	LINK_HDR_FLAGS,       /* unknown flag bits, reserved field set, bad split length */
	LINK_HDR_CRC,         /* CRC mismatch */
};

/* Wire size of the OPEN/OPEN_ACK body (the authentication block follows it). */
#define LINK_OPEN_MSG_LEN 96

/* Flags a header may carry. */
#define LINK_F_KNOWN (RPCI_LINK_F_CRC_PAYLOAD | RPCI_LINK_F_CLASS_MASK | RPCI_LINK_F_KEPT | \
		      RPCI_LINK_F_PORT_STOPS | RPCI_LINK_F_SPLIT | RPCI_LINK_F_AUTH | \
		      RPCI_LINK_F_ENCRYPTED)

/* Bytes from the link header's start to the payload: the header (with F_AUTH, counter, tag). */
static inline uint32_t
link_hdr_room(uint16_t flags)
{
	return RPCI_LINK_HDR_LEN + ((flags & RPCI_LINK_F_AUTH) ? RPCI_LINK_AUTH_LEN : 0);
}

/*
 * The bytes an authenticated frame's tag covers first: its link header
 * with the CRC field zero (aad, RPCI_LINK_HDR_LEN bytes).
 */
void link_hdr_aad(const uint8_t *hdr, uint8_t *aad);

/* The frame counter of an authenticated frame (after the header). */
uint64_t link_auth_counter(const uint8_t *ext);

/* Write an authenticated frame's counter (its tag follows it). */
void link_auth_counter_put(uint8_t *ext, uint64_t counter);

struct rpci_auth_sess;

/*
 * Check the tag of an authenticated frame held in len contiguous bytes (the
 * L2 payload: link header, counter and tag, payload) with the session's
 * receiving keys, decrypting the payload in place where F_ENCRYPTED says.
 * The header must have decoded (h). Returns 0 (authentic), -EBADMSG (it is
 * not), -EINVAL (no F_AUTH, or not ready), -EIO. For the fuzzer and tests;
 * the link checks frames in segments the same way.
 */
int link_frame_open(struct rpci_auth_sess *sess, const struct link_hdr *h, uint8_t *buf,
		    uint32_t len);

/* Seal len contiguous bytes as link_frame_open() checks them (counter given). */
int link_frame_seal(struct rpci_auth_sess *sess, struct link_hdr *h, uint64_t counter,
		    uint8_t *buf, uint32_t len);

/*
 * Encode a link header at buf (RPCI_LINK_HDR_LEN bytes); the CRC field is
 * written as zero (see link_crc_finish()).
 */
void link_hdr_encode(const struct link_hdr *h, uint8_t *buf);

/*
 * Decode and check the link header at the start of an L2 payload of len
 * bytes (Ethernet header excluded; buf holds the header, the payload may
 * lie elsewhere), the CRC left unchecked. Returns LINK_HDR_OK or why it is
 * refused.
 */
enum link_hdr_error link_hdr_decode(const uint8_t *buf, uint32_t len, struct link_hdr *h);

/*
 * Parse and check the link header at the start of an L2 payload of len
 * contiguous bytes (Ethernet header excluded), CRC included. Returns
 * LINK_HDR_OK or why it is refused.
 */
enum link_hdr_error link_hdr_parse(const uint8_t *buf, uint32_t len, struct link_hdr *h);

/* CRC32C (Castagnoli) of buf, continuing from crc (start with ~0u). */
uint32_t link_crc_update(uint32_t crc, const void *buf, uint32_t len);

/* CRC32C of a link header with its CRC field taken as zero. */
uint32_t link_crc_header(const uint8_t *hdr);

/* Encode/decode the OPEN body; decode returns 0 or -EBADMSG. */
void link_open_msg_encode(const struct rpci_link_open_msg *m, uint8_t *buf);
int link_open_msg_decode(const uint8_t *buf, uint32_t len, struct rpci_link_open_msg *m);

/* The link now owns its port and pools: rpci_link_free() closes them. */
void link_take_port(struct rpci_link *link);

/* The link now owns its keys (params.auth): rpci_link_free() frees them. */
void link_take_auth(struct rpci_link *link);

/* Sequence numbers compare modulo 2^32. */
static inline int32_t
link_seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

#endif /* RPCI_LINK_PRIVATE_H */
