/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of rpci-lspci's formatting (app/lspci/lspci_fmt.c, compiled
 * in): the PCI ID database's look-ups and lspci's way of composing names,
 * on a small database written here and on Debian's pci.ids; the hex dumps
 * and the decoded capabilities on configuration spaces written here; and,
 * where this machine has lspci and PCI functions, the output for each
 * local function against lspci's own (configuration space from sysfs,
 * read only; BAR sizes from sysfs "resource").
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "lspci_fmt.h"

#define SYSFS "/sys/bus/pci/devices"

static const char g_ids_text[] =
	"# a comment\n"
	"1af4  Red Hat, Inc.\n"
	"\t1041  Virtio 1.0 network device\n"
	"\t\t1af4 1100  QEMU Virtual Machine\n"
	"\t1042  Virtio 1.0 block device\n"
	"7270  Remote PCI\n"
	"8086  Intel Corporation\n"
	"\t10d3  82574L Gigabit Network Connection\n"
	"\t\t8086 a01f  Gigabit CT Desktop Adapter\n"
	"ffff  Illegal Vendor ID\n"
	"\n"
	"# List of known device classes\n"
	"C 01  Mass storage controller\n"
	"\t06  SATA controller\n"
	"\t\t01  AHCI 1.0\n"
	"C 02  Network controller\n"
	"\t00  Ethernet controller\n"
	"C 03  Display controller\n"
	"\t02  3D controller\n"
	"C ff  Unassigned class\n";

static char *
show(const struct lspci_ids *ids, const struct lspci_func *f, int verbose, int hex,
     enum lspci_numeric num)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	lspci_show(out, ids, f, verbose, hex, num);
	fclose(out);
	return buf;
}

