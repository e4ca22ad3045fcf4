/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/ctrl, through its public header only: round trips of
 * every message type with its fields at their minimums, maximums and
 * typical values; every class of malformed message, refused with the right
 * error and never a crash; the encoder refusing what the decoder refuses,
 * and too-small buffers; the MAC helpers.
 *
 * Every decode reads from a heap copy of exactly the message's length, so
 * that AddressSanitizer sees any read past it. Messages are edited with
 * cJSON (a field deleted, replaced, repeated, one added) to reach every
 * field of every type; replaced values are inserted as raw text, so that
 * they reach the decoder exactly as written here.
 */

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <cjson/cJSON.h>

#include "rpci_ctrl.h"

#define BUF_LEN (RPCI_CTRL_MAX + 64)
#define DIM(a) (sizeof(a) / sizeof((a)[0]))
#define NB_TYPES 11
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

/* Values of the builders. */
enum level {
	LVL_MIN = 0,
	LVL_MAX = 1,
	LVL_TYP = 2,
	NB_LEVELS = 3,
};

static const uint8_t g_mac_min[6] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t g_mac_max[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t g_mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t g_mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

/* Deterministic generator for the tests (xorshift64). */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

/* Decode text[0..len) from a heap copy of exactly len bytes. */
static int
decode_n(const char *text, size_t len, struct rpci_ctrl_msg *m, const char **why)
{
	char *copy = malloc(len != 0 ? len : 1);
	int rc;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, text, len);
	rc = rpci_ctrl_decode(copy, len, m, why);
	free(copy);
	return rc;
}

/* Decode text (a C string); the error and a piece of why must be as expected. */
static void
expect_n(const char *text, size_t len, int rc_want, const char *why_part)
{
	struct rpci_ctrl_msg m;
	const char *why = "unset";
	int rc;

	rc = decode_n(text, len, &m, &why);
	CU_ASSERT(rc == rc_want);
	if (rc_want == 0) {
		CU_ASSERT(why == NULL);
	} else {
		CU_ASSERT(why != NULL);
		if (why_part != NULL && why != NULL) {
			CU_ASSERT(strstr(why, why_part) != NULL);
		}
	}
	if (rc != rc_want || (why_part != NULL && (why == NULL || strstr(why, why_part) == NULL))) {
		printf("\n  decode %.*s: rc %d (want %d), why '%s' (want '%s')\n", (int)len, text,
		       rc, rc_want, why != NULL ? why : "(null)",
		       why_part != NULL ? why_part : "(any)");
	}
}

static void
expect(const char *text, int rc_want, const char *why_part)
{
	expect_n(text, strlen(text), rc_want, why_part);
}

/* A name of n characters: c repeated, the last ones numbering it (distinct names). */
static void
fill_name(char *dst, size_t n, char c, unsigned int num)
{
	memset(dst, c, n);
	dst[n] = '\0';
	if (n >= 2) {
		dst[n - 2] = NAME_CHARS[(num / 64) % 64];
		dst[n - 1] = NAME_CHARS[num % 64];
	}
}

static void
build_register(struct rpci_ctrl_msg *m, enum level l)
{
	struct rpci_sel_device_info *d = &m->u.reg;
	static const char *const typ_kernels[] = { "vector-add", "saxpy", "sgemm", "reduce-sum",
						   "empty" };
	unsigned int i;

	switch (l) {
	case LVL_MIN:
		snprintf(d->server, sizeof(d->server), "s");
		memcpy(d->server_mac, g_mac_min, 6);
		snprintf(d->device, sizeof(d->device), "d");
		snprintf(d->backend, sizeof(d->backend), "c");
		break;
	case LVL_MAX:
		fill_name(d->server, RPCI_SEL_NAME_MAX - 1, 's', 1);
		memcpy(d->server_mac, g_mac_max, 6);
		fill_name(d->device, RPCI_SEL_NAME_MAX - 1, 'd', 2);
		d->function = UINT16_MAX;
		d->vendor_id = UINT16_MAX;
		d->device_id = UINT16_MAX;
		d->class_code = 0xffffff;
		d->memory_bytes = UINT64_MAX;
		fill_name(d->backend, RPCI_SEL_NAME_MAX - 1, 'b', 3);
		fill_name(d->device_name, RPCI_SEL_DEVICE_NAME_MAX - 1, 'n', 4);
		d->module_kinds = 7;
		d->compute_units = UINT32_MAX;
		d->nb_kernels = RPCI_SEL_KERNELS_MAX;
		for (i = 0; i < RPCI_SEL_KERNELS_MAX; i++) {
			fill_name(d->kernels[i], RPCI_SEL_NAME_MAX - 1, 'k', i);
		}
		break;
	default:
		snprintf(d->server, sizeof(d->server), "server0");
		memcpy(d->server_mac, g_mac_a, 6);
		snprintf(d->device, sizeof(d->device), "vgpu0");
		d->function = 1;
		d->vendor_id = 0x10de;
		d->device_id = 0x1eb8;
		d->class_code = 0x030200;
		d->memory_bytes = UINT64_C(1) << 30;
		snprintf(d->backend, sizeof(d->backend), "cpu");
		snprintf(d->device_name, sizeof(d->device_name), "pthread AMD EPYC (2 threads)");
		d->module_kinds = 1;
		d->compute_units = 4;
		d->nb_kernels = DIM(typ_kernels);
		for (i = 0; i < DIM(typ_kernels); i++) {
			snprintf(d->kernels[i], sizeof(d->kernels[i]), "%s", typ_kernels[i]);
		}
		break;
	}
}

static void
build_status(struct rpci_ctrl_msg *m, enum level l)
{
	switch (l) {
	case LVL_MIN:
		snprintf(m->u.status.server, RPCI_SEL_NAME_MAX, "s");
		snprintf(m->u.status.device, RPCI_SEL_NAME_MAX, "d");
		break;
	case LVL_MAX:
		fill_name(m->u.status.server, RPCI_SEL_NAME_MAX - 1, 'S', 0);
		fill_name(m->u.status.device, RPCI_SEL_NAME_MAX - 1, 'D', 0);
		m->u.status.st.memory_free = UINT64_MAX;
		m->u.status.st.load = DBL_MAX;
		m->u.status.st.in_use = true;
		memcpy(m->u.status.st.client_mac, g_mac_max, 6);
		break;
	default:
		snprintf(m->u.status.server, RPCI_SEL_NAME_MAX, "server0");
		snprintf(m->u.status.device, RPCI_SEL_NAME_MAX, "vgpu0");
		m->u.status.st.memory_free = UINT64_C(1) << 29;
		m->u.status.st.load = 0.37;
		m->u.status.st.in_use = true;
		memcpy(m->u.status.st.client_mac, g_mac_b, 6);
		break;
	}
}

static void
build_request(struct rpci_ctrl_msg *m, enum level l)
{
	struct rpci_sel_requirements *r = &m->u.request.req;

	switch (l) {
	case LVL_MIN:
		m->u.request.count = 1;
		r->failover = true; /* the default */
		break;
	case LVL_MAX:
		m->u.request.count = 16;
		r->vendor_id = UINT16_MAX;
		r->class_code = 0xffffff;
		r->class_mask = 0xffffff;
		r->min_memory = UINT64_MAX;
		fill_name(r->backend, RPCI_SEL_NAME_MAX - 1, 'b', 0);
		r->module_kinds = 7;
		fill_name(r->kernel, RPCI_SEL_NAME_MAX - 1, 'k', 0);
		fill_name(r->job, RPCI_SEL_NAME_MAX - 1, 'j', 0);
		r->job_size = UINT64_MAX;
		r->failover = false;
		fill_name(r->exclude_server, RPCI_SEL_NAME_MAX - 1, 'x', 0);
		break;
	default:
		/* Every requirement set, below 2^53 (the generic edits rely on it). */
		m->u.request.count = 2;
		r->vendor_id = 0x10de;
		r->class_code = 0x030000;
		r->class_mask = 0xff0000;
		r->min_memory = UINT64_C(1) << 30;
		snprintf(r->backend, sizeof(r->backend), "cuda");
		r->module_kinds = 4;
		snprintf(r->kernel, sizeof(r->kernel), "saxpy");
		snprintf(r->job, sizeof(r->job), "saxpy");
		r->job_size = UINT64_C(1) << 24;
		r->failover = false;
		snprintf(r->exclude_server, sizeof(r->exclude_server), "s1");
		break;
	}
}

static void
build_attach(struct rpci_ctrl_msg *m, enum level l)
{
	struct rpci_sel_attachment *a = &m->u.attach.att;

	switch (l) {
	case LVL_MIN:
		memcpy(a->client_mac, g_mac_min, 6);
		snprintf(a->server, sizeof(a->server), "s");
		memcpy(a->server_mac, g_mac_min, 6);
		snprintf(a->device, sizeof(a->device), "d");
		break;
	case LVL_MAX:
		m->u.attach.request_id = UINT64_MAX;
		a->lease_id = UINT64_MAX;
		memcpy(a->client_mac, g_mac_max, 6);
		fill_name(a->server, RPCI_SEL_NAME_MAX - 1, '-', 0);
		memcpy(a->server_mac, g_mac_max, 6);
		fill_name(a->device, RPCI_SEL_NAME_MAX - 1, '.', 0);
		a->function = UINT16_MAX;
		a->expires_us = UINT64_MAX;
		m->u.attach.failover = true;
		break;
	default:
		m->u.attach.request_id = 7;
		a->lease_id = 1001;
		memcpy(a->client_mac, g_mac_b, 6);
		snprintf(a->server, sizeof(a->server), "server0");
		memcpy(a->server_mac, g_mac_a, 6);
		snprintf(a->device, sizeof(a->device), "vgpu0");
		a->function = 0;
		a->expires_us = 5000000;
		break;
	}
}

static void
build_reject(struct rpci_ctrl_msg *m, enum level l)
{
	switch (l) {
	case LVL_MIN:
		m->u.reject.error = -1;
		break;
	case LVL_MAX:
		m->u.reject.request_id = UINT64_MAX;
		m->u.reject.error = -4095;
		memset(m->u.reject.reason, 'r', RPCI_SEL_REASON_MAX - 1);
		break;
	default:
		m->u.reject.request_id = 7;
		m->u.reject.error = -EBUSY;
		snprintf(m->u.reject.reason, RPCI_SEL_REASON_MAX,
			 "all 3 matching devices are busy");
		break;
	}
}

static void
build_detach(struct rpci_ctrl_msg *m, enum level l)
{
	switch (l) {
	case LVL_MIN:
		break;
	case LVL_MAX:
		m->u.detach.lease_id = UINT64_MAX;
		m->u.detach.error = -4095;
		memset(m->u.detach.reason, 'r', RPCI_SEL_REASON_MAX - 1);
		m->u.detach.failover = true;
		break;
	default:
		m->u.detach.lease_id = 1001;
		m->u.detach.error = -EHOSTDOWN;
		snprintf(m->u.detach.reason, RPCI_SEL_REASON_MAX,
			 "server0 \"missed\" 3 heartbeats");
		m->u.detach.failover = true;
		break;
	}
}

static void
build_report(struct rpci_ctrl_msg *m, enum level l)
{
	switch (l) {
	case LVL_MIN:
		snprintf(m->u.report.job, RPCI_SEL_NAME_MAX, "j");
		break;
	case LVL_MAX:
		m->u.report.lease_id = UINT64_MAX;
		fill_name(m->u.report.job, RPCI_SEL_NAME_MAX - 1, 'j', 0);
		m->u.report.job_size = UINT64_MAX;
		m->u.report.elapsed_us = UINT64_MAX;
		break;
	default:
		m->u.report.lease_id = 1001;
		snprintf(m->u.report.job, RPCI_SEL_NAME_MAX, "sgemm");
		m->u.report.job_size = 60000000;
		m->u.report.elapsed_us = 12345;
		break;
	}
}

