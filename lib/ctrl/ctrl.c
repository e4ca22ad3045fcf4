/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Control-plane messages (rpci_ctrl.h): JSON objects under a strict schema,
 * one table of fields per message type that drives both directions, so
 * that what the encoder writes is exactly what the decoder accepts, and
 * what the decoder refuses the encoder refuses too (doc/protocol.md,
 * "Control messages").
 *
 * cJSON parses and prints. It is laxer than JSON in places ("01", "+1",
 * ".5", raw control characters in strings, any byte below 0x21 taken as
 * white space, "\u0000" that cuts a string short, no UTF-8 check) and keeps
 * numbers only as doubles, which cannot hold every 64-bit integer. So one
 * pass over the bytes first checks what cJSON lets through against RFC 8259,
 * validates UTF-8, bounds the nesting and records where the text of every
 * number is; integers are then read from their text, never from a double.
 *
 * cJSON keeps the position of its last parse error in a global: decoding
 * from several threads at once races on it (harmlessly for us: it is never
 * read).
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rpci_ctrl.h"

/* Largest integer every JSON reader holds exactly: larger u64 travel as strings. */
#define CTRL_JSON_INT_MAX ((UINT64_C(1) << 53) - 1)
/* Digits of UINT64_MAX. */
#define CTRL_U64_DIGITS 20
/* Largest errno magnitude. */
#define CTRL_ERRNO_MAX 4095
/* Devices a REQUEST may ask for. */
#define CTRL_COUNT_MIN 1
#define CTRL_COUNT_MAX 16
/* Class codes are 24 bits. */
#define CTRL_CLASS_MAX 0xffffff
/* Deepest nesting of a valid message: the message, an object in it, an array in that. */
#define CTRL_DEPTH_MAX 3
/* Numbers a message can hold: each takes a byte and a separator. */
#define CTRL_NUMS_MAX (RPCI_CTRL_MAX / 2 + 1)
/* Room cJSON wants past the text when it prints into a buffer. */
#define CTRL_PRINT_SLACK 64
/* Most fields in one object of the schema. */
#define CTRL_FIELDS_MAX 16
/* Characters of a name (as in the deployment file). */
#define CTRL_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
#define CTRL_DIM(a) (sizeof(a) / sizeof((a)[0]))

/* Module kinds on the wire: bit i of module_kinds is g_kind_names[i]. */
static const char *const g_kind_names[] = { "builtin", "opencl", "ptx" };
#define CTRL_KINDS_ALL ((UINT32_C(1) << CTRL_DIM(g_kind_names)) - 1)

/* Type names, indexed by enum rpci_ctrl_type. */
static const char *const g_type_names[] = {
	[RPCI_CTRL_REGISTER] = "register", [RPCI_CTRL_STATUS] = "status",
	[RPCI_CTRL_REQUEST] = "request",   [RPCI_CTRL_ATTACH] = "attach",
	[RPCI_CTRL_REJECT] = "reject",     [RPCI_CTRL_DETACH] = "detach",
	[RPCI_CTRL_RELEASE] = "release",   [RPCI_CTRL_RENEW] = "renew",
	[RPCI_CTRL_REPORT] = "report",     [RPCI_CTRL_MESSAGE] = "message",
	[RPCI_CTRL_ACK] = "ack",
};

/* What a field holds. */
enum ctrl_kind {
	CK_VERSION, /* "v": the integer RPCI_CTRL_VERSION */
	CK_TYPE,    /* "type": the type's name */
	CK_U64,     /* uint64_t: integer up to 2^53 - 1, or a decimal string */
	CK_U32,     /* uint32_t: integer in [min, max] */
	CK_U16,     /* uint16_t: integer in [min, max] */
	CK_I32,     /* int32_t: integer in [min, max] */
	CK_LOAD,    /* double: finite number >= 0 */
	CK_BOOL,    /* bool */
	CK_NAME,    /* char[size]: CTRL_NAME_CHARS */
	CK_TEXT,    /* char[size]: any UTF-8 but NUL */
	CK_MAC,     /* uint8_t[6]: unicast, non-zero, "xx:xx:xx:xx:xx:xx" */
	CK_KINDS,   /* uint32_t bit mask: array of module kind names */
	CK_KERNELS, /* char[RPCI_SEL_KERNELS_MAX][RPCI_SEL_NAME_MAX], count at aux */
	CK_OBJ,     /* an object of the fields of sub */
};

/* Field flags. */
#define CF_OPT 1u /* optional: absent means zero (or def); not written then */

struct ctrl_table;

/* One field of an object; offsets are from the start of struct rpci_ctrl_msg. */
struct ctrl_field {
	const char *key;
	enum ctrl_kind kind;
	unsigned int flags;
	uint16_t off;
	uint16_t size; /* names, texts: room with the NUL */
	uint16_t aux;  /* kernels: offset of the uint32_t count */
	int64_t min;   /* integers */
	int64_t max;
	bool def; /* optional bool: its value when absent */
	const struct ctrl_table *sub;
	const char *why_missing;
	const char *why_type;
	const char *why_value;
	const char *why_long;
};

/* An object: its fields, and what to say of a key it does not have. */
struct ctrl_table {
	const struct ctrl_field *fields;
	unsigned int nb;
	const char *why_unknown;
	const char *why_repeated;
};

#define MSG_OFF(m) ((uint16_t)offsetof(struct rpci_ctrl_msg, m))
#define MSG_SIZE(m) ((uint16_t)sizeof(((struct rpci_ctrl_msg *)NULL)->m))
#define WHY(path, k) \
	.why_missing = "missing \"" path k "\"", \
	.why_type = "\"" path k "\" has the wrong JSON type"

#define F_U64(path, k, m, fl) \
	{ .key = k, .kind = CK_U64, .flags = fl, .off = MSG_OFF(m), WHY(path, k), \
	  .why_value = "\"" path k "\" is not an integer below 2^53 or a decimal string" }
#define F_INT(path, k, kd, m, lo, hi, fl) \
	{ .key = k, .kind = kd, .flags = fl, .off = MSG_OFF(m), .min = lo, .max = hi, \
	  WHY(path, k), .why_value = "\"" path k "\" is not an integer in its range" }
