/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-lspci's output (lspci_fmt.h): the PCI ID database and lspci's
 * formats, written for rpci from the formats lspci prints (pciutils 3.9,
 * as Debian 12 ships it), so that a remote function reads as the local
 * one does under lspci.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lspci_fmt.h"

/* ------------------------------------------------------------ pci.ids */

/* One entry of the database; ids as parsed, name in the text buffer. */
struct ids_ent {
	uint8_t kind;  /* enum ids_kind */
	uint16_t a;    /* vendor | class */
	uint16_t b;    /* device | subclass */
	uint16_t c;    /* subvendor | prog-if */
	uint16_t d;    /* subdevice */
	const char *name;
};

enum ids_kind {
	IDS_VENDOR = 1,
	IDS_DEVICE,
	IDS_SUBSYS,
	IDS_CLASS,
	IDS_SUBCLASS,
	IDS_PROGIF,
};

struct lspci_ids {
	char *text;
	struct ids_ent *ent;
	size_t nb;
	size_t cap;
};

/* n hex digits at s (exactly) as *v; 0 or -1. */
static int
hexn(const char *s, int n, uint16_t *v)
{
	unsigned int x = 0;
	int i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		x <<= 4;
		if (c >= '0' && c <= '9') {
			x |= (unsigned int)(c - '0');
		} else if (c >= 'a' && c <= 'f') {
			x |= (unsigned int)(c - 'a' + 10);
		} else if (c >= 'A' && c <= 'F') {
			x |= (unsigned int)(c - 'A' + 10);
		} else {
			return -1;
		}
	}
	*v = (uint16_t)x;
	return 0;
}

static int
ids_add(struct lspci_ids *ids, const struct ids_ent *e)
{
	if (ids->nb == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 4096;
		struct ids_ent *n = realloc(ids->ent, cap * sizeof(*n));

		if (n == NULL) {
			return -ENOMEM;
		}
		ids->ent = n;
		ids->cap = cap;
	}
	ids->ent[ids->nb++] = *e;
	return 0;
}

/*
 * One line (NUL-terminated, in the text buffer). Vendors ("vvvv  name")
 * with their devices ("\tdddd  name") and subsystems ("\t\tvvvv dddd
 * name"); classes ("C cc  name") with subclasses and programming
 * interfaces. Lines it does not understand are skipped, as lspci does.
 */
static int
ids_line(struct lspci_ids *ids, char *line, struct ids_ent *vend, struct ids_ent *dev,
	 bool *in_class)
{
	struct ids_ent e = { 0 };
	int tabs = 0;

	while (line[tabs] == '\t') {
		tabs++;
	}
	line += tabs;
	if (line[0] == '\0' || line[0] == '#') {
		return 0;
	}
	if (tabs == 0) {
		*in_class = false;
		vend->kind = dev->kind = 0;
		if (line[0] == 'C' && line[1] == ' ' && hexn(line + 2, 2, &e.a) == 0 &&
		    line[4] == ' ') {
			e.kind = IDS_CLASS;
			e.name = line + 6;
			*in_class = true;
		} else if (hexn(line, 4, &e.a) == 0 && line[4] == ' ') {
			e.kind = IDS_VENDOR;
			e.name = line + 6;
		} else {
			return 0; /* another list (device classes of other buses...) */
		}
		*vend = e;
		return ids_add(ids, &e);
	}
	if (vend->kind == 0) {
		return 0;
	}
	if (tabs == 1) {
		if (*in_class) {
			if (hexn(line, 2, &e.b) < 0 || line[2] != ' ') {
				return 0;
			}
			e.kind = IDS_SUBCLASS;
			e.name = line + 4;
		} else {
			if (hexn(line, 4, &e.b) < 0 || line[4] != ' ') {
				return 0;
			}
			e.kind = IDS_DEVICE;
			e.name = line + 6;
		}
		e.a = vend->a;
		*dev = e;
		return ids_add(ids, &e);
	}
	if (tabs == 2 && dev->kind != 0) {
		e.a = dev->a;
		e.b = dev->b;
		if (*in_class) {
			if (hexn(line, 2, &e.c) < 0 || line[2] != ' ') {
				return 0;
			}
			e.kind = IDS_PROGIF;
			e.name = line + 4;
		} else {
			if (hexn(line, 4, &e.c) < 0 || line[4] != ' ' ||
			    hexn(line + 5, 4, &e.d) < 0 || line[9] != ' ') {
				return 0;
			}
			e.kind = IDS_SUBSYS;
			e.name = line + 11;
		}
		return ids_add(ids, &e);
	}
	return 0;
}

