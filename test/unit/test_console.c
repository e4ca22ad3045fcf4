/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/console: commands typed on unix socket sessions and run
 * from command files, against a real selector (lib/selector) and a fake
 * process (callbacks that record what they were asked), without a link;
 * then the link commands on a link over a net_ring port looped to itself.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <cjson/cJSON.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "console_private.h"
#include "rpci_console.h"
#include "rpci_link.h"
#include "rpci_selector.h"

#define T_HOST "t0"
#define T_PROMPT "rpci-" T_HOST "> "
#define T_OUT_MAX 65536
#define T_WAIT_MS 2000
#define T_LEASE_US 5000000ull
#define T_T0_US 1000000ull

static char g_dir[48];
static char g_sock[96];
static struct rpci_selector *g_sel;
static struct rpci_console *g_con;
static volatile sig_atomic_t g_quit;
static uint64_t g_now_us = T_T0_US;
static char g_out[T_OUT_MAX];

/* What the fake process's callbacks were asked. */
static struct {
	unsigned int attach, detach, drain, set_policy, show_devices, personality, reset;
	char profile[RPCI_SEL_NAME_MAX];
	char server[RPCI_SEL_NAME_MAX];
	char device[RPCI_SEL_NAME_MAX];
	uint8_t mac[6];
	uint64_t lease;
	bool on;
	int ret;         /* what they return */
	const char *msg; /* what they say ("" for nothing) */
} g_calls;

/* ---------------------------------------------------------- fake process */

static uint64_t
fake_now(void *arg)
{
	RTE_SET_USED(arg);
	return g_now_us;
}

static int
fake_attach(void *arg, const char *server, const char *device, const uint8_t mac[6], char *msg,
	    size_t len)
{
	RTE_SET_USED(arg);
	g_calls.attach++;
	snprintf(g_calls.server, sizeof(g_calls.server), "%s", server);
	snprintf(g_calls.device, sizeof(g_calls.device), "%s", device);
	memcpy(g_calls.mac, mac, 6);
	snprintf(msg, len, "%s", g_calls.msg);
	return g_calls.ret;
}

static int
fake_detach(void *arg, uint64_t lease, char *msg, size_t len)
{
	RTE_SET_USED(arg);
	g_calls.detach++;
	g_calls.lease = lease;
	snprintf(msg, len, "%s", g_calls.msg);
	return g_calls.ret;
}

static int
fake_drain(void *arg, const char *server, bool on, char *msg, size_t len)
{
	RTE_SET_USED(arg);
	g_calls.drain++;
	snprintf(g_calls.server, sizeof(g_calls.server), "%s", server);
	g_calls.on = on;
	snprintf(msg, len, "%s", g_calls.msg);
	return g_calls.ret;
}

static int
fake_show_devices(void *arg, struct cmdline *cl)
{
	RTE_SET_USED(arg);
	g_calls.show_devices++;
	cmdline_printf(cl, "DEVICES-OF-THE-FAKE-SERVER\n");
	return 0;
}

static int
fake_set_personality(void *arg, const char *device, const char *profile, char *msg, size_t len)
{
	RTE_SET_USED(arg);
	g_calls.personality++;
	snprintf(g_calls.device, sizeof(g_calls.device), "%s", device);
	snprintf(g_calls.profile, sizeof(g_calls.profile), "%s", profile);
	snprintf(msg, len, "%s", g_calls.msg);
	return g_calls.ret;
}

static int
fake_reset_device(void *arg, const char *device, char *msg, size_t len)
{
	RTE_SET_USED(arg);
	g_calls.reset++;
	snprintf(g_calls.device, sizeof(g_calls.device), "%s", device);
	snprintf(msg, len, "%s", g_calls.msg);
	return g_calls.ret;
}

static void
calls_reset(void)
{
	memset(&g_calls, 0, sizeof(g_calls));
	g_calls.msg = "";
}

/* ------------------------------------------------------------- sessions */

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/*
 * Poll the console and read fd into out until out ends with the prompt (or
 * contains needle, if not NULL), or the peer closes. Returns the length,
 * -1 on a time-out; *eof tells a close.
 */
static int
sess_read(struct rpci_console *c, int fd, char *out, size_t size, const char *needle, bool *eof)
{
	uint64_t deadline = mono_ms() + T_WAIT_MS;
	size_t len = 0;

	out[0] = '\0';
	if (eof != NULL) {
		*eof = false;
	}
	while (mono_ms() < deadline) {
		ssize_t n;

		rpci_console_poll(c);
		n = recv(fd, out + len, size - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			out[len] = '\0';
			if ((needle != NULL && strstr(out, needle) != NULL) ||
			    (needle == NULL && ends_with(out, T_PROMPT))) {
				return (int)len;
			}
		} else if (n == 0) {
			if (eof != NULL) {
				*eof = true;
			}
			return (int)len;
		} else {
			usleep(100);
		}
	}
	return -1;
}

/* Connect to a console socket and read its prompt. */
static int
sess_open(struct rpci_console *c, const char *path)
{
	struct sockaddr_un addr;
	int fd;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    sess_read(c, fd, g_out, sizeof(g_out), NULL, NULL) < 0 ||
	    strcmp(g_out, T_PROMPT) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_str(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * Run a command on a session: out receives its output without the echoed
 * command line and the next prompt. Returns 0, or -1 (time-out, closed).
 */
static int
sess_cmd(struct rpci_console *c, int fd, const char *cmd, char *out, size_t size)
{
	char *nl;
	int n;

	if (send_str(fd, cmd) < 0 || send_str(fd, "\n") < 0) {
		return -1;
	}
	n = sess_read(c, fd, out, size, NULL, NULL);
	if (n < 0 || !ends_with(out, T_PROMPT)) {
		return -1;
	}
	out[strlen(out) - strlen(T_PROMPT)] = '\0';
	nl = strchr(out, '\n');
	if (nl == NULL) {
		return -1;
	}
	memmove(out, nl + 1, strlen(nl + 1) + 1);
	return 0;
}

/* Number of lines of out that start with "error: ". */
static unsigned int
error_lines(const char *out)
{
	const char *p = out;
	unsigned int n = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, RPCI_CONSOLE_ERROR, strlen(RPCI_CONSOLE_ERROR)) == 0) {
			n++;
		}
		p = strchr(p, '\n');
		if (p != NULL) {
			p++;
		}
	}
	return n;
}