#define F_LOAD(path, k, m) \
	{ .key = k, .kind = CK_LOAD, .off = MSG_OFF(m), WHY(path, k), \
	  .why_value = "\"" path k "\" is not a finite number >= 0" }
#define F_BOOL(path, k, m, fl, d) \
	{ .key = k, .kind = CK_BOOL, .flags = fl, .off = MSG_OFF(m), .def = d, WHY(path, k) }
#define F_NAME(path, k, m, fl) \
	{ .key = k, .kind = CK_NAME, .flags = fl, .off = MSG_OFF(m), .size = MSG_SIZE(m), \
	  WHY(path, k), \
	  .why_value = "\"" path k "\" is empty or has a character other than [A-Za-z0-9_.-]", \
	  .why_long = "\"" path k "\" is too long" }
#define F_TEXT(path, k, m) \
	{ .key = k, .kind = CK_TEXT, .off = MSG_OFF(m), .size = MSG_SIZE(m), WHY(path, k), \
	  .why_long = "\"" path k "\" is too long" }
#define F_TEXT_OPT(path, k, m) \
	{ .key = k, .kind = CK_TEXT, .flags = CF_OPT, .off = MSG_OFF(m), .size = MSG_SIZE(m), \
	  WHY(path, k), .why_long = "\"" path k "\" is too long" }
#define F_MAC(path, k, m, fl) \
	{ .key = k, .kind = CK_MAC, .flags = fl, .off = MSG_OFF(m), WHY(path, k), \
	  .why_value = "\"" path k "\" is not a unicast MAC address xx:xx:xx:xx:xx:xx" }
#define F_KINDS(path, k, m, fl) \
	{ .key = k, .kind = CK_KINDS, .flags = fl, .off = MSG_OFF(m), WHY(path, k), \
	  .why_value = "\"" path k "\" has an unknown or repeated module kind" }
#define F_KERNELS(path, k, m, count) \
	{ .key = k, .kind = CK_KERNELS, .off = MSG_OFF(m), .aux = MSG_OFF(count), WHY(path, k), \
	  .why_value = "\"" path k "\" has an empty, bad or repeated name", \
	  .why_long = "\"" path k "\" has too many names or one too long" }
#define F_OBJ(k, t) \
	{ .key = k, .kind = CK_OBJ, .sub = &t, .why_missing = "missing \"" k "\"", \
	  .why_type = "\"" k "\" is not an object" }
#define F_OBJ_OPT(k, t) \
	{ .key = k, .kind = CK_OBJ, .flags = CF_OPT, .sub = &t, \
	  .why_missing = "missing \"" k "\"", .why_type = "\"" k "\" is not an object" }
/* Usage counters (struct rpci_sel_usage at m), each optional. */
#define F_USAGE(path, m) \
	F_U64(path, "bytes_in", m.bytes_in, CF_OPT), \
	F_U64(path, "bytes_out", m.bytes_out, CF_OPT), \
	F_U64(path, "kernels", m.kernels, CF_OPT), \
	F_U64(path, "kernel_ns", m.kernel_ns, CF_OPT), \
	F_U64(path, "mem_high", m.mem_high, CF_OPT), \
	F_U64(path, "errors", m.errors, CF_OPT)
/* Every message starts with these. */
#define F_HEADER \
	{ .key = "v", .kind = CK_VERSION, .why_missing = "missing \"v\"", \
	  .why_type = "unsupported version", .why_value = "unsupported version" }, \
	{ .key = "type", .kind = CK_TYPE, .why_missing = "missing \"type\"", \
	  .why_type = "\"type\" is not a string" }, \
	F_U64("", "id", id, 0)
#define TABLE(f, what) \
	{ .fields = f, .nb = CTRL_DIM(f), .why_unknown = "unknown field" what, \
	  .why_repeated = "repeated field" what }

/* "v" and "type", read before the type's fields. */
static const struct ctrl_field g_header_fields[] = { F_HEADER };

/* REGISTER */
static const struct ctrl_field g_dev_fields[] = {
	F_NAME("dev.", "server", u.reg.server, 0),
	F_MAC("dev.", "server_mac", u.reg.server_mac, 0),
	F_NAME("dev.", "device", u.reg.device, 0),
	F_INT("dev.", "function", CK_U16, u.reg.function, 0, UINT16_MAX, 0),
	F_INT("dev.", "vendor_id", CK_U16, u.reg.vendor_id, 0, UINT16_MAX, 0),
	F_INT("dev.", "device_id", CK_U16, u.reg.device_id, 0, UINT16_MAX, 0),
	F_INT("dev.", "class_code", CK_U32, u.reg.class_code, 0, CTRL_CLASS_MAX, 0),
	F_U64("dev.", "memory_bytes", u.reg.memory_bytes, 0),
	F_NAME("dev.", "backend", u.reg.backend, 0),
	F_TEXT_OPT("dev.", "device_name", u.reg.device_name),
	F_KINDS("dev.", "module_kinds", u.reg.module_kinds, 0),
	F_INT("dev.", "compute_units", CK_U32, u.reg.compute_units, 0, UINT32_MAX, 0),
	F_KERNELS("dev.", "kernels", u.reg.kernels, u.reg.nb_kernels),
};
static const struct ctrl_table g_dev_table = TABLE(g_dev_fields, " in \"dev\"");
static const struct ctrl_field g_register_fields[] = { F_HEADER, F_OBJ("dev", g_dev_table) };

