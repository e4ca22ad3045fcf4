/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Deployment file loader (libconfig 1.5).
 *
 * The file is parsed by libconfig, then walked one section at a time
 * (link, hosts, each host's eal group, each server's devices), checking every
 * setting's type, range and name; any setting a section does not know is an
 * error, so that a typo is not silently ignored. Cross-host checks (a
 * client's server and device) run once all hosts are read. The first error
 * stops the load and is reported as "file:line - what is wrong".
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "rpci_conf.h"

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
#define BACKEND_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"
#define LCORES_CHARS "0123456789,-@()"
#define CONF_DIM(a) (sizeof(a) / sizeof((a)[0]))

/* State of one load: where messages go and what is being parsed. */
struct parse {
	const char *name; /* file name used in messages */
	char *err;
	size_t err_len;
	/* What is being parsed, for messages ("host 'server0'", "link"). */
	char where[128];
	/* Value errors are prefixed with "<where>: " (not in link). */
	bool prefix;
	/* Clients: their "server" and "device" settings (NULL if absent). */
	const config_setting_t *server_s[RPCI_CONF_HOSTS_MAX];
	const config_setting_t *device_s[RPCI_CONF_HOSTS_MAX];
	/* The file's profiles, read before the hosts that name them. */
	const struct rpci_conf *conf;
};

static const char *const g_root_keys[] = {
	"link", "hosts", "selector", "auth", "profiles", NULL,
};
static const char *const g_selector_keys[] = {
	"host", "policy", "heartbeat_ms", "missed_heartbeats", "lease_ms", "explore", "seed",
	"client_max_devices", "client_max_requests", NULL,
};
static const char *const g_auth_keys[] = {
	"mode", "dir", "window_ms", "sessions", "cipher", NULL,
};

static const char *const g_link_keys[] = {
	"ethertype", "crc_payload", "mtu", "frame_max", "max_payload", "replay_frames",
	"retransmit_us",
	"retransmit_max", "keepalive_ms", "dead_ms", "request_timeout_ms", "burst", "mbufs",
	"sleep_max_us", "spin_polls", "copy_threshold", "faults", "encrypt", NULL,
};

static const char *const g_host_keys[] = {
	"name", "roles", "mac", "port", "idle", "eal", "devices", "server", "device", "console",
	"proxy", "file_dir", "file_save", "frame_max", "crc_payload", NULL,
};

static const char *const g_eal_keys[] = {
	"lcores", "memory_mb", "no_huge", "no_pci", "file_prefix", "log_level", "vdevs", "extra",
	NULL,
};

static const char *const g_proxy_keys[] = {
	"socket", "owner", "group", "mode", "max_programs", NULL,
};

static const char *const g_console_keys[] = {
	"socket", "owner", "group", "mode", "admin", NULL,
};

static const char *const g_device_keys[] = {
	"name", "kind", "backend", "memory_mb", "vendor_id", "device_id", "subsystem_vendor_id",
	"subsystem_id", "class_code", "revision", "threads", "slowdown", "profile", NULL,
};

/* A "pci" device: a real function of the host and its access policy. */
static const char *const g_pci_device_keys[] = { "name", "kind", "address", "access", NULL };
static const char *const g_pci_rule_keys[] = { "allow", "bar", "offset", "size", NULL };

static const char *const g_profile_keys[] = {
	"name", "vendor_id", "device_id", "subsystem_vendor_id", "subsystem_id", "class_code",
	"revision", "bar0_size", "bar2_size", NULL,
};

/* The personality settings of a vgpu device or a profile (also the keys a profile replaces). */
static const char *const g_identity_keys[] = {
	"vendor_id", "device_id", "subsystem_vendor_id", "subsystem_id", "class_code", "revision",
	NULL,
};

static const char *const g_pci_allow_names[] = {
	[RPCI_CONF_PCI_CONFIG_READ] = "config-read",
	[RPCI_CONF_PCI_CONFIG] = "config",
	[RPCI_CONF_PCI_BAR_READ] = "bar-read",
	[RPCI_CONF_PCI_BAR_RW] = "bar-rw",
};

/* Smallest BAR0 of a virtual GPU: its registers and submission queue. */
#define VGPU_BAR0_MIN (64ull << 10)
/* The largest BARs rpci's client places (BAR0 at 0xe0000000, BAR2 at 64 GiB). */
#define VGPU_BAR0_MAX (1ull << 28)
#define VGPU_BAR2_MAX (1ull << 36)

/* Write "file:line - message" (or "file - message" when line < 0) to err. */
static void
conf_verr_at(struct parse *p, const char *file, int line, const char *pfx, const char *fmt,
	     va_list ap)
{
	char msg[RPCI_CONF_ERR_MAX];

	if (p->err == NULL || p->err_len == 0) {
		return;
	}
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	if (line < 0) {
		if (snprintf(p->err, p->err_len, "%s - %s%s", file, pfx, msg) < 0) {
			p->err[0] = '\0';
		}
	} else {
		if (snprintf(p->err, p->err_len, "%s:%d - %s%s", file, line, pfx, msg) < 0) {
			p->err[0] = '\0';
		}
	}
}

static int __attribute__((format(printf, 4, 5)))
conf_err_at(struct parse *p, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_verr_at(p, file, line, "", fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Report an error about setting s: at its line, or at the line of the closest
 * enclosing setting that has one (array elements and the root have none).
 */
static void
conf_verr(struct parse *p, const config_setting_t *s, bool prefixed, const char *fmt, va_list ap)
{
	const config_setting_t *at = s;
	const char *file = p->name;
	char pfx[sizeof(p->where) + 2];
	int line = 1; /* the file as a whole */

	while (at != NULL && config_setting_source_line(at) == 0) {
		at = config_setting_parent(at);
	}
	if (at != NULL) {
		line = (int)config_setting_source_line(at);
		if (config_setting_source_file(at) != NULL) {
			file = config_setting_source_file(at);
		}
	}
	pfx[0] = '\0';
	if (prefixed && p->prefix && p->where[0] != '\0') {
		if (snprintf(pfx, sizeof(pfx), "%s: ", p->where) < 0) {
			pfx[0] = '\0';
		}
	}
	conf_verr_at(p, file, line, pfx, fmt, ap);
}

/* An error about a value, prefixed with what holds it ("host 'x': "). */
static int __attribute__((format(printf, 3, 4)))
conf_err(struct parse *p, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_verr(p, s, true, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An error whose message says itself where it is. */
static int __attribute__((format(printf, 3, 4)))
conf_err_plain(struct parse *p, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_verr(p, s, false, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void __attribute__((format(printf, 3, 4)))
conf_where(struct parse *p, bool prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(p->where, sizeof(p->where), fmt, ap) < 0) {
		p->where[0] = '\0';
	}
	va_end(ap);
	p->prefix = prefix;
}

static bool
conf_key_known(const char *name, const char *const keys[])
{
	unsigned int i;

	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(name, keys[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* Refuse any setting of group grp that is not in keys. */
static int
conf_check_keys(struct parse *p, const config_setting_t *grp, const char *const keys[])
{
	const config_setting_t *s;
	const char *name;
	int i, n;

	n = config_setting_length(grp);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(grp, (unsigned int)i);
		name = config_setting_name(s);
		if (name == NULL || conf_key_known(name, keys)) {
			continue;
		}
		if (p->where[0] == '\0') {
			return conf_err_plain(p, s, "unknown setting '%s'", name);
		}
		return conf_err_plain(p, s, "unknown setting '%s' in %s", name, p->where);
	}
	return 0;
}

/* Format v for a message: in hex if hex, else in decimal. */
static const char *
conf_num(char *buf, size_t len, long long v, bool hex)
{
	if (hex && v >= 0) {
		snprintf(buf, len, "0x%llx", v);
	} else {
		snprintf(buf, len, "%lld", v);
	}
	return buf;
}

/*
 * Integer setting key of grp, in lo..hi. Returns 1 with *out set if present,
 * 0 if absent (and not required), -EINVAL otherwise. hex: show the range in
 * hex in messages. *sp, if not NULL, is set to the setting (NULL if absent).
 */
static int
conf_int(struct parse *p, const config_setting_t *grp, const char *key, bool required, long long lo,
	 long long hi, bool hex, long long *out, const config_setting_t **sp)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	char v_buf[32], lo_buf[32], hi_buf[32];
	long long v;
	bool v_hex;

	if (sp != NULL) {
		*sp = s;
	}
	if (s == NULL) {
		if (required) {
			return conf_err(p, grp, "missing '%s'", key);
		}
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		return conf_err(p, s, "'%s' must be an integer", key);
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		v_hex = config_setting_get_format(s) == CONFIG_FORMAT_HEX;
		return conf_err(p, s, "'%s' %s is out of range (%s..%s)", key,
				conf_num(v_buf, sizeof(v_buf), v, v_hex),
				conf_num(lo_buf, sizeof(lo_buf), lo, hex),
				conf_num(hi_buf, sizeof(hi_buf), hi, hex));
	}
	*out = v;
	return 1;
}

/* conf_int() for a uint32_t field; *out is left alone if the setting is absent. */
static int
conf_u32(struct parse *p, const config_setting_t *grp, const char *key, bool required, uint32_t lo,
	 uint32_t hi, bool hex, uint32_t *out, const config_setting_t **sp)
{
	long long v;
	int rc;

	rc = conf_int(p, grp, key, required, lo, hi, hex, &v, sp);
	if (rc == 1) {
		*out = (uint32_t)v;
	}
	return rc;
}

/* Boolean setting; *out is left alone if absent. */
static int
conf_bool(struct parse *p, const config_setting_t *grp, const char *key, bool *out)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (s == NULL) {
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		return conf_err(p, s, "'%s' must be a boolean (true or false)", key);
	}
	*out = config_setting_get_bool(s) != 0;
	return 1;
}

/* Copy a string value that must fit in size bytes; what names it in messages. */
static int
conf_copy_str(struct parse *p, const config_setting_t *s, const char *what, char *buf,
	      size_t size)
{
	const char *v = config_setting_get_string(s);
	size_t len;

	if (v == NULL) {
		return conf_err(p, s, "%s must be a string", what);
	}
	len = strlen(v);
	if (len >= size) {
		return conf_err(p, s, "%s is too long (%zu characters, at most %zu)", what, len,
				size - 1);
	}
	memcpy(buf, v, len + 1);
	return 0;
}

/*
 * String setting; *sp, if not NULL, is set to it (NULL if absent). Returns 1
 * if present (buf set), 0 if absent and not required, -EINVAL otherwise.
 */
static int
conf_str(struct parse *p, const config_setting_t *grp, const char *key, bool required, char *buf,
	 size_t size, const config_setting_t **sp)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	char what[64];
	int rc;

	if (sp != NULL) {
		*sp = s;
	}
	if (s == NULL) {
		if (required) {
			return conf_err(p, grp, "missing '%s'", key);
		}
		return 0;
	}
	snprintf(what, sizeof(what), "'%s'", key);
	rc = conf_copy_str(p, s, what, buf, size);
	if (rc < 0) {
		return rc;
	}
	return 1;
}

/* A name: 1..RPCI_CONF_NAME_MAX - 1 characters of chars. */
static int
conf_check_name(struct parse *p, const config_setting_t *s, const char *key, const char *v,
		const char *chars, const char *chars_text)
{
	if (v[0] == '\0') {
		return conf_err(p, s, "'%s' must not be empty", key);
	}
	if (v[strspn(v, chars)] != '\0') {
		return conf_err(p, s, "'%s' '%s' has a character other than %s", key, v,
				chars_text);
	}
	return 0;
}

/* A required name setting: string, 1..31 characters of chars. */
static int
conf_name(struct parse *p, const config_setting_t *grp, const char *key, bool required, char *buf,
	  const char *chars, const char *chars_text, const config_setting_t **sp)
{
	int rc;

	rc = conf_str(p, grp, key, required, buf, RPCI_CONF_NAME_MAX, sp);
	if (rc <= 0) {
		return rc;
	}
	if (conf_check_name(p, *sp, key, buf, chars, chars_text) < 0) {
		return -EINVAL;
	}
	return 1;
}

/* An array of strings (at most max, none empty) into arr[]; absent: 0 entries. */
static int
conf_str_array(struct parse *p, const config_setting_t *grp, const char *key,
	       char (*arr)[RPCI_CONF_STR_MAX], unsigned int max, unsigned int *nb)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	const config_setting_t *e;
	char what[64];
	unsigned int i, n;

	*nb = 0;
	if (s == NULL) {
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		return conf_err(p, s, "'%s' must be an array of strings", key);
	}
	n = (unsigned int)config_setting_length(s);
	if (n > max) {
		return conf_err(p, s, "'%s' has %u entries, at most %u", key, n, max);
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			return conf_err(p, e, "'%s' must be an array of strings", key);
		}
		snprintf(what, sizeof(what), "'%s' entry %u", key, i + 1);
		if (conf_copy_str(p, e, what, arr[i], RPCI_CONF_STR_MAX) < 0) {
			return -EINVAL;
		}
		if (arr[i][0] == '\0') {
			return conf_err(p, e, "%s is empty", what);
		}
	}
	*nb = n;
	return 1;
}

/* Parse "xx:xx:xx:xx:xx:xx" (hex, either case). */
static int
conf_parse_mac(const char *s, uint8_t mac[6])
{
	char hex[3];
	char *end;
	unsigned int i;

	if (strlen(s) != 17) {
		return -EINVAL;
	}
	for (i = 0; i < 6; i++) {
		const char *b = s + i * 3;

		if (strspn(b, "0123456789abcdefABCDEF") < 2) {
			return -EINVAL;
		}
		if (i < 5 && b[2] != ':') {
			return -EINVAL;
		}
		memcpy(hex, b, 2);
		hex[2] = '\0';
		mac[i] = (uint8_t)strtoul(hex, &end, 16);
		if (*end != '\0') {
			return -EINVAL;
		}
	}
	return 0;
}

static const char *const g_faults_keys[] = { "seed", "tx", "rx", NULL };
static const char *const g_fault_rate_keys[] = { "drop", "dup", "reorder", "corrupt", NULL };

/* An optional number (float or integer) in [min, max]. */
static int
conf_number(struct parse *p, const config_setting_t *grp, const char *key, double min,
	    double max, double *out)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	double v;

	if (s == NULL) {
		return 0;
	}
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
		v = config_setting_get_float(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_INT ||
		   config_setting_type(s) == CONFIG_TYPE_INT64) {
		v = (double)config_setting_get_int64(s);
	} else {
		return conf_err(p, s, "'%s' must be a number", key);
	}
	if (!(v >= min && v <= max)) {
		return conf_err(p, s, "'%s' %g is out of range (%g..%g)", key, v, min, max);
	}
	*out = v;
	return 0;
}

/* Group link.faults.tx or .rx: the rates of one direction. */
static int
parse_fault_rates(struct parse *p, const config_setting_t *faults, const char *dir,
		  struct rpci_conf_faults *f)
{
	const config_setting_t *grp = config_setting_get_member(faults, dir);

	if (grp == NULL) {
		return 0;
	}
	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'%s' must be a group: %s = { drop = 0.01; ... };", dir,
				dir);
	}
	if (conf_check_keys(p, grp, g_fault_rate_keys) < 0 ||
	    conf_number(p, grp, "drop", 0.0, 1.0, &f->drop) < 0 ||
	    conf_number(p, grp, "dup", 0.0, 1.0, &f->dup) < 0 ||
	    conf_number(p, grp, "reorder", 0.0, 1.0, &f->reorder) < 0 ||
	    conf_number(p, grp, "corrupt", 0.0, 1.0, &f->corrupt) < 0) {
		return -EINVAL;
	}
	return 0;
}

