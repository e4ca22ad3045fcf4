/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_LSPCI_FMT_H
#define RPCI_LSPCI_FMT_H

/*
 * What rpci-lspci prints, as pure functions over a configuration-space
 * buffer: names from the PCI ID database (Debian's pci.ids), the lines
 * "lspci -v", "-vv" and "-x", "-xxx", "-xxxx" print for a function, with
 * its capabilities decoded. No I/O but the FILE given; no DPDK. Private to
 * app/lspci (and its unit test).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where Debian's pci.ids package puts the database. */
#define LSPCI_IDS_PATH "/usr/share/misc/pci.ids"

/* How names are printed: as names, as numbers (-n), or both (-nn). */
enum lspci_numeric {
	LSPCI_NAMES = 0,
	LSPCI_NUMBERS = 1,
	LSPCI_BOTH = 2,
};

struct lspci_ids;

/* The database from a file: NULL with errno (ENOENT, ENOMEM...). */
struct lspci_ids *lspci_ids_load(const char *path);

/* The database from text (copied). NULL with errno ENOMEM. */
struct lspci_ids *lspci_ids_parse(const char *text, size_t len);

/* Free it; NULL is ignored. */
void lspci_ids_free(struct lspci_ids *ids);

/* The entries, or NULL when the database (or ids, NULL) has none. */
const char *lspci_ids_vendor(const struct lspci_ids *ids, uint16_t vendor);
const char *lspci_ids_device(const struct lspci_ids *ids, uint16_t vendor, uint16_t device);
const char *lspci_ids_subsystem(const struct lspci_ids *ids, uint16_t vendor, uint16_t device,
				uint16_t subvendor, uint16_t subdevice);
const char *lspci_ids_class(const struct lspci_ids *ids, uint8_t base);
const char *lspci_ids_subclass(const struct lspci_ids *ids, uint8_t base, uint8_t sub);
const char *lspci_ids_progif(const struct lspci_ids *ids, uint8_t base, uint8_t sub,
			     uint8_t progif);

/* Names composed as lspci composes them (unknown parts as numbers). */
void lspci_name_device(const struct lspci_ids *ids, uint16_t vendor, uint16_t device,
		       enum lspci_numeric num, char *buf, size_t len);
void lspci_name_class(const struct lspci_ids *ids, uint16_t class16, enum lspci_numeric num,
		      char *buf, size_t len);
void lspci_name_subsystem(const struct lspci_ids *ids, uint16_t vendor, uint16_t device,
			  uint16_t subvendor, uint16_t subdevice, enum lspci_numeric num,
			  char *buf, size_t len);

/* A function to print: its configuration space and what it alone does not say. */
struct lspci_func {
	const uint8_t *cfg;   /* configuration space */
	size_t cfg_len;       /* bytes of it read: 64, 256 or 4096 */
	uint16_t domain;      /* its address, for the slot name */
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
	uint64_t bar_size[6]; /* from sizing (0: none) */
	uint64_t rom_size;
};

/*
 * Print a function as "lspci" does with the same options: the terse line,
 * or with verbose 1 or 2 the -v / -vv details (header, BARs, expansion ROM,
 * capabilities); hex 1 (-x), 3 (-xxx) or 4 (-xxxx) adds a dump of that
 * much of cfg (as much as cfg_len holds). A blank line ends a verbose or
 * hex block. What only the kernel knows locally (its driver, NUMA node,
 * IOMMU group) is not printed; the IRQ is the Interrupt Line register.
 */
void lspci_show(FILE *out, const struct lspci_ids *ids, const struct lspci_func *f, int verbose,
		int hex, enum lspci_numeric num);

/* The hex dump of cfg[0, len): "00: xx xx ...", 16 bytes a line. */
void lspci_hexdump(FILE *out, const uint8_t *cfg, size_t len);

/* The slot name: "bb:dd.f", or "dddd:bb:dd.f" for a domain other than 0. */
void lspci_slot_name(const struct lspci_func *f, char *buf, size_t len);

#endif /* RPCI_LSPCI_FMT_H */
