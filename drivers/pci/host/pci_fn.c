/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * A real PCI function of the server host, served to a client across the
 * fabric: configuration requests through the access ops (libpciaccess),
 * memory requests on the function's BARs, inside an access policy.
 *
 * The BAR registers and the expansion ROM register are emulated (as VFIO
 * does): reads give the host's addresses, or the size mask after a write
 * of all ones; the function's own registers are never written, so the
 * host's driver of the function is not disturbed. Everything a policy does
 * not allow is refused with an Unsupported Request completion (requests)
 * or dropped (posted writes), and counted.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_log.h>

#include "rpci_link.h"
#include "rpci_pci_host.h"
#include "rpci_tlp.h"

RTE_LOG_REGISTER(rpci_pci_fn_logtype, rpci.driver.pci_host, INFO);

#define FN_LOG(level, fn, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_pci_fn_logtype, "rpci.pci_host: %s: %s(): " fmt "\n", \
		(fn)->name, __func__, ##__VA_ARGS__)

#define CFG_REGS 1024      /* DWs of configuration space (4 KiB) */
#define REG_BAR0 4         /* DW of BAR0 */
#define REG_BAR5 9
#define REG_ROM 12         /* DW of the expansion ROM BAR (header type 0) */
#define ROM_SLOT 6         /* index of the ROM in the sizing flags */

struct rpci_pci_fn {
	char name[32];
	struct rpci_pci_host_func func;
	struct rpci_pci_policy policy;
	const struct rpci_pci_access_ops *ops;
	void *ctx;
	uint16_t completer_id;
	/* the host's BAR registers, and what they decode */
	uint32_t bar_reg[6];
	uint32_t rom_reg;
	uint64_t bar_base[6];
	bool bar_mem[6];        /* a memory BAR (else I/O or none) */
	bool bar_upper[6];      /* the upper half of the 64-bit BAR before it */
	bool sizing[7];         /* BARs 0..5 and the ROM: all ones was written */
	struct rpci_link_session *session;
	struct rpci_pci_fn_stats stats;
};

/* ----------------------------------------------------------- BAR decoding */

static bool
range_in(uint64_t addr, uint64_t len, uint64_t base, uint64_t size)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

static int
bars_decode(struct rpci_pci_fn *fn)
{
	uint32_t v;
	int i, ret;

	for (i = 0; i < 6; i++) {
		ret = fn->ops->cfg_read(fn->ctx, (uint16_t)((REG_BAR0 + i) * 4), &fn->bar_reg[i]);
		if (ret < 0) {
			return ret;
		}
	}
	ret = fn->ops->cfg_read(fn->ctx, REG_ROM * 4, &fn->rom_reg);
	if (ret < 0) {
		return ret;
	}
	for (i = 0; i < 6; i++) {
		v = fn->bar_reg[i];
		if (fn->bar_upper[i] || fn->func.bar_size[i] == 0 || (v & 1) != 0) {
			continue; /* the upper half, absent, or I/O space (not served) */
		}
		fn->bar_mem[i] = true;
		fn->bar_base[i] = v & ~0xfull;
		if (((v >> 1) & 3) == 2 && i < 5) {
			fn->bar_base[i] |= (uint64_t)fn->bar_reg[i + 1] << 32;
			fn->bar_upper[i + 1] = true;
		}
	}
	return 0;
}