struct lspci_ids *
lspci_ids_parse(const char *text, size_t len)
{
	struct ids_ent vend = { 0 }, dev = { 0 };
	struct lspci_ids *ids = calloc(1, sizeof(*ids));
	bool in_class = false;
	char *p, *nl;

	if (ids == NULL) {
		goto no_memory;
	}
	ids->text = malloc(len + 1);
	if (ids->text == NULL) {
		goto no_memory;
	}
	memcpy(ids->text, text, len);
	ids->text[len] = '\0';
	for (p = ids->text; p < ids->text + len; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			nl = ids->text + len;
		}
		*nl = '\0';
		if (nl > p && nl[-1] == '\r') {
			nl[-1] = '\0';
		}
		if (ids_line(ids, p, &vend, &dev, &in_class) < 0) {
			goto no_memory;
		}
	}
	return ids;

no_memory:
	lspci_ids_free(ids);
	errno = ENOMEM;
	return NULL;
}

struct lspci_ids *
lspci_ids_load(const char *path)
{
	struct lspci_ids *ids;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "r");
	int err;

	if (f == NULL) {
		return NULL;
	}
	do {
		if (cap - len < 65536) {
			char *b = realloc(buf, cap + 1048576);

			if (b == NULL) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
			cap += 1048576;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	err = ferror(f) ? EIO : 0;
	fclose(f);
	if (err != 0) {
		free(buf);
		errno = err;
		return NULL;
	}
	ids = lspci_ids_parse(buf, len);
	free(buf);
	return ids;
}

void
lspci_ids_free(struct lspci_ids *ids)
{
	if (ids == NULL) {
		return;
	}
	free(ids->ent);
	free(ids->text);
	free(ids);
}

static const char *
ids_find(const struct lspci_ids *ids, uint8_t kind, uint16_t a, uint16_t b, uint16_t c,
	 uint16_t d)
{
	size_t i;

	if (ids == NULL) {
		return NULL;
	}
	for (i = 0; i < ids->nb; i++) {
		const struct ids_ent *e = &ids->ent[i];

		if (e->kind == kind && e->a == a && e->b == b && e->c == c && e->d == d) {
			return e->name;
		}
	}
	return NULL;
}

const char *
lspci_ids_vendor(const struct lspci_ids *ids, uint16_t vendor)
{
	return ids_find(ids, IDS_VENDOR, vendor, 0, 0, 0);
}

const char *
lspci_ids_device(const struct lspci_ids *ids, uint16_t vendor, uint16_t device)
{
	return ids_find(ids, IDS_DEVICE, vendor, device, 0, 0);
}

const char *
lspci_ids_subsystem(const struct lspci_ids *ids, uint16_t vendor, uint16_t device,
		    uint16_t subvendor, uint16_t subdevice)
{
	return ids_find(ids, IDS_SUBSYS, vendor, device, subvendor, subdevice);
}

const char *
lspci_ids_class(const struct lspci_ids *ids, uint8_t base)
{
	return ids_find(ids, IDS_CLASS, base, 0, 0, 0);
}

const char *
lspci_ids_subclass(const struct lspci_ids *ids, uint8_t base, uint8_t sub)
{
	return ids_find(ids, IDS_SUBCLASS, base, sub, 0, 0);
}

const char *
lspci_ids_progif(const struct lspci_ids *ids, uint8_t base, uint8_t sub, uint8_t progif)
{
	return ids_find(ids, IDS_PROGIF, base, sub, progif, 0);
}

/* ------------------------------------------------------------------ names */

/* A vendor and a thing of it, or their numbers: "%s %s", "%s Device %s", "Device %s". */
static void
name_pair(const char *v, const char *d, const char *num, const char *num_d,
	  enum lspci_numeric mode, char *buf, size_t len)
{
	if (mode == LSPCI_NUMBERS) {
		snprintf(buf, len, "%s", num);
	} else if (mode == LSPCI_BOTH) {
		if (v != NULL && d != NULL) {
			snprintf(buf, len, "%s %s [%s]", v, d, num);
		} else if (v == NULL) {
			snprintf(buf, len, "Device [%s]", num);
		} else {
			snprintf(buf, len, "%s Device [%s]", v, num);
		}
	} else if (v != NULL && d != NULL) {
		snprintf(buf, len, "%s %s", v, d);
	} else if (v == NULL) {
		snprintf(buf, len, "Device %s", num);
	} else {
		snprintf(buf, len, "%s Device %s", v, num_d);
	}
}

void
lspci_name_device(const struct lspci_ids *ids, uint16_t vendor, uint16_t device,
		  enum lspci_numeric num, char *buf, size_t len)
{
	char n[16];

	snprintf(n, sizeof(n), "%04x:%04x", vendor, device);
	name_pair(lspci_ids_vendor(ids, vendor), lspci_ids_device(ids, vendor, device), n, n + 5,
		  num, buf, len);
}

void
lspci_name_class(const struct lspci_ids *ids, uint16_t class16, enum lspci_numeric num,
		 char *buf, size_t len)
{
	const char *sub = lspci_ids_subclass(ids, (uint8_t)(class16 >> 8), (uint8_t)class16);
	const char *base = sub == NULL ? lspci_ids_class(ids, (uint8_t)(class16 >> 8)) : NULL;

	if (num == LSPCI_NUMBERS) {
		snprintf(buf, len, "%04x", class16);
	} else if (sub != NULL) {
		snprintf(buf, len, num == LSPCI_BOTH ? "%s [%04x]" : "%s", sub, class16);
	} else if (base != NULL) {
		/* only the base class known: the full number goes with it */
		snprintf(buf, len, "%s [%04x]", base, class16);
	} else {
		snprintf(buf, len, num == LSPCI_BOTH ? "Class [%04x]" : "Class %04x", class16);
	}
}

void
lspci_name_subsystem(const struct lspci_ids *ids, uint16_t vendor, uint16_t device,
		     uint16_t subvendor, uint16_t subdevice, enum lspci_numeric num, char *buf,
		     size_t len)
{
	const char *d = lspci_ids_subsystem(ids, vendor, device, subvendor, subdevice);
	char n[16];

	/* No entry of its own: a subsystem equal to the device is the device. */
	if (d == NULL && vendor == subvendor && device == subdevice) {
		d = lspci_ids_device(ids, vendor, device);
	}
	snprintf(n, sizeof(n), "%04x:%04x", subvendor, subdevice);
	name_pair(lspci_ids_vendor(ids, subvendor), d, n, n + 5, num, buf, len);
}

/* --------------------------------------------------------- config space */

static unsigned int
cfg8(const struct lspci_func *f, size_t at)
{
	return at < f->cfg_len ? f->cfg[at] : 0;
}

static unsigned int
cfg16(const struct lspci_func *f, size_t at)
{
	return cfg8(f, at) | cfg8(f, at + 1) << 8;
}

static uint32_t
cfg32(const struct lspci_func *f, size_t at)
{
	return (uint32_t)cfg16(f, at) | (uint32_t)cfg16(f, at + 2) << 16;
}

static char
flag(unsigned int v, unsigned int bit)
{
	return (v & bit) ? '+' : '-';
}

void
lspci_slot_name(const struct lspci_func *f, char *buf, size_t len)
{
	if (f->domain != 0) {
		snprintf(buf, len, "%04x:%02x:%02x.%u", f->domain, f->bus, f->dev, f->fn);
	} else {
		snprintf(buf, len, "%02x:%02x.%u", f->bus, f->dev, f->fn);
	}
}

void
lspci_hexdump(FILE *out, const uint8_t *cfg, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 15) == 0) {
			fprintf(out, "%02zx:", i);
		}
		fprintf(out, " %02x", cfg[i]);
		if ((i & 15) == 15) {
			fputc('\n', out);
		}
	}
}