/* The line of out whose first two words are a and b, split into words. */
static int
find_row(const char *out, const char *a, const char *b, char words[16][64])
{
	const char *p = out;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, '\n');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
		size_t i = 0, k;
		int n = 0;

		if (len < 512) {
			while (i < len && n < 16) {
				while (i < len && p[i] == ' ') {
					i++;
				}
				k = i;
				while (k < len && p[k] != ' ') {
					k++;
				}
				if (k > i) {
					snprintf(words[n++], 64, "%.*s", (int)(k - i), p + i);
				}
				i = k;
			}
			if (n >= 2 && strcmp(words[0], a) == 0 && strcmp(words[1], b) == 0) {
				return n;
			}
		}
		p = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

/* ------------------------------------------------------------ fixtures */

static void
sel_register(const char *server, uint8_t last, const char *device, uint16_t function,
	     uint64_t mib, const char *backend, uint64_t free_mib, double load)
{
	struct rpci_sel_device_info info;
	struct rpci_sel_device_status st;

	memset(&info, 0, sizeof(info));
	snprintf(info.server, sizeof(info.server), "%s", server);
	memcpy(info.server_mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, last }, 6);
	snprintf(info.device, sizeof(info.device), "%s", device);
	info.function = function;
	info.vendor_id = 0x7270;
	info.device_id = 1;
	info.class_code = 0x030200;
	info.memory_bytes = mib << 20;
	snprintf(info.backend, sizeof(info.backend), "%s", backend);
	info.module_kinds = 1;
	info.compute_units = 1;
	CU_ASSERT_EQUAL_FATAL(rpci_selector_register(g_sel, &info, g_now_us), 0);
	memset(&st, 0, sizeof(st));
	st.memory_free = free_mib << 20;
	st.load = load;
	CU_ASSERT_EQUAL_FATAL(rpci_selector_status(g_sel, server, device, &st, g_now_us), 0);
}

static struct rpci_console_env
selector_env(void)
{
	struct rpci_console_env env;

	memset(&env, 0, sizeof(env));
	env.prog = "test-selector";
	env.host = T_HOST;
	env.selector = g_sel;
	env.now_us = fake_now;
	env.attach = fake_attach;
	env.detach = fake_detach;
	env.drain = fake_drain;
	env.show_devices = fake_show_devices;
	env.set_personality = fake_set_personality;
	env.reset_device = fake_reset_device;
	env.quit = &g_quit;
	env.poll_interval_us = 1;
	return env;
}

static int
suite_init(void)
{
	struct rpci_sel_params p = {
		.policy = RPCI_SEL_FIRST_FIT,
		.heartbeat_us = 100000,
		.missed_heartbeats = 3,
		.lease_us = T_LEASE_US,
		.explore = 0.0,
		.seed = 1,
		.max_devices = 64,
	};
	struct rpci_console_env env;

	snprintf(g_sock, sizeof(g_sock), "%s/run/rpci/" T_HOST ".sock", g_dir);
	g_sel = rpci_selector_create(&p);
	if (g_sel == NULL) {
		return -1;
	}
	env = selector_env();
	g_con = rpci_console_create(&env);
	if (g_con == NULL) {
		return -1;
	}
	/* mkdir -p of the socket's directory */
	return rpci_console_listen(g_con, g_sock) == 0 ? 0 : -1;
}

static int
suite_fini(void)
{
	rpci_console_free(g_con);
	g_con = NULL;
	rpci_selector_free(g_sel);
	g_sel = NULL;
	return 0;
}

/* ----------------------------------------------------------------- tests */

static void
test_help_lists_every_command(void)
{
	unsigned int a, i, n = 0;
	int fd;

	fd = sess_open(g_con, g_sock);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "help", g_out, sizeof(g_out)), 0);
	for (a = 0; g_console_areas[a] != NULL; a++) {
		char head[64];

		snprintf(head, sizeof(head), "\n%s: ", g_console_areas[a]->name);
		CU_ASSERT_PTR_NOT_NULL(strstr(g_out, head));
		for (i = 0; g_console_areas[a]->cmds[i] != NULL; i++) {
			const char *h = g_console_areas[a]->cmds[i]->help_str;

			CU_ASSERT_PTR_NOT_NULL(h);
			CU_ASSERT_PTR_NOT_NULL(strstr(g_out, h));
			n++;
		}
	}
	/* the commands the issue asks for, by their usage */
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show port:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show link stats:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show devices:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show table:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show table json:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show sessions:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  set policy first-fit|best-fit|least-loaded|"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  attach <SERVER> <DEVICE> <CLIENT_MAC>:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  detach <LEASE_ID>:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  drain <SERVER> on|off:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  set link faults tx|rx drop <D> dup <D> "));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  set link faults off:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  set link faults seed <N>:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  quit:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show security:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  show clients:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  set personality <DEVICE> <PROFILE>:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  reset <DEVICE>:"));
	CU_ASSERT_EQUAL(n, 21);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	close(fd);
}

