/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * drivers/pci/host against the kernel's own view of the PCI bus
 * (/sys/bus/pci/devices): the same functions, the same identities.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

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
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
