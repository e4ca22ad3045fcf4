/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * lib/client and PCI itself: a server's host function opened as a plain
 * PCI function (configuration space and BARs, no queues), configuration
 * space access for any device, and the function-level reset (FLR) a
 * virtual GPU announces with a vendor-defined message, after which the
 * driver brings the device up again on the same session.
 *
 * A plain function's BAR registers hold the server host's addresses, and
 * the server's model emulates them: sizing them by writing all ones (as
 * firmware does) never reaches the function, so the bring-up may do it.
 */

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client_private.h"

#define CFG_SPACE 4096u
#define CFG_BAR0 0x10
#define CFG_HEADER_TYPE 0x0c
#define CFG_CAP_LIST 0x34
#define CAP_ID_EXP 0x10
#define RESET_WAIT_MS 2000

/* Size a BAR register (all ones, read, restore): the mask it reads back. */
static int
bar_mask(struct rpci_device *dev, uint16_t reg, uint32_t orig, uint32_t *mask)
{
	int ret = cl_cfg_write(dev, reg, 0xffffffff, 0xf);

	if (ret == 0) {
		ret = cl_cfg_read(dev, reg, mask);
	}
	if (ret == 0) {
		ret = cl_cfg_write(dev, reg, orig, 0xf);
	}
	return ret;
}

/* BAR i of a plain function; *upper set when it is 64-bit (the next register is its half). */
static int
bar_probe(struct rpci_device *dev, int i, bool *upper)
{
	struct cl_pci_bar *b = &dev->pci_bar[i];
	uint16_t reg = (uint16_t)(CFG_BAR0 + 4 * i);
	uint32_t orig, mask, hi = 0, hi_mask = 0;
	int ret;

	memset(b, 0, sizeof(*b));
	*upper = false;
	if ((ret = cl_cfg_read(dev, reg, &orig)) < 0 ||
	    (ret = bar_mask(dev, reg, orig, &mask)) < 0) {
		return ret;
	}
	if (mask == 0) {
		return 0; /* no such BAR */
	}
	if (orig & 1) {
		b->io = true;
		b->addr = orig & ~0x3u;
		b->size = (uint16_t)(~(mask & ~0x3u) + 1);
		return 0;
	}
	b->prefetchable = (orig & 0x8) != 0;
	if (((orig >> 1) & 3) == 2 && i < 5) {
		b->mem64 = true;
		*upper = true;
		if ((ret = cl_cfg_read(dev, reg + 4, &hi)) < 0 ||
		    (ret = bar_mask(dev, reg + 4, hi, &hi_mask)) < 0) {
			return ret;
		}
	} else {
		hi_mask = 0xffffffff; /* a 32-bit BAR: the size fits 32 bits */
	}
	b->addr = ((uint64_t)hi << 32) | (orig & ~0xfu);
	b->size = ~(((uint64_t)hi_mask << 32) | (mask & ~0xfu)) + 1;
	return 0;
}

int
cl_pci_bringup(struct rpci_device *dev)
{
	uint32_t v;
	bool upper = false;
	int i, ret;

	if ((ret = cl_cfg_read(dev, 0x00, &v)) < 0) {
		return ret;
	}
	if ((v & 0xffff) == 0xffff) {
		return cl_fail(-ENODEV, "no function at %04x", dev->completer_id);
	}
	dev->info.vendor_id = (uint16_t)v;
	dev->info.device_id = (uint16_t)(v >> 16);
	if ((ret = cl_cfg_read(dev, 0x08, &v)) < 0) {
		return ret;
	}
	dev->info.revision = (uint8_t)v;
	dev->info.class_code = v >> 8;
	if ((ret = cl_cfg_read(dev, CFG_HEADER_TYPE, &v)) < 0) {
		return ret;
	}
	if (((v >> 16) & 0x7f) != 0) {
		return cl_fail(-ENODEV, "function %04x is not an endpoint (header type %u)",
			       dev->completer_id, (v >> 16) & 0x7f);
	}
	if ((ret = cl_cfg_read(dev, 0x2c, &v)) < 0) {
		return ret;
	}
	dev->info.subsystem_vendor_id = (uint16_t)v;
	dev->info.subsystem_id = (uint16_t)(v >> 16);
	for (i = 0; i < 6; i++) {
		if (upper) {
			memset(&dev->pci_bar[i], 0, sizeof(dev->pci_bar[i]));
			upper = false;
			continue;
		}
		ret = bar_probe(dev, i, &upper);
		if (ret < 0) {
			return ret;
		}
	}
	snprintf(dev->info.backend, sizeof(dev->info.backend), "pci");
	/* its address on its host, as the deployment file gives it (the proxy told us) */
	snprintf(dev->info.device_name, sizeof(dev->info.device_name), "%s",
		 dev->pci_address[0] ? dev->pci_address : "pci");
	dev->info.memory_bytes = dev->info.memory_free = 0;
	dev->info.module_kinds = 0;
	return 0;
}