/* Group link.faults: the built-in fault injector. */
static int
parse_faults(struct parse *p, const config_setting_t *link_grp, struct rpci_conf_link *link)
{
	const config_setting_t *grp = config_setting_get_member(link_grp, "faults");
	const config_setting_t *seed_s;

	if (grp == NULL) {
		return 0;
	}
	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'faults' must be a group: faults = { ... };");
	}
	if (conf_check_keys(p, grp, g_faults_keys) < 0) {
		return -EINVAL;
	}
	seed_s = config_setting_get_member(grp, "seed");
	if (seed_s != NULL) {
		if (config_setting_type(seed_s) != CONFIG_TYPE_INT &&
		    config_setting_type(seed_s) != CONFIG_TYPE_INT64) {
			return conf_err(p, seed_s, "'seed' must be an integer");
		}
		link->faults_seed = (uint64_t)config_setting_get_int64(seed_s);
	}
	if (parse_fault_rates(p, grp, "tx", &link->faults_tx) < 0 ||
	    parse_fault_rates(p, grp, "rx", &link->faults_rx) < 0) {
		return -EINVAL;
	}
	return 0;
}

/*
 * The port settings a link section and a host may both give: frame_max (0,
 * or RPCI_CONF_FRAME_MIN..RPCI_CONF_FRAME_MAX) and crc_payload.
 */
static int
parse_port_settings(struct parse *p, const config_setting_t *grp, uint32_t *frame_max,
		    bool *crc_payload, bool *crc_payload_set)
{
	const config_setting_t *fs;
	int rc;

	rc = conf_bool(p, grp, "crc_payload", crc_payload);
	if (rc < 0) {
		return -EINVAL;
	}
	*crc_payload_set = rc == 1;
	if (conf_u32(p, grp, "frame_max", false, 0, RPCI_CONF_FRAME_MAX, false, frame_max,
		     &fs) < 0) {
		return -EINVAL;
	}
	if (*frame_max != 0 && *frame_max < RPCI_CONF_FRAME_MIN) {
		return conf_err(p, fs, "'frame_max' %" PRIu32 " must be 0 (the port's own) or "
				"%u..%u", *frame_max, RPCI_CONF_FRAME_MIN, RPCI_CONF_FRAME_MAX);
	}
	return 0;
}

/* Section "link": all optional. */
static int
parse_link(struct parse *p, const config_setting_t *root, struct rpci_conf_link *link)
{
	const config_setting_t *grp, *ka_s, *dead_s, *mp_s;
	uint32_t ethertype = 0x88B5;
	int rc = 0;

	*link = (struct rpci_conf_link){
		.ethertype = 0x88B5,
		.crc_payload = true,
		.mtu = 1500,
		.frame_max = 0,
		.max_payload = 0,
		.replay_frames = 512,
		.retransmit_us = 2000,
		.retransmit_max = 12,
		.keepalive_ms = 100,
		.dead_ms = 3000,
		.request_timeout_ms = 10000,
		.burst = 32,
		.mbufs = 8191,
		.sleep_max_us = 200,
		.spin_polls = 2000,
		.copy_threshold = 256,
		.faults_seed = 1,
	};
	grp = config_setting_get_member(root, "link");
	if (grp == NULL) {
		return 0;
	}
	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'link' must be a group: link = { ... };");
	}
	conf_where(p, false, "link");
	if (conf_check_keys(p, grp, g_link_keys) < 0) {
		return -EINVAL;
	}
	if (conf_u32(p, grp, "ethertype", false, 0x0600, 0xFFFF, true, &ethertype, NULL) < 0 ||
	    conf_bool(p, grp, "encrypt", &link->encrypt) < 0 ||
	    parse_port_settings(p, grp, &link->frame_max, &link->crc_payload,
				&link->crc_payload_set) < 0 ||
	    conf_u32(p, grp, "mtu", false, 576, 9600, false, &link->mtu, NULL) < 0 ||
	    conf_u32(p, grp, "max_payload", false, 0, 4096, false, &link->max_payload, &mp_s) < 0 ||
	    conf_u32(p, grp, "replay_frames", false, 8, 32768, false, &link->replay_frames,
		     NULL) < 0 ||
	    conf_u32(p, grp, "retransmit_us", false, 10, 10000000, false, &link->retransmit_us,
		     NULL) < 0 ||
	    conf_u32(p, grp, "retransmit_max", false, 1, 1000, false, &link->retransmit_max,
		     NULL) < 0 ||
	    conf_u32(p, grp, "keepalive_ms", false, 1, 60000, false, &link->keepalive_ms,
		     &ka_s) < 0 ||
	    conf_u32(p, grp, "dead_ms", false, 1, 600000, false, &link->dead_ms, &dead_s) < 0 ||
	    conf_u32(p, grp, "request_timeout_ms", false, 1, 3600000, false,
		     &link->request_timeout_ms, NULL) < 0 ||
	    conf_u32(p, grp, "burst", false, 1, 512, false, &link->burst, NULL) < 0 ||
	    conf_u32(p, grp, "mbufs", false, 1023, 1048575, false, &link->mbufs, NULL) < 0 ||
	    conf_u32(p, grp, "sleep_max_us", false, 0, 100000, false, &link->sleep_max_us,
		     NULL) < 0 ||
	    conf_u32(p, grp, "spin_polls", false, 0, 10000000, false, &link->spin_polls,
		     NULL) < 0 ||
	    conf_u32(p, grp, "copy_threshold", false, 0, 4096, false, &link->copy_threshold,
		     NULL) < 0 ||
	    parse_faults(p, grp, link) < 0) {
		rc = -EINVAL;
		goto restore_where;
	}
	link->ethertype = (uint16_t)ethertype;
	if (link->max_payload != 0 && link->max_payload % 64 != 0) {
		rc = conf_err(p, mp_s, "'max_payload' %" PRIu32
			      " must be 0 or a multiple of 64 in 64..4096", link->max_payload);
		goto restore_where;
	}
	if (link->dead_ms <= link->keepalive_ms) {
		rc = conf_err(p, dead_s != NULL ? dead_s : (ka_s != NULL ? ka_s : grp),
			      "'dead_ms' (%" PRIu32 ") must be greater than 'keepalive_ms' (%"
			      PRIu32 ")", link->dead_ms, link->keepalive_ms);
		goto restore_where;
	}
