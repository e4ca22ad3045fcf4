/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-lspci: the devices a client host can reach through rpci, shown as
 * lspci shows local ones: the PCI functions servers export (kind "pci")
 * and their virtual GPUs, read remotely (configuration space by CfgRd,
 * BAR sizes as the client library sized them).
 *
 *   rpci-lspci [--proxy SOCKET] [-s SERVER[/DEVICE]] [-v|-vv] [-x|-xxx|-xxxx]
 *              [-n|-nn] [-i IDS] [--backend NAME] [-b BAR:OFFSET:LENGTH]
 *   rpci-lspci [EAL args --] --config FILE --host NAME [the same options]
 *
 * A program of the host's rpci-proxy (no EAL, no root), or with --config,
 * one that owns the host's port (the proxy's core embedded). A deployment
 * without a selector: every device of every server (or those -s names),
 * each opened in turn. With a selector, a device is reached only through
 * it: rpci-lspci asks it for one device by the requirements given
 * (--backend pci for a PCI function).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_client.h"
#include "app_common.h"
#include "lspci_fmt.h"
#include "rpci_client.h"

#define CFG_CONVENTIONAL 256u
#define CFG_EXPRESS 4096u

struct lspci_opts {
	struct app_client ac; /* --proxy, or --config and --host */
	const char *select; /* -s SERVER[/DEVICE] or DEVICE */
	const char *ids_path;
	int verbose;
	int hex;
	enum lspci_numeric num;
	struct rpci_requirements req;
	bool have_req;
	bool bar_dump;     /* -b: dump a range of a BAR */
	int bar;
	uint64_t bar_off;
	uint64_t bar_len;
};

static void
usage(const char *prog)
{
	printf("usage: %s [--proxy SOCKET] [-s SERVER[/DEVICE]] [-v|-vv] [-x|-xxx|-xxxx] [-n|-nn]\n"
	       "           [-i IDS] [--backend NAME] [-b BAR:OFFSET:LENGTH]\n"
	       "       %s [EAL args --] --config FILE --host NAME [the same options]\n"
	       "  Lists the devices this client host reaches through rpci (the PCI functions\n"
	       "  servers export, and their virtual GPUs), or shows one as lspci does.\n"
	       APP_CLIENT_HELP
	       "  -s SERVER[/DEVICE]  only these (a device name alone: on any server)\n"
	       "  -v, -vv             details, capabilities decoded\n"
	       "  -x, -xxx, -xxxx     hex dump of 64, 256 or 4096 bytes of configuration space\n"
	       "  -n, -nn             numbers instead of names, or both\n"
	       "  -i IDS              the PCI ID database (default %s)\n"
	       "  --backend NAME      with a selector: the device to ask for (pci: a PCI\n"
	       "                      function)\n"
	       "  -b BAR:OFFSET:LENGTH  dump bytes of a BAR (at most 4096; the server's access\n"
	       "                      policy decides: a read outside it is refused)\n",
	       prog, prog, LSPCI_IDS_PATH);
}

/* "BAR:OFFSET:LENGTH" (numbers decimal or 0x hex). */
static int
parse_bar_range(const char *s, struct lspci_opts *o)
{
	char buf[64], *off, *len;
	unsigned long long v;

	snprintf(buf, sizeof(buf), "%s", s);
	off = strchr(buf, ':');
	len = off != NULL ? strchr(off + 1, ':') : NULL;
	if (off == NULL || len == NULL) {
		return -1;
	}
	*off++ = '\0';
	*len++ = '\0';
	if (app_parse_u64(buf, &v) < 0 || v > 5) {
		return -1;
	}
	o->bar = (int)v;
	if (app_parse_u64(off, &v) < 0) {
		return -1;
	}
	o->bar_off = v;
	if (app_parse_u64(len, &v) < 0 || v == 0 || v > 4096) {
		return -1;
	}
	o->bar_len = v;
	o->bar_dump = true;
	return 0;
}