int
cl_pci_bar_range(struct rpci_device *dev, int bar, uint64_t offset, uint64_t size,
		 uint64_t *addr)
{
	const struct cl_pci_bar *b;

	if (bar < 0 || bar > 5 || dev->pci_bar[bar].size == 0 || dev->pci_bar[bar].io) {
		return cl_fail(-EINVAL, "%s has no memory BAR%d", dev->info.device_name, bar);
	}
	b = &dev->pci_bar[bar];
	if (offset > b->size || size > b->size - offset) {
		return cl_fail(-EINVAL, "[0x%" PRIx64 ", +%" PRIu64 ") is outside BAR%d (%" PRIu64
			       " bytes)", offset, size, bar, b->size);
	}
	*addr = b->addr + offset;
	return 0;
}

/* ------------------------------------------------------ function-level reset */

int
cl_pci_flr_recover(struct rpci_device *dev)
{
	char msg[256];
	int ret;

	/* The same session: the driver starts from reset, as the device did. */
	cl_device_reset_state(dev);
	ret = dev->plain ? cl_pci_bringup(dev) : cl_device_bringup(dev);
	if (ret < 0) {
		dev->lost = true;
		snprintf(msg, sizeof(msg), "%s", rpci_last_error());
		return cl_fail(ret, "the device on '%s' was reset and did not come up again: %s",
			       dev->info.server, msg);
	}
	return 0;
}

/* ----------------------------------------------------------------- the API */

/* A device that announced a reset is brought up before anything else. */
static int
settle(struct rpci_device *dev)
{
	if (dev->flr) {
		/* with a replay log, its state comes back too (client_log.c) */
		return dev->failover && dev->lease_id != 0 ? cl_failover(dev) :
			cl_pci_flr_recover(dev);
	}
	if (!cl_session_alive(dev)) {
		return cl_lost_error(dev);
	}
	return 0;
}

/* A configuration access's arguments checked, and the device settled. */
static int
cfg_begin(struct rpci_device *dev, const void *buf, uint32_t offset, uint32_t len,
	  const char *what)
{
	if (dev == NULL || buf == NULL || len == 0 || offset >= CFG_SPACE ||
	    len > CFG_SPACE - offset) {
		return cl_fail(-EINVAL, "bad configuration %s (%u bytes at 0x%x)", what, len,
			       offset);
	}
	return settle(dev);
}

static int
config_read_once(struct rpci_device *dev, uint32_t offset, void *buf, uint32_t len)
{
	uint8_t *out = buf;
	uint32_t dw, v, i;
	int ret = cfg_begin(dev, buf, offset, len, "read");

	if (ret < 0) {
		return ret;
	}
	for (dw = offset & ~3u; dw < offset + len; dw += 4) {
		ret = cl_cfg_read(dev, (uint16_t)dw, &v);
		if (ret < 0) {
			return ret;
		}
		v = htole32(v);
		for (i = 0; i < 4; i++) {
			if (dw + i >= offset && dw + i < offset + len) {
				out[dw + i - offset] = ((const uint8_t *)&v)[i];
			}
		}
	}
	return 0;
}

