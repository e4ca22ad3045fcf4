/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/auth (host keys, the CTRL envelope, freshness and replay
 * windows) and of lib/ctrl's role checks (rpci_ctrl_check()): a deployment
 * of a selector, two servers and two clients with keys made in a temporary
 * directory.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"

#define T0 1700000000000000ULL /* the tests' clock, microseconds */
#define MAX_BUF (RPCI_CTRL_MAX + RPCI_AUTH_OVERHEAD)

enum { SEL = 0, S1 = 1, S2 = 2, C1 = 3, C2 = 4 };

static char g_dir[64];
static struct rpci_conf *g_conf;
static struct rpci_auth *g_auth[5];

static const char *g_names[5] = { "sel", "s1", "s2", "c1", "c2" };

static int
suite_init(void)
{
	char text[4096], err[512];
	unsigned int i;

	snprintf(g_dir, sizeof(g_dir), "/tmp/rpci-test-auth-XXXXXX");
	if (mkdtemp(g_dir) == NULL) {
		return -1;
	}
	snprintf(text, sizeof(text),
		 "auth = { mode = \"keys\"; dir = \"%s/keys\"; window_ms = 1000; };\n"
		 "selector = { host = \"sel\"; };\n"
		 "hosts = (\n"
		 " { name = \"sel\"; roles = [ \"selector\" ]; mac = \"02:00:00:00:00:01\";"
		 "   eal = { lcores = \"0\"; }; },\n"
		 " { name = \"s1\"; roles = [ \"server\" ]; mac = \"02:00:00:00:01:01\";"
		 "   eal = { lcores = \"0\"; }; devices = ( { name = \"g0\"; backend = \"cpu\";"
		 "   memory_mb = 64; vendor_id = 0x7270; device_id = 1;"
		 "   class_code = 0x030200; } ); },\n"
		 " { name = \"s2\"; roles = [ \"server\" ]; mac = \"02:00:00:00:01:02\";"
		 "   eal = { lcores = \"0\"; }; devices = ( { name = \"g0\"; backend = \"cpu\";"
		 "   memory_mb = 64; vendor_id = 0x7270; device_id = 1;"
		 "   class_code = 0x030200; } ); },\n"
		 " { name = \"c1\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:01\";"
		 "   eal = { lcores = \"0\"; }; },\n"
		 " { name = \"c2\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:02\";"
		 "   eal = { lcores = \"0\"; }; }\n"
		 ");\n", g_dir);
	g_conf = rpci_conf_load_string(text, "auth-test.cfg", err, sizeof(err));
	if (g_conf == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	for (i = 0; i < 5; i++) {
		if (rpci_auth_keygen(g_conf->auth.key_dir, g_names[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	for (i = 0; i < 5; i++) {
		g_auth[i] = rpci_auth_create(g_conf, g_names[i], err, sizeof(err));
		if (g_auth[i] == NULL) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	return 0;
}

static int
suite_fini(void)
{
	char cmd[128];
	unsigned int i;

	for (i = 0; i < 5; i++) {
		rpci_auth_free(g_auth[i]);
	}
	rpci_conf_free(g_conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Key files: made once, never over an existing one, read back; too open is refused. */
static void
test_key_files(void)
{
	char priv[256], pub[256], err[512];
	uint8_t k[RPCI_AUTH_KEY_LEN], p[RPCI_AUTH_KEY_LEN];
	struct stat st;
	FILE *f;

	CU_ASSERT(rpci_auth_key_paths(g_conf->auth.key_dir, "c1", priv, sizeof(priv), pub,
				      sizeof(pub)) == 0);
	CU_ASSERT(stat(priv, &st) == 0 && (st.st_mode & 0777) == 0600);
	CU_ASSERT(stat(pub, &st) == 0 && (st.st_mode & 0777) == 0644);
	CU_ASSERT(rpci_auth_keygen(g_conf->auth.key_dir, "c1", err, sizeof(err)) == -EEXIST);
	CU_ASSERT(rpci_auth_key_load_private(priv, k, err, sizeof(err)) == 0);
	CU_ASSERT(rpci_auth_key_load_public(pub, p, err, sizeof(err)) == 0);
	/* more open than 0600: refused, with the mode and the remedy */
	CU_ASSERT(chmod(priv, 0640) == 0);
	CU_ASSERT(rpci_auth_key_load_private(priv, k, err, sizeof(err)) == -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mode 0640 is more open than 0600"));
	CU_ASSERT_PTR_NULL(rpci_auth_create(g_conf, "c1", err, sizeof(err)));
	CU_ASSERT(errno == EPERM);
	CU_ASSERT(chmod(priv, 0700) == 0);
	CU_ASSERT(rpci_auth_key_load_private(priv, k, err, sizeof(err)) == -EPERM);
	CU_ASSERT(chmod(priv, 0400) == 0);
	CU_ASSERT(rpci_auth_key_load_private(priv, k, err, sizeof(err)) == 0);
	CU_ASSERT(chmod(priv, 0600) == 0);
	/* a public key is not a private key, and the reverse */
	CU_ASSERT(rpci_auth_key_load_public(priv, p, err, sizeof(err)) == -EBADMSG);
	CU_ASSERT(chmod(pub, 0600) == 0);
	CU_ASSERT(rpci_auth_key_load_private(pub, k, err, sizeof(err)) == -EBADMSG);
	CU_ASSERT(chmod(pub, 0644) == 0);
	/* missing: the error says how to make one */
	CU_ASSERT(rpci_auth_key_load_private("/nonexistent/x.key", k, err, sizeof(err)) == -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--gen-keys"));
	/* a garbage file */
	snprintf(priv, sizeof(priv), "%s/garbage.key", g_dir);
	f = fopen(priv, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n", f);
	fclose(f);
	CU_ASSERT(chmod(priv, 0600) == 0);
	CU_ASSERT(rpci_auth_key_load_private(priv, k, err, sizeof(err)) == -EBADMSG);
}

/* A host whose .pub is not its .key's pair is refused at start. */
static void
test_key_mismatch(void)
{
	char a[256], b[256], tmp[300], err[512];

	rpci_auth_key_paths(g_conf->auth.key_dir, "c1", NULL, 0, a, sizeof(a));
	rpci_auth_key_paths(g_conf->auth.key_dir, "c2", NULL, 0, b, sizeof(b));
	snprintf(tmp, sizeof(tmp), "%s.save", a);
	CU_ASSERT(rename(a, tmp) == 0);
	CU_ASSERT(link(b, a) == 0);
	CU_ASSERT_PTR_NULL(rpci_auth_create(g_conf, "c1", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not hold the public key"));
	CU_ASSERT(unlink(a) == 0);
	CU_ASSERT(rename(tmp, a) == 0);
}

/* auth = "none": nothing read, nothing sealed. */
static void
test_mode_none(void)
{
	char err[512];
	struct rpci_conf *conf;
	struct rpci_auth *a;
	uint8_t buf[64];

	conf = rpci_conf_load_string("auth = \"none\";\nhosts = ( { name = \"h\"; roles = "
				     "[ \"selector\" ]; mac = \"02:00:00:00:00:01\"; eal = { "
				     "lcores = \"0\"; }; } );", "none.cfg", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT(conf->auth.mode == RPCI_AUTH_NONE);
	a = rpci_auth_create(conf, "h", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(!rpci_auth_enabled(a));
	{
		struct rpci_auth_ep *ep = rpci_auth_ep_create(a, T0);

		CU_ASSERT_PTR_NOT_NULL(ep);
		CU_ASSERT(rpci_auth_seal(ep, 0, "{}", 2, buf, sizeof(buf), T0) == -EINVAL);
		rpci_auth_ep_free(ep);
	}
	rpci_auth_free(a);
	rpci_conf_free(conf);
}

static int
seal(struct rpci_auth_ep *ep, unsigned int to, const char *msg, uint8_t *buf, uint64_t now)
{
	return rpci_auth_seal(ep, to, msg, strlen(msg), buf, MAX_BUF, now);
}

static enum rpci_auth_refusal
open_env(struct rpci_auth_ep *ep, const uint8_t *buf, int len, uint64_t now, unsigned int *from)
{
	enum rpci_auth_refusal why = RPCI_AUTH_OK;
	const void *msg;
	size_t msg_len;
	unsigned int f = 99;

	if (rpci_auth_open(ep, buf, (size_t)len, now, &f, &msg, &msg_len, &why) == 0) {
		CU_ASSERT(why == RPCI_AUTH_OK);
		CU_ASSERT(msg_len == (size_t)len - RPCI_AUTH_OVERHEAD);
	}
	if (from != NULL) {
		*from = f;
	}
	return why;
}

/* Sealed by one host for another: opens there only, intact, once. */
static void
test_envelope(void)
{
	struct rpci_auth_ep *c1 = rpci_auth_ep_create(g_auth[C1], T0);
	struct rpci_auth_ep *sel = rpci_auth_ep_create(g_auth[SEL], T0);
	struct rpci_auth_ep *s1 = rpci_auth_ep_create(g_auth[S1], T0);
	const char *m = "{\"v\":1,\"type\":\"release\",\"id\":7,\"lease_id\":42}";
	uint8_t buf[MAX_BUF], bad[MAX_BUF];
	struct rpci_auth_stats st;
	unsigned int from;
	const void *body;
	size_t body_len;
	int n, i;

	n = seal(c1, SEL, m, buf, T0 + 10);
	CU_ASSERT_FATAL(n == (int)strlen(m) + RPCI_AUTH_OVERHEAD);
	CU_ASSERT(rpci_auth_open(sel, buf, (size_t)n, T0 + 20, &from, &body, &body_len, NULL) == 0);
	CU_ASSERT(from == C1);
	CU_ASSERT(body_len == strlen(m) && memcmp(body, m, body_len) == 0);
	/* again: a replay */
	CU_ASSERT(open_env(sel, buf, n, T0 + 30, NULL) == RPCI_AUTH_REPLAY);
	/* addressed to the selector: another host cannot open it */
	CU_ASSERT(open_env(s1, buf, n, T0 + 30, NULL) == RPCI_AUTH_NOT_FOR_US);
	/* each byte altered, header or body or tag: refused */
	for (i = 0; i < n; i++) {
		enum rpci_auth_refusal r;

		memcpy(bad, buf, (size_t)n);
		bad[i] ^= 0x01;
		r = open_env(sel, bad, n, T0 + 30, NULL);
		CU_ASSERT(r == RPCI_AUTH_BAD_TAG || r == RPCI_AUTH_MALFORMED ||
			  r == RPCI_AUTH_NOT_FOR_US || r == RPCI_AUTH_UNKNOWN_HOST ||
			  (i == 2 && r == RPCI_AUTH_BAD_TAG));
	}
	/* another host's identity claimed, without its key: the tag does not verify */
	n = seal(s1, SEL, m, buf, T0 + 40);
	buf[2] = C1;
	CU_ASSERT(open_env(sel, buf, n, T0 + 50, NULL) == RPCI_AUTH_BAD_TAG);
	/* a host index beyond the file, a plain message, a short one */
	buf[2] = 9;
	CU_ASSERT(open_env(sel, buf, n, T0 + 50, NULL) == RPCI_AUTH_UNKNOWN_HOST);
	CU_ASSERT(open_env(sel, (const uint8_t *)m, (int)strlen(m), T0, NULL) ==
		  RPCI_AUTH_UNSIGNED);
	CU_ASSERT(open_env(sel, buf, RPCI_AUTH_OVERHEAD - 1, T0, NULL) == RPCI_AUTH_MALFORMED);
	buf[0] = 2;
	CU_ASSERT(open_env(sel, buf, n, T0, NULL) == RPCI_AUTH_MALFORMED);
	rpci_auth_ep_stats(sel, &st);
	CU_ASSERT(st.opened == 1);
	CU_ASSERT(st.refused[RPCI_AUTH_REPLAY] == 1);
	CU_ASSERT(st.refused[RPCI_AUTH_UNSIGNED] == 1);
	CU_ASSERT(st.refused[RPCI_AUTH_UNKNOWN_HOST] >= 1);
	rpci_auth_ep_free(c1);
	rpci_auth_ep_free(sel);
	rpci_auth_ep_free(s1);
}

/* Freshness by the sender's clock: the window (1 s here), and the receiver's start. */
static void
test_time_window(void)
{
	struct rpci_auth_ep *c1 = rpci_auth_ep_create(g_auth[C1], T0);
	struct rpci_auth_ep *sel = rpci_auth_ep_create(g_auth[SEL], T0 + 5000000);
	uint8_t buf[MAX_BUF];
	int n;

	/* stamped before the receiver began (beyond a tenth of the window): refused */
	n = seal(c1, SEL, "{}", buf, T0 + 5000000 - 200000);
	CU_ASSERT(open_env(sel, buf, n, T0 + 5000000, NULL) == RPCI_AUTH_STALE);
	/* within the slack: taken */
	n = seal(c1, SEL, "{}", buf, T0 + 5000000 - 50000);
	CU_ASSERT(open_env(sel, buf, n, T0 + 5000000, NULL) == RPCI_AUTH_OK);
	/* older than the window, or from too far in the future: refused */
	n = seal(c1, SEL, "{}", buf, T0 + 6000000);
	CU_ASSERT(open_env(sel, buf, n, T0 + 7000001, NULL) == RPCI_AUTH_STALE);
	n = seal(c1, SEL, "{}", buf, T0 + 9000001);
	CU_ASSERT(open_env(sel, buf, n, T0 + 8000000, NULL) == RPCI_AUTH_STALE);
	n = seal(c1, SEL, "{}", buf, T0 + 8000000);
	CU_ASSERT(open_env(sel, buf, n, T0 + 8999999, NULL) == RPCI_AUTH_OK);
	rpci_auth_ep_free(c1);
	rpci_auth_ep_free(sel);
}

/* The replay window: any order within it, each once; behind it, refused. */
static void
test_replay_window(void)
{
	static uint8_t env[2100][MAX_BUF];
	struct rpci_auth_ep *c1 = rpci_auth_ep_create(g_auth[C1], T0);
	struct rpci_auth_ep *sel = rpci_auth_ep_create(g_auth[SEL], T0);
	int len[2100], i;

	for (i = 0; i < 2100; i++) {
		len[i] = seal(c1, SEL, "{}", env[i], T0 + 1000 + i);
	}
	/* newest first, then the older ones within the window */
	CU_ASSERT(open_env(sel, env[999], len[999], T0 + 5000, NULL) == RPCI_AUTH_OK);
	for (i = 998; i >= 999 - 900; i--) {
		CU_ASSERT(open_env(sel, env[i], len[i], T0 + 5000, NULL) == RPCI_AUTH_OK);
	}
	for (i = 999; i >= 999 - 900; i--) {
		CU_ASSERT(open_env(sel, env[i], len[i], T0 + 5000, NULL) == RPCI_AUTH_REPLAY);
	}
	/* far behind the newest: cannot be told from a replay, refused */
	CU_ASSERT(open_env(sel, env[0], len[0], T0 + 5000, NULL) == RPCI_AUTH_REPLAY);
	/* a jump ahead clears the window; what it passed over is too old now */
	CU_ASSERT(open_env(sel, env[2099], len[2099], T0 + 5000, NULL) == RPCI_AUTH_OK);
	CU_ASSERT(open_env(sel, env[1000], len[1000], T0 + 5000, NULL) == RPCI_AUTH_REPLAY);
	CU_ASSERT(open_env(sel, env[2000], len[2000], T0 + 5000, NULL) == RPCI_AUTH_OK);
	CU_ASSERT(open_env(sel, env[2000], len[2000], T0 + 5000, NULL) == RPCI_AUTH_REPLAY);
	rpci_auth_ep_free(c1);
	rpci_auth_ep_free(sel);
}

/*
 * Several sender instances of one host (processes, channels) are tracked at
 * once; one forgotten to make room cannot be replayed afterwards.
 */
static void
test_instances(void)
{
	struct rpci_auth_ep *snd[RPCI_AUTH_INSTANCES + 1];
	struct rpci_auth_ep *sel = rpci_auth_ep_create(g_auth[SEL], T0);
	uint8_t first[MAX_BUF], one[MAX_BUF], buf[MAX_BUF];
	int i, n0, n1 = 0, n;

	for (i = 0; i <= RPCI_AUTH_INSTANCES; i++) {
		snd[i] = rpci_auth_ep_create(g_auth[S1], T0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(snd[i]);
	}
	n0 = seal(snd[0], SEL, "{}", first, T0 + 100);
	CU_ASSERT(open_env(sel, first, n0, T0 + 200, NULL) == RPCI_AUTH_OK);
	/* all tracked at once, interleaved */
	for (i = 1; i < RPCI_AUTH_INSTANCES; i++) {
		n = seal(snd[i], SEL, "{}", buf, T0 + 200 + i);
		CU_ASSERT(open_env(sel, buf, n, T0 + 300, NULL) == RPCI_AUTH_OK);
		if (i == 1) {
			memcpy(one, buf, (size_t)n);
			n1 = n;
		}
		n = seal(snd[0], SEL, "{}", buf, T0 + 200 + i);
		CU_ASSERT(open_env(sel, buf, n, T0 + 300, NULL) == RPCI_AUTH_OK);
	}
	/* one more instance: the least recently heard (1) is forgotten... */
	n = seal(snd[RPCI_AUTH_INSTANCES], SEL, "{}", buf, T0 + 400);
	CU_ASSERT(open_env(sel, buf, n, T0 + 500, NULL) == RPCI_AUTH_OK);
	/* ...and a replay of what it sent before is refused all the same (by time) */
	CU_ASSERT(open_env(sel, one, n1, T0 + 500, NULL) == RPCI_AUTH_REPLAY);
	/* instance 0, still tracked, refuses its replay by its window */
	CU_ASSERT(open_env(sel, first, n0, T0 + 500, NULL) == RPCI_AUTH_REPLAY);
	/* instance 1 goes on with new messages: taken */
	n = seal(snd[1], SEL, "{}", buf, T0 + 600);
	CU_ASSERT(open_env(sel, buf, n, T0 + 700, NULL) == RPCI_AUTH_OK);
	for (i = 0; i <= RPCI_AUTH_INSTANCES; i++) {
		rpci_auth_ep_free(snd[i]);
	}
	rpci_auth_ep_free(sel);
}

static struct rpci_ctrl_msg
mk(enum rpci_ctrl_type type)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.id = 1;
	return m;
}

static enum rpci_ctrl_verdict
check(unsigned int from, unsigned int roles, const struct rpci_ctrl_msg *m)
{
	return rpci_ctrl_check(g_conf, &g_conf->hosts[from], roles, m, NULL);
}

/* Who may send what to whom, and what it may say of itself. */
static void
test_roles(void)
{
	struct rpci_ctrl_msg m;
	const struct rpci_conf_device *d = &g_conf->hosts[S1].devices[0];

	/* REGISTER: from a server, about its own device as the file has it */
	m = mk(RPCI_CTRL_REGISTER);
	snprintf(m.u.reg.server, sizeof(m.u.reg.server), "s1");
	memcpy(m.u.reg.server_mac, g_conf->hosts[S1].mac, 6);
	snprintf(m.u.reg.device, sizeof(m.u.reg.device), "g0");
	m.u.reg.vendor_id = d->vendor_id;
	m.u.reg.device_id = d->device_id;
	m.u.reg.class_code = d->class_code;
	m.u.reg.memory_bytes = d->memory_bytes;
	snprintf(m.u.reg.backend, sizeof(m.u.reg.backend), "cpu");
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(C1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ROLE);
	CU_ASSERT(check(S1, RPCI_ROLE_CLIENT, &m) == RPCI_CTRL_ROLE);
	CU_ASSERT(check(S2, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED); /* s2 speaks for s1 */
	m.u.reg.server_mac[5] ^= 1;
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED); /* the MAC in the body */
	m.u.reg.server_mac[5] ^= 1;
	m.u.reg.memory_bytes <<= 10;
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED); /* more memory */
	m.u.reg.memory_bytes >>= 10;
	snprintf(m.u.reg.device, sizeof(m.u.reg.device), "g9");
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED); /* not its device */
	/* STATUS: its own device, no more free memory than it has, a real client */
	m = mk(RPCI_CTRL_STATUS);
	snprintf(m.u.status.server, sizeof(m.u.status.server), "s1");
	snprintf(m.u.status.device, sizeof(m.u.status.device), "g0");
	m.u.status.st.memory_free = d->memory_bytes;
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(S2, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED);
	m.u.status.st.memory_free++;
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED);
	m.u.status.st.memory_free--;
	m.u.status.st.in_use = true;
	memcpy(m.u.status.st.client_mac, g_conf->hosts[S2].mac, 6);
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED);
	memcpy(m.u.status.st.client_mac, g_conf->hosts[C2].mac, 6);
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ALLOWED);
	/* ATTACH, DETACH, REJECT: the selector host only */
	m = mk(RPCI_CTRL_ATTACH);
	CU_ASSERT(check(SEL, RPCI_ROLE_SERVER, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(SEL, RPCI_ROLE_CLIENT, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(C1, RPCI_ROLE_SERVER, &m) == RPCI_CTRL_ROLE);
	CU_ASSERT(check(S2, RPCI_ROLE_SERVER, &m) == RPCI_CTRL_ROLE);
	m = mk(RPCI_CTRL_DETACH);
	CU_ASSERT(check(C2, RPCI_ROLE_CLIENT, &m) == RPCI_CTRL_ROLE);
	CU_ASSERT(check(SEL, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ROLE);
	m = mk(RPCI_CTRL_REJECT);
	CU_ASSERT(check(SEL, RPCI_ROLE_SERVER, &m) == RPCI_CTRL_ROLE);
	/* REQUEST, RELEASE, REPORT: clients to the selector */
	m = mk(RPCI_CTRL_RELEASE);
	CU_ASSERT(check(C1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ROLE);
	m = mk(RPCI_CTRL_REQUEST);
	CU_ASSERT(check(C1, RPCI_ROLE_SERVER, &m) == RPCI_CTRL_ROLE);
	/* RENEW: for the sender's own address */
	m = mk(RPCI_CTRL_RENEW);
	memcpy(m.u.renew.client_mac, g_conf->hosts[C1].mac, 6);
	CU_ASSERT(check(C1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(C2, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED);
	/* MESSAGE: signed with the sender's name; to a client from the selector only */
	m = mk(RPCI_CTRL_MESSAGE);
	snprintf(m.u.message.from, sizeof(m.u.message.from), "c1");
	CU_ASSERT(check(C1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(C2, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_FORGED);
	CU_ASSERT(check(S1, RPCI_ROLE_SELECTOR, &m) == RPCI_CTRL_ROLE);
	CU_ASSERT(check(SEL, RPCI_ROLE_CLIENT, &m) == RPCI_CTRL_ALLOWED);
	CU_ASSERT(check(C2, RPCI_ROLE_CLIENT, &m) == RPCI_CTRL_ROLE);
	/* ACK: anyone */
	m = mk(RPCI_CTRL_ACK);
	CU_ASSERT(check(C2, RPCI_ROLE_SERVER, &m) == RPCI_CTRL_ALLOWED);
	/* not a type */
	m = mk((enum rpci_ctrl_type)99);
	CU_ASSERT(check(SEL, RPCI_ROLE_CLIENT, &m) == RPCI_CTRL_ROLE);
}

/* ------------------------------------------------------------- sessions */

/* A handshake between c1 and s1 as the link makes it; the two sessions, or NULL. */
static int
handshake(uint8_t cipher, uint8_t flags, uint8_t server_flags, struct rpci_auth_sess **client,
	  struct rpci_auth_sess **server)
{
	static const uint8_t open_aad[32 + 96] = { 1, 5 };
	static const uint8_t ack_aad[32 + 96] = { 1, 6 };
	uint8_t block[RPCI_AUTH_OPEN_LEN], ack[RPCI_AUTH_OPEN_LEN];
	struct rpci_auth_offer offer;
	enum rpci_auth_refusal why;

	*client = rpci_auth_sess_client(g_auth[C1], S1, cipher, flags);
	*server = NULL;
	if (*client == NULL || rpci_auth_sess_offer(*client, open_aad, sizeof(open_aad), block,
						    T0) != 0 ||
	    rpci_auth_offer_verify(g_auth[S1], open_aad, sizeof(open_aad), block, T0 + 5, &offer,
				   &why) != 0) {
		return -1;
	}
	offer.flags |= server_flags;
	*server = rpci_auth_sess_server(g_auth[S1], &offer);
	if (*server == NULL ||
	    rpci_auth_sess_answer(*server, ack_aad, sizeof(ack_aad), 0x1234, 77, ack,
				  T0 + 6) != 0 ||
	    rpci_auth_sess_confirm(*client, ack_aad, sizeof(ack_aad), ack, 0x1234, 77, &why) != 0) {
		return -1;
	}
	return 0;
}

/* Seal a frame (aad, payload) with from; open it with to. 0, -EBADMSG, ... */
static int
frame_trip(struct rpci_auth_sess *from, struct rpci_auth_sess *to, uint64_t ctr, uint8_t *aad,
	   uint8_t *payload, size_t len, uint64_t open_ctr, int flip)
{
	uint8_t tag[RPCI_AUTH_FRAME_TAG_LEN];
	bool enc = rpci_auth_sess_encrypts(from);
	size_t half = len / 2;

	if (rpci_auth_sess_seal_start(from, ctr, aad, 32) != 0 ||
	    rpci_auth_sess_seal_data(from, payload, enc ? payload : NULL, half) != 0 ||
	    rpci_auth_sess_seal_data(from, payload + half, enc ? payload + half : NULL,
				     len - half) != 0 ||
	    rpci_auth_sess_seal_finish(from, tag) != 0) {
		return -EIO;
	}
	if (flip >= 0 && flip < 32 * 8) {
		aad[flip / 8] ^= (uint8_t)(1u << (flip % 8));
	} else if (flip >= 32 * 8 && (size_t)flip < (32 + len) * 8) {
		payload[flip / 8 - 32] ^= (uint8_t)(1u << (flip % 8));
	} else if (flip >= 0) {
		tag[(flip / 8) % sizeof(tag)] ^= (uint8_t)(1u << (flip % 8));
	}
	if (rpci_auth_sess_open_start(to, open_ctr, aad, 32) != 0 ||
	    rpci_auth_sess_open_data(to, payload, enc ? payload : NULL, len) != 0) {
		return -EIO;
	}
	return rpci_auth_sess_open_finish(to, tag);
}

/* A session's handshake: keys both ends agree on, each direction its own. */
static void
test_session_handshake(void)
{
	struct rpci_auth_sess *c, *s;
	uint8_t aad[32] = { 1, 1 }, data[1500], copy[1500];
	unsigned int i;

	for (i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 7);
	}
	CU_ASSERT_FATAL(handshake(RPCI_AUTH_CIPHER_AES128GCM, 0, 0, &c, &s) == 0);
	CU_ASSERT(rpci_auth_sess_ready(c) && rpci_auth_sess_ready(s));
	CU_ASSERT(!rpci_auth_sess_encrypts(c) && !rpci_auth_sess_encrypts(s));
	CU_ASSERT(frame_trip(c, s, 1, aad, data, sizeof(data), 1, -1) == 0);
	CU_ASSERT(frame_trip(s, c, 1, aad, data, sizeof(data), 1, -1) == 0);
	/* authenticated only: the payload is left as it was */
	for (i = 0; i < sizeof(data); i++) {
		CU_ASSERT_FATAL(data[i] == (uint8_t)(i * 7));
	}
	/* a frame sealed one way does not open as the other way's */
	CU_ASSERT(frame_trip(c, c, 2, aad, data, sizeof(data), 2, -1) == -EBADMSG);
	/* another counter (a replay under another number) does not open */
	CU_ASSERT(frame_trip(c, s, 3, aad, data, sizeof(data), 4, -1) == -EBADMSG);
	/* every bit of header, payload and tag counts */
	for (i = 0; i < (32 + sizeof(data) + 16) * 8; i += 61) {
		memcpy(copy, data, sizeof(data));
		CU_ASSERT(frame_trip(c, s, 10 + i, aad, copy, sizeof(copy), 10 + i, (int)i) ==
			  -EBADMSG);
		aad[0] = 1;
		aad[1] = 1;
		memset(aad + 2, 0, sizeof(aad) - 2);
	}
	rpci_auth_sess_free(c);
	rpci_auth_sess_free(s);
	/* another handshake: other keys */
	{
		struct rpci_auth_sess *c2, *s2;

		CU_ASSERT_FATAL(handshake(RPCI_AUTH_CIPHER_AES128GCM, 0, 0, &c2, &s2) == 0);
		CU_ASSERT_FATAL(handshake(RPCI_AUTH_CIPHER_AES128GCM, 0, 0, &c, &s) == 0);
		CU_ASSERT(frame_trip(c, s2, 1, aad, data, sizeof(data), 1, -1) == -EBADMSG);
		rpci_auth_sess_free(c2);
		rpci_auth_sess_free(s2);
		rpci_auth_sess_free(c);
		rpci_auth_sess_free(s);
	}
}

/* Encryption: asked by the client or added by the server; both ciphers. */
static void
test_session_encrypt(void)
{
	static const uint8_t ciphers[2] = { RPCI_AUTH_CIPHER_AES128GCM,
					    RPCI_AUTH_CIPHER_CHACHA20POLY1305 };
	struct rpci_auth_sess *c, *s;
	uint8_t aad[32] = { 1, 1 }, data[4096];
	unsigned int i, k, same;

	for (k = 0; k < 4; k++) {
		uint8_t flags = (k & 1) ? RPCI_AUTH_SESS_ENCRYPT : 0;
		uint8_t sflags = (k & 1) ? 0 : RPCI_AUTH_SESS_ENCRYPT;

		CU_ASSERT_FATAL(handshake(ciphers[k / 2], flags, sflags, &c, &s) == 0);
		CU_ASSERT(rpci_auth_sess_cipher(c) == ciphers[k / 2]);
		CU_ASSERT(rpci_auth_sess_encrypts(c) && rpci_auth_sess_encrypts(s));
		for (i = 0; i < sizeof(data); i++) {
			data[i] = (uint8_t)i;
		}
		CU_ASSERT(frame_trip(c, s, 5, aad, data, sizeof(data), 5, -1) == 0);
		for (i = 0, same = 0; i < sizeof(data); i++) {
			same += data[i] == (uint8_t)i;
		}
		CU_ASSERT(same == sizeof(data)); /* decrypted back */
		CU_ASSERT(frame_trip(s, c, 5, aad, data, sizeof(data), 5, 40 * 8) == -EBADMSG);
		rpci_auth_sess_free(c);
		rpci_auth_sess_free(s);
	}
	/* sealed: the payload is not readable on the wire */
	CU_ASSERT_FATAL(handshake(RPCI_AUTH_CIPHER_AES128GCM, RPCI_AUTH_SESS_ENCRYPT, 0, &c, &s) ==
			0);
	for (i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)i;
	}
	{
		uint8_t tag[RPCI_AUTH_FRAME_TAG_LEN];

		CU_ASSERT(rpci_auth_sess_seal_start(c, 9, aad, 32) == 0);
		CU_ASSERT(rpci_auth_sess_seal_data(c, data, data, sizeof(data)) == 0);
		CU_ASSERT(rpci_auth_sess_seal_finish(c, tag) == 0);
		for (i = 0, same = 0; i < sizeof(data); i++) {
			same += data[i] == (uint8_t)i;
		}
		CU_ASSERT(same < 64);
	}
	rpci_auth_sess_free(c);
	rpci_auth_sess_free(s);
}

/* The OPEN's block: refused when altered, stale, for another host, or from a stranger. */
static void
test_session_open(void)
{
	uint8_t aad[128] = { 1, 5 }, block[RPCI_AUTH_OPEN_LEN], ack[RPCI_AUTH_OPEN_LEN], b2[80];
	struct rpci_auth_offer offer;
	enum rpci_auth_refusal why;
	struct rpci_auth_sess *c, *s, *c2;
	unsigned int bit;

	c = rpci_auth_sess_client(g_auth[C1], S1, RPCI_AUTH_CIPHER_AES128GCM, 0);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(rpci_auth_sess_offer(c, aad, sizeof(aad), block, T0) == 0);
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), block, T0, &offer,
					 &why) == 0 && why == RPCI_AUTH_OK);
	CU_ASSERT(offer.from == C1 && offer.cipher == RPCI_AUTH_CIPHER_AES128GCM);
	/* every bit of the link's header and body and of the block counts */
	for (bit = 0; bit < (sizeof(aad) + sizeof(block)) * 8; bit += 13) {
		uint8_t *p = bit / 8 < sizeof(aad) ? aad + bit / 8 : block + bit / 8 - sizeof(aad);

		*p ^= (uint8_t)(1u << (bit % 8));
		CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), block, T0, &offer,
						 &why) == -EACCES);
		*p ^= (uint8_t)(1u << (bit % 8));
	}
	/* another server, the wrong key (s2 reading what was sealed for s1) */
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S2], aad, sizeof(aad), block, T0, &offer,
					 &why) == -EACCES && why == RPCI_AUTH_NOT_FOR_US);
	memcpy(b2, block, sizeof(b2));
	b2[3] = S2;
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S2], aad, sizeof(aad), b2, T0, &offer, &why) ==
		  -EACCES && why == RPCI_AUTH_BAD_TAG);
	b2[2] = 9;
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S2], aad, sizeof(aad), b2, T0, &offer, &why) ==
		  -EACCES && why == RPCI_AUTH_UNKNOWN_HOST);
	/* c2 claiming c1's index without its key */
	c2 = rpci_auth_sess_client(g_auth[C2], S1, RPCI_AUTH_CIPHER_AES128GCM, 0);
	CU_ASSERT_FATAL(c2 != NULL);
	CU_ASSERT(rpci_auth_sess_offer(c2, aad, sizeof(aad), b2, T0) == 0);
	b2[2] = C1;
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), b2, T0, &offer, &why) ==
		  -EACCES && why == RPCI_AUTH_BAD_TAG);
	/* an unknown cipher, reserved bits */
	memcpy(b2, block, sizeof(b2));
	b2[0] = 7;
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), b2, T0, &offer, &why) ==
		  -EACCES && why == RPCI_AUTH_MALFORMED);
	memcpy(b2, block, sizeof(b2));
	b2[5] = 1;
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), b2, T0, &offer, &why) ==
		  -EACCES && why == RPCI_AUTH_MALFORMED);
	/* outside the window (1 s), either way */
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), block, T0 + 1000001,
					 &offer, &why) == -EACCES && why == RPCI_AUTH_STALE);
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), block, T0 - 1000001,
					 &offer, &why) == -EACCES && why == RPCI_AUTH_STALE);
	/* a resend: the same key and nonce, a new time */
	CU_ASSERT(rpci_auth_sess_offer(c, aad, sizeof(aad), b2, T0 + 900000) == 0);
	CU_ASSERT(memcmp(b2 + 16, block + 16, 48) == 0);
	CU_ASSERT(rpci_auth_offer_verify(g_auth[S1], aad, sizeof(aad), b2, T0 + 1000001, &offer,
					 &why) == 0);
	/* the answer: refused when altered, or when it answers another OPEN */
	s = rpci_auth_sess_server(g_auth[S1], &offer);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT(rpci_auth_sess_answer(s, aad, sizeof(aad), 1, 0, ack, T0) == 0);
	CU_ASSERT(rpci_auth_sess_confirm(c2, aad, sizeof(aad), ack, 1, 0, &why) == -EACCES);
	ack[70] ^= 1;
	CU_ASSERT(rpci_auth_sess_confirm(c, aad, sizeof(aad), ack, 1, 0, &why) == -EACCES &&
		  why == RPCI_AUTH_BAD_TAG);
	ack[70] ^= 1;
	ack[0] = RPCI_AUTH_CIPHER_CHACHA20POLY1305;
	CU_ASSERT(rpci_auth_sess_confirm(c, aad, sizeof(aad), ack, 1, 0, &why) == -EACCES &&
		  why == RPCI_AUTH_MALFORMED);
	ack[0] = RPCI_AUTH_CIPHER_AES128GCM;
	CU_ASSERT(!rpci_auth_sess_ready(c));
	CU_ASSERT(rpci_auth_sess_confirm(c, aad, sizeof(aad), ack, 1, 0, &why) == 0);
	CU_ASSERT(rpci_auth_sess_ready(c));
	/* keys bound to the session id and lease: another id, other keys */
	{
		uint8_t h[32] = { 0 }, d[64] = { 0 };
		struct rpci_auth_sess *s3 = rpci_auth_sess_server(g_auth[S1], &offer);

		CU_ASSERT_FATAL(s3 != NULL);
		CU_ASSERT(rpci_auth_sess_answer(s3, aad, sizeof(aad), 2, 0, ack, T0) == 0);
		CU_ASSERT(frame_trip(c, s, 1, h, d, sizeof(d), 1, -1) == -EBADMSG ||
			  frame_trip(c, s3, 2, h, d, sizeof(d), 2, -1) == -EBADMSG);
		rpci_auth_sess_free(s3);
	}
	/* a client may not offer nonsense */
	CU_ASSERT(rpci_auth_sess_client(g_auth[C1], 99, RPCI_AUTH_CIPHER_AES128GCM, 0) == NULL);
	CU_ASSERT(rpci_auth_sess_client(g_auth[C1], S1, RPCI_AUTH_CIPHER_NONE,
					RPCI_AUTH_SESS_ENCRYPT) == NULL);
	rpci_auth_sess_free(c);
	rpci_auth_sess_free(c2);
	rpci_auth_sess_free(s);
}

