/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Writes the seed corpora of the fuzz targets: real messages made with the
 * libraries themselves.
 *
 *   tlp/       TLP batches as a DATA frame carries them: every type, reads
 *              with the completions the iterator makes for them, requests
 *              and completions that meet in a tag table, and a few broken
 *              messages (reserved bits, truncation, rule violations).
 *   link_hdr/  L2 payloads of link frames of every kind, CRC as link.c
 *              seals them, with and without the payload under the CRC,
 *              padded to Ethernet's minimum; broken headers; OPEN bodies.
 *   conf/      config/pair.cfg, variants of it with one change each (most
 *              of them refused, for every kind of message), and a few
 *              other deployments.
 *   ipc/       request rings as librpci fills them (fuzz_ipc.c's layout:
 *              consumer, producer, shared-memory size, then the slots):
 *              a good request of every op, inline writes of every size
 *              class and across the ring's end, a walk of several
 *              requests, slots not all published, a producer out of
 *              range, each kind of malformed request; and a HELLO, a
 *              HELLO_ACK and REQUEST parameters as they are sent.
 *
 * usage: make-corpus SOURCE_DIR OUT_DIR
 * writes OUT_DIR/{tlp,link_hdr,conf,ipc}/NAME (the directories must exist).
 * Run by hand when a format changes (doc/testing.md); the output is
 * committed under test/fuzz/corpus/.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_link_keys.h"
#include "link_private.h"
#include "rpci_auth.h"
#include "rpci_ipc.h"
#include "rpci_tlp.h"

#define OUT_MAX 4000 /* every seed stays under 4 KiB */

/* A message batch being built. */
struct batch {
	uint8_t buf[OUT_MAX];
	size_t len;
};

static const char *g_out;
static unsigned int g_files;

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "make-corpus: %s\n", what);
	exit(1);
}

static void
write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[1024];
	FILE *f;

	if (len > OUT_MAX) {
		die(name);
	}
	if (snprintf(path, sizeof(path), "%s/%s/%s", g_out, dir, name) >= (int)sizeof(path)) {
		die("path too long");
	}
	f = fopen(path, "wb");
	if (f == NULL) {
		die(path);
	}
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		die(path);
	}
	g_files++;
}

/* TLP builders. */

static struct rpci_tlp
mk_mem(uint8_t type, uint64_t addr, uint32_t len, uint16_t tag)
{
	struct rpci_tlp t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	t.requester_id = 0x0100;
	t.tag = tag;
	if (rpci_tlp_set_byte_range(&t, addr, len) != 0) {
		die("byte range");
	}
	return t;
}

static struct rpci_tlp
mk_cfg(uint8_t type, uint16_t reg, uint8_t fbe, uint16_t tag)
{
	struct rpci_tlp t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	t.first_be = fbe;
	t.length_dw = 1;
	t.requester_id = 0x0100;
	t.completer_id = 0x0200;
	t.tag = tag;
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
	t.requester_id = 0x0200;
	t.msg_data = data;
	return t;
}

/* Append a message; the payload is a counting pattern. */
static void
add(struct batch *b, const struct rpci_tlp *t)
{
	uint32_t i, plen = rpci_tlp_payload_len(t);
	int rc;

	rc = rpci_tlp_encode(t, b->buf + b->len, sizeof(b->buf) - b->len);
	if (rc < 0 || b->len + (size_t)rc + plen > sizeof(b->buf)) {
		die("batch full or message invalid");
	}
	b->len += (size_t)rc;
	for (i = 0; i < plen; i++) {
		b->buf[b->len++] = (uint8_t)(i * 7 + 1);
	}
}

/* Append the completions that answer req, split at mps, with the given tag. */
static void
add_cpls(struct batch *b, const struct rpci_tlp *req, uint32_t mps, uint16_t tag)
{
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp cpl;
	uint64_t src;

	if (rpci_tlp_cpl_iter_init(&it, req, 0x0200, mps) != 0) {
		die("cpl iter");
	}
	while (rpci_tlp_cpl_iter_next(&it, &cpl, &src) == 1) {
		cpl.tag = tag;
		add(b, &cpl);
	}
}

static void
put(const char *name, const struct batch *b)
{
	write_file("tlp", name, b->buf, b->len);
}

/* One message alone. */
static void
put1(const char *name, const struct rpci_tlp *t)
{
	struct batch b = { .len = 0 };

	add(&b, t);
	put(name, &b);
}

/* One message, then one of its bytes changed. */
static void
put_patched(const char *name, const struct rpci_tlp *t, size_t at, uint8_t v)
{
	struct batch b = { .len = 0 };

	add(&b, t);
	b.buf[at] = v;
	put(name, &b);
}

