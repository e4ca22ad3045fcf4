/* SPDX-License-Identifier: BSD-3-Clause */

/* The host's PCI functions through libpciaccess. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <pciaccess.h>

#include "rpci_pci_host.h"

static __thread char g_err[160];

const char *
rpci_pci_host_error(void)
{
	return g_err;
}

int
rpci_pci_host_scan(struct rpci_pci_host_func *funcs, unsigned int max, unsigned int *nb)
{
	struct pci_device_iterator *it;
	struct pci_device *d;
	unsigned int n = 0;
	int ret, i;

	if (nb == NULL || (funcs == NULL && max > 0)) {
		snprintf(g_err, sizeof(g_err), "bad arguments");
		return -EINVAL;
	}
	ret = pci_system_init();
	if (ret != 0) {
		snprintf(g_err, sizeof(g_err), "cannot read the PCI bus: %s", strerror(ret));
		return -EIO;
	}
	it = pci_slot_match_iterator_create(NULL);
	if (it == NULL) {
		pci_system_cleanup();
		snprintf(g_err, sizeof(g_err), "cannot iterate the PCI bus");
		return -EIO;
	}
	while ((d = pci_device_next(it)) != NULL) {
		if (n < max) {
			struct rpci_pci_host_func *f = &funcs[n];

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
		}
		n++;
	}
	pci_iterator_destroy(it);
	pci_system_cleanup();
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
	ret = pci_system_init();
	if (ret != 0) {
		snprintf(g_err, sizeof(g_err), "cannot read the PCI bus: %s", strerror(ret));
		return -EIO;
	}
	d = pci_device_find_by_slot(f->domain, f->bus, f->dev, f->func);
	if (d == NULL) {
		pci_system_cleanup();
		snprintf(g_err, sizeof(g_err), "%04x:%02x:%02x.%u is gone", f->domain, f->bus,
			 f->dev, f->func);
		return -ENODEV;
	}
	ret = pci_device_cfg_read_u32(d, &v, offset);
	pci_system_cleanup();
	if (ret != 0) {
		snprintf(g_err, sizeof(g_err), "configuration read of 0x%x failed: %s", offset,
			 strerror(ret));
		return -EIO;
	}
	*value = v;
	return 0;
}