/* Each range of the policy must lie inside a memory BAR of the function. */
static int
policy_check(const struct rpci_pci_fn *fn)
{
	unsigned int i;

	if (fn->policy.nb_ranges > RPCI_PCI_POLICY_RANGES_MAX) {
		return -EINVAL;
	}
	for (i = 0; i < fn->policy.nb_ranges; i++) {
		uint8_t b = fn->policy.ranges[i].bar;

		if (b > 5 || !fn->bar_mem[b] ||
		    !range_in(fn->policy.ranges[i].offset, fn->policy.ranges[i].size, 0,
			      fn->func.bar_size[b]) || fn->policy.ranges[i].size == 0) {
			FN_LOG(ERR, fn, "policy range %u (BAR%u +0x%" PRIx64 ", 0x%" PRIx64
			       " bytes) is not inside a memory BAR of the function (BAR%u: %"
			       PRIu64 " bytes%s)", i, b, fn->policy.ranges[i].offset,
			       fn->policy.ranges[i].size, b, b <= 5 ? fn->func.bar_size[b] : 0,
			       b <= 5 && fn->func.bar_size[b] != 0 && !fn->bar_mem[b] ?
			       ", not memory space" : "");
			return -EINVAL;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- lifecycle */

struct rpci_pci_fn *
rpci_pci_fn_create(const struct rpci_pci_fn_params *params)
{
	struct rpci_pci_fn *fn;
	uint32_t hdr;
	int ret = -EINVAL;

	if (params == NULL || params->ops == NULL || params->ops->cfg_read == NULL ||
	    params->ops->cfg_write == NULL || params->ops->bar_read == NULL ||
	    params->ops->bar_write == NULL) {
		goto close_ctx;
	}
	fn = calloc(1, sizeof(*fn));
	if (fn == NULL) {
		ret = -ENOMEM;
		goto close_ctx;
	}
	snprintf(fn->name, sizeof(fn->name), "%s", params->name ? params->name : "pci");
	fn->func = params->func;
	fn->policy = params->policy;
	fn->ops = params->ops;
	fn->ctx = params->ctx;
	fn->completer_id = params->completer_id;
	ret = fn->ops->cfg_read(fn->ctx, 0x0c, &hdr);
	if (ret < 0) {
		ret = -EIO;
		goto free_fn;
	}
	if (((hdr >> 16) & 0x7f) != 0) {
		FN_LOG(ERR, fn, "header type %u: only endpoints (type 0) are served",
		       (hdr >> 16) & 0x7f);
		ret = -EINVAL;
		goto free_fn;
	}
	ret = bars_decode(fn);
	if (ret < 0) {
		ret = -EIO;
		goto free_fn;
	}
	ret = policy_check(fn);
	if (ret < 0) {
		goto free_fn;
	}
	return fn;

free_fn:
	free(fn);
	errno = -ret;
	if (params->ops->close != NULL) {
		params->ops->close(params->ctx);
	}
	return NULL;
close_ctx:
	if (params != NULL && params->ops != NULL && params->ops->close != NULL) {
		params->ops->close(params->ctx);
	}
	errno = -ret;
	return NULL;
}

void
rpci_pci_fn_free(struct rpci_pci_fn *fn)
{
	if (fn == NULL) {
		return;
	}
	if (fn->ops->close != NULL) {
		fn->ops->close(fn->ctx);
	}
	free(fn);
}

const struct rpci_pci_host_func *
rpci_pci_fn_func(const struct rpci_pci_fn *fn)
{
	return &fn->func;
}

int
rpci_pci_fn_bind(struct rpci_pci_fn *fn, struct rpci_link_session *s)
{
	if (fn->session != NULL) {
		return -EBUSY;
	}
	memset(fn->sizing, 0, sizeof(fn->sizing));
	fn->session = s;
	fn->stats.sessions++;
	return 0;
}

void
rpci_pci_fn_unbind(struct rpci_pci_fn *fn)
{
	fn->session = NULL;
	memset(fn->sizing, 0, sizeof(fn->sizing));
}

struct rpci_link_session *
rpci_pci_fn_session(const struct rpci_pci_fn *fn)
{
	return fn->session;
}

void
rpci_pci_fn_stats_get(const struct rpci_pci_fn *fn, struct rpci_pci_fn_stats *stats)
{
	*stats = fn->stats;
}

/* ------------------------------------------------------ configuration space */

/* What the emulated BAR or ROM register slot reads. */
static uint32_t
bar_reg_read(const struct rpci_pci_fn *fn, unsigned int slot)
{
	uint64_t size, mask;

	if (slot == ROM_SLOT) {
		if (!fn->sizing[ROM_SLOT]) {
			return fn->rom_reg;
		}
		size = fn->func.rom_size;
		return size == 0 ? 0 : ((uint32_t)~(size - 1) & 0xfffff800u) | (fn->rom_reg & 1);
	}
	if (!fn->sizing[slot]) {
		return fn->bar_reg[slot];
	}
	if (fn->bar_upper[slot]) {
		size = fn->func.bar_size[slot - 1];
		return size == 0 ? 0 : (uint32_t)(~(size - 1) >> 32);
	}
	size = fn->func.bar_size[slot];
	if (size == 0) {
		return 0;
	}
	mask = (fn->bar_reg[slot] & 1) ? 0x3 : 0xf;
	return ((uint32_t)~(size - 1) & ~(uint32_t)mask) | (fn->bar_reg[slot] & (uint32_t)mask);
}

/* The emulated slot of a register: 0..5 the BARs, ROM_SLOT, or -1. */
static int
bar_slot(uint16_t reg)
{
	if (reg >= REG_BAR0 && reg <= REG_BAR5) {
		return reg - REG_BAR0;
	}
	return reg == REG_ROM ? ROM_SLOT : -1;
}

int
rpci_pci_fn_cfg_read(struct rpci_pci_fn *fn, uint16_t reg, uint32_t *value)
{
	int slot = bar_slot(reg);

	if (reg >= CFG_REGS) {
		return -EINVAL;
	}
	if (slot >= 0) {
		*value = bar_reg_read(fn, (unsigned int)slot);
		return 0;
	}
	return fn->ops->cfg_read(fn->ctx, (uint16_t)(reg * 4), value) < 0 ? -EIO : 0;
}

int
rpci_pci_fn_cfg_write(struct rpci_pci_fn *fn, uint16_t reg, uint32_t value, uint8_t be)
{
	int slot = bar_slot(reg);

	if (reg >= CFG_REGS || (be & ~0xfu) != 0) {
		return -EINVAL;
	}
	if (slot >= 0) {
		/* Sizing only: all ones asks for the mask, anything else restores. */
		fn->sizing[slot] = be == 0xf && value == 0xffffffffu;
		return 0;
	}
	if (!fn->policy.config_write) {
		return -EPERM;
	}
	if (be == 0) {
		return 0;
	}
	return fn->ops->cfg_write(fn->ctx, (uint16_t)(reg * 4), value, be) < 0 ? -EIO : 0;
}

/* ------------------------------------------------------------------ memory */

/* The BAR that holds [addr, addr + len) and the offset in it; -EFAULT if none. */
static int
bar_find(const struct rpci_pci_fn *fn, uint64_t addr, uint32_t len, uint64_t *off)
{
	int i;

	for (i = 0; i < 6; i++) {
		if (fn->bar_mem[i] && fn->bar_base[i] != 0 &&
		    range_in(addr, len, fn->bar_base[i], fn->func.bar_size[i])) {
			*off = addr - fn->bar_base[i];
			return i;
		}
	}
	return -EFAULT;
}

/* Whether a range of the policy covers [off, off + len) of a BAR (write: bar-rw). */
static bool
policy_allows(const struct rpci_pci_fn *fn, int bar, uint64_t off, uint32_t len, bool write)
{
	unsigned int i;

	for (i = 0; i < fn->policy.nb_ranges; i++) {
		if (fn->policy.ranges[i].bar == bar && (!write || fn->policy.ranges[i].write) &&
		    range_in(off, len, fn->policy.ranges[i].offset, fn->policy.ranges[i].size)) {
			return true;
		}
	}
	return false;
}

int
rpci_pci_fn_mem_read(struct rpci_pci_fn *fn, uint64_t addr, void *dst, uint32_t len)
{
	uint64_t off = 0;
	int bar = bar_find(fn, addr, len, &off);

	if (bar < 0) {
		return bar;
	}
	if (!policy_allows(fn, bar, off, len, false)) {
		return -EPERM;
	}
	return fn->ops->bar_read(fn->ctx, bar, off, dst, len) < 0 ? -EIO : 0;
}

int
rpci_pci_fn_mem_write(struct rpci_pci_fn *fn, uint64_t addr, const void *src, uint32_t len)
{
	uint64_t off = 0;
	int bar = bar_find(fn, addr, len, &off);

	if (bar < 0) {
		return bar;
	}
	if (!policy_allows(fn, bar, off, len, true)) {
		return -EPERM;
	}
	return fn->ops->bar_write(fn->ctx, bar, off, src, len) < 0 ? -EIO : 0;
}

/* ------------------------------------------------------------ the fabric */

static int
send_cpl(struct rpci_pci_fn *fn, const struct rpci_tlp *req, uint8_t status)
{
	struct rpci_tlp cpl;

	rpci_tlp_cpl_for(&cpl, req, fn->completer_id, status);
	return rpci_link_send(fn->session, &cpl, NULL, 0);
}

/* A request refused: UR (outside the function or the policy) or CA (it failed). */
static int
refuse(struct rpci_pci_fn *fn, const struct rpci_tlp *req, int err)
{
	if (err == -EIO) {
		fn->stats.errors++;
		send_cpl(fn, req, RPCI_TLP_CPL_CA);
	} else {
		fn->stats.refused++;
		send_cpl(fn, req, RPCI_TLP_CPL_UR);
	}
	return err;
}

/* Answer a read with its data (data[0] is the request's first DW), split at max payload. */
static int
send_data(struct rpci_pci_fn *fn, const struct rpci_tlp *req, const uint8_t *data,
	  uint64_t dw_addr)
{
	uint32_t max_payload = rpci_link_max_payload(rpci_link_session_link(fn->session));
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp cpl;
	uint64_t src;
	int ret;

	ret = rpci_tlp_cpl_iter_init(&it, req, fn->completer_id, max_payload);
	if (ret < 0) {
		return ret;
	}
	while (rpci_tlp_cpl_iter_next(&it, &cpl, &src) == 1) {
		ret = rpci_link_send(fn->session, &cpl,
				     rpci_tlp_payload_len(&cpl) ? data + (src - dw_addr) : NULL,
				     RPCI_LINK_SEND_COPY);
		if (ret < 0) {
			return ret; /* room was checked: only a dead session gets here */
		}
	}
	return 0;
}

static int
rx_cfg(struct rpci_pci_fn *fn, const struct rpci_tlp *msg)
{
	uint32_t v = 0;
	int ret;

	if (msg->completer_id != fn->completer_id) {
		fn->stats.refused++;
		send_cpl(fn, msg, RPCI_TLP_CPL_UR);
		return -ENODEV;
	}
	if (msg->type == RPCI_TLP_CFGWR) {
		uint32_t le;

		memcpy(&le, msg->payload, sizeof(le));
		ret = rpci_pci_fn_cfg_write(fn, msg->reg, rte_le_to_cpu_32(le), msg->first_be);
		if (ret < 0) {
			FN_LOG(DEBUG, fn, "configuration write of 0x%x refused: %s", msg->reg * 4,
			       strerror(-ret));
			return refuse(fn, msg, ret);
		}
		fn->stats.cfg_writes++;
		return send_cpl(fn, msg, RPCI_TLP_CPL_SC);
	}
	ret = rpci_pci_fn_cfg_read(fn, msg->reg, &v);
	if (ret < 0) {
		return refuse(fn, msg, ret == -EIO ? -EFAULT : ret); /* no such register: UR */
	}
	fn->stats.cfg_reads++;
	v = rte_cpu_to_le_32(v);
	return send_data(fn, msg, (const uint8_t *)&v, (uint64_t)msg->reg * 4);
}

static int
rx_mrd(struct rpci_pci_fn *fn, const struct rpci_tlp *msg)
{
	uint8_t buf[RPCI_TLP_MAX_PAYLOAD];
	uint32_t first, count;
	int ret;

	/* the bytes the completion carries, those not read as zeros */
	memset(buf, 0, RTE_MIN((size_t)msg->length_dw * 4, sizeof(buf)));
	count = rpci_tlp_byte_range(msg, &first);
	/* Only the enabled bytes are read: a register may change when read. */
	if (count > 0) {
		ret = rpci_pci_fn_mem_read(fn, msg->address + first, buf + first, count);
		if (ret < 0) {
			FN_LOG(DEBUG, fn, "read of 0x%" PRIx64 " (%u bytes) refused: %s",
			       msg->address + first, count, strerror(-ret));
			return refuse(fn, msg, ret);
		}
	}
	fn->stats.mem_reads++;
	fn->stats.bytes_out += count;
	return send_data(fn, msg, buf, msg->address);
}

static int
rx_mwr(struct rpci_pci_fn *fn, const struct rpci_tlp *msg)
{
	uint32_t first, count;
	int ret;

	count = rpci_tlp_byte_range(msg, &first);
	if (count == 0) {
		return 0;
	}
	ret = rpci_pci_fn_mem_write(fn, msg->address + first,
				    (const uint8_t *)msg->payload + first, count);
	if (ret < 0) {
		fn->stats.dropped++;
		FN_LOG(DEBUG, fn, "write of 0x%" PRIx64 " (%u bytes) dropped: %s",
		       msg->address + first, count, strerror(-ret));
		return ret;
	}
	fn->stats.mem_writes++;
	fn->stats.bytes_in += count;
	return 0;
}

int
rpci_pci_fn_rx(struct rpci_pci_fn *fn, const struct rpci_tlp *msg)
{
	uint32_t max_payload, need;

	if (fn->session == NULL) {
		return -ENOTCONN;
	}
	switch (msg->type) {
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
	case RPCI_TLP_MRD:
		/* Room for the whole answer first: the access must not be done twice. */
		max_payload = rpci_link_max_payload(rpci_link_session_link(fn->session));
		need = (msg->length_dw * 4 + max_payload - 1) / max_payload + 1;
		if (rpci_link_tx_room_for(fn->session, RPCI_TLP_CPLD) < need) {
			return -EAGAIN;
		}
		return msg->type == RPCI_TLP_MRD ? rx_mrd(fn, msg) : rx_cfg(fn, msg);
	case RPCI_TLP_MWR:
		return rx_mwr(fn, msg);
	default:
		/* Completions (the function reads nothing of the client's), messages. */
		fn->stats.unsupported++;
		return -EOPNOTSUPP;
	}
}
