/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * drivers/pci/host against the kernel's own view of the PCI bus
 * (/sys/bus/pci/devices): the same functions, the same identities; and the
 * model that serves a function (pci_fn.c) against a test double of the
 * access layer: the policy checks, the emulated BAR registers, byte
 * enables. The host's own functions are only read (configuration space):
 * on a VM they are the virtio devices the kernel uses.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <rte_common.h>

#include "rpci_pci_host.h"

#define FUNCS_MAX 512
#define SYSFS "/sys/bus/pci/devices"

static struct rpci_pci_host_func g_funcs[FUNCS_MAX];
static unsigned int g_nb;
static int g_scan_ret;

static int
sysfs_count(void)
{
	DIR *d = opendir(SYSFS);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n;
}

static long
sysfs_hex(const struct rpci_pci_host_func *f, const char *attr)
{
	char path[256];
	FILE *fp;
	long v = -1;

	snprintf(path, sizeof(path), SYSFS "/%04x:%02x:%02x.%u/%s", f->domain, f->bus, f->dev,
		 f->func, attr);
	fp = fopen(path, "r");
	if (fp == NULL) {
		return -1;
	}
	if (fscanf(fp, "%lx", &v) != 1) {
		v = -1;
	}
	fclose(fp);
	return v;
}

static void
test_scan_matches_sysfs(void)
{
	int n = sysfs_count();
	unsigned int i;

	if (n < 0) {
		/* No PCI bus here: then the scan finds none either (or fails). */
		CU_ASSERT(g_scan_ret == -EIO || g_nb == 0);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(g_scan_ret, 0);
	CU_ASSERT_EQUAL(g_nb, (unsigned int)n);
	for (i = 0; i < g_nb && i < FUNCS_MAX; i++) {
		const struct rpci_pci_host_func *f = &g_funcs[i];

		CU_ASSERT_EQUAL(sysfs_hex(f, "vendor"), f->vendor_id);
		CU_ASSERT_EQUAL(sysfs_hex(f, "device"), f->device_id);
		CU_ASSERT_EQUAL(sysfs_hex(f, "class"), f->class_code);
		CU_ASSERT_EQUAL(sysfs_hex(f, "subsystem_vendor"), f->subsystem_vendor_id);
		CU_ASSERT_EQUAL(sysfs_hex(f, "subsystem_device"), f->subsystem_id);
	}
}

static void
test_cfg_read(void)
{
	unsigned int i;
	uint32_t v;

	for (i = 0; i < g_nb && i < FUNCS_MAX; i++) {
		const struct rpci_pci_host_func *f = &g_funcs[i];

		CU_ASSERT_EQUAL_FATAL(rpci_pci_host_cfg_read(f, 0, &v), 0);
		CU_ASSERT_EQUAL(v & 0xffff, f->vendor_id);
		CU_ASSERT_EQUAL(v >> 16, f->device_id);
		CU_ASSERT_EQUAL_FATAL(rpci_pci_host_cfg_read(f, 8, &v), 0);
		CU_ASSERT_EQUAL(v >> 8, f->class_code);
		CU_ASSERT_EQUAL(v & 0xff, f->revision);
	}
	if (g_nb > 0) {
		CU_ASSERT_EQUAL(rpci_pci_host_cfg_read(&g_funcs[0], 2, &v), -EINVAL);
		CU_ASSERT_EQUAL(rpci_pci_host_cfg_read(&g_funcs[0], 4096, &v), -EINVAL);
		CU_ASSERT_EQUAL(rpci_pci_host_cfg_read(NULL, 0, &v), -EINVAL);
	}
}

static void
test_gone_function(void)
{
	struct rpci_pci_host_func f;
	uint32_t v;

	if (g_scan_ret != 0) {
		return;
	}
	memset(&f, 0, sizeof(f));
	f.domain = 0x7fff; /* no such domain */
	f.bus = 0xfe;
	f.dev = 0x1f;
	f.func = 7;
	CU_ASSERT_EQUAL(rpci_pci_host_cfg_read(&f, 0, &v), -ENODEV);
	CU_ASSERT(strlen(rpci_pci_host_error()) > 0);
}

static void
test_small_array(void)
{
	struct rpci_pci_host_func one[1];
	unsigned int nb = 0;

	if (g_scan_ret != 0 || g_nb == 0) {
		return;
	}
	CU_ASSERT_EQUAL(rpci_pci_host_scan(one, 1, &nb), 0);
	CU_ASSERT_EQUAL(nb, g_nb); /* counts all, fills what fits */
	CU_ASSERT_EQUAL(one[0].vendor_id, g_funcs[0].vendor_id);
	CU_ASSERT_EQUAL(rpci_pci_host_scan(NULL, 0, &nb), 0);
	CU_ASSERT_EQUAL(nb, g_nb);
	CU_ASSERT_EQUAL(rpci_pci_host_scan(one, 1, NULL), -EINVAL);
}

/* ------------------------------------------- the model, on a test double */

#define DBL_BAR0 0x4000100000ull /* 64-bit memory BAR, 16 KiB */
#define DBL_BAR0_SIZE 0x4000u
#define DBL_BAR2 0xfe000000u     /* 32-bit memory BAR, 4 KiB */
#define DBL_BAR2_SIZE 0x1000u
#define DBL_IO 0xc000u           /* BAR4: I/O ports, 32 bytes */

/* A function: 256 bytes of configuration space, two memory BARs, an I/O BAR. */
struct dbl {
	uint8_t cfg[256];
	uint8_t bar0[DBL_BAR0_SIZE];
	uint8_t bar2[DBL_BAR2_SIZE];
	unsigned int cfg_writes;
	uint16_t last_write_off;
	uint8_t last_write_be;
	unsigned int bar_reads;
	unsigned int bar_writes;
	bool closed;
};

static struct dbl g_dbl;

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static int
dbl_cfg_read(void *ctx, uint16_t off, uint32_t *v)
{
	struct dbl *d = ctx;

	if (off >= sizeof(d->cfg)) {
		return -EIO; /* a conventional function: 256 bytes */
	}
	memcpy(v, d->cfg + off, 4);
	return 0;
}

static int
dbl_cfg_write(void *ctx, uint16_t off, uint32_t v, uint8_t be)
{
	struct dbl *d = ctx;
	int i;

	if (off >= sizeof(d->cfg)) {
		return -EIO;
	}
	for (i = 0; i < 4; i++) {
		if (be & (1u << i)) {
			d->cfg[off + i] = (uint8_t)(v >> (8 * i));
		}
	}
	d->cfg_writes++;
	d->last_write_off = off;
	d->last_write_be = be;
	return 0;
}

static uint8_t *
dbl_bar(struct dbl *d, int bar, uint64_t off, uint32_t len)
{
	if (bar == 0 && off + len <= DBL_BAR0_SIZE) {
		return d->bar0 + off;
	}
	if (bar == 2 && off + len <= DBL_BAR2_SIZE) {
		return d->bar2 + off;
	}
	return NULL;
}

static int
dbl_bar_read(void *ctx, int bar, uint64_t off, void *dst, uint32_t len)
{
	struct dbl *d = ctx;
	uint8_t *p = dbl_bar(d, bar, off, len);

	CU_ASSERT_PTR_NOT_NULL(p); /* the model only asks inside a BAR */
	if (p == NULL) {
		return -EIO;
	}
	memcpy(dst, p, len);
	d->bar_reads++;
	return 0;
}

static int
dbl_bar_write(void *ctx, int bar, uint64_t off, const void *src, uint32_t len)
{
	struct dbl *d = ctx;
	uint8_t *p = dbl_bar(d, bar, off, len);

	CU_ASSERT_PTR_NOT_NULL(p);
	if (p == NULL) {
		return -EIO;
	}
	memcpy(p, src, len);
	d->bar_writes++;
	return 0;
}

static void
dbl_close(void *ctx)
{
	((struct dbl *)ctx)->closed = true;
}

static const struct rpci_pci_access_ops g_dbl_ops = {
	.cfg_read = dbl_cfg_read,
	.cfg_write = dbl_cfg_write,
	.bar_read = dbl_bar_read,
	.bar_write = dbl_bar_write,
	.close = dbl_close,
};

static void
dbl_reset(void)
{
	unsigned int i;

	memset(&g_dbl, 0, sizeof(g_dbl));
	put32(g_dbl.cfg + 0x00, 0x10411af4);                     /* vendor, device */
	put32(g_dbl.cfg + 0x04, 0x00100406);                     /* command, status */
	put32(g_dbl.cfg + 0x08, 0x02000001);                     /* class, revision */
	put32(g_dbl.cfg + 0x10, (uint32_t)DBL_BAR0 | 0x4);       /* 64-bit memory */
	put32(g_dbl.cfg + 0x14, (uint32_t)(DBL_BAR0 >> 32));
	put32(g_dbl.cfg + 0x18, DBL_BAR2 | 0x8);                 /* 32-bit, prefetchable */
	put32(g_dbl.cfg + 0x20, DBL_IO | 0x1);                   /* I/O */
	put32(g_dbl.cfg + 0x30, 0xfeb00000u);                    /* ROM, disabled */
	for (i = 0; i < DBL_BAR0_SIZE; i++) {
		g_dbl.bar0[i] = (uint8_t)(i * 7);
	}
}

/* A model on the double with policy pol (NULL: configuration reads only). */
static struct rpci_pci_fn *
dbl_fn(const struct rpci_pci_policy *pol)
{
	struct rpci_pci_fn_params p;

	memset(&p, 0, sizeof(p));
	p.name = "dbl";
	p.func.vendor_id = 0x1af4;
	p.func.device_id = 0x1041;
	p.func.bar_size[0] = DBL_BAR0_SIZE;
	p.func.bar_size[2] = DBL_BAR2_SIZE;
	p.func.bar_size[4] = 32;
	p.func.rom_size = 0x40000;
	if (pol != NULL) {
		p.policy = *pol;
	}
	p.ops = &g_dbl_ops;
	p.ctx = &g_dbl;
	p.completer_id = 0x0100;
	return rpci_pci_fn_create(&p);
}

static void
add_range(struct rpci_pci_policy *pol, uint8_t bar, bool write, uint64_t off, uint64_t size)
{
	pol->ranges[pol->nb_ranges].bar = bar;
	pol->ranges[pol->nb_ranges].write = write;
	pol->ranges[pol->nb_ranges].offset = off;
	pol->ranges[pol->nb_ranges].size = size;
	pol->nb_ranges++;
}

/* A policy range must lie in a memory BAR the function has. */
static void
test_fn_policy_checked(void)
{
	struct rpci_pci_policy pol;
	struct rpci_pci_fn *fn;

	memset(&pol, 0, sizeof(pol));
	add_range(&pol, 0, false, 0x3000, 0x1001); /* past the end of BAR0 */
	dbl_reset();
	errno = 0;
	CU_ASSERT_PTR_NULL(dbl_fn(&pol));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT(g_dbl.closed); /* the context is released on failure too */
	pol.ranges[0].bar = 4; /* I/O space is not served */
	pol.ranges[0].offset = 0;
	pol.ranges[0].size = 4;
	dbl_reset();
	CU_ASSERT_PTR_NULL(dbl_fn(&pol));
	pol.ranges[0].bar = 1; /* the upper half of BAR0, not a BAR */
	dbl_reset();
	CU_ASSERT_PTR_NULL(dbl_fn(&pol));
	pol.ranges[0].bar = 3; /* absent */
	dbl_reset();
	CU_ASSERT_PTR_NULL(dbl_fn(&pol));
	pol.ranges[0].bar = 2;
	pol.ranges[0].size = DBL_BAR2_SIZE;
	dbl_reset();
	fn = dbl_fn(&pol);
	CU_ASSERT_PTR_NOT_NULL(fn);
	rpci_pci_fn_free(fn);
	CU_ASSERT(g_dbl.closed);
	/* A bridge (header type 1) is not served. */
	dbl_reset();
	put32(g_dbl.cfg + 0x0c, 0x00010000);
	CU_ASSERT_PTR_NULL(dbl_fn(NULL));
}

/* Configuration reads pass through; the BAR registers are emulated for sizing. */
static void
test_fn_cfg_bars(void)
{
	struct rpci_pci_fn *fn;
	uint32_t v = 0;

	dbl_reset();
	fn = dbl_fn(NULL);
	CU_ASSERT_FATAL(fn != NULL);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_read(fn, 0, &v), 0);
	CU_ASSERT_EQUAL(v, 0x10411af4);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_read(fn, 4, &v), 0);
	CU_ASSERT_EQUAL(v, ((uint32_t)DBL_BAR0 | 0x4));
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_read(fn, 64, &v), -EIO); /* past 256 bytes */
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_read(fn, 1024, &v), -EINVAL);
	/* Size BAR0 (64-bit) as firmware does: all ones, read, restore. */
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 4, 0xffffffff, 0xf), 0);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 5, 0xffffffff, 0xf), 0);
	rpci_pci_fn_cfg_read(fn, 4, &v);
	CU_ASSERT_EQUAL(v, (~(DBL_BAR0_SIZE - 1u) & ~0xfu) | 0x4);
	rpci_pci_fn_cfg_read(fn, 5, &v);
	CU_ASSERT_EQUAL(v, 0xffffffff);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 4, 0x12345678, 0xf), 0);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 5, 0, 0xf), 0);
	rpci_pci_fn_cfg_read(fn, 4, &v);
	CU_ASSERT_EQUAL(v, ((uint32_t)DBL_BAR0 | 0x4)); /* the host's, whatever was written */
	rpci_pci_fn_cfg_read(fn, 5, &v);
	CU_ASSERT_EQUAL(v, (uint32_t)(DBL_BAR0 >> 32));
	/* BAR2 keeps its flag bits; I/O BAR4 its own; absent BAR3 reads 0. */
	rpci_pci_fn_cfg_write(fn, 6, 0xffffffff, 0xf);
	rpci_pci_fn_cfg_read(fn, 6, &v);
	CU_ASSERT_EQUAL(v, 0xfffff008);
	rpci_pci_fn_cfg_write(fn, 8, 0xffffffff, 0xf);
	rpci_pci_fn_cfg_read(fn, 8, &v);
	CU_ASSERT_EQUAL(v, 0xffffffe1);
	rpci_pci_fn_cfg_write(fn, 7, 0xffffffff, 0xf);
	rpci_pci_fn_cfg_read(fn, 7, &v);
	CU_ASSERT_EQUAL(v, 0);
	rpci_pci_fn_cfg_write(fn, 12, 0xffffffff, 0xf); /* ROM */
	rpci_pci_fn_cfg_read(fn, 12, &v);
	CU_ASSERT_EQUAL(v, 0xfffc0000);
	/* The function's own BAR registers were never written. */
	CU_ASSERT_EQUAL(g_dbl.cfg_writes, 0);
	CU_ASSERT_EQUAL(g_dbl.cfg[0x10], 0x04);
	/* A session starts with no sizing in progress. */
	CU_ASSERT_EQUAL(rpci_pci_fn_bind(fn, (struct rpci_link_session *)&g_dbl), 0);
	CU_ASSERT_EQUAL(rpci_pci_fn_bind(fn, (struct rpci_link_session *)&g_dbl), -EBUSY);
	rpci_pci_fn_cfg_read(fn, 6, &v);
	CU_ASSERT_EQUAL(v, DBL_BAR2 | 0x8);
	rpci_pci_fn_unbind(fn);
	rpci_pci_fn_free(fn);
}

