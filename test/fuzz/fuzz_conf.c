/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Fuzz harness of the deployment file loader (lib/conf).
 *
 * The input is the text of a file, given to rpci_conf_load_string() up to
 * its first NUL. A refused file must give EINVAL (or ENOMEM) and a message
 * "fuzz.cfg:N - ..." or "fuzz.cfg - ...", the same, cut short, in a small
 * buffer. A loaded file must hold what the loader promises (unique names,
 * unicast MACs, servers with devices, clients whose server and device
 * exist), and every host's EAL argument vector, with and without user
 * arguments, must be laid out as documented; everything is freed.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "rpci_conf.h"
#include "fuzz.h"

/* Name given to the loader: every message starts with it. */
#define CONF_NAME "fuzz.cfg"
/* A buffer too small for most messages: they are cut, never overrun. */
#define SMALL_ERR 12
#define PROG "rpci-fuzz"

/* User EAL arguments: replace the file's -l, --no-huge and vdevs, not its -m (after --). */
static char *const g_user_argv[] = {
	"-l", "7", "--vdev=net_null0", "--no-huge", "--log-level", "lib.eal:debug", "--",
	"-m", "64",
};
#define USER_ARGC ((int)(sizeof(g_user_argv) / sizeof(g_user_argv[0])))

/* "fuzz.cfg:N - what" or "fuzz.cfg - what". */
static bool
err_format_ok(const char *err)
{
	const char *p = err + strlen(CONF_NAME);

	if (strncmp(err, CONF_NAME, strlen(CONF_NAME)) != 0) {
		return false;
	}
	if (*p == ':') {
		p++;
		if (*p < '0' || *p > '9') {
			return false;
		}
		while (*p >= '0' && *p <= '9') {
			p++;
		}
	}
	return strncmp(p, " - ", 3) == 0 && p[3] != '\0';
}

static bool
name_ok(const char *name)
{
	size_t n = strnlen(name, RPCI_CONF_NAME_MAX);

	return n > 0 && n < RPCI_CONF_NAME_MAX;
}

/* The host's EAL vector, with and without user arguments. */
static void
check_eal_argv(const struct rpci_conf_host *host)
{
	const struct rpci_conf_eal *eal = &host->eal;
	const char *vdevs[RPCI_CONF_VDEVS_MAX];
	int argc, expect, i, opt;
	char **argv;
	unsigned int k, nb_vdevs = 0;

	/* net_rpci_tcp... entries are rpci's kernel-TCP ports: not EAL's */
	for (k = 0; k < eal->nb_vdevs; k++) {
		if (!rpci_conf_vdev_is_tcp(eal->vdevs[k])) {
			vdevs[nb_vdevs++] = eal->vdevs[k];
		}
	}

	/* Optional arguments: -m N, --no-huge, --no-pci, --file-prefix F, --log-level L. */
	opt = (eal->memory_mb > 0 ? 2 : 0) + (eal->no_pci ? 1 : 0) +
	      (eal->file_prefix[0] != '\0' ? 2 : 0) + (eal->log_level[0] != '\0' ? 2 : 0);

	argc = -1;
	argv = rpci_conf_eal_argv(host, PROG, 0, NULL, &argc);
	FUZZ_CHECK(argv != NULL);
	expect = 3 + opt + (eal->no_huge ? 1 : 0) + 2 * (int)nb_vdevs + (int)eal->nb_extra;
	FUZZ_CHECK(argc == expect);
	for (i = 0; i < argc; i++) {
		FUZZ_CHECK(argv[i] != NULL);
	}
	FUZZ_CHECK(argv[argc] == NULL);
	FUZZ_CHECK(strcmp(argv[0], PROG) == 0 && strcmp(argv[1], "-l") == 0);
	FUZZ_CHECK(strcmp(argv[2], eal->lcores) == 0);
	for (k = 0; k < nb_vdevs; k++) {
		i = argc - (int)eal->nb_extra - 2 * (int)(nb_vdevs - k);
		FUZZ_CHECK(strcmp(argv[i], "--vdev") == 0);
		FUZZ_CHECK(strcmp(argv[i + 1], vdevs[k]) == 0);
	}
	for (k = 0; k < eal->nb_extra; k++) {
		FUZZ_CHECK(strcmp(argv[argc - (int)eal->nb_extra + (int)k], eal->extra[k]) == 0);
	}
	rpci_conf_eal_argv_free(argv);

	/* The user's arguments come last and replace the file's -l, --no-huge, vdevs. */
	argc = -1;
	argv = rpci_conf_eal_argv(host, PROG, USER_ARGC, g_user_argv, &argc);
	FUZZ_CHECK(argv != NULL);
	FUZZ_CHECK(argc == 1 + opt + (int)eal->nb_extra + USER_ARGC);
	FUZZ_CHECK(argv[argc] == NULL && strcmp(argv[0], PROG) == 0);
	for (i = 0; i < USER_ARGC; i++) {
		FUZZ_CHECK(strcmp(argv[argc - USER_ARGC + i], g_user_argv[i]) == 0);
	}
	rpci_conf_eal_argv_free(argv);

	errno = 0;
	FUZZ_CHECK(rpci_conf_eal_argv(host, PROG, -1, NULL, &argc) == NULL && errno == EINVAL);
}

