/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_TLP_H
#define RPCI_TLP_H

/**
 * @file
 * TLP-like transaction messages of the rpci fabric.
 *
 * The messages follow PCI Express transaction layer packets in meaning:
 * memory reads and writes addressed in double words (DW, 4 bytes) with
 * first and last byte enables, completions matched to reads by requester id
 * and tag, configuration reads and writes, and messages (MSI). On the wire
 * every field is big-endian; the layouts are in doc/protocol.md.
 *
 * This library is pure C with no DPDK types, so that it can be unit tested
 * and fuzzed alone. It never allocates on the encode/decode path.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Header length of MRd and MWr messages on the wire, in bytes. */
#define RPCI_TLP_HDR_MEM_LEN 24
/** Header length of Cpl and CplD messages on the wire, in bytes. */
#define RPCI_TLP_HDR_CPL_LEN 24
/** Header length of CfgRd and CfgWr messages on the wire, in bytes. */
#define RPCI_TLP_HDR_CFG_LEN 16
/** Header length of Msg messages on the wire, in bytes. */
#define RPCI_TLP_HDR_MSG_LEN 16
/** Longest header of any message type. */
#define RPCI_TLP_HDR_MAX_LEN 24

/** Largest payload any message can carry (PCIe's largest max payload size). */
#define RPCI_TLP_MAX_PAYLOAD 4096
/** Largest length field of any message, in DW. */
#define RPCI_TLP_MAX_LENGTH_DW (RPCI_TLP_MAX_PAYLOAD / 4)
/** A memory request never crosses a boundary of this size (PCIe rule). */
#define RPCI_TLP_BOUNDARY 4096
/** Read completion boundary: split completions end on multiples of this. */
#define RPCI_TLP_RCB 64
/** Number of DW registers in a function's (extended) configuration space. */
#define RPCI_TLP_CFG_REGS 1024

/** Message types (first byte of every message). */
enum rpci_tlp_type {
	RPCI_TLP_MRD = 0x01,   /**< memory read request (non-posted) */
	RPCI_TLP_MWR = 0x02,   /**< memory write request (posted) */
	RPCI_TLP_CPL = 0x03,   /**< completion without data */
	RPCI_TLP_CPLD = 0x04,  /**< completion with data */
	RPCI_TLP_CFGRD = 0x05, /**< configuration read (non-posted) */
	RPCI_TLP_CFGWR = 0x06, /**< configuration write (non-posted) */
	RPCI_TLP_MSG = 0x07,   /**< message (MSI, vendor) */
};

/** Completion status, as in PCIe. */
enum rpci_tlp_cpl_status {
	RPCI_TLP_CPL_SC = 0,  /**< successful completion */
	RPCI_TLP_CPL_UR = 1,  /**< unsupported request */
	RPCI_TLP_CPL_CRS = 2, /**< configuration request retry status */
	RPCI_TLP_CPL_CA = 4,  /**< completer abort */
};

/** Message codes of RPCI_TLP_MSG. */
enum rpci_tlp_msg_code {
	RPCI_TLP_MSG_MSI = 0x01,    /**< MSI-style interrupt; msg_data is the vector */
	RPCI_TLP_MSG_VENDOR = 0x7f, /**< vendor-defined message, may carry a payload */
};

/**
 * One message, decoded (host byte order).
 *
 * Which fields mean something depends on the type:
 * - MRd, MWr: first_be, last_be, length_dw, requester_id, tag, address.
 * - Cpl, CplD: status, length_dw (0 for Cpl), requester_id, completer_id,
 *   tag, byte_count, lower_address.
 * - CfgRd, CfgWr: first_be, length_dw (always 1), requester_id,
 *   completer_id (the target function), tag, reg.
 * - Msg: msg_code, length_dw (payload, 0 for MSI), requester_id, tag,
 *   msg_data.
 * Fields that do not apply must be zero when encoding.
 */
struct rpci_tlp {
	uint8_t type;          /**< enum rpci_tlp_type */
	uint8_t status;        /**< enum rpci_tlp_cpl_status (Cpl, CplD) */
	uint8_t first_be;      /**< byte enables of the first DW (4 bits) */
	uint8_t last_be;       /**< byte enables of the last DW (4 bits) */
	uint16_t length_dw;    /**< length in DW: data carried or data requested */
	uint16_t requester_id; /**< id of the function that issued the request */
	uint16_t completer_id; /**< id of the completing/target function */
	uint16_t tag;          /**< matches completions to non-posted requests */
	uint64_t address;      /**< DW-aligned memory address (MRd, MWr) */
	uint32_t byte_count;   /**< bytes left to complete, this one included */
	uint8_t lower_address; /**< bits 6:0 of the first byte's address (Cpl) */
	uint8_t msg_code;      /**< enum rpci_tlp_msg_code (Msg) */
	uint16_t reg;          /**< configuration register number, in DW */
	uint32_t msg_data;     /**< message data: the MSI vector (Msg) */
	/** Decode: the payload inside the decoded buffer; ignored by encode. */
	const void *payload;
};