/* " [size=512K]" */
static void
show_size(FILE *out, uint64_t x)
{
	static const char *const suffix[] = { "", "K", "M", "G", "T" };
	unsigned int i;

	if (x == 0) {
		return;
	}
	for (i = 0; i < 4 && x % 1024 == 0; i++) {
		x /= 1024;
	}
	fprintf(out, " [size=%u%s]", (unsigned int)x, suffix[i]);
}

/* The first line: slot, class, vendor and device, revision (prog-if with -v). */
static void
show_terse(FILE *out, const struct lspci_ids *ids, const struct lspci_func *f, int verbose,
	   enum lspci_numeric num)
{
	char slot[32], cls[160], dev[256];
	unsigned int base = cfg8(f, 0x0b), sub = cfg8(f, 0x0a), pif = cfg8(f, 0x09);
	const char *pname;

	lspci_slot_name(f, slot, sizeof(slot));
	lspci_name_class(ids, (uint16_t)(base << 8 | sub), num, cls, sizeof(cls));
	lspci_name_device(ids, (uint16_t)cfg16(f, 0), (uint16_t)cfg16(f, 2), num, dev,
			  sizeof(dev));
	fprintf(out, "%s %s: %s", slot, cls, dev);
	if (cfg8(f, 0x08) != 0) {
		fprintf(out, " (rev %02x)", cfg8(f, 0x08));
	}
	if (verbose) {
		pname = num == LSPCI_NUMBERS ? NULL :
			lspci_ids_progif(ids, (uint8_t)base, (uint8_t)sub, (uint8_t)pif);
		if (pif != 0 || pname != NULL) {
			fprintf(out, " (prog-if %02x", pif);
			if (pname != NULL) {
				fprintf(out, " [%s]", pname);
			}
			fputc(')', out);
		}
	}
	fputc('\n', out);
	if (verbose && cfg16(f, 0x2c) != 0 && cfg16(f, 0x2c) != 0xffff) {
		lspci_name_subsystem(ids, (uint16_t)cfg16(f, 0), (uint16_t)cfg16(f, 2),
				     (uint16_t)cfg16(f, 0x2c), (uint16_t)cfg16(f, 0x2e), num, dev,
				     sizeof(dev));
		fprintf(out, "\tSubsystem: %s\n", dev);
	}
}