static void
test_show_table(void)
{
	struct rpci_sel_action act;
	const uint8_t client[6] = { 0x02, 0, 0, 0, 0, 0x09 };
	char words[16][64], lease[32];
	cJSON *j, *devs, *d;
	int fd, n, i;

	g_now_us = T_T0_US;
	sel_register("s0", 1, "gpu0", 0, 256, "cpu", 200, 0.25);
	sel_register("s0", 1, "gpu1", 1, 512, "cpu", 512, 0.25);
	sel_register("s1", 2, "gpu0", 0, 1024, "opencl", 1000, 0.5);
	CU_ASSERT_EQUAL_FATAL(rpci_selector_attach(g_sel, "s0", "gpu1", client, g_now_us, &act),
			      0);
	snprintf(lease, sizeof(lease), "%" PRIu64, act.att.lease_id);
	g_now_us = T_T0_US + 250000; /* 250 ms after the last heartbeat */

	fd = sess_open(g_con, g_sock);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(sess_cmd(g_con, fd, "show table", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "policy first-fit, 3 devices\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "SERVER"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "HEARTBEAT_MS"));
	/* server device state backend mem free load client lease expires heartbeat id class avg */
	n = find_row(g_out, "s0", "gpu0", words);
	CU_ASSERT_EQUAL(n, 14);
	if (n == 14) {
		CU_ASSERT_STRING_EQUAL(words[2], "free");
		CU_ASSERT_STRING_EQUAL(words[3], "cpu");
		CU_ASSERT_STRING_EQUAL(words[4], "256");
		CU_ASSERT_STRING_EQUAL(words[5], "200");
		CU_ASSERT_STRING_EQUAL(words[6], "0.25");
		CU_ASSERT_STRING_EQUAL(words[7], "-");
		CU_ASSERT_STRING_EQUAL(words[8], "-");
		CU_ASSERT_STRING_EQUAL(words[9], "-");
		CU_ASSERT_STRING_EQUAL(words[10], "250");
		CU_ASSERT_STRING_EQUAL(words[11], "7270:0001");
		CU_ASSERT_STRING_EQUAL(words[12], "030200");
		CU_ASSERT_STRING_EQUAL(words[13], "0.25");
	}
	n = find_row(g_out, "s0", "gpu1", words);
	CU_ASSERT_EQUAL(n, 14);
	if (n == 14) {
		CU_ASSERT_STRING_EQUAL(words[2], "attached");
		CU_ASSERT_STRING_EQUAL(words[4], "512");
		CU_ASSERT_STRING_EQUAL(words[7], "02:00:00:00:00:09");
		CU_ASSERT_STRING_EQUAL(words[8], lease);
		CU_ASSERT_STRING_EQUAL(words[9], "4.8"); /* 5 s lease, 0.25 s later */
	}
	n = find_row(g_out, "s1", "gpu0", words);
	CU_ASSERT_EQUAL(n, 14);
	if (n == 14) {
		CU_ASSERT_STRING_EQUAL(words[3], "opencl");
		CU_ASSERT_STRING_EQUAL(words[4], "1024");
	}

	/* the same as JSON */
	CU_ASSERT_EQUAL_FATAL(sess_cmd(g_con, fd, "show table json", g_out, sizeof(g_out)), 0);
	j = cJSON_Parse(g_out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "policy")),
			       "first-fit");
	devs = cJSON_GetObjectItem(j, "devices");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(devs), 3);
	for (i = 0; i < cJSON_GetArraySize(devs); i++) {
		d = cJSON_GetArrayItem(devs, i);
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(d, "device")), "gpu1") != 0) {
			CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(d, "lease_id")));
			continue;
		}
		CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(d, "server")),
				       "s0");
		CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(d, "state")),
				       "attached");
		CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(d, "client_mac")),
				       "02:00:00:00:00:09");
		CU_ASSERT_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "lease_id")),
				(double)act.att.lease_id);
		CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(d,
					"lease_expires_s")), 4.75, 1e-9);
		CU_ASSERT_DOUBLE_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(d,
					"heartbeat_age_ms")), 250.0, 1e-9);
		CU_ASSERT_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "memory_bytes")),
				512.0 * 1048576.0);
	}
	cJSON_Delete(j);

	/* attachments only */
	CU_ASSERT_EQUAL_FATAL(sess_cmd(g_con, fd, "show sessions", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(find_row(g_out, lease, "02:00:00:00:00:09", words), 6);
	CU_ASSERT_STRING_EQUAL(words[2], "s0");
	CU_ASSERT_STRING_EQUAL(words[3], "gpu1");
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "1 attachments\n"));
	CU_ASSERT_PTR_NULL(strstr(g_out, "opencl"));
	close(fd);
}

static void
test_set_policy(void)
{
	int fd = sess_open(g_con, g_sock);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "set policy best-fit", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_BEST_FIT);
	CU_ASSERT_STRING_EQUAL(g_out, "policy best-fit\n");
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "set policy learned", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_LEARNED);
	/* unknown: refused with an error line that lists the policies */
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "set policy fastest", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "unknown policy 'fastest'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "least-loaded"));
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_LEARNED);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "set policy first-fit", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_FIRST_FIT);
	close(fd);
}

