/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of lib/conf: the demo deployment file, defaults, every class of
 * bad content with its line, the EAL argument vector and the look-ups.
 *
 * Usage: test_conf [path/to/config/pair.cfg]
 * Without an argument the demo file is looked for through RPCI_PAIR_CFG (a
 * -D), $RPCI_SOURCE_ROOT, ../config/pair.cfg, config/pair.cfg, and relative
 * to this source file.
 */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "rpci_conf.h"

#define T_NAME "t.cfg"

static char g_pair_path[PATH_MAX];
static char g_err[RPCI_CONF_ERR_MAX];
static char g_text[16384];

/*
 * A valid minimal deployment; the empty lines are slots the tests fill.
 * Line numbers (1-based) are used by the tests, so keep them in place.
 */
static const char *const g_base[] = {
	/*  1 */ "hosts = (",
	/*  2 */ "    {",
	/*  3 */ "        name = \"s0\";",
	/*  4 */ "        roles = [ \"server\" ];",
	/*  5 */ "        mac = \"02:00:00:00:00:01\";",
	/*  6 */ "", /* host s0 slot */
	/*  7 */ "        eal = {",
	/*  8 */ "            lcores = \"0\";",
	/*  9 */ "", /* eal slot */
	/* 10 */ "        };",
	/* 11 */ "        devices = (",
	/* 12 */ "            {",
	/* 13 */ "                name = \"d0\";",
	/* 14 */ "                backend = \"cpu\";",
	/* 15 */ "                memory_mb = 16;",
	/* 16 */ "                vendor_id = 0x7270;",
	/* 17 */ "                device_id = 1;",
	/* 18 */ "                class_code = 0x030200;",
	/* 19 */ "", /* device slot */
	/* 20 */ "            }",
	/* 21 */ "        );",
	/* 22 */ "    },",
	/* 23 */ "    {",
	/* 24 */ "        name = \"c0\";",
	/* 25 */ "        roles = [ \"client\" ];",
	/* 26 */ "        mac = \"02:00:00:00:00:02\";",
	/* 27 */ "        eal = { lcores = \"1\"; };",
	/* 28 */ "        server = \"s0\";",
	/* 29 */ "", /* host c0 slot */
	/* 30 */ "    }",
	/* 31 */ ");",
	/* 32 */ "", /* top slots */
	/* 33 */ "",
	/* 34 */ "",
};

#define BASE_LINES ((int)(sizeof(g_base) / sizeof(g_base[0])))

/* The base text with up to two lines replaced (line 0: no replacement). */
static const char *
text2(int l1, const char *r1, int l2, const char *r2)
{
	size_t off = 0;
	const char *line;
	int i, n;

	for (i = 1; i <= BASE_LINES; i++) {
		line = g_base[i - 1];
		if (i == l1) {
			line = r1;
		} else if (i == l2) {
			line = r2;
		}
		n = snprintf(g_text + off, sizeof(g_text) - off, "%s\n", line);
		if (n < 0 || (size_t)n >= sizeof(g_text) - off) {
			fprintf(stderr, "test text too long\n");
			abort();
		}
		off += (size_t)n;
	}
	return g_text;
}

static const char *
text1(int line, const char *repl)
{
	return text2(line, repl, 0, NULL);
}

static struct rpci_conf *
load(const char *text)
{
	g_err[0] = '\0';
	return rpci_conf_load_string(text, T_NAME, g_err, sizeof(g_err));
}

/* The text must be refused at line with a message holding what. */
static void
expect_err_at(const char *text, int line, const char *what, int src_line)
{
	struct rpci_conf *conf;
	char prefix[64];
	bool ok;

	errno = 0;
	conf = load(text);
	snprintf(prefix, sizeof(prefix), T_NAME ":%d - ", line);
	ok = conf == NULL && errno == EINVAL && strncmp(g_err, prefix, strlen(prefix)) == 0 &&
	     strstr(g_err, what) != NULL;
	if (!ok) {
		fprintf(stderr, "\n  test line %d: expected \"%s...%s\", got \"%s\" (errno %d)\n",
			src_line, prefix, what, g_err, errno);
	}
	CU_ASSERT(ok);
	rpci_conf_free(conf);
}

#define EXPECT_ERR(text, line, what) expect_err_at(text, line, what, __LINE__)

static bool
file_readable(const char *path)
{
	return access(path, R_OK) == 0;
}

static void
find_pair_cfg(int argc, char **argv)
{
	static const char *const rel[] = { "../config/pair.cfg", "config/pair.cfg" };
	const char *root;
	char file_dir[PATH_MAX - 64];
	char *slash;
	unsigned int i;

	if (argc > 1) {
		snprintf(g_pair_path, sizeof(g_pair_path), "%s", argv[1]);
		return;
	}
#ifdef RPCI_PAIR_CFG
	if (file_readable(RPCI_PAIR_CFG)) {
		snprintf(g_pair_path, sizeof(g_pair_path), "%s", RPCI_PAIR_CFG);
		return;
	}
#endif
	root = getenv("RPCI_SOURCE_ROOT");
	if (root != NULL) {
		snprintf(g_pair_path, sizeof(g_pair_path), "%s/config/pair.cfg", root);
		if (file_readable(g_pair_path)) {
			return;
		}
	}
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (file_readable(rel[i])) {
			snprintf(g_pair_path, sizeof(g_pair_path), "%s", rel[i]);
			return;
		}
	}
	/* test/unit/test_conf.c -> ../../config/pair.cfg */
	snprintf(file_dir, sizeof(file_dir), "%s", __FILE__);
	slash = strrchr(file_dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		snprintf(g_pair_path, sizeof(g_pair_path), "%s/../../config/pair.cfg", file_dir);
		if (file_readable(g_pair_path)) {
			return;
		}
	}
	g_pair_path[0] = '\0';
}

/* argv must hold exactly expect (NULL-terminated), argc must match. */
static void
check_argv(char **argv, int argc, const char *const *expect, int src_line)
{
	int i, n = 0;
	bool ok;

	while (expect[n] != NULL) {
		n++;
	}
	ok = argv != NULL && argc == n;
	for (i = 0; ok && i < n; i++) {
		ok = argv[i] != NULL && strcmp(argv[i], expect[i]) == 0;
	}
	ok = ok && argv[n] == NULL;
	if (!ok) {
		fprintf(stderr, "\n  test line %d: argv mismatch, got %d:", src_line, argc);
		for (i = 0; argv != NULL && argv[i] != NULL; i++) {
			fprintf(stderr, " [%s]", argv[i]);
		}
		fprintf(stderr, "\n");
	}
	CU_ASSERT(ok);
}

#define CHECK_ARGV(argv, argc, ...)                                                      \
	do {                                                                             \
		static const char *const expect_[] = { __VA_ARGS__, NULL };              \
		check_argv(argv, argc, expect_, __LINE__);                               \
	} while (0)

/* ---- the demo file ---- */