/* STATUS */
static const struct ctrl_field g_st_fields[] = {
	F_U64("st.", "memory_free", u.status.st.memory_free, 0),
	F_LOAD("st.", "load", u.status.st.load),
	F_BOOL("st.", "in_use", u.status.st.in_use, 0, false),
	F_MAC("st.", "client_mac", u.status.st.client_mac, CF_OPT),
	F_INT("st.", "vendor_id", CK_U16, u.status.st.vendor_id, 0, UINT16_MAX, CF_OPT),
	F_INT("st.", "device_id", CK_U16, u.status.st.device_id, 0, UINT16_MAX, CF_OPT),
	F_INT("st.", "class_code", CK_U32, u.status.st.class_code, 0, CTRL_CLASS_MAX, CF_OPT),
};
static const struct ctrl_table g_st_table = TABLE(g_st_fields, " in \"st\"");
static const struct ctrl_field g_total_fields[] = { F_USAGE("total.", u.status.st.total) };
static const struct ctrl_table g_total_table = TABLE(g_total_fields, " in \"total\"");
static const struct ctrl_field g_sess_fields[] = {
	F_U64("sess.", "id", u.status.st.session, CF_OPT),
	F_USAGE("sess.", u.status.st.usage),
};
static const struct ctrl_table g_sess_table = TABLE(g_sess_fields, " in \"sess\"");
static const struct ctrl_field g_status_fields[] = {
	F_HEADER,
	F_NAME("", "server", u.status.server, 0),
	F_NAME("", "device", u.status.device, 0),
	F_OBJ("st", g_st_table),
	F_OBJ_OPT("total", g_total_table),
	F_OBJ_OPT("sess", g_sess_table),
};

/* REQUEST: every requirement is optional. */
static const struct ctrl_field g_req_fields[] = {
	F_INT("req.", "vendor_id", CK_U16, u.request.req.vendor_id, 0, UINT16_MAX, CF_OPT),
	F_INT("req.", "class_code", CK_U32, u.request.req.class_code, 0, CTRL_CLASS_MAX, CF_OPT),
	F_INT("req.", "class_mask", CK_U32, u.request.req.class_mask, 0, CTRL_CLASS_MAX, CF_OPT),
	F_U64("req.", "min_memory", u.request.req.min_memory, CF_OPT),
	F_NAME("req.", "backend", u.request.req.backend, CF_OPT),
	F_KINDS("req.", "module_kinds", u.request.req.module_kinds, CF_OPT),
	F_NAME("req.", "kernel", u.request.req.kernel, CF_OPT),
	F_NAME("req.", "job", u.request.req.job, CF_OPT),
	F_U64("req.", "job_size", u.request.req.job_size, CF_OPT),
	F_BOOL("req.", "failover", u.request.req.failover, CF_OPT, true),
	F_NAME("req.", "exclude_server", u.request.req.exclude_server, CF_OPT),
};
static const struct ctrl_table g_req_table = TABLE(g_req_fields, " in \"req\"");
static const struct ctrl_field g_request_fields[] = {
	F_HEADER,
	F_INT("", "count", CK_U32, u.request.count, CTRL_COUNT_MIN, CTRL_COUNT_MAX, 0),
	F_OBJ("req", g_req_table),
};

/* ATTACH */
static const struct ctrl_field g_att_fields[] = {
	F_U64("att.", "lease_id", u.attach.att.lease_id, 0),
	F_MAC("att.", "client_mac", u.attach.att.client_mac, 0),
	F_NAME("att.", "server", u.attach.att.server, 0),
	F_MAC("att.", "server_mac", u.attach.att.server_mac, 0),
	F_NAME("att.", "device", u.attach.att.device, 0),
	F_INT("att.", "function", CK_U16, u.attach.att.function, 0, UINT16_MAX, 0),
	F_U64("att.", "expires_us", u.attach.att.expires_us, 0),
};
static const struct ctrl_table g_att_table = TABLE(g_att_fields, " in \"att\"");
static const struct ctrl_field g_attach_fields[] = {
	F_HEADER,
	F_U64("", "request_id", u.attach.request_id, 0),
	F_OBJ("att", g_att_table),
	F_BOOL("", "failover", u.attach.failover, 0, false),
};

static const struct ctrl_field g_reject_fields[] = {
	F_HEADER,
	F_U64("", "request_id", u.reject.request_id, 0),
	F_INT("", "error", CK_I32, u.reject.error, -CTRL_ERRNO_MAX, -1, 0),
	F_TEXT("", "reason", u.reject.reason),
};

static const struct ctrl_field g_detach_fields[] = {
	F_HEADER,
	F_U64("", "lease_id", u.detach.lease_id, 0),
	F_INT("", "error", CK_I32, u.detach.error, -CTRL_ERRNO_MAX, 0, 0),
	F_TEXT("", "reason", u.detach.reason),
	F_BOOL("", "failover", u.detach.failover, 0, false),
};

static const struct ctrl_field g_release_fields[] = {
	F_HEADER,
	F_U64("", "lease_id", u.release.lease_id, 0),
};

static const struct ctrl_field g_renew_fields[] = {
	F_HEADER,
	F_MAC("", "client_mac", u.renew.client_mac, 0),
};

static const struct ctrl_field g_report_fields[] = {
	F_HEADER,
	F_U64("", "lease_id", u.report.lease_id, 0),
	F_NAME("", "job", u.report.job, 0),
	F_U64("", "job_size", u.report.job_size, 0),
	F_U64("", "elapsed_us", u.report.elapsed_us, 0),
};

static const struct ctrl_field g_message_fields[] = {
	F_HEADER,
	F_NAME("", "from", u.message.from, 0),
	F_NAME("", "to", u.message.to, 0),
	F_TEXT("", "text", u.message.text),
};

static const struct ctrl_field g_ack_fields[] = {
	F_HEADER,
	F_U64("", "acked", u.ack.acked_id, 0),
	F_INT("", "status", CK_I32, u.ack.status, INT32_MIN, INT32_MAX, 0),
};

/* Messages, indexed by enum rpci_ctrl_type. */
static const struct ctrl_table g_types[] = {
	[RPCI_CTRL_REGISTER] = TABLE(g_register_fields, ""),
	[RPCI_CTRL_STATUS] = TABLE(g_status_fields, ""),
	[RPCI_CTRL_REQUEST] = TABLE(g_request_fields, ""),
	[RPCI_CTRL_ATTACH] = TABLE(g_attach_fields, ""),
	[RPCI_CTRL_REJECT] = TABLE(g_reject_fields, ""),
	[RPCI_CTRL_DETACH] = TABLE(g_detach_fields, ""),
	[RPCI_CTRL_RELEASE] = TABLE(g_release_fields, ""),
	[RPCI_CTRL_RENEW] = TABLE(g_renew_fields, ""),
	[RPCI_CTRL_REPORT] = TABLE(g_report_fields, ""),
	[RPCI_CTRL_MESSAGE] = TABLE(g_message_fields, ""),
	[RPCI_CTRL_ACK] = TABLE(g_ack_fields, ""),
};