static void
test_attach_detach_drain(void)
{
	const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x2a };
	int fd = sess_open(g_con, g_sock);

	CU_ASSERT_FATAL(fd >= 0);
	calls_reset();
	g_calls.msg = "lease 77: s1/gpu0 -> 02:00:00:00:00:2a";
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "attach s1 gpu0 02:00:00:00:00:2A", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_calls.attach, 1);
	CU_ASSERT_STRING_EQUAL(g_calls.server, "s1");
	CU_ASSERT_STRING_EQUAL(g_calls.device, "gpu0");
	CU_ASSERT_EQUAL(memcmp(g_calls.mac, mac, 6), 0);
	CU_ASSERT_STRING_EQUAL(g_out, "lease 77: s1/gpu0 -> 02:00:00:00:00:2a\n");

	/* the process refuses: its reason in an error line */
	g_calls.ret = -EBUSY;
	g_calls.msg = "s1/gpu0 is attached to another client";
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "attach s1 gpu0 02:00:00:00:00:2a", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_calls.attach, 2);
	CU_ASSERT_STRING_EQUAL(g_out, "error: attach: s1/gpu0 is attached to another client\n");
	g_calls.msg = "";
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "attach s1 gpu0 02:00:00:00:00:2a", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, strerror(EBUSY)));
	g_calls.ret = 0;

	/* bad MACs never reach the process */
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "attach s1 gpu0 02:00:zz:00:00:2a", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "'02:00:zz:00:00:2a' is not a MAC address"));
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "attach s1 gpu0 02:00:00:00:2a", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "attach s1 gpu0 01:00:5e:00:00:01", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "attach s1 gpu0", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(g_calls.attach, 3);

	/* detach */
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "detach 42", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_calls.detach, 1);
	CU_ASSERT_EQUAL(g_calls.lease, 42);
	CU_ASSERT_STRING_EQUAL(g_out, "detached\n");
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "detach 0x10", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_calls.lease, 16);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "detach lease7", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(g_calls.detach, 2);

	/* drain */
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "drain s1 on", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_calls.drain, 1);
	CU_ASSERT_STRING_EQUAL(g_calls.server, "s1");
	CU_ASSERT_TRUE(g_calls.on);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "drain s1 off", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_calls.drain, 2);
	CU_ASSERT_FALSE(g_calls.on);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "drain s1 maybe", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "bad arguments: 'drain s1 maybe'"));
	CU_ASSERT_EQUAL(g_calls.drain, 2);

	/* show devices through the process */
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "show devices", g_out, sizeof(g_out)), 0);
	CU_ASSERT_STRING_EQUAL(g_out, "DEVICES-OF-THE-FAKE-SERVER\n");
	close(fd);
}

/* "show clients" from the selector's usage; the server's commands through the process. */
static void
test_clients_personality_reset(void)
{
	struct rpci_sel_device_status st;
	char words[16][64];
	int fd;

	g_now_us = T_T0_US;
	sel_register("s0", 1, "gpu0", 0, 256, "cpu", 256, 0.0);
	memset(&st, 0, sizeof(st));
	st.memory_free = 128 << 20;
	st.in_use = true;
	memcpy(st.client_mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x42 }, 6);
	st.session = 1;
	st.usage.bytes_in = 1000;
	st.usage.bytes_out = 500;
	st.usage.kernels = 3;
	st.usage.kernel_ns = 2500000;
	st.usage.mem_high = 64 << 20;
	CU_ASSERT_EQUAL_FATAL(rpci_selector_status(g_sel, "s0", "gpu0", &st, g_now_us), 0);
	fd = sess_open(g_con, g_sock);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "show clients", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	CU_ASSERT_EQUAL(find_row(g_out, "02:00:00:00:00:42", "?", words), 9);
	CU_ASSERT_STRING_EQUAL(words[2], "1");
	CU_ASSERT_STRING_EQUAL(words[3], "1000");
	CU_ASSERT_STRING_EQUAL(words[4], "500");
	CU_ASSERT_STRING_EQUAL(words[5], "3");
	CU_ASSERT_STRING_EQUAL(words[6], "2.5");
	CU_ASSERT_STRING_EQUAL(words[7], "64.0");

	calls_reset();
	g_calls.msg = "gpu0: personality a100";
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "set personality gpu0 a100", g_out, sizeof(g_out)),
			0);
	CU_ASSERT_EQUAL(g_calls.personality, 1);
	CU_ASSERT_STRING_EQUAL(g_calls.device, "gpu0");
	CU_ASSERT_STRING_EQUAL(g_calls.profile, "a100");
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "gpu0: personality a100\n"));
	g_calls.ret = -ENOENT;
	g_calls.msg = "no profile 'h100'";
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "set personality gpu0 h100", g_out, sizeof(g_out)),
			0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "error: set personality: no profile 'h100'"));
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "set personality gpu0", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(g_calls.personality, 2);
	calls_reset();
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "reset gpu0", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_calls.reset, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "done\n"));
	close(fd);
}

/* A session of a console opened by another user (the effective uid at connect()). */
static int
sess_open_as(struct rpci_console *c, const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un addr;
	int fd, ok;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setegid(gid) != 0 || seteuid(uid) != 0) {
		return -1;
	}
	ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (seteuid(0) != 0 || setegid(0) != 0) {
		abort(); /* the rest of the tests would run as another user */
	}
	if (ok < 0 || sess_read(c, fd, g_out, sizeof(g_out), NULL, NULL) < 0 ||
	    strcmp(g_out, T_PROMPT) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Who may use the socket: its owner, group and mode from the file; a
 * session of another user may only show (its changes refused and counted),
 * unless it is in an admin group; root (and the process's user) may do all.
 */
static void
test_socket_access(void)
{
	struct rpci_conf_console access;
	struct rpci_console_env env;
	struct rpci_console *c;
	char dir[64], path[96], words[16][64];
	struct group *gr = getgrgid(65534);
	struct stat st;
	int fd, round;

	if (geteuid() != 0 || gr == NULL) {
		printf("(needs root and group 65534: skipped) ");
		return;
	}
	snprintf(dir, sizeof(dir), "/tmp/rpci-test-console-access-%d", (int)getpid());
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
	CU_ASSERT_FATAL(chmod(dir, 0755) == 0);
	snprintf(path, sizeof(path), "%s/c.sock", dir);
	for (round = 0; round < 2; round++) {
		memset(&access, 0, sizeof(access));
		access.mode = 0666;
		snprintf(access.group, sizeof(access.group), "%s", gr->gr_name);
		if (round == 1) {
			snprintf(access.admin[0], sizeof(access.admin[0]), "%s", gr->gr_name);
			access.nb_admin = 1;
		}
		env = selector_env();
		env.access = &access;
		env.drain = NULL; /* the selector drained directly: its table shows it */
		c = rpci_console_create(&env);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL_FATAL(rpci_console_listen(c, path), 0);
		CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0666 &&
			  st.st_gid == gr->gr_gid);
		fd = sess_open_as(c, path, 65534, gr->gr_gid);
		CU_ASSERT_FATAL(fd >= 0);
		/* showing: anyone who can connect */
		CU_ASSERT_EQUAL(sess_cmd(c, fd, "show table", g_out, sizeof(g_out)), 0);
		CU_ASSERT_EQUAL(error_lines(g_out), 0);
		/* changing: only an admin */
		CU_ASSERT_EQUAL(sess_cmd(c, fd, "drain s1 on", g_out, sizeof(g_out)), 0);
		CU_ASSERT_EQUAL(error_lines(g_out), round == 0 ? 1 : 0);
		if (round == 0) {
			CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "permission denied: uid 65534"));
		}
		CU_ASSERT_EQUAL(sess_cmd(c, fd, "show table", g_out, sizeof(g_out)), 0);
		CU_ASSERT_EQUAL(find_row(g_out, "s1", "gpu0", words), 14);
		CU_ASSERT_STRING_EQUAL(words[2], round == 0 ? "free" : "draining");
		CU_ASSERT_EQUAL(rpci_console_refused(c), round == 0 ? 1 : 0);
		close(fd);
		/* root may */
		fd = sess_open(c, path);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(sess_cmd(c, fd, "drain s1 off", g_out, sizeof(g_out)), 0);
		CU_ASSERT_EQUAL(error_lines(g_out), 0);
		close(fd);
		rpci_console_free(c);
	}
	/* the default: 0600, only the owner connects */
	env = selector_env();
	c = rpci_console_create(&env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(rpci_console_listen(c, path), 0);
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CU_ASSERT(sess_open_as(c, path, 65534, gr->gr_gid) < 0);
	rpci_console_free(c);
	rmdir(dir);
}