static void
test_pair_file(void)
{
	const struct rpci_conf_host *srv, *cli;
	const struct rpci_conf_device *dev;
	struct rpci_conf *conf;

	CU_ASSERT_FATAL(g_pair_path[0] != '\0');
	conf = rpci_conf_load(g_pair_path, g_err, sizeof(g_err));
	if (conf == NULL) {
		fprintf(stderr, "\n  %s\n", g_err);
	}
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_STRING_EQUAL(conf->path, g_pair_path);

	CU_ASSERT_EQUAL(conf->link.ethertype, 0x88B5);
	/* frame size and payload CRC: memif's own (doc/configuration.md) */
	CU_ASSERT_FALSE(conf->link.crc_payload_set);
	CU_ASSERT_EQUAL(conf->link.frame_max, 0);
	CU_ASSERT_EQUAL(conf->link.mtu, 1500);
	CU_ASSERT_EQUAL(conf->link.max_payload, 0);
	CU_ASSERT_EQUAL(conf->link.replay_frames, 512);
	CU_ASSERT_EQUAL(conf->link.retransmit_us, 2000);
	CU_ASSERT_EQUAL(conf->link.retransmit_max, 12);
	CU_ASSERT_EQUAL(conf->link.keepalive_ms, 100);
	CU_ASSERT_EQUAL(conf->link.dead_ms, 3000);
	CU_ASSERT_EQUAL(conf->link.request_timeout_ms, 10000);
	CU_ASSERT_EQUAL(conf->link.burst, 32);
	CU_ASSERT_EQUAL(conf->link.mbufs, 8191);
	CU_ASSERT_EQUAL(conf->link.sleep_max_us, 200);
	CU_ASSERT_EQUAL(conf->link.spin_polls, 2000);
	CU_ASSERT_EQUAL(conf->link.copy_threshold, 256);

	CU_ASSERT_EQUAL_FATAL(conf->nb_hosts, 2);
	srv = &conf->hosts[0];
	CU_ASSERT_STRING_EQUAL(srv->name, "server0");
	CU_ASSERT_EQUAL(srv->roles, RPCI_ROLE_SERVER);
	CU_ASSERT_EQUAL(memcmp(srv->mac, "\x02\x72\x70\x63\x69\x01", 6), 0);
	CU_ASSERT_EQUAL(srv->port, 0);
	CU_ASSERT_EQUAL(srv->idle, RPCI_IDLE_ADAPTIVE);
	CU_ASSERT_STRING_EQUAL(srv->eal.lcores, "0");
	CU_ASSERT_EQUAL(srv->eal.memory_mb, 256);
	CU_ASSERT_TRUE(srv->eal.no_huge);
	CU_ASSERT_TRUE(srv->eal.no_pci);
	CU_ASSERT_STRING_EQUAL(srv->eal.file_prefix, "rpci-server0");
	CU_ASSERT_STRING_EQUAL(srv->eal.log_level, "");
	CU_ASSERT_EQUAL_FATAL(srv->eal.nb_vdevs, 1);
	CU_ASSERT_STRING_EQUAL(srv->eal.vdevs[0],
			       "net_memif0,role=server,socket=/tmp/rpci-pair.sock,id=0,"
			       "bsize=65024,rsize=7");
	CU_ASSERT_EQUAL(srv->eal.nb_extra, 0);
	CU_ASSERT_STRING_EQUAL(srv->server, "");
	CU_ASSERT_STRING_EQUAL(srv->device, "");
	CU_ASSERT(srv->line > 0);

	CU_ASSERT_EQUAL_FATAL(srv->nb_devices, 2);
	CU_ASSERT_STRING_EQUAL(srv->devices[1].name, "vgpu1");
	dev = &srv->devices[0];
	CU_ASSERT_STRING_EQUAL(dev->name, "vgpu0");
	CU_ASSERT_STRING_EQUAL(dev->backend, "cpu");
	CU_ASSERT_EQUAL(dev->memory_bytes, 256ull << 20);
	CU_ASSERT_EQUAL(dev->vendor_id, 0x7270);
	CU_ASSERT_EQUAL(dev->device_id, 0x0001);
	CU_ASSERT_EQUAL(dev->subsystem_vendor_id, 0x7270);
	CU_ASSERT_EQUAL(dev->subsystem_id, 0x0001);
	CU_ASSERT_EQUAL(dev->class_code, 0x030200);
	CU_ASSERT_EQUAL(dev->revision, 1);
	CU_ASSERT_EQUAL(dev->threads, 1);
	CU_ASSERT_DOUBLE_EQUAL(dev->slowdown, 1.0, 1e-9);
	CU_ASSERT(dev->line > srv->line);

	cli = &conf->hosts[1];
	CU_ASSERT_STRING_EQUAL(cli->name, "client0");
	CU_ASSERT_EQUAL(cli->roles, RPCI_ROLE_CLIENT);
	CU_ASSERT_EQUAL(memcmp(cli->mac, "\x02\x72\x70\x63\x69\x02", 6), 0);
	CU_ASSERT_EQUAL(cli->port, 0);
	CU_ASSERT_EQUAL(cli->idle, RPCI_IDLE_ADAPTIVE);
	CU_ASSERT_STRING_EQUAL(cli->eal.lcores, "1");
	CU_ASSERT_EQUAL(cli->eal.memory_mb, 256);
	CU_ASSERT_TRUE(cli->eal.no_huge);
	CU_ASSERT_TRUE(cli->eal.no_pci); /* default */
	CU_ASSERT_STRING_EQUAL(cli->eal.file_prefix, "rpci-client0");
	CU_ASSERT_STRING_EQUAL(cli->eal.log_level, "");
	CU_ASSERT_EQUAL_FATAL(cli->eal.nb_vdevs, 1);
	CU_ASSERT_STRING_EQUAL(cli->eal.vdevs[0],
			       "net_memif0,role=client,socket=/tmp/rpci-pair.sock,id=0,"
			       "bsize=65024,rsize=7");
	CU_ASSERT_EQUAL(cli->eal.nb_extra, 0);
	CU_ASSERT_STRING_EQUAL(cli->server, "server0");
	CU_ASSERT_STRING_EQUAL(cli->device, "vgpu0");
	CU_ASSERT_EQUAL(cli->nb_devices, 0);
	CU_ASSERT(cli->line > dev->line);
	CU_ASSERT_STRING_EQUAL(cli->proxy.socket, "/run/rpci/client0-proxy.sock");
	CU_ASSERT_EQUAL(cli->proxy.mode, 0666);
	CU_ASSERT_STRING_EQUAL(cli->proxy.owner, "");
	CU_ASSERT_STRING_EQUAL(cli->proxy.group, "");
	CU_ASSERT_EQUAL(cli->proxy.max_programs, 64);
	CU_ASSERT(cli->proxy.line > cli->line);
	/* the server has no proxy: the defaults only */
	CU_ASSERT_EQUAL(srv->proxy.line, 0);

	rpci_conf_free(conf);
}

static void
test_pair_eal_argv(void)
{
	struct rpci_conf *conf;
	char **argv;
	int argc = -1;

	CU_ASSERT_FATAL(g_pair_path[0] != '\0');
	conf = rpci_conf_load(g_pair_path, g_err, sizeof(g_err));
	CU_ASSERT_FATAL(conf != NULL);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "rpci-server", 0, NULL, &argc);
	CHECK_ARGV(argv, argc, "rpci-server", "-l", "0", "-m", "256", "--no-huge", "--no-pci",
		   "--file-prefix", "rpci-server0", "--vdev",
		   "net_memif0,role=server,socket=/tmp/rpci-pair.sock,id=0,bsize=65024,rsize=7");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[1], "app", 0, NULL, &argc);
	CHECK_ARGV(argv, argc, "app", "-l", "1", "-m", "256", "--no-huge", "--no-pci",
		   "--file-prefix", "rpci-client0", "--vdev",
		   "net_memif0,role=client,socket=/tmp/rpci-pair.sock,id=0,bsize=65024,rsize=7");
	rpci_conf_eal_argv_free(argv);
	rpci_conf_free(conf);
}

/* ---- good content ---- */

static void
test_minimal_defaults(void)
{
	const struct rpci_conf_host *s0, *c0;
	const struct rpci_conf_device *d0;
	struct rpci_conf *conf;

	conf = load(text1(0, NULL));
	if (conf == NULL) {
		fprintf(stderr, "\n  %s\n", g_err);
	}
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_STRING_EQUAL(conf->path, T_NAME);
	CU_ASSERT_EQUAL(conf->link.ethertype, 0x88B5);
	CU_ASSERT_FALSE(conf->link.crc_payload_set);
	CU_ASSERT_EQUAL(conf->link.frame_max, 0);
	CU_ASSERT_FALSE(conf->hosts[0].crc_payload_set);
	CU_ASSERT_EQUAL(conf->hosts[0].frame_max, 0);
	CU_ASSERT_EQUAL(conf->link.mtu, 1500);
	CU_ASSERT_EQUAL(conf->link.max_payload, 0);
	CU_ASSERT_EQUAL(conf->link.replay_frames, 512);
	CU_ASSERT_EQUAL(conf->link.retransmit_us, 2000);
	CU_ASSERT_EQUAL(conf->link.retransmit_max, 12);
	CU_ASSERT_EQUAL(conf->link.keepalive_ms, 100);
	CU_ASSERT_EQUAL(conf->link.dead_ms, 3000);
	CU_ASSERT_EQUAL(conf->link.request_timeout_ms, 10000);
	CU_ASSERT_EQUAL(conf->link.burst, 32);
	CU_ASSERT_EQUAL(conf->link.mbufs, 8191);
	CU_ASSERT_EQUAL(conf->link.sleep_max_us, 200);
	CU_ASSERT_EQUAL(conf->link.spin_polls, 2000);
	CU_ASSERT_EQUAL(conf->link.copy_threshold, 256);

	CU_ASSERT_EQUAL_FATAL(conf->nb_hosts, 2);
	s0 = &conf->hosts[0];
	CU_ASSERT_EQUAL(s0->line, 2);
	CU_ASSERT_EQUAL(s0->port, 0);
	CU_ASSERT_EQUAL(s0->idle, RPCI_IDLE_ADAPTIVE);
	CU_ASSERT_EQUAL(s0->eal.memory_mb, 0);
	CU_ASSERT_FALSE(s0->eal.no_huge);
	CU_ASSERT_TRUE(s0->eal.no_pci);
	CU_ASSERT_STRING_EQUAL(s0->eal.file_prefix, "");
	CU_ASSERT_STRING_EQUAL(s0->eal.log_level, "");
	CU_ASSERT_EQUAL(s0->eal.nb_vdevs, 0);
	CU_ASSERT_EQUAL(s0->eal.nb_extra, 0);
	CU_ASSERT_EQUAL_FATAL(s0->nb_devices, 1);
	d0 = &s0->devices[0];
	CU_ASSERT_EQUAL(d0->line, 12);
	CU_ASSERT_EQUAL(d0->memory_bytes, 16ull << 20);
	CU_ASSERT_EQUAL(d0->vendor_id, 0x7270);
	CU_ASSERT_EQUAL(d0->device_id, 1);
	CU_ASSERT_EQUAL(d0->subsystem_vendor_id, 0);
	CU_ASSERT_EQUAL(d0->subsystem_id, 0);
	CU_ASSERT_EQUAL(d0->class_code, 0x030200);
	CU_ASSERT_EQUAL(d0->revision, 0);
	CU_ASSERT_EQUAL(d0->threads, 1);
	CU_ASSERT_DOUBLE_EQUAL(d0->slowdown, 1.0, 1e-9);
	c0 = &conf->hosts[1];
	CU_ASSERT_EQUAL(c0->line, 23);
	CU_ASSERT_STRING_EQUAL(c0->server, "s0");
	CU_ASSERT_STRING_EQUAL(c0->device, "");
	rpci_conf_free(conf);
}