static void
build_message(struct rpci_ctrl_msg *m, enum level l)
{
	switch (l) {
	case LVL_MIN:
		snprintf(m->u.message.from, RPCI_SEL_NAME_MAX, "a");
		snprintf(m->u.message.to, RPCI_SEL_NAME_MAX, "b");
		break;
	case LVL_MAX:
		fill_name(m->u.message.from, RPCI_SEL_NAME_MAX - 1, 'f', 0);
		fill_name(m->u.message.to, RPCI_SEL_NAME_MAX - 1, 't', 0);
		memset(m->u.message.text, 'x', RPCI_CTRL_TEXT_MAX - 1);
		break;
	default:
		snprintf(m->u.message.from, RPCI_SEL_NAME_MAX, "client0");
		snprintf(m->u.message.to, RPCI_SEL_NAME_MAX, "client1");
		snprintf(m->u.message.text, RPCI_CTRL_TEXT_MAX, "done with vgpu0, it is yours");
		break;
	}
}

/* A message of type t with its fields at level l (every other byte zero). */
static void
build(struct rpci_ctrl_msg *m, enum rpci_ctrl_type t, enum level l)
{
	memset(m, 0, sizeof(*m));
	m->type = t;
	m->id = l == LVL_MIN ? 0 : l == LVL_MAX ? UINT64_MAX : 7;
	switch (t) {
	case RPCI_CTRL_REGISTER:
		build_register(m, l);
		break;
	case RPCI_CTRL_STATUS:
		build_status(m, l);
		break;
	case RPCI_CTRL_REQUEST:
		build_request(m, l);
		break;
	case RPCI_CTRL_ATTACH:
		build_attach(m, l);
		break;
	case RPCI_CTRL_REJECT:
		build_reject(m, l);
		break;
	case RPCI_CTRL_DETACH:
		build_detach(m, l);
		break;
	case RPCI_CTRL_RELEASE:
		m->u.release.lease_id = l == LVL_MIN ? 0 : l == LVL_MAX ? UINT64_MAX : 42;
		break;
	case RPCI_CTRL_RENEW:
		memcpy(m->u.renew.client_mac, l == LVL_MIN ? g_mac_min :
					      l == LVL_MAX ? g_mac_max : g_mac_b, 6);
		break;
	case RPCI_CTRL_REPORT:
		build_report(m, l);
		break;
	case RPCI_CTRL_MESSAGE:
		build_message(m, l);
		break;
	case RPCI_CTRL_ACK:
		m->u.ack.acked_id = l == LVL_MIN ? 0 : l == LVL_MAX ? UINT64_MAX : 6;
		m->u.ack.status = l == LVL_MIN ? INT32_MIN : l == LVL_MAX ? INT32_MAX : 0;
		break;
	}
}

/* Encode into buf (BUF_LEN); the length. */
static int
encode(const struct rpci_ctrl_msg *m, char *buf)
{
	return rpci_ctrl_encode(m, buf, BUF_LEN);
}

/* m encodes, decodes back to the same bytes, encodes again to the same text; sizes. */
static void
check_roundtrip(const struct rpci_ctrl_msg *m)
{
	char buf[BUF_LEN], again[BUF_LEN], exact[BUF_LEN];
	struct rpci_ctrl_msg back;
	const char *why = "unset";
	int n, rc;

	n = encode(m, buf);
	CU_ASSERT(n > 0 && n <= RPCI_CTRL_MAX);
	if (n <= 0) {
		printf("\n  encode of a %s: %d\n", rpci_ctrl_type_name(m->type), n);
		return;
	}
	CU_ASSERT(buf[n] == '\0' && strlen(buf) == (size_t)n);
	rc = decode_n(buf, (size_t)n, &back, &why);
	CU_ASSERT(rc == 0);
	CU_ASSERT(why == NULL);
	CU_ASSERT(memcmp(&back, m, sizeof(back)) == 0);
	if (rc != 0 || memcmp(&back, m, sizeof(back)) != 0) {
		printf("\n  round trip of %s: rc %d why %s\n", buf, rc, why != NULL ? why : "-");
	}
	CU_ASSERT(encode(&back, again) == n && memcmp(again, buf, (size_t)n) == 0);
	/* Exactly n bytes of room: written without the NUL. */
	memset(exact, 'X', sizeof(exact));
	CU_ASSERT(rpci_ctrl_encode(m, exact, (size_t)n) == n);
	CU_ASSERT(memcmp(exact, buf, (size_t)n) == 0 && exact[n] == 'X');
	memset(exact, 'X', sizeof(exact));
	CU_ASSERT(rpci_ctrl_encode(m, exact, (size_t)n - 1) == -EMSGSIZE);
	CU_ASSERT(rpci_ctrl_encode(m, exact, 1) == -EMSGSIZE);
	CU_ASSERT(rpci_ctrl_encode(m, exact, 0) == -EMSGSIZE);
	CU_ASSERT(rpci_ctrl_encode(m, NULL, 0) == -EMSGSIZE);
}

/* Edit the encoding of m with cJSON: path "key" or "obj.key"; value raw JSON or NULL (delete). */
enum edit_op {
	ED_REPLACE,
	ED_DELETE,
	ED_REPEAT, /* the member again, after the others */
	ED_ADD,    /* a new member path = value */
};

static char *
edit(const struct rpci_ctrl_msg *m, enum edit_op op, const char *path, const char *value)
{
	char buf[BUF_LEN], key[64];
	cJSON *root, *parent, *item, *copy;
	const char *dot = strchr(path, '.');
	char *out;

	CU_ASSERT_FATAL(encode(m, buf) > 0);
	root = cJSON_Parse(buf);
	CU_ASSERT_FATAL(root != NULL);
	parent = root;
	if (dot != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		parent = cJSON_GetObjectItemCaseSensitive(root, key);
		CU_ASSERT_FATAL(parent != NULL);
		path = dot + 1;
	}
	switch (op) {
	case ED_REPLACE:
		CU_ASSERT_FATAL(cJSON_GetObjectItemCaseSensitive(parent, path) != NULL);
		CU_ASSERT_FATAL(cJSON_ReplaceItemInObjectCaseSensitive(parent, path,
								       cJSON_CreateRaw(value)));
		break;
	case ED_DELETE:
		CU_ASSERT_FATAL(cJSON_GetObjectItemCaseSensitive(parent, path) != NULL);
		cJSON_DeleteItemFromObjectCaseSensitive(parent, path);
		break;
	case ED_REPEAT:
		item = cJSON_GetObjectItemCaseSensitive(parent, path);
		CU_ASSERT_FATAL(item != NULL);
		copy = cJSON_Duplicate(item, true);
		CU_ASSERT_FATAL(copy != NULL);
		cJSON_AddItemToObject(parent, path, copy);
		break;
	case ED_ADD:
		cJSON_AddItemToObject(parent, path, cJSON_CreateRaw(value));
		break;
	}
	out = cJSON_PrintUnformatted(root);
	CU_ASSERT_FATAL(out != NULL);
	cJSON_Delete(root);
	return out;
}

/* Decode the edit of the typical message of type t. */
static void
expect_edit(enum rpci_ctrl_type t, enum edit_op op, const char *path, const char *value,
	    int rc_want, const char *why_part)
{
	struct rpci_ctrl_msg m;
	char *text;

	build(&m, t, LVL_TYP);
	text = edit(&m, op, path, value);
	expect(text, rc_want, why_part);
	cJSON_free(text);
}

/* Decode the edit of the typical message; it must decode; the message. */
static struct rpci_ctrl_msg
accept_edit(enum rpci_ctrl_type t, const char *path, const char *value)
{
	struct rpci_ctrl_msg m, back;
	const char *why = "unset";
	char *text;
	int rc;

	build(&m, t, LVL_TYP);
	text = edit(&m, value != NULL ? ED_REPLACE : ED_DELETE, path, value);
	rc = decode_n(text, strlen(text), &back, &why);
	CU_ASSERT(rc == 0 && why == NULL);
	if (rc != 0) {
		printf("\n  %s: rc %d, why %s\n", text, rc, why);
	}
	cJSON_free(text);
	return back;
}

/* Tests. */

static void
test_type_names(void)
{
	static const char *const names[] = { NULL, "register", "status", "request", "attach",
					     "reject", "detach", "release", "renew", "report",
					     "message", "ack" };
	unsigned int t;

	for (t = 1; t < DIM(names); t++) {
		CU_ASSERT_STRING_EQUAL(rpci_ctrl_type_name((enum rpci_ctrl_type)t), names[t]);
	}
	CU_ASSERT(rpci_ctrl_type_name((enum rpci_ctrl_type)0) == NULL);
	CU_ASSERT(rpci_ctrl_type_name((enum rpci_ctrl_type)12) == NULL);
	CU_ASSERT(rpci_ctrl_type_name((enum rpci_ctrl_type)-1) == NULL);
	CU_ASSERT(rpci_ctrl_type_name((enum rpci_ctrl_type)1000) == NULL);
}

static void
test_mac_helpers(void)
{
	static const char *const bad[] = {
		"", "02:00:00:00:00", "02:00:00:00:00:0", "02:00:00:00:00:001", "02-00-00-00-00-01",
		"02:00:00:00:00:0g", "0x:00:00:00:00:01", " 2:00:00:00:00:01", "02:00:00:00:00:01 ",
		"02:00:00:00:00:01:", "2:0:0:0:0:1", "02:00:00:00:00;01", "020000000001",
		"02:00:00:00:00:-1",
	};
	uint8_t mac[6], want[6] = { 0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34 };
	uint8_t keep[6] = { 9, 9, 9, 9, 9, 9 };
	char s[18], big[32];
	unsigned int i, v;

	CU_ASSERT_STRING_EQUAL(rpci_ctrl_mac_str(want, s), "0a:bc:de:f0:12:34");
	CU_ASSERT(rpci_ctrl_mac_str(want, s) == s);
	CU_ASSERT_STRING_EQUAL(rpci_ctrl_mac_str(g_mac_max, s), "fe:ff:ff:ff:ff:ff");
	CU_ASSERT(rpci_ctrl_mac_parse("0a:bc:de:f0:12:34", mac) == 0);
	CU_ASSERT(memcmp(mac, want, 6) == 0);
	CU_ASSERT(rpci_ctrl_mac_parse("0A:BC:De:F0:12:34", mac) == 0);
	CU_ASSERT(memcmp(mac, want, 6) == 0);
	CU_ASSERT(rpci_ctrl_mac_parse("ff:ff:ff:ff:ff:ff", mac) == 0);
	CU_ASSERT(rpci_ctrl_mac_parse("00:00:00:00:00:00", mac) == 0);
	for (i = 0; i < DIM(bad); i++) {
		memcpy(mac, keep, 6);
		CU_ASSERT(rpci_ctrl_mac_parse(bad[i], mac) == -EINVAL);
		/* Untouched on failure. */
		CU_ASSERT(memcmp(mac, keep, 6) == 0);
	}
	CU_ASSERT(rpci_ctrl_mac_parse(NULL, mac) == -EINVAL);
	CU_ASSERT(rpci_ctrl_mac_parse("02:00:00:00:00:01", NULL) == -EINVAL);
	/* Every byte value, both ways. */
	for (v = 0; v < 256; v++) {
		for (i = 0; i < 6; i++) {
			want[i] = (uint8_t)(v + i * 37);
		}
		rpci_ctrl_mac_str(want, s);
		CU_ASSERT(strlen(s) == 17);
		CU_ASSERT(rpci_ctrl_mac_parse(s, mac) == 0 && memcmp(mac, want, 6) == 0);
	}
	/* A longer string that starts with an address. */
	snprintf(big, sizeof(big), "02:00:00:00:00:01xyz");
	CU_ASSERT(rpci_ctrl_mac_parse(big, mac) == -EINVAL);
}

static void
test_roundtrip_all_types(void)
{
	struct rpci_ctrl_msg m;
	unsigned int t, l;

	for (t = 1; t <= NB_TYPES; t++) {
		for (l = 0; l < NB_LEVELS; l++) {
			build(&m, (enum rpci_ctrl_type)t, (enum level)l);
			check_roundtrip(&m);
		}
	}
}