/* Configuration writes: refused without "config", byte enables kept with it. */
static void
test_fn_cfg_write_policy(void)
{
	struct rpci_pci_policy pol;
	struct rpci_pci_fn *fn;

	dbl_reset();
	fn = dbl_fn(NULL);
	CU_ASSERT_FATAL(fn != NULL);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 1, 0x0000ffff, 0x3), -EPERM);
	CU_ASSERT_EQUAL(g_dbl.cfg_writes, 0);
	CU_ASSERT_EQUAL(g_dbl.cfg[4], 0x06);
	rpci_pci_fn_free(fn);

	memset(&pol, 0, sizeof(pol));
	pol.config_write = true;
	dbl_reset();
	fn = dbl_fn(&pol);
	CU_ASSERT_FATAL(fn != NULL);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 15, 0xaabbcc0b, 0x1), 0); /* interrupt line */
	CU_ASSERT_EQUAL(g_dbl.cfg_writes, 1);
	CU_ASSERT_EQUAL(g_dbl.last_write_off, 0x3c);
	CU_ASSERT_EQUAL(g_dbl.last_write_be, 0x1);
	CU_ASSERT_EQUAL(g_dbl.cfg[0x3c], 0x0b);
	CU_ASSERT_EQUAL(g_dbl.cfg[0x3d], 0x00); /* not enabled: untouched */
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 15, 0, 0), 0); /* nothing enabled */
	CU_ASSERT_EQUAL(g_dbl.cfg_writes, 1);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 15, 0, 0x10), -EINVAL);
	/* Even with "config", BAR registers stay emulated. */
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 4, 0, 0xf), 0);
	CU_ASSERT_EQUAL(g_dbl.cfg_writes, 1);
	CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 64, 1, 0xf), -EIO); /* past the space */
	rpci_pci_fn_free(fn);
}