static void
test_good_values(void)
{
	struct rpci_conf *conf;

	/* Hex integers, int slowdown, poll idle, several roles, link edges. */
	conf = load(text2(6, "port = 0x10; idle = \"poll\";", 19,
			  "slowdown = 2; threads = 64; revision = 255; subsystem_id = 0xFFFF;"));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_EQUAL(conf->hosts[0].port, 16);
	CU_ASSERT_EQUAL(conf->hosts[0].idle, RPCI_IDLE_POLL);
	CU_ASSERT_DOUBLE_EQUAL(conf->hosts[0].devices[0].slowdown, 2.0, 1e-9);
	CU_ASSERT_EQUAL(conf->hosts[0].devices[0].threads, 64);
	CU_ASSERT_EQUAL(conf->hosts[0].devices[0].revision, 255);
	CU_ASSERT_EQUAL(conf->hosts[0].devices[0].subsystem_id, 0xFFFF);
	rpci_conf_free(conf);

	conf = load(text2(4, "roles = [ \"server\", \"client\", \"selector\" ]; server = \"s0\";",
			  32, "link = { mtu = 9600; max_payload = 4096; ethertype = 0x0600; "
			  "crc_payload = false; keepalive_ms = 10; dead_ms = 11; mbufs = 1023; "
			  "frame_max = 9014; }"));
	if (conf == NULL) {
		fprintf(stderr, "\n  %s\n", g_err);
	}
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_EQUAL(conf->hosts[0].roles,
			RPCI_ROLE_SERVER | RPCI_ROLE_CLIENT | RPCI_ROLE_SELECTOR);
	CU_ASSERT_EQUAL(conf->link.mtu, 9600);
	CU_ASSERT_EQUAL(conf->link.max_payload, 4096);
	CU_ASSERT_EQUAL(conf->link.ethertype, 0x0600);
	CU_ASSERT_FALSE(conf->link.crc_payload);
	CU_ASSERT_TRUE(conf->link.crc_payload_set);
	CU_ASSERT_EQUAL(conf->link.frame_max, 9014);
	CU_ASSERT_EQUAL(conf->link.dead_ms, 11);
	CU_ASSERT_EQUAL(conf->link.mbufs, 1023);
	rpci_conf_free(conf);

	/* eal settings, mixed-case mac read back in lower case */
	conf = load(text2(5, "mac = \"02:AB:cd:00:00:01\";", 9,
			  "memory_mb = 1048576; no_huge = true; no_pci = false; "
			  "file_prefix = \"p_1.x-y\"; log_level = \"lib.eal:debug\"; "
			  "vdevs = [ \"a\", \"b\" ]; extra = [ \"--in-memory\", \"-n\", \"4\" ];"));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_EQUAL(conf->hosts[0].eal.memory_mb, 1048576);
	CU_ASSERT_TRUE(conf->hosts[0].eal.no_huge);
	CU_ASSERT_FALSE(conf->hosts[0].eal.no_pci);
	CU_ASSERT_STRING_EQUAL(conf->hosts[0].eal.file_prefix, "p_1.x-y");
	CU_ASSERT_STRING_EQUAL(conf->hosts[0].eal.log_level, "lib.eal:debug");
	CU_ASSERT_EQUAL(conf->hosts[0].eal.nb_vdevs, 2);
	CU_ASSERT_STRING_EQUAL(conf->hosts[0].eal.vdevs[1], "b");
	CU_ASSERT_EQUAL(conf->hosts[0].eal.nb_extra, 3);
	CU_ASSERT_STRING_EQUAL(conf->hosts[0].eal.extra[2], "4");
	CU_ASSERT_EQUAL(memcmp(conf->hosts[0].mac, "\x02\xab\xcd\x00\x00\x01", 6), 0);
	rpci_conf_free(conf);
}

/* ---- syntax and I/O ---- */

static void
test_syntax_error_line(void)
{
	EXPECT_ERR(text1(17, "device_id = = 1;"), 17, "syntax error");
	EXPECT_ERR(text1(33, "link = { mtu 1500; };"), 33, "syntax error");
	/* Two settings of one name: libconfig refuses it while parsing. */
	EXPECT_ERR(text1(19, "name = \"d1\";"), 19, "duplicate setting name");
}