static const char *
devsel(unsigned int status)
{
	static const char *const names[] = { "fast", "medium", "slow", "??" };

	return names[(status >> 9) & 3];
}

/* Control and Status (-vv), or Flags (-v); Latency; Interrupt. */
static void
show_header(FILE *out, const struct lspci_func *f, int verbose)
{
	unsigned int cmd = cfg16(f, 0x04), st = cfg16(f, 0x06), lat = cfg8(f, 0x0d);
	unsigned int min_gnt = cfg8(f, 0x3e), max_lat = cfg8(f, 0x3f), line = cfg8(f, 0x0c);
	unsigned int pin = cfg8(f, 0x3d), irq = cfg8(f, 0x3c), bist = cfg8(f, 0x0f);

	if (verbose > 1) {
		fprintf(out, "\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c "
			"VGASnoop%c ParErr%c Stepping%c SERR%c FastB2B%c DisINTx%c\n",
			flag(cmd, 0x1), flag(cmd, 0x2), flag(cmd, 0x4), flag(cmd, 0x8),
			flag(cmd, 0x10), flag(cmd, 0x20), flag(cmd, 0x40), flag(cmd, 0x80),
			flag(cmd, 0x100), flag(cmd, 0x200), flag(cmd, 0x400));
		fprintf(out, "\tStatus: Cap%c 66MHz%c UDF%c FastB2B%c ParErr%c DEVSEL=%s "
			">TAbort%c <TAbort%c <MAbort%c >SERR%c <PERR%c INTx%c\n",
			flag(st, 0x10), flag(st, 0x20), flag(st, 0x40), flag(st, 0x80),
			flag(st, 0x100), devsel(st), flag(st, 0x800), flag(st, 0x1000),
			flag(st, 0x2000), flag(st, 0x4000), flag(st, 0x8000), flag(st, 0x8));
		if (cmd & 0x4) {
			fprintf(out, "\tLatency: %u", lat);
			if (min_gnt || max_lat) {
				fprintf(out, " (");
				if (min_gnt) {
					fprintf(out, "%uns min", min_gnt * 250);
				}
				if (min_gnt && max_lat) {
					fprintf(out, ", ");
				}
				if (max_lat) {
					fprintf(out, "%uns max", max_lat * 250);
				}
				fputc(')', out);
			}
			if (line) {
				fprintf(out, ", Cache Line Size: %u bytes", line * 4);
			}
			fputc('\n', out);
		}
		if (pin || irq) {
			fprintf(out, "\tInterrupt: pin %c routed to IRQ %u\n",
				pin ? (char)('A' + pin - 1) : '?', irq);
		}
	} else {
		fprintf(out, "\tFlags: ");
		if (cmd & 0x4) {
			fprintf(out, "bus master, ");
		}
		if (cmd & 0x20) {
			fprintf(out, "VGA palette snoop, ");
		}
		if (cmd & 0x80) {
			fprintf(out, "stepping, ");
		}
		if (cmd & 0x200) {
			fprintf(out, "fast Back2Back, ");
		}
		if (st & 0x20) {
			fprintf(out, "66MHz, ");
		}
		if (st & 0x40) {
			fprintf(out, "user-definable features, ");
		}
		fprintf(out, "%s devsel", devsel(st));
		if (cmd & 0x4) {
			fprintf(out, ", latency %u", lat);
		}
		if (irq) {
			fprintf(out, ", IRQ %u", irq);
		}
		fputc('\n', out);
	}
	if (bist & 0x80) {
		if (bist & 0x40) {
			fprintf(out, "\tBIST is running\n");
		} else {
			fprintf(out, "\tBIST result: %02x\n", bist & 0x0f);
		}
	}
}