/* A session of cipher NONE: the OPEN authenticated, no keys for frames. */
static void
test_session_none(void)
{
	struct rpci_auth_sess *c, *s;

	CU_ASSERT_FATAL(handshake(RPCI_AUTH_CIPHER_NONE, 0, 0, &c, &s) == 0);
	CU_ASSERT(!rpci_auth_sess_ready(c) && !rpci_auth_sess_ready(s));
	CU_ASSERT(rpci_auth_sess_seal_start(c, 1, NULL, 0) == -EINVAL);
	rpci_auth_sess_free(c);
	rpci_auth_sess_free(s);
	CU_ASSERT(strcmp(rpci_auth_cipher_name(RPCI_AUTH_CIPHER_AES128GCM), "aes-128-gcm") == 0);
	CU_ASSERT(rpci_auth_host_by_mac(g_auth[S1], (const uint8_t[6]){ 2, 0, 0, 0, 2, 2 }) ==
		  C2);
	CU_ASSERT(rpci_auth_host_by_mac(g_auth[S1], (const uint8_t[6]){ 2, 0, 0, 0, 9, 9 }) ==
		  -ENOENT);
}

/* The log's rate limit: a burst, then a line a tenth of a second. */
static void
test_log_limit(void)
{
	struct rpci_auth_log_limit l;
	uint64_t hz = 1000000, t = 5 * hz, skipped = 99;
	unsigned int i, n = 0;

	memset(&l, 0, sizeof(l));
	for (i = 0; i < 100; i++) {
		n += rpci_auth_log_allow(&l, t, hz, NULL);
	}
	CU_ASSERT(n == RPCI_AUTH_LOG_BURST);
	CU_ASSERT(!rpci_auth_log_allow(&l, t + hz / 20, hz, &skipped));
	CU_ASSERT(rpci_auth_log_allow(&l, t + hz / 10, hz, &skipped));
	CU_ASSERT(skipped == 100 - RPCI_AUTH_LOG_BURST + 1);
	CU_ASSERT(l.skipped_total == skipped);
	for (i = 0, n = 0; i < 100; i++) {
		n += rpci_auth_log_allow(&l, t + 10 * hz, hz, NULL);
	}
	CU_ASSERT(n == RPCI_AUTH_LOG_BURST);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("auth", suite_init, suite_fini);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_key_files);
	CU_ADD_TEST(suite, test_key_mismatch);
	CU_ADD_TEST(suite, test_mode_none);
	CU_ADD_TEST(suite, test_envelope);
	CU_ADD_TEST(suite, test_time_window);
	CU_ADD_TEST(suite, test_replay_window);
	CU_ADD_TEST(suite, test_instances);
	CU_ADD_TEST(suite, test_roles);
	CU_ADD_TEST(suite, test_session_handshake);
	CU_ADD_TEST(suite, test_session_encrypt);
	CU_ADD_TEST(suite, test_session_open);
	CU_ADD_TEST(suite, test_session_none);
	CU_ADD_TEST(suite, test_log_limit);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return (int)failures;
}