static void
test_syntax_error_file(void)
{
	char path[] = "/tmp/rpci_test_conf_XXXXXX";
	char prefix[PATH_MAX + 16];
	struct rpci_conf *conf;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("// comment\nlink = {\n  mtu = 1500;\n  burst = ;\n};\n", f);
	fclose(f);
	errno = 0;
	conf = rpci_conf_load(path, g_err, sizeof(g_err));
	CU_ASSERT(conf == NULL);
	CU_ASSERT_EQUAL(errno, EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:4 - ", path);
	CU_ASSERT_EQUAL(strncmp(g_err, prefix, strlen(prefix)), 0);

	/* A bad value in a file names the file too. */
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("link = {\n  mtu = 1500;\n  burst = 0;\n};\nhosts = ();\n", f);
	fclose(f);
	conf = rpci_conf_load(path, g_err, sizeof(g_err));
	CU_ASSERT(conf == NULL);
	CU_ASSERT_EQUAL(errno, EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:3 - 'burst' 0 is out of range (1..512)", path);
	CU_ASSERT_STRING_EQUAL(g_err, prefix);
	unlink(path);
}

static void
test_missing_file(void)
{
	struct rpci_conf *conf;

	errno = 0;
	conf = rpci_conf_load("/nonexistent/rpci/none.cfg", g_err, sizeof(g_err));
	CU_ASSERT(conf == NULL);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(strncmp(g_err, "/nonexistent/rpci/none.cfg - cannot open: ",
				strlen("/nonexistent/rpci/none.cfg - cannot open: ")), 0);
	/* err may be NULL */
	errno = 0;
	conf = rpci_conf_load("/nonexistent/rpci/none.cfg", NULL, 0);
	CU_ASSERT(conf == NULL);
	CU_ASSERT_EQUAL(errno, ENOENT);
	/* a directory is not a file */
	errno = 0;
	conf = rpci_conf_load("/tmp", g_err, sizeof(g_err));
	CU_ASSERT(conf == NULL);
	CU_ASSERT_EQUAL(errno, EISDIR);
	/* NULL text */
	errno = 0;
	conf = rpci_conf_load_string(NULL, "x", g_err, sizeof(g_err));
	CU_ASSERT(conf == NULL);
	CU_ASSERT_EQUAL(errno, EINVAL);
	rpci_conf_free(NULL);
}

static void
test_small_err_buffer(void)
{
	struct rpci_conf *conf;
	char small[8];

	conf = rpci_conf_load_string("foo = 1;", "file.cfg", small, sizeof(small));
	CU_ASSERT(conf == NULL);
	CU_ASSERT_STRING_EQUAL(small, "file.cf");
}

/* ---- bad content ---- */

static void
test_top_level(void)
{
	EXPECT_ERR(text1(32, "foo = 1;"), 32, "unknown setting 'foo'");
	EXPECT_ERR("link = {};\n", 1, "missing 'hosts'");
	EXPECT_ERR("\n\nhosts = ();\n", 3, "'hosts' has 0 entries, must have 1..64");
	EXPECT_ERR("\nhosts = [];\n", 2, "'hosts' has 0 entries");
	EXPECT_ERR("hosts = 1;\n", 1, "'hosts' must be a list");
	EXPECT_ERR("hosts = ( 1 );\n", 1, "'hosts' entry 1 must be a group");
	EXPECT_ERR(text1(32, "link = 5;"), 32, "'link' must be a group");
}

static void
test_too_many_hosts(void)
{
	size_t off = 0;
	int i, n;

	off += (size_t)snprintf(g_text, sizeof(g_text), "hosts = (\n");
	for (i = 0; i < RPCI_CONF_HOSTS_MAX + 1; i++) {
		n = snprintf(g_text + off, sizeof(g_text) - off,
			     "{ name = \"h%d\"; roles = [ \"selector\" ]; "
			     "mac = \"02:00:00:00:01:%02x\"; eal = { lcores = \"0\"; }; }%s\n",
			     i, i, i < RPCI_CONF_HOSTS_MAX ? "," : "");
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(g_text) - off);
		off += (size_t)n;
	}
	snprintf(g_text + off, sizeof(g_text) - off, ");\n");
	EXPECT_ERR(g_text, 1, "'hosts' has 65 entries, must have 1..64");
}

static void
test_wrong_type(void)
{
	EXPECT_ERR(text1(32, "link = { mtu = \"1500\"; };"), 32, "'mtu' must be an integer");
	EXPECT_ERR(text1(32, "link = { mtu = 1500.0; };"), 32, "'mtu' must be an integer");
	EXPECT_ERR(text1(32, "link = { crc_payload = 1; };"), 32,
		   "'crc_payload' must be a boolean");
	EXPECT_ERR(text1(3, "name = 5;"), 3, "host #1: 'name' must be a string");
	EXPECT_ERR(text1(9, "no_huge = \"yes\";"), 9,
		   "eal of host 's0': 'no_huge' must be a boolean");
	EXPECT_ERR(text1(16, "vendor_id = \"0x7270\";"), 16, "'vendor_id' must be an integer");
	EXPECT_ERR(text1(19, "slowdown = \"fast\";"), 19, "'slowdown' must be a number");
	EXPECT_ERR(text1(5, "mac = 2;"), 5, "'mac' must be a string");
	EXPECT_ERR(text1(4, "roles = \"server\";"), 4, "'roles' must be an array of strings");
	EXPECT_ERR(text1(4, "roles = [ 1 ];"), 4, "'roles' must be an array of strings");
	EXPECT_ERR(text1(9, "vdevs = \"a\";"), 9, "'vdevs' must be an array of strings");
	EXPECT_ERR(text1(9, "extra = [ 1, 2 ];"), 9, "'extra' must be an array of strings");
	EXPECT_ERR(text2(7, "eal = 1; /*", 10, "*/"), 7, "'eal' must be a group");
	EXPECT_ERR(text2(11, "devices = 3; /*", 21, "*/"), 11, "'devices' must be a list");
}

static void
test_link_range(void)
{
	EXPECT_ERR(text1(32, "link = { mtu = 100; };"), 32,
		   "'mtu' 100 is out of range (576..9600)");
	EXPECT_ERR(text1(32, "link = { mtu = 9601; };"), 32, "'mtu' 9601 is out of range");
	EXPECT_ERR(text1(32, "link = { ethertype = 0x0500; };"), 32,
		   "'ethertype' 0x500 is out of range (0x600..0xffff)");
	EXPECT_ERR(text1(32, "link = { ethertype = 0x10000; };"), 32, "'ethertype' 0x10000");
	EXPECT_ERR(text1(32, "link = { max_payload = 100; };"), 32,
		   "'max_payload' 100 must be 0 or a multiple of 64 in 64..4096");
	EXPECT_ERR(text1(32, "link = { max_payload = 4160; };"), 32,
		   "'max_payload' 4160 is out of range (0..4096)");
	EXPECT_ERR(text1(32, "link = { replay_frames = 7; };"), 32, "'replay_frames' 7");
	EXPECT_ERR(text1(32, "link = { replay_frames = 32769; };"), 32, "'replay_frames' 32769");
	EXPECT_ERR(text1(32, "link = { retransmit_us = 9; };"), 32, "'retransmit_us' 9");
	EXPECT_ERR(text1(32, "link = { retransmit_max = 0; };"), 32, "'retransmit_max' 0");
	EXPECT_ERR(text1(32, "link = { keepalive_ms = 60001; };"), 32, "'keepalive_ms' 60001");
	EXPECT_ERR(text1(32, "link = { dead_ms = 600001; };"), 32, "'dead_ms' 600001");
	EXPECT_ERR(text1(32, "link = { request_timeout_ms = 0; };"), 32,
		   "'request_timeout_ms' 0");
	EXPECT_ERR(text1(32, "link = { burst = 513; };"), 32,
		   "'burst' 513 is out of range (1..512)");
	EXPECT_ERR(text1(32, "link = { mbufs = 1022; };"), 32, "'mbufs' 1022");
	EXPECT_ERR(text1(32, "link = { mbufs = 1048576; };"), 32, "'mbufs' 1048576");
	EXPECT_ERR(text1(32, "link = { sleep_max_us = 100001; };"), 32, "'sleep_max_us' 100001");
	EXPECT_ERR(text1(32, "link = { spin_polls = -1; };"), 32, "'spin_polls' -1");
	EXPECT_ERR(text1(32, "link = { copy_threshold = 4097; };"), 32, "'copy_threshold' 4097");
	EXPECT_ERR(text1(32, "link = { frame_max = 589; };"), 32,
		   "'frame_max' 589 must be 0 (the port's own) or 590..65024");
	EXPECT_ERR(text1(32, "link = { frame_max = 65025; };"), 32,
		   "'frame_max' 65025 is out of range (0..65024)");
	EXPECT_ERR(text1(6, "frame_max = 100;"), 6,
		   "host 's0': 'frame_max' 100 must be 0 (the port's own) or 590..65024");
	EXPECT_ERR(text1(29, "crc_payload = 0;"), 29,
		   "host 'c0': 'crc_payload' must be a boolean");
	/* dead_ms must exceed keepalive_ms: reported at dead_ms, else at keepalive_ms */
	EXPECT_ERR(text2(32, "link = {", 33, "keepalive_ms = 100; dead_ms = 100; };"), 33,
		   "'dead_ms' (100) must be greater than 'keepalive_ms' (100)");
	EXPECT_ERR(text2(32, "link = {", 33, "keepalive_ms = 5000; };"), 33,
		   "'dead_ms' (3000) must be greater than 'keepalive_ms' (5000)");
	/* the line is the setting's, not the group's */
	EXPECT_ERR(text2(32, "link = {", 34, "burst = 0; };"), 34, "'burst' 0");
}

/* link.faults: the built-in fault injector's rates and seed. */
static void
test_link_faults(void)
{
	struct rpci_conf *conf;

	conf = load(text2(32, "link = { faults = { seed = 77; tx = { drop = 0.01; dup = 0.02; };",
			  33, "rx = { reorder = 0.5; corrupt = 1; }; }; };"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT_EQUAL(conf->link.faults_seed, 77);
	CU_ASSERT_DOUBLE_EQUAL(conf->link.faults_tx.drop, 0.01, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(conf->link.faults_tx.dup, 0.02, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(conf->link.faults_tx.reorder, 0.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(conf->link.faults_rx.reorder, 0.5, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(conf->link.faults_rx.corrupt, 1.0, 1e-12);
	rpci_conf_free(conf);
	/* Off unless set. */
	conf = load(text1(0, NULL));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT_DOUBLE_EQUAL(conf->link.faults_tx.drop + conf->link.faults_rx.drop +
			       conf->link.faults_tx.corrupt, 0.0, 1e-12);
	CU_ASSERT_EQUAL(conf->link.faults_seed, 1);
	rpci_conf_free(conf);
	EXPECT_ERR(text2(32, "link = { faults = {", 33, "tx = { drop = 1.5; }; }; };"), 33,
		   "'drop' 1.5 is out of range (0..1)");
	EXPECT_ERR(text2(32, "link = { faults = {", 33, "rx = { corrupt = -0.1; }; }; };"), 33,
		   "'corrupt' -0.1 is out of range");
	EXPECT_ERR(text2(32, "link = { faults = {", 33, "tx = { lose = 0.1; }; }; };"), 33,
		   "unknown setting 'lose'");
	EXPECT_ERR(text2(32, "link = { faults = {", 33, "seed = \"x\"; }; };"), 33,
		   "'seed' must be an integer");
	EXPECT_ERR(text2(32, "link = { faults = {", 33, "tx = 0.1; }; };"), 33,
		   "'tx' must be a group");
	EXPECT_ERR(text2(32, "link = { faults = {", 33, "tx = { dup = \"a\"; }; }; };"), 33,
		   "'dup' must be a number");
}

/* Section "selector", and clients that let it choose. */
static void
test_selector_section(void)
{
	struct rpci_conf *conf;

	/* No selector: defaults, and every client names its server. */
	conf = load(text1(0, NULL));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT_FALSE(conf->selector.present);
	CU_ASSERT_STRING_EQUAL(conf->selector.policy, "first-fit");
	rpci_conf_free(conf);
	EXPECT_ERR(text1(28, ""), 23, "missing 'server'");

	/* s0 also runs the selector; c0 needs no server then. */
	conf = load(text2(4, "        roles = [ \"server\", \"selector\" ];", 32,
			  "selector = { host = \"s0\"; policy = \"learned\"; heartbeat_ms = 100; "
			  "missed_heartbeats = 4; lease_ms = 2000; explore = 0.25; seed = 9; };"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT(conf->selector.present);
	CU_ASSERT_STRING_EQUAL(conf->selector.host, "s0");
	CU_ASSERT_STRING_EQUAL(conf->selector.policy, "learned");
	CU_ASSERT_EQUAL(conf->selector.heartbeat_ms, 100);
	CU_ASSERT_EQUAL(conf->selector.missed_heartbeats, 4);
	CU_ASSERT_EQUAL(conf->selector.lease_ms, 2000);
	CU_ASSERT_DOUBLE_EQUAL(conf->selector.explore, 0.25, 1e-12);
	CU_ASSERT_EQUAL(conf->selector.seed, 9);
	CU_ASSERT_EQUAL(conf->selector.line, 32);
	rpci_conf_free(conf);
	conf = load(text2(4, "        roles = [ \"server\", \"selector\" ];", 32,
			  "selector = { host = \"s0\"; };"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	rpci_conf_free(conf);
	/* text2() writes g_text, which the block below edits in place */
	text2(4, "        roles = [ \"server\", \"selector\" ];",
	      32, "selector = { host = \"s0\"; };");
	/* the same with client c0 naming no server */
	{
		char *at = strstr(g_text, "        server = \"s0\";");

		CU_ASSERT_PTR_NOT_NULL_FATAL(at);
		memset(at, ' ', strlen("        server = \"s0\";"));
		conf = load(g_text);
		CU_ASSERT_PTR_NOT_NULL(conf);
		if (conf != NULL) {
			CU_ASSERT_STRING_EQUAL(conf->hosts[1].server, "");
		}
		rpci_conf_free(conf);
	}

	EXPECT_ERR(text1(32, "selector = { host = \"s0\"; };"), 32,
		   "selector host 's0' is not a host with the selector role");
	EXPECT_ERR(text1(32, "selector = { host = \"zz\"; };"), 32, "selector host 'zz'");
	EXPECT_ERR(text2(4, "        roles = [ \"server\", \"selector\" ];", 32,
			 "selector = { host = \"s0\"; policy = \"fastest\"; };"), 32,
		   "'policy' must be");
	EXPECT_ERR(text2(4, "        roles = [ \"server\", \"selector\" ];", 32,
			 "selector = { host = \"s0\"; heartbeat_ms = 5; };"), 32,
		   "'heartbeat_ms' 5 is out of range");
	EXPECT_ERR(text2(4, "        roles = [ \"server\", \"selector\" ];", 32,
			 "selector = { host = \"s0\"; explore = 2; };"), 32,
		   "'explore' 2 is out of range");
	EXPECT_ERR(text2(4, "        roles = [ \"server\", \"selector\" ];", 32,
			 "selector = { host = \"s0\"; colour = 1; };"), 32,
		   "unknown setting 'colour'");
	EXPECT_ERR(text1(32, "selector = 3;"), 32, "'selector' must be a group");
	EXPECT_ERR(text1(6, "        console = \"rel/path.sock\";"), 6,
		   "'console' must be an absolute path");
	conf = load(text1(6, "        console = \"/run/rpci/s0.sock\";"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT_STRING_EQUAL(conf->hosts[0].console, "/run/rpci/s0.sock");
	rpci_conf_free(conf);
	/* a host's own frame size and payload CRC, over the link section's */
	conf = load(text2(6, "frame_max = 65024; crc_payload = true;", 32,
			  "link = { frame_max = 1514; crc_payload = false; };"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT_EQUAL(conf->hosts[0].frame_max, 65024);
	CU_ASSERT_TRUE(conf->hosts[0].crc_payload_set);
	CU_ASSERT_TRUE(conf->hosts[0].crc_payload);
	CU_ASSERT_EQUAL(conf->hosts[1].frame_max, 0);
	CU_ASSERT_FALSE(conf->hosts[1].crc_payload_set);
	CU_ASSERT_EQUAL(conf->link.frame_max, 1514);
	CU_ASSERT_TRUE(conf->link.crc_payload_set);
	CU_ASSERT_FALSE(conf->link.crc_payload);
	rpci_conf_free(conf);
}

static void
test_host_range(void)
{
	EXPECT_ERR(text1(6, "port = 1024;"), 6, "host 's0': 'port' 1024 is out of range (0..1023)");
	EXPECT_ERR(text1(6, "port = -1;"), 6, "'port' -1 is out of range");
	EXPECT_ERR(text1(9, "memory_mb = 1048577;"), 9,
		   "eal of host 's0': 'memory_mb' 1048577 is out of range (0..1048576)");
}

static void
test_device_range(void)
{
	EXPECT_ERR(text1(16, "vendor_id = 0x10000;"), 16,
		   "device 'd0' of host 's0': 'vendor_id' 0x10000 is out of range (0x0..0xffff)");
	EXPECT_ERR(text1(16, "vendor_id = 0xFFFF;"), 16, "vendor_id 0xffff is reserved");
	EXPECT_ERR(text1(17, "device_id = -1;"), 17, "'device_id' -1 is out of range");
	EXPECT_ERR(text1(18, "class_code = 0x1000000;"), 18, "'class_code' 0x1000000");
	EXPECT_ERR(text1(15, "memory_mb = 0;"), 15, "'memory_mb' 0 is out of range (1..65536)");
	EXPECT_ERR(text1(15, "memory_mb = 65537;"), 15, "'memory_mb' 65537");
	EXPECT_ERR(text1(19, "revision = 256;"), 19, "'revision' 256 is out of range (0..255)");
	EXPECT_ERR(text1(19, "threads = 0;"), 19, "'threads' 0 is out of range (1..64)");
	EXPECT_ERR(text1(19, "threads = 65;"), 19, "'threads' 65");
	EXPECT_ERR(text1(19, "slowdown = 0.5;"), 19, "'slowdown' 0.5 is out of range");
	EXPECT_ERR(text1(19, "slowdown = 1001;"), 19, "'slowdown' 1001 is out of range");
	EXPECT_ERR(text1(19, "subsystem_vendor_id = 0x10000;"), 19, "'subsystem_vendor_id'");
	EXPECT_ERR(text1(19, "subsystem_id = 65536;"), 19, "'subsystem_id' 65536");
	EXPECT_ERR(text1(14, "backend = \"Cpu\";"), 14,
		   "'backend' 'Cpu' has a character other than [a-z0-9_]");
	EXPECT_ERR(text1(14, "backend = \"\";"), 14, "'backend' must not be empty");
}

static void
test_missing_required(void)
{
	EXPECT_ERR(text1(3, ""), 2, "host #1: missing 'name'");
	EXPECT_ERR(text1(4, ""), 2, "host 's0': missing 'roles'");
	EXPECT_ERR(text1(5, ""), 2, "host 's0': missing 'mac'");
	EXPECT_ERR(text1(8, ""), 7, "eal of host 's0': missing 'lcores'");
	EXPECT_ERR(text1(27, ""), 23, "host 'c0': missing 'eal'");
	EXPECT_ERR(text1(14, ""), 12, "device 'd0' of host 's0': missing 'backend'");
	EXPECT_ERR(text1(15, ""), 12, "missing 'memory_mb'");
	EXPECT_ERR(text1(16, ""), 12, "missing 'vendor_id'");
	EXPECT_ERR(text1(17, ""), 12, "missing 'device_id'");
	EXPECT_ERR(text1(18, ""), 12, "missing 'class_code'");
	EXPECT_ERR(text1(13, ""), 12, "device #1 of host 's0': missing 'name'");
}

static void
test_bad_mac(void)
{
	EXPECT_ERR(text1(5, "mac = \"02:00:00:00:00\";"), 5,
		   "'mac' '02:00:00:00:00' is not a MAC address (xx:xx:xx:xx:xx:xx)");
	EXPECT_ERR(text1(5, "mac = \"02:00:00:00:00:0g\";"), 5, "is not a MAC address");
	EXPECT_ERR(text1(5, "mac = \"02-00-00-00-00-01\";"), 5, "is not a MAC address");
	EXPECT_ERR(text1(5, "mac = \"02:00:00:00:00:001\";"), 5, "is not a MAC address");
	EXPECT_ERR(text1(5, "mac = \"+2:00:00:00:00:01\";"), 5, "is not a MAC address");
	EXPECT_ERR(text1(5, "mac = \"00:00:00:00:00:00\";"), 5, "'mac' must not be all zero");
}

static void
test_multicast_mac(void)
{
	EXPECT_ERR(text1(5, "mac = \"03:00:00:00:00:01\";"), 5,
		   "host 's0': 'mac' 03:00:00:00:00:01 is a multicast address");
	EXPECT_ERR(text1(26, "mac = \"FF:FF:FF:FF:FF:FF\";"), 26,
		   "'mac' ff:ff:ff:ff:ff:ff is a multicast address");
}

static void
test_duplicate_host(void)
{
	EXPECT_ERR(text1(24, "name = \"s0\";"), 24, "duplicate host name 's0' (first at line 2)");
}

static void
test_duplicate_mac(void)
{
	EXPECT_ERR(text1(26, "mac = \"02:00:00:00:00:01\";"), 26,
		   "duplicate mac 02:00:00:00:00:01 (host 's0' at line 2 has it)");
}

static void
test_roles(void)
{
	EXPECT_ERR(text1(4, "roles = [ \"server\", \"gpu\" ];"), 4,
		   "unknown role 'gpu' (server, client or selector)");
	/* an array element's own line */
	EXPECT_ERR(text1(4, "roles = [ \"server\",\n\"server\" ];"), 5, "duplicate role 'server'");
	EXPECT_ERR(text1(4, "roles = [ ];"), 4, "'roles' must not be empty");
}

static void
test_bad_names(void)
{
	EXPECT_ERR(text1(3, "name = \"s 0\";"), 3,
		   "'name' 's 0' has a character other than [A-Za-z0-9_.-]");
	EXPECT_ERR(text1(3, "name = \"\";"), 3, "'name' must not be empty");
	EXPECT_ERR(text1(3, "name = \"abcdefghijklmnopqrstuvwxyz012345\";"), 3,
		   "'name' is too long (32 characters, at most 31)");
	EXPECT_ERR(text1(13, "name = \"d/0\";"), 13, "has a character other than");
	EXPECT_ERR(text1(8, "lcores = \"0;1\";"), 8,
		   "'lcores' '0;1' has a character other than [0-9,-@()]");
	EXPECT_ERR(text1(8, "lcores = \"\";"), 8, "'lcores' must not be empty");
	EXPECT_ERR(text1(9, "file_prefix = \"a/b\";"), 9, "'file_prefix' 'a/b' has a character");
}

static void
test_string_too_long(void)
{
	char line[400];
	char big[300];

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(line, sizeof(line), "lcores = \"%s\";", big);
	EXPECT_ERR(text1(8, line), 8, "'lcores' is too long (299 characters, at most 255)");
	snprintf(line, sizeof(line), "vdevs = [ \"a\", \"%s\" ];", big);
	EXPECT_ERR(text1(9, line), 9, "'vdevs' entry 2 is too long (299 characters, at most 255)");
	snprintf(line, sizeof(line), "log_level = \"%s\";", big);
	EXPECT_ERR(text1(9, line), 9, "'log_level' is too long");
	/* the longest that fits */
	big[RPCI_CONF_STR_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "lcores = \"%s\";", big);
	{
		struct rpci_conf *conf = load(text1(8, line));

		CU_ASSERT(conf != NULL);
		if (conf != NULL) {
			CU_ASSERT_EQUAL(strlen(conf->hosts[0].eal.lcores), RPCI_CONF_STR_MAX - 1);
		}
		rpci_conf_free(conf);
	}
}

static void
test_unknown_in_link(void)
{
	EXPECT_ERR(text2(32, "link = {", 33, "  mtux = 1500; };"), 33,
		   "unknown setting 'mtux' in link");
}

static void
test_unknown_in_host(void)
{
	EXPECT_ERR(text1(6, "colour = \"red\";"), 6, "unknown setting 'colour' in host 's0'");
	EXPECT_ERR(text1(29, "ports = 1;"), 29, "unknown setting 'ports' in host 'c0'");
}

static void
test_unknown_in_eal(void)
{
	EXPECT_ERR(text1(9, "lcore = \"1\";"), 9, "unknown setting 'lcore' in eal of host 's0'");
}

static void
test_unknown_in_device(void)
{
	EXPECT_ERR(text1(19, "vendor = 1;"), 19,
		   "unknown setting 'vendor' in device 'd0' of host 's0'");
}

static void
test_server_devices(void)
{
	/* c0 made a server: it has no devices */
	EXPECT_ERR(text1(25, "roles = [ \"server\" ];"), 23, "host 'c0': missing 'devices'");
	/* s0 made a client: it may not have devices */
	EXPECT_ERR(text1(4, "roles = [ \"client\" ]; server = \"s0\";"), 11,
		   "host 's0': 'devices' is only for server hosts");
	EXPECT_ERR(text2(11, "devices = ( ); /*", 21, "*/"), 11,
		   "'devices' has 0 entries, must have 1..16");
	EXPECT_ERR(text1(19, "}, { name = \"d0\"; backend = \"cpu\"; memory_mb = 1; vendor_id = 1; "
			 "device_id = 1; class_code = 1;"), 19,
		   "duplicate device name 'd0' (first at line 12)");
}

static void
test_too_many_devices(void)
{
	char line[4096];
	size_t off = 0;
	int i, n;

	off = (size_t)snprintf(line, sizeof(line), "},");
	for (i = 1; i < RPCI_CONF_DEVICES_MAX; i++) {
		n = snprintf(line + off, sizeof(line) - off,
			     "{ name = \"d%d\"; backend = \"cpu\"; memory_mb = 1; vendor_id = 1; "
			     "device_id = 1; class_code = 1; }%s", i,
			     i < RPCI_CONF_DEVICES_MAX - 1 ? "," : "");
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(line) - off);
		off += (size_t)n;
	}
	/* exactly 16 */
	{
		struct rpci_conf *conf;

		conf = load(text2(19, line, 20, ""));
		if (conf == NULL) {
			fprintf(stderr, "\n  %s\n", g_err);
		}
		CU_ASSERT(conf != NULL);
		if (conf != NULL) {
			CU_ASSERT_EQUAL(conf->hosts[0].nb_devices, 16);
			CU_ASSERT_STRING_EQUAL(conf->hosts[0].devices[15].name, "d15");
			CU_ASSERT_EQUAL(conf->hosts[0].devices[15].line, 19);
		}
		rpci_conf_free(conf);
	}
	snprintf(line + off, sizeof(line) - off, ", { name = \"dx\"; }");
	EXPECT_ERR(text2(19, line, 20, ""), 11, "'devices' has 17 entries, must have 1..16");
}

static void
test_client_checks(void)
{
	EXPECT_ERR(text1(28, ""), 23, "host 'c0': missing 'server'");
	EXPECT_ERR(text1(28, "server = \"c0\";"), 28,
		   "client 'c0' names server 'c0', which is not a server host");
	EXPECT_ERR(text1(28, "server = \"zz\";"), 28,
		   "client 'c0' names server 'zz', which is not a host of this file");
	EXPECT_ERR(text1(29, "device = \"d9\";"), 29,
		   "client 'c0' names device 'd9', which server 's0' does not have");
	EXPECT_ERR(text1(6, "server = \"s0\";"), 6, "host 's0': 'server' is only for client hosts");
	EXPECT_ERR(text1(6, "device = \"d0\";"), 6, "host 's0': 'device' is only for client hosts");
	EXPECT_ERR(text1(28, "server = \"s 0\";"), 28, "'server' 's 0' has a character");
}

static void
test_client_device_ok(void)
{
	struct rpci_conf *conf;

	conf = load(text1(29, "device = \"d0\";"));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_STRING_EQUAL(conf->hosts[1].device, "d0");
	rpci_conf_free(conf);
}

static void
test_bad_idle(void)
{
	EXPECT_ERR(text1(6, "idle = \"sleepy\";"), 6,
		   "host 's0': 'idle' 'sleepy' must be \"poll\" or \"adaptive\"");
	EXPECT_ERR(text1(6, "idle = 0;"), 6, "'idle' must be a string");
}

static void
test_too_many_vdevs(void)
{
	EXPECT_ERR(text1(9, "vdevs = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", "
			 "\"i\" ];"),
		   9, "eal of host 's0': 'vdevs' has 9 entries, at most 8");
	EXPECT_ERR(text1(9, "extra = [ \"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\", "
			 "\"9\", \"10\", \"11\", \"12\", \"13\", \"14\", \"15\", \"16\", "
			 "\"17\" ];"),
		   9, "'extra' has 17 entries, at most 16");
	EXPECT_ERR(text1(9, "vdevs = [ \"a\", \"\" ];"), 9, "'vdevs' entry 2 is empty");
}

/* The client daemon's socket: group "proxy" of a client host (line 29 of the base). */
static void
test_proxy_group(void)
{
	struct rpci_conf *conf;

	conf = load(text1(29, "proxy = { socket = \"/tmp/x.sock\"; owner = \"root\"; "
			  "group = \"users\"; mode = \"0660\"; max_programs = 3; };"));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_STRING_EQUAL(conf->hosts[1].proxy.socket, "/tmp/x.sock");
	CU_ASSERT_STRING_EQUAL(conf->hosts[1].proxy.owner, "root");
	CU_ASSERT_STRING_EQUAL(conf->hosts[1].proxy.group, "users");
	CU_ASSERT_EQUAL(conf->hosts[1].proxy.mode, 0660);
	CU_ASSERT_EQUAL(conf->hosts[1].proxy.max_programs, 3);
	rpci_conf_free(conf);
	/* defaults */
	conf = load(text1(0, NULL));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_STRING_EQUAL(conf->hosts[1].proxy.socket, RPCI_CONF_PROXY_SOCKET);
	CU_ASSERT_EQUAL(conf->hosts[1].proxy.mode, 0660);
	rpci_conf_free(conf);

	EXPECT_ERR(text1(29, "proxy = { socket = \"rel.sock\"; };"), 29,
		   "'socket' must be an absolute path");
	EXPECT_ERR(text1(29, "proxy = { mode = 0660; };"), 29,
		   "'mode' must be permission bits in octal, as a string");
	EXPECT_ERR(text1(29, "proxy = { mode = \"0999\"; };"), 29,
		   "'mode' must be permission bits in octal");
	EXPECT_ERR(text1(29, "proxy = { mode = \"0066\"; };"), 29,
		   "must let the owner read and write");
	EXPECT_ERR(text1(29, "proxy = { owner = \"a b\"; };"), 29,
		   "'owner' 'a b' is not a user or group name");
	EXPECT_ERR(text1(29, "proxy = { max_programs = 65; };"), 29,
		   "'max_programs' 65 is out of range (1..64)");
	EXPECT_ERR(text1(29, "proxy = { sockets = \"/x\"; };"), 29, "unknown setting 'sockets'");
	EXPECT_ERR(text1(29, "proxy = \"/x\";"), 29, "'proxy' must be a group");
	/* only client hosts have one */
	EXPECT_ERR(text1(6, "proxy = { mode = \"0600\"; };"), 6,
		   "'proxy' is only for client hosts");
}

/* ---- look-ups ---- */

/* kind "pci": a host function by address, its access rules, what is refused. */
static void
test_pci_device(void)
{
	const struct rpci_conf_device *d;
	struct rpci_conf *conf;

	conf = load(text1(19, "}, { name = \"net0\"; kind = \"pci\"; address = \"00:03.0\"; "
			  "access = ( { allow = \"config\"; }, { allow = \"bar-read\"; bar = 2; "
			  "offset = 0x1000; size = 0x100; }, { allow = \"bar-rw\"; bar = 4; "
			  "size = 8; } );"));
	CU_ASSERT_FATAL(conf != NULL);
	d = rpci_conf_device_find(&conf->hosts[0], "net0");
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_EQUAL(d->kind, RPCI_CONF_DEV_PCI);
	CU_ASSERT_EQUAL(d->pci_domain, 0);
	CU_ASSERT_EQUAL(d->pci_bus, 0);
	CU_ASSERT_EQUAL(d->pci_dev, 3);
	CU_ASSERT_EQUAL(d->pci_func, 0);
	CU_ASSERT_EQUAL(d->nb_rules, 3);
	CU_ASSERT_EQUAL(d->rules[0].allow, RPCI_CONF_PCI_CONFIG);
	CU_ASSERT_EQUAL(d->rules[1].allow, RPCI_CONF_PCI_BAR_READ);
	CU_ASSERT_EQUAL(d->rules[1].bar, 2);
	CU_ASSERT_EQUAL(d->rules[1].offset, 0x1000);
	CU_ASSERT_EQUAL(d->rules[1].size, 0x100);
	CU_ASSERT_EQUAL(d->rules[2].allow, RPCI_CONF_PCI_BAR_RW);
	CU_ASSERT_EQUAL(d->rules[2].offset, 0);
	CU_ASSERT_EQUAL(d->rules[2].line, 19);
	CU_ASSERT_EQUAL(conf->hosts[0].devices[0].kind, RPCI_CONF_DEV_VGPU);
	CU_ASSERT_STRING_EQUAL(rpci_conf_pci_allow_name(RPCI_CONF_PCI_BAR_RW), "bar-rw");
	CU_ASSERT_STRING_EQUAL(rpci_conf_pci_allow_name((enum rpci_conf_pci_allow)9), "?");
	rpci_conf_free(conf);

	/* No access list: configuration reads only. */
	conf = load(text1(19, "}, { name = \"blk\"; kind = \"pci\"; "
			  "address = \"0000:00:02.0\";"));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_EQUAL(conf->hosts[0].devices[1].nb_rules, 0);
	CU_ASSERT_EQUAL(conf->hosts[0].devices[1].pci_dev, 2);
	rpci_conf_free(conf);

	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\";"), 19, "missing 'address'");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pcie\"; address = \"00:03.0\";"), 19,
		   "'kind' must be \"vgpu\" or \"pci\"");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:20.0\";"), 19,
		   "'address' must be a PCI address");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"0:3.0\";"), 19,
		   "'address' must be a PCI address");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "backend = \"cpu\";"), 19, "'backend' is not for a pci device");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "colour = 1;"), 19, "unknown setting 'colour'");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = ( { allow = \"bar-write\"; } );"), 19,
		   "'allow' must be \"config-read\", \"config\", \"bar-read\" or \"bar-rw\"");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = ( { allow = \"bar-read\"; bar = 6; size = 4; } );"), 19,
		   "'bar' 6 is out of range (0..5)");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = ( { allow = \"bar-read\"; bar = 0; } );"), 19, "missing 'size'");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = ( { allow = \"bar-rw\"; bar = 0; size = 0; } );"), 19,
		   "'size' 0 is out of range");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = ( { allow = \"config\"; bar = 0; } );"), 19,
		   "'bar' is for bar-read and bar-rw rules, not config");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = ( \"config\" );"), 19, "'access' entry 1 must be a group");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = 1;"), 19, "'access' must be a list");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; "
			 "access = ( {allow=\"config\";}, {allow=\"config\";}, "
			 "{allow=\"config\";}, {allow=\"config\";}, {allow=\"config\";}, "
			 "{allow=\"config\";}, {allow=\"config\";}, {allow=\"config\";}, "
			 "{allow=\"config\";} );"), 19, "'access' has 9 entries, at most 8");
	EXPECT_ERR(text1(19, "}, { name = \"n\"; kind = \"pci\"; address = \"00:03.0\"; }, "
			 "{ name = \"m\"; kind = \"pci\"; address = \"0000:00:03.0\";"), 19,
		   "devices 'm' and 'n' (line 19) are the same PCI function");
	EXPECT_ERR(text1(19, "address = \"00:03.0\";"), 19, "unknown setting 'address'");
}