_Static_assert(CTRL_DIM(g_dev_fields) <= CTRL_FIELDS_MAX, "dev: too many fields");
_Static_assert(CTRL_DIM(g_req_fields) <= CTRL_FIELDS_MAX, "req: too many fields");
_Static_assert(CTRL_DIM(g_detach_fields) <= CTRL_FIELDS_MAX, "detach: too many fields");
_Static_assert(CTRL_DIM(g_types) == CTRL_DIM(g_type_names), "a table per type");
_Static_assert(RPCI_CTRL_MAX + CTRL_PRINT_SLACK < UINT16_MAX, "numbers' offsets fit 16 bits");

/* Where the text of one number of the message is. */
struct ctrl_num {
	const cJSON *node;
	uint16_t off;
	uint16_t len;
};

/* State of one decode. */
struct ctrl_dec {
	char text[RPCI_CTRL_MAX + 1]; /* the message, NUL-terminated */
	size_t len;
	struct ctrl_num nums[CTRL_NUMS_MAX]; /* in the order of the text */
	unsigned int nb_nums;
	unsigned int nb_bound; /* numbers matched with cJSON's nodes */
	const char *why;
};

const char *
rpci_ctrl_type_name(enum rpci_ctrl_type type)
{
	if ((unsigned int)type >= CTRL_DIM(g_type_names)) {
		return NULL;
	}
	return g_type_names[type];
}

char *
rpci_ctrl_mac_str(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

static int
ctrl_hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int
rpci_ctrl_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t tmp[6];
	unsigned int i;
	int hi, lo;

	if (s == NULL || mac == NULL || strnlen(s, 18) != 17) {
		return -EINVAL;
	}
	for (i = 0; i < 6; i++) {
		hi = ctrl_hex(s[3 * i]);
		lo = ctrl_hex(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':')) {
			return -EINVAL;
		}
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, tmp, sizeof(tmp));
	return 0;
}

/* A host's address: unicast and not all zero. */
static bool
ctrl_mac_ok(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return (mac[0] & 1) == 0 && memcmp(mac, zero, sizeof(zero)) != 0;
}

static bool
ctrl_mac_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, sizeof(zero)) == 0;
}

/* Length of the UTF-8 sequence at s (RFC 3629: no overlong form, no surrogate), 0 if bad. */
static size_t
ctrl_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80) {
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0) {
			lo = 0xa0;
		} else if (s[0] == 0xed) {
			hi = 0x9f;
		}
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0) {
			lo = 0x90;
		} else if (s[0] == 0xf4) {
			hi = 0x8f;
		}
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf) {
			return 0;
		}
	}
	return len;
}

static bool
ctrl_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		l = ctrl_utf8_len(p + i, n - i);
		if (l == 0) {
			return false;
		}
		i += l;
	}
	return true;
}

/* A name held in char[size]: terminated, 1..size-1 characters (0 if may_be_empty). */
static bool
ctrl_name_ok(const char *s, size_t size, bool may_be_empty)
{
	size_t n = strnlen(s, size);

	if (n == size || (n == 0 && !may_be_empty)) {
		return false;
	}
	return strspn(s, CTRL_NAME_CHARS) == n;
}

/* Decimal digits s[0..len) without a leading zero, at most max; 0 or -1. */
static int
ctrl_parse_digits(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	unsigned int dig;
	size_t i;

	if (len == 0 || len > CTRL_U64_DIGITS || (s[0] == '0' && len > 1)) {
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
		dig = (unsigned int)(s[i] - '0');
		if (x > (max - dig) / 10) {
			return -1;
		}
		x = x * 10 + dig;
	}
	*v = x;
	return 0;
}

/* Decoding. */

static int
ctrl_bad(struct ctrl_dec *d, const char *why)
{
	d->why = why;
	return -EBADMSG;
}

/* A string at d->text[*pos] (the quote): control characters, \u0000, UTF-8. */
static int
ctrl_scan_string(struct ctrl_dec *d, size_t *pos)
{
	const unsigned char *p = (const unsigned char *)d->text;
	size_t i = *pos + 1, n = d->len, l;

	for (;;) {
		if (i >= n) {
			return ctrl_bad(d, "not JSON: unterminated string");
		}
		if (p[i] == '"') {
			break;
		}
		if (p[i] < 0x20) {
			return ctrl_bad(d, "not JSON: control character in a string");
		}
		if (p[i] == '\\') {
			if (i + 1 >= n) {
				return ctrl_bad(d, "not JSON: unterminated string");
			}
			if (p[i + 1] == 'u' && i + 6 <= n && memcmp(p + i + 2, "0000", 4) == 0) {
				return ctrl_bad(d, "\\u0000 in a string");
			}
			/* cJSON checks the escape itself. */
			i += 2;
			continue;
		}
		l = ctrl_utf8_len(p + i, n - i);
		if (l == 0) {
			return ctrl_bad(d, "invalid UTF-8 in a string");
		}
		i += l;
	}
	*pos = i + 1;
	return 0;
}

static bool
ctrl_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number at d->text[*pos]: RFC 8259's grammar; where its text is. */
static int
ctrl_scan_number(struct ctrl_dec *d, size_t *pos)
{
	const char *p = d->text;
	size_t start = *pos, i = start, n = d->len;

	if (p[i] == '-') {
		i++;
	}
	if (i < n && p[i] == '0') {
		i++;
	} else if (i < n && ctrl_is_digit(p[i])) {
		while (i < n && ctrl_is_digit(p[i])) {
			i++;
		}
	} else {
		return ctrl_bad(d, "not JSON: bad number");
	}
	if (i < n && p[i] == '.') {
		i++;
		if (i >= n || !ctrl_is_digit(p[i])) {
			return ctrl_bad(d, "not JSON: bad number");
		}
		while (i < n && ctrl_is_digit(p[i])) {
			i++;
		}
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-')) {
			i++;
		}
		if (i >= n || !ctrl_is_digit(p[i])) {
			return ctrl_bad(d, "not JSON: bad number");
		}
		while (i < n && ctrl_is_digit(p[i])) {
			i++;
		}
	}
	/* cJSON reads on while it sees these: so must a number end. */
	if (i < n && (ctrl_is_digit(p[i]) || strchr("+-.eE", p[i]) != NULL)) {
		return ctrl_bad(d, "not JSON: bad number");
	}
	if (d->nb_nums >= CTRL_NUMS_MAX) {
		return ctrl_bad(d, "too many numbers");
	}
	d->nums[d->nb_nums].node = NULL;
	d->nums[d->nb_nums].off = (uint16_t)start;
	d->nums[d->nb_nums].len = (uint16_t)(i - start);
	d->nb_nums++;
	*pos = i;
	return 0;
}