static int
config_write_once(struct rpci_device *dev, uint32_t offset, const void *buf, uint32_t len)
{
	const uint8_t *in = buf;
	uint32_t dw, i;
	int ret = cfg_begin(dev, buf, offset, len, "write");

	if (ret < 0) {
		return ret;
	}
	for (dw = offset & ~3u; dw < offset + len; dw += 4) {
		uint8_t bytes[4] = { 0 };
		uint8_t be = 0;
		uint32_t v;

		for (i = 0; i < 4; i++) {
			if (dw + i >= offset && dw + i < offset + len) {
				bytes[i] = in[dw + i - offset];
				be |= (uint8_t)(1u << i);
			}
		}
		memcpy(&v, bytes, 4);
		ret = cl_cfg_write(dev, (uint16_t)dw, le32toh(v), be);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

int
rpci_device_config_read(struct rpci_device *dev, uint32_t offset, void *buf, uint32_t len)
{
	return CL_RETRY(dev, config_read_once(dev, offset, buf, len));
}

int
rpci_device_config_write(struct rpci_device *dev, uint32_t offset, const void *buf, uint32_t len)
{
	return CL_RETRY(dev, config_write_once(dev, offset, buf, len));
}

bool
rpci_device_is_plain(const struct rpci_device *dev)
{
	return dev != NULL && dev->plain;
}

int
rpci_device_bar_info(const struct rpci_device *dev, int bar, struct rpci_bar_info *info)
{
	if (dev == NULL || info == NULL || bar < 0 || bar > 5) {
		return cl_fail(-EINVAL, "bad BAR query");
	}
	memset(info, 0, sizeof(*info));
	if (dev->plain) {
		info->addr = dev->pci_bar[bar].addr;
		info->size = dev->pci_bar[bar].size;
		info->io = dev->pci_bar[bar].io;
		info->mem64 = dev->pci_bar[bar].mem64;
		info->prefetchable = dev->pci_bar[bar].prefetchable;
	} else if (bar == 0) {
		info->addr = dev->bar0;
		info->size = dev->bar0_size;
	} else if (bar == 2) {
		info->addr = dev->bar2;
		info->size = dev->bar2_size;
		info->mem64 = true;
		info->prefetchable = true;
	}
	return 0;
}

/* The offset of a capability in the list, or 0. */
static int
cap_find(struct rpci_device *dev, uint8_t id, uint16_t *at)
{
	uint32_t v;
	uint8_t pos;
	int ret, hops;

	*at = 0;
	ret = cl_cfg_read(dev, CFG_CAP_LIST, &v);
	if (ret < 0) {
		return ret;
	}
	pos = (uint8_t)v & 0xfc;
	for (hops = 0; pos >= 0x40 && hops < 48; hops++) {
		ret = cl_cfg_read(dev, pos, &v);
		if (ret < 0) {
			return ret;
		}
		if ((v & 0xff) == id) {
			*at = pos;
			return 0;
		}
		pos = (uint8_t)(v >> 8) & 0xfc;
	}
	return 0;
}

int
rpci_device_reset(struct rpci_device *dev)
{
	struct cl_spin sp = { 0 };
	uint64_t deadline;
	uint16_t exp;
	uint32_t devcap;
	int ret;

	if (dev == NULL) {
		return cl_fail(-EINVAL, "no device");
	}
	if (dev->plain) {
		return cl_fail(-ENOTSUP, "%s is a PCI function its host drives: not reset from "
			       "here", dev->info.device_name);
	}
	ret = CL_RETRY(dev, settle(dev));
	if (ret < 0) {
		return ret;
	}
	if ((ret = cap_find(dev, CAP_ID_EXP, &exp)) < 0 ||
	    (exp != 0 && (ret = cl_cfg_read(dev, exp + 4, &devcap)) < 0)) {
		return ret;
	}
	if (exp == 0 || !(devcap & RPCI_VGPU_DEVCAP_FLR)) {
		return cl_fail(-ENOTSUP, "the device on '%s' has no function-level reset",
			       dev->info.server);
	}
	ret = cl_cfg_write(dev, exp + 8, RPCI_VGPU_DEVCTL_FLR, 0x2);
	if (ret < 0) {
		return ret;
	}
	/* The device announces the reset once done (a kernel running ends first). */
	deadline = cl_now_ns() + (RESET_WAIT_MS + (uint64_t)dev->client->ack.request_timeout_ms) *
		   1000000ull;
	while (!dev->flr) {
		if (cl_now_ns() > deadline) {
			return cl_fail(-ETIMEDOUT, "the device on '%s' did not announce its reset",
				       dev->info.server);
		}
		if (!cl_session_alive(dev)) {
			return cl_lost_error(dev);
		}
		ret = cl_turn(dev->client, &sp);
		if (ret < 0) {
			return ret;
		}
	}
	ret = cl_pci_flr_recover(dev);
	/* The program asked for an empty device: nothing is to come back on a failover. */
	cl_log_free(dev);
	return ret;
}