/** Limits a receiver enforces on the messages it accepts. */
struct rpci_tlp_limits {
	uint32_t max_payload;  /**< largest payload in bytes (multiple of 4) */
	uint32_t max_read_req; /**< largest MRd length in bytes (multiple of 4) */
};

/**
 * Header length of a message type.
 *
 * @param type
 *   A message type (enum rpci_tlp_type).
 * @return
 *   The header length in bytes, or 0 if the type is unknown.
 */
size_t rpci_tlp_hdr_len(uint8_t type);

/**
 * Whether a message type carries a payload of length_dw DW.
 *
 * @param type
 *   A message type.
 * @return
 *   true for MWr, CplD, CfgWr and Msg; false otherwise.
 */
bool rpci_tlp_has_payload(uint8_t type);

/**
 * Payload length of a message on the wire.
 *
 * @param tlp
 *   The message.
 * @return
 *   length_dw * 4 for types that carry data, 0 for the others.
 */
uint32_t rpci_tlp_payload_len(const struct rpci_tlp *tlp);

/**
 * Name of a message type, for logs and counters.
 *
 * @param type
 *   A message type.
 * @return
 *   A static string such as "MRd"; "unknown" for an unknown type.
 */
const char *rpci_tlp_type_name(uint8_t type);

/**
 * Check a message against the protocol rules and a receiver's limits.
 *
 * Rules: known type; DW-aligned address; length_dw between 1 and the limit
 * (MRd against max_read_req, payload against max_payload); byte enables as
 * in PCIe (last_be 0 when length_dw is 1, both non-zero and contiguous
 * otherwise, except that a QW-aligned 2 DW request may have any non-zero
 * enables); a memory request does not cross a 4 KiB boundary; configuration
 * requests are 1 DW with a register below RPCI_TLP_CFG_REGS; a Cpl carries no
 * data and a CplD does; a completion's byte_count is 1..RPCI_TLP_MAX_PAYLOAD
 * and at least its data; known completion status; known message code, and an
 * MSI carries no payload; reserved fields zero.
 *
 * @param tlp
 *   The message.
 * @param limits
 *   The receiver's limits, or NULL for the protocol maximums.
 * @param why
 *   If not NULL, set to a static string naming the broken rule, or NULL.
 * @return
 *   - 0 if the message is valid.
 *   - -EPROTO: unknown message type or message code.
 *   - -EINVAL: a field breaks a rule (alignment, byte enables, boundary,
 *     register, status, reserved field).
 *   - -E2BIG: a length over the limits.
 */
int rpci_tlp_validate(const struct rpci_tlp *tlp, const struct rpci_tlp_limits *limits,
		      const char **why);

/**
 * Encode the header of a message.
 *
 * Only the header is written: the caller places the payload
 * (rpci_tlp_payload_len() bytes) right after it, or sends it from where it
 * lives as a separate segment. The message is validated first, against the
 * protocol maximums.
 *
 * @param tlp
 *   The message to encode.
 * @param buf
 *   Where to write the header.
 * @param size
 *   Room in buf, in bytes.
 * @return
 *   - The number of bytes written (the header length) on success.
 *   - -EPROTO, -EINVAL, -E2BIG: the message is not valid (see
 *     rpci_tlp_validate()).
 *   - -ENOSPC: buf is smaller than the header.
 */
int rpci_tlp_encode(const struct rpci_tlp *tlp, void *buf, size_t size);

/**
 * Decode and validate one message at the start of a buffer.
 *
 * On success tlp->payload points at the payload inside buf (NULL if the
 * message has none) and the return value says where the next message of a
 * batch starts.
 *
 * @param buf
 *   The bytes received.
 * @param size
 *   Number of bytes in buf.
 * @param limits
 *   The receiver's limits, or NULL for the protocol maximums.
 * @param tlp
 *   Filled with the decoded message.
 * @param why
 *   If not NULL, set to a static string saying what is wrong, or NULL.
 * @return
 *   - The number of bytes the message takes (header and payload).
 *   - -EMSGSIZE: buf ends before the header or the payload does.
 *   - -EPROTO, -EINVAL, -E2BIG: the message breaks a rule (see
 *     rpci_tlp_validate()).
 */