/* The bytes outside strings: JSON's tokens only, nesting at most CTRL_DEPTH_MAX. */
static int
ctrl_scan(struct ctrl_dec *d)
{
	size_t i = 0;
	int depth = 0;
	int rc;

	while (i < d->len) {
		switch (d->text[i]) {
		case '"':
			rc = ctrl_scan_string(d, &i);
			if (rc < 0) {
				return rc;
			}
			break;
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			rc = ctrl_scan_number(d, &i);
			if (rc < 0) {
				return rc;
			}
			break;
		case '{':
		case '[':
			if (++depth > CTRL_DEPTH_MAX) {
				return ctrl_bad(d, "nested too deeply");
			}
			i++;
			break;
		case '}':
		case ']':
			if (--depth < 0) {
				return ctrl_bad(d, "not JSON: unbalanced brackets");
			}
			i++;
			break;
		case ' ':
		case '\t':
		case '\n':
		case '\r':
		case ',':
		case ':':
			i++;
			break;
		default:
			/* true, false, null (cJSON checks which). */
			if (d->text[i] < 'a' || d->text[i] > 'z') {
				return ctrl_bad(d, "not JSON: unexpected byte");
			}
			i++;
			break;
		}
	}
	return 0;
}

/* Match cJSON's number nodes, in document order, with the numbers scanned. */
static int
ctrl_bind_numbers(struct ctrl_dec *d, const cJSON *item)
{
	int rc;

	for (; item != NULL; item = item->next) {
		if (cJSON_IsNumber(item)) {
			if (d->nb_bound >= d->nb_nums) {
				return ctrl_bad(d, "not JSON: numbers do not match");
			}
			d->nums[d->nb_bound++].node = item;
		} else if (item->child != NULL) {
			rc = ctrl_bind_numbers(d, item->child);
			if (rc < 0) {
				return rc;
			}
		}
	}
	return 0;
}

/* The text of a number node (len 0 if not found, which cannot happen). */
static const char *
ctrl_num_text(const struct ctrl_dec *d, const cJSON *node, size_t *len)
{
	unsigned int i;

	for (i = 0; i < d->nb_bound; i++) {
		if (d->nums[i].node == node) {
			*len = d->nums[i].len;
			return d->text + d->nums[i].off;
		}
	}
	*len = 0;
	return d->text;
}

/* A u64: a number up to 2^53 - 1, or a string of decimal digits up to 2^64 - 1. */
static int
ctrl_dec_u64(struct ctrl_dec *d, const struct ctrl_field *f, const cJSON *item, uint64_t *v)
{
	const char *s;
	size_t len;

	if (cJSON_IsNumber(item)) {
		s = ctrl_num_text(d, item, &len);
		if (ctrl_parse_digits(s, len, CTRL_JSON_INT_MAX, v) < 0) {
			return ctrl_bad(d, f->why_value);
		}
		return 0;
	}
	if (cJSON_IsString(item)) {
		s = item->valuestring;
		if (ctrl_parse_digits(s, strlen(s), UINT64_MAX, v) < 0) {
			return ctrl_bad(d, f->why_value);
		}
		return 0;
	}
	return ctrl_bad(d, f->why_type);
}

/* An integer number in [f->min, f->max]. */
static int
ctrl_dec_int(struct ctrl_dec *d, const struct ctrl_field *f, const cJSON *item, int64_t *v)
{
	uint64_t mag;
	const char *s;
	size_t len;
	bool neg;

	if (!cJSON_IsNumber(item)) {
		return ctrl_bad(d, f->why_type);
	}
	s = ctrl_num_text(d, item, &len);
	neg = len > 0 && s[0] == '-';
	if (neg) {
		s++;
		len--;
	}
	/* Within 2^31 either way is enough to check the range after; no "-0". */
	if (ctrl_parse_digits(s, len, UINT32_MAX, &mag) < 0 || (neg && mag == 0)) {
		return ctrl_bad(d, f->why_value);
	}
	*v = neg ? -(int64_t)mag : (int64_t)mag;
	if (*v < f->min || *v > f->max) {
		return ctrl_bad(d, f->why_value);
	}
	return 0;
}

static int
ctrl_dec_kinds(struct ctrl_dec *d, const struct ctrl_field *f, const cJSON *item, uint32_t *mask)
{
	const cJSON *e;
	unsigned int i;

	if (!cJSON_IsArray(item)) {
		return ctrl_bad(d, f->why_type);
	}
	*mask = 0;
	cJSON_ArrayForEach(e, item) {
		if (!cJSON_IsString(e)) {
			return ctrl_bad(d, f->why_type);
		}
		for (i = 0; i < CTRL_DIM(g_kind_names); i++) {
			if (strcmp(e->valuestring, g_kind_names[i]) == 0) {
				break;
			}
		}
		if (i == CTRL_DIM(g_kind_names) || (*mask & (UINT32_C(1) << i)) != 0) {
			return ctrl_bad(d, f->why_value);
		}
		*mask |= UINT32_C(1) << i;
	}
	return 0;
}

static int
ctrl_dec_kernels(struct ctrl_dec *d, const struct ctrl_field *f, const cJSON *item,
		 struct rpci_ctrl_msg *msg)
{
	char (*names)[RPCI_SEL_NAME_MAX] = (void *)((char *)msg + f->off);
	uint32_t *count = (uint32_t *)(void *)((char *)msg + f->aux);
	const cJSON *e;
	uint32_t n = 0, i;
	size_t len;