static void
test_pci_address_parse(void)
{
	uint16_t dom = 9;
	uint8_t bus = 9, dev = 9, fn = 9;

	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse("0001:af:1f.7", &dom, &bus, &dev, &fn), 0);
	CU_ASSERT(dom == 1 && bus == 0xaf && dev == 0x1f && fn == 7);
	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse("00:03.0", &dom, &bus, &dev, &fn), 0);
	CU_ASSERT(dom == 0 && bus == 0 && dev == 3 && fn == 0);
	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse("00:03.8", &dom, &bus, &dev, &fn), -EINVAL);
	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse("00:03:0", &dom, &bus, &dev, &fn), -EINVAL);
	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse("0g:03.0", &dom, &bus, &dev, &fn), -EINVAL);
	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse("000:00:03.0", &dom, &bus, &dev, &fn),
			-EINVAL);
	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse("", &dom, &bus, &dev, &fn), -EINVAL);
	CU_ASSERT_EQUAL(rpci_conf_pci_address_parse(NULL, &dom, &bus, &dev, &fn), -EINVAL);
}

/* Named personality profiles, and a device that takes one. */
static void
test_profiles(void)
{
	const struct rpci_conf_profile *prof;
	const struct rpci_conf_device *d;
	struct rpci_conf *conf;

	conf = load(text2(32, "profiles = ( { name = \"a100\"; vendor_id = 0x10de; "
			  "device_id = 0x20b0; subsystem_vendor_id = 0x10de; "
			  "subsystem_id = 0x134f; "
			  "class_code = 0x030200; revision = 0xa1; bar0_size = 0x1000000; "
			  "bar2_size = 0x1000000000L; }, { name = \"rp\"; vendor_id = 0x7270; "
			  "device_id = 2; class_code = 0x120000; } );",
			  19, "}, { name = \"d1\"; backend = \"cpu\"; memory_mb = 64; "
			  "profile = \"a100\";"));
	if (conf == NULL) {
		fprintf(stderr, "\n  %s\n", g_err);
	}
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_EQUAL(conf->nb_profiles, 2);
	prof = rpci_conf_profile_find(conf, "rp");
	CU_ASSERT_FATAL(prof != NULL);
	CU_ASSERT_EQUAL(prof->bar0_size, 64 * 1024);
	CU_ASSERT_EQUAL(prof->bar2_size, 0);
	CU_ASSERT_EQUAL(prof->class_code, 0x120000);
	CU_ASSERT_PTR_NULL(rpci_conf_profile_find(conf, "h100"));
	d = rpci_conf_device_find(&conf->hosts[0], "d1");
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_STRING_EQUAL(d->profile, "a100");
	CU_ASSERT_EQUAL(d->vendor_id, 0x10de);
	CU_ASSERT_EQUAL(d->subsystem_id, 0x134f);
	CU_ASSERT_EQUAL(d->revision, 0xa1);
	CU_ASSERT_EQUAL(d->bar0_size, 0x1000000);
	CU_ASSERT_EQUAL(d->bar2_size, 0x1000000000ull);
	/* Without a profile: 64 KiB of registers, BAR2 the memory's power of two. */
	d = &conf->hosts[0].devices[0];
	CU_ASSERT_EQUAL(d->bar0_size, 64 * 1024);
	CU_ASSERT_EQUAL(d->bar2_size, 16u << 20);
	CU_ASSERT_STRING_EQUAL(d->profile, "");
	rpci_conf_free(conf);

	EXPECT_ERR(text2(32, "profiles = ( { name = \"p\"; vendor_id = 1; device_id = 2; "
			 "class_code = 3; } );", 19, "}, { name = \"d1\"; backend = \"cpu\"; "
			 "memory_mb = 64; profile = \"q\";"), 19, "no profile 'q'");
	EXPECT_ERR(text2(32, "profiles = ( { name = \"p\"; vendor_id = 1; device_id = 2; "
			 "class_code = 3; } );", 19, "}, { name = \"d1\"; backend = \"cpu\"; "
			 "memory_mb = 64; profile = \"p\"; vendor_id = 5;"), 19,
		   "'vendor_id' and 'profile' exclude each other");
	EXPECT_ERR(text2(32, "profiles = ( { name = \"p\"; vendor_id = 1; device_id = 2; "
			 "class_code = 3; bar2_size = 0x100000; } );", 19, "}, { name = \"d1\"; "
			 "backend = \"cpu\"; memory_mb = 64; profile = \"p\";"), 19,
		   "smaller than the device's memory");
	EXPECT_ERR(text1(32, "profiles = ( { name = \"p\"; vendor_id = 1; device_id = 2; "
			 "class_code = 3; bar0_size = 0x30000; } );"), 32,
		   "'bar0_size' 0x30000 is not a power of two");
	EXPECT_ERR(text1(32, "profiles = ( { name = \"p\"; vendor_id = 1; device_id = 2; "
			 "class_code = 3; bar0_size = 0x1000; } );"), 32,
		   "'bar0_size' 0x1000 is out of range");
	EXPECT_ERR(text1(32, "profiles = ( { name = \"p\"; vendor_id = 1; device_id = 2; "
			 "class_code = 3; }, { name = \"p\"; vendor_id = 1; device_id = 2; "
			 "class_code = 3; } );"), 32, "duplicate profile name 'p'");
	EXPECT_ERR(text1(32, "profiles = ( { name = \"p\"; vendor_id = 1; class_code = 3; } );"),
		   32, "profile 'p': missing 'device_id'");
	EXPECT_ERR(text1(32, "profiles = ( { name = \"p\"; vendor_id = 0xffff; device_id = 1; "
			 "class_code = 3; } );"), 32, "vendor_id 0xffff is reserved");
	EXPECT_ERR(text1(32, "profiles = ( { name = \"p\"; vendor_id = 1; device_id = 1; "
			 "class_code = 3; memory_mb = 5; } );"), 32, "unknown setting 'memory_mb'");
}