restore_where:
	conf_where(p, false, "%s", "");
	return rc;
}

/* Group "eal" of a host. */
static int
parse_eal(struct parse *p, const config_setting_t *hgrp, struct rpci_conf_host *host)
{
	struct rpci_conf_eal *eal = &host->eal;
	const config_setting_t *grp, *s;
	char host_where[sizeof(p->where)];
	int rc = -EINVAL;

	grp = config_setting_get_member(hgrp, "eal");
	if (grp == NULL) {
		return conf_err(p, hgrp, "missing 'eal'");
	}
	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'eal' must be a group: eal = { ... };");
	}
	memcpy(host_where, p->where, sizeof(host_where));
	conf_where(p, true, "eal of %s", host_where);
	eal->no_pci = true;
	if (conf_check_keys(p, grp, g_eal_keys) < 0) {
		goto restore_where;
	}
	if (conf_str(p, grp, "lcores", true, eal->lcores, sizeof(eal->lcores), &s) < 0) {
		goto restore_where;
	}
	if (eal->lcores[0] == '\0') {
		conf_err(p, s, "'lcores' must not be empty");
		goto restore_where;
	}
	if (eal->lcores[strspn(eal->lcores, LCORES_CHARS)] != '\0') {
		conf_err(p, s, "'lcores' '%s' has a character other than [0-9,-@()]", eal->lcores);
		goto restore_where;
	}
	if (conf_u32(p, grp, "memory_mb", false, 0, 1048576, false, &eal->memory_mb, NULL) < 0 ||
	    conf_bool(p, grp, "no_huge", &eal->no_huge) < 0 ||
	    conf_bool(p, grp, "no_pci", &eal->no_pci) < 0 ||
	    conf_str(p, grp, "file_prefix", false, eal->file_prefix, sizeof(eal->file_prefix),
		     &s) < 0) {
		goto restore_where;
	}
	if (eal->file_prefix[strspn(eal->file_prefix, NAME_CHARS)] != '\0') {
		conf_err(p, s, "'file_prefix' '%s' has a character other than [A-Za-z0-9_.-]",
			 eal->file_prefix);
		goto restore_where;
	}
	if (conf_str(p, grp, "log_level", false, eal->log_level, sizeof(eal->log_level),
		     NULL) < 0 ||
	    conf_str_array(p, grp, "vdevs", eal->vdevs, RPCI_CONF_VDEVS_MAX, &eal->nb_vdevs) < 0 ||
	    conf_str_array(p, grp, "extra", eal->extra, RPCI_CONF_EXTRA_MAX, &eal->nb_extra) < 0) {
		goto restore_where;
	}
	rc = 0;
restore_where:
	memcpy(p->where, host_where, sizeof(host_where));
	p->prefix = true;
	return rc;
}

/*
 * The personality of a vgpu device or a profile (vendor, device, subsystem,
 * class, revision) into the identity fields of id; its name, line and BAR
 * sizes are left alone.
 */
static int
parse_identity(struct parse *p, const config_setting_t *grp, struct rpci_conf_profile *id)
{
	const config_setting_t *s;
	long long v;

	if (conf_int(p, grp, "vendor_id", true, 0, 0xFFFF, true, &v, &s) < 0) {
		return -EINVAL;
	}
	if (v == 0xFFFF) {
		return conf_err(p, s, "vendor_id 0xffff is reserved");
	}
	id->vendor_id = (uint16_t)v;
	if (conf_int(p, grp, "device_id", true, 0, 0xFFFF, true, &v, NULL) < 0) {
		return -EINVAL;
	}
	id->device_id = (uint16_t)v;
	v = 0;
	if (conf_int(p, grp, "subsystem_vendor_id", false, 0, 0xFFFF, true, &v, NULL) < 0) {
		return -EINVAL;
	}
	id->subsystem_vendor_id = (uint16_t)v;
	v = 0;
	if (conf_int(p, grp, "subsystem_id", false, 0, 0xFFFF, true, &v, NULL) < 0) {
		return -EINVAL;
	}
	id->subsystem_id = (uint16_t)v;
	if (conf_u32(p, grp, "class_code", true, 0, 0xFFFFFF, true, &id->class_code, NULL) < 0) {
		return -EINVAL;
	}
	v = 0;
	if (conf_int(p, grp, "revision", false, 0, 255, false, &v, NULL) < 0) {
		return -EINVAL;
	}
	id->revision = (uint8_t)v;
	return 0;
}

/* An optional BAR size of a profile: 0 (absent), or a power of two in lo..hi. */
static int
conf_bar_size(struct parse *p, const config_setting_t *grp, const char *key, long long lo,
	      long long hi, uint64_t *out)
{
	const config_setting_t *s;
	long long v;
	int rc;

	rc = conf_int(p, grp, key, false, lo, hi, true, &v, &s);
	if (rc <= 0) {
		return rc;
	}
	if ((v & (v - 1)) != 0) {
		return conf_err(p, s, "'%s' 0x%llx is not a power of two", key, v);
	}
	*out = (uint64_t)v;
	return 1;
}

/* The BAR2 size a vgpu with memory_bytes of memory has by default: the next power of two. */
static uint64_t
bar2_default(uint64_t memory_bytes)
{
	uint64_t b = VGPU_BAR0_MIN;

	while (b < memory_bytes) {
		b <<= 1;
	}
	return b;
}

/* The settings of a vgpu device (kind "vgpu", the default). */
static int
parse_vgpu_device(struct parse *p, const config_setting_t *grp, struct rpci_conf_device *dev)
{
	const struct rpci_conf_profile *prof = NULL;
	struct rpci_conf_profile own = { .bar0_size = VGPU_BAR0_MIN };
	const config_setting_t *s;
	long long v;
	unsigned int i;

	if (conf_check_keys(p, grp, g_device_keys) < 0 ||
	    conf_name(p, grp, "backend", true, dev->backend, BACKEND_CHARS, "[a-z0-9_]", &s) < 0) {
		return -EINVAL;
	}
	if (conf_int(p, grp, "memory_mb", true, 1, 65536, false, &v, NULL) < 0) {
		return -EINVAL;
	}
	dev->memory_bytes = (uint64_t)v << 20;
	dev->bar0_size = VGPU_BAR0_MIN;
	if (conf_name(p, grp, "profile", false, dev->profile, NAME_CHARS, "[A-Za-z0-9_.-]",
		      &s) < 0) {
		return -EINVAL;
	}
	if (s != NULL) {
		prof = rpci_conf_profile_find(p->conf, dev->profile);
		if (prof == NULL) {
			return conf_err(p, s, "no profile '%s' in the file's 'profiles'",
					dev->profile);
		}
		for (i = 0; g_identity_keys[i] != NULL; i++) {
			const config_setting_t *k = config_setting_get_member(grp,
									      g_identity_keys[i]);

			if (k != NULL) {
				return conf_err(p, k, "'%s' and 'profile' exclude each other "
						"(profile '%s' gives the personality)",
						g_identity_keys[i], prof->name);
			}
		}
		if (prof->bar2_size != 0 && prof->bar2_size < dev->memory_bytes) {
			return conf_err(p, s, "profile '%s' has a BAR2 of 0x%" PRIx64 " bytes, "
					"smaller than the device's memory", prof->name,
					prof->bar2_size);
		}
	} else {
		if (parse_identity(p, grp, &own) < 0) {
			return -EINVAL;
		}
		prof = &own;
	}
	dev->vendor_id = prof->vendor_id;
	dev->device_id = prof->device_id;
	dev->subsystem_vendor_id = prof->subsystem_vendor_id;
	dev->subsystem_id = prof->subsystem_id;
	dev->class_code = prof->class_code;
	dev->revision = prof->revision;
	dev->bar0_size = prof->bar0_size;
	dev->bar2_size = prof->bar2_size;
	if (dev->bar2_size == 0) {
		dev->bar2_size = bar2_default(dev->memory_bytes);
	}
	if (conf_u32(p, grp, "threads", false, 1, 64, false, &dev->threads, NULL) < 0) {
		return -EINVAL;
	}
	s = config_setting_get_member(grp, "slowdown");
	if (s != NULL) {
		if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
			dev->slowdown = config_setting_get_float(s);
		} else if (config_setting_type(s) == CONFIG_TYPE_INT ||
			   config_setting_type(s) == CONFIG_TYPE_INT64) {
			dev->slowdown = (double)config_setting_get_int64(s);
		} else {
			return conf_err(p, s, "'slowdown' must be a number");
		}
		if (!(dev->slowdown >= 1.0 && dev->slowdown <= 1000.0)) {
			return conf_err(p, s, "'slowdown' %g is out of range (1.0..1000.0)",
					dev->slowdown);
		}
	}
	return 0;
}