int rpci_tlp_decode(const void *buf, size_t size, const struct rpci_tlp_limits *limits,
		    struct rpci_tlp *tlp, const char **why);

/**
 * Decode and validate the header of a message alone, for a receiver that
 * finds the payload elsewhere (a frame whose headers and payloads are kept
 * apart, doc/protocol.md). The header is checked as rpci_tlp_decode() checks
 * it; nothing is said about the payload, which must follow wherever the
 * caller keeps it: rpci_tlp_payload_len() bytes.
 *
 * @param buf
 *   The bytes received, starting with the header.
 * @param size
 *   Number of bytes in buf (the header's at least).
 * @param limits
 *   The receiver's limits, or NULL for the protocol maximums.
 * @param tlp
 *   Filled with the decoded header; tlp->payload is NULL.
 * @param why
 *   If not NULL, set to a static string saying what is wrong, or NULL.
 * @return
 *   - The header length in bytes.
 *   - -EMSGSIZE: buf ends before the header does.
 *   - -EPROTO, -EINVAL, -E2BIG: the header breaks a rule (see
 *     rpci_tlp_validate()).
 */
int rpci_tlp_decode_hdr(const void *buf, size_t size, const struct rpci_tlp_limits *limits,
			struct rpci_tlp *tlp, const char **why);

/**
 * Express a byte range as a DW-aligned request.
 *
 * @param addr
 *   Address of the first byte.
 * @param len
 *   Number of bytes, 0 to RPCI_TLP_MAX_PAYLOAD. A length of 0 gives a
 *   zero-length request (1 DW, no byte enabled).
 * @param tlp
 *   Its address, length_dw, first_be and last_be are set; nothing else is
 *   touched.
 * @return
 *   - 0 on success.
 *   - -E2BIG: len is over RPCI_TLP_MAX_PAYLOAD.
 *   - -EINVAL: the range crosses a 4 KiB boundary.
 */
int rpci_tlp_set_byte_range(struct rpci_tlp *tlp, uint64_t addr, uint32_t len);

/**
 * Byte range that a memory or configuration request's enables select.
 *
 * @param tlp
 *   A valid MRd, MWr, CfgRd or CfgWr.
 * @param first_offset
 *   Set to the offset of the first enabled byte from tlp->address (0..3).
 * @return
 *   The number of bytes from the first to the last enabled byte (0 for a
 *   zero-length request).
 */
uint32_t rpci_tlp_byte_range(const struct rpci_tlp *tlp, uint32_t *first_offset);

/**
 * Next chunk of a transfer: how many bytes from addr fit in one memory
 * request without passing max_payload or a 4 KiB boundary.
 *
 * @param addr
 *   Address of the chunk's first byte.
 * @param remaining
 *   Bytes left in the transfer.
 * @param max_payload
 *   Largest payload in bytes (a multiple of 4, at least 64).
 * @return
 *   The chunk length in bytes, at most remaining (0 if remaining is 0).
 */
uint32_t rpci_tlp_chunk_len(uint64_t addr, uint64_t remaining, uint32_t max_payload);

/**
 * Iterator that answers one MRd with one or more completions.
 *
 * Completions follow PCIe: in address order, each carrying at most
 * max_payload bytes, every one but the last ending on a multiple of
 * RPCI_TLP_RCB, byte_count counting down the bytes left.
 */
struct rpci_tlp_cpl_iter {
	struct rpci_tlp cpl;  /**< template: ids, tag, status */
	uint64_t next_addr;   /**< address of the next byte to complete */
	uint32_t remaining;   /**< bytes not yet completed */
	uint32_t max_payload; /**< split size */
};

/**
 * Start answering a read request.
 *
 * @param it
 *   The iterator.
 * @param mrd
 *   A valid MRd (or CfgRd, answered with one CplD of 1 DW).
 * @param completer_id
 *   Id of the function that completes.
 * @param max_payload
 *   Largest completion payload in bytes (a multiple of RPCI_TLP_RCB, or at
 *   least 4 for a CfgRd).
 * @return
 *   - 0 on success.
 *   - -EINVAL: mrd is not a read request, or max_payload is not usable.
 */
int rpci_tlp_cpl_iter_init(struct rpci_tlp_cpl_iter *it, const struct rpci_tlp *mrd,
			   uint16_t completer_id, uint32_t max_payload);

/**
 * Next completion of a read.
 *
 * @param it
 *   The iterator.
 * @param cpl
 *   Filled with the next CplD (for a zero-length read, as in PCIe, one CplD
 *   of 1 DW with byte_count 1, whose data the requester ignores).
 * @param src_addr
 *   Set to the DW-aligned address whose data (rpci_tlp_payload_len(cpl)
 *   bytes) goes in the payload.
 * @return
 *   1 if a completion was produced, 0 when the read is fully answered.
 */
