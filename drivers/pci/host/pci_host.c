/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The host's PCI functions through libpciaccess: listing, configuration
 * reads, and the access ops of a function served to clients (pci_fn.c):
 * its configuration space, and its BARs mapped (only those a policy range
 * names, at their first access).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pciaccess.h>

#include "rpci_pci_host.h"

static __thread char g_err[160];

/*
 * libpciaccess has one global state that pci_system_cleanup() frees with
 * every device in it: the users of this file (a scan, served functions)
 * share it, counted. Used from one thread (the server's main thread).
 */
static unsigned int g_pci_users;

static int
pci_get(void)
{
	int ret;

	if (g_pci_users == 0) {
		ret = pci_system_init();
		if (ret != 0) {
			snprintf(g_err, sizeof(g_err), "cannot read the PCI bus: %s",
				 strerror(ret));
			return -EIO;
		}
	}
	g_pci_users++;
	return 0;
}

static void
pci_put(void)
{
	if (g_pci_users > 0 && --g_pci_users == 0) {
		pci_system_cleanup();
	}
}

const char *
rpci_pci_host_error(void)
{
	return g_err;
}

/* A function's description from libpciaccess (BAR sizes: probed). */
static void
func_fill(struct rpci_pci_host_func *f, struct pci_device *d)
{
	int i;

	memset(f, 0, sizeof(*f));
	/* Fills BAR sizes; unprivileged it may fail, the ids stay. */
	pci_device_probe(d);
	f->domain = (uint16_t)d->domain;
	f->bus = d->bus;
	f->dev = d->dev;
	f->func = d->func;
	f->vendor_id = d->vendor_id;
	f->device_id = d->device_id;
	f->subsystem_vendor_id = d->subvendor_id;
	f->subsystem_id = d->subdevice_id;
	f->class_code = d->device_class & 0xffffff;
	f->revision = d->revision;
	for (i = 0; i < 6; i++) {
		f->bar_size[i] = d->regions[i].size;
	}
	f->rom_size = d->rom_size;
}

int
rpci_pci_host_scan(struct rpci_pci_host_func *funcs, unsigned int max, unsigned int *nb)
{
	struct pci_device_iterator *it;
	struct pci_device *d;
	unsigned int n = 0;
	int ret;

	if (nb == NULL || (funcs == NULL && max > 0)) {
		snprintf(g_err, sizeof(g_err), "bad arguments");
		return -EINVAL;
	}
	ret = pci_get();
	if (ret < 0) {
		return ret;
	}
	it = pci_slot_match_iterator_create(NULL);
	if (it == NULL) {
		pci_put();
		snprintf(g_err, sizeof(g_err), "cannot iterate the PCI bus");
		return -EIO;
	}
	while ((d = pci_device_next(it)) != NULL) {
		if (n < max) {
			struct rpci_pci_host_func *f = &funcs[n];

			func_fill(f, d);
		}
		n++;
	}
	pci_iterator_destroy(it);
	pci_put();
	*nb = n;
	return 0;
}

int
rpci_pci_host_cfg_read(const struct rpci_pci_host_func *f, uint16_t offset, uint32_t *value)
{
	struct pci_device *d;
	uint32_t v;
	int ret;

	if (f == NULL || value == NULL || (offset & 3) != 0 || offset >= 4096) {
		snprintf(g_err, sizeof(g_err), "bad configuration read arguments");
		return -EINVAL;
	}
	ret = pci_get();
	if (ret < 0) {
		return ret;
	}
	d = pci_device_find_by_slot(f->domain, f->bus, f->dev, f->func);
	if (d == NULL) {
		pci_put();
		snprintf(g_err, sizeof(g_err), "%04x:%02x:%02x.%u is gone", f->domain, f->bus,
			 f->dev, f->func);
		return -ENODEV;
	}
	ret = pci_device_cfg_read_u32(d, &v, offset);
	pci_put();
	if (ret != 0) {
		snprintf(g_err, sizeof(g_err), "configuration read of 0x%x failed: %s", offset,
			 strerror(ret));
		return -EIO;
	}
	*value = v;
	return 0;
}

/* ------------------------------------------------- a served function's ops */

/* A function served through libpciaccess. */
struct host_ctx {
	struct pci_device *d;
	uint8_t writable;     /* BARs a bar-rw range names: mapped writable */
	uint8_t mapped_bars;  /* BARs with a mapping */
	void *map[6];
};

static int
host_cfg_read(void *ctx, uint16_t offset, uint32_t *value)
{
	struct host_ctx *h = ctx;

	return pci_device_cfg_read_u32(h->d, value, offset) == 0 ? 0 : -EIO;
}

/* Only the enabled bytes are written: a read-modify-write would write RW1C bits back. */
static int
host_cfg_write(void *ctx, uint16_t offset, uint32_t value, uint8_t be)
{
	struct host_ctx *h = ctx;
	int i, ret = 0;

	if (be == 0xf) {
		return pci_device_cfg_write_u32(h->d, value, offset) == 0 ? 0 : -EIO;
	}
	if (be == 0x3 || be == 0xc) {
		return pci_device_cfg_write_u16(h->d, (uint16_t)(be == 0x3 ? value : value >> 16),
						offset + (be == 0x3 ? 0 : 2)) == 0 ? 0 : -EIO;
	}
	for (i = 0; i < 4 && ret == 0; i++) {
		if (be & (1u << i)) {
			ret = pci_device_cfg_write_u8(h->d, (uint8_t)(value >> (8 * i)),
						      offset + i);
		}
	}
	return ret == 0 ? 0 : -EIO;
}