/* A server's file directory. */
static void
test_file_dir(void)
{
	struct rpci_conf *conf;

	conf = load(text1(6, "file_dir = \"/srv/rpci\"; file_save = true;"));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_STRING_EQUAL(conf->hosts[0].file_dir, "/srv/rpci");
	CU_ASSERT(conf->hosts[0].file_save);
	CU_ASSERT_STRING_EQUAL(conf->hosts[1].file_dir, "");
	rpci_conf_free(conf);
	EXPECT_ERR(text1(6, "file_dir = \"srv\";"), 6, "'file_dir' must be an absolute path");
	EXPECT_ERR(text1(6, "file_save = true;"), 6, "'file_save' needs a 'file_dir'");
	EXPECT_ERR(text1(6, "file_save = 1;"), 6, "'file_save' must be a boolean");
	EXPECT_ERR(text1(29, "file_dir = \"/srv\";"), 29, "'file_dir' is only for server hosts");
}

static void
test_host_by_mac(void)
{
	static const uint8_t c0[6] = { 2, 0, 0, 0, 0, 2 };
	static const uint8_t none[6] = { 2, 0, 0, 0, 0, 3 };
	struct rpci_conf *conf = load(text1(0, NULL));

	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_PTR_EQUAL(rpci_conf_host_by_mac(conf, c0), &conf->hosts[1]);
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_conf_host_by_mac(conf, none));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NULL(rpci_conf_host_by_mac(NULL, c0));
	rpci_conf_free(conf);
}