/* Memory BAR types (bits 2:1). */
static const char *const g_mem_type[4] = { "32-bit", "low-1M", "64-bit", "type 3" };

/* The BARs (the upper halves of 64-bit ones skipped) and the expansion ROM. */
static void
show_bases(FILE *out, const struct lspci_func *f, int verbose)
{
	unsigned int cmd = cfg16(f, 0x04);
	uint32_t rom;
	int i;

	for (i = 0; i < 6; i++) {
		uint32_t flg = cfg32(f, 0x10 + 4 * (size_t)i);
		uint64_t addr;
		bool is64;

		if (flg == 0xffffffff) {
			flg = 0;
		}
		if (flg == 0 && f->bar_size[i] == 0) {
			continue;
		}
		fprintf(out, verbose > 1 ? "\tRegion %d: " : "\t", i);
		if (flg & 1) {
			addr = flg & ~0x3u;
			fprintf(out, "I/O ports at ");
			if (addr || (cmd & 0x1)) {
				fprintf(out, "%04" PRIx64, addr);
			} else {
				fprintf(out, "<unassigned>");
			}
			if (!(cmd & 0x1)) {
				fprintf(out, " [disabled]");
			}
		} else {
			unsigned int t = (flg >> 1) & 3;

			is64 = t == 2 && i < 5;
			addr = (flg & ~0xfull) | (is64 ? (uint64_t)cfg32(f, 0x14 + 4 *
								     (size_t)i) << 32 : 0);
			fprintf(out, "Memory at ");
			if (t == 2 && i == 5) {
				fprintf(out, "<broken-64-bit-slot>");
			} else if (addr) {
				fprintf(out, "%08" PRIx64, addr);
			} else {
				fprintf(out, "<unassigned>");
			}
			fprintf(out, " (%s, %sprefetchable)", g_mem_type[t],
				(flg & 0x8) ? "" : "non-");
			if (!(cmd & 0x2)) {
				fprintf(out, " [disabled]");
			}
			if (is64) {
				show_size(out, f->bar_size[i]);
				fputc('\n', out);
				i++; /* its upper half */
				continue;
			}
		}
		show_size(out, f->bar_size[i]);
		fputc('\n', out);
	}
	rom = cfg32(f, 0x30);
	if ((rom & ~0x7ffu) == 0 && f->rom_size == 0) {
		return;
	}
	fprintf(out, "\tExpansion ROM at ");
	if (rom & ~0x7ffu) {
		fprintf(out, "%08x", rom & ~0x7ffu);
	} else {
		fprintf(out, "<unassigned>");
	}
	if (!(rom & 1)) {
		fprintf(out, " [disabled]");
	} else if (!(cmd & 0x2)) {
		fprintf(out, " [disabled by cmd]");
	}
	show_size(out, f->rom_size);
	fputc('\n', out);
}

/* ----------------------------------------------------------- capabilities */

static void
cap_pm(FILE *out, const struct lspci_func *f, size_t at, unsigned int cap, int verbose)
{
	static const int aux[8] = { 0, 55, 100, 160, 220, 270, 320, 375 };
	unsigned int t, b;

	fprintf(out, "Power Management version %u\n", cap & 0x7);
	if (verbose < 2) {
		return;
	}
	fprintf(out, "\t\tFlags: PMEClk%c DSI%c D1%c D2%c AuxCurrent=%dmA "
		"PME(D0%c,D1%c,D2%c,D3hot%c,D3cold%c)\n", flag(cap, 0x8), flag(cap, 0x20),
		flag(cap, 0x200), flag(cap, 0x400), aux[(cap & 0x1c0) >> 6], flag(cap, 0x800),
		flag(cap, 0x1000), flag(cap, 0x2000), flag(cap, 0x4000), flag(cap, 0x8000));
	t = cfg16(f, at + 4);
	fprintf(out, "\t\tStatus: D%u NoSoftRst%c PME-Enable%c DSel=%u DScale=%u PME%c\n",
		t & 0x3, flag(t, 0x8), flag(t, 0x100), (t & 0x1e00) >> 9, (t & 0x6000) >> 13,
		flag(t, 0x8000));
	b = cfg8(f, at + 6);
	if (b) {
		fprintf(out, "\t\tBridge: PM%c B3%c\n", flag(b, 0x80), flag(~b, 0x40));
	}
}