static void
check_devices(const struct rpci_conf *conf, const struct rpci_conf_host *host)
{
	const struct rpci_conf_device *dev;
	unsigned int j, k;

	if (!(host->roles & RPCI_ROLE_SERVER)) {
		FUZZ_CHECK(host->nb_devices == 0);
		FUZZ_CHECK(rpci_conf_device_find(host, NULL) == NULL);
		return;
	}
	FUZZ_CHECK(host->nb_devices >= 1 && host->nb_devices <= RPCI_CONF_DEVICES_MAX);
	FUZZ_CHECK(rpci_conf_device_find(host, NULL) == &host->devices[0]);
	FUZZ_CHECK(rpci_conf_device_find(host, "") == &host->devices[0]);
	for (j = 0; j < host->nb_devices; j++) {
		dev = &host->devices[j];
		FUZZ_CHECK(name_ok(dev->name));
		FUZZ_CHECK(rpci_conf_device_find(host, dev->name) == dev);
		FUZZ_CHECK(rpci_conf_device_index(host, dev) == (int)j);
		if (dev->kind == RPCI_CONF_DEV_PCI) {
			/* a host function: an address, at most the rules' room, each in range */
			FUZZ_CHECK(dev->pci_dev <= 0x1f && dev->pci_func <= 7);
			FUZZ_CHECK(dev->nb_rules <= RPCI_CONF_PCI_RULES_MAX);
			for (k = 0; k < dev->nb_rules; k++) {
				FUZZ_CHECK(dev->rules[k].allow <= RPCI_CONF_PCI_BAR_RW);
				FUZZ_CHECK(dev->rules[k].allow < RPCI_CONF_PCI_BAR_READ ||
					   (dev->rules[k].bar <= 5 && dev->rules[k].size > 0));
			}
			continue;
		}
		FUZZ_CHECK(dev->kind == RPCI_CONF_DEV_VGPU && name_ok(dev->backend));
		FUZZ_CHECK(dev->bar0_size >= (64u << 10) &&
			   (dev->bar0_size & (dev->bar0_size - 1)) == 0);
		FUZZ_CHECK(dev->bar2_size >= dev->memory_bytes &&
			   (dev->bar2_size & (dev->bar2_size - 1)) == 0);
		FUZZ_CHECK(dev->profile[0] == '\0' ||
			   rpci_conf_profile_find(conf, dev->profile) != NULL);
		FUZZ_CHECK(dev->memory_bytes >= (1ull << 20));
		FUZZ_CHECK(dev->memory_bytes <= (65536ull << 20));
		FUZZ_CHECK(dev->vendor_id != 0xFFFF && dev->class_code <= 0xFFFFFF);
		FUZZ_CHECK(dev->threads >= 1 && dev->threads <= 64);
		FUZZ_CHECK(dev->slowdown >= 1.0 && dev->slowdown <= 1000.0);
	}
}