	if (!cJSON_IsArray(item)) {
		return ctrl_bad(d, f->why_type);
	}
	cJSON_ArrayForEach(e, item) {
		if (!cJSON_IsString(e)) {
			return ctrl_bad(d, f->why_type);
		}
		len = strlen(e->valuestring);
		if (n == RPCI_SEL_KERNELS_MAX || len >= RPCI_SEL_NAME_MAX) {
			return ctrl_bad(d, f->why_long);
		}
		if (!ctrl_name_ok(e->valuestring, RPCI_SEL_NAME_MAX, false)) {
			return ctrl_bad(d, f->why_value);
		}
		for (i = 0; i < n; i++) {
			if (strcmp(names[i], e->valuestring) == 0) {
				return ctrl_bad(d, f->why_value);
			}
		}
		memcpy(names[n], e->valuestring, len + 1);
		n++;
	}
	*count = n;
	return 0;
}

static int ctrl_dec_object(struct ctrl_dec *d, const struct ctrl_table *t, const cJSON *obj,
			   struct rpci_ctrl_msg *msg);

/* One field into msg. */
static int
ctrl_dec_field(struct ctrl_dec *d, const struct ctrl_field *f, const cJSON *item,
	       struct rpci_ctrl_msg *msg)
{
	void *p = (char *)msg + f->off;
	const char *s;
	uint64_t u;
	int64_t i;
	size_t len;
	int rc;

	switch (f->kind) {
	case CK_VERSION:
		if (!cJSON_IsNumber(item)) {
			return ctrl_bad(d, f->why_type);
		}
		s = ctrl_num_text(d, item, &len);
		if (ctrl_parse_digits(s, len, UINT32_MAX, &u) < 0 || u != RPCI_CTRL_VERSION) {
			return ctrl_bad(d, f->why_value);
		}
		return 0;
	case CK_TYPE:
		/* Read (and checked) before the fields. */
		return cJSON_IsString(item) ? 0 : ctrl_bad(d, f->why_type);
	case CK_U64:
		return ctrl_dec_u64(d, f, item, (uint64_t *)p);
	case CK_U32:
		rc = ctrl_dec_int(d, f, item, &i);
		*(uint32_t *)p = (uint32_t)i;
		return rc;
	case CK_U16:
		rc = ctrl_dec_int(d, f, item, &i);
		*(uint16_t *)p = (uint16_t)i;
		return rc;
	case CK_I32:
		rc = ctrl_dec_int(d, f, item, &i);
		*(int32_t *)p = (int32_t)i;
		return rc;
	case CK_LOAD:
		if (!cJSON_IsNumber(item)) {
			return ctrl_bad(d, f->why_type);
		}
		if (!isfinite(item->valuedouble) || item->valuedouble < 0) {
			return ctrl_bad(d, f->why_value);
		}
		/* -0 is 0. */
		*(double *)p = item->valuedouble == 0 ? 0.0 : item->valuedouble;
		return 0;
	case CK_BOOL:
		if (!cJSON_IsBool(item)) {
			return ctrl_bad(d, f->why_type);
		}
		*(bool *)p = cJSON_IsTrue(item);
		return 0;
	case CK_NAME:
	case CK_TEXT:
		if (!cJSON_IsString(item)) {
			return ctrl_bad(d, f->why_type);
		}
		len = strlen(item->valuestring);
		if (len >= f->size) {
			return ctrl_bad(d, f->why_long);
		}
		if (f->kind == CK_NAME &&
		    !ctrl_name_ok(item->valuestring, f->size, (f->flags & CF_OPT) != 0)) {
			return ctrl_bad(d, f->why_value);
		}
		memcpy(p, item->valuestring, len + 1);
		return 0;
	case CK_MAC:
		if (!cJSON_IsString(item)) {
			return ctrl_bad(d, f->why_type);
		}
		if (rpci_ctrl_mac_parse(item->valuestring, p) < 0 || !ctrl_mac_ok(p)) {
			return ctrl_bad(d, f->why_value);
		}
		return 0;
	case CK_KINDS:
		return ctrl_dec_kinds(d, f, item, (uint32_t *)p);
	case CK_KERNELS:
		return ctrl_dec_kernels(d, f, item, msg);
	case CK_OBJ:
		if (!cJSON_IsObject(item)) {
			return ctrl_bad(d, f->why_type);
		}
		return ctrl_dec_object(d, f->sub, item, msg);
	}
	return ctrl_bad(d, "internal error: unknown field kind");
}

/* Every key of obj must be a field of t, once; every field not optional must be there. */
static int
ctrl_dec_object(struct ctrl_dec *d, const struct ctrl_table *t, const cJSON *obj,
		struct rpci_ctrl_msg *msg)
{
	bool seen[CTRL_FIELDS_MAX] = { false };
	const struct ctrl_field *f;
	const cJSON *item;
	unsigned int i;
	int rc;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; i < t->nb; i++) {
			if (strcmp(item->string, t->fields[i].key) == 0) {
				break;
			}
		}
		if (i == t->nb) {
			return ctrl_bad(d, t->why_unknown);
		}
		if (seen[i]) {
			return ctrl_bad(d, t->why_repeated);
		}
		seen[i] = true;
		rc = ctrl_dec_field(d, &t->fields[i], item, msg);
		if (rc < 0) {
			return rc;
		}
	}
	for (i = 0; i < t->nb; i++) {
		f = &t->fields[i];
		if (seen[i]) {
			continue;
		}
		if ((f->flags & CF_OPT) == 0) {
			return ctrl_bad(d, f->why_missing);
		}
		if (f->kind == CK_BOOL) {
			*(bool *)(void *)((char *)msg + f->off) = f->def;
		}
	}
	return 0;
}

/* The first member called key (repeats are refused later). */
static const cJSON *
ctrl_member(const cJSON *obj, const char *key)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, obj) {
		if (strcmp(item->string, key) == 0) {
			return item;
		}
	}
	return NULL;
}

/* Rules between fields. */
static const char *
ctrl_cross_check(const struct rpci_ctrl_msg *msg)
{
	if (msg->type == RPCI_CTRL_STATUS && msg->u.status.st.in_use &&
	    ctrl_mac_zero(msg->u.status.st.client_mac)) {
		return "missing \"st.client_mac\" of a device in use";
	}
	if (msg->type == RPCI_CTRL_STATUS && msg->u.status.st.session != 0 &&
	    ctrl_mac_zero(msg->u.status.st.client_mac)) {
		return "missing \"st.client_mac\" of a session";
	}
	return NULL;
}