static void
test_lookups(void)
{
	const struct rpci_conf_host *s0, *c0;
	const struct rpci_conf_device *dev;
	struct rpci_conf_device other;
	struct rpci_conf *conf;
	char line[512];

	snprintf(line, sizeof(line), "}, { name = \"d1\"; backend = \"gpu_x\"; memory_mb = 1; "
		 "vendor_id = 1; device_id = 2; class_code = 3;");
	conf = load(text1(19, line));
	CU_ASSERT_FATAL(conf != NULL);
	s0 = rpci_conf_host_find(conf, "s0");
	CU_ASSERT_PTR_EQUAL(s0, &conf->hosts[0]);
	c0 = rpci_conf_host_find(conf, "c0");
	CU_ASSERT_PTR_EQUAL(c0, &conf->hosts[1]);
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_conf_host_find(conf, "s"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_FATAL(s0 != NULL);

	dev = rpci_conf_device_find(s0, "d1");
	CU_ASSERT_PTR_EQUAL(dev, &s0->devices[1]);
	CU_ASSERT_EQUAL(rpci_conf_device_index(s0, dev), 1);
	CU_ASSERT_STRING_EQUAL(dev->backend, "gpu_x");
	dev = rpci_conf_device_find(s0, NULL);
	CU_ASSERT_PTR_EQUAL(dev, &s0->devices[0]);
	CU_ASSERT_EQUAL(rpci_conf_device_index(s0, dev), 0);
	CU_ASSERT_PTR_EQUAL(rpci_conf_device_find(s0, ""), &s0->devices[0]);
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_conf_device_find(s0, "d2"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_conf_device_find(c0, NULL));
	CU_ASSERT_EQUAL(errno, ENOENT);
	memset(&other, 0, sizeof(other));
	CU_ASSERT_EQUAL(rpci_conf_device_index(s0, &other), -ENOENT);
	CU_ASSERT_EQUAL(rpci_conf_device_index(c0, &s0->devices[0]), -ENOENT);
	rpci_conf_free(conf);
}

static void
test_mac_str(void)
{
	static const uint8_t mac[6] = { 0x02, 0xAB, 0xCD, 0xEF, 0x00, 0x9F };
	char buf[18];

	CU_ASSERT_PTR_EQUAL(rpci_conf_mac_str(mac, buf, sizeof(buf)), buf);
	CU_ASSERT_STRING_EQUAL(buf, "02:ab:cd:ef:00:9f");
}

/* ---- EAL arguments ---- */

/* A host with every EAL setting. */
static struct rpci_conf *
load_eal_host(void)
{
	struct rpci_conf *conf;

	conf = load(text1(9, "memory_mb = 512; no_huge = true; file_prefix = \"fp\"; "
			  "log_level = \"lib.eal:debug\"; vdevs = [ \"v1\", \"v2\" ]; "
			  "extra = [ \"--in-memory\", \"-n\", \"4\" ];"));
	if (conf == NULL) {
		fprintf(stderr, "\n  %s\n", g_err);
	}
	return conf;
}

static void
test_eal_argv_order(void)
{
	char *const user[] = { "--iova-mode", "va", "--single-file-segments" };
	struct rpci_conf *conf = load_eal_host();
	char **argv;
	int argc = -1;

	CU_ASSERT_FATAL(conf != NULL);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "prog", 0, NULL, &argc);
	CHECK_ARGV(argv, argc, "prog", "-l", "0", "-m", "512", "--no-huge", "--no-pci",
		   "--file-prefix", "fp", "--log-level", "lib.eal:debug", "--vdev", "v1", "--vdev",
		   "v2", "--in-memory", "-n", "4");
	rpci_conf_eal_argv_free(argv);

	/* user arguments come last, in order */
	argv = rpci_conf_eal_argv(&conf->hosts[0], "prog", 3, user, &argc);
	CHECK_ARGV(argv, argc, "prog", "-l", "0", "-m", "512", "--no-huge", "--no-pci",
		   "--file-prefix", "fp", "--log-level", "lib.eal:debug", "--vdev", "v1", "--vdev",
		   "v2", "--in-memory", "-n", "4", "--iova-mode", "va", "--single-file-segments");
	rpci_conf_eal_argv_free(argv);

	/* a minimal host: no -m, no --no-huge; --no-pci by default */
	argv = rpci_conf_eal_argv(&conf->hosts[1], "c", 0, NULL, &argc);
	CHECK_ARGV(argv, argc, "c", "-l", "1", "--no-pci");
	rpci_conf_eal_argv_free(argv);
	rpci_conf_eal_argv_free(NULL);

	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_conf_eal_argv(NULL, "p", 0, NULL, &argc));
	CU_ASSERT_EQUAL(errno, EINVAL);
	rpci_conf_free(conf);
}