static void
test_drain_direct(void)
{
	struct rpci_console_env env = selector_env();
	struct rpci_console *c;
	char path[96], words[16][64];
	int fd;

	/* no drain callback: the selector is drained directly */
	env.drain = NULL;
	c = rpci_console_create(&env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	snprintf(path, sizeof(path), "%s/direct.sock", g_dir);
	CU_ASSERT_EQUAL_FATAL(rpci_console_listen(c, path), 0);
	fd = sess_open(c, path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "drain s1 on", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "show table", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(find_row(g_out, "s1", "gpu0", words), 14);
	CU_ASSERT_STRING_EQUAL(words[2], "draining");
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "drain s1 off", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "show table", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(find_row(g_out, "s1", "gpu0", words), 14);
	CU_ASSERT_STRING_EQUAL(words[2], "free");
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "drain s9 on", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "no server named 's9'"));
	close(fd);
	rpci_console_free(c);
}

static void
test_unknown_and_bad_arguments(void)
{
	int fd = sess_open(g_con, g_sock);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "frobnicate now", g_out, sizeof(g_out)), 0);
	CU_ASSERT_STRING_EQUAL(g_out, "error: unknown command 'frobnicate' ('help' lists the "
			       "commands)\n");
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "show table extra", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "bad arguments: 'show table extra'"));
	/* comments and blank lines are no commands and no errors */
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "   # a comment", g_out, sizeof(g_out)), 0);
	CU_ASSERT_STRING_EQUAL(g_out, "");
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "", g_out, sizeof(g_out)), 0);
	CU_ASSERT_STRING_EQUAL(g_out, "");
	/* the session still works */
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "show table # trailing comment", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "3 devices"));
	close(fd);
}

static void
test_no_link(void)
{
	static const char *const cmds[] = {
		"show port",
		"show link stats",
		"set link faults tx drop 0.1 dup 0 reorder 0 corrupt 0",
		"set link faults rx drop 0.1",
		"set link faults off",
		"set link faults seed 3",
	};
	unsigned int i;
	int fd = sess_open(g_con, g_sock);

	CU_ASSERT_FATAL(fd >= 0);
	for (i = 0; i < RTE_DIM(cmds); i++) {
		CU_ASSERT_EQUAL(sess_cmd(g_con, fd, cmds[i], g_out, sizeof(g_out)), 0);
		CU_ASSERT_EQUAL(error_lines(g_out), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "test-selector has no link\n"));
	}
	close(fd);
}

static void
test_tab_completion(void)
{
	int fd = sess_open(g_con, g_sock);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(rpci_selector_set_policy(g_sel, RPCI_SEL_LEARNED), 0);
	/* "set polic<Tab>" completes the word, "fir<Tab>" the policy */
	CU_ASSERT_EQUAL(send_str(fd, "set polic\t"), 0);
	CU_ASSERT(sess_read(g_con, fd, g_out, sizeof(g_out), "set policy ", NULL) > 0);
	CU_ASSERT_EQUAL(send_str(fd, "fir\t"), 0);
	CU_ASSERT(sess_read(g_con, fd, g_out, sizeof(g_out), "first-fit ", NULL) > 0);
	CU_ASSERT_EQUAL(send_str(fd, "\n"), 0);
	CU_ASSERT(sess_read(g_con, fd, g_out, sizeof(g_out), NULL, NULL) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "policy first-fit\n"));
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_FIRST_FIT);
	/* '?' lists the choices; Ctrl-C drops the line */
	CU_ASSERT_EQUAL(send_str(fd, "set policy ?"), 0);
	CU_ASSERT(sess_read(g_con, fd, g_out, sizeof(g_out), "learned", NULL) > 0);
	CU_ASSERT_EQUAL(send_str(fd, "\x03"), 0);
	CU_ASSERT(sess_read(g_con, fd, g_out, sizeof(g_out), NULL, NULL) > 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, fd, "show sessions", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	close(fd);
}