static void
make_tlp(void)
{
	struct rpci_tlp t, r0, r1, r2, cpl;
	struct batch b;
	uint16_t i;

	t = mk_mem(RPCI_TLP_MRD, 0x1000, 4, 1);
	put1("mrd-1dw", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x2004, 0, 2);
	put1("mrd-zero-length", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x7f0000013ull, 1000, 3);
	put1("mrd-unaligned-1000", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x20000, 4096, 4);
	put1("mrd-4096", &t);
	t = mk_mem(RPCI_TLP_MRD, 0xfffffffffffff000ull, 64, 5);
	put1("mrd-top-of-memory", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x3001, 2, 6);
	put1("mrd-2-bytes-in-dw", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x4008, 8, 7);
	t.first_be = 0x1;
	t.last_be = 0x8; /* QW-aligned 2 DW: any non-zero enables */
	put1("mrd-2dw-sparse", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x400e, 4, 7); /* 2 DW, not QW-aligned */
	put1("mrd-2dw-unaligned", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x5ffc, 4, 8);
	put1("mrd-end-of-page", &t);
	t = mk_mem(RPCI_TLP_MRD, 0x6035, 300, 9);
	put1("mrd-second-half-of-rcb", &t);

	t = mk_mem(RPCI_TLP_MWR, 0x1000, 4, 0);
	put1("mwr-4", &t);
	t = mk_mem(RPCI_TLP_MWR, 0x6002, 61, 0x0101);
	put1("mwr-61-unaligned", &t);
	t = mk_mem(RPCI_TLP_MWR, 0x7000, 256, 0x1234);
	put1("mwr-256", &t);
	t = mk_mem(RPCI_TLP_MWR, 0x100000, 1408, 0);
	put1("mwr-1408", &t);
	t = mk_mem(RPCI_TLP_MWR, 0x8ff0, 16, 0x3fff);
	put1("mwr-16-end-of-page", &t);

	t = mk_mem(RPCI_TLP_MRD, 0x7f0000013ull, 1000, 3);
	rpci_tlp_cpl_for(&cpl, &t, 0x0200, RPCI_TLP_CPL_UR);
	put1("cpl-ur", &cpl);
	rpci_tlp_cpl_for(&cpl, &t, 0x0200, RPCI_TLP_CPL_CA);
	put1("cpl-ca", &cpl);
	t = mk_cfg(RPCI_TLP_CFGRD, 0x10, 0xf, 9);
	rpci_tlp_cpl_for(&cpl, &t, 0x0200, RPCI_TLP_CPL_CRS);
	put1("cpl-crs", &cpl);
	t = mk_cfg(RPCI_TLP_CFGWR, 0x4, 0x3, 10);
	rpci_tlp_cpl_for(&cpl, &t, 0x0200, RPCI_TLP_CPL_SC);
	put1("cpl-sc-cfgwr", &cpl);

	b.len = 0;
	t = mk_mem(RPCI_TLP_MRD, 0x1000, 4, 1);
	add_cpls(&b, &t, 64, 1);
	put("cpld-1dw", &b);
	b.len = 0;
	t = mk_mem(RPCI_TLP_MRD, 0x7f0000013ull, 1000, 3);
	add_cpls(&b, &t, 256, 3);
	put("cpld-split-256", &b);
	b.len = 0;
	t = mk_mem(RPCI_TLP_MRD, 0x20010, 2048, 4);
	add_cpls(&b, &t, 1408, 4);
	put("cpld-split-1408", &b);
	b.len = 0;
	t = mk_mem(RPCI_TLP_MRD, 0x2004, 0, 2);
	add_cpls(&b, &t, 64, 2);
	put("cpld-zero-length", &b);

	t = mk_cfg(RPCI_TLP_CFGRD, 0x0, 0xf, 11);
	put1("cfgrd-id", &t);
	t = mk_cfg(RPCI_TLP_CFGRD, 1023, 0x4, 12);
	put1("cfgrd-last-reg", &t);
	t = mk_cfg(RPCI_TLP_CFGWR, 0x1, 0x3, 13);
	put1("cfgwr-command", &t);
	t = mk_cfg(RPCI_TLP_CFGWR, 0x4, 0xf, 14);
	put1("cfgwr-bar0", &t);

	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 3);
	put1("msg-msi", &t);
	t = mk_msg(RPCI_TLP_MSG_VENDOR, 4, 0x7270);
	put1("msg-vendor", &t);
	t = mk_msg(RPCI_TLP_MSG_VENDOR, 0, 0);
	put1("msg-vendor-empty", &t);

	/* Requests take tags 0, 1, 2 of a fresh table; their completions follow. */
	b.len = 0;
	r0 = mk_mem(RPCI_TLP_MRD, 0x3010, 200, 0);
	r1 = mk_cfg(RPCI_TLP_CFGRD, 0x4, 0xf, 1);
	r2 = mk_cfg(RPCI_TLP_CFGWR, 0x1, 0x3, 2);
	add(&b, &r0);
	add(&b, &r1);
	add(&b, &r2);
	add_cpls(&b, &r0, 64, 0);
	add_cpls(&b, &r1, 64, 1);
	rpci_tlp_cpl_for(&cpl, &r2, 0x0200, RPCI_TLP_CPL_SC);
	add(&b, &cpl);
	put("batch-reads-answered", &b);

	/* The same with errors: UR, a stray tag, a completion out of order. */
	b.len = 0;
	add(&b, &r0);
	add(&b, &r1);
	add(&b, &r2);
	rpci_tlp_cpl_for(&cpl, &r1, 0x0200, RPCI_TLP_CPL_UR);
	add(&b, &cpl);
	add_cpls(&b, &r0, 128, 5);
	t = mk_mem(RPCI_TLP_MRD, 0x3020, 100, 0);
	add_cpls(&b, &t, 64, 0);
	add_cpls(&b, &r0, 64, 0);
	rpci_tlp_cpl_for(&cpl, &r2, 0x0200, RPCI_TLP_CPL_CA);
	add(&b, &cpl);
	put("batch-reads-errors", &b);

	/* A frame of posted writes and interrupts, as a device sends them. */
	b.len = 0;
	t = mk_mem(RPCI_TLP_MWR, 0x9000, 16, 0);
	add(&b, &t);
	t = mk_mem(RPCI_TLP_MWR, 0x9010, 256, 0);
	add(&b, &t);
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 0);
	add(&b, &t);
	t = mk_mem(RPCI_TLP_MWR, 0xa003, 5, 0);
	add(&b, &t);
	t = mk_msg(RPCI_TLP_MSG_VENDOR, 2, 1);
	add(&b, &t);
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 1);
	add(&b, &t);
	put("batch-posted", &b);

	/* Many small requests, as a client polls registers. */
	b.len = 0;
	for (i = 0; i < 8; i++) {
		t = mk_mem(RPCI_TLP_MRD, 0x10000 + 4u * i, 4, i);
		add(&b, &t);
	}
	for (i = 0; i < 8; i++) {
		t = mk_mem(RPCI_TLP_MRD, 0x10000 + 4u * i, 4, i);
		add_cpls(&b, &t, 64, i);
	}
	put("batch-register-reads", &b);

	/* Broken: each breaks one rule, or is cut short. */
	t = mk_mem(RPCI_TLP_MRD, 0x1000, 4, 1);
	put_patched("bad-reserved-byte", &t, 1, 0x01);
	put_patched("bad-unknown-type", &t, 0, 0x08);
	put_patched("bad-byte-enables", &t, 2, 0x15); /* last_be on 1 DW */
	put_patched("bad-address-unaligned", &t, 19, 0x02);
	put_patched("bad-zero-length", &t, 5, 0x00);
	t = mk_mem(RPCI_TLP_MRD, 0x1f00, 256, 1);
	put_patched("bad-crosses-4k", &t, 19, 0x80); /* 256 bytes from 0x1f80 */
	t = mk_mem(RPCI_TLP_MWR, 0x1000, 64, 0);
	b.len = 0;
	add(&b, &t);
	b.len -= 8;
	put("bad-truncated-payload", &b);
	b.len = 10;
	put("bad-truncated-header", &b);
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 3);
	put_patched("bad-msi-payload", &t, 5, 0x01);
	put_patched("bad-msg-code", &t, 1, 0x02);
	t = mk_cfg(RPCI_TLP_CFGRD, 0x10, 0xf, 9);
	put_patched("bad-cfg-register", &t, 12, 0x04); /* reg 0x410 */
	put_patched("bad-cfg-length", &t, 5, 0x02);
	b.len = 0;
	t = mk_mem(RPCI_TLP_MRD, 0x1000, 4, 1);
	add_cpls(&b, &t, 64, 1);
	b.buf[15] = 0; /* byte count 0 */
	put("bad-cpld-byte-count", &b);
	b.buf[15] = 4;
	b.buf[1] = RPCI_TLP_CPL_UR; /* CplD with an error status */
	put("bad-cpld-status", &b);

	/* A good message followed by garbage. */
	b.len = 0;
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 7);
	add(&b, &t);
	memcpy(b.buf + b.len, "\x01\xff garbage", 10);
	b.len += 10;
	put("msi-then-garbage", &b);
}