/* Entry idx of a pci device's "access" list. */
static int
parse_pci_rule(struct parse *p, const config_setting_t *grp, unsigned int idx,
	       struct rpci_conf_pci_rule *r)
{
	const config_setting_t *s;
	const char *v;
	long long n;
	unsigned int i;

	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'access' entry %u must be a group: { allow = \"...\"; }",
				idx + 1);
	}
	r->line = (int)config_setting_source_line(grp);
	if (conf_check_keys(p, grp, g_pci_rule_keys) < 0) {
		return -EINVAL;
	}
	s = config_setting_get_member(grp, "allow");
	if (s == NULL) {
		return conf_err(p, grp, "'access' entry %u: missing 'allow'", idx + 1);
	}
	v = config_setting_get_string(s);
	for (i = 0; v != NULL && i < CONF_DIM(g_pci_allow_names); i++) {
		if (strcmp(v, g_pci_allow_names[i]) == 0) {
			break;
		}
	}
	if (v == NULL || i == CONF_DIM(g_pci_allow_names)) {
		return conf_err(p, s, "'allow' must be \"config-read\", \"config\", \"bar-read\" "
				"or \"bar-rw\"");
	}
	r->allow = (enum rpci_conf_pci_allow)i;
	if (r->allow == RPCI_CONF_PCI_CONFIG_READ || r->allow == RPCI_CONF_PCI_CONFIG) {
		for (i = 1; g_pci_rule_keys[i] != NULL; i++) {
			s = config_setting_get_member(grp, g_pci_rule_keys[i]);
			if (s != NULL) {
				return conf_err(p, s, "'%s' is for bar-read and bar-rw rules, not "
						"%s", g_pci_rule_keys[i], v);
			}
		}
		return 0;
	}
	if (conf_int(p, grp, "bar", true, 0, 5, false, &n, NULL) < 0) {
		return -EINVAL;
	}
	r->bar = (uint8_t)n;
	n = 0;
	if (conf_int(p, grp, "offset", false, 0, 1ll << 48, true, &n, NULL) < 0) {
		return -EINVAL;
	}
	r->offset = (uint64_t)n;
	if (conf_int(p, grp, "size", true, 1, 1ll << 48, true, &n, NULL) < 0) {
		return -EINVAL;
	}
	r->size = (uint64_t)n;
	return 0;
}

/* The settings of a pci device: "address" and "access". */
static int
parse_pci_device(struct parse *p, const config_setting_t *grp, struct rpci_conf_device *dev)
{
	const config_setting_t *s, *list;
	const char *v;
	unsigned int i, n;

	for (i = 0; g_device_keys[i] != NULL; i++) {
		if (!conf_key_known(g_device_keys[i], g_pci_device_keys)) {
			s = config_setting_get_member(grp, g_device_keys[i]);
			if (s != NULL) {
				return conf_err(p, s, "'%s' is not for a pci device (kind \"pci\" "
						"takes address and access)", g_device_keys[i]);
			}
		}
	}
	if (conf_check_keys(p, grp, g_pci_device_keys) < 0) {
		return -EINVAL;
	}
	s = config_setting_get_member(grp, "address");
	if (s == NULL) {
		return conf_err(p, grp, "missing 'address' (the function's \"0000:00:03.0\")");
	}
	v = config_setting_get_string(s);
	if (v == NULL || rpci_conf_pci_address_parse(v, &dev->pci_domain, &dev->pci_bus,
						     &dev->pci_dev, &dev->pci_func) < 0) {
		return conf_err(p, s, "'address' must be a PCI address \"DDDD:BB:DD.F\" or "
				"\"BB:DD.F\" (hexadecimal)");
	}
	list = config_setting_get_member(grp, "access");
	if (list == NULL) {
		return 0; /* configuration reads only */
	}
	if (config_setting_type(list) != CONFIG_TYPE_LIST &&
	    !(config_setting_type(list) == CONFIG_TYPE_ARRAY &&
	      config_setting_length(list) == 0)) {
		return conf_err(p, list, "'access' must be a list: access = ( { allow = "
				"\"bar-read\"; bar = 0; size = 0x1000; } );");
	}
	n = (unsigned int)config_setting_length(list);
	if (n > RPCI_CONF_PCI_RULES_MAX) {
		return conf_err(p, list, "'access' has %u entries, at most %d", n,
				RPCI_CONF_PCI_RULES_MAX);
	}
	for (i = 0; i < n; i++) {
		if (parse_pci_rule(p, config_setting_get_elem(list, i), i, &dev->rules[i]) < 0) {
			return -EINVAL;
		}
	}
	dev->nb_rules = n;
	return 0;
}

/* Entry idx of a server's "devices" list. */
static int
parse_device(struct parse *p, const config_setting_t *grp, unsigned int idx,
	     struct rpci_conf_host *host)
{
	struct rpci_conf_device *dev = &host->devices[idx];
	const config_setting_t *s;
	char host_where[sizeof(p->where)];
	const char *v;
	unsigned int i;
	int rc = -EINVAL;

	memcpy(host_where, p->where, sizeof(host_where));
	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'devices' entry %u must be a group: { name = ...; ... }",
				idx + 1);
	}
	dev->line = (int)config_setting_source_line(grp);
	dev->threads = 1;
	dev->slowdown = 1.0;
	conf_where(p, true, "device #%u of %s", idx + 1, host_where);
	if (conf_name(p, grp, "name", true, dev->name, NAME_CHARS, "[A-Za-z0-9_.-]", &s) < 0) {
		goto restore_where;
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(host->devices[i].name, dev->name) == 0) {
			conf_err(p, s, "duplicate device name '%s' (first at line %d)", dev->name,
				 host->devices[i].line);
			goto restore_where;
		}
	}
	conf_where(p, true, "device '%s' of %s", dev->name, host_where);
	dev->kind = RPCI_CONF_DEV_VGPU;
	s = config_setting_get_member(grp, "kind");
	if (s != NULL) {
		v = config_setting_get_string(s);
		if (v != NULL && strcmp(v, "pci") == 0) {
			dev->kind = RPCI_CONF_DEV_PCI;
		} else if (v == NULL || strcmp(v, "vgpu") != 0) {
			conf_err(p, s, "'kind' must be \"vgpu\" or \"pci\"");
			goto restore_where;
		}
	}
	if (dev->kind == RPCI_CONF_DEV_PCI) {
		rc = parse_pci_device(p, grp, dev);
	} else {
		rc = parse_vgpu_device(p, grp, dev);
	}
restore_where:
	memcpy(p->where, host_where, sizeof(host_where));
	p->prefix = true;
	return rc;
}

/* List "devices" of a host: required for servers, refused for others. */
static int
parse_devices(struct parse *p, const config_setting_t *hgrp, struct rpci_conf_host *host)
{
	const config_setting_t *grp = config_setting_get_member(hgrp, "devices");
	unsigned int i, j, n;

	if (!(host->roles & RPCI_ROLE_SERVER)) {
		if (grp != NULL) {
			return conf_err(p, grp, "'devices' is only for server hosts");
		}
		return 0;
	}
	if (grp == NULL) {
		return conf_err(p, hgrp, "missing 'devices' (a server host serves 1..%d devices)",
				RPCI_CONF_DEVICES_MAX);
	}
	if (config_setting_type(grp) != CONFIG_TYPE_LIST &&
	    !(config_setting_type(grp) == CONFIG_TYPE_ARRAY && config_setting_length(grp) == 0)) {
		return conf_err(p, grp, "'devices' must be a list: devices = ( { ... } );");
	}
	n = (unsigned int)config_setting_length(grp);
	if (n < 1 || n > RPCI_CONF_DEVICES_MAX) {
		return conf_err(p, grp, "'devices' has %u entries, must have 1..%d", n,
				RPCI_CONF_DEVICES_MAX);
	}
	for (i = 0; i < n; i++) {
		const struct rpci_conf_device *d = &host->devices[i];

		if (parse_device(p, config_setting_get_elem(grp, i), i, host) < 0) {
			return -EINVAL;
		}
		for (j = 0; d->kind == RPCI_CONF_DEV_PCI && j < i; j++) {
			const struct rpci_conf_device *o = &host->devices[j];

			if (o->kind == RPCI_CONF_DEV_PCI && o->pci_domain == d->pci_domain &&
			    o->pci_bus == d->pci_bus && o->pci_dev == d->pci_dev &&
			    o->pci_func == d->pci_func) {
				return conf_err_at(p, p->name, d->line, "host '%s': devices '%s' "
						   "and '%s' (line %d) are the same PCI function",
						   host->name, d->name, o->name, o->line);
			}
		}
	}
	host->nb_devices = n;
	return 0;
}

/* "file_dir" and "file_save" of a host: server hosts only. */
static int
parse_file_dir(struct parse *p, const config_setting_t *hgrp, struct rpci_conf_host *host)
{
	const config_setting_t *dir = config_setting_get_member(hgrp, "file_dir");
	const config_setting_t *save = config_setting_get_member(hgrp, "file_save");
	const char *v;

	if (!(host->roles & RPCI_ROLE_SERVER)) {
		if (dir != NULL || save != NULL) {
			return conf_err(p, dir != NULL ? dir : save,
					"'%s' is only for server hosts",
					dir != NULL ? "file_dir" : "file_save");
		}
		return 0;
	}
	if (dir != NULL) {
		v = config_setting_get_string(dir);
		if (v == NULL || v[0] != '/' || strlen(v) >= sizeof(host->file_dir)) {
			return conf_err(p, dir, "'file_dir' must be an absolute path of at most "
					"%zu characters", sizeof(host->file_dir) - 1);
		}
		memcpy(host->file_dir, v, strlen(v) + 1);
	}
	if (conf_bool(p, hgrp, "file_save", &host->file_save) < 0) {
		return -EINVAL;
	}
	if (host->file_save && host->file_dir[0] == '\0') {
		return conf_err(p, save, "'file_save' needs a 'file_dir'");
	}
	return 0;
}