/* The mapping of a BAR, made at its first access. */
static volatile uint8_t *
host_bar_map(struct host_ctx *h, int bar)
{
	const struct pci_mem_region *r = &h->d->regions[bar];
	unsigned int flags = (h->writable & (1u << bar)) ? PCI_DEV_MAP_FLAG_WRITABLE : 0;
	int ret;

	if (h->mapped_bars & (1u << bar)) {
		return h->map[bar];
	}
	ret = pci_device_map_range(h->d, r->base_addr, r->size, flags, &h->map[bar]);
	if (ret != 0) {
		snprintf(g_err, sizeof(g_err), "cannot map BAR%d: %s", bar, strerror(ret));
		return NULL;
	}
	h->mapped_bars |= 1u << bar;
	return h->map[bar];
}

/* Device memory is read and written in the widest naturally aligned units. */
static int
host_bar_read(void *ctx, int bar, uint64_t offset, void *dst, uint32_t len)
{
	volatile uint8_t *p = host_bar_map(ctx, bar);
	uint8_t *out = dst;
	uint32_t i;

	if (p == NULL) {
		return -EIO;
	}
	p += offset;
	if (offset % 4 == 0 && len % 4 == 0) {
		for (i = 0; i < len; i += 4) {
			uint32_t v = *(volatile uint32_t *)(p + i);

			memcpy(out + i, &v, 4);
		}
	} else if (offset % 2 == 0 && len % 2 == 0) {
		for (i = 0; i < len; i += 2) {
			uint16_t v = *(volatile uint16_t *)(p + i);

			memcpy(out + i, &v, 2);
		}
	} else {
		for (i = 0; i < len; i++) {
			out[i] = p[i];
		}
	}
	return 0;
}

static int
host_bar_write(void *ctx, int bar, uint64_t offset, const void *src, uint32_t len)
{
	volatile uint8_t *p = host_bar_map(ctx, bar);
	const uint8_t *in = src;
	uint32_t i;

	if (p == NULL) {
		return -EIO;
	}
	p += offset;
	if (offset % 4 == 0 && len % 4 == 0) {
		for (i = 0; i < len; i += 4) {
			uint32_t v;

			memcpy(&v, in + i, 4);
			*(volatile uint32_t *)(p + i) = v;
		}
	} else if (offset % 2 == 0 && len % 2 == 0) {
		for (i = 0; i < len; i += 2) {
			uint16_t v;

			memcpy(&v, in + i, 2);
			*(volatile uint16_t *)(p + i) = v;
		}
	} else {
		for (i = 0; i < len; i++) {
			p[i] = in[i];
		}
	}
	return 0;
}

static void
host_close(void *ctx)
{
	struct host_ctx *h = ctx;
	int i;

	for (i = 0; i < 6; i++) {
		if (h->mapped_bars & (1u << i)) {
			pci_device_unmap_range(h->d, h->map[i], h->d->regions[i].size);
		}
	}
	free(h);
	pci_put();
}

static const struct rpci_pci_access_ops g_host_ops = {
	.cfg_read = host_cfg_read,
	.cfg_write = host_cfg_write,
	.bar_read = host_bar_read,
	.bar_write = host_bar_write,
	.close = host_close,
};

struct rpci_pci_fn *
rpci_pci_fn_open(uint16_t domain, uint8_t bus, uint8_t dev, uint8_t func,
		 const struct rpci_pci_policy *policy, const char *name, uint16_t completer_id)
{
	struct rpci_pci_fn_params p;
	struct rpci_pci_fn *fn;
	struct host_ctx *h;
	unsigned int i;
	int ret;

	if (policy == NULL) {
		errno = EINVAL;
		return NULL;
	}
	ret = pci_get();
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		pci_put();
		errno = ENOMEM;
		return NULL;
	}
	h->d = pci_device_find_by_slot(domain, bus, dev, func);
	if (h->d == NULL) {
		snprintf(g_err, sizeof(g_err), "no PCI function %04x:%02x:%02x.%u on this host",
			 domain, bus, dev, func);
		free(h);
		pci_put();
		errno = ENODEV;
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.policy = *policy;
	p.ops = &g_host_ops;
	p.ctx = h;
	p.completer_id = completer_id;
	func_fill(&p.func, h->d);
	for (i = 0; i < policy->nb_ranges && i < RPCI_PCI_POLICY_RANGES_MAX; i++) {
		if (policy->ranges[i].write && policy->ranges[i].bar < 6) {
			h->writable |= 1u << policy->ranges[i].bar;
		}
	}
	fn = rpci_pci_fn_create(&p); /* closes h on failure */
	if (fn == NULL && errno == EINVAL) {
		snprintf(g_err, sizeof(g_err), "the access policy names a range outside the "
			 "function's memory BARs, or the function is not an endpoint");
	}
	return fn;
}