/* What a loaded file promises. */
static void
check_conf(const struct rpci_conf *conf)
{
	const struct rpci_conf_host *host, *srv;
	unsigned int i, j;

	FUZZ_CHECK(strcmp(conf->path, CONF_NAME) == 0);
	FUZZ_CHECK(conf->link.mtu >= 576 && conf->link.mtu <= 9600);
	FUZZ_CHECK(conf->link.max_payload % 64 == 0 && conf->link.max_payload <= 4096);
	FUZZ_CHECK(conf->link.dead_ms > conf->link.keepalive_ms);
	FUZZ_CHECK(conf->link.ethertype >= 0x0600);
	FUZZ_CHECK(conf->nb_hosts >= 1 && conf->nb_hosts <= RPCI_CONF_HOSTS_MAX);
	for (i = 0; i < conf->nb_hosts; i++) {
		host = &conf->hosts[i];
		FUZZ_CHECK(name_ok(host->name));
		FUZZ_CHECK(rpci_conf_host_find(conf, host->name) == host);
		FUZZ_CHECK(host->roles != 0 && (host->roles & ~7u) == 0);
		FUZZ_CHECK((host->mac[0] & 1) == 0);
		FUZZ_CHECK((host->mac[0] | host->mac[1] | host->mac[2] | host->mac[3] |
			    host->mac[4] | host->mac[5]) != 0);
		for (j = 0; j < i; j++) {
			FUZZ_CHECK(memcmp(conf->hosts[j].mac, host->mac, sizeof(host->mac)) != 0);
		}
		FUZZ_CHECK(host->port <= 1023);
		FUZZ_CHECK(host->idle == RPCI_IDLE_POLL || host->idle == RPCI_IDLE_ADAPTIVE);
		FUZZ_CHECK(host->eal.lcores[0] != '\0');
		FUZZ_CHECK(host->eal.nb_vdevs <= RPCI_CONF_VDEVS_MAX);
		FUZZ_CHECK(host->eal.nb_extra <= RPCI_CONF_EXTRA_MAX);
		check_devices(conf, host);
		if (host->roles & RPCI_ROLE_CLIENT) {
			srv = rpci_conf_host_find(conf, host->server);
			FUZZ_CHECK(srv != NULL && (srv->roles & RPCI_ROLE_SERVER));
			if (host->device[0] != '\0') {
				FUZZ_CHECK(rpci_conf_device_find(srv, host->device) != NULL);
			}
		} else {
			FUZZ_CHECK(host->server[0] == '\0' && host->device[0] == '\0');
		}
		check_eal_argv(host);
	}
	FUZZ_CHECK(rpci_conf_host_find(conf, "") == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[RPCI_CONF_ERR_MAX], small[SMALL_ERR];
	struct rpci_conf *conf, *conf2;
	size_t n;
	char *text;
	int e;

	text = malloc(size + 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';

	memset(err, 'x', sizeof(err));
	errno = 0;
	conf = rpci_conf_load_string(text, CONF_NAME, err, sizeof(err));
	e = errno;
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (conf == NULL) {
		FUZZ_CHECK(e == EINVAL || e == ENOMEM);
		FUZZ_CHECK(err_format_ok(err));
	} else {
		FUZZ_CHECK(e == 0 && err[0] == '\0');
		check_conf(conf);
	}

	/* The same with a small buffer: the same outcome, the message cut short. */
	memset(small, 'x', sizeof(small));
	conf2 = rpci_conf_load_string(text, CONF_NAME, small, sizeof(small));
	FUZZ_CHECK((conf2 == NULL) == (conf == NULL));
	FUZZ_CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	n = strlen(small);
	FUZZ_CHECK(n == strnlen(err, sizeof(small) - 1) && memcmp(small, err, n) == 0);

	rpci_conf_free(conf2);
	rpci_conf_free(conf);
	free(text);
	return 0;
}