/* Array "roles" of a host. */
static int
parse_roles(struct parse *p, const config_setting_t *hgrp, struct rpci_conf_host *host)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} roles[] = {
		{ "server", RPCI_ROLE_SERVER },
		{ "client", RPCI_ROLE_CLIENT },
		{ "selector", RPCI_ROLE_SELECTOR },
	};
	const config_setting_t *grp = config_setting_get_member(hgrp, "roles");
	const config_setting_t *e;
	const char *v;
	unsigned int i, j, n;

	if (grp == NULL) {
		return conf_err(p, hgrp, "missing 'roles'");
	}
	if (config_setting_type(grp) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(grp) != CONFIG_TYPE_LIST) {
		return conf_err(p, grp,
				"'roles' must be an array of strings: roles = [ \"server\" ];");
	}
	n = (unsigned int)config_setting_length(grp);
	if (n == 0) {
		return conf_err(p, grp, "'roles' must not be empty");
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(grp, i);
		v = config_setting_get_string(e);
		if (v == NULL) {
			return conf_err(p, e, "'roles' must be an array of strings");
		}
		for (j = 0; j < CONF_DIM(roles); j++) {
			if (strcmp(v, roles[j].name) == 0) {
				break;
			}
		}
		if (j == CONF_DIM(roles)) {
			return conf_err(p, e, "unknown role '%s' (server, client or selector)", v);
		}
		if (host->roles & roles[j].bit) {
			return conf_err(p, e, "duplicate role '%s'", v);
		}
		host->roles |= roles[j].bit;
	}
	return 0;
}

/* Entry idx of the "hosts" list. */
static int parse_proxy(struct parse *p, const config_setting_t *hgrp,
		       struct rpci_conf_host *host);
static int parse_console(struct parse *p, const config_setting_t *hgrp,
			 struct rpci_conf_host *host);

static int
parse_host(struct parse *p, const config_setting_t *grp, unsigned int idx, struct rpci_conf *conf)
{
	struct rpci_conf_host *host = &conf->hosts[idx];
	const config_setting_t *s;
	const char *v_str;
	char mac_str[18];
	long long v;
	unsigned int i;

	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'hosts' entry %u must be a group: { name = ...; ... }",
				idx + 1);
	}
	host->line = (int)config_setting_source_line(grp);
	host->idle = RPCI_IDLE_ADAPTIVE;
	conf_where(p, true, "host #%u", idx + 1);
	if (conf_name(p, grp, "name", true, host->name, NAME_CHARS, "[A-Za-z0-9_.-]", &s) < 0) {
		return -EINVAL;
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(conf->hosts[i].name, host->name) == 0) {
			return conf_err_plain(p, s, "duplicate host name '%s' (first at line %d)",
					      host->name, conf->hosts[i].line);
		}
	}
	conf_where(p, true, "host '%s'", host->name);
	if (conf_check_keys(p, grp, g_host_keys) < 0 || parse_roles(p, grp, host) < 0) {
		return -EINVAL;
	}

	s = config_setting_get_member(grp, "mac");
	if (s == NULL) {
		return conf_err(p, grp, "missing 'mac'");
	}
	v_str = config_setting_get_string(s);
	if (v_str == NULL) {
		return conf_err(p, s, "'mac' must be a string");
	}
	if (conf_parse_mac(v_str, host->mac) < 0) {
		return conf_err(p, s, "'mac' '%.32s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
				v_str);
	}
	rpci_conf_mac_str(host->mac, mac_str, sizeof(mac_str));
	if (host->mac[0] & 1) {
		return conf_err(p, s, "'mac' %s is a multicast address", mac_str);
	}
	if ((host->mac[0] | host->mac[1] | host->mac[2] | host->mac[3] | host->mac[4] |
	     host->mac[5]) == 0) {
		return conf_err(p, s, "'mac' must not be all zero");
	}
	for (i = 0; i < idx; i++) {
		if (memcmp(conf->hosts[i].mac, host->mac, sizeof(host->mac)) == 0) {
			return conf_err(p, s, "duplicate mac %s (host '%s' at line %d has it)",
					mac_str, conf->hosts[i].name, conf->hosts[i].line);
		}
	}

	v = 0;
	if (conf_int(p, grp, "port", false, 0, 1023, false, &v, NULL) < 0) {
		return -EINVAL;
	}
	host->port = (uint16_t)v;
	s = config_setting_get_member(grp, "idle");
	if (s != NULL) {
		v_str = config_setting_get_string(s);
		if (v_str == NULL) {
			return conf_err(p, s, "'idle' must be a string");
		}
		if (strcmp(v_str, "poll") == 0) {
			host->idle = RPCI_IDLE_POLL;
		} else if (strcmp(v_str, "adaptive") == 0) {
			host->idle = RPCI_IDLE_ADAPTIVE;
		} else {
			return conf_err(p, s, "'idle' '%.32s' must be \"poll\" or \"adaptive\"",
					v_str);
		}
	}

	if (parse_eal(p, grp, host) < 0 || parse_devices(p, grp, host) < 0 ||
	    parse_proxy(p, grp, host) < 0 || parse_file_dir(p, grp, host) < 0 ||
	    parse_port_settings(p, grp, &host->frame_max, &host->crc_payload,
				&host->crc_payload_set) < 0) {
		return -EINVAL;
	}

	if (parse_console(p, grp, host) < 0) {
		return -EINVAL;
	}

	if (host->roles & RPCI_ROLE_CLIENT) {
		/* Required unless a selector chooses (checked once all is read). */
		if (conf_name(p, grp, "server", false, host->server, NAME_CHARS, "[A-Za-z0-9_.-]",
			      &s) < 0) {
			return -EINVAL;
		}
		p->server_s[idx] = s;
		if (conf_name(p, grp, "device", false, host->device, NAME_CHARS, "[A-Za-z0-9_.-]",
			      &s) < 0) {
			return -EINVAL;
		}
		p->device_s[idx] = s;
	} else {
		s = config_setting_get_member(grp, "server");
		if (s == NULL) {
			s = config_setting_get_member(grp, "device");
		}
		if (s != NULL) {
			return conf_err(p, s, "'%s' is only for client hosts",
					config_setting_name(s));
		}
	}
	return 0;
}

/* A user or group name of the "proxy" group ("" if absent). */
static int
parse_proxy_name(struct parse *p, const config_setting_t *grp, const char *key, char *out,
		 size_t len)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	const char *v;
	size_t i, n;

	out[0] = '\0';
	if (s == NULL) {
		return 0;
	}
	v = config_setting_get_string(s);
	n = v != NULL ? strlen(v) : 0;
	if (v == NULL || n == 0 || n >= len) {
		return conf_err(p, s, "'%s' must be a user or group name of 1 to %zu characters",
				key, len - 1);
	}
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '_' && v[i] != '-' && v[i] != '.') {
			return conf_err(p, s, "'%s' '%.32s' is not a user or group name", key, v);
		}
	}
	memcpy(out, v, n + 1);
	return 0;
}

/*
 * The "mode" of a socket's group (absent: *mode is left as it is).
 * libconfig has no octal numbers: the mode is a string, "0660".
 */
static int
parse_socket_mode(struct parse *p, const config_setting_t *grp, uint32_t *mode)
{
	const config_setting_t *s = config_setting_get_member(grp, "mode");
	const char *m;
	char *end = NULL;
	long long n;

	if (s == NULL) {
		return 0;
	}
	m = config_setting_get_string(s);
	n = m != NULL ? (long long)strtoul(m, &end, 8) : -1;
	if (m == NULL || m[0] == '\0' || *end != '\0' || n < 0 || n > 0777) {
		return conf_err(p, s, "'mode' must be permission bits in octal, as a string "
				"(\"0660\")");
	}
	if ((n & 0600) != 0600) {
		return conf_err(p, s, "'mode' \"%s\" must let the owner read and write (0600)", m);
	}
	*mode = (uint32_t)n;
	return 0;
}

/*
 * A host's "console": the path of its processes' console socket, or a
 * group { socket; owner; group; mode; admin = [ "group", ... ]; }.
 */
static int
parse_console(struct parse *p, const config_setting_t *hgrp, struct rpci_conf_host *host)
{
	struct rpci_conf_console *ca = &host->console_access;
	const config_setting_t *grp = config_setting_get_member(hgrp, "console");
	const config_setting_t *s = grp, *adm;
	const char *v;
	unsigned int i;

	ca->mode = 0600;
	if (grp == NULL) {
		return 0;
	}
	if (config_setting_is_group(grp)) {
		ca->line = (int)config_setting_source_line(grp);
		if (conf_check_keys(p, grp, g_console_keys) < 0 ||
		    parse_proxy_name(p, grp, "owner", ca->owner, sizeof(ca->owner)) < 0 ||
		    parse_proxy_name(p, grp, "group", ca->group, sizeof(ca->group)) < 0 ||
		    parse_socket_mode(p, grp, &ca->mode) < 0) {
			return -EINVAL;
		}
		adm = config_setting_get_member(grp, "admin");
		if (adm != NULL) {
			if (!config_setting_is_array(adm) ||
			    config_setting_length(adm) > RPCI_CONF_CONSOLE_ADMINS_MAX) {
				return conf_err(p, adm, "'admin' must be an array of at most %u "
						"group names: admin = [ \"rpci\" ];",
						RPCI_CONF_CONSOLE_ADMINS_MAX);
			}
			for (i = 0; i < (unsigned int)config_setting_length(adm); i++) {
				const config_setting_t *e = config_setting_get_elem(adm, i);

				v = config_setting_get_string(e);
				if (v == NULL || v[0] == '\0' ||
				    strlen(v) >= sizeof(ca->admin[i]) ||
				    v[strspn(v, NAME_CHARS)] != '\0') {
					return conf_err(p, e, "'admin' entry %u must be a group "
							"name", i);
				}
				memcpy(ca->admin[i], v, strlen(v) + 1);
			}
			ca->nb_admin = i;
		}
		s = config_setting_get_member(grp, "socket");
		if (s == NULL) {
			return 0;
		}
	}
	v = config_setting_get_string(s);
	/* sun_path holds 108 bytes */
	if (v == NULL || v[0] != '/' || strlen(v) >= 108) {
		return conf_err(p, s, "'%s' must be an absolute path of at most 107 characters",
				config_setting_name(s));
	}
	memcpy(host->console, v, strlen(v) + 1);
	return 0;
}

