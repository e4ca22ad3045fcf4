/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-conf: check a deployment file, and print its hosts for scripts
 * (usertools/rpci-cluster).
 *
 *   rpci-conf --config FILE            check it: "FILE: ok" or "FILE:LINE - ..."
 *   rpci-conf --config FILE --hosts    one line per host:
 *       NAME ROLES MAC PORT IFACE FILE_PREFIX CONSOLE PROXY
 *     ROLES: comma-separated; IFACE: the iface= of an af_packet vdev, or "-";
 *     PROXY: a client host's proxy socket, or "-"
 *   rpci-conf --config FILE --mtu      the link's MTU (the veths' MTU)
 *   rpci-conf --config FILE --gen-keys          a key pair for each host that has none
 *   rpci-conf --config FILE --gen-key HOST      a key pair for HOST (if it has none)
 *     in the file's key directory (auth.dir): HOST.key (mode 0600) and HOST.pub
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "rpci_auth.h"
#include "rpci_conf.h"

static void
usage(const char *prog)
{
	printf("usage: %s --config FILE [--hosts | --mtu | --gen-keys | --gen-key HOST]\n", prog);
}

/* Make the key pair of one host (or of all, host NULL). 0, or 1 if one failed. */
static int
gen_keys(const struct rpci_conf *conf, const char *host)
{
	char err[512];
	unsigned int i;
	int rc = 0, ret;

	if (conf->auth.mode == RPCI_AUTH_NONE) {
		printf("%s: auth is \"none\": the keys are not used until it is \"keys\"\n",
		       conf->path);
	}
	if (host != NULL && rpci_conf_host_find(conf, host) == NULL) {
		fprintf(stderr, "%s - no host named '%s'\n", conf->path, host);
		return 1;
	}
	for (i = 0; i < conf->nb_hosts; i++) {
		const char *name = conf->hosts[i].name;

		if (host != NULL && strcmp(host, name) != 0) {
			continue;
		}
		ret = rpci_auth_keygen(conf->auth.key_dir, name, err, sizeof(err));
		if (ret == 0) {
			printf("%s: made %s/%s%s and %s%s\n", name, conf->auth.key_dir, name,
			       RPCI_AUTH_PRIVATE_SUFFIX, name, RPCI_AUTH_PUBLIC_SUFFIX);
		} else if (ret == -EEXIST) {
			printf("%s: has a key (%s/%s%s): kept\n", name, conf->auth.key_dir, name,
			       RPCI_AUTH_PRIVATE_SUFFIX);
		} else {
			fprintf(stderr, "%s: %s\n", name, err);
			rc = 1;
		}
	}
	return rc;
}

/* The iface= value of the host's first vdev that has one. */
static void
host_iface(const struct rpci_conf_host *h, char *out, size_t len)
{
	unsigned int i;

	snprintf(out, len, "-");
	for (i = 0; i < h->eal.nb_vdevs; i++) {
		const char *p = strstr(h->eal.vdevs[i], "iface=");
		size_t n;

		if (p == NULL) {
			continue;
		}
		p += strlen("iface=");
		n = strcspn(p, ",");
		if (n > 0 && n < len) {
			memcpy(out, p, n);
			out[n] = '\0';
		}
		return;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "hosts", no_argument, NULL, 'H' },
		{ "mtu", no_argument, NULL, 'M' },
		{ "gen-keys", no_argument, NULL, 'K' },
		{ "gen-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[RPCI_CONF_ERR_MAX];
	const char *path = NULL;
	struct rpci_conf *conf;
	bool hosts = false, mtu = false, keys = false;
	const char *key_host = NULL;
	unsigned int i;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:HMKk:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'H':
			hosts = true;
			break;
		case 'M':
			mtu = true;
			break;
		case 'K':
			keys = true;
			break;
		case 'k':
			keys = true;
			key_host = optarg;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (path == NULL || optind < argc || hosts + mtu + keys > 1) {
		usage(argv[0]);
		return 2;
	}
	conf = rpci_conf_load(path, err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (keys) {
		opt = gen_keys(conf, key_host);
		rpci_conf_free(conf);
		return opt;
	}
	if (mtu) {
		printf("%u\n", conf->link.mtu);
		rpci_conf_free(conf);
		return 0;
	}
	if (!hosts) {
		printf("%s: ok (%u hosts%s)\n", path, conf->nb_hosts,
		       conf->selector.present ? ", a selector" : "");
		rpci_conf_free(conf);
		return 0;
	}
	for (i = 0; i < conf->nb_hosts; i++) {
		const struct rpci_conf_host *h = &conf->hosts[i];
		char roles[64], mac[18], iface[64];

		snprintf(roles, sizeof(roles), "%s%s%s",
			 (h->roles & RPCI_ROLE_SERVER) ? "server," : "",
			 (h->roles & RPCI_ROLE_SELECTOR) ? "selector," : "",
			 (h->roles & RPCI_ROLE_CLIENT) ? "client," : "");
		roles[strlen(roles) - 1] = '\0'; /* at least one role: drop the last comma */
		host_iface(h, iface, sizeof(iface));
		printf("%s %s %s %u %s %s %s %s\n", h->name, roles,
		       rpci_conf_mac_str(h->mac, mac, sizeof(mac)), h->port, iface,
		       h->eal.file_prefix[0] ? h->eal.file_prefix : "-",
		       h->console[0] ? h->console : "-",
		       (h->roles & RPCI_ROLE_CLIENT) ? h->proxy.socket : "-");
	}
	rpci_conf_free(conf);
	return 0;
}