static void
test_two_sessions(void)
{
	uint64_t deadline;
	bool eof = false;
	int a, b, c;

	deadline = mono_ms() + T_WAIT_MS;
	while (rpci_console_sessions(g_con) > 0 && mono_ms() < deadline) {
		rpci_console_poll(g_con); /* earlier tests' closed sessions */
	}
	CU_ASSERT_EQUAL_FATAL(rpci_console_sessions(g_con), 0);
	a = sess_open(g_con, g_sock);
	b = sess_open(g_con, g_sock);
	CU_ASSERT_FATAL(a >= 0 && b >= 0);
	CU_ASSERT_EQUAL(rpci_console_sessions(g_con), 2);
	/* half a line on a, a whole command on b, then the rest on a */
	CU_ASSERT_EQUAL(send_str(a, "show dev"), 0);
	CU_ASSERT(sess_read(g_con, a, g_out, sizeof(g_out), "show dev", NULL) > 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, b, "help", g_out, sizeof(g_out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "show table json:"));
	CU_ASSERT_PTR_NULL(strstr(g_out, "DEVICES-OF-THE-FAKE-SERVER"));
	CU_ASSERT_EQUAL(sess_cmd(g_con, a, "ices", g_out, sizeof(g_out)), 0);
	CU_ASSERT_STRING_EQUAL(g_out, "DEVICES-OF-THE-FAKE-SERVER\n");

	/* a closes: its session is freed */
	close(a);
	deadline = mono_ms() + T_WAIT_MS;
	while (rpci_console_sessions(g_con) != 1 && mono_ms() < deadline) {
		rpci_console_poll(g_con);
	}
	CU_ASSERT_EQUAL(rpci_console_sessions(g_con), 1);
	/* "quit" on a socket ends that session only */
	CU_ASSERT_EQUAL(send_str(b, "quit\n"), 0);
	CU_ASSERT(sess_read(g_con, b, g_out, sizeof(g_out), NULL, &eof) >= 0);
	CU_ASSERT_TRUE(eof);
	CU_ASSERT_EQUAL(rpci_console_sessions(g_con), 0);
	CU_ASSERT_EQUAL(g_quit, 0);
	close(b);
	/* "shutdown" stops the process from a session */
	c = sess_open(g_con, g_sock);
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT_EQUAL(sess_cmd(g_con, c, "shutdown", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(g_quit, 1);
	CU_ASSERT_STRING_EQUAL(g_out, "test-selector: stopping\n");
	g_quit = 0;
	close(c);
}

static void
test_too_many_sessions(void)
{
	int fds[RPCI_CONSOLE_SESSIONS_MAX + 1], i, extra;
	struct sockaddr_un addr;
	bool eof = false;

	for (i = 0; i < RPCI_CONSOLE_SESSIONS_MAX; i++) {
		fds[i] = sess_open(g_con, g_sock);
		CU_ASSERT(fds[i] >= 0);
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_sock);
	extra = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(extra >= 0);
	CU_ASSERT_EQUAL(connect(extra, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CU_ASSERT(sess_read(g_con, extra, g_out, sizeof(g_out), NULL, &eof) >= 0);
	CU_ASSERT_TRUE(eof);
	CU_ASSERT_STRING_EQUAL(g_out, "error: too many console sessions\n");
	close(extra);
	for (i = 0; i < RPCI_CONSOLE_SESSIONS_MAX; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
}

/* Run a command file with stdout captured into g_out. */
static int
run_file_captured(struct rpci_console *c, const char *path)
{
	char cap[96];
	int saved, fd, ret;
	ssize_t n;

	snprintf(cap, sizeof(cap), "%s/stdout.txt", g_dir);
	fflush(stdout);
	saved = dup(1);
	fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0) {
		return -1000;
	}
	dup2(fd, 1);
	close(fd);
	ret = rpci_console_run_file(c, path);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	fd = open(cap, O_RDONLY);
	n = fd >= 0 ? read(fd, g_out, sizeof(g_out) - 1) : -1;
	g_out[n > 0 ? n : 0] = '\0';
	if (fd >= 0) {
		close(fd);
	}
	return ret;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void
test_run_file(void)
{
	struct rpci_console_env env;
	struct rpci_console *bare;
	char path[96];

	snprintf(path, sizeof(path), "%s/ok.cmd", g_dir);
	/* every line works: 0 failures, and the commands took effect */
	write_text(path, "# deployment\n\nset policy least-loaded\n  show table\nhelp\n"
		   "drain s0 on");
	calls_reset();
	CU_ASSERT_EQUAL(run_file_captured(g_con, path), 0);
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_LEAST_LOADED);
	CU_ASSERT_EQUAL(g_calls.drain, 1);
	CU_ASSERT_TRUE(g_calls.on);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, T_PROMPT "set policy least-loaded\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "policy least-loaded\n"));
	CU_ASSERT_PTR_NULL(strstr(g_out, "# deployment"));
	CU_ASSERT_EQUAL(error_lines(g_out), 0);

	/* failures are counted; the file goes on after them */
	write_text(path, "set policy nonsense\nfrobnicate\nshow port\nattach s0 gpu0 xx\n"
		   "set policy best-fit\n");
	CU_ASSERT_EQUAL(run_file_captured(g_con, path), 4);
	CU_ASSERT_EQUAL(error_lines(g_out), 4);
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_BEST_FIT);

	/* quit stops the file and the process */
	write_text(path, "set policy learned\nquit\nset policy first-fit\n");
	g_quit = 0;
	CU_ASSERT_EQUAL(run_file_captured(g_con, path), 0);
	CU_ASSERT_EQUAL(g_quit, 1);
	CU_ASSERT_EQUAL(rpci_selector_policy(g_sel), RPCI_SEL_LEARNED);
	g_quit = 0;

	/* a file that is not there */
	snprintf(path, sizeof(path), "%s/missing.cmd", g_dir);
	CU_ASSERT_EQUAL(run_file_captured(g_con, path), -ENOENT);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);

	/* a process without selector, link, callbacks or quit: each says why */
	memset(&env, 0, sizeof(env));
	env.prog = "bare";
	bare = rpci_console_create(&env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bare);
	snprintf(path, sizeof(path), "%s/bare.cmd", g_dir);
	write_text(path, "help\nshow table\nshow table json\nshow sessions\nset policy learned\n"
		   "attach s0 gpu0 02:00:00:00:00:01\ndetach 3\ndrain s0 on\nshow devices\n"
		   "show link stats\nquit\nshutdown\n");
	CU_ASSERT_EQUAL(run_file_captured(bare, path), 11);
	CU_ASSERT_EQUAL(error_lines(g_out), 11);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "error: show table: bare has no selector"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "error: attach: bare cannot attach devices"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "error: show devices: bare serves no devices"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "error: quit: bare cannot be stopped"));
	rpci_console_free(bare);
}