/* Group "proxy" of a client host: the client daemon's socket. */
static int
parse_proxy(struct parse *p, const config_setting_t *hgrp, struct rpci_conf_host *host)
{
	struct rpci_conf_proxy *px = &host->proxy;
	const config_setting_t *grp = config_setting_get_member(hgrp, "proxy");
	const config_setting_t *s;
	const char *v;
	long long n;

	snprintf(px->socket, sizeof(px->socket), "%s", RPCI_CONF_PROXY_SOCKET);
	px->mode = 0660;
	px->max_programs = 64;
	if (grp == NULL) {
		return 0;
	}
	if (!(host->roles & RPCI_ROLE_CLIENT)) {
		return conf_err(p, grp, "'proxy' is only for client hosts");
	}
	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'proxy' must be a group: { socket = ...; mode = ...; }");
	}
	px->line = (int)config_setting_source_line(grp);
	if (conf_check_keys(p, grp, g_proxy_keys) < 0) {
		return -EINVAL;
	}
	s = config_setting_get_member(grp, "socket");
	if (s != NULL) {
		v = config_setting_get_string(s);
		/* sun_path holds 108 bytes */
		if (v == NULL || v[0] != '/' || strlen(v) >= 108) {
			return conf_err(p, s, "'socket' must be an absolute path of at most 107 "
					"characters");
		}
		memcpy(px->socket, v, strlen(v) + 1);
	}
	if (parse_proxy_name(p, grp, "owner", px->owner, sizeof(px->owner)) < 0 ||
	    parse_proxy_name(p, grp, "group", px->group, sizeof(px->group)) < 0) {
		return -EINVAL;
	}
	if (parse_socket_mode(p, grp, &px->mode) < 0) {
		return -EINVAL;
	}
	if (conf_int(p, grp, "max_programs", false, 1, 64, false, &n, &s) < 0) {
		return -EINVAL;
	}
	if (s != NULL) {
		px->max_programs = (uint32_t)n;
	}
	return 0;
}

/* Once all hosts are read: each client's server and device must exist. */
static int
check_clients(struct parse *p, const struct rpci_conf *conf)
{
	const struct rpci_conf_host *host, *srv;
	unsigned int i;

	for (i = 0; i < conf->nb_hosts; i++) {
		host = &conf->hosts[i];
		if (!(host->roles & RPCI_ROLE_CLIENT)) {
			continue;
		}
		if (host->server[0] == '\0') {
			if (conf->selector.present) {
				continue; /* the selector chooses */
			}
			return conf_err_at(p, p->name, host->line, "host '%s': missing 'server' "
					   "(a client needs one when the file has no selector)",
					   host->name);
		}
		srv = rpci_conf_host_find(conf, host->server);
		if (srv == NULL) {
			return conf_err_plain(p, p->server_s[i], "client '%s' names server '%s', "
					      "which is not a host of this file", host->name,
					      host->server);
		}
		if (!(srv->roles & RPCI_ROLE_SERVER)) {
			return conf_err_plain(p, p->server_s[i], "client '%s' names server '%s', "
					      "which is not a server host", host->name,
					      host->server);
		}
		if (host->device[0] != '\0' && rpci_conf_device_find(srv, host->device) == NULL) {
			return conf_err_plain(p, p->device_s[i], "client '%s' names device '%s', "
					      "which server '%s' does not have", host->name,
					      host->device, host->server);
		}
	}
	return 0;
}

/* Section "selector": who runs it and how it chooses (hosts are read). */
static int
parse_selector(struct parse *p, const config_setting_t *root, struct rpci_conf *conf)
{
	static const char *const policies[] = {
		"first-fit", "best-fit", "least-loaded", "learned", NULL,
	};
	struct rpci_conf_selector *sel = &conf->selector;
	const config_setting_t *grp = config_setting_get_member(root, "selector");
	const config_setting_t *s;
	const struct rpci_conf_host *h;
	const char *v;
	unsigned int i;
	int rc = -EINVAL;

	*sel = (struct rpci_conf_selector){
		.heartbeat_ms = 200,
		.missed_heartbeats = 3,
		.lease_ms = 5000,
		.explore = 0.1,
		.seed = 1,
		.client_max_devices = 16,
		.client_max_requests = 8,
	};
	memcpy(sel->policy, "first-fit", sizeof("first-fit"));
	if (grp == NULL) {
		return 0;
	}
	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'selector' must be a group: selector = { host = ...; };");
	}
	sel->present = true;
	sel->line = (int)config_setting_source_line(grp);
	conf_where(p, false, "selector");
	if (conf_check_keys(p, grp, g_selector_keys) < 0 ||
	    conf_name(p, grp, "host", true, sel->host, NAME_CHARS, "[A-Za-z0-9_.-]", &s) < 0) {
		goto restore_where;
	}
	h = rpci_conf_host_find(conf, sel->host);
	if (h == NULL || !(h->roles & RPCI_ROLE_SELECTOR)) {
		conf_err(p, s, "selector host '%s' is not a host with the selector role",
			 sel->host);
		goto restore_where;
	}
	s = config_setting_get_member(grp, "policy");
	if (s != NULL) {
		v = config_setting_get_string(s);
		for (i = 0; v != NULL && policies[i] != NULL; i++) {
			if (strcmp(v, policies[i]) == 0) {
				break;
			}
		}
		if (v == NULL || policies[i] == NULL) {
			conf_err(p, s, "'policy' must be \"first-fit\", \"best-fit\", "
				 "\"least-loaded\" or \"learned\"");
			goto restore_where;
		}
		memcpy(sel->policy, v, strlen(v) + 1);
	}
	if (conf_u32(p, grp, "heartbeat_ms", false, 10, 60000, false, &sel->heartbeat_ms,
		     NULL) < 0 ||
	    conf_u32(p, grp, "missed_heartbeats", false, 2, 100, false, &sel->missed_heartbeats,
		     NULL) < 0 ||
	    conf_u32(p, grp, "lease_ms", false, 100, 86400000, false, &sel->lease_ms, NULL) < 0 ||
	    conf_number(p, grp, "explore", 0.0, 1.0, &sel->explore) < 0 ||
	    conf_u32(p, grp, "client_max_devices", false, 0, 1024, false,
		     &sel->client_max_devices, NULL) < 0 ||
	    conf_u32(p, grp, "client_max_requests", false, 0, 1024, false,
		     &sel->client_max_requests, NULL) < 0) {
		goto restore_where;
	}
	s = config_setting_get_member(grp, "seed");
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64) {
			conf_err(p, s, "'seed' must be an integer");
			goto restore_where;
		}
		sel->seed = (uint64_t)config_setting_get_int64(s);
	}
	rc = 0;
restore_where:
	conf_where(p, false, "%s", "");
	return rc;
}

/* The auth mode named by a string ("keys" or "none"); -EINVAL otherwise. */
static int
auth_mode_parse(struct parse *p, const config_setting_t *s, enum rpci_conf_auth_mode *mode)
{
	const char *v = config_setting_get_string(s);

	if (v != NULL && strcmp(v, "keys") == 0) {
		*mode = RPCI_AUTH_KEYS;
		return 0;
	}
	if (v != NULL && strcmp(v, "none") == 0) {
		*mode = RPCI_AUTH_NONE;
		return 0;
	}
	return conf_err(p, s, "'auth' mode must be \"keys\" or \"none\"");
}

/* A named value of the "auth" group. */
struct auth_choice {
	const char *name;
	int value;
};

static const struct auth_choice g_auth_sessions[] = {
	{ "required", RPCI_AUTH_SESSIONS_REQUIRED },
	{ "optional", RPCI_AUTH_SESSIONS_OPTIONAL },
	{ NULL, 0 },
};

static const struct auth_choice g_auth_ciphers[] = {
	{ "aes-128-gcm", RPCI_CONF_CIPHER_AES128GCM },
	{ "chacha20-poly1305", RPCI_CONF_CIPHER_CHACHA20POLY1305 },
	{ NULL, 0 },
};

/* Setting key of grp, one of the names of choices (absent: out is left as it is). */
static int
auth_choice_parse(struct parse *p, const config_setting_t *grp, const char *key,
		  const struct auth_choice *choices, int *out)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	const char *v;
	unsigned int i;

	if (s == NULL) {
		return 0;
	}
	v = config_setting_get_string(s);
	for (i = 0; v != NULL && choices[i].name != NULL; i++) {
		if (strcmp(v, choices[i].name) == 0) {
			*out = choices[i].value;
			return 0;
		}
	}
	return conf_err(p, s, "'%s' must be \"%s\" or \"%s\"", key, choices[0].name,
			choices[1].name);
}

/*
 * Section "auth": auth = "keys" | "none", or auth = { mode; dir; window_ms;
 * sessions; cipher; }.
 * A relative key directory is taken from the file's directory (dir_of: the
 * file's path, NULL for a string).
 */
static int
parse_auth(struct parse *p, const config_setting_t *root, const char *dir_of,
	   struct rpci_conf_auth *auth)
{
	const config_setting_t *grp = config_setting_get_member(root, "auth");
	const config_setting_t *s;
	char dir[RPCI_CONF_STR_MAX] = "keys";
	const char *slash;
	int rc = -EINVAL, n;