/* BAR reads and writes only inside the policy's ranges. */
static void
test_fn_bar_policy(void)
{
	struct rpci_pci_policy pol;
	struct rpci_pci_fn *fn;
	uint8_t buf[64], data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	memset(&pol, 0, sizeof(pol));
	add_range(&pol, 0, false, 0x100, 0x100); /* BAR0 0x100..0x1ff readable */
	add_range(&pol, 2, true, 0x20, 0x10);    /* BAR2 0x20..0x2f read-write */
	dbl_reset();
	fn = dbl_fn(&pol);
	CU_ASSERT_FATAL(fn != NULL);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_BAR0 + 0x100, buf, 64), 0);
	CU_ASSERT_EQUAL(memcmp(buf, g_dbl.bar0 + 0x100, 64), 0);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_BAR0 + 0x1c0, buf, 64), 0);
	/* One byte over the range's end, or before its start. */
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_BAR0 + 0x1c1, buf, 64), -EPERM);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_BAR0 + 0xff, buf, 4), -EPERM);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_BAR0, buf, 4), -EPERM);
	/* A read-only range takes no write. */
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_write(fn, DBL_BAR0 + 0x100, data, 8), -EPERM);
	CU_ASSERT_EQUAL(g_dbl.bar0[0x100], 0x00);
	/* Outside every BAR, or across a BAR's end. */
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, 0x1000, buf, 4), -EFAULT);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_BAR2 + DBL_BAR2_SIZE - 4, buf, 8), -EFAULT);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_IO, buf, 4), -EFAULT);
	CU_ASSERT_EQUAL(g_dbl.bar_reads, 2);
	/* The read-write range. */
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_write(fn, DBL_BAR2 + 0x24, data, 8), 0);
	CU_ASSERT_EQUAL(memcmp(g_dbl.bar2 + 0x24, data, 8), 0);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_write(fn, DBL_BAR2 + 0x2c, data, 8), -EPERM);
	CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, DBL_BAR2 + 0x20, buf, 16), 0);
	CU_ASSERT_EQUAL(memcmp(buf + 4, data, 8), 0);
	CU_ASSERT_EQUAL(g_dbl.bar_writes, 1);
	rpci_pci_fn_free(fn);
}