static void
test_roundtrip_special_values(void)
{
	static const double loads[] = { 0.0, 5e-324, DBL_MIN, 1e-7, 0.1, 1.0 / 3, 0.5, 1.0, 2.5,
					1e15, 123456789.123, 1e300, DBL_MAX };
	static const uint64_t u64s[] = {
		0, 1, 9, 10, 999999, (UINT64_C(1) << 32) - 1, UINT64_C(1) << 32,
		UINT64_C(1000000000000000), (UINT64_C(1) << 53) - 1, UINT64_C(1) << 53,
		(UINT64_C(1) << 53) + 1, UINT64_C(10000000000000000000), UINT64_MAX - 1, UINT64_MAX,
	};
	struct rpci_ctrl_msg m;
	unsigned int i, k;

	build(&m, RPCI_CTRL_STATUS, LVL_TYP);
	for (i = 0; i < DIM(loads); i++) {
		m.u.status.st.load = loads[i];
		check_roundtrip(&m);
	}
	/* In use with no address is refused; not in use with the last client's is kept. */
	m.u.status.st.in_use = false;
	check_roundtrip(&m);
	memset(m.u.status.st.client_mac, 0, 6);
	check_roundtrip(&m);
	/* Every u64 field at every boundary. */
	for (i = 0; i < DIM(u64s); i++) {
		build(&m, RPCI_CTRL_REPORT, LVL_TYP);
		m.id = u64s[i];
		m.u.report.lease_id = u64s[DIM(u64s) - 1 - i];
		m.u.report.job_size = u64s[i];
		m.u.report.elapsed_us = u64s[(i + 3) % DIM(u64s)];
		check_roundtrip(&m);
		build(&m, RPCI_CTRL_REQUEST, LVL_TYP);
		m.u.request.req.min_memory = u64s[i];
		m.u.request.req.job_size = u64s[(i + 5) % DIM(u64s)];
		check_roundtrip(&m);
	}
	/* Each module kind alone, each count, each requirement alone. */
	for (k = 0; k < 8; k++) {
		build(&m, RPCI_CTRL_REGISTER, LVL_MIN);
		m.u.reg.module_kinds = k;
		m.u.reg.nb_kernels = k;
		for (i = 0; i < k; i++) {
			fill_name(m.u.reg.kernels[i], 1 + 3 * i, 'k', i);
		}
		check_roundtrip(&m);
		build(&m, RPCI_CTRL_REQUEST, LVL_MIN);
		m.u.request.req.module_kinds = k;
		m.u.request.count = 1 + 2 * k;
		m.u.request.req.failover = (k & 1) != 0;
		check_roundtrip(&m);
	}
	build(&m, RPCI_CTRL_REQUEST, LVL_MIN);
	snprintf(m.u.request.req.kernel, RPCI_SEL_NAME_MAX, "saxpy");
	check_roundtrip(&m);
	build(&m, RPCI_CTRL_REQUEST, LVL_MIN);
	m.u.request.req.class_mask = 0xff;
	check_roundtrip(&m);
	/* Error codes. */
	build(&m, RPCI_CTRL_DETACH, LVL_MIN);
	m.u.detach.error = -1;
	check_roundtrip(&m);
	build(&m, RPCI_CTRL_ACK, LVL_TYP);
	m.u.ack.status = -ENOENT;
	check_roundtrip(&m);
	m.u.ack.status = 3;
	check_roundtrip(&m);
}

/* Texts keep every byte: escapes, control characters, UTF-8 of every length. */
static void
test_roundtrip_texts(void)
{
	static const char *const texts[] = {
		"", "\"quoted\" \\ back/slash", "line\nbreak\ttab\r\b\f", "\x01\x02\x1f\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbe",
		"</script><!-- {\"v\":1} -->",
		"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80",
	};
	struct rpci_ctrl_msg m;
	unsigned int i;

	for (i = 0; i < DIM(texts); i++) {
		/* (the bytes after the NUL are zero, as the decoder leaves them) */
		build(&m, RPCI_CTRL_MESSAGE, LVL_MIN);
		snprintf(m.u.message.text, RPCI_CTRL_TEXT_MAX, "%s", texts[i]);
		check_roundtrip(&m);
		build(&m, RPCI_CTRL_REJECT, LVL_MIN);
		snprintf(m.u.reject.reason, RPCI_SEL_REASON_MAX, "%s", texts[i]);
		check_roundtrip(&m);
		build(&m, RPCI_CTRL_DETACH, LVL_MIN);
		snprintf(m.u.detach.reason, RPCI_SEL_REASON_MAX, "%s", texts[i]);
		check_roundtrip(&m);
	}
	/* The longest texts in two-byte characters: 63 of them, 126 bytes (+1). */
	build(&m, RPCI_CTRL_REJECT, LVL_TYP);
	memset(m.u.reject.reason, 0, sizeof(m.u.reject.reason));
	for (i = 0; i < 63; i++) {
		memcpy(m.u.reject.reason + 2 * i, "\xc3\xa9", 2);
	}
	m.u.reject.reason[126] = 'x';
	check_roundtrip(&m);
	/* Escaped forms decode to the same bytes. */
	build(&m, RPCI_CTRL_MESSAGE, LVL_TYP);
	{
		struct rpci_ctrl_msg back;
		const char *why;
		static const char text[] =
			"{\"v\":1,\"type\":\"message\",\"id\":7,\"from\":\"a\",\"to\":\"b\","
			"\"text\":\"\\u00e9\\ud83d\\ude00\\/\\u0041\"}";

		CU_ASSERT(decode_n(text, strlen(text), &back, &why) == 0);
		CU_ASSERT_STRING_EQUAL(back.u.message.text, "\xc3\xa9\xf0\x9f\x98\x80/A");
	}
}

static void
test_wire_layout(void)
{
	static const struct {
		enum rpci_ctrl_type type;
		enum level level;
		const char *text;
	} cases[] = {
		{ RPCI_CTRL_RELEASE, LVL_TYP,
		  "{\"v\":1,\"type\":\"release\",\"id\":7,\"lease_id\":42}" },
		{ RPCI_CTRL_REQUEST, LVL_MIN,
		  "{\"v\":1,\"type\":\"request\",\"id\":0,\"count\":1,\"req\":{}}" },
		{ RPCI_CTRL_REQUEST, LVL_TYP,
		  "{\"v\":1,\"type\":\"request\",\"id\":7,\"count\":2,\"req\":{\"vendor_id\":4318,"
		  "\"class_code\":196608,\"class_mask\":16711680,\"min_memory\":1073741824,"
		  "\"backend\":\"cuda\",\"module_kinds\":[\"ptx\"],\"kernel\":\"saxpy\","
		  "\"job\":\"saxpy\",\"job_size\":16777216,\"failover\":false,"
		  "\"exclude_server\":\"s1\"}}" },
		{ RPCI_CTRL_REGISTER, LVL_MIN,
		  "{\"v\":1,\"type\":\"register\",\"id\":0,\"dev\":{\"server\":\"s\","
		  "\"server_mac\":\"00:00:00:00:00:01\",\"device\":\"d\",\"function\":0,"
		  "\"vendor_id\":0,\"device_id\":0,\"class_code\":0,\"memory_bytes\":0,"
		  "\"backend\":\"c\",\"module_kinds\":[],\"compute_units\":0,\"kernels\":[]}}" },
		{ RPCI_CTRL_STATUS, LVL_TYP,
		  "{\"v\":1,\"type\":\"status\",\"id\":7,\"server\":\"server0\","
		  "\"device\":\"vgpu0\","
		  "\"st\":{\"memory_free\":536870912,\"load\":0.37,\"in_use\":true,"
		  "\"client_mac\":\"02:00:00:00:00:02\"}}" },
		{ RPCI_CTRL_STATUS, LVL_MIN,
		  "{\"v\":1,\"type\":\"status\",\"id\":0,\"server\":\"s\",\"device\":\"d\","
		  "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":false}}" },
		{ RPCI_CTRL_ATTACH, LVL_TYP,
		  "{\"v\":1,\"type\":\"attach\",\"id\":7,\"request_id\":7,"
		  "\"att\":{\"lease_id\":1001,"
		  "\"client_mac\":\"02:00:00:00:00:02\",\"server\":\"server0\","
		  "\"server_mac\":\"02:00:00:00:00:01\",\"device\":\"vgpu0\",\"function\":0,"
		  "\"expires_us\":5000000},\"failover\":false}" },
		{ RPCI_CTRL_REJECT, LVL_TYP,
		  "{\"v\":1,\"type\":\"reject\",\"id\":7,\"request_id\":7,\"error\":-16,"
		  "\"reason\":\"all 3 matching devices are busy\"}" },
		{ RPCI_CTRL_DETACH, LVL_TYP,
		  "{\"v\":1,\"type\":\"detach\",\"id\":7,\"lease_id\":1001,\"error\":-112,"
		  "\"reason\":\"server0 \\\"missed\\\" 3 heartbeats\",\"failover\":true}" },
		{ RPCI_CTRL_RENEW, LVL_TYP,
		  "{\"v\":1,\"type\":\"renew\",\"id\":7,\"client_mac\":\"02:00:00:00:00:02\"}" },
		{ RPCI_CTRL_REPORT, LVL_TYP,
		  "{\"v\":1,\"type\":\"report\",\"id\":7,\"lease_id\":1001,\"job\":\"sgemm\","
		  "\"job_size\":60000000,\"elapsed_us\":12345}" },
		{ RPCI_CTRL_MESSAGE, LVL_MIN,
		  "{\"v\":1,\"type\":\"message\",\"id\":0,\"from\":\"a\",\"to\":\"b\","
		  "\"text\":\"\"}" },
		{ RPCI_CTRL_ACK, LVL_MAX,
		  "{\"v\":1,\"type\":\"ack\",\"id\":\"18446744073709551615\","
		  "\"acked\":\"18446744073709551615\",\"status\":2147483647}" },
		{ RPCI_CTRL_ACK, LVL_MIN,
		  "{\"v\":1,\"type\":\"ack\",\"id\":0,\"acked\":0,\"status\":-2147483648}" },
	};
	struct rpci_ctrl_msg m;
	char buf[BUF_LEN];
	unsigned int i;
	int n;

	for (i = 0; i < DIM(cases); i++) {
		build(&m, cases[i].type, cases[i].level);
		n = encode(&m, buf);
		CU_ASSERT(n == (int)strlen(cases[i].text));
		CU_ASSERT_STRING_EQUAL(buf, cases[i].text);
	}
	/* 2^53 - 1 is the last JSON number; 2^53 is a string. */
	build(&m, RPCI_CTRL_RELEASE, LVL_TYP);
	m.u.release.lease_id = (UINT64_C(1) << 53) - 1;
	encode(&m, buf);
	CU_ASSERT(strstr(buf, "\"lease_id\":9007199254740991}") != NULL);
	m.u.release.lease_id = UINT64_C(1) << 53;
	encode(&m, buf);
	CU_ASSERT(strstr(buf, "\"lease_id\":\"9007199254740992\"}") != NULL);
	/* Integers never in exponent form; loads in their shortest form. */
	m.u.release.lease_id = UINT64_C(1000000000000000);
	encode(&m, buf);
	CU_ASSERT(strstr(buf, "\"lease_id\":1000000000000000}") != NULL);
	build(&m, RPCI_CTRL_STATUS, LVL_TYP);
	m.u.status.st.load = 0.1;
	encode(&m, buf);
	CU_ASSERT(strstr(buf, "\"load\":0.1,") != NULL);
	m.u.status.st.load = -0.0;
	encode(&m, buf);
	CU_ASSERT(strstr(buf, "\"load\":0,") != NULL);
}