	auth->mode = RPCI_AUTH_KEYS;
	auth->window_ms = 10000;
	auth->sessions = RPCI_AUTH_SESSIONS_REQUIRED;
	auth->cipher = RPCI_CONF_CIPHER_AES128GCM;
	if (grp != NULL) {
		auth->line = (int)config_setting_source_line(grp);
		if (config_setting_type(grp) == CONFIG_TYPE_STRING) {
			if (auth_mode_parse(p, grp, &auth->mode) < 0) {
				return -EINVAL;
			}
		} else if (!config_setting_is_group(grp)) {
			return conf_err(p, grp, "'auth' must be \"keys\", \"none\" or a group: "
					"auth = { mode = \"keys\"; dir = \"keys\"; };");
		} else {
			conf_where(p, false, "auth");
			s = config_setting_get_member(grp, "mode");
			if (conf_check_keys(p, grp, g_auth_keys) < 0 ||
			    (s != NULL && auth_mode_parse(p, s, &auth->mode) < 0) ||
			    conf_str(p, grp, "dir", false, dir, sizeof(dir), &s) < 0 ||
			    conf_u32(p, grp, "window_ms", false, 100, 3600000, false,
				     &auth->window_ms, NULL) < 0 ||
			    auth_choice_parse(p, grp, "sessions", g_auth_sessions,
					      (int *)&auth->sessions) < 0 ||
			    auth_choice_parse(p, grp, "cipher", g_auth_ciphers,
					      (int *)&auth->cipher) < 0) {
				goto restore_where;
			}
			if (s != NULL && dir[0] == '\0') {
				conf_err(p, s, "'dir' must not be empty");
				goto restore_where;
			}
		}
	}
	slash = dir_of != NULL ? strrchr(dir_of, '/') : NULL;
	if (dir[0] == '/' || slash == NULL) {
		n = snprintf(auth->key_dir, sizeof(auth->key_dir), "%s", dir);
	} else {
		n = snprintf(auth->key_dir, sizeof(auth->key_dir), "%.*s/%s",
			     (int)(slash - dir_of), dir_of, dir);
	}
	if (n < 0 || (size_t)n >= sizeof(auth->key_dir)) {
		conf_err_at(p, p->name, grp != NULL ? auth->line : 1,
			    "the key directory's path is too long");
		goto restore_where;
	}
	rc = 0;
restore_where:
	conf_where(p, false, "%s", "");
	return rc;
}

/* Entry idx of the "profiles" list. */
static int
parse_profile(struct parse *p, const config_setting_t *grp, unsigned int idx,
	      struct rpci_conf *conf)
{
	struct rpci_conf_profile *prof = &conf->profiles[idx];
	const config_setting_t *s;
	unsigned int i;

	if (!config_setting_is_group(grp)) {
		return conf_err(p, grp, "'profiles' entry %u must be a group: { name = ...; ... }",
				idx + 1);
	}
	prof->line = (int)config_setting_source_line(grp);
	conf_where(p, true, "profile #%u", idx + 1);
	if (conf_name(p, grp, "name", true, prof->name, NAME_CHARS, "[A-Za-z0-9_.-]", &s) < 0) {
		return -EINVAL;
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(conf->profiles[i].name, prof->name) == 0) {
			return conf_err_plain(p, s, "duplicate profile name '%s' (first at line "
					      "%d)", prof->name, conf->profiles[i].line);
		}
	}
	conf_where(p, true, "profile '%s'", prof->name);
	if (conf_check_keys(p, grp, g_profile_keys) < 0 || parse_identity(p, grp, prof) < 0) {
		return -EINVAL;
	}
	prof->bar0_size = VGPU_BAR0_MIN;
	if (conf_bar_size(p, grp, "bar0_size", VGPU_BAR0_MIN, VGPU_BAR0_MAX,
			  &prof->bar0_size) < 0 ||
	    conf_bar_size(p, grp, "bar2_size", VGPU_BAR0_MIN, VGPU_BAR2_MAX,
			  &prof->bar2_size) < 0) {
		return -EINVAL;
	}
	return 0;
}

/* List "profiles" (optional), read before the hosts. */
static int
parse_profiles(struct parse *p, const config_setting_t *root, struct rpci_conf *conf)
{
	const config_setting_t *grp = config_setting_get_member(root, "profiles");
	unsigned int i, n;

	if (grp == NULL) {
		return 0;
	}
	if (config_setting_type(grp) != CONFIG_TYPE_LIST &&
	    !(config_setting_type(grp) == CONFIG_TYPE_ARRAY && config_setting_length(grp) == 0)) {
		return conf_err(p, grp, "'profiles' must be a list: profiles = ( { ... } );");
	}
	n = (unsigned int)config_setting_length(grp);
	if (n > RPCI_CONF_PROFILES_MAX) {
		return conf_err(p, grp, "'profiles' has %u entries, at most %d", n,
				RPCI_CONF_PROFILES_MAX);
	}
	for (i = 0; i < n; i++) {
		if (parse_profile(p, config_setting_get_elem(grp, i), i, conf) < 0) {
			return -EINVAL;
		}
		conf->nb_profiles = i + 1;
	}
	conf_where(p, false, "%s", "");
	return 0;
}

/* List "hosts". */
static int
parse_hosts(struct parse *p, const config_setting_t *root, struct rpci_conf *conf)
{
	const config_setting_t *grp = config_setting_get_member(root, "hosts");
	unsigned int i, n;

	if (grp == NULL) {
		return conf_err(p, root, "missing 'hosts'");
	}
	if (config_setting_type(grp) != CONFIG_TYPE_LIST &&
	    !(config_setting_type(grp) == CONFIG_TYPE_ARRAY && config_setting_length(grp) == 0)) {
		return conf_err(p, grp, "'hosts' must be a list: hosts = ( { ... }, ... );");
	}
	n = (unsigned int)config_setting_length(grp);
	if (n < 1 || n > RPCI_CONF_HOSTS_MAX) {
		return conf_err(p, grp, "'hosts' has %u entries, must have 1..%d", n,
				RPCI_CONF_HOSTS_MAX);
	}
	for (i = 0; i < n; i++) {
		if (parse_host(p, config_setting_get_elem(grp, i), i, conf) < 0) {
			return -EINVAL;
		}
		conf->nb_hosts = i + 1;
	}
	conf_where(p, false, "%s", "");
	if (parse_selector(p, root, conf) < 0) {
		return -EINVAL;
	}
	return check_clients(p, conf);
}

/* Validate a parsed file into a new configuration. */
static struct rpci_conf *
conf_build(struct parse *p, const config_t *cfg, const char *path)
{
	const config_setting_t *root = config_root_setting(cfg);
	struct rpci_conf *conf;
	size_t len;

	conf = calloc(1, sizeof(*conf));
	if (conf == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (path != NULL) {
		len = strlen(path);
		memcpy(conf->path, path, len + 1);
	}
	p->conf = conf;
	if (conf_check_keys(p, root, g_root_keys) < 0 || parse_link(p, root, &conf->link) < 0 ||
	    parse_profiles(p, root, conf) < 0 || parse_hosts(p, root, conf) < 0 ||
	    parse_auth(p, root, path, &conf->auth) < 0) {
		goto free_conf;
	}
	return conf;

free_conf:
	free(conf);
	errno = EINVAL;
	return NULL;
}

static void
conf_syntax_err(struct parse *p, const config_t *cfg)
{
	const char *file = config_error_file(cfg);

	conf_err_at(p, file != NULL ? file : p->name, config_error_line(cfg), "%s",
		    config_error_text(cfg) != NULL ? config_error_text(cfg) : "syntax error");
}

struct rpci_conf *
rpci_conf_load(const char *path, char *err, size_t err_len)
{
	struct parse p = { .name = path, .err = err, .err_len = err_len };
	struct rpci_conf *conf = NULL;
	struct stat st;
	config_t cfg;
	FILE *f;
	int e;

	if (err != NULL && err_len > 0) {
		err[0] = '\0';
	}
	if (path == NULL) {
		p.name = "(null)";
		conf_err_at(&p, p.name, -1, "no file given");
		errno = EINVAL;
		return NULL;
	}
	if (strlen(path) >= sizeof(conf->path)) {
		conf_err_at(&p, path, -1, "path too long (at most %zu characters)",
			    sizeof(conf->path) - 1);
		errno = EINVAL;
		return NULL;
	}
	/* Tell a file that cannot be read from one that does not parse. */
	f = fopen(path, "r");
	if (f == NULL) {
		e = errno;
		conf_err_at(&p, path, -1, "cannot open: %s", strerror(e));
		errno = e;
		return NULL;
	}
	e = 0;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		e = EISDIR;
	}
	fclose(f);
	if (e != 0) {
		conf_err_at(&p, path, -1, "cannot open: %s", strerror(e));
		errno = e;
		return NULL;
	}

	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			conf_err_at(&p, path, -1, "cannot read");
			e = EIO;
		} else {
			conf_syntax_err(&p, &cfg);
			e = EINVAL;
		}
		goto destroy_cfg;
	}
	conf = conf_build(&p, &cfg, path);
	e = conf == NULL ? errno : 0;

destroy_cfg:
	config_destroy(&cfg);
	errno = e;
	return conf;
}

struct rpci_conf *
rpci_conf_load_string(const char *text, const char *name, char *err, size_t err_len)
{
	struct parse p = { .name = name != NULL ? name : "(string)", .err = err,
			   .err_len = err_len };
	struct rpci_conf *conf = NULL;
	config_t cfg;
	int e;

	if (err != NULL && err_len > 0) {
		err[0] = '\0';
	}
	if (text == NULL) {
		conf_err_at(&p, p.name, -1, "no text given");
		errno = EINVAL;
		return NULL;
	}
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		conf_syntax_err(&p, &cfg);
		e = EINVAL;
		goto destroy_cfg;
	}
	conf = conf_build(&p, &cfg, NULL);
	e = conf == NULL ? errno : 0;
	if (conf != NULL) {
		snprintf(conf->path, sizeof(conf->path), "%s", p.name);
	}

destroy_cfg:
	config_destroy(&cfg);
	errno = e;
	return conf;
}

void
rpci_conf_free(struct rpci_conf *conf)
{
	free(conf);
}