/* The host's own functions through libpciaccess: configuration space only. */
static void
test_fn_open_host(void)
{
	struct rpci_pci_policy pol;
	struct rpci_pci_fn *fn;
	uint8_t buf[4];
	uint32_t v;
	unsigned int i;

	memset(&pol, 0, sizeof(pol));
	for (i = 0; i < g_nb && i < FUNCS_MAX; i++) {
		const struct rpci_pci_host_func *f = &g_funcs[i];

		fn = rpci_pci_fn_open(f->domain, f->bus, f->dev, f->func, &pol, "host", 0x100);
		if (fn == NULL) {
			CU_ASSERT_EQUAL(errno, EINVAL); /* a bridge */
			continue;
		}
		CU_ASSERT_EQUAL(rpci_pci_fn_cfg_read(fn, 0, &v), 0);
		CU_ASSERT_EQUAL(v & 0xffff, f->vendor_id);
		CU_ASSERT_EQUAL(rpci_pci_fn_func(fn)->bar_size[0], f->bar_size[0]);
		/* No policy range: no BAR is ever read (nor mapped). */
		CU_ASSERT_EQUAL(rpci_pci_fn_mem_read(fn, 0, buf, 4), -EFAULT);
		CU_ASSERT_EQUAL(rpci_pci_fn_cfg_write(fn, 1, 0, 0xf), -EPERM);
		rpci_pci_fn_free(fn);
	}
	/* A scan while a function is served keeps the served one valid. */
	if (g_nb > 0) {
		fn = rpci_pci_fn_open(g_funcs[g_nb - 1].domain, g_funcs[g_nb - 1].bus,
				      g_funcs[g_nb - 1].dev, g_funcs[g_nb - 1].func, &pol, "h", 1);
		if (fn != NULL) {
			struct rpci_pci_host_func tmp[4];
			unsigned int nb;

			CU_ASSERT_EQUAL(rpci_pci_host_scan(tmp, 4, &nb), 0);
			CU_ASSERT_EQUAL(rpci_pci_fn_cfg_read(fn, 0, &v), 0);
			CU_ASSERT_EQUAL(v & 0xffff, g_funcs[g_nb - 1].vendor_id);
			rpci_pci_fn_free(fn);
		}
	}
	errno = 0;
	CU_ASSERT_PTR_NULL(rpci_pci_fn_open(0x7fff, 0xfe, 0x1f, 7, &pol, "none", 1));
	CU_ASSERT_EQUAL(errno, ENODEV);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	g_scan_ret = rpci_pci_host_scan(g_funcs, FUNCS_MAX, &g_nb);
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("pci_host", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_scan_matches_sysfs);
	CU_ADD_TEST(suite, test_cfg_read);
	CU_ADD_TEST(suite, test_gone_function);
	CU_ADD_TEST(suite, test_small_array);
	CU_ADD_TEST(suite, test_fn_policy_checked);
	CU_ADD_TEST(suite, test_fn_cfg_bars);
	CU_ADD_TEST(suite, test_fn_cfg_write_policy);
	CU_ADD_TEST(suite, test_fn_bar_policy);
	CU_ADD_TEST(suite, test_fn_open_host);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