/* Messages written by hand: white space, any order, explicit defaults, both u64 forms. */
static void
test_decode_hand_written(void)
{
	static const char text[] =
		" \t\r\n{ \"req\" : { \"failover\" : true , \"vendor_id\" : 0, \"backend\": \"\","
		" \"module_kinds\": [\"ptx\", \"builtin\"],"
		" \"min_memory\": \"18446744073709551615\","
		" \"job_size\": \"12\", \"class_mask\": 255 } ,\n \"count\" : 16, \"id\": \"0\","
		" \"type\" : \"request\", \"v\" : 1 }\n\r\t ";
	struct rpci_ctrl_msg m;
	const char *why = "unset";

	CU_ASSERT(decode_n(text, strlen(text), &m, &why) == 0);
	CU_ASSERT(why == NULL);
	CU_ASSERT(m.type == RPCI_CTRL_REQUEST && m.id == 0 && m.u.request.count == 16);
	CU_ASSERT(m.u.request.req.failover);
	CU_ASSERT(m.u.request.req.vendor_id == 0 && m.u.request.req.backend[0] == '\0');
	CU_ASSERT(m.u.request.req.module_kinds == 5);
	CU_ASSERT(m.u.request.req.min_memory == UINT64_MAX);
	CU_ASSERT(m.u.request.req.job_size == 12);
	CU_ASSERT(m.u.request.req.class_mask == 255);
	/* Absent failover is true; absent everything else is zero. */
	expect("{\"v\":1,\"type\":\"request\",\"id\":1,\"count\":1,\"req\":{}}", 0, NULL);
	m = accept_edit(RPCI_CTRL_REQUEST, "req.failover", NULL);
	CU_ASSERT(m.u.request.req.failover);
	m = accept_edit(RPCI_CTRL_REQUEST, "req.exclude_server", NULL);
	CU_ASSERT(m.u.request.req.exclude_server[0] == '\0');
	/* u64 as strings of any size; capital hex in addresses. */
	m = accept_edit(RPCI_CTRL_ATTACH, "att.lease_id", "\"5\"");
	CU_ASSERT(m.u.attach.att.lease_id == 5);
	m = accept_edit(RPCI_CTRL_ATTACH, "att.client_mac", "\"0A:BC:DE:F0:12:34\"");
	CU_ASSERT(m.u.attach.att.client_mac[1] == 0xbc);
	m = accept_edit(RPCI_CTRL_RELEASE, "lease_id", "9007199254740991");
	CU_ASSERT(m.u.release.lease_id == (UINT64_C(1) << 53) - 1);
	m = accept_edit(RPCI_CTRL_RELEASE, "lease_id", "\"18446744073709551615\"");
	CU_ASSERT(m.u.release.lease_id == UINT64_MAX);
	m = accept_edit(RPCI_CTRL_RELEASE, "id", "\"0\"");
	CU_ASSERT(m.id == 0);
	/* Loads in any JSON number form; -0 is 0. */
	m = accept_edit(RPCI_CTRL_STATUS, "st.load", "-0");
	CU_ASSERT(m.u.status.st.load == 0 && !signbit(m.u.status.st.load));
	m = accept_edit(RPCI_CTRL_STATUS, "st.load", "25E-2");
	CU_ASSERT(m.u.status.st.load == 0.25);
	m = accept_edit(RPCI_CTRL_STATUS, "st.load", "1.5e+2");
	CU_ASSERT(m.u.status.st.load == 150.0);
	m = accept_edit(RPCI_CTRL_STATUS, "st.load", "1e308");
	CU_ASSERT(m.u.status.st.load == 1e308);
	/* Limits of the integers. */
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.function", "65535");
	CU_ASSERT(m.u.reg.function == 65535);
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.class_code", "16777215");
	CU_ASSERT(m.u.reg.class_code == 0xffffff);
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.compute_units", "4294967295");
	CU_ASSERT(m.u.reg.compute_units == UINT32_MAX);
	/* The device name is optional (absent: empty) and any text up to 63 bytes. */
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.device_name", NULL);
	CU_ASSERT(m.u.reg.device_name[0] == '\0');
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.device_name",
			"\"012345678901234567890123456789012345678901234567890123456789012\"");
	CU_ASSERT(strlen(m.u.reg.device_name) == 63);
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.device_name", "\"Tesla T4 / \\u00e9\"");
	CU_ASSERT(strcmp(m.u.reg.device_name, "Tesla T4 / \xc3\xa9") == 0);
	m = accept_edit(RPCI_CTRL_REQUEST, "count", "16");
	CU_ASSERT(m.u.request.count == 16);
	m = accept_edit(RPCI_CTRL_REJECT, "error", "-4095");
	CU_ASSERT(m.u.reject.error == -4095);
	m = accept_edit(RPCI_CTRL_DETACH, "error", "0");
	CU_ASSERT(m.u.detach.error == 0);
	m = accept_edit(RPCI_CTRL_ACK, "status", "-2147483648");
	CU_ASSERT(m.u.ack.status == INT32_MIN);
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.kernels", "[]");
	CU_ASSERT(m.u.reg.nb_kernels == 0);
	m = accept_edit(RPCI_CTRL_REGISTER, "dev.module_kinds", "[\"opencl\",\"builtin\",\"ptx\"]");
	CU_ASSERT(m.u.reg.module_kinds == 7);
}

static void
test_not_json(void)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "", "not JSON" },
		{ " \n", "not JSON" },
		{ "{", "not JSON" },
		{ "}", "not JSON" },
		{ "{}}", "not JSON" },
		{ "hello", "not JSON" },
		{ "nul", "not JSON" },
		{ "{\"v\":1", "not JSON" },
		{ "{'v':1}", "not JSON" },
		{ "{v:1}", "not JSON" },
		{ "{\"v\":1,}", "not JSON" },
		{ "{\"v\":1,,\"type\":\"ack\"}", "not JSON" },
		{ "{\"v\":1 /* c */}", "not JSON" },
		{ "{\"v\":1} // c", "not JSON" },
		{ "{\"v\":01}", "bad number" },
		{ "{\"v\":+1}", "not JSON" },
		{ "{\"v\":.5}", "not JSON" },
		{ "{\"v\":1.}", "bad number" },
		{ "{\"v\":1e}", "bad number" },
		{ "{\"v\":1e+}", "bad number" },
		{ "{\"v\":-}", "bad number" },
		{ "{\"v\":--1}", "bad number" },
		{ "{\"v\":1-2}", "bad number" },
		{ "{\"v\":1.5.3}", "bad number" },
		{ "{\"v\":0x10}", "not JSON" },
		{ "{\"v\":NaN}", "not JSON" },
		{ "{\"v\":Infinity}", "not JSON" },
		{ "{\"v\":-Infinity}", "bad number" },
		{ "{\"v\":nan}", "not JSON" },
		{ "{\"v\":inf}", "not JSON" },
		{ "{\"v\":True}", "not JSON" },
		{ "{\"v\":\"a\\x\"}", "not JSON" },
		{ "{\"v\":\"\\ud800\"}", "not JSON" },
		{ "{\"v\":\"\\udc00\"}", "not JSON" },
		{ "{\"v\":\"\\ud800\\u0041\"}", "not JSON" },
		{ "{\"v\":\"\\u12\"}", "not JSON" },
		{ "{\"v\":\"\\u0000\"}", "\\u0000" },
		{ "{\"v\":\"tab\there\"}", "control character" },
		{ "{\"v\":\"nl\nhere\"}", "control character" },
		{ "{\"v\":\"\x1f\"}", "control character" },
		{ "{\"v\":\"\xc0\x80\"}", "UTF-8" },
		{ "{\"v\":\"\xc1\xbf\"}", "UTF-8" },
		{ "{\"v\":\"\xe0\x80\x80\"}", "UTF-8" },
		{ "{\"v\":\"\xed\xa0\x80\"}", "UTF-8" },
		{ "{\"v\":\"\xf0\x80\x80\x80\"}", "UTF-8" },
		{ "{\"v\":\"\xf4\x90\x80\x80\"}", "UTF-8" },
		{ "{\"v\":\"\xf5\x80\x80\x80\"}", "UTF-8" },
		{ "{\"v\":\"\xe2\x82\"}", "UTF-8" },
		{ "{\"v\":\"\x80\"}", "UTF-8" },
		{ "{\"v\":\"\xfe\xff\"}", "UTF-8" },
		{ "{\"v\":\"a\xc3\"}", "UTF-8" },
		{ "\xef\xbb\xbf{\"v\":1}", "not JSON" },
		{ "\x01{\"v\":1}", "not JSON" },
		{ "{\"v\":1,\x0b\"type\":\"ack\"}", "not JSON" },
		{ "{\"v\":1,\"a\":[[[1]]]}", "nested too deeply" },
		{ "{\"v\":1,\"a\":{\"b\":{\"c\":{}}}}", "nested too deeply" },
		{ "{\"v\":1,\"a\":[[1]]}", "missing \"type\"" },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "nested too deeply" },
		{ "{\"v\":1}x", "not JSON" },
		{ "{\"v\":1}{\"v\":1}", "not JSON" },
		{ "{\"v\":1},", "not JSON" },
		{ "{\"v\":1}]", "not JSON" },
		{ "{\"v\":1 1}", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "[{\"v\":1}]", "not a JSON object" },
		{ "1", "not a JSON object" },
		{ "\"x\"", "not a JSON object" },
		{ "null", "not a JSON object" },
		{ "true", "not a JSON object" },
		{ "{}", "missing \"v\"" },
		{ "{\"type\":\"ack\",\"id\":1,\"acked\":1,\"status\":0}", "missing \"v\"" },
	};
	unsigned int i;

	for (i = 0; i < DIM(cases); i++) {
		expect(cases[i].text, -EBADMSG, cases[i].why);
	}
	/* A NUL byte inside or after the message. */
	{
		static const char after[] =
			"{\"v\":1,\"type\":\"release\",\"id\":1,\"lease_id\":2}\0";
		static const char inside[] =
			"{\"v\":1,\"type\":\"rel\0ase\",\"id\":1,\"lease_id\":2}";

		/* (after[] ends with two NULs: the one written and the literal's) */
		expect_n(after, sizeof(after) - 1, -EBADMSG, "not JSON");
		expect_n(inside, sizeof(inside) - 1, -EBADMSG, "control character");
		expect_n("\0", 1, -EBADMSG, "not JSON");
		/* The same message without the NUL is fine. */
		expect_n(after, sizeof(after) - 2, 0, NULL);
	}
}

static void
test_version_and_type(void)
{
	static const char *const bad_v[] = { "0", "2", "10", "-1", "1.0", "1e0", "\"1\"", "true",
					     "null", "[1]", "{}", "4294967297" };
	unsigned int i;

	for (i = 0; i < DIM(bad_v); i++) {
		expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "v", bad_v[i], -EBADMSG,
			    "unsupported version");
	}
	expect_edit(RPCI_CTRL_RELEASE, ED_DELETE, "v", NULL, -EBADMSG, "missing \"v\"");
	expect_edit(RPCI_CTRL_RELEASE, ED_DELETE, "type", NULL, -EBADMSG, "missing \"type\"");
	expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "type", "7", -EBADMSG, "\"type\"");
	expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "type", "null", -EBADMSG, "\"type\"");
	/* Unknown types. */
	expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "type", "\"foo\"", -EPROTO, "unknown type");
	expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "type", "\"Release\"", -EPROTO, "unknown type");
	expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "type", "\"release \"", -EPROTO, "unknown");
	expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "type", "\"\"", -EPROTO, "unknown type");
	expect_edit(RPCI_CTRL_RELEASE, ED_REPLACE, "type", "\"releas\"", -EPROTO, "unknown type");
	expect("{\"v\":1,\"type\":\"shutdown\"}", -EPROTO, "unknown type");
	expect("{\"type\":\"shutdown\",\"v\":1,\"anything\":[true]}", -EPROTO, "unknown type");
	/* The version comes first: an unknown type of another version is a bad message. */
	expect("{\"v\":2,\"type\":\"shutdown\"}", -EBADMSG, "unsupported version");
	expect("{\"type\":\"shutdown\"}", -EBADMSG, "missing \"v\"");
	/* Another known type's fields. */
	expect("{\"v\":1,\"type\":\"renew\",\"id\":1,\"lease_id\":2}", -EBADMSG, "unknown field");
	expect("{\"v\":1,\"type\":\"release\",\"id\":1,\"client_mac\":\"02:00:00:00:00:01\"}",
	       -EBADMSG, "unknown field");
}

/* Every member of the typical message of every type, through a callback. */
typedef void (*member_fn)(enum rpci_ctrl_type t, const char *path, const cJSON *item);