static void
cap_msi(FILE *out, const struct lspci_func *f, size_t at, unsigned int cap, int verbose)
{
	bool is64 = (cap & 0x80) != 0;

	fprintf(out, "MSI: Enable%c Count=%d/%d Maskable%c 64bit%c\n", flag(cap, 0x1),
		1 << ((cap & 0x70) >> 4), 1 << ((cap & 0xe) >> 1), flag(cap, 0x100),
		flag(cap, 0x80));
	if (verbose < 2) {
		return;
	}
	fprintf(out, "\t\tAddress: ");
	if (is64) {
		fprintf(out, "%08x", cfg32(f, at + 8));
	}
	fprintf(out, "%08x  Data: %04x\n", cfg32(f, at + 4), cfg16(f, at + (is64 ? 12 : 8)));
	if (cap & 0x100) {
		fprintf(out, "\t\tMasking: %08x  Pending: %08x\n", cfg32(f, at + (is64 ? 16 : 12)),
			cfg32(f, at + (is64 ? 20 : 16)));
	}
}

static void
cap_msix(FILE *out, const struct lspci_func *f, size_t at, unsigned int cap, int verbose)
{
	uint32_t off;

	fprintf(out, "MSI-X: Enable%c Count=%u Masked%c\n", flag(cap, 0x8000), (cap & 0x7ff) + 1,
		flag(cap, 0x4000));
	if (verbose < 2) {
		return;
	}
	off = cfg32(f, at + 4);
	fprintf(out, "\t\tVector table: BAR=%u offset=%08x\n", off & 7, off & ~7u);
	off = cfg32(f, at + 8);
	fprintf(out, "\t\tPBA: BAR=%u offset=%08x\n", off & 7, off & ~7u);
}

/* Vendor-specific: virtio's (Red Hat, devices 0x1000..0x107f) decoded, others by length. */
static void
cap_vendor(FILE *out, const struct lspci_func *f, size_t at, unsigned int cap, int verbose)
{
	static const char *const virtio[] = { "<unknown>", "CommonCfg", "Notify", "ISR",
					      "DeviceCfg" };
	unsigned int len = cap & 0xff, type = cap >> 8;

	fprintf(out, "Vendor Specific Information: ");
	if (cfg16(f, 0) != 0x1af4 || cfg16(f, 2) < 0x1000 || cfg16(f, 2) > 0x107f || len < 16) {
		fprintf(out, "Len=%02x <?>\n", len);
		return;
	}
	fprintf(out, "VirtIO: %s\n", type >= 1 && type <= 4 ? virtio[type] : virtio[0]);
	if (verbose < 2) {
		return;
	}
	fprintf(out, "\t\tBAR=%u offset=%08x size=%08x", cfg8(f, at + 4), cfg32(f, at + 8),
		cfg32(f, at + 12));
	if (type == 2 && len >= 20) {
		fprintf(out, " multiplier=%08x", cfg32(f, at + 16));
	}
	fputc('\n', out);
}

static void
power_limit(FILE *out, unsigned int value, unsigned int scale)
{
	static const float scales[4] = { 1.0f, 0.1f, 0.01f, 0.001f };

	if (scale == 0 && value == 0xff) {
		fprintf(out, ">600W");
		return;
	}
	if (scale == 0 && value >= 0xf0 && value <= 0xfe) {
		value = 250 + 25 * (value - 0xf0);
	}
	fprintf(out, "%gW", (double)((float)value * scales[scale]));
}