/* Link frames. */

struct frame {
	uint8_t buf[OUT_MAX];
	size_t len;
};

/* Class of the next DATA frame sealed (enum rpci_link_class). */
static uint16_t g_class;
/* Split length of the next frame sealed, and whether its flag is set. */
static uint16_t g_split_len;
static bool g_split_flag;

/* Header + payload, sealed as frame_seal() does, then padded to min_len with zeros. */
static void
seal(struct frame *f, uint8_t kind, uint32_t session, uint32_t seq, uint32_t ack,
     const void *payload, uint16_t plen, bool crc_payload, size_t min_len)
{
	struct link_hdr h;
	uint32_t crc;

	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = kind;
	h.flags = crc_payload ? RPCI_LINK_F_CRC_PAYLOAD : 0;
	if (kind == RPCI_LINK_DATA) {
		h.flags |= (uint16_t)(g_class << RPCI_LINK_F_CLASS_SHIFT);
	}
	if (g_split_flag) {
		h.flags |= RPCI_LINK_F_SPLIT;
	}
	h.split_len = g_split_len;
	h.credit_p = 64;
	h.credit_np = 32;
	h.credit_cpl = 128;
	h.session = session;
	h.seq = seq;
	h.ack = ack;
	h.payload_len = plen;
	if (RPCI_LINK_HDR_LEN + (size_t)plen > sizeof(f->buf)) {
		die("frame too long");
	}
	memset(f->buf, 0, sizeof(f->buf));
	link_hdr_encode(&h, f->buf);
	if (plen > 0) {
		memcpy(f->buf + RPCI_LINK_HDR_LEN, payload, plen);
	}
	crc = link_crc_header(f->buf);
	if (crc_payload) {
		crc = link_crc_update(crc, f->buf + RPCI_LINK_HDR_LEN, plen);
	}
	crc ^= ~0u;
	f->buf[LINK_OFF_CRC] = (uint8_t)(crc >> 24);
	f->buf[LINK_OFF_CRC + 1] = (uint8_t)(crc >> 16);
	f->buf[LINK_OFF_CRC + 2] = (uint8_t)(crc >> 8);
	f->buf[LINK_OFF_CRC + 3] = (uint8_t)crc;
	f->len = RPCI_LINK_HDR_LEN + plen;
	if (f->len < min_len) {
		f->len = min_len;
	}
}

static void
put_frame(const char *name, const struct frame *f)
{
	write_file("link_hdr", name, f->buf, f->len);
}

/*
 * A frame of an authenticated session, sealed with the harness's known
 * keys (fuzz_link_keys.h), as link.c seals it: the harness can open it.
 */
static void
seal_auth(struct frame *f, uint8_t kind, bool encrypt, uint64_t counter, const void *payload,
	  uint16_t plen)
{
	struct rpci_auth_sess *sess;
	struct link_hdr h;

	sess = rpci_auth_sess_from_keys(RPCI_AUTH_CIPHER_AES128GCM,
					encrypt ? RPCI_AUTH_SESS_ENCRYPT : 0, g_fuzz_link_keys,
					true);
	if (sess == NULL) {
		die("session keys");
	}
	memset(&h, 0, sizeof(h));
	h.version = RPCI_LINK_VERSION;
	h.kind = kind;
	h.session = 0x5eed;
	h.seq = (uint32_t)counter;
	h.ack = 3;
	h.credit_p = 64;
	h.credit_np = 32;
	h.credit_cpl = 128;
	h.payload_len = plen;
	memset(f->buf, 0, sizeof(f->buf));
	memcpy(f->buf + RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN, payload, plen);
	f->len = RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + plen;
	if (link_frame_seal(sess, &h, counter, f->buf, (uint32_t)f->len) != 0) {
		die("seal");
	}
	rpci_auth_sess_free(sess);
}

static void
mk_open(struct rpci_link_open_msg *m, int32_t status, const char *reason)
{
	memset(m, 0, sizeof(*m));
	m->status = status;
	m->function = 0;
	m->requester_id = 0x0100;
	m->completer_id = status == 0 ? 0x0200 : 0;
	m->max_payload = 1408;
	m->max_frame = 1514;
	m->replay_frames = 512;
	m->credits[RPCI_LINK_CLASS_P] = 256;
	m->credits[RPCI_LINK_CLASS_NP] = 64;
	m->credits[RPCI_LINK_CLASS_CPL] = 512;
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
}

/* Ethernet's 60-byte minimum frame, less its 14-byte header. */
#define PAD_MIN 46