static void
for_each_member(member_fn fn)
{
	struct rpci_ctrl_msg m;
	char buf[BUF_LEN], path[64];
	const cJSON *item, *sub;
	cJSON *root;
	unsigned int t;

	for (t = 1; t <= NB_TYPES; t++) {
		build(&m, (enum rpci_ctrl_type)t, LVL_TYP);
		CU_ASSERT_FATAL(encode(&m, buf) > 0);
		root = cJSON_Parse(buf);
		CU_ASSERT_FATAL(root != NULL);
		cJSON_ArrayForEach(item, root) {
			fn((enum rpci_ctrl_type)t, item->string, item);
			if (!cJSON_IsObject(item)) {
				continue;
			}
			cJSON_ArrayForEach(sub, item) {
				snprintf(path, sizeof(path), "%s.%s", item->string, sub->string);
				fn((enum rpci_ctrl_type)t, path, sub);
			}
		}
		cJSON_Delete(root);
	}
}

static unsigned int g_members;

static void
member_delete(enum rpci_ctrl_type t, const char *path, const cJSON *item)
{
	const char *key = strrchr(path, '.') != NULL ? strrchr(path, '.') + 1 : path;

	(void)item;
	g_members++;
	if (strncmp(path, "req.", 4) == 0 || strcmp(path, "dev.device_name") == 0) {
		/* Every requirement, and the device's name, may be left out. */
		expect_edit(t, ED_DELETE, path, NULL, 0, NULL);
	} else {
		expect_edit(t, ED_DELETE, path, NULL, -EBADMSG, key);
	}
}

static void
test_missing_fields(void)
{
	g_members = 0;
	for_each_member(member_delete);
	/* Every member of the 11 messages and of their objects. */
	CU_ASSERT(g_members == 95);
	/* One of its requirements missing from an empty REQUEST is fine too; not "req". */
	expect("{\"v\":1,\"type\":\"request\",\"id\":1,\"count\":1}", -EBADMSG, "missing \"req\"");
	expect("{\"v\":1,\"type\":\"status\",\"id\":1,\"server\":\"s\",\"device\":\"d\","
	       "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":true}}",
	       -EBADMSG, "st.client_mac");
}

/* The class of a JSON value (true and false are one). */
static int
json_class(const cJSON *item)
{
	return cJSON_IsBool(item) ? cJSON_True : item->type & 0xff;
}

static void
member_wrong_type(enum rpci_ctrl_type t, const char *path, const cJSON *item)
{
	static const char *const values[] = { "1", "\"x\"", "true", "null", "{}", "[]", "[1]",
					      "{\"a\":1}" };
	cJSON *v;
	unsigned int i;
	int cls;

	for (i = 0; i < DIM(values); i++) {
		v = cJSON_Parse(values[i]);
		CU_ASSERT_FATAL(v != NULL);
		cls = json_class(v);
		cJSON_Delete(v);
		if (cls == json_class(item)) {
			continue;
		}
		g_members++;
		expect_edit(t, ED_REPLACE, path, values[i], -EBADMSG, NULL);
	}
}

static void
test_wrong_json_types(void)
{
	g_members = 0;
	for_each_member(member_wrong_type);
	CU_ASSERT(g_members > 300);
	/* Array elements of the wrong type. */
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", "[\"saxpy\",1]", -EBADMSG,
		    "wrong JSON type");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", "[[\"saxpy\"]]", -EBADMSG,
		    "nested too deeply");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", "[null]", -EBADMSG,
		    "wrong JSON type");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.module_kinds", "[0]", -EBADMSG,
		    "wrong JSON type");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.module_kinds", "\"ptx\"", -EBADMSG,
		    "wrong JSON type");
	expect_edit(RPCI_CTRL_REQUEST, ED_REPLACE, "req.module_kinds", "4", -EBADMSG,
		    "wrong JSON type");
	expect_edit(RPCI_CTRL_REQUEST, ED_REPLACE, "req.failover", "1", -EBADMSG,
		    "wrong JSON type");
	expect_edit(RPCI_CTRL_REQUEST, ED_REPLACE, "req.failover", "\"true\"", -EBADMSG,
		    "wrong JSON type");
	/* Integers other than u64 are never strings. */
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.function", "\"1\"", -EBADMSG,
		    "wrong JSON type");
	expect_edit(RPCI_CTRL_REQUEST, ED_REPLACE, "count", "\"1\"", -EBADMSG, "wrong JSON type");
	expect_edit(RPCI_CTRL_STATUS, ED_REPLACE, "st.load", "\"0.5\"", -EBADMSG,
		    "wrong JSON type");
}

static void
test_out_of_range(void)
{
	static const struct {
		enum rpci_ctrl_type type;
		const char *path;
		const char *value;
	} cases[] = {
		{ RPCI_CTRL_REGISTER, "dev.function", "65536" },
		{ RPCI_CTRL_REGISTER, "dev.function", "-1" },
		{ RPCI_CTRL_REGISTER, "dev.function", "1.5" },
		{ RPCI_CTRL_REGISTER, "dev.function", "1.0" },
		{ RPCI_CTRL_REGISTER, "dev.function", "1e2" },
		{ RPCI_CTRL_REGISTER, "dev.function", "-0" },
		{ RPCI_CTRL_REGISTER, "dev.function", "99999999999999999999999" },
		{ RPCI_CTRL_REGISTER, "dev.vendor_id", "65536" },
		{ RPCI_CTRL_REGISTER, "dev.vendor_id", "100000" },
		{ RPCI_CTRL_REGISTER, "dev.device_id", "65536" },
		{ RPCI_CTRL_REGISTER, "dev.class_code", "16777216" },
		{ RPCI_CTRL_REGISTER, "dev.class_code", "-1" },
		{ RPCI_CTRL_REGISTER, "dev.device_name", "1" },
		{ RPCI_CTRL_REGISTER, "dev.device_name", "null" },
		{ RPCI_CTRL_REGISTER, "dev.device_name",
		  "\"0123456789012345678901234567890123456789012345678901234567890123\"" },
		{ RPCI_CTRL_REGISTER, "dev.compute_units", "4294967296" },
		{ RPCI_CTRL_REGISTER, "dev.compute_units", "-1" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "9007199254740992" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "18446744073709551615" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "-1" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "1.5" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "1e3" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "4503599627370496.5" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"18446744073709551616\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"99999999999999999999\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"123456789012345678901\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"01\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"-1\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"+1\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\" 1\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"1 \"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"0x10\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"1e3\"" },
		{ RPCI_CTRL_REGISTER, "dev.memory_bytes", "\"1.0\"" },
		{ RPCI_CTRL_REGISTER, "id", "9007199254740993" },
		{ RPCI_CTRL_REGISTER, "id", "-7" },
		{ RPCI_CTRL_STATUS, "st.load", "-0.1" },
		{ RPCI_CTRL_STATUS, "st.load", "-1e-300" },
		{ RPCI_CTRL_STATUS, "st.load", "-5e-324" },
		{ RPCI_CTRL_STATUS, "st.load", "1e999" },
		{ RPCI_CTRL_STATUS, "st.load", "-1e999" },
		{ RPCI_CTRL_STATUS, "st.memory_free", "18446744073709551616" },
		{ RPCI_CTRL_REQUEST, "count", "0" },
		{ RPCI_CTRL_REQUEST, "count", "17" },
		{ RPCI_CTRL_REQUEST, "count", "-1" },
		{ RPCI_CTRL_REQUEST, "count", "4294967297" },
		{ RPCI_CTRL_REQUEST, "req.vendor_id", "65536" },
		{ RPCI_CTRL_REQUEST, "req.class_code", "16777216" },
		{ RPCI_CTRL_REQUEST, "req.class_mask", "16777216" },
		{ RPCI_CTRL_REQUEST, "req.min_memory", "9007199254740992" },
		{ RPCI_CTRL_REQUEST, "req.job_size", "-1" },
		{ RPCI_CTRL_ATTACH, "att.function", "65536" },
		{ RPCI_CTRL_ATTACH, "att.expires_us", "1e6" },
		{ RPCI_CTRL_ATTACH, "request_id", "0.5" },
		{ RPCI_CTRL_REJECT, "error", "0" },
		{ RPCI_CTRL_REJECT, "error", "1" },
		{ RPCI_CTRL_REJECT, "error", "-4096" },
		{ RPCI_CTRL_DETACH, "error", "1" },
		{ RPCI_CTRL_DETACH, "error", "-4096" },
		{ RPCI_CTRL_ACK, "status", "2147483648" },
		{ RPCI_CTRL_ACK, "status", "-2147483649" },
		{ RPCI_CTRL_ACK, "acked", "\"abc\"" },
		{ RPCI_CTRL_REPORT, "elapsed_us", "-0" },
	};
	unsigned int i;

	for (i = 0; i < DIM(cases); i++) {
		expect_edit(cases[i].type, ED_REPLACE, cases[i].path, cases[i].value, -EBADMSG,
			    strrchr(cases[i].path, '.') != NULL ? cases[i].path : NULL);
	}
}

static void
test_bad_macs(void)
{
	static const struct {
		enum rpci_ctrl_type type;
		const char *path;
	} fields[] = {
		{ RPCI_CTRL_REGISTER, "dev.server_mac" }, { RPCI_CTRL_STATUS, "st.client_mac" },
		{ RPCI_CTRL_ATTACH, "att.client_mac" },   { RPCI_CTRL_ATTACH, "att.server_mac" },
		{ RPCI_CTRL_RENEW, "client_mac" },
	};
	static const char *const bad[] = {
		"\"02:00:00:00:00:0g\"", "\"02:00:00:00:00\"", "\"02:00:00:00:00:01:\"",
		"\"02-00-00-00-00-01\"", "\"01:00:5e:00:00:01\"", "\"ff:ff:ff:ff:ff:ff\"",
		"\"03:00:00:00:00:01\"", "\"00:00:00:00:00:00\"", "\" 02:00:00:00:00:01\"", "\"\"",
		"\"2:0:0:0:0:1\"", "\"020000000001\"", "\"02:00:00:00:00:01\\u0020\"",
	};
	unsigned int i, j;

	for (i = 0; i < DIM(fields); i++) {
		for (j = 0; j < DIM(bad); j++) {
			expect_edit(fields[i].type, ED_REPLACE, fields[i].path, bad[j], -EBADMSG,
				    "MAC");
		}
		expect_edit(fields[i].type, ED_REPLACE, fields[i].path, "[2,0,0,0,0,1]", -EBADMSG,
			    "wrong JSON type");
	}
}