/* PCI Express: the header line and, with -vv, its device registers. */
static void
cap_express(FILE *out, const struct lspci_func *f, size_t at, unsigned int cap, int verbose)
{
	static const char *const l0s[] = { "<64ns", "<128ns", "<256ns", "<512ns", "<1us", "<2us",
					   "<4us", "unlimited" };
	static const char *const l1[] = { "<1us", "<2us", "<4us", "<8us", "<16us", "<32us",
					  "<64us", "unlimited" };
	unsigned int type = (cap & 0xf0) >> 4, w;
	bool ep = type == 0 || type == 1, rciep = type == 9;
	uint32_t t;

	fprintf(out, "Express ");
	if (verbose >= 2) {
		fprintf(out, "(v%u) ", cap & 0xf);
	}
	switch (type) {
	case 0: fprintf(out, "Endpoint"); break;
	case 1: fprintf(out, "Legacy Endpoint"); break;
	case 4: fprintf(out, "Root Port (Slot%c)", flag(cap, 0x100)); break;
	case 5: fprintf(out, "Upstream Port"); break;
	case 6: fprintf(out, "Downstream Port (Slot%c)", flag(cap, 0x100)); break;
	case 7: fprintf(out, "PCI-Express to PCI/PCI-X Bridge"); break;
	case 8: fprintf(out, "PCI/PCI-X to PCI-Express Bridge (Slot%c)", flag(cap, 0x100)); break;
	case 9: fprintf(out, "Root Complex Integrated Endpoint"); break;
	case 10: fprintf(out, "Root Complex Event Collector"); break;
	default: fprintf(out, "Unknown type %u", type); break;
	}
	fprintf(out, ", MSI %02x\n", (cap & 0x3e00) >> 9);
	if (verbose < 2) {
		return;
	}
	t = cfg32(f, at + 4);
	fprintf(out, "\t\tDevCap:\tMaxPayload %d bytes, PhantFunc %d", 128 << (t & 7),
		(1 << ((t & 0x18) >> 3)) - 1);
	if (ep) {
		fprintf(out, ", Latency L0s %s, L1 %s", l0s[(t & 0x1c0) >> 6],
			l1[(t & 0xe00) >> 9]);
	}
	fprintf(out, "\n\t\t\tExtTag%c", flag(t, 0x20));
	if (ep || type == 5 || type == 7) {
		fprintf(out, " AttnBtn%c AttnInd%c PwrInd%c", flag(t, 0x1000), flag(t, 0x2000),
			flag(t, 0x4000));
	}
	fprintf(out, " RBE%c", flag(t, 0x8000));
	if (ep || rciep) {
		fprintf(out, " FLReset%c", flag(t, 0x10000000));
	}
	if (type == 0 || type == 5 || type == 7) {
		fprintf(out, " SlotPowerLimit ");
		power_limit(out, (t & 0x3fc0000) >> 18, (t & 0xc000000) >> 26);
	}
	fputc('\n', out);
	w = cfg16(f, at + 8);
	fprintf(out, "\t\tDevCtl:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c\n",
		flag(w, 0x1), flag(w, 0x2), flag(w, 0x4), flag(w, 0x8));
	fprintf(out, "\t\t\tRlxdOrd%c ExtTag%c PhantFunc%c AuxPwr%c NoSnoop%c", flag(w, 0x10),
		flag(w, 0x100), flag(w, 0x200), flag(w, 0x400), flag(w, 0x800));
	if (type == 7) {
		fprintf(out, " BrConfRtry%c", flag(w, 0x8000));
	}
	if ((ep || rciep) && (t & 0x10000000)) {
		fprintf(out, " FLReset%c", flag(w, 0x8000));
	}
	fprintf(out, "\n\t\t\tMaxPayload %d bytes, MaxReadReq %d bytes\n",
		128 << ((w & 0xe0) >> 5), 128 << ((w & 0x7000) >> 12));
	w = cfg16(f, at + 10);
	fprintf(out, "\t\tDevSta:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c AuxPwr%c "
		"TransPend%c\n", flag(w, 0x1), flag(w, 0x2), flag(w, 0x4), flag(w, 0x8),
		flag(w, 0x10), flag(w, 0x20));
	/* Link, slot, root and version 2 registers are not decoded here. */
}

