/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Fuzz harness of authenticated control messages: the envelope (lib/auth),
 * the codec behind it (lib/ctrl) and the role checks (rpci_ctrl_check()),
 * with the keys of a deployment of five hosts made at the first input.
 *
 * Input: byte 0 picks the sender host, byte 1 the receiver's roles, the rest
 * is a message. The rest is first given as it is to the receiver's
 * rpci_auth_open(): it has no valid tag, so it must be refused, and
 * nothing is taken. Then it is sealed by the sender's endpoint for the
 * receiver (so that it reaches the decoder, as a message of a host that
 * holds its key): it must open, once (again is a replay), intact and from
 * that sender; it is decoded, and when it decodes, checked against the
 * sender's roles: a verdict the checker documents, and the same twice.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "fuzz.h"

#define HOSTS 5
#define T0 1700000000000000ULL

static struct rpci_conf *g_conf;
static struct rpci_auth *g_auth[HOSTS];
static struct rpci_auth_ep *g_ep[HOSTS];
static uint64_t g_now = T0;
static uint8_t g_buf[RPCI_CTRL_MAX + RPCI_AUTH_OVERHEAD + 64];

static const char *const g_names[HOSTS] = { "sel", "s1", "s2", "c1", "c2" };
static const unsigned int g_roles[4] = {
	RPCI_ROLE_SELECTOR, RPCI_ROLE_SERVER, RPCI_ROLE_CLIENT,
	RPCI_ROLE_SERVER | RPCI_ROLE_SELECTOR,
};

static void
setup(void)
{
	static char dir[] = "/tmp/rpci-fuzz-auth-XXXXXX";
	char text[4096], err[512];
	unsigned int i;

	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(text, sizeof(text),
		 "auth = { dir = \"%s\"; };\nselector = { host = \"sel\"; };\nhosts = (\n"
		 " { name = \"sel\"; roles = [ \"selector\", \"server\" ];"
		 "   mac = \"02:00:00:00:00:01\"; eal = { lcores = \"0\"; };"
		 "   devices = ( { name = \"g0\"; backend = \"cpu\"; memory_mb = 64;"
		 "   vendor_id = 0x7270; device_id = 1; class_code = 0x030200; } ); },\n"
		 " { name = \"s1\"; roles = [ \"server\" ]; mac = \"02:00:00:00:01:01\";"
		 "   eal = { lcores = \"0\"; }; devices = ( { name = \"vgpu0\"; backend = \"cpu\";"
		 "   memory_mb = 256; vendor_id = 0x7270; device_id = 1;"
		 "   class_code = 0x030200; } ); },\n"
		 " { name = \"s2\"; roles = [ \"server\" ]; mac = \"02:00:00:00:01:02\";"
		 "   eal = { lcores = \"0\"; }; devices = ( { name = \"vgpu0\"; backend = \"cpu\";"
		 "   memory_mb = 128; vendor_id = 0x7270; device_id = 1;"
		 "   class_code = 0x030200; } ); },\n"
		 " { name = \"c1\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:01\";"
		 "   eal = { lcores = \"0\"; }; },\n"
		 " { name = \"c2\"; roles = [ \"client\" ]; mac = \"02:00:00:00:02:02\";"
		 "   eal = { lcores = \"0\"; }; }\n);\n", dir);
	g_conf = rpci_conf_load_string(text, "fuzz.cfg", err, sizeof(err));
	FUZZ_CHECK(g_conf != NULL);
	for (i = 0; i < HOSTS; i++) {
		FUZZ_CHECK(rpci_auth_keygen(dir, g_names[i], err, sizeof(err)) == 0);
	}
	for (i = 0; i < HOSTS; i++) {
		g_auth[i] = rpci_auth_create(g_conf, g_names[i], err, sizeof(err));
		FUZZ_CHECK(g_auth[i] != NULL);
		g_ep[i] = rpci_auth_ep_create(g_auth[i], T0);
		FUZZ_CHECK(g_ep[i] != NULL);
	}
	/* The keys are in memory now: the files go. */
	for (i = 0; i < HOSTS; i++) {
		char path[600];

		rpci_auth_key_paths(dir, g_names[i], path, sizeof(path), NULL, 0);
		remove(path);
		rpci_auth_key_paths(dir, g_names[i], NULL, 0, path, sizeof(path));
		remove(path);
	}
	remove(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum rpci_auth_refusal why;
	enum rpci_ctrl_verdict v;
	struct rpci_ctrl_msg m;
	unsigned int from, to, sender, roles;
	const void *body;
	size_t body_len, len;
	int n;

	if (g_conf == NULL) {
		setup();
	}
	if (size < 2) {
		return 0;
	}
	sender = data[0] % HOSTS;
	roles = g_roles[data[1] % 4];
	to = (data[1] >> 2) % HOSTS;
	data += 2;
	len = size - 2;
	g_now += 1000;

	/* Unsealed bytes never open. */
	FUZZ_CHECK(rpci_auth_open(g_ep[to], data, len, g_now, &from, &body, &body_len,
				  &why) == -EACCES);
	FUZZ_CHECK(why != RPCI_AUTH_OK && why < RPCI_AUTH_NB_REFUSALS);

	/* Sealed by a host that has its key: opens once, intact, from it. */
	n = rpci_auth_seal(g_ep[sender], to, data, len, g_buf, sizeof(g_buf), g_now);
	if (len + RPCI_AUTH_OVERHEAD > sizeof(g_buf)) {
		FUZZ_CHECK(n == -EMSGSIZE);
		return 0;
	}
	FUZZ_CHECK(n == (int)(len + RPCI_AUTH_OVERHEAD));
	FUZZ_CHECK(rpci_auth_open(g_ep[to], g_buf, (size_t)n, g_now, &from, &body, &body_len,
				  &why) == 0);
	FUZZ_CHECK(from == sender && body_len == len && memcmp(body, data, len) == 0);
	FUZZ_CHECK(rpci_auth_open(g_ep[to], g_buf, (size_t)n, g_now, &from, &body, &body_len,
				  &why) == -EACCES && why == RPCI_AUTH_REPLAY);
	if (rpci_ctrl_decode(body, body_len, &m, NULL) < 0) {
		return 0;
	}
	v = rpci_ctrl_check(g_conf, &g_conf->hosts[sender], roles, &m, NULL);
	FUZZ_CHECK(v == RPCI_CTRL_ALLOWED || v == RPCI_CTRL_ROLE || v == RPCI_CTRL_FORGED);
	FUZZ_CHECK(rpci_ctrl_check(g_conf, &g_conf->hosts[sender], roles, &m, NULL) == v);
	return 0;
}