static void
test_names_and_texts(void)
{
	static const struct {
		enum rpci_ctrl_type type;
		const char *path;
		bool may_be_empty;
	} names[] = {
		{ RPCI_CTRL_REGISTER, "dev.server", false },
		{ RPCI_CTRL_REGISTER, "dev.device", false },
		{ RPCI_CTRL_REGISTER, "dev.backend", false },
		{ RPCI_CTRL_STATUS, "server", false },
		{ RPCI_CTRL_STATUS, "device", false },
		{ RPCI_CTRL_REQUEST, "req.backend", true },
		{ RPCI_CTRL_REQUEST, "req.kernel", true },
		{ RPCI_CTRL_REQUEST, "req.job", true },
		{ RPCI_CTRL_REQUEST, "req.exclude_server", true },
		{ RPCI_CTRL_ATTACH, "att.server", false },
		{ RPCI_CTRL_ATTACH, "att.device", false },
		{ RPCI_CTRL_REPORT, "job", false },
		{ RPCI_CTRL_MESSAGE, "from", false },
		{ RPCI_CTRL_MESSAGE, "to", false },
	};
	static const char *const bad_chars[] = { "\"a b\"", "\"a/b\"", "\"caf\xc3\xa9\"",
						 "\"a\\u0001\"", "\"a\\\"b\"", "\"a:b\"",
						 "\"\\u00e9\"", "\"a\\nb\"" };
	char v31[40], v32[40];
	unsigned int i, j;

	snprintf(v31, sizeof(v31), "\"%s\"", "abcdefghijklmnopqrstuvwxyz01234");
	snprintf(v32, sizeof(v32), "\"%s\"", "abcdefghijklmnopqrstuvwxyz012345");
	for (i = 0; i < DIM(names); i++) {
		expect_edit(names[i].type, ED_REPLACE, names[i].path, v31, 0, NULL);
		expect_edit(names[i].type, ED_REPLACE, names[i].path, v32, -EBADMSG, "too long");
		expect_edit(names[i].type, ED_REPLACE, names[i].path, "\"\"",
			    names[i].may_be_empty ? 0 : -EBADMSG, NULL);
		for (j = 0; j < DIM(bad_chars); j++) {
			expect_edit(names[i].type, ED_REPLACE, names[i].path, bad_chars[j],
				    -EBADMSG, names[i].path);
		}
	}
	/* Texts: bytes, not characters. */
	{
		static const struct {
			enum rpci_ctrl_type type;
			const char *path;
			size_t max;
		} texts[] = {
			{ RPCI_CTRL_REJECT, "reason", RPCI_SEL_REASON_MAX - 1 },
			{ RPCI_CTRL_DETACH, "reason", RPCI_SEL_REASON_MAX - 1 },
			{ RPCI_CTRL_MESSAGE, "text", RPCI_CTRL_TEXT_MAX - 1 },
		};
		char v[600];

		for (i = 0; i < DIM(texts); i++) {
			v[0] = '"';
			memset(v + 1, 'x', texts[i].max);
			snprintf(v + 1 + texts[i].max, 4, "\"");
			expect_edit(texts[i].type, ED_REPLACE, texts[i].path, v, 0, NULL);
			snprintf(v + 1 + texts[i].max, 4, "y\"");
			expect_edit(texts[i].type, ED_REPLACE, texts[i].path, v, -EBADMSG,
				    "too long");
			/* A two-byte character past the end. */
			snprintf(v + texts[i].max, 4, "\xc3\xa9\"");
			expect_edit(texts[i].type, ED_REPLACE, texts[i].path, v, -EBADMSG,
				    "too long");
			/* Escapes count as what they stand for. */
			v[0] = '"';
			for (j = 0; j < texts[i].max; j++) {
				memcpy(v + 1 + 2 * j, "\\n", 2);
			}
			snprintf(v + 1 + 2 * texts[i].max, 4, "\"");
			expect_edit(texts[i].type, ED_REPLACE, texts[i].path, v, 0, NULL);
		}
	}
}

static void
test_arrays(void)
{
	char v[1200];
	size_t off;
	unsigned int i;

	/* 16 kernels, then 17. */
	off = (size_t)snprintf(v, sizeof(v), "[");
	for (i = 0; i < RPCI_SEL_KERNELS_MAX; i++) {
		off += (size_t)snprintf(v + off, sizeof(v) - off, "%s\"k%u\"", i ? "," : "", i);
	}
	snprintf(v + off, sizeof(v) - off, "]");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", v, 0, NULL);
	snprintf(v + off, sizeof(v) - off, ",\"k99\"]");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", v, -EBADMSG, "too many");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", "[\"a\",\"b\",\"a\"]", -EBADMSG,
		    "repeated name");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", "[\"\"]", -EBADMSG,
		    "dev.kernels");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", "[\"a b\"]", -EBADMSG,
		    "dev.kernels");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels",
		    "[\"abcdefghijklmnopqrstuvwxyz012345\"]", -EBADMSG, "one too long");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels",
		    "[\"abcdefghijklmnopqrstuvwxyz01234\"]", 0, NULL);
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.kernels", "{}", -EBADMSG,
		    "wrong JSON type");
	/* Module kinds. */
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.module_kinds", "[\"cuda\"]", -EBADMSG,
		    "module kind");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.module_kinds", "[\"PTX\"]", -EBADMSG,
		    "module kind");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.module_kinds", "[\"ptx\",\"ptx\"]",
		    -EBADMSG, "module kind");
	expect_edit(RPCI_CTRL_REGISTER, ED_REPLACE, "dev.module_kinds", "[\"\"]", -EBADMSG,
		    "module kind");
	expect_edit(RPCI_CTRL_REQUEST, ED_REPLACE, "req.module_kinds",
		    "[\"builtin\",\"opencl\",\"ptx\",\"builtin\"]", -EBADMSG, "module kind");
	expect_edit(RPCI_CTRL_REQUEST, ED_REPLACE, "req.module_kinds", "[]", 0, NULL);
}

static void
member_repeat(enum rpci_ctrl_type t, const char *path, const cJSON *item)
{
	(void)item;
	g_members++;
	expect_edit(t, ED_REPEAT, path, NULL, -EBADMSG, "repeated field");
}

static void
test_unknown_and_repeated_fields(void)
{
	static const struct {
		enum rpci_ctrl_type type;
		const char *path;
	} adds[] = {
		{ RPCI_CTRL_REGISTER, "x" },     { RPCI_CTRL_REGISTER, "dev.x" },
		{ RPCI_CTRL_STATUS, "st.x" },    { RPCI_CTRL_REQUEST, "req.x" },
		{ RPCI_CTRL_ATTACH, "att.x" },   { RPCI_CTRL_ACK, "ID" },
		{ RPCI_CTRL_ACK, "Type" },       { RPCI_CTRL_ACK, "" },
		{ RPCI_CTRL_RELEASE, "lease" },  { RPCI_CTRL_REQUEST, "req.Failover" },
		{ RPCI_CTRL_MESSAGE, "text " },  { RPCI_CTRL_STATUS, "load" },
		{ RPCI_CTRL_REGISTER, "server" },
	};
	unsigned int i;

	for (i = 0; i < DIM(adds); i++) {
		expect_edit(adds[i].type, ED_ADD, adds[i].path, "1", -EBADMSG, "unknown field");
		expect_edit(adds[i].type, ED_ADD, adds[i].path, "null", -EBADMSG, "unknown field");
	}
	g_members = 0;
	for_each_member(member_repeat);
	CU_ASSERT(g_members == 95);
	/* The same key twice with different values. */
	expect("{\"v\":1,\"type\":\"release\",\"id\":1,\"lease_id\":2,\"lease_id\":3}",
	       -EBADMSG, "repeated field");
	expect("{\"v\":1,\"type\":\"release\",\"type\":\"renew\",\"id\":1,\"lease_id\":2}",
	       -EBADMSG, "repeated field");
	expect("{\"v\":1,\"v\":2,\"type\":\"release\",\"id\":1,\"lease_id\":2}", -EBADMSG,
	       "repeated field");
}

/* A valid message padded with spaces to RPCI_CTRL_MAX bytes is fine; one more is not. */
static void
test_oversized(void)
{
	static char buf[RPCI_CTRL_MAX + 100];
	struct rpci_ctrl_msg m;
	int n;

	build(&m, RPCI_CTRL_REGISTER, LVL_MAX);
	n = encode(&m, buf);
	CU_ASSERT_FATAL(n > 0);
	memset(buf + n, ' ', sizeof(buf) - (size_t)n);
	expect_n(buf, RPCI_CTRL_MAX, 0, NULL);
	expect_n(buf, RPCI_CTRL_MAX + 1, -EMSGSIZE, "RPCI_CTRL_MAX");
	expect_n(buf, sizeof(buf), -EMSGSIZE, NULL);
	/* Leading spaces count too. */
	memset(buf, ' ', sizeof(buf));
	n = encode(&m, buf + RPCI_CTRL_MAX + 1 - n);
	expect_n(buf, RPCI_CTRL_MAX + 1, -EMSGSIZE, NULL);
	/* Huge lengths are refused before anything is read. */
	CU_ASSERT(rpci_ctrl_decode(buf, SIZE_MAX, &m, NULL) == -EMSGSIZE);
}

/* Every proper prefix of every message is refused as a bad message. */
static void
test_truncated(void)
{
	struct rpci_ctrl_msg m, back;
	char buf[BUF_LEN];
	const char *why;
	unsigned int t, l;
	int n, len, bad = 0;

	for (t = 1; t <= NB_TYPES; t++) {
		for (l = 0; l < NB_LEVELS; l++) {
			build(&m, (enum rpci_ctrl_type)t, (enum level)l);
			n = encode(&m, buf);
			CU_ASSERT_FATAL(n > 0);
			for (len = 0; len < n; len++) {
				why = NULL;
				if (decode_n(buf, (size_t)len, &back, &why) != -EBADMSG ||
				    why == NULL) {
					bad++;
				}
			}
			CU_ASSERT(decode_n(buf, (size_t)n, &back, NULL) == 0);
		}
	}
	CU_ASSERT(bad == 0);
}

/* The message is followed by bytes that would change it if read: they are not. */
static void
test_not_nul_terminated(void)
{
	static const char *const tails[] = { "9", "0}", "\"", ",\"x\":1}", "e5", " ", "\0" };
	struct rpci_ctrl_msg m, back;
	char buf[BUF_LEN + 16];
	unsigned int t, i;
	size_t tl;
	int n;

	for (t = 1; t <= NB_TYPES; t++) {
		build(&m, (enum rpci_ctrl_type)t, LVL_TYP);
		n = encode(&m, buf);
		CU_ASSERT_FATAL(n > 0);
		for (i = 0; i < DIM(tails); i++) {
			tl = strlen(tails[i]) != 0 ? strlen(tails[i]) : 1;
			memcpy(buf + n, tails[i], tl);
			CU_ASSERT(rpci_ctrl_decode(buf, (size_t)n, &back, NULL) == 0);
			CU_ASSERT(memcmp(&back, &m, sizeof(m)) == 0);
			/* With the tail it is something else (only a space is harmless). */
			CU_ASSERT((decode_n(buf, (size_t)n + tl, &back, NULL) == 0) ==
				  (tails[i][0] == ' '));
		}
	}
	/* Without its closing brace, the message is not completed by what follows. */
	{
		static const char text[] = "{\"v\":1,\"type\":\"release\",\"id\":1,\"lease_id\":2}";

		expect_n(text, sizeof(text) - 1, 0, NULL);
		expect_n(text, sizeof(text) - 2, -EBADMSG, NULL);
	}
}

static void
test_decode_args(void)
{
	struct rpci_ctrl_msg m;
	const char *why = "unset";
	static const char text[] = "{\"v\":1,\"type\":\"release\",\"id\":1,\"lease_id\":2}";

	CU_ASSERT(rpci_ctrl_decode(text, strlen(text), NULL, &why) == -EINVAL);
	CU_ASSERT(why != NULL);
	CU_ASSERT(rpci_ctrl_decode(NULL, 5, &m, &why) == -EINVAL);
	CU_ASSERT(rpci_ctrl_decode(NULL, 0, &m, &why) == -EBADMSG);
	CU_ASSERT(rpci_ctrl_decode(text, strlen(text), &m, NULL) == 0);
	CU_ASSERT(m.type == RPCI_CTRL_RELEASE && m.u.release.lease_id == 2);
	/* A failed decode leaves nothing behind. */
	memset(&m, 0xa5, sizeof(m));
	CU_ASSERT(rpci_ctrl_decode("{\"v\":1,\"type\":\"release\",\"id\":5,\"lease_id\":-2}", 45,
				   &m, &why) == -EBADMSG);
	CU_ASSERT(m.id == 0 && m.type == 0 && m.u.release.lease_id == 0);
	CU_ASSERT(rpci_ctrl_encode(NULL, (char[8]){ 0 }, 8) == -EINVAL);
	build(&m, RPCI_CTRL_RELEASE, LVL_TYP);
	CU_ASSERT(rpci_ctrl_encode(&m, NULL, 100) == -EINVAL);
}