static void
make_link(void)
{
	static const char ctrl[] = "{\"op\":\"list\",\"id\":1}";
	struct rpci_link_open_msg m;
	uint8_t body[LINK_OPEN_MSG_LEN];
	struct batch b = { .len = 0 };
	struct rpci_tlp t;
	struct frame f;

	/* DATA frames carry the messages of one class each. */
	g_class = RPCI_LINK_CLASS_P;
	t = mk_mem(RPCI_TLP_MWR, 0x9000, 16, 0);
	add(&b, &t);
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 0);
	add(&b, &t);
	seal(&f, RPCI_LINK_DATA, 0x11223344, 1, 0, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("data-posted", &f);
	seal(&f, RPCI_LINK_DATA, 0x11223344, 2, 5, b.buf, (uint16_t)b.len, false, PAD_MIN);
	put_frame("data-posted-crc-header-only", &f);
	seal(&f, RPCI_LINK_DATA, 0x11223344, 0xffffffff, 0xfffffff0, b.buf, (uint16_t)b.len,
	     true, PAD_MIN);
	put_frame("data-seq-wrap", &f);
	b.len = 0;
	t = mk_mem(RPCI_TLP_MWR, 0x100000, 1408, 0);
	add(&b, &t);
	seal(&f, RPCI_LINK_DATA, 7, 100, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("data-mwr-1408", &f);
	b.len = 0;
	t = mk_msg(RPCI_TLP_MSG_MSI, 0, 2);
	add(&b, &t);
	seal(&f, RPCI_LINK_DATA, 7, 101, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("data-msi-padded", &f);
	g_class = RPCI_LINK_CLASS_NP;
	b.len = 0;
	t = mk_mem(RPCI_TLP_MRD, 0x3010, 200, 0);
	add(&b, &t);
	t = mk_cfg(RPCI_TLP_CFGRD, 0x4, 0xf, 1);
	add(&b, &t);
	seal(&f, RPCI_LINK_DATA, 7, 102, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("data-nonposted", &f);
	g_class = RPCI_LINK_CLASS_CPL;
	b.len = 0;
	t = mk_mem(RPCI_TLP_MRD, 0x3010, 200, 0);
	add_cpls(&b, &t, 64, 0);
	seal(&f, RPCI_LINK_DATA, 7, 103, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("data-completions", &f);
	/* A split frame: two MWr headers (24 bytes each), then their payloads. */
	g_class = RPCI_LINK_CLASS_P;
	b.len = 0;
	t = mk_mem(RPCI_TLP_MWR, 0x200000, 64, 0);
	b.len += (size_t)rpci_tlp_encode(&t, b.buf + b.len, sizeof(b.buf) - b.len);
	t = mk_mem(RPCI_TLP_MWR, 0x200040, 128, 0);
	b.len += (size_t)rpci_tlp_encode(&t, b.buf + b.len, sizeof(b.buf) - b.len);
	memset(b.buf + b.len, 0x5a, 64 + 128);
	b.len += 64 + 128;
	g_split_flag = true;
	g_split_len = 2 * RPCI_TLP_HDR_MEM_LEN;
	seal(&f, RPCI_LINK_DATA, 7, 110, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("data-split", &f);
	seal(&f, RPCI_LINK_DATA, 7, 111, 99, b.buf, (uint16_t)b.len, false, PAD_MIN);
	put_frame("data-split-crc-header-only", &f);
	g_split_len = (uint16_t)(b.len + 1);
	seal(&f, RPCI_LINK_DATA, 7, 112, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("bad-split-too-long", &f);
	g_split_len = 0;
	seal(&f, RPCI_LINK_DATA, 7, 113, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("bad-split-empty", &f);
	g_split_len = 24;
	seal(&f, RPCI_LINK_ACK, 7, 0, 99, NULL, 0, true, PAD_MIN);
	put_frame("bad-split-ack", &f);
	g_split_flag = false;
	seal(&f, RPCI_LINK_DATA, 7, 114, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("bad-split-no-flag", &f);
	g_split_len = 0;

	g_class = RPCI_LINK_CLASSES; /* no such class */
	seal(&f, RPCI_LINK_DATA, 7, 104, 99, b.buf, (uint16_t)b.len, true, PAD_MIN);
	put_frame("bad-class", &f);
	g_class = RPCI_LINK_CLASS_P;

	seal(&f, RPCI_LINK_ACK, 7, 0, 100, NULL, 0, true, PAD_MIN);
	put_frame("ack-padded", &f);
	seal(&f, RPCI_LINK_ACK, 7, 0, 100, NULL, 0, true, 0);
	put_frame("ack", &f);
	seal(&f, RPCI_LINK_NAK, 7, 0, 42, NULL, 0, false, PAD_MIN);
	put_frame("nak", &f);
	seal(&f, RPCI_LINK_CTRL, 0, 0, 0, ctrl, (uint16_t)strlen(ctrl), true, PAD_MIN);
	put_frame("ctrl-json", &f);

	mk_open(&m, 0, "");
	link_open_msg_encode(&m, body);
	seal(&f, RPCI_LINK_OPEN, 0x5eed, 0, 0, body, sizeof(body), true, PAD_MIN);
	put_frame("open", &f);
	write_file("link_hdr", "open-body", body, sizeof(body));
	seal(&f, RPCI_LINK_OPEN_ACK, 0x5eed, 0, 0, body, sizeof(body), true, PAD_MIN);
	put_frame("open-ack", &f);
	mk_open(&m, -EBUSY, "device vgpu0 is in use by another client");
	link_open_msg_encode(&m, body);
	seal(&f, RPCI_LINK_OPEN_ACK, 0x5eed, 0, 0, body, sizeof(body), true, PAD_MIN);
	put_frame("open-ack-refused", &f);
	write_file("link_hdr", "open-body-refused", body, sizeof(body));
	body[30] = 0x07; /* a control character in the reason: shown as '?' */
	write_file("link_hdr", "open-body-unprintable", body, sizeof(body));
	body[30] = 'i';
	body[22] = 0xfe; /* the largest frame: 65024 */
	body[23] = 0x00;
	write_file("link_hdr", "open-body-max-frame", body, sizeof(body));
	body[22] = 0x01; /* 256: too small */
	write_file("link_hdr", "open-body-max-frame-small", body, sizeof(body));
	body[22] = 0xff; /* 65280: too large */
	write_file("link_hdr", "open-body-max-frame-large", body, sizeof(body));
	body[22] = 0x05; /* 1514 again */
	body[23] = 0xea;
	body[16] = 0x80; /* P credits 2^15 and more */
	write_file("link_hdr", "open-body-credits", body, sizeof(body));
	body[16] = 0x01;
	body[0] = 0x7f; /* positive status */
	write_file("link_hdr", "open-body-bad-status", body, sizeof(body));
	seal(&f, RPCI_LINK_OPEN, 0x5eed, 0, 0, body, 40, true, PAD_MIN);
	put_frame("open-short-body", &f);

	seal(&f, RPCI_LINK_CLOSE, 7, 0, 101, NULL, 0, true, PAD_MIN);
	put_frame("close", &f);

	/* Frames of an authenticated session (the harness has its keys). */
	seal_auth(&f, RPCI_LINK_DATA, false, 5, b.buf, (uint16_t)b.len);
	put_frame("auth-data", &f);
	seal_auth(&f, RPCI_LINK_DATA, true, 6, b.buf, (uint16_t)b.len);
	put_frame("auth-data-encrypted", &f);
	seal_auth(&f, RPCI_LINK_ACK, false, (1ull << 63) | 1, NULL, 0);
	put_frame("auth-ack", &f);
	seal_auth(&f, RPCI_LINK_CLOSE, false, (1ull << 63) | 2, NULL, 0);
	put_frame("auth-close", &f);
	seal(&f, RPCI_LINK_CLOSE_ACK, 7, 0, 0, NULL, 0, true, PAD_MIN);
	put_frame("close-ack", &f);

	/* Broken headers. */
	seal(&f, RPCI_LINK_ACK, 7, 0, 100, NULL, 0, true, PAD_MIN);
	f.buf[LINK_OFF_CRC + 3] ^= 0x01;
	put_frame("bad-crc", &f);
	seal(&f, RPCI_LINK_ACK, 7, 0, 100, NULL, 0, true, PAD_MIN);
	f.buf[LINK_OFF_VERSION] = 2;
	put_frame("bad-version", &f);
	seal(&f, RPCI_LINK_ACK, 7, 0, 100, NULL, 0, true, PAD_MIN);
	f.buf[LINK_OFF_KIND] = 9;
	put_frame("bad-kind", &f);
	seal(&f, RPCI_LINK_ACK, 7, 0, 100, NULL, 0, true, PAD_MIN);
	f.buf[LINK_OFF_FLAGS + 1] |= 0x02;
	put_frame("bad-flags", &f);
	seal(&f, RPCI_LINK_ACK, 7, 0, 100, NULL, 0, true, PAD_MIN);
	f.buf[LINK_OFF_RESERVED + 1] = 1;
	put_frame("bad-reserved", &f);
	seal(&f, RPCI_LINK_CTRL, 0, 0, 0, ctrl, (uint16_t)strlen(ctrl), true, 0);
	f.len -= 3;
	put_frame("bad-truncated-payload", &f);
	f.len = 20;
	put_frame("bad-truncated-header", &f);
	seal(&f, RPCI_LINK_CTRL, 0, 0, 0, ctrl, (uint16_t)strlen(ctrl), true, PAD_MIN);
	f.buf[RPCI_LINK_HDR_LEN + 2] ^= 0x20; /* payload changed under the CRC */
	put_frame("bad-payload-crc", &f);
}

/* Deployment files. */

/* Text of a file, NUL-terminated; dies if it cannot be read. */
static char *
read_text(const char *path)
{
	char *text;
	long n;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n >= OUT_MAX ||
	    fseek(f, 0, SEEK_SET) != 0) {
		die(path);
	}
	text = calloc(1, (size_t)n + 1);
	if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n) {
		die(path);
	}
	fclose(f);
	return text;
}

static void
put_conf(const char *name, const char *text)
{
	write_file("conf", name, text, strlen(text));
}

/* pair.cfg with the first occurrence of from replaced by to. */
static void
put_variant(const char *pair, const char *name, const char *from, const char *to)
{
	char out[OUT_MAX];
	const char *at = strstr(pair, from);
	size_t head, from_len = strlen(from), to_len = strlen(to);

	if (at == NULL) {
		fprintf(stderr, "make-corpus: %s: config/pair.cfg has no '%s'\n", name, from);
		exit(1);
	}
	head = (size_t)(at - pair);
	if (strlen(pair) - from_len + to_len >= sizeof(out)) {
		die(name);
	}
	memcpy(out, pair, head);
	memcpy(out + head, to, to_len);
	memcpy(out + head + to_len, at + from_len, strlen(at + from_len) + 1);
	put_conf(name, out);
}

/* One change each; most are refused, each with a different message. */
static const struct {
	const char *name;
	const char *from;
	const char *to;
} g_variants[] = {
	{ "link-mtu-low", "mtu = 1500;", "mtu = 100;" },
	{ "link-mtu-string", "mtu = 1500;", "mtu = \"1500\";" },
	{ "link-max-payload-1408", "max_payload = 0;", "max_payload = 1408;" },
	{ "link-max-payload-odd", "max_payload = 0;", "max_payload = 100;" },
	{ "link-dead-before-keepalive", "dead_ms = 3000;", "dead_ms = 50;" },
	{ "link-unknown-setting", "burst = 32;", "burst = 32;\n    bursts = 1;" },
	{ "link-ethertype-low", "ethertype = 0x88B5;", "ethertype = 0x0100;" },
	{ "link-crc-not-bool", "mtu = 1500;", "crc_payload = 1;\n    mtu = 1500;" },
	{ "link-crc-on", "mtu = 1500;", "crc_payload = true;\n    mtu = 1500;" },
	{ "link-frame-max", "mtu = 1500;", "frame_max = 9014;\n    mtu = 1500;" },
	{ "link-frame-max-small", "mtu = 1500;", "frame_max = 100;\n    mtu = 1500;" },
	{ "link-frame-max-large", "mtu = 1500;", "frame_max = 65025;\n    mtu = 1500;" },
	{ "host-frame-max", "port = 0;",
	  "port = 0;\n        frame_max = 4200; crc_payload = true;" },
	{ "link-mbufs-int64", "mbufs = 8191;", "mbufs = 8191L;" },
	{ "link-not-group", "link = {", "link = 1;\nlink_old = {" },
	{ "syntax-error", "link = {", "link = {{" },
	{ "syntax-duplicate", "mtu = 1500;", "mtu = 1500;\n    mtu = 9000;" },
	{ "syntax-mixed-array", "roles = [ \"server\" ];", "roles = [ \"server\", 1 ];" },
	{ "host-port-range", "port = 0;", "port = 2000;" },
	{ "host-idle-poll", "idle = \"adaptive\";", "idle = \"poll\";" },
	{ "host-idle-bad", "idle = \"adaptive\";", "idle = \"spin\";" },
	{ "host-unknown-setting", "port = 0;", "port = 0;\n        colour = \"blue\";" },
	{ "host-name-too-long", "name = \"server0\";",
	  "name = \"server0-with-a-name-of-more-than-31\";" },
	{ "host-name-bad-char", "name = \"server0\";", "name = \"server 0\";" },
	{ "host-duplicate-name", "name = \"client0\";", "name = \"server0\";" },
	{ "mac-multicast", "02:72:70:63:69:01", "03:72:70:63:69:01" },
	{ "mac-short", "02:72:70:63:69:01", "02:72:70:63:69" },
	{ "mac-zero", "02:72:70:63:69:01", "00:00:00:00:00:00" },
	{ "mac-duplicate", "02:72:70:63:69:02", "02:72:70:63:69:01" },
	{ "mac-upper-case", "02:72:70:63:69:01", "02:72:70:63:69:AB" },
	{ "roles-unknown", "roles = [ \"client\" ];", "roles = [ \"driver\" ];" },
	{ "roles-duplicate", "roles = [ \"server\" ];", "roles = [ \"server\", \"server\" ];" },
	{ "roles-empty", "roles = [ \"client\" ];", "roles = [ ];" },
	{ "roles-selector", "roles = [ \"client\" ];", "roles = [ \"client\", \"selector\" ];" },
	{ "eal-lcores-bad", "lcores = \"0\";", "lcores = \"0;1\";" },
	{ "eal-lcores-map", "lcores = \"0\";", "lcores = \"0-3,(4-5)@1\";" },
	{ "eal-missing-lcores", "lcores = \"0\";", "" },
	{ "eal-file-prefix-bad", "file_prefix = \"rpci-server0\";", "file_prefix = \"a/b\";" },
	{ "eal-no-huge-int", "no_huge = true;", "no_huge = 1;" },
	{ "eal-memory-absent", "memory_mb = 256;\n            no_huge", "no_huge" },
	{ "eal-log-level", "log_level = \"\";", "log_level = \"rpci.*:debug\";" },
	{ "eal-extra", "extra = [ ];", "extra = [ \"--in-memory\", \"--huge-unlink\" ];" },
	{ "eal-vdevs-empty-entry", "vdevs = [ \"net_memif0,role=server",
	  "vdevs = [ \"\", \"net_memif0,role=server" },
	{ "eal-vdevs-too-many", "vdevs = [ \"net_memif0,role=server",
	  "vdevs = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\",\n"
	  "        \"net_memif0,role=server" },
	{ "device-vendor-reserved", "vendor_id = 0x7270;", "vendor_id = 0xFFFF;" },
	{ "device-class-code-big", "class_code = 0x030200;", "class_code = 0x1000000;" },
	{ "device-slowdown-int", "slowdown = 1.0;", "slowdown = 4;" },
	{ "device-slowdown-range", "slowdown = 1.0;", "slowdown = 0.5;" },
	{ "device-slowdown-string", "slowdown = 1.0;", "slowdown = \"fast\";" },
	{ "device-threads-range", "threads = 1;", "threads = 65;" },
	{ "device-backend-bad", "backend = \"cpu\";", "backend = \"CPU!\";" },
	{ "device-memory-missing", "backend = \"cpu\";\n                memory_mb = 256;",
	  "backend = \"cpu\";" },
	{ "device-not-group", "devices = (\n            {", "devices = ( 1, {" },
	{ "client-device-unknown", "device = \"vgpu0\";", "device = \"vgpu9\";" },
	{ "client-server-not-server", "server = \"server0\";", "server = \"client0\";" },
	{ "client-server-unknown", "server = \"server0\";", "server = \"nobody\";" },
	{ "client-without-device", "device = \"vgpu0\";", "" },
	{ "client-with-devices", "device = \"vgpu0\";",
	  "device = \"vgpu0\";\n        devices = ( );" },
};

static const char g_minimal[] =
	"hosts = ( { name = \"s\"; roles = [ \"server\" ]; mac = \"02:00:00:00:00:01\";\n"
	"  eal = { lcores = \"0\"; };\n"
	"  devices = ( { name = \"d\"; backend = \"cpu\"; memory_mb = 1; vendor_id = 0;\n"
	"    device_id = 0; class_code = 0; } ); } );\n";

static const char g_three[] =
	"link = { mtu = 9000; max_payload = 4096; replay_frames = 32768; burst = 512;\n"
	"  keepalive_ms = 1; dead_ms = 2; sleep_max_us = 0; spin_polls = 0;\n"
	"  copy_threshold = 0; };\n"
	"hosts = (\n"
	"  { name = \"gpu-a\"; roles = [ \"server\", \"selector\" ]; mac = \"02:00:00:00:00:0a\";\n"
	"    port = 1; idle = \"poll\";\n"
	"    eal = { lcores = \"2-3\"; memory_mb = 1024; no_pci = false;\n"
	"      vdevs = [ \"net_af_packet0,iface=eth1\" ]; extra = [ \"--in-memory\" ]; };\n"
	"    devices = (\n"
	"      { name = \"g0\"; backend = \"cpu\"; memory_mb = 65536; vendor_id = 0x10de;\n"
	"        device_id = 0x20b0; class_code = 0x030200; threads = 64; slowdown = 1000.0; },\n"
	"      { name = \"g1\"; backend = \"opencl\"; memory_mb = 512; vendor_id = 0x1002;\n"
	"        device_id = 0x73bf; subsystem_vendor_id = 0x1002; subsystem_id = 0x0e3a;\n"
	"        class_code = 0x030000; revision = 255; },\n"
	"      { name = \"g2\"; backend = \"cuda\"; memory_mb = 2048; vendor_id = 0x10de;\n"
	"        device_id = 0x2330; class_code = 0x030200; } ); },\n"
	"  { name = \"c1\"; roles = [ \"client\" ]; mac = \"02:00:00:00:00:0b\";\n"
	"    eal = { lcores = \"0\"; no_huge = true; file_prefix = \"c1\"; };\n"
	"    server = \"gpu-a\"; device = \"g2\"; },\n"
	"  { name = \"c2\"; roles = [ \"client\" ]; mac = \"02:00:00:00:00:0c\";\n"
	"    eal = { lcores = \"1\"; log_level = \"lib.eal:debug\"; };\n"
	"    server = \"gpu-a\"; }\n"
	");\n";

static void
make_conf(const char *src)
{
	char path[1024], many[OUT_MAX];
	size_t len;
	unsigned int i;
	char *pair;

	if (snprintf(path, sizeof(path), "%s/config/pair.cfg", src) >= (int)sizeof(path)) {
		die("path too long");
	}
	pair = read_text(path);
	put_conf("pair", pair);
	for (i = 0; i < sizeof(g_variants) / sizeof(g_variants[0]); i++) {
		put_variant(pair, g_variants[i].name, g_variants[i].from, g_variants[i].to);
	}
	free(pair);

	put_conf("minimal-server", g_minimal);
	put_conf("three-hosts", g_three);
	put_conf("empty", "");
	put_conf("comments-only", "// nothing\n# nothing either\n/* or here */\n");
	put_conf("hosts-empty", "hosts = ( );\n");
	put_conf("hosts-not-list", "hosts = [ 1, 2 ];\n");
	put_conf("hosts-entry-not-group", "hosts = ( 1 );\n");
	put_conf("root-unknown", "link = { };\nhost = ( );\n");
	put_conf("link-only", "link = { mtu = 1500; };\n");
	put_conf("string-at-top", "\n\"\"");

	/* A server with 17 devices: one too many. */
	len = (size_t)snprintf(many, sizeof(many),
			       "hosts = ( { name = \"s\"; roles = [ \"server\" ];"
			       " mac = \"02:00:00:00:00:01\"; eal = { lcores = \"0\"; };\n"
			       "devices = (\n");
	for (i = 0; i < 17; i++) {
		len += (size_t)snprintf(many + len, sizeof(many) - len,
					"%s{ name = \"d%u\"; backend = \"cpu\"; memory_mb = 1;"
					" vendor_id = 1; device_id = %u; class_code = 0; }\n",
					i == 0 ? "" : ",", i, i);
	}
	snprintf(many + len, sizeof(many) - len, "); } );\n");
	put_conf("devices-too-many", many);
}

/* Request rings (fuzz_ipc.c): 16 bytes of indices and size, then slots. */

#define IPC_SHM (1ull << 30)
#define IPC_SLOTS_MAX ((OUT_MAX - 16) / RPCI_IPC_REQ_SLOT_SIZE)

struct ipc_ring {
	uint32_t cons;
	uint32_t nb;  /* slots written */
	struct rpci_ipc_req slots[IPC_SLOTS_MAX];
};

static struct rpci_ipc_req
ipc_req(uint8_t op, uint8_t dev)
{
	struct rpci_ipc_req r;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.dev = dev;
	r.nslots = 1;
	r.cookie = ((uint64_t)op << 32) | dev;
	switch (op) {
	case RPCI_IPC_OP_MWR:
	case RPCI_IPC_OP_MRD:
		r.len = 1u << 20;
		r.addr = 0x1000000000ull;
		r.buf = RPCI_IPC_HEAP_OFF + 0x10000;
		break;
	case RPCI_IPC_OP_CFGRD:
		r.addr = 0x10 / 4;
		r.arg = 0xfull << 32;
		break;
	case RPCI_IPC_OP_CFGWR:
		r.addr = 0x04 / 4;
		r.arg = (0x3ull << 32) | 0x6;
		break;
	case RPCI_IPC_OP_FENCE:
		break;
	default:
		/* as librpci's cl_ctrl(): parameters, then the reply, in its scratch area */
		r.buf = RPCI_IPC_HEAP_OFF;
		r.arg = RPCI_IPC_HEAP_OFF + 4096;
		r.arg2 = 4096;
		break;
	}
	switch (op) {
	case RPCI_IPC_OP_OPEN:
		r.len = sizeof(struct rpci_ipc_open_params);
		break;
	case RPCI_IPC_OP_REQUEST:
		r.len = sizeof(struct rpci_ipc_request_params);
		break;
	case RPCI_IPC_OP_REPORT:
		r.len = sizeof(struct rpci_ipc_report_params);
		break;
	case RPCI_IPC_OP_MSG_SEND:
		r.len = sizeof(struct rpci_ipc_message);
		break;
	default:
		break;
	}
	return r;
}

static void
ipc_add(struct ipc_ring *g, const struct rpci_ipc_req *r)
{
	if (g->nb >= IPC_SLOTS_MAX) {
		die("ipc ring full");
	}
	g->slots[g->nb++] = *r;
}

/* An inline write of len bytes (a counting pattern) after r. */
static void
ipc_add_inline(struct ipc_ring *g, uint8_t dev, uint32_t len)
{
	struct rpci_ipc_req r = ipc_req(RPCI_IPC_OP_MWR, dev);
	uint8_t data[RPCI_IPC_INLINE_MAX];
	uint32_t i;

	if (len > sizeof(data)) {
		die("inline too long");
	}
	for (i = 0; i < len; i++) {
		data[i] = (uint8_t)(i * 11 + 3);
	}
	r.flags = RPCI_IPC_REQ_F_INLINE;
	r.len = len;
	r.buf = 0;
	r.nslots = (uint8_t)(1 + (len + RPCI_IPC_REQ_SLOT_SIZE - 1) / RPCI_IPC_REQ_SLOT_SIZE);
	ipc_add(g, &r);
	for (i = 0; i < len; i += RPCI_IPC_REQ_SLOT_SIZE) {
		struct rpci_ipc_req d;

		memset(&d, 0, sizeof(d));
		memcpy(&d, data + i, len - i < sizeof(d) ? len - i : sizeof(d));
		ipc_add(g, &d);
	}
}

/* Write the ring with the producer prod_delta slots past the consumer. */
static void
ipc_put(const char *name, const struct ipc_ring *g, uint32_t prod_delta, uint64_t shm_size)
{
	uint8_t buf[OUT_MAX];
	uint32_t prod = g->cons + prod_delta;
	size_t len = 16 + (size_t)g->nb * sizeof(g->slots[0]);

	memcpy(buf, &g->cons, 4);
	memcpy(buf + 4, &prod, 4);
	memcpy(buf + 8, &shm_size, 8);
	memcpy(buf + 16, g->slots, (size_t)g->nb * sizeof(g->slots[0]));
	write_file("ipc", name, buf, len);
}

/* One request alone, published. */
static void
ipc_put1(const char *name, const struct rpci_ipc_req *r)
{
	struct ipc_ring g = { .cons = 0 };

	ipc_add(&g, r);
	ipc_put(name, &g, g.nb, IPC_SHM);
}

static void
make_ipc(void)
{
	static const char *const ops[RPCI_IPC_OP_MAX] = {
		[RPCI_IPC_OP_MWR] = "mwr", [RPCI_IPC_OP_MRD] = "mrd",
		[RPCI_IPC_OP_CFGRD] = "cfgrd", [RPCI_IPC_OP_CFGWR] = "cfgwr",
		[RPCI_IPC_OP_FENCE] = "fence", [RPCI_IPC_OP_OPEN] = "open",
		[RPCI_IPC_OP_REQUEST] = "request", [RPCI_IPC_OP_CLOSE] = "close",
		[RPCI_IPC_OP_RECONNECT] = "reconnect", [RPCI_IPC_OP_REPORT] = "report",
		[RPCI_IPC_OP_MSG_SEND] = "msg-send", [RPCI_IPC_OP_MSG_RECV] = "msg-recv",
		[RPCI_IPC_OP_STATS] = "stats", [RPCI_IPC_OP_DEVICES] = "devices",
	};
	static const uint32_t inline_lens[] = { 1, 4, 63, 64, 65, 200, RPCI_IPC_INLINE_MAX };
	struct rpci_ipc_hello hello;
	struct rpci_ipc_hello_ack ack;
	struct rpci_ipc_request_params rp;
	struct ipc_ring g;
	struct rpci_ipc_req r;
	char name[64];
	uint8_t op;
	unsigned int i;

	for (op = 1; op < RPCI_IPC_OP_MAX; op++) {
		r = ipc_req(op, op % RPCI_IPC_DEVICES_MAX);
		snprintf(name, sizeof(name), "good-%s", ops[op]);
		ipc_put1(name, &r);
	}
	r = ipc_req(RPCI_IPC_OP_MWR, 0);
	r.flags = RPCI_IPC_REQ_F_COPY;
	ipc_put1("good-mwr-copy", &r);
	for (i = 0; i < sizeof(inline_lens) / sizeof(inline_lens[0]); i++) {
		g = (struct ipc_ring){ .cons = 0 };
		ipc_add_inline(&g, 1, inline_lens[i]);
		snprintf(name, sizeof(name), "good-inline-%u", inline_lens[i]);
		ipc_put(name, &g, g.nb, IPC_SHM);
	}
	/* inline data across the ring's end, and the indices across 2^32 */
	g = (struct ipc_ring){ .cons = RPCI_IPC_REQ_SLOTS - 3 };
	ipc_add_inline(&g, 2, 500);
	ipc_put("good-inline-ring-end", &g, g.nb, IPC_SHM);
	g.cons = UINT32_MAX - 1;
	ipc_put("good-inline-index-wrap", &g, g.nb, IPC_SHM);
	/* a walk as librpci posts a bring-up: configuration, writes, a read, a fence */
	g = (struct ipc_ring){ .cons = 7 };
	r = ipc_req(RPCI_IPC_OP_CFGRD, 0);
	ipc_add(&g, &r);
	r = ipc_req(RPCI_IPC_OP_CFGWR, 0);
	ipc_add(&g, &r);
	ipc_add_inline(&g, 0, 16);
	ipc_add_inline(&g, 0, 4);
	r = ipc_req(RPCI_IPC_OP_MRD, 0);
	r.len = 0x100;
	ipc_add(&g, &r);
	r = ipc_req(RPCI_IPC_OP_FENCE, 0);
	ipc_add(&g, &r);
	r = ipc_req(RPCI_IPC_OP_STATS, 0);
	ipc_add(&g, &r);
	ipc_put("walk-bringup", &g, g.nb, IPC_SHM);
	/* the same, its last request not yet published, then the producer out of range */
	ipc_put("walk-unpublished", &g, g.nb - 1, IPC_SHM);
	ipc_put("walk-prod-out-of-range", &g, RPCI_IPC_REQ_SLOTS + 1, IPC_SHM);
	ipc_put("walk-prod-behind", &g, UINT32_MAX, IPC_SHM);
	/* an inline write whose data slots are not all published */
	g = (struct ipc_ring){ .cons = 0 };
	ipc_add_inline(&g, 0, RPCI_IPC_INLINE_MAX);
	ipc_put("inline-half-published", &g, 9, IPC_SHM);
	/* one thing wrong each */
	r = ipc_req(RPCI_IPC_OP_FENCE, 0);
	r.nslots = 0;
	ipc_put1("bad-nslots-0", &r);
	r.nslots = 18;
	ipc_put1("bad-nslots-18", &r);
	r = ipc_req(RPCI_IPC_OP_FENCE, 0);
	r.op = RPCI_IPC_OP_MAX;
	ipc_put1("bad-op", &r);
	r = ipc_req(RPCI_IPC_OP_FENCE, RPCI_IPC_DEVICES_MAX);
	ipc_put1("bad-dev", &r);
	r = ipc_req(RPCI_IPC_OP_MRD, 0);
	r.flags = RPCI_IPC_REQ_F_COPY;
	ipc_put1("bad-mrd-flags", &r);
	r = ipc_req(RPCI_IPC_OP_MRD, 0);
	r.len = RPCI_IPC_XFER_MAX + 1;
	ipc_put1("bad-mrd-len", &r);
	r = ipc_req(RPCI_IPC_OP_MRD, 0);
	r.buf = IPC_SHM - 4;
	ipc_put1("bad-mrd-buf", &r);
	r = ipc_req(RPCI_IPC_OP_MWR, 0);
	r.addr = UINT64_MAX - 8;
	ipc_put1("bad-mwr-addr-wrap", &r);
	r = ipc_req(RPCI_IPC_OP_MWR, 0);
	r.buf = UINT64_MAX - 8;
	ipc_put1("bad-mwr-buf-wrap", &r);
	g = (struct ipc_ring){ .cons = 0 };
	ipc_add_inline(&g, 0, 64);
	g.slots[0].nslots = 3;
	ipc_put("bad-inline-overfills", &g, 3, IPC_SHM);
	g.slots[0].len = 65;
	g.slots[0].nslots = 2;
	ipc_put("bad-inline-does-not-fit", &g, 2, IPC_SHM);
	r = ipc_req(RPCI_IPC_OP_CFGWR, 0);
	r.arg = 0x1full << 32;
	ipc_put1("bad-cfg-be", &r);
	r = ipc_req(RPCI_IPC_OP_CFGRD, 0);
	r.addr = 1024;
	ipc_put1("bad-cfg-reg", &r);
	r = ipc_req(RPCI_IPC_OP_OPEN, 0);
	r.len -= 1;
	ipc_put1("bad-open-params-len", &r);
	r = ipc_req(RPCI_IPC_OP_REQUEST, 0);
	r.arg2 = sizeof(struct rpci_ipc_request_reply) - 1;
	ipc_put1("bad-request-reply-small", &r);
	r = ipc_req(RPCI_IPC_OP_STATS, 0);
	r.arg = IPC_SHM - 8;
	ipc_put1("bad-stats-reply-outside", &r);
	/* a small shared memory: the good MRD now points outside it */
	r = ipc_req(RPCI_IPC_OP_MRD, 0);
	g = (struct ipc_ring){ .cons = 0 };
	ipc_add(&g, &r);
	ipc_put("bad-mrd-small-shm", &g, 1, RPCI_IPC_HEAP_OFF);

	/* the socket's messages and REQUEST's parameters, as librpci sends them */
	memset(&hello, 0, sizeof(hello));
	hello.magic = RPCI_IPC_MAGIC;
	hello.version = RPCI_IPC_VERSION;
	hello.type = RPCI_IPC_HELLO;
	hello.shm_size = IPC_SHM;
	snprintf(hello.name, sizeof(hello.name), "rpci-run");
	write_file("ipc", "msg-hello", &hello, sizeof(hello));
	memset(&ack, 0, sizeof(ack));
	ack.magic = RPCI_IPC_MAGIC;
	ack.version = RPCI_IPC_VERSION;
	ack.type = RPCI_IPC_HELLO_ACK;
	ack.app_id = 1;
	ack.requester_id = 0x0200;
	ack.iova_base = 1ull << 40;
	ack.max_payload = 1024;
	ack.dead_ms = 3000;
	ack.request_timeout_ms = 10000;
	ack.heartbeat_us = 1000;
	snprintf(ack.host, sizeof(ack.host), "client0");
	write_file("ipc", "msg-hello-ack", &ack, sizeof(ack));
	ack.status = -EUSERS;
	snprintf(ack.reason, sizeof(ack.reason), "the proxy serves as many programs as it may");
	write_file("ipc", "msg-hello-ack-refused", &ack, sizeof(ack));
	memset(&rp, 0, sizeof(rp));
	rp.count = 3;
	rp.slots[0] = 0;
	rp.slots[1] = 5;
	rp.slots[2] = RPCI_IPC_DEVICES_MAX - 1;
	rp.req.min_memory = 256ull << 20;
	snprintf(rp.req.backend, sizeof(rp.req.backend), "cpu");
	snprintf(rp.req.kernel, sizeof(rp.req.kernel), "sgemm");
	snprintf(rp.req.job, sizeof(rp.req.job), "sgemm");
	write_file("ipc", "params-request", &rp, sizeof(rp));
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SOURCE_DIR OUT_DIR\n", argv[0]);
		return 2;
	}
	g_out = argv[2];
	make_tlp();
	make_link();
	make_conf(argv[1]);
	make_ipc();
	printf("make-corpus: %u files written under %s\n", g_files, g_out);
	return 0;
}