const struct rpci_conf_host *
rpci_conf_host_find(const struct rpci_conf *conf, const char *name)
{
	unsigned int i;

	if (conf == NULL || name == NULL) {
		errno = ENOENT;
		return NULL;
	}
	for (i = 0; i < conf->nb_hosts; i++) {
		if (strcmp(conf->hosts[i].name, name) == 0) {
			return &conf->hosts[i];
		}
	}
	errno = ENOENT;
	return NULL;
}

int
rpci_conf_host_index(const struct rpci_conf *conf, const struct rpci_conf_host *host)
{
	if (conf == NULL || host < conf->hosts || host >= conf->hosts + conf->nb_hosts) {
		return -ENOENT;
	}
	return (int)(host - conf->hosts);
}

const struct rpci_conf_host *
rpci_conf_host_by_mac(const struct rpci_conf *conf, const uint8_t mac[6])
{
	unsigned int i;

	for (i = 0; conf != NULL && mac != NULL && i < conf->nb_hosts; i++) {
		if (memcmp(conf->hosts[i].mac, mac, 6) == 0) {
			return &conf->hosts[i];
		}
	}
	errno = ENOENT;
	return NULL;
}

const struct rpci_conf_device *
rpci_conf_device_find(const struct rpci_conf_host *host, const char *name)
{
	unsigned int i;

	if (host == NULL || host->nb_devices == 0) {
		errno = ENOENT;
		return NULL;
	}
	if (name == NULL || name[0] == '\0') {
		return &host->devices[0];
	}
	for (i = 0; i < host->nb_devices; i++) {
		if (strcmp(host->devices[i].name, name) == 0) {
			return &host->devices[i];
		}
	}
	errno = ENOENT;
	return NULL;
}

const struct rpci_conf_profile *
rpci_conf_profile_find(const struct rpci_conf *conf, const char *name)
{
	unsigned int i;

	if (conf == NULL || name == NULL) {
		errno = ENOENT;
		return NULL;
	}
	for (i = 0; i < conf->nb_profiles; i++) {
		if (strcmp(conf->profiles[i].name, name) == 0) {
			return &conf->profiles[i];
		}
	}
	errno = ENOENT;
	return NULL;
}

/* n hexadecimal digits (exactly) of s as a number. */
static int
hex_field(const char *s, size_t n, unsigned long *v)
{
	char buf[8];
	char *end;

	if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789abcdefABCDEF") < n) {
		return -EINVAL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtoul(buf, &end, 16);
	return *end == '\0' ? 0 : -EINVAL;
}

int
rpci_conf_pci_address_parse(const char *s, uint16_t *domain, uint8_t *bus, uint8_t *dev,
			    uint8_t *func)
{
	unsigned long d = 0, b, v, f;
	size_t len;

	if (s == NULL) {
		return -EINVAL;
	}
	len = strlen(s);
	if (len == 12) {
		/* DDDD:BB:DD.F */
		if (s[4] != ':' || hex_field(s, 4, &d) < 0) {
			return -EINVAL;
		}
		s += 5;
	} else if (len != 7) {
		return -EINVAL;
	}
	if (s[2] != ':' || s[5] != '.' || hex_field(s, 2, &b) < 0 ||
	    hex_field(s + 3, 2, &v) < 0 || hex_field(s + 6, 1, &f) < 0 || v > 0x1f || f > 7) {
		return -EINVAL;
	}
	*domain = (uint16_t)d;
	*bus = (uint8_t)b;
	*dev = (uint8_t)v;
	*func = (uint8_t)f;
	return 0;
}

const char *
rpci_conf_pci_allow_name(enum rpci_conf_pci_allow allow)
{
	if ((unsigned int)allow >= CONF_DIM(g_pci_allow_names)) {
		return "?";
	}
	return g_pci_allow_names[allow];
}

int
rpci_conf_device_index(const struct rpci_conf_host *host, const struct rpci_conf_device *dev)
{
	unsigned int i;

	if (host == NULL || dev == NULL) {
		return -ENOENT;
	}
	for (i = 0; i < host->nb_devices; i++) {
		if (&host->devices[i] == dev) {
			return (int)i;
		}
	}
	return -ENOENT;
}

/* EAL options a user argument can replace. */
struct eal_override {
	bool lcores;      /* -l, --lcores, -c */
	bool memory;      /* -m, --socket-mem */
	bool no_huge;     /* --no-huge */
	bool no_pci;      /* --no-pci */
	bool file_prefix; /* --file-prefix */
	bool vdev;        /* --vdev */
};

/* "--opt" or "--opt=value"; *sep set if the value is the next argument. */
static bool
eal_long(const char *arg, const char *opt, bool *sep)
{
	size_t n = strlen(opt);

	if (strncmp(arg, opt, n) != 0 || (arg[n] != '\0' && arg[n] != '=')) {
		return false;
	}
	*sep = arg[n] == '\0';
	return true;
}

/* "-o" or "-ovalue" (also "-o=value"); *sep set if the value is the next argument. */
static bool
eal_short(const char *arg, char opt, bool *sep)
{
	if (arg[0] != '-' || arg[1] != opt) {
		return false;
	}
	*sep = arg[2] == '\0';
	return true;
}

static void
eal_scan_user(int argc, char *const argv[], struct eal_override *ov)
{
	const char *a;
	bool sep;
	int i;

	for (i = 0; i < argc && argv[i] != NULL; i++) {
		a = argv[i];
		sep = false;
		if (strcmp(a, "--") == 0) {
			break;
		}
		if (eal_short(a, 'l', &sep) || eal_short(a, 'c', &sep) ||
		    eal_long(a, "--lcores", &sep)) {
			ov->lcores = true;
		} else if (eal_short(a, 'm', &sep) || eal_long(a, "--socket-mem", &sep)) {
			ov->memory = true;
		} else if (strcmp(a, "--no-huge") == 0) {
			ov->no_huge = true;
		} else if (strcmp(a, "--no-pci") == 0) {
			ov->no_pci = true;
		} else if (eal_long(a, "--file-prefix", &sep)) {
			ov->file_prefix = true;
		} else if (eal_long(a, "--vdev", &sep)) {
			ov->vdev = true;
		} else if (eal_long(a, "--log-level", &sep)) {
			/* Several are legal: kept with the file's. */
		}
		if (sep) {
			i++; /* skip the value */
		}
	}
}

/* Append a copy of s to argv (room is known to be there). */
static int
eal_push(char **argv, int *argc, const char *s)
{
	argv[*argc] = strdup(s);
	if (argv[*argc] == NULL) {
		return -ENOMEM;
	}
	(*argc)++;
	return 0;
}

bool
rpci_conf_vdev_is_tcp(const char *vdev)
{
	return vdev != NULL &&
	       strncmp(vdev, RPCI_CONF_TCP_VDEV_PREFIX, sizeof(RPCI_CONF_TCP_VDEV_PREFIX) - 1) == 0;
}

char **
rpci_conf_eal_argv(const struct rpci_conf_host *host, const char *prog, int user_argc,
		   char *const user_argv[], int *out_argc)
{
	const struct rpci_conf_eal *eal;
	struct eal_override ov = { 0 };
	char mem[16];
	char **argv;
	size_t max;
	int argc = 0;
	unsigned int i;
	int rc = 0;

	if (host == NULL || prog == NULL || user_argc < 0 || (user_argc > 0 && user_argv == NULL)) {
		errno = EINVAL;
		return NULL;
	}
	eal = &host->eal;
	eal_scan_user(user_argc, user_argv, &ov);
	/* prog, -l x, -m x, 2 flags, --file-prefix x, --log-level x, vdevs, extra, NULL */
	max = 1 + 2 + 2 + 2 + 2 + 2 + 2 * (size_t)eal->nb_vdevs + eal->nb_extra +
	      (size_t)user_argc + 1;
	argv = calloc(max, sizeof(*argv));
	if (argv == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	rc |= eal_push(argv, &argc, prog);
	if (!ov.lcores) {
		rc |= eal_push(argv, &argc, "-l");
		rc |= eal_push(argv, &argc, eal->lcores);
	}
	if (!ov.memory && eal->memory_mb > 0) {
		snprintf(mem, sizeof(mem), "%" PRIu32, eal->memory_mb);
		rc |= eal_push(argv, &argc, "-m");
		rc |= eal_push(argv, &argc, mem);
	}
	if (!ov.no_huge && eal->no_huge) {
		rc |= eal_push(argv, &argc, "--no-huge");
	}
	if (!ov.no_pci && eal->no_pci) {
		rc |= eal_push(argv, &argc, "--no-pci");
	}
	if (!ov.file_prefix && eal->file_prefix[0] != '\0') {
		rc |= eal_push(argv, &argc, "--file-prefix");
		rc |= eal_push(argv, &argc, eal->file_prefix);
	}
	if (eal->log_level[0] != '\0') {
		rc |= eal_push(argv, &argc, "--log-level");
		rc |= eal_push(argv, &argc, eal->log_level);
	}
	for (i = 0; !ov.vdev && i < eal->nb_vdevs; i++) {
		if (rpci_conf_vdev_is_tcp(eal->vdevs[i])) {
			continue;
		}
		rc |= eal_push(argv, &argc, "--vdev");
		rc |= eal_push(argv, &argc, eal->vdevs[i]);
	}
	for (i = 0; i < eal->nb_extra; i++) {
		rc |= eal_push(argv, &argc, eal->extra[i]);
	}
	for (i = 0; i < (unsigned int)user_argc && user_argv[i] != NULL; i++) {
		rc |= eal_push(argv, &argc, user_argv[i]);
	}
	if (rc != 0) {
		goto free_argv;
	}
	if (out_argc != NULL) {
		*out_argc = argc;
	}
	return argv;

free_argv:
	rpci_conf_eal_argv_free(argv);
	errno = ENOMEM;
	return NULL;
}

void
rpci_conf_eal_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL) {
		return;
	}
	for (i = 0; argv[i] != NULL; i++) {
		free(argv[i]);
	}
	free(argv);
}

char *
rpci_conf_mac_str(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}