/* A struct the decoder would refuse is refused by the encoder. */
static void
test_encode_refuses(void)
{
	struct rpci_ctrl_msg m;
	char buf[BUF_LEN];
	unsigned int bad = 0, cases = 0;

#define REFUSE(t, lvl, change) \
	do { \
		build(&m, t, lvl); \
		change; \
		cases++; \
		if (rpci_ctrl_encode(&m, buf, sizeof(buf)) != -EINVAL) { \
			printf("\n  encode accepted: %s\n", #change); \
			bad++; \
		} \
	} while (0)

	REFUSE(RPCI_CTRL_ACK, LVL_TYP, m.type = (enum rpci_ctrl_type)0);
	REFUSE(RPCI_CTRL_ACK, LVL_TYP, m.type = (enum rpci_ctrl_type)12);
	REFUSE(RPCI_CTRL_ACK, LVL_TYP, m.type = (enum rpci_ctrl_type)-1);
	/* Names: not terminated, empty, bad characters. */
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, memset(m.u.reg.server, 'a', RPCI_SEL_NAME_MAX));
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.server[0] = '\0');
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.device[0] = '\0');
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.backend[0] = '\0');
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.device[1] = ' ');
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.backend[0] = '\xc3');
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.backend[1] = '"');
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.backend[1] = '\n');
	/* Addresses. */
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, memset(m.u.reg.server_mac, 0, 6));
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.server_mac[0] = 1);
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, memset(m.u.reg.server_mac, 0xff, 6));
	/* Ranges. */
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.class_code = 0x1000000);
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.module_kinds = 8);
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.module_kinds = UINT32_MAX);
	/* Kernels: too many, empty, repeated, not terminated, bad. */
	REFUSE(RPCI_CTRL_REGISTER, LVL_MAX, m.u.reg.nb_kernels = 17);
	REFUSE(RPCI_CTRL_REGISTER, LVL_MAX, m.u.reg.nb_kernels = UINT32_MAX);
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.kernels[2][0] = '\0');
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, memcpy(m.u.reg.kernels[4], "saxpy", 6));
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP,
	       memset(m.u.reg.kernels[0], 'k', RPCI_SEL_NAME_MAX));
	REFUSE(RPCI_CTRL_REGISTER, LVL_TYP, m.u.reg.kernels[1][0] = '/');
	/* Status. */
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, m.u.status.st.load = NAN);
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, m.u.status.st.load = -NAN);
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, m.u.status.st.load = INFINITY);
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, m.u.status.st.load = -1.0);
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, m.u.status.st.load = -5e-324);
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, memset(m.u.status.st.client_mac, 0, 6));
	REFUSE(RPCI_CTRL_STATUS, LVL_MIN, m.u.status.st.client_mac[0] = 1);
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, memset(m.u.status.server, 'x', RPCI_SEL_NAME_MAX));
	REFUSE(RPCI_CTRL_STATUS, LVL_TYP, m.u.status.device[0] = '\0');
	/* Requests. */
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, m.u.request.count = 0);
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, m.u.request.count = 17);
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, m.u.request.count = UINT32_MAX);
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, m.u.request.req.class_code = 0x1000000);
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, m.u.request.req.class_mask = 0x1000000);
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, m.u.request.req.module_kinds = 0x10);
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, m.u.request.req.backend[0] = '*');
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP,
	       memset(m.u.request.req.exclude_server, 'x', RPCI_SEL_NAME_MAX));
	REFUSE(RPCI_CTRL_REQUEST, LVL_TYP, memset(m.u.request.req.job, 'j', RPCI_SEL_NAME_MAX));
	/* Attachments. */
	REFUSE(RPCI_CTRL_ATTACH, LVL_TYP, memset(m.u.attach.att.client_mac, 0, 6));
	REFUSE(RPCI_CTRL_ATTACH, LVL_TYP, m.u.attach.att.server_mac[0] = 0x33);
	REFUSE(RPCI_CTRL_ATTACH, LVL_TYP, m.u.attach.att.device[0] = '\0');
	REFUSE(RPCI_CTRL_ATTACH, LVL_TYP, m.u.attach.att.server[0] = ' ');
	/* Errors and texts. */
	REFUSE(RPCI_CTRL_REJECT, LVL_TYP, m.u.reject.error = 0);
	REFUSE(RPCI_CTRL_REJECT, LVL_TYP, m.u.reject.error = 5);
	REFUSE(RPCI_CTRL_REJECT, LVL_TYP, m.u.reject.error = -4096);
	REFUSE(RPCI_CTRL_REJECT, LVL_TYP, m.u.reject.error = INT32_MIN);
	REFUSE(RPCI_CTRL_REJECT, LVL_TYP, memset(m.u.reject.reason, 'r', RPCI_SEL_REASON_MAX));
	REFUSE(RPCI_CTRL_REJECT, LVL_TYP, m.u.reject.reason[3] = '\xff');
	REFUSE(RPCI_CTRL_DETACH, LVL_TYP, m.u.detach.error = 1);
	REFUSE(RPCI_CTRL_DETACH, LVL_TYP, m.u.detach.error = -4096);
	REFUSE(RPCI_CTRL_DETACH, LVL_TYP, memcpy(m.u.detach.reason, "\xc0\xaf", 3));
	REFUSE(RPCI_CTRL_RENEW, LVL_TYP, memset(m.u.renew.client_mac, 0, 6));
	REFUSE(RPCI_CTRL_RENEW, LVL_TYP, m.u.renew.client_mac[0] = 0xff);
	REFUSE(RPCI_CTRL_REPORT, LVL_TYP, m.u.report.job[0] = '\0');
	REFUSE(RPCI_CTRL_MESSAGE, LVL_TYP, m.u.message.from[0] = '\0');
	REFUSE(RPCI_CTRL_MESSAGE, LVL_TYP, m.u.message.to[0] = '@');
	REFUSE(RPCI_CTRL_MESSAGE, LVL_TYP, memset(m.u.message.text, 't', RPCI_CTRL_TEXT_MAX));
	REFUSE(RPCI_CTRL_MESSAGE, LVL_TYP, memcpy(m.u.message.text, "\xed\xa0\x80", 4));
	REFUSE(RPCI_CTRL_MESSAGE, LVL_TYP, memcpy(m.u.message.text, "\xf4\x90\x80\x80", 5));
	REFUSE(RPCI_CTRL_MESSAGE, LVL_TYP, memcpy(m.u.message.text, "ab\xe2\x82", 5));
#undef REFUSE
	CU_ASSERT(bad == 0);
	CU_ASSERT(cases > 60);
	/* Bytes after a string's NUL, and kernels past the count, are not looked at. */
	build(&m, RPCI_CTRL_REGISTER, LVL_TYP);
	memset(m.u.reg.kernels[10], '!', RPCI_SEL_NAME_MAX);
	m.u.reg.server[10] = '!';
	CU_ASSERT(rpci_ctrl_encode(&m, buf, sizeof(buf)) > 0);
	CU_ASSERT(strchr(buf, '!') == NULL);
}

/* The encoding must fit RPCI_CTRL_MAX: exactly at it is fine, one byte more is not. */
static void
test_encode_size_limit(void)
{
	struct rpci_ctrl_msg m, back;
	static char buf[RPCI_CTRL_MAX + 100];
	int n0, n, target, ctl, ascii, i;

	build(&m, RPCI_CTRL_MESSAGE, LVL_MIN);
	n0 = rpci_ctrl_encode(&m, buf, sizeof(buf));
	CU_ASSERT_FATAL(n0 > 0);
	/* A control character costs 6 bytes (\u0001), a letter 1. */
	target = RPCI_CTRL_MAX - n0;
	ctl = target / 6;
	ascii = target % 6;
	CU_ASSERT_FATAL(ctl + ascii + 1 < RPCI_CTRL_TEXT_MAX);
	for (i = 0; i < ctl; i++) {
		m.u.message.text[i] = '\x01';
	}
	for (i = 0; i < ascii; i++) {
		m.u.message.text[ctl + i] = 'a';
	}
	n = rpci_ctrl_encode(&m, buf, sizeof(buf));
	CU_ASSERT(n == RPCI_CTRL_MAX);
	CU_ASSERT(rpci_ctrl_encode(&m, buf, RPCI_CTRL_MAX) == RPCI_CTRL_MAX);
	CU_ASSERT(rpci_ctrl_encode(&m, buf, RPCI_CTRL_MAX - 1) == -EMSGSIZE);
	CU_ASSERT(decode_n(buf, RPCI_CTRL_MAX, &back, NULL) == 0);
	CU_ASSERT(memcmp(&back, &m, sizeof(m)) == 0);
	m.u.message.text[ctl + ascii] = 'b';
	CU_ASSERT(rpci_ctrl_encode(&m, buf, sizeof(buf)) == -EMSGSIZE);
	/* The longest text of control characters does not fit at all. */
	memset(m.u.message.text, '\x02', RPCI_CTRL_TEXT_MAX - 1);
	CU_ASSERT(rpci_ctrl_encode(&m, buf, sizeof(buf)) == -EMSGSIZE);
	/* Everything else at its largest fits. */
	for (i = 1; i <= NB_TYPES; i++) {
		build(&m, (enum rpci_ctrl_type)i, LVL_MAX);
		n = rpci_ctrl_encode(&m, buf, sizeof(buf));
		CU_ASSERT(n > 0 && n <= RPCI_CTRL_MAX);
	}
}

/* Random valid names, texts and values. */
static void
rand_name(char *dst, size_t size, bool may_be_empty)
{
	size_t n = rng() % size, i;

	if (n == 0 && !may_be_empty) {
		n = 1;
	}
	if (rng() % 4 == 0) {
		n = size - 1;
	}
	for (i = 0; i < n; i++) {
		dst[i] = NAME_CHARS[rng() % (sizeof(NAME_CHARS) - 1)];
	}
	dst[n] = '\0';
}

static void
rand_text(char *dst, size_t size)
{
	static const char *const pieces[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\"",
					      "\\", "\n", "\x01", "\x7f", "/" };
	size_t n = rng() % size, i = 0, l;
	const char *p;

	while (i < n) {
		if (rng() % 8 == 0) {
			p = pieces[rng() % DIM(pieces)];
			l = strlen(p);
			if (i + l > n) {
				break;
			}
			memcpy(dst + i, p, l);
			i += l;
		} else {
			dst[i++] = (char)(0x20 + rng() % 0x5f);
		}
	}
	dst[i] = '\0';
}

static uint64_t
rand_u64(void)
{
	static const uint64_t edges[] = { 0, 1, (UINT64_C(1) << 53) - 1, UINT64_C(1) << 53,
					  UINT64_MAX };
	unsigned int shift;

	switch (rng() % 4) {
	case 0:
		return edges[rng() % DIM(edges)];
	case 1:
		return rng() % 1000;
	case 2:
		/* (one call per statement: the same sequence with every compiler) */
		shift = (unsigned int)(rng() % 64);
		return rng() >> shift;
	default:
		return rng();
	}
}

static void
rand_mac(uint8_t mac[6])
{
	unsigned int i;

	for (i = 0; i < 6; i++) {
		mac[i] = (uint8_t)rng();
	}
	mac[0] &= 0xfe;
	mac[5] |= 1;
}

static double
rand_load(void)
{
	uint64_t bits;
	double d;

	if (rng() % 2 == 0) {
		return (double)(rng() % 1000) / 1000.0;
	}
	do {
		bits = rng();
		memcpy(&d, &bits, sizeof(d));
	} while (!isfinite(d) || d < 0);
	return d == 0 ? 0.0 : d;
}