static int
ctrl_decode_json(struct ctrl_dec *d, struct rpci_ctrl_msg *msg)
{
	const cJSON *v, *type;
	const char *cross;
	cJSON *root;
	unsigned int t;
	int rc;

	root = cJSON_ParseWithLengthOpts(d->text, d->len + 1, NULL, true);
	if (root == NULL) {
		return ctrl_bad(d, "not JSON");
	}
	rc = ctrl_bind_numbers(d, root);
	if (rc < 0) {
		goto free_root;
	}
	if (d->nb_bound != d->nb_nums) {
		rc = ctrl_bad(d, "not JSON: numbers do not match");
		goto free_root;
	}
	if (!cJSON_IsObject(root)) {
		rc = ctrl_bad(d, "not a JSON object");
		goto free_root;
	}
	/* The version first: a later version may have other types and fields. */
	v = ctrl_member(root, "v");
	if (v == NULL) {
		rc = ctrl_bad(d, g_header_fields[0].why_missing);
		goto free_root;
	}
	rc = ctrl_dec_field(d, &g_header_fields[0], v, msg);
	if (rc < 0) {
		goto free_root;
	}
	type = ctrl_member(root, "type");
	if (type == NULL || !cJSON_IsString(type)) {
		rc = ctrl_bad(d, type == NULL ? g_header_fields[1].why_missing :
						g_header_fields[1].why_type);
		goto free_root;
	}
	for (t = 0; t < CTRL_DIM(g_type_names); t++) {
		if (g_type_names[t] != NULL && strcmp(type->valuestring, g_type_names[t]) == 0) {
			break;
		}
	}
	if (t == CTRL_DIM(g_type_names)) {
		d->why = "unknown type";
		rc = -EPROTO;
		goto free_root;
	}
	msg->type = (enum rpci_ctrl_type)t;
	rc = ctrl_dec_object(d, &g_types[t], root, msg);
	if (rc < 0) {
		goto free_root;
	}
	cross = ctrl_cross_check(msg);
	if (cross != NULL) {
		rc = ctrl_bad(d, cross);
	}
free_root:
	cJSON_Delete(root);
	return rc;
}

int
rpci_ctrl_decode(const void *buf, size_t len, struct rpci_ctrl_msg *msg, const char **why)
{
	struct ctrl_dec *d;
	int rc;

	if (why != NULL) {
		*why = NULL;
	}
	if (msg == NULL || (buf == NULL && len != 0)) {
		if (why != NULL) {
			*why = "no message or no buffer";
		}
		return -EINVAL;
	}
	memset(msg, 0, sizeof(*msg));
	if (len > RPCI_CTRL_MAX) {
		if (why != NULL) {
			*why = "longer than RPCI_CTRL_MAX";
		}
		return -EMSGSIZE;
	}
	/* About 13 KB: on the heap, as cJSON's nodes are. */
	d = malloc(sizeof(*d));
	if (d == NULL) {
		if (why != NULL) {
			*why = "out of memory";
		}
		return -ENOMEM;
	}
	d->len = len;
	d->nb_nums = 0;
	d->nb_bound = 0;
	d->why = NULL;
	if (len != 0) {
		memcpy(d->text, buf, len);
	}
	d->text[len] = '\0';
	rc = ctrl_scan(d);
	if (rc == 0) {
		rc = ctrl_decode_json(d, msg);
	}
	if (rc < 0) {
		memset(msg, 0, sizeof(*msg));
		if (why != NULL) {
			*why = d->why != NULL ? d->why : "not JSON";
		}
	}
	free(d);
	return rc;
}

/* Encoding. */

/* A number's text as a cJSON raw member (cJSON would print 1e15 as "1e+15"). */
static int
ctrl_add_raw(cJSON *obj, const char *key, const char *text)
{
	return cJSON_AddRawToObject(obj, key, text) != NULL ? 0 : -ENOMEM;
}

static int
ctrl_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char text[CTRL_U64_DIGITS + 1];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	if (v <= CTRL_JSON_INT_MAX) {
		return ctrl_add_raw(obj, key, text);
	}
	return cJSON_AddStringToObject(obj, key, text) != NULL ? 0 : -ENOMEM;
}

/* The shortest text that reads back as v, with '.' whatever the locale. */
static int
ctrl_add_double(cJSON *obj, const char *key, double v)
{
	char text[40];
	int prec;
	size_t i;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(text, sizeof(text), "%.*g", prec, v);
		if (strtod(text, NULL) == v) {
			break;
		}
	}
	for (i = 0; text[i] != '\0'; i++) {
		if (!ctrl_is_digit(text[i]) && strchr("+-eE", text[i]) == NULL) {
			text[i] = '.';
		}
	}
	return ctrl_add_raw(obj, key, text);
}

static int
ctrl_add_bool(cJSON *obj, const char *key, bool v)
{
	return cJSON_AddBoolToObject(obj, key, v) != NULL ? 0 : -ENOMEM;
}

static int
ctrl_add_string(cJSON *obj, const char *key, const char *v)
{
	return cJSON_AddStringToObject(obj, key, v) != NULL ? 0 : -ENOMEM;
}

/* One more string at the end of an array. */
static int
ctrl_push_string(cJSON *arr, const char *v)
{
	cJSON *s;

	s = cJSON_CreateString(v);
	if (s == NULL) {
		return -ENOMEM;
	}
	if (!cJSON_AddItemToArray(arr, s)) {
		cJSON_Delete(s);
		return -ENOMEM;
	}
	return 0;
}

static int
ctrl_enc_kinds(cJSON *obj, const struct ctrl_field *f, uint32_t mask)
{
	cJSON *arr;
	unsigned int i;
	int rc;

	if ((mask & ~CTRL_KINDS_ALL) != 0) {
		return -EINVAL;
	}
	if (mask == 0 && (f->flags & CF_OPT) != 0) {
		return 0;
	}
	arr = cJSON_AddArrayToObject(obj, f->key);
	if (arr == NULL) {
		return -ENOMEM;
	}
	for (i = 0; i < CTRL_DIM(g_kind_names); i++) {
		if ((mask & (UINT32_C(1) << i)) != 0) {
			rc = ctrl_push_string(arr, g_kind_names[i]);
			if (rc < 0) {
				return rc;
			}
		}
	}
	return 0;
}