static void
test_socket_file(void)
{
	struct rpci_console_env env = selector_env();
	struct rpci_console *c1, *c2;
	struct sockaddr_un addr;
	char path[96];
	struct stat st;
	int fd;

	c1 = rpci_console_create(&env);
	c2 = rpci_console_create(&env);
	CU_ASSERT_FATAL(c1 != NULL && c2 != NULL);
	snprintf(path, sizeof(path), "%s/a/b/c.sock", g_dir);
	CU_ASSERT_EQUAL_FATAL(rpci_console_listen(c1, path), 0);
	CU_ASSERT_EQUAL(rpci_console_listen(c1, path), -EALREADY);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* somebody listens there: not taken over */
	CU_ASSERT_EQUAL(rpci_console_listen(c2, path), -EADDRINUSE);
	/* a session open when the console is freed: closed, the file removed */
	fd = sess_open(c1, path);
	CU_ASSERT(fd >= 0);
	rpci_console_free(c1);
	CU_ASSERT_EQUAL(stat(path, &st), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(recv(fd, g_out, sizeof(g_out), 0), 0);
	close(fd);

	/* a stale socket (its process died) is replaced */
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(rpci_console_listen(c2, path), 0);
	fd = sess_open(c2, path);
	CU_ASSERT(fd >= 0);
	close(fd);
	rpci_console_free(c2);
	CU_ASSERT_EQUAL(stat(path, &st), -1);

	/* something else at the path is left alone */
	c2 = rpci_console_create(&env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
	write_text(path, "not a socket\n");
	CU_ASSERT_EQUAL(rpci_console_listen(c2, path), -EEXIST);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	rpci_console_free(c2);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	unlink(path);
}

static void
test_socket_path(void)
{
	struct rpci_conf_host h;
	char buf[128];

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "server0");
	CU_ASSERT_EQUAL(rpci_console_socket_path(&h, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/run/rpci/server0.sock");
	snprintf(h.console, sizeof(h.console), "/tmp/x/console.sock");
	CU_ASSERT_EQUAL(rpci_console_socket_path(&h, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "/tmp/x/console.sock");
	CU_ASSERT_EQUAL(rpci_console_socket_path(&h, buf, 8), -ENAMETOOLONG);
	memset(h.console, 'a', 150);
	h.console[0] = '/';
	h.console[150] = '\0';
	CU_ASSERT_EQUAL(rpci_console_socket_path(&h, buf, sizeof(buf)), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(rpci_console_socket_path(NULL, buf, sizeof(buf)), -EINVAL);
}

/* --------------------------------------------------- the link commands */

static bool g_eal_ok;
static struct rte_ring *g_ring;
static struct rte_mempool *g_pool, *g_ext;
static struct rpci_link *g_link;
static uint16_t g_port;

static int
link_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	RTE_SET_USED(s);
	RTE_SET_USED(msg);
	RTE_SET_USED(arg);
	return 0;
}

static const struct rpci_link_ops g_link_ops = { .rx_msg = link_rx_msg };

static int
link_suite_init(void)
{
	struct rpci_link_params p;
	int port;

	if (!g_eal_ok) {
		return 0; /* the tests fail on g_link == NULL */
	}
	g_ring = rte_ring_create("tcon", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (g_ring == NULL) {
		return 0;
	}
	/* a port whose frames come back to it */
	port = rte_eth_from_rings("tcon_loop", &g_ring, 1, &g_ring, 1, SOCKET_ID_ANY);
	if (port < 0 || rpci_link_pools_create("tcon", 1023, 1500, SOCKET_ID_ANY, &g_pool,
					       &g_ext) != 0) {
		return 0;
	}
	g_port = (uint16_t)port;
	memset(&p, 0, sizeof(p));
	p.port_id = g_port;
	memcpy(p.mac.addr_bytes, (uint8_t[6]){ 0x02, 0, 0, 0, 0, 0xaa }, 6);
	p.crc_payload = true;
	p.mtu = 1500;
	p.replay_frames = 64;
	p.retransmit_us = 1000;
	p.retransmit_max = 12;
	p.keepalive_ms = 100;
	p.dead_ms = 3000;
	p.burst = 32;
	p.copy_threshold = 256;
	p.pool = g_pool;
	p.ext_pool = g_ext;
	p.ops = &g_link_ops;
	if (rpci_port_init(g_port, 1500, 256, g_pool, &p.mac, NULL) != 0) {
		return 0;
	}
	g_link = rpci_link_create(&p);
	return 0;
}

static int
link_suite_fini(void)
{
	if (g_link != NULL) {
		rpci_link_free(g_link);
		rpci_port_close(g_port);
	}
	rte_mempool_free(g_pool);
	rte_mempool_free(g_ext);
	rte_ring_free(g_ring);
	return 0;
}

static void
send_ctrl_frame(void)
{
	const struct rte_ether_addr bcast = { .addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff,
							      0xff } };
	int i;

	CU_ASSERT_EQUAL(rpci_link_send_ctrl(g_link, &bcast, "ping", 4), 0);
	for (i = 0; i < 4; i++) {
		rpci_link_flush(g_link);
		rpci_link_poll(g_link);
	}
}

static void
test_link_commands(void)
{
	const struct rpci_link_faults rx = { .drop = 0.25 };
	struct rpci_console_env env;
	struct rpci_link_stats before, after;
	struct rpci_console *c;
	char path[96], want[64];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_link);
	/* as a process that set the injector from its deployment file */
	CU_ASSERT_EQUAL_FATAL(rpci_link_set_faults(g_link, NULL, &rx, 5), 0);
	memset(&env, 0, sizeof(env));
	env.prog = "test-server";
	env.host = T_HOST;
	env.link = g_link;
	env.port_id = g_port;
	env.faults_rx = rx;
	env.faults_seed = 5;
	env.poll_interval_us = 1;
	c = rpci_console_create(&env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	snprintf(path, sizeof(path), "%s/link.sock", g_dir);
	CU_ASSERT_EQUAL_FATAL(rpci_console_listen(c, path), 0);
	fd = sess_open(c, path);
	CU_ASSERT_FATAL(fd >= 0);

	CU_ASSERT_EQUAL(sess_cmd(c, fd, "show port", g_out, sizeof(g_out)), 0);
	snprintf(want, sizeof(want), "port %u: driver net_ring, link MAC 02:00:00:00:00:AA, ",
		 g_port);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out,
				      "  link frames of up to 1514 bytes, max payload 1408"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  rx: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "  tx: "));
	CU_ASSERT_EQUAL(error_lines(g_out), 0);

	CU_ASSERT_EQUAL(sess_cmd(c, fd, "show link stats", g_out, sizeof(g_out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "rx_frames "));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "tx_retransmit "));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "fault_corrupt_rx "));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults rx: drop 0.25 dup 0 reorder 0 corrupt 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults seed: 5\n"));

	/* every frame sent is lost: the injector counts it, nothing comes back */
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults tx drop 1 dup 0 reorder 0 corrupt 0",
				 g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults tx: drop 1 dup 0 reorder 0 corrupt 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults rx: drop 0.25 dup 0 reorder 0 corrupt 0\n"));
	rpci_link_stats_get(g_link, &before);
	send_ctrl_frame();
	rpci_link_stats_get(g_link, &after);
	CU_ASSERT_EQUAL(after.fault_drop[0], before.fault_drop[0] + 1);
	CU_ASSERT_EQUAL(after.rx_frames, before.rx_frames);

	/* one rate, the others kept */
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults rx corrupt 0.125", g_out,
				 sizeof(g_out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out,
				      "faults rx: drop 0.25 dup 0 reorder 0 corrupt 0.125\n"));
	/* refused rates change nothing */
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults tx drop 2 dup 0 reorder 0 corrupt 0",
				 g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "drop rate '2' is not a number from 0 to 1"));
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults tx dup x", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults up drop 0.1", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults seed -1", g_out, sizeof(g_out)), 0);
	CU_ASSERT_EQUAL(error_lines(g_out), 1);
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "show link stats", g_out, sizeof(g_out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults tx: drop 1 dup 0 reorder 0 corrupt 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults seed: 5\n"));

	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults seed 42", g_out, sizeof(g_out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults seed: 42\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults tx: drop 1 "));

	/* off: frames go out and come back again */
	CU_ASSERT_EQUAL(sess_cmd(c, fd, "set link faults off", g_out, sizeof(g_out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults tx: drop 0 dup 0 reorder 0 corrupt 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "faults rx: drop 0 dup 0 reorder 0 corrupt 0\n"));
	rpci_link_stats_get(g_link, &before);
	send_ctrl_frame();
	rpci_link_stats_get(g_link, &after);
	CU_ASSERT_EQUAL(after.fault_drop[0], before.fault_drop[0]);
	CU_ASSERT_EQUAL(after.tx_frames, before.tx_frames + 1);
	CU_ASSERT_EQUAL(after.rx_frames, before.rx_frames + 1);
	close(fd);
	rpci_console_free(c);
}