static void
test_eal_override_lcores(void)
{
	char *const u1[] = { "-l", "2-3" };
	char *const u2[] = { "--lcores=4@5" };
	char *const u3[] = { "-c", "0x3" };
	char *const u4[] = { "--lcores", "6" };
	struct rpci_conf *conf = load_eal_host();
	char **argv;
	int argc;

	CU_ASSERT_FATAL(conf != NULL);
	argv = rpci_conf_eal_argv(&conf->hosts[1], "c", 2, u1, &argc);
	CHECK_ARGV(argv, argc, "c", "--no-pci", "-l", "2-3");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[1], "c", 1, u2, &argc);
	CHECK_ARGV(argv, argc, "c", "--no-pci", "--lcores=4@5");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[1], "c", 2, u3, &argc);
	CHECK_ARGV(argv, argc, "c", "--no-pci", "-c", "0x3");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[1], "c", 2, u4, &argc);
	CHECK_ARGV(argv, argc, "c", "--no-pci", "--lcores", "6");
	rpci_conf_eal_argv_free(argv);
	rpci_conf_free(conf);
}

static void
test_eal_override_vdev(void)
{
	char *const u1[] = { "--vdev", "net_null0" };
	char *const u2[] = { "--vdev=net_null1" };
	struct rpci_conf *conf = load_eal_host();
	char **argv;
	int argc;

	CU_ASSERT_FATAL(conf != NULL);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 2, u1, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "-m", "512", "--no-huge", "--no-pci",
		   "--file-prefix", "fp", "--log-level", "lib.eal:debug", "--in-memory", "-n", "4",
		   "--vdev", "net_null0");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 1, u2, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "-m", "512", "--no-huge", "--no-pci",
		   "--file-prefix", "fp", "--log-level", "lib.eal:debug", "--in-memory", "-n", "4",
		   "--vdev=net_null1");
	rpci_conf_eal_argv_free(argv);
	rpci_conf_free(conf);
}

/* Kernel-TCP ports (net_rpci_tcp...) are rpci's, made by the link: EAL never sees them. */
static void
test_eal_tcp_vdev(void)
{
	struct rpci_conf *conf;
	char **argv;
	int argc, i, nb_vdev = 0;

	CU_ASSERT(rpci_conf_vdev_is_tcp("net_rpci_tcp0,connect=127.0.0.1:7310"));
	CU_ASSERT(!rpci_conf_vdev_is_tcp("net_memif0,role=server"));
	CU_ASSERT(!rpci_conf_vdev_is_tcp("net_rpci_tc"));
	CU_ASSERT(!rpci_conf_vdev_is_tcp(NULL));
	conf = load(text2(5, "mac = \"02:AB:cd:00:00:01\";", 9,
			  "vdevs = [ \"net_rpci_tcp0,listen=127.0.0.1:7310\", \"net_null0\" ];"));
	CU_ASSERT_FATAL(conf != NULL);
	CU_ASSERT_EQUAL(conf->hosts[0].eal.nb_vdevs, 2);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 0, NULL, &argc);
	CU_ASSERT_FATAL(argv != NULL);
	for (i = 0; i < argc; i++) {
		CU_ASSERT(!rpci_conf_vdev_is_tcp(argv[i]));
		if (strcmp(argv[i], "--vdev") == 0) {
			nb_vdev++;
			CU_ASSERT_FATAL(i + 1 < argc);
			CU_ASSERT_STRING_EQUAL(argv[i + 1], "net_null0");
		}
	}
	CU_ASSERT_EQUAL(nb_vdev, 1);
	CU_ASSERT_PTR_NULL(argv[argc]);
	rpci_conf_eal_argv_free(argv);
	rpci_conf_free(conf);
}

static void
test_eal_override_memory(void)
{
	char *const u1[] = { "-m", "1024" };
	char *const u2[] = { "-m=1024" };
	char *const u3[] = { "--socket-mem=64,64" };
	char *const u4[] = { "--socket-mem", "64" };
	struct rpci_conf *conf = load_eal_host();
	char **argv;
	int argc;

	CU_ASSERT_FATAL(conf != NULL);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 2, u1, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "--no-huge", "--no-pci", "--file-prefix", "fp",
		   "--log-level", "lib.eal:debug", "--vdev", "v1", "--vdev", "v2", "--in-memory",
		   "-n", "4", "-m", "1024");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 1, u2, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "--no-huge", "--no-pci", "--file-prefix", "fp",
		   "--log-level", "lib.eal:debug", "--vdev", "v1", "--vdev", "v2", "--in-memory",
		   "-n", "4", "-m=1024");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 1, u3, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "--no-huge", "--no-pci", "--file-prefix", "fp",
		   "--log-level", "lib.eal:debug", "--vdev", "v1", "--vdev", "v2", "--in-memory",
		   "-n", "4", "--socket-mem=64,64");
	rpci_conf_eal_argv_free(argv);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 2, u4, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "--no-huge", "--no-pci", "--file-prefix", "fp",
		   "--log-level", "lib.eal:debug", "--vdev", "v1", "--vdev", "v2", "--in-memory",
		   "-n", "4", "--socket-mem", "64");
	rpci_conf_eal_argv_free(argv);
	rpci_conf_free(conf);
}

static void
test_eal_override_flags(void)
{
	/* --log-level is not an override: both stay. A value is not an option. */
	char *const u1[] = { "--no-huge", "--no-pci", "--file-prefix=up", "--log-level", "-l",
			     "--log-level=7" };
	char *const u2[] = { "--file-prefix", "up2", "--", "-l", "9" };
	struct rpci_conf *conf = load_eal_host();
	char **argv;
	int argc;

	CU_ASSERT_FATAL(conf != NULL);
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 6, u1, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "-m", "512", "--log-level", "lib.eal:debug",
		   "--vdev", "v1", "--vdev", "v2", "--in-memory", "-n", "4", "--no-huge",
		   "--no-pci", "--file-prefix=up", "--log-level", "-l", "--log-level=7");
	rpci_conf_eal_argv_free(argv);
	/* options after "--" are not EAL's */
	argv = rpci_conf_eal_argv(&conf->hosts[0], "p", 5, u2, &argc);
	CHECK_ARGV(argv, argc, "p", "-l", "0", "-m", "512", "--no-huge", "--no-pci",
		   "--log-level", "lib.eal:debug", "--vdev", "v1", "--vdev", "v2", "--in-memory",
		   "-n", "4", "--file-prefix", "up2", "--", "-l", "9");
	rpci_conf_eal_argv_free(argv);
	rpci_conf_free(conf);
}

int
main(int argc, char **argv)
{
	CU_pSuite suite;
	unsigned int n;

	find_pair_cfg(argc, argv);
	if (g_pair_path[0] == '\0') {
		fprintf(stderr, "config/pair.cfg not found: give its path as argument\n");
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("conf", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_pair_file);
	CU_ADD_TEST(suite, test_pair_eal_argv);
	CU_ADD_TEST(suite, test_minimal_defaults);
	CU_ADD_TEST(suite, test_good_values);
	CU_ADD_TEST(suite, test_syntax_error_line);
	CU_ADD_TEST(suite, test_syntax_error_file);
	CU_ADD_TEST(suite, test_missing_file);
	CU_ADD_TEST(suite, test_small_err_buffer);
	CU_ADD_TEST(suite, test_top_level);
	CU_ADD_TEST(suite, test_too_many_hosts);
	CU_ADD_TEST(suite, test_wrong_type);
	CU_ADD_TEST(suite, test_link_range);
	CU_ADD_TEST(suite, test_link_faults);
	CU_ADD_TEST(suite, test_selector_section);
	CU_ADD_TEST(suite, test_host_range);
	CU_ADD_TEST(suite, test_device_range);
	CU_ADD_TEST(suite, test_missing_required);
	CU_ADD_TEST(suite, test_bad_mac);
	CU_ADD_TEST(suite, test_multicast_mac);
	CU_ADD_TEST(suite, test_duplicate_host);
	CU_ADD_TEST(suite, test_duplicate_mac);
	CU_ADD_TEST(suite, test_roles);
	CU_ADD_TEST(suite, test_bad_names);
	CU_ADD_TEST(suite, test_string_too_long);
	CU_ADD_TEST(suite, test_unknown_in_link);
	CU_ADD_TEST(suite, test_unknown_in_host);
	CU_ADD_TEST(suite, test_unknown_in_eal);
	CU_ADD_TEST(suite, test_unknown_in_device);
	CU_ADD_TEST(suite, test_server_devices);
	CU_ADD_TEST(suite, test_too_many_devices);
	CU_ADD_TEST(suite, test_client_checks);
	CU_ADD_TEST(suite, test_client_device_ok);
	CU_ADD_TEST(suite, test_bad_idle);
	CU_ADD_TEST(suite, test_too_many_vdevs);
	CU_ADD_TEST(suite, test_lookups);
	CU_ADD_TEST(suite, test_pci_device);
	CU_ADD_TEST(suite, test_pci_address_parse);
	CU_ADD_TEST(suite, test_profiles);
	CU_ADD_TEST(suite, test_file_dir);
	CU_ADD_TEST(suite, test_host_by_mac);
	CU_ADD_TEST(suite, test_mac_str);
	CU_ADD_TEST(suite, test_eal_argv_order);
	CU_ADD_TEST(suite, test_proxy_group);
	CU_ADD_TEST(suite, test_eal_override_lcores);
	CU_ADD_TEST(suite, test_eal_override_vdev);
	CU_ADD_TEST(suite, test_eal_tcp_vdev);
	CU_ADD_TEST(suite, test_eal_override_memory);
	CU_ADD_TEST(suite, test_eal_override_flags);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	return n ? 1 : 0;
}