static int
parse_args(int argc, char **argv, struct lspci_opts *o)
{
	static const struct option opts[] = {
		APP_CLIENT_LONG_OPTIONS,
		{ "backend", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	/* a command: no telemetry thread (nor its banner in the output) */
	app_client_init(&o->ac, "rpci-lspci", true);
	o->ids_path = LSPCI_IDS_PATH;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "s:vxni:b:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->select = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'x':
			o->hex++;
			break;
		case 'n':
			o->num = o->num == LSPCI_NAMES ? LSPCI_NUMBERS : LSPCI_BOTH;
			break;
		case 'i':
			o->ids_path = optarg;
			break;
		case 'b':
			if (parse_bar_range(optarg, o) < 0) {
				fprintf(stderr, "rpci-lspci: -b '%s' is not BAR:OFFSET:LENGTH "
					"(BAR 0..5, LENGTH 1..4096)\n", optarg);
				return -1;
			}
			break;
		case 'B':
			snprintf(o->req.backend, sizeof(o->req.backend), "%s", optarg);
			o->req.no_failover = true;
			o->have_req = true;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			if (app_client_option(&o->ac, opt, optarg) == 0) {
				break;
			}
			fprintf(stderr, "rpci-lspci: unknown or incomplete option '%s' "
				"(see --help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (app_client_check(&o->ac, argc, argv) < 0) {
		return -1;
	}
	if (o->verbose > 2) {
		o->verbose = 2;
	}
	if (o->hex > 4) {
		o->hex = 4;
	}
	return 0;
}

/* Size the expansion ROM register as firmware does (the server emulates it). */
static uint64_t
rom_size(struct rpci_device *dev)
{
	uint32_t orig, mask, ones = 0xffffffff;

	if (rpci_device_config_read(dev, 0x30, &orig, 4) < 0 ||
	    rpci_device_config_write(dev, 0x30, &ones, 4) < 0 ||
	    rpci_device_config_read(dev, 0x30, &mask, 4) < 0 ||
	    rpci_device_config_write(dev, 0x30, &orig, 4) < 0) {
		return 0;
	}
	mask &= 0xfffff800u;
	return mask == 0 ? 0 : (uint64_t)(~mask + 1);
}

/*
 * Read what the device shows: 64 bytes of configuration space, 256 with
 * details or -xxx, 4096 with -xxxx or an extended capability to decode
 * (where the function has more than 256 bytes: a conventional one answers
 * Unsupported Request past them).
 */
static int
read_function(struct rpci_device *dev, const struct lspci_opts *o, uint8_t *cfg,
	      struct lspci_func *f)
{
	size_t want = o->verbose > 0 || o->hex >= 3 ? CFG_CONVENTIONAL : 64;
	uint32_t ext = 0;
	int i, ret;

	memset(cfg, 0, CFG_EXPRESS);
	ret = rpci_device_config_read(dev, 0, cfg, (uint32_t)want);
	if (ret < 0) {
		return ret;
	}
	f->cfg = cfg;
	f->cfg_len = want;
	if ((o->hex >= 4 || o->verbose > 1) &&
	    rpci_device_config_read(dev, CFG_CONVENTIONAL, &ext, 4) == 0 &&
	    (o->hex >= 4 || (ext != 0 && ext != 0xffffffff))) {
		ret = rpci_device_config_read(dev, CFG_CONVENTIONAL, cfg + CFG_CONVENTIONAL,
					      CFG_EXPRESS - CFG_CONVENTIONAL);
		if (ret == 0) {
			f->cfg_len = CFG_EXPRESS;
		}
	}
	for (i = 0; i < 6; i++) {
		struct rpci_bar_info b;

		f->bar_size[i] = rpci_device_bar_info(dev, i, &b) == 0 ? b.size : 0;
	}
	if (o->verbose > 0) {
		f->rom_size = rom_size(dev);
	}
	return 0;
}

/* The slot a device is shown at: a PCI function's host address, else its fabric id. */
static void
device_slot(struct rpci_device *dev, const struct rpci_device_info *info, struct lspci_func *f)
{
	unsigned int domain, bus, slot, fn;

	if (rpci_device_is_plain(dev) &&
	    sscanf(info->device_name, "%x:%x:%x.%u", &domain, &bus, &slot, &fn) == 4) {
		f->domain = (uint16_t)domain;
		f->bus = (uint8_t)bus;
		f->dev = (uint8_t)slot;
		f->fn = (uint8_t)fn;
	} else {
		f->domain = 0;
		f->bus = (uint8_t)(info->completer_id >> 8);
		f->dev = (uint8_t)((info->completer_id >> 3) & 0x1f);
		f->fn = (uint8_t)(info->completer_id & 7);
	}
}

/* -b: bytes of a BAR, as a hex dump with their offsets in the BAR. */
static int
bar_dump(struct rpci_device *dev, const char *label, const struct lspci_opts *o)
{
	static uint8_t buf[4096];
	uint64_t i;
	int ret = rpci_bar_read(dev, o->bar, o->bar_off, buf, o->bar_len);

	if (ret < 0) {
		fprintf(stderr, "rpci-lspci: %s: BAR%d +0x%" PRIx64 ": %s\n", label, o->bar,
			o->bar_off, rpci_last_error());
		return ret;
	}
	for (i = 0; i < o->bar_len; i++) {
		if (i % 16 == 0) {
			printf("%s%08" PRIx64 ":", i ? "\n" : "", o->bar_off + i);
		}
		printf(" %02x", buf[i]);
	}
	printf("\n");
	return 0;
}

/* Show one open device; label: "SERVER/DEVICE" when several are listed, else NULL. */
static int
show_device(struct rpci_device *dev, const char *label, const struct lspci_ids *ids,
	    const struct lspci_opts *o)
{
	static uint8_t cfg[CFG_EXPRESS];
	struct rpci_device_info info;
	struct lspci_func f;
	int ret;

	memset(&f, 0, sizeof(f));
	ret = rpci_device_info(dev, &info);
	if (ret == 0) {
		ret = read_function(dev, o, cfg, &f);
	}
	if (ret < 0) {
		fprintf(stderr, "rpci-lspci: %s: %s\n", label != NULL ? label : info.server,
			rpci_last_error());
		return ret;
	}
	device_slot(dev, &info, &f);
	if (label != NULL) {
		printf(o->verbose || o->hex ? "# %s\n" : "%s  ", label);
	}
	lspci_show(stdout, ids, &f, o->verbose, o->hex, o->num);
	if (o->bar_dump) {
		return bar_dump(dev, label != NULL ? label : info.server, o);
	}
	return 0;
}

/* Whether -s (absent: everything) names server/device. */
static bool
selected(const char *sel, const char *server, const char *device)
{
	const char *slash;

	if (sel == NULL) {
		return true;
	}
	slash = strchr(sel, '/');
	if (slash == NULL) {
		return strcmp(sel, server) == 0 || strcmp(sel, device) == 0;
	}
	return strncmp(sel, server, (size_t)(slash - sel)) == 0 &&
	       server[slash - sel] == '\0' && strcmp(slash + 1, device) == 0;
}

/* Without a selector: every device of the deployment's servers that -s selects. */
static int
show_named(struct rpci_client *client, const struct rpci_device_entry *list, unsigned int nb,
	   const struct lspci_ids *ids, const struct lspci_opts *o)
{
	unsigned int i, shown = 0, failed = 0, matched = 0;
	char label[80];

	for (i = 0; i < nb; i++) {
		matched += selected(o->select, list[i].server, list[i].device);
	}
	if (matched == 0) {
		fprintf(stderr, "rpci-lspci: no device of the deployment is '%s'\n",
			o->select != NULL ? o->select : "");
		return 1;
	}
	for (i = 0; i < nb; i++) {
		struct rpci_device *dev;

		if (!selected(o->select, list[i].server, list[i].device)) {
			continue;
		}
		snprintf(label, sizeof(label), "%s/%s", list[i].server, list[i].device);
		dev = rpci_device_open(client, list[i].server, list[i].device);
		if (dev == NULL) {
			fprintf(stderr, "rpci-lspci: %s: %s\n", label, rpci_last_error());
			failed++;
			continue;
		}
		if (show_device(dev, matched > 1 ? label : NULL, ids, o) == 0) {
			shown++;
		} else {
			failed++;
		}
		rpci_device_close(dev);
	}
	return failed > 0 || shown == 0 ? 1 : 0;
}

/* With a selector: the device it gives for the requirements. */
static int
show_requested(struct rpci_client *client, const struct lspci_ids *ids,
	       const struct lspci_opts *o)
{
	struct rpci_device *dev;
	int ret;

	ret = rpci_device_request(client, &o->req, 1, &dev);
	if (ret < 0) {
		fprintf(stderr, "rpci-lspci: no device: %s\n", rpci_last_error());
		return 1;
	}
	ret = show_device(dev, NULL, ids, o);
	rpci_device_close(dev);
	return ret < 0 ? 1 : 0;
}

/* The deployment's devices, as the proxy knows them; NULL with a message on error. */
static struct rpci_device_entry *
devices_list(struct rpci_client *client, unsigned int *nb)
{
	struct rpci_device_entry *list;
	int n = rpci_client_devices(client, NULL, 0);

	if (n < 0) {
		fprintf(stderr, "rpci-lspci: %s\n", rpci_last_error());
		return NULL;
	}
	list = calloc((size_t)n + 1, sizeof(*list));
	if (list == NULL) {
		fprintf(stderr, "rpci-lspci: out of memory\n");
		return NULL;
	}
	n = rpci_client_devices(client, list, (unsigned int)n);
	if (n < 0) {
		fprintf(stderr, "rpci-lspci: %s\n", rpci_last_error());
		free(list);
		return NULL;
	}
	*nb = (unsigned int)n;
	return list;
}

int
main(int argc, char **argv)
{
	struct rpci_device_entry *list = NULL;
	struct rpci_client *client;
	struct lspci_ids *ids;
	struct app_args args;
	struct lspci_opts o;
	unsigned int nb = 0;
	int ret = 1;

	app_split_args(argc, argv, &args);
	if (parse_args(args.app_argc, args.app_argv, &o) < 0) {
		return 2;
	}
	if (app_client_load(&o.ac, &args) < 0) {
		return 2;
	}
	ids = lspci_ids_load(o.ids_path);
	if (ids == NULL && o.num != LSPCI_NUMBERS) {
		fprintf(stderr, "rpci-lspci: %s: %s (names shown as numbers; Debian's pci.ids "
			"package has it)\n", o.ids_path, strerror(errno));
	}
	client = app_client_open(&o.ac, &args);
	if (client == NULL) {
		goto close;
	}
	if (rpci_client_has_selector(client)) {
		if (!o.have_req && o.select == NULL) {
			fprintf(stderr, "rpci-lspci: the deployment has a selector: devices are "
				"reached through it; say which with --backend (pci for a PCI "
				"function)\n");
		}
		ret = show_requested(client, ids, &o);
	} else {
		list = devices_list(client, &nb);
		ret = list != NULL ? show_named(client, list, nb, ids, &o) : 1;
	}
	free(list);
close:
	app_client_close(&o.ac);
	lspci_ids_free(ids);
	return ret;
}