static void
rand_msg(struct rpci_ctrl_msg *m)
{
	struct rpci_sel_device_info *d = &m->u.reg;
	struct rpci_sel_requirements *r = &m->u.request.req;
	struct rpci_sel_attachment *a = &m->u.attach.att;
	uint32_t i;

	memset(m, 0, sizeof(*m));
	m->type = (enum rpci_ctrl_type)(1 + rng() % NB_TYPES);
	m->id = rand_u64();
	switch (m->type) {
	case RPCI_CTRL_REGISTER:
		rand_name(d->server, sizeof(d->server), false);
		rand_mac(d->server_mac);
		rand_name(d->device, sizeof(d->device), false);
		d->function = (uint16_t)rng();
		d->vendor_id = (uint16_t)rng();
		d->device_id = (uint16_t)rng();
		d->class_code = (uint32_t)rng() & 0xffffff;
		d->memory_bytes = rand_u64();
		rand_name(d->backend, sizeof(d->backend), false);
		d->module_kinds = (uint32_t)rng() & 7;
		d->compute_units = (uint32_t)rng();
		d->nb_kernels = (uint32_t)(rng() % (RPCI_SEL_KERNELS_MAX + 1));
		for (i = 0; i < d->nb_kernels; i++) {
			rand_name(d->kernels[i], RPCI_SEL_NAME_MAX - 2, false);
			/* Distinct: a suffix of its own. */
			snprintf(d->kernels[i] + strlen(d->kernels[i]), 2, "%c", NAME_CHARS[i]);
		}
		break;
	case RPCI_CTRL_STATUS:
		rand_name(m->u.status.server, RPCI_SEL_NAME_MAX, false);
		rand_name(m->u.status.device, RPCI_SEL_NAME_MAX, false);
		m->u.status.st.memory_free = rand_u64();
		m->u.status.st.load = rand_load();
		m->u.status.st.in_use = rng() % 2 == 0;
		if (m->u.status.st.in_use || rng() % 2 == 0) {
			rand_mac(m->u.status.st.client_mac);
		}
		break;
	case RPCI_CTRL_REQUEST:
		m->u.request.count = 1 + (uint32_t)(rng() % 16);
		r->vendor_id = rng() % 2 ? (uint16_t)rng() : 0;
		r->class_code = rng() % 2 ? (uint32_t)rng() & 0xffffff : 0;
		r->class_mask = rng() % 2 ? (uint32_t)rng() & 0xffffff : 0;
		r->min_memory = rng() % 2 ? rand_u64() : 0;
		rand_name(r->backend, sizeof(r->backend), true);
		r->module_kinds = (uint32_t)rng() & 7;
		rand_name(r->kernel, sizeof(r->kernel), true);
		rand_name(r->job, sizeof(r->job), true);
		r->job_size = rng() % 2 ? rand_u64() : 0;
		r->failover = rng() % 2 == 0;
		rand_name(r->exclude_server, sizeof(r->exclude_server), true);
		break;
	case RPCI_CTRL_ATTACH:
		m->u.attach.request_id = rand_u64();
		a->lease_id = rand_u64();
		rand_mac(a->client_mac);
		rand_name(a->server, sizeof(a->server), false);
		rand_mac(a->server_mac);
		rand_name(a->device, sizeof(a->device), false);
		a->function = (uint16_t)rng();
		a->expires_us = rand_u64();
		m->u.attach.failover = rng() % 2 == 0;
		break;
	case RPCI_CTRL_REJECT:
		m->u.reject.request_id = rand_u64();
		m->u.reject.error = -1 - (int32_t)(rng() % 4095);
		rand_text(m->u.reject.reason, RPCI_SEL_REASON_MAX);
		break;
	case RPCI_CTRL_DETACH:
		m->u.detach.lease_id = rand_u64();
		m->u.detach.error = -(int32_t)(rng() % 4096);
		rand_text(m->u.detach.reason, RPCI_SEL_REASON_MAX);
		m->u.detach.failover = rng() % 2 == 0;
		break;
	case RPCI_CTRL_RELEASE:
		m->u.release.lease_id = rand_u64();
		break;
	case RPCI_CTRL_RENEW:
		rand_mac(m->u.renew.client_mac);
		break;
	case RPCI_CTRL_REPORT:
		m->u.report.lease_id = rand_u64();
		rand_name(m->u.report.job, RPCI_SEL_NAME_MAX, false);
		m->u.report.job_size = rand_u64();
		m->u.report.elapsed_us = rand_u64();
		break;
	case RPCI_CTRL_MESSAGE:
		rand_name(m->u.message.from, RPCI_SEL_NAME_MAX, false);
		rand_name(m->u.message.to, RPCI_SEL_NAME_MAX, false);
		rand_text(m->u.message.text, RPCI_CTRL_TEXT_MAX);
		break;
	case RPCI_CTRL_ACK:
		m->u.ack.acked_id = rand_u64();
		m->u.ack.status = (int32_t)rng();
		break;
	}
}

static void
test_random_roundtrip(void)
{
	struct rpci_ctrl_msg m, back;
	char buf[BUF_LEN];
	unsigned int i, ok = 0, too_big = 0, bad = 0;
	int n;

	for (i = 0; i < 20000; i++) {
		rand_msg(&m);
		n = encode(&m, buf);
		if (n == -EMSGSIZE && m.type == RPCI_CTRL_MESSAGE) {
			/* Many escapes in a long text. */
			too_big++;
			continue;
		}
		if (n <= 0 || decode_n(buf, (size_t)n, &back, NULL) != 0 ||
		    memcmp(&back, &m, sizeof(m)) != 0) {
			if (bad++ < 5) {
				printf("\n  random message %u (%s): %d %s\n", i,
				       rpci_ctrl_type_name(m.type), n, n > 0 ? buf : "");
			}
			continue;
		}
		ok++;
	}
	CU_ASSERT(bad == 0);
	CU_ASSERT(ok > 19000);
}

/* Valid messages, damaged at random: never a crash; what decodes encodes and decodes the same. */
static void
test_random_damage(void)
{
	struct rpci_ctrl_msg m, back, again;
	char buf[BUF_LEN + 8], enc[BUF_LEN], enc2[BUF_LEN];
	unsigned int i, k, edits, accepted = 0, bad = 0;
	size_t len, pos;
	int n, rc, rc2;

	for (i = 0; i < 30000; i++) {
		rand_msg(&m);
		n = encode(&m, buf);
		if (n <= 0) {
			continue;
		}
		len = (size_t)n;
		edits = 1 + (unsigned int)(rng() % 3);
		for (k = 0; k < edits && len > 0; k++) {
			pos = rng() % len;
			switch (rng() % 4) {
			case 0: /* overwrite with an interesting byte */
				buf[pos] = "\"{}[],:\\0123456789-.eEtfn \x80\xc3\x01"[rng() % 29];
				break;
			case 1: /* any byte */
				buf[pos] = (char)rng();
				break;
			case 2: /* delete */
				memmove(buf + pos, buf + pos + 1, len - pos - 1);
				len--;
				break;
			default: /* duplicate */
				if (len < BUF_LEN) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					len++;
				}
				break;
			}
		}
		rc = decode_n(buf, len, &back, NULL);
		if (rc != 0) {
			if (rc != -EBADMSG && rc != -EPROTO && rc != -EMSGSIZE) {
				bad++;
			}
			continue;
		}
		accepted++;
		n = encode(&back, enc);
		if (n == -EMSGSIZE) {
			continue;
		}
		rc2 = n > 0 ? decode_n(enc, (size_t)n, &again, NULL) : n;
		if (rc2 != 0 || memcmp(&back, &again, sizeof(back)) != 0 ||
		    encode(&again, enc2) != n || memcmp(enc, enc2, (size_t)n) != 0) {
			bad++;
		}
	}
	CU_ASSERT(bad == 0);
	CU_ASSERT(accepted > 100);
}

/* STATUS with a personality, usage totals and a session's usage. */
static void
test_status_usage(void)
{
	struct rpci_ctrl_msg m, d;
	char buf[RPCI_CTRL_MAX + 1];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_STATUS;
	m.id = 9;
	snprintf(m.u.status.server, RPCI_SEL_NAME_MAX, "gpu0");
	snprintf(m.u.status.device, RPCI_SEL_NAME_MAX, "vgpu0");
	m.u.status.st.memory_free = 1000;
	m.u.status.st.load = 0.5;
	m.u.status.st.in_use = false;
	memcpy(m.u.status.st.client_mac, g_mac_b, 6);
	m.u.status.st.vendor_id = 0x10de;
	m.u.status.st.device_id = 0x20b0;
	m.u.status.st.class_code = 0x030200;
	m.u.status.st.total.bytes_in = UINT64_MAX;
	m.u.status.st.total.kernels = 7;
	m.u.status.st.total.kernel_ns = UINT64_C(1) << 60;
	m.u.status.st.session = 3;
	m.u.status.st.usage.bytes_out = 12;
	m.u.status.st.usage.mem_high = 4096;
	m.u.status.st.usage.errors = 1;
	n = rpci_ctrl_encode(&m, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(strstr(buf, "\"total\":{\"bytes_in\":\"18446744073709551615\",\"kernels\":7,"
			 "\"kernel_ns\":\"1152921504606846976\"}") != NULL);
	CU_ASSERT(strstr(buf, "\"sess\":{\"id\":3,\"bytes_out\":12,\"mem_high\":4096,"
			 "\"errors\":1}") != NULL);
	CU_ASSERT(rpci_ctrl_decode(buf, (size_t)n, &d, NULL) == 0);
	CU_ASSERT(memcmp(&d.u.status.st.total, &m.u.status.st.total,
			 sizeof(m.u.status.st.total)) == 0);
	CU_ASSERT(memcmp(&d.u.status.st.usage, &m.u.status.st.usage,
			 sizeof(m.u.status.st.usage)) == 0);
	CU_ASSERT_EQUAL(d.u.status.st.session, 3);
	CU_ASSERT_EQUAL(d.u.status.st.vendor_id, 0x10de);
	CU_ASSERT_EQUAL(d.u.status.st.device_id, 0x20b0);
	CU_ASSERT_EQUAL(d.u.status.st.class_code, 0x030200);
	/* Nothing to say: the objects are left out, and absent they read as zeros. */
	memset(&m.u.status.st.total, 0, sizeof(m.u.status.st.total));
	memset(&m.u.status.st.usage, 0, sizeof(m.u.status.st.usage));
	m.u.status.st.session = 0;
	n = rpci_ctrl_encode(&m, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(strstr(buf, "total") == NULL && strstr(buf, "sess") == NULL);
	expect("{\"v\":1,\"type\":\"status\",\"id\":1,\"server\":\"s\",\"device\":\"d\","
	       "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":false},\"total\":{}}", 0, NULL);
	expect("{\"v\":1,\"type\":\"status\",\"id\":1,\"server\":\"s\",\"device\":\"d\","
	       "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":false},\"sess\":{\"id\":2}}",
	       -EBADMSG, "of a session");
	expect("{\"v\":1,\"type\":\"status\",\"id\":1,\"server\":\"s\",\"device\":\"d\","
	       "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":false},\"total\":{\"kernels\":-1}}",
	       -EBADMSG, "total.kernels");
	expect("{\"v\":1,\"type\":\"status\",\"id\":1,\"server\":\"s\",\"device\":\"d\","
	       "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":false},\"total\":{\"x\":1}}",
	       -EBADMSG, "unknown field in \"total\"");
	expect("{\"v\":1,\"type\":\"status\",\"id\":1,\"server\":\"s\",\"device\":\"d\","
	       "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":false,\"class_code\":16777216}}",
	       -EBADMSG, "st.class_code");
	expect("{\"v\":1,\"type\":\"status\",\"id\":1,\"server\":\"s\",\"device\":\"d\","
	       "\"st\":{\"memory_free\":0,\"load\":0,\"in_use\":false},\"sess\":[]}",
	       -EBADMSG, "\"sess\" is not an object");
	/* A session without its client is refused by the encoder too. */
	m.u.status.st.session = 1;
	memset(m.u.status.st.client_mac, 0, 6);
	CU_ASSERT(rpci_ctrl_encode(&m, buf, sizeof(buf)) == -EINVAL);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int n;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("ctrl_codec", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_type_names);
	CU_ADD_TEST(suite, test_mac_helpers);
	CU_ADD_TEST(suite, test_roundtrip_all_types);
	CU_ADD_TEST(suite, test_roundtrip_special_values);
	CU_ADD_TEST(suite, test_roundtrip_texts);
	CU_ADD_TEST(suite, test_wire_layout);
	CU_ADD_TEST(suite, test_decode_hand_written);
	CU_ADD_TEST(suite, test_decode_args);

	suite = CU_add_suite("ctrl_malformed", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_not_json);
	CU_ADD_TEST(suite, test_version_and_type);
	CU_ADD_TEST(suite, test_missing_fields);
	CU_ADD_TEST(suite, test_wrong_json_types);
	CU_ADD_TEST(suite, test_out_of_range);
	CU_ADD_TEST(suite, test_bad_macs);
	CU_ADD_TEST(suite, test_names_and_texts);
	CU_ADD_TEST(suite, test_arrays);
	CU_ADD_TEST(suite, test_unknown_and_repeated_fields);
	CU_ADD_TEST(suite, test_oversized);
	CU_ADD_TEST(suite, test_truncated);
	CU_ADD_TEST(suite, test_not_nul_terminated);

	suite = CU_add_suite("ctrl_encode", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_encode_refuses);
	CU_ADD_TEST(suite, test_status_usage);
	CU_ADD_TEST(suite, test_encode_size_limit);
	CU_ADD_TEST(suite, test_random_roundtrip);
	CU_ADD_TEST(suite, test_random_damage);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}