/* The capability list from 0x34, as "Capabilities: [xx] ..." lines. */
static void
show_caps(FILE *out, const struct lspci_func *f, int verbose)
{
	bool seen[256] = { false };
	size_t at;

	if (!(cfg16(f, 0x06) & 0x10)) {
		return;
	}
	at = cfg8(f, 0x34) & ~3u;
	while (at != 0) {
		unsigned int id = cfg8(f, at), next = cfg8(f, at + 1) & ~3u, cap = cfg16(f, at + 2);

		fprintf(out, "\tCapabilities: ");
		if (at + 4 > f->cfg_len) {
			fprintf(out, "<access denied>\n");
			break;
		}
		fprintf(out, "[%02zx] ", at);
		if (seen[at]) {
			fprintf(out, "<chain looped>\n");
			break;
		}
		seen[at] = true;
		switch (id) {
		case 0x00: fprintf(out, "Null\n"); break;
		case 0x01: cap_pm(out, f, at, cap, verbose); break;
		case 0x02: fprintf(out, "AGP <?>\n"); break;
		case 0x03: fprintf(out, "Vital Product Data\n"); break;
		case 0x04: fprintf(out, "Slot ID: %d slots, First%c, chassis %02x\n", cap & 0x1f,
				   flag(cap, 0x20), cap >> 8); break;
		case 0x05: cap_msi(out, f, at, cap, verbose); break;
		case 0x06: fprintf(out, "CompactPCI hot-swap <?>\n"); break;
		case 0x07: fprintf(out, "PCI-X <?>\n"); break;
		case 0x08: fprintf(out, "HyperTransport <?>\n"); break;
		case 0x09: cap_vendor(out, f, at, cap, verbose); break;
		case 0x0a: fprintf(out, "Debug port: BAR=%d offset=%04x\n", cap >> 13,
				   cap & 0x1fff); break;
		case 0x0b: fprintf(out, "CompactPCI central resource control <?>\n"); break;
		case 0x0c: fprintf(out, "Hot-plug capable\n"); break;
		case 0x0d: fprintf(out, "Subsystem: <?>\n"); break;
		case 0x0e: fprintf(out, "AGP3 <?>\n"); break;
		case 0x0f: fprintf(out, "Secure device <?>\n"); break;
		case 0x10: cap_express(out, f, at, cap, verbose); break;
		case 0x11: cap_msix(out, f, at, cap, verbose); break;
		case 0x12: fprintf(out, "SATA HBA <?>\n"); break;
		case 0x13: fprintf(out, "PCI Advanced Features <?>\n"); break;
		case 0x14: fprintf(out, "Enhanced Allocation <?>\n"); break;
		case 0xff: fprintf(out, "<chain broken>\n"); return;
		default: fprintf(out, "Capability ID %#02x [%04x]\n", id, cap); break;
		}
		at = next;
	}
}

/* Names of the extended capabilities rpci-lspci knows (by id). */
static const char *
ecap_name(unsigned int id)
{
	switch (id) {
	case 0x01: return "Advanced Error Reporting";
	case 0x02: case 0x09: return "Virtual Channel";
	case 0x03: return "Device Serial Number";
	case 0x04: return "Power Budgeting <?>";
	case 0x0b: return "Vendor Specific Information";
	case 0x0d: return "Access Control Services";
	case 0x0e: return "Alternative Routing-ID Interpretation (ARI)";
	case 0x10: return "Single Root I/O Virtualization (SR-IOV)";
	case 0x15: return "Physical Resizable BAR";
	case 0x18: return "Latency Tolerance Reporting";
	case 0x19: return "Secondary PCI Express";
	case 0x1e: return "L1 PM Substates";
	case 0x25: return "Data Link Feature <?>";
	case 0x26: return "Physical Layer 16.0 GT/s <?>";
	default: return NULL;
	}
}

/* The extended capabilities from 0x100 (4096 bytes read): names only. */
static void
show_ext_caps(FILE *out, const struct lspci_func *f)
{
	bool seen[1024] = { false };
	size_t at = 0x100;

	if (f->cfg_len < 4096) {
		return;
	}
	while (at >= 0x100 && at + 4 <= f->cfg_len) {
		uint32_t h = cfg32(f, at);
		const char *name;

		if (h == 0 || h == 0xffffffff) {
			return;
		}
		fprintf(out, "\tCapabilities: [%03zx", at);
		if (seen[at / 4]) {
			fprintf(out, "] <chain looped>\n");
			return;
		}
		seen[at / 4] = true;
		fprintf(out, " v%u] ", (h >> 16) & 0xf);
		name = ecap_name(h & 0xffff);
		if (name != NULL) {
			fprintf(out, "%s\n", name);
		} else {
			fprintf(out, "Extended Capability ID %#02x\n", h & 0xffff);
		}
		at = (h >> 20) & ~3u;
	}
}

void
lspci_show(FILE *out, const struct lspci_ids *ids, const struct lspci_func *f, int verbose,
	   int hex, enum lspci_numeric num)
{
	unsigned int htype = cfg8(f, 0x0e) & 0x7f;
	size_t n;

	show_terse(out, ids, f, verbose, num);
	if (verbose) {
		if (htype != 0) {
			fprintf(out, "\t!!! header type %02x: only endpoints are decoded\n", htype);
		} else {
			show_header(out, f, verbose);
			show_bases(out, f, verbose);
			show_caps(out, f, verbose);
			show_ext_caps(out, f);
		}
	}
	if (hex) {
		n = hex >= 4 ? 4096 : hex >= 3 ? 256 : 64;
		lspci_hexdump(out, f->cfg, n < f->cfg_len ? n : f->cfg_len);
	}
	if (verbose || hex) {
		fputc('\n', out);
	}
}