static int
ctrl_enc_kernels(cJSON *obj, const struct ctrl_field *f, const struct rpci_ctrl_msg *msg)
{
	const char (*names)[RPCI_SEL_NAME_MAX] = (const void *)((const char *)msg + f->off);
	uint32_t n = *(const uint32_t *)(const void *)((const char *)msg + f->aux), i, j;
	cJSON *arr;
	int rc;

	if (n > RPCI_SEL_KERNELS_MAX) {
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!ctrl_name_ok(names[i], RPCI_SEL_NAME_MAX, false)) {
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(names[i], names[j]) == 0) {
				return -EINVAL;
			}
		}
	}
	arr = cJSON_AddArrayToObject(obj, f->key);
	if (arr == NULL) {
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		rc = ctrl_push_string(arr, names[i]);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* An integer field in its range; optional zero is left out. */
static int
ctrl_enc_int(cJSON *obj, const struct ctrl_field *f, int64_t v)
{
	char text[24];

	if (v < f->min || v > f->max) {
		return -EINVAL;
	}
	if (v == 0 && (f->flags & CF_OPT) != 0) {
		return 0;
	}
	snprintf(text, sizeof(text), "%" PRId64, v);
	return ctrl_add_raw(obj, f->key, text);
}

static int ctrl_enc_object(cJSON *obj, const struct ctrl_table *t,
			   const struct rpci_ctrl_msg *msg);

/* One field of msg, checked as the decoder would check it. */
static int
ctrl_enc_field(cJSON *obj, const struct ctrl_field *f, const struct rpci_ctrl_msg *msg)
{
	const void *p = (const char *)msg + f->off;
	char mac[18];
	cJSON *sub;
	size_t len;
	bool opt = (f->flags & CF_OPT) != 0;
	int rc;
	double load;
	uint64_t u;

	switch (f->kind) {
	case CK_VERSION:
		return ctrl_add_raw(obj, f->key, "1");
	case CK_TYPE:
		return ctrl_add_string(obj, f->key, g_type_names[msg->type]);
	case CK_U64:
		u = *(const uint64_t *)p;
		if (u == 0 && opt) {
			return 0;
		}
		return ctrl_add_u64(obj, f->key, u);
	case CK_U32:
		return ctrl_enc_int(obj, f, *(const uint32_t *)p);
	case CK_U16:
		return ctrl_enc_int(obj, f, *(const uint16_t *)p);
	case CK_I32:
		return ctrl_enc_int(obj, f, *(const int32_t *)p);
	case CK_LOAD:
		load = *(const double *)p;
		if (!isfinite(load) || load < 0) {
			return -EINVAL;
		}
		return ctrl_add_double(obj, f->key, load == 0 ? 0.0 : load);
	case CK_BOOL:
		if (opt && *(const bool *)p == f->def) {
			return 0;
		}
		return ctrl_add_bool(obj, f->key, *(const bool *)p);
	case CK_NAME:
		if (!ctrl_name_ok(p, f->size, opt)) {
			return -EINVAL;
		}
		if (opt && *(const char *)p == '\0') {
			return 0;
		}
		return ctrl_add_string(obj, f->key, p);
	case CK_TEXT:
		len = strnlen(p, f->size);
		if (len == f->size || !ctrl_utf8_ok(p, len)) {
			return -EINVAL;
		}
		if (opt && len == 0) {
			return 0;
		}
		return ctrl_add_string(obj, f->key, p);
	case CK_MAC:
		if (opt && ctrl_mac_zero(p)) {
			return 0;
		}
		if (!ctrl_mac_ok(p)) {
			return -EINVAL;
		}
		return ctrl_add_string(obj, f->key, rpci_ctrl_mac_str(p, mac));
	case CK_KINDS:
		return ctrl_enc_kinds(obj, f, *(const uint32_t *)p);
	case CK_KERNELS:
		return ctrl_enc_kernels(obj, f, msg);
	case CK_OBJ:
		sub = cJSON_AddObjectToObject(obj, f->key);
		if (sub == NULL) {
			return -ENOMEM;
		}
		rc = ctrl_enc_object(sub, f->sub, msg);
		if (rc == 0 && opt && sub->child == NULL) {
			cJSON_DeleteItemFromObjectCaseSensitive(obj, f->key); /* all zero: absent */
		}
		return rc;
	}
	return -EINVAL;
}

static int
ctrl_enc_object(cJSON *obj, const struct ctrl_table *t, const struct rpci_ctrl_msg *msg)
{
	unsigned int i;
	int rc;

	for (i = 0; i < t->nb; i++) {
		rc = ctrl_enc_field(obj, &t->fields[i], msg);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int
rpci_ctrl_encode(const struct rpci_ctrl_msg *msg, char *buf, size_t size)
{
	char text[RPCI_CTRL_MAX + CTRL_PRINT_SLACK];
	cJSON *root;
	size_t len;
	int rc;

	if (msg == NULL || (buf == NULL && size != 0) ||
	    rpci_ctrl_type_name(msg->type) == NULL || ctrl_cross_check(msg) != NULL) {
		return -EINVAL;
	}
	root = cJSON_CreateObject();
	if (root == NULL) {
		return -ENOMEM;
	}
	rc = ctrl_enc_object(root, &g_types[msg->type], msg);
	if (rc < 0) {
		goto free_root;
	}
	if (!cJSON_PrintPreallocated(root, text, (int)sizeof(text), false)) {
		rc = -EMSGSIZE;
		goto free_root;
	}
	len = strlen(text);
	if (len > RPCI_CTRL_MAX || len > size) {
		rc = -EMSGSIZE;
		goto free_root;
	}
	memcpy(buf, text, len);
	if (len < size) {
		buf[len] = '\0';
	}
	rc = (int)len;
free_root:
	cJSON_Delete(root);
	return rc;
}