int rpci_tlp_cpl_iter_next(struct rpci_tlp_cpl_iter *it, struct rpci_tlp *cpl,
			   uint64_t *src_addr);

/**
 * Fill a completion that answers a request with an error status (UR or CA)
 * or that completes a request without data (CfgWr).
 *
 * @param cpl
 *   Filled with a Cpl.
 * @param req
 *   The non-posted request answered (MRd, CfgRd, CfgWr).
 * @param completer_id
 *   Id of the completing function.
 * @param status
 *   enum rpci_tlp_cpl_status.
 */
void rpci_tlp_cpl_for(struct rpci_tlp *cpl, const struct rpci_tlp *req, uint16_t completer_id,
		      uint8_t status);

/** Requester-side state of one outstanding read. */
struct rpci_tlp_tag_slot {
	bool in_use;        /**< a request with this tag is outstanding */
	uint8_t type;       /**< MRd or CfgRd */
	uint32_t total;     /**< bytes requested */
	uint32_t remaining; /**< bytes not yet completed */
	uint64_t addr;      /**< address of the first requested byte */
	void *cookie;       /**< the requester's context */
};

/** Requester-side table of outstanding non-posted requests, by tag. */
struct rpci_tlp_tags {
	uint16_t nb_tags;   /**< tags 0..nb_tags-1 */
	uint16_t in_use;    /**< outstanding requests */
	uint16_t next;      /**< where the search for a free tag starts */
	struct rpci_tlp_tag_slot *slots;
};

/**
 * Create a tag table.
 *
 * @param nb_tags
 *   Number of tags, 1..1024 (bounds the non-posted requests in flight).
 * @return
 *   The table, or NULL with errno set: EINVAL (nb_tags out of range),
 *   ENOMEM.
 */
struct rpci_tlp_tags *rpci_tlp_tags_create(uint16_t nb_tags);

/**
 * Free a tag table.
 *
 * @param tags
 *   The table; NULL is ignored.
 */
void rpci_tlp_tags_free(struct rpci_tlp_tags *tags);

/**
 * Take a tag for a new non-posted request.
 *
 * @param tags
 *   The table.
 * @param req
 *   The request (MRd, CfgRd or CfgWr) about to be sent; its byte range
 *   sets what the completions must deliver. Its tag field is not read.
 * @param cookie
 *   Returned by rpci_tlp_tag_complete() with the request's completions.
 * @return
 *   - The tag (0..nb_tags-1).
 *   - -EBUSY: every tag is outstanding.
 *   - -EINVAL: req is not a non-posted request.
 */
int rpci_tlp_tag_alloc(struct rpci_tlp_tags *tags, const struct rpci_tlp *req, void *cookie);

/**
 * Match a completion to its request.
 *
 * Checks that the tag is outstanding, that the completion continues the
 * request in order (byte_count equals the bytes left and lower_address
 * matches) and carries no more than is left. On success *offset and *len
 * say which bytes of the request (from its first byte) the payload holds,
 * starting at payload byte *payload_skip.
 *
 * @param tags
 *   The table.
 * @param cpl
 *   A valid Cpl or CplD.
 * @param offset
 *   Set to the offset of the delivered bytes within the request.
 * @param len
 *   Set to the number of bytes delivered (0 for a Cpl).
 * @param payload_skip
 *   Set to the number of payload bytes before the first delivered byte.
 * @param cookie
 *   Set to the request's cookie.
 * @param done
 *   Set to true when this completion ends the request (its tag is freed).
 * @return
 *   - 0: a successful completion, bytes delivered.
 *   - -EIO: a completion with an error status (UR, CA, CRS); the request
 *     ends (*done is true) and its tag is freed.
 *   - -ENOENT: no request with that tag is outstanding (nothing changes).
 *   - -EBADMSG: the completion does not fit the request (out of order, too
 *     long, wrong address); nothing changes.
 */
int rpci_tlp_tag_complete(struct rpci_tlp_tags *tags, const struct rpci_tlp *cpl,
			  uint32_t *offset, uint32_t *len, uint32_t *payload_skip, void **cookie,
			  bool *done);

/**
 * Give a tag back without a completion (time-out, dead session).
 *
 * @param tags
 *   The table.
 * @param tag
 *   The tag.
 * @param cookie
 *   If not NULL, set to the request's cookie.
 * @return
 *   - 0 on success.
 *   - -ENOENT: the tag is not outstanding.
 */
int rpci_tlp_tag_release(struct rpci_tlp_tags *tags, uint16_t tag, void **cookie);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_TLP_H */