static void
remove_dir(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0) {
		printf("cannot remove %s\n", g_dir);
	}
}

int
main(int argc, char **argv)
{
	char *eal_args[] = {
		argv[0], "--no-huge", "-m", "64", "--no-pci", "--file-prefix",
		"rpci-test-console", "-l", "0", "--log-level", "*:warning",
	};
	CU_pSuite suite;
	unsigned int n;

	RTE_SET_USED(argc);
	snprintf(g_dir, sizeof(g_dir), "/tmp/rpci-test-console.XXXXXX");
	if (mkdtemp(g_dir) == NULL) {
		printf("mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	g_eal_ok = rte_eal_init((int)RTE_DIM(eal_args), eal_args) >= 0;
	if (!g_eal_ok) {
		printf("EAL init failed: %s: the link suite will fail\n", rte_strerror(rte_errno));
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("console", suite_init, suite_fini);
	if (suite == NULL) {
		goto registry_fail;
	}
	CU_ADD_TEST(suite, test_help_lists_every_command);
	CU_ADD_TEST(suite, test_show_table);
	CU_ADD_TEST(suite, test_clients_personality_reset);
	CU_ADD_TEST(suite, test_set_policy);
	CU_ADD_TEST(suite, test_attach_detach_drain);
	CU_ADD_TEST(suite, test_drain_direct);
	CU_ADD_TEST(suite, test_unknown_and_bad_arguments);
	CU_ADD_TEST(suite, test_no_link);
	CU_ADD_TEST(suite, test_tab_completion);
	CU_ADD_TEST(suite, test_two_sessions);
	CU_ADD_TEST(suite, test_too_many_sessions);
	CU_ADD_TEST(suite, test_run_file);
	CU_ADD_TEST(suite, test_socket_file);
	CU_ADD_TEST(suite, test_socket_access);
	CU_ADD_TEST(suite, test_socket_path);
	suite = CU_add_suite("console_link", link_suite_init, link_suite_fini);
	if (suite == NULL) {
		goto registry_fail;
	}
	CU_ADD_TEST(suite, test_link_commands);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	if (g_eal_ok) {
		rte_eal_cleanup();
	}
	remove_dir();
	return n ? 1 : 0;

registry_fail:
	CU_cleanup_registry();
	remove_dir();
	return 1;
}