static void
put16(uint8_t *cfg, size_t at, uint16_t v)
{
	cfg[at] = (uint8_t)v;
	cfg[at + 1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *cfg, size_t at, uint32_t v)
{
	put16(cfg, at, (uint16_t)v);
	put16(cfg, at + 2, (uint16_t)(v >> 16));
}

static void
test_ids_lookup(void)
{
	struct lspci_ids *ids = lspci_ids_parse(g_ids_text, sizeof(g_ids_text) - 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
	CU_ASSERT_STRING_EQUAL(lspci_ids_vendor(ids, 0x1af4), "Red Hat, Inc.");
	CU_ASSERT_STRING_EQUAL(lspci_ids_device(ids, 0x1af4, 0x1042), "Virtio 1.0 block device");
	CU_ASSERT_STRING_EQUAL(lspci_ids_subsystem(ids, 0x8086, 0x10d3, 0x8086, 0xa01f),
			       "Gigabit CT Desktop Adapter");
	CU_ASSERT_PTR_NULL(lspci_ids_subsystem(ids, 0x1af4, 0x1042, 0x1af4, 0x1100));
	CU_ASSERT_PTR_NULL(lspci_ids_device(ids, 0x8086, 0x1041)); /* another vendor's */
	CU_ASSERT_PTR_NULL(lspci_ids_vendor(ids, 0x10de));
	CU_ASSERT_STRING_EQUAL(lspci_ids_class(ids, 0x02), "Network controller");
	CU_ASSERT_STRING_EQUAL(lspci_ids_subclass(ids, 0x01, 0x06), "SATA controller");
	CU_ASSERT_STRING_EQUAL(lspci_ids_progif(ids, 0x01, 0x06, 0x01), "AHCI 1.0");
	CU_ASSERT_PTR_NULL(lspci_ids_subclass(ids, 0x02, 0x80));
	/* Class lines do not become vendors, nor the reverse. */
	CU_ASSERT_PTR_NULL(lspci_ids_vendor(ids, 0x0002));
	CU_ASSERT_PTR_NULL(lspci_ids_class(ids, 0x72));
	CU_ASSERT_PTR_NULL(lspci_ids_vendor(NULL, 0x1af4));
	lspci_ids_free(ids);
	errno = 0;
	CU_ASSERT_PTR_NULL(lspci_ids_load("/nonexistent/pci.ids"));
	CU_ASSERT_EQUAL(errno, ENOENT);
}

/* Names composed as lspci composes them, with -n and -nn. */
static void
test_names(void)
{
	struct lspci_ids *ids = lspci_ids_parse(g_ids_text, sizeof(g_ids_text) - 1);
	char b[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
	lspci_name_device(ids, 0x1af4, 0x1041, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Red Hat, Inc. Virtio 1.0 network device");
	lspci_name_device(ids, 0x1af4, 0x1041, LSPCI_BOTH, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Red Hat, Inc. Virtio 1.0 network device [1af4:1041]");
	lspci_name_device(ids, 0x1af4, 0x1041, LSPCI_NUMBERS, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "1af4:1041");
	lspci_name_device(ids, 0x7270, 0x0001, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Remote PCI Device 0001");
	lspci_name_device(ids, 0x7270, 0x0001, LSPCI_BOTH, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Remote PCI Device [7270:0001]");
	lspci_name_device(ids, 0x10de, 0x20b0, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Device 10de:20b0");
	lspci_name_class(ids, 0x0200, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Ethernet controller");
	lspci_name_class(ids, 0x0200, LSPCI_BOTH, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Ethernet controller [0200]");
	lspci_name_class(ids, 0xffff, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Unassigned class [ffff]"); /* only the base class known */
	lspci_name_class(ids, 0x1200, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Class 1200");
	lspci_name_class(ids, 0x0302, LSPCI_NUMBERS, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "0302");
	/* Subsystems: its own entry, the device itself, or numbers. */
	lspci_name_subsystem(ids, 0x8086, 0x10d3, 0x8086, 0xa01f, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Intel Corporation Gigabit CT Desktop Adapter");
	lspci_name_subsystem(ids, 0x1af4, 0x1041, 0x1af4, 0x1041, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Red Hat, Inc. Virtio 1.0 network device");
	lspci_name_subsystem(ids, 0x1af4, 0x1042, 0x1af4, 0x1100, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Red Hat, Inc. Device 1100");
	lspci_name_subsystem(ids, 0x1af4, 0x1042, 0x1234, 0x0001, LSPCI_BOTH, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Device [1234:0001]");
	/* No database at all: numbers. */
	lspci_name_device(NULL, 0x1af4, 0x1041, LSPCI_NAMES, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "Device 1af4:1041");
	lspci_ids_free(ids);
}

static void
test_hexdump(void)
{
	uint8_t cfg[256];
	struct lspci_func f = { .cfg = cfg, .cfg_len = sizeof(cfg), .bus = 1, .dev = 2, .fn = 3 };
	char *out;
	size_t i;

	for (i = 0; i < sizeof(cfg); i++) {
		cfg[i] = (uint8_t)i;
	}
	put16(cfg, 0x0a, 0x0302);
	out = show(NULL, &f, 0, 1, LSPCI_NAMES);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT(strncmp(out, "01:02.3 Class 0302: Device 0100:0302 (rev 08)\n00: 00 01 02 03 "
			  "04 05 06 07 08 09 02 03 0c 0d 0e 0f\n10:", 96) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n30: 30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e "
				      "3f\n\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "\n40:")); /* -x: 64 bytes */
	free(out);
	out = show(NULL, &f, 0, 3, LSPCI_NAMES);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nf0: f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe "
				      "ff\n\n"));
	free(out);
	/* -xxxx of a conventional function: the 256 bytes it has */
	out = show(NULL, &f, 0, 4, LSPCI_NAMES);
	CU_ASSERT_PTR_NULL(strstr(out, "\n100:"));
	free(out);
	f.domain = 1;
	out = show(NULL, &f, 0, 0, LSPCI_NUMBERS);
	CU_ASSERT_STRING_EQUAL(out, "0001:01:02.3 0302: 0100:0302 (rev 08)\n");
	free(out);
}

/* A virtual GPU's configuration space: MSI, PCI Express with FLR, BARs, a ROM. */
static void
test_verbose_vgpu(void)
{
	static const char want[] =
		"01:00.0 3D controller: Remote PCI Device 0001 (rev 01)\n"
		"\tSubsystem: Remote PCI Device 0001\n"
		"\tControl: I/O- Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- "
		"Stepping- SERR- FastB2B- DisINTx-\n"
		"\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- "
		"<MAbort- >SERR- <PERR- INTx-\n"
		"\tLatency: 0\n"
		"\tRegion 0: Memory at e0000000 (32-bit, non-prefetchable) [size=64K]\n"
		"\tRegion 2: Memory at 1000000000 (64-bit, prefetchable) [size=256M]\n"
		"\tExpansion ROM at <unassigned> [disabled] [size=128K]\n"
		"\tCapabilities: [40] MSI: Enable+ Count=1/1 Maskable- 64bit+\n"
		"\t\tAddress: 00000000fee00000  Data: 0042\n"
		"\tCapabilities: [50] Express (v1) Root Complex Integrated Endpoint, MSI 00\n"
		"\t\tDevCap:\tMaxPayload 4096 bytes, PhantFunc 0\n"
		"\t\t\tExtTag- RBE- FLReset+\n"
		"\t\tDevCtl:\tCorrErr- NonFatalErr- FatalErr- UnsupReq-\n"
		"\t\t\tRlxdOrd- ExtTag- PhantFunc- AuxPwr- NoSnoop- FLReset-\n"
		"\t\t\tMaxPayload 128 bytes, MaxReadReq 512 bytes\n"
		"\t\tDevSta:\tCorrErr- NonFatalErr- FatalErr- UnsupReq- AuxPwr- TransPend-\n"
		"\tCapabilities: [60] Power Management version 3\n"
		"\t\tFlags: PMEClk- DSI- D1- D2- AuxCurrent=0mA PME(D0-,D1-,D2-,D3hot-,D3cold-)\n"
		"\t\tStatus: D0 NoSoftRst+ PME-Enable- DSel=0 DScale=0 PME-\n"
		"\n";
	struct lspci_ids *ids = lspci_ids_parse(g_ids_text, sizeof(g_ids_text) - 1);
	uint8_t cfg[256] = { 0 };
	struct lspci_func f = { .cfg = cfg, .cfg_len = sizeof(cfg), .bus = 1 };
	char *out;

	put32(cfg, 0x00, 0x00017270);
	put32(cfg, 0x04, 0x00100006);
	put32(cfg, 0x08, 0x03020001);
	put32(cfg, 0x10, 0xe0000000);
	put32(cfg, 0x18, 0x0000000c);
	put32(cfg, 0x1c, 0x00000010);
	put32(cfg, 0x2c, 0x00017270);
	cfg[0x34] = 0x40;
	put32(cfg, 0x40, 0x00815005);
	put32(cfg, 0x44, 0xfee00000);
	put32(cfg, 0x4c, 0x00000042);
	put32(cfg, 0x50, 0x00916010);
	put32(cfg, 0x54, 0x10000005);
	put32(cfg, 0x58, 0x00002000);
	put32(cfg, 0x60, 0x00030001);
	put32(cfg, 0x64, 0x00000008);
	f.bar_size[0] = 64 * 1024;
	f.bar_size[2] = 256u << 20;
	f.rom_size = 128 * 1024;
	out = show(ids, &f, 2, 0, LSPCI_NAMES);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "\n--- got\n%s--- want\n%s", out, want);
	}
	CU_ASSERT_STRING_EQUAL(out, want);
	free(out);
	/* -v: Flags instead of Control and Status, no details of capabilities */
	out = show(ids, &f, 1, 0, LSPCI_NAMES);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\tFlags: bus master, fast devsel, latency 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\tMemory at 1000000000 (64-bit, prefetchable) "
				      "[size=256M]\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\tCapabilities: [50] Express Root Complex "
				      "Integrated Endpoint, MSI 00\n\tCapabilities: [60]"));
	CU_ASSERT_PTR_NULL(strstr(out, "DevCap"));
	free(out);
	/* A looped list ends */
	cfg[0x61] = 0x40;
	out = show(ids, &f, 1, 0, LSPCI_NAMES);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\tCapabilities: [40] <chain looped>\n"));
	free(out);
	lspci_ids_free(ids);
}

/* ------------------------------------------------- against the real lspci */

static int
read_file(const char *path, uint8_t *buf, size_t len)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL) {
		return -1;
	}
	n = fread(buf, 1, len, fp);
	fclose(fp);
	return (int)n;
}

/* lspci's output for one function, its kernel's lines dropped. */
static char *
run_lspci(const char *args, const char *bdf)
{
	char cmd[256], line[1024], *buf = NULL;
	size_t len = 0;
	FILE *p, *out;

	snprintf(cmd, sizeof(cmd), "lspci %s -s %s 2>/dev/null", args, bdf);
	p = popen(cmd, "r");
	if (p == NULL) {
		return NULL;
	}
	out = open_memstream(&buf, &len);
	while (fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "\tKernel driver in use:", 22) != 0 &&
		    strncmp(line, "\tKernel modules:", 16) != 0) {
			fputs(line, out);
		}
	}
	pclose(p);
	fclose(out);
	return buf;
}

static void
test_against_lspci(void)
{
	static const char *const modes[] = { "", "-nn", "-v", "-vv", "-xxx", "-vv -xxx" };
	struct lspci_ids *ids = lspci_ids_load(LSPCI_IDS_PATH);
	char path[300], bdf[16], *want, *got;
	unsigned int dom, bus, dev, fn, i, compared = 0, m;
	uint8_t cfg[256];
	FILE *ls;

	if (ids == NULL || system("lspci -s 00:00.0 >/dev/null 2>&1") != 0) {
		printf("(no pci.ids or no lspci here: skipped) ");
		lspci_ids_free(ids);
		return;
	}
	ls = popen("ls " SYSFS, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ls);
	while (fscanf(ls, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4) {
		struct lspci_func f = { .cfg = cfg, .domain = (uint16_t)dom, .bus = (uint8_t)bus,
					.dev = (uint8_t)dev, .fn = (uint8_t)fn };
		unsigned long long start, end, flags;
		FILE *res;

		snprintf(path, sizeof(path), SYSFS "/%04x:%02x:%02x.%x/config", dom, bus, dev, fn);
		f.cfg_len = (size_t)read_file(path, cfg, sizeof(cfg)); /* reads config only */
		if (f.cfg_len < 64) {
			continue;
		}
		snprintf(path, sizeof(path), SYSFS "/%04x:%02x:%02x.%x/resource", dom, bus, dev,
			 fn);
		res = fopen(path, "r");
		for (i = 0; res != NULL && i < 7 &&
		     fscanf(res, "%llx %llx %llx", &start, &end, &flags) == 3; i++) {
			uint64_t size = start != 0 || end != 0 ? end - start + 1 : 0;

			if (i < 6) {
				f.bar_size[i] = size;
			} else {
				f.rom_size = size;
			}
		}
		if (res != NULL) {
			fclose(res);
		}
		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", dom, bus, dev, fn);
		for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			int verbose = strstr(modes[m], "-vv") ? 2 : strstr(modes[m], "-v") ? 1 : 0;
			int hex = strstr(modes[m], "-xxx") ? 3 : 0;
			enum lspci_numeric num = strstr(modes[m], "-nn") ? LSPCI_BOTH : LSPCI_NAMES;

			want = run_lspci(modes[m], bdf);
			got = show(ids, &f, verbose, hex, num);
			CU_ASSERT_PTR_NOT_NULL_FATAL(want);
			if (strcmp(got, want) != 0) {
				fprintf(stderr, "\n%s lspci %s:\n--- rpci\n%s--- lspci\n%s", bdf,
					modes[m], got, want);
			}
			CU_ASSERT_STRING_EQUAL(got, want);
			free(want);
			free(got);
			compared++;
		}
	}
	pclose(ls);
	printf("(%u outputs compared) ", compared);
	lspci_ids_free(ids);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("lspci_fmt", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_ids_lookup);
	CU_ADD_TEST(suite, test_names);
	CU_ADD_TEST(suite, test_hexdump);
	CU_ADD_TEST(suite, test_verbose_vgpu);
	CU_ADD_TEST(suite, test_against_lspci);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
