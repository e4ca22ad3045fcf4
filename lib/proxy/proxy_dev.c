/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * A program's device at the proxy: the session to its server, the
 * program's requests forwarded to it, and what the device sends back
 * routed to the program that owns it (completions by tag and requester id,
 * DMA into that program's memory only, MSIs to that program only).
 *
 * What never changes during a session is answered here without a round
 * trip: the identity dwords of the configuration header (read once at
 * attach, forgotten at a function-level reset) and, for an rpci virtual
 * GPU, its read-only registers and its API info block (kept from the first
 * read that returns them): a program's OpenCL ICD reads every
 * clGetDeviceInfo value from that block, so the server answers it once per
 * session.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>

#include "proxy_private.h"
#include "rpci_vgpu_hw.h"

/* Configuration dwords the PCI specification makes read-only: vendor and
 * device, revision and class, subsystem, capabilities pointer. */
static const uint8_t g_cfg_stable[] = { 0x00 / 4, 0x08 / 4, 0x2c / 4, 0x34 / 4 };

/* Read-only registers of the rpci virtual GPU's BAR0 (offset, length). */
static const struct {
	uint16_t off;
	uint16_t len;
} g_vgpu_ro[] = {
	{ RPCI_VGPU_REG_ID, 12 },             /* ID, VERSION, CAPS */
	{ RPCI_VGPU_REG_MEM_SIZE, 8 },
	{ RPCI_VGPU_REG_COMPUTE_UNITS, 4 },
	{ RPCI_VGPU_REG_INFO_LEN, 4 },
	{ RPCI_VGPU_REG_BACKEND, 128 },       /* BACKEND, DEVICE_NAME */
	/* and the API info block, [RPCI_VGPU_REG_INFO, + RPCI_VGPU_INFO_MAX): ro_slot() */
};

_Static_assert(RPCI_VGPU_REG_INFO % 8 == 0 && RPCI_VGPU_REG_INFO >= VGPU_RO_LEN,
	       "the info block's shadow has a bitmap of its own");

static const char *const g_state_names[] = {
	[PD_FREE] = "free",
	[PD_WAIT_ATTACH] = "waiting-for-selector",
	[PD_CONNECTING] = "connecting",
	[PD_RETRY] = "retrying",
	[PD_SNAPSHOT] = "attaching",
	[PD_OPEN] = "open",
	[PD_LOST] = "lost",
	[PD_CLOSING] = "closing",
};

const char *
proxy_dev_state_name(enum pdev_state st)
{
	return (unsigned int)st < RTE_DIM(g_state_names) ? g_state_names[st] : "?";
}

int
proxy_dev_init(struct proxy_dev *d, struct proxy_app *app, uint8_t slot)
{
	memset(d, 0, sizeof(*d));
	d->app = app;
	d->slot = slot;
	d->sel_req = -1;
	d->tags = rpci_tlp_tags_create(DEV_TAGS);
	return d->tags == NULL ? -ENOMEM : 0;
}

/* Forget what the device's registers and info block said. */
static void
ro_forget(struct proxy_dev *d)
{
	memset(d->ro_known, 0, sizeof(d->ro_known));
	if (d->info_known != NULL) {
		memset(d->info_known, 0, RPCI_VGPU_INFO_MAX / 8);
	}
}

void
proxy_dev_fini(struct proxy_dev *d)
{
	rpci_tlp_tags_free(d->tags);
	d->tags = NULL;
	free(d->info);
	d->info = NULL;
	d->info_known = NULL;
}

static struct rpci_proxy *
dev_proxy(const struct proxy_dev *d)
{
	return d->app->p;
}

static void
dev_attn(struct proxy_dev *d, bool on)
{
	if (on) {
		d->app->attn |= 1u << d->slot;
	} else {
		d->app->attn &= ~(1u << d->slot);
	}
}

/* Show the program the slot's state (the epoch and MSI count first). */
static void
dev_publish(struct proxy_dev *d, uint32_t state)
{
	struct rpci_ipc_dev_status *st = &d->app->cp->dev[d->slot];

	if (state == RPCI_IPC_DEV_OPEN) {
		__atomic_store_n(&st->msi, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&st->resets, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&st->epoch, d->epoch, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&st->state, state, __ATOMIC_RELEASE);
	d->app->need_wake = true;
}

const struct proxy_dev *
proxy_dev_holder(struct rpci_proxy *p, const struct rte_ether_addr *mac, uint16_t function,
		 const struct proxy_dev *self)
{
	uint32_t i, k;

	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *a = p->apps[i];

		if (a == NULL) {
			continue;
		}
		for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
			const struct proxy_dev *o = &a->dev[k];

			if (o != self && o->state != PD_FREE && o->function == function &&
			    rte_is_same_ether_addr(&o->server_mac, mac)) {
				return o;
			}
		}
	}
	return NULL;
}

/* ------------------------------------------------------------- reads */

static struct pread *
pread_alloc(struct proxy_dev *d, uint8_t kind, uint64_t cookie)
{
	uint32_t i;

	for (i = 0; i < DEV_READS; i++) {
		struct pread *r = &d->reads[i];

		if (!r->in_use) {
			memset(r, 0, sizeof(*r));
			r->in_use = true;
			r->kind = kind;
			r->cookie = cookie;
			d->nb_reads++;
			return r;
		}
	}
	return NULL;
}

static void
pread_free(struct proxy_dev *d, struct pread *r)
{
	r->in_use = false;
	d->nb_reads--;
}

static uint8_t
pread_op(const struct pread *r)
{
	switch (r->kind) {
	case PR_MRD:
		return RPCI_IPC_OP_MRD;
	case PR_CFGRD:
		return RPCI_IPC_OP_CFGRD;
	default:
		return RPCI_IPC_OP_CFGWR;
	}
}

/* A read whose wire requests are all answered (and all issued) completes. */
static void
pread_maybe_done(struct proxy_dev *d, struct pread *r, bool issuing)
{
	if (r->chunks > 0 || issuing) {
		return;
	}
	if (r->kind == PR_SNAPSHOT) {
		pread_free(d, r);
		return;
	}
	proxy_app_post(d->app, r->cookie, r->error, r->kind == PR_MRD ? r->done : 0, r->value,
		       pread_op(r), d->slot);
	pread_free(d, r);
}

/* Fail every read and fence of the device (its session is gone). */
static void
dev_fail_inflight(struct proxy_dev *d, int err)
{
	uint32_t i;
	uint16_t t;

	for (t = 0; t < DEV_TAGS; t++) {
		rpci_tlp_tag_release(d->tags, t, NULL);
	}
	for (i = 0; i < DEV_READS; i++) {
		struct pread *r = &d->reads[i];

		if (r->in_use) {
			r->chunks = 0;
			r->error = err;
			pread_maybe_done(d, r, false);
		}
	}
	while (d->fence_head != d->fence_tail) {
		proxy_app_post(d->app, d->fence[d->fence_head % DEV_FENCES].cookie, err, 0, 0,
			       RPCI_IPC_OP_FENCE, d->slot);
		d->fence_head++;
	}
}

/* ------------------------------------------------- opening and closing */

static void
dev_free_session(struct proxy_dev *d)
{
	if (d->s != NULL) {
		rpci_link_session_set_priv(d->s, NULL);
		rpci_link_session_free(d->s);
		d->s = NULL;
	}
}

void
proxy_dev_info(const struct proxy_dev *d, struct rpci_ipc_dev_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->server, sizeof(info->server), "%s", d->server);
	snprintf(info->device, sizeof(info->device), "%s", d->device);
	info->lease_id = d->lease_id;
	info->completer_id = d->completer_id;
	info->function = d->function;
	info->epoch = d->epoch;
	info->kind = d->kind;
	snprintf(info->pci_address, sizeof(info->pci_address), "%s", d->pci_address);
}

/* The OPEN or RECONNECT the program waits for ends (status 0: open). */
static void
dev_ctrl_answer(struct proxy_dev *d, int status)
{
	struct rpci_ipc_open_reply *rep;

	if (!d->ctrl.pending) {
		return;
	}
	rep = proxy_app_reply(d->app, &d->ctrl);
	if (rep != NULL && status == 0) {
		struct rpci_ipc_dev_info info;

		proxy_dev_info(d, &info);
		memcpy(&rep->info, &info, sizeof(info));
	}
	proxy_ctrl_done(d->app, &d->ctrl, status, sizeof(*rep), status < 0 ? d->reason : "");
}

/* Opening failed for good. */
static void
dev_open_failed(struct proxy_dev *d, int err)
{
	bool reconnect = d->ctrl.pending && d->ctrl.op == RPCI_IPC_OP_RECONNECT;

	dev_free_session(d);
	PROXY_LOG(INFO, "program %u device %u (%s/%s): %s", d->app->id, d->slot, d->server,
		  d->device, d->reason);
	if (d->sel_req >= 0) {
		proxy_sel_dev_opened(d, err); /* it releases the attachments */
		d->state = PD_FREE;
		dev_publish(d, RPCI_IPC_DEV_FREE);
		dev_attn(d, false);
		return;
	}
	if (d->lease_id != 0) {
		proxy_sel_release(dev_proxy(d), d->lease_id);
		d->lease_id = 0;
	}
	dev_ctrl_answer(d, err);
	/* A failed reconnect leaves the slot lost; a failed open frees it. */
	d->state = reconnect ? PD_LOST : PD_FREE;
	dev_publish(d, reconnect ? RPCI_IPC_DEV_LOST : RPCI_IPC_DEV_FREE);
	dev_attn(d, reconnect);
}

static void
dev_connect_start(struct proxy_dev *d)
{
	struct rpci_proxy *p = dev_proxy(d);
	const struct proxy_dev *holder;
	struct rpci_link_open_msg req;

	/*
	 * Another program of this host holds the device: refused; unless it is
	 * closing (a program that just went away), then we wait for it.
	 */
	holder = proxy_dev_holder(p, &d->server_mac, d->function, d);
	if (holder != NULL && holder->state == PD_CLOSING && ++d->waits < CLOSE_TIMEOUT_MS / 5) {
		d->state = PD_RETRY;
		d->retry_tsc = proxy_now() + proxy_ms_tsc(p, 5);
		dev_attn(d, true);
		return;
	}
	if (holder != NULL) {
		snprintf(d->reason, sizeof(d->reason), "%.24s/%.24s is held by another program of "
			 "this host", d->server, d->device);
		dev_open_failed(d, -EBUSY);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.function = d->function;
	req.requester_id = d->app->requester_id;
	req.lease_id = d->lease_id;
	req.security = p->session_security;
	d->s = rpci_link_connect(p->link, &d->server_mac, &req);
	if (d->s == NULL) {
		snprintf(d->reason, sizeof(d->reason), "cannot open a session: %s",
			 rte_strerror(rte_errno));
		dev_open_failed(d, -rte_errno);
		return;
	}
	d->state = PD_CONNECTING;
	d->deadline_tsc = proxy_now() + proxy_ms_tsc(p, OPEN_TIMEOUT_MS);
	dev_attn(d, true);
}

/* What the deployment file says the function is: a virtual GPU or a host's PCI function. */
static void
dev_kind_learn(struct proxy_dev *d)
{
	const struct rpci_conf_host *h = rpci_conf_host_find(dev_proxy(d)->conf, d->server);
	const struct rpci_conf_device *cd;

	d->kind = RPCI_IPC_DEV_VGPU;
	d->pci_address[0] = '\0';
	if (h == NULL || d->function >= h->nb_devices) {
		return;
	}
	cd = &h->devices[d->function];
	if (cd->kind == RPCI_CONF_DEV_PCI) {
		d->kind = RPCI_IPC_DEV_PCI;
		snprintf(d->pci_address, sizeof(d->pci_address), "%04x:%02x:%02x.%u",
			 cd->pci_domain, cd->pci_bus, cd->pci_dev, cd->pci_func);
	}
}

void
proxy_dev_connect(struct proxy_dev *d, const struct rte_ether_addr *mac, uint16_t function,
		  uint64_t lease_id, const char *server, const char *device)
{
	snprintf(d->server, sizeof(d->server), "%s", server);
	snprintf(d->device, sizeof(d->device), "%s", device);
	rte_ether_addr_copy(mac, &d->server_mac);
	d->function = function;
	d->lease_id = lease_id;
	d->tries = 0;
	d->waits = 0;
	d->reason[0] = '\0';
	dev_kind_learn(d);
	dev_connect_start(d);
}

/* The session is open: read the configuration header before the program gets it. */
static void
dev_opened(struct proxy_dev *d, const struct rpci_link_open_msg *ack)
{
	rpci_link_session_set_priv(d->s, d);
	proxy_remember_peer(dev_proxy(d), &d->server_mac);
	d->completer_id = ack->completer_id;
	d->state = PD_SNAPSHOT;
	d->snapshot_next = 0;
	d->cfg_read = 0;
	d->cfg_valid = 0;
	d->bar0 = 0;
	d->is_vgpu = false;
	ro_forget(d);
	d->fence_head = d->fence_tail = 0;
}

static void
dev_open_done(struct proxy_dev *d)
{
	struct rpci_proxy *p = dev_proxy(d);
	bool reconnect = d->ctrl.pending && d->ctrl.op == RPCI_IPC_OP_RECONNECT;

	d->state = PD_OPEN;
	d->epoch++;
	dev_publish(d, RPCI_IPC_DEV_OPEN);
	dev_attn(d, false);
	p->stats.sessions_opened++;
	if (reconnect) {
		p->stats.failovers++;
	}
	{
		struct rpci_link_session_auth sa;

		rpci_link_session_auth_get(d->s, &sa);
		PROXY_LOG(INFO, "program %u (%s) device %u: %s/%s open (completer %04x, lease %"
			  PRIu64 ", frames %s)", d->app->id, d->app->name, d->slot, d->server,
			  d->device, d->completer_id, d->lease_id,
			  sa.security == RPCI_LINK_SEC_ENCRYPT ? "authenticated and encrypted" :
			  sa.security == RPCI_LINK_SEC_MAC ? "authenticated" :
			  "NOT authenticated");
	}
	if (d->sel_req >= 0) {
		proxy_sel_dev_opened(d, 0);
	} else {
		dev_ctrl_answer(d, 0);
	}
}

/* Read the configuration header, a dword a tag, as the link takes them. */
static void
dev_snapshot_step(struct proxy_dev *d)
{
	while (d->snapshot_next < CFG_SNAPSHOT_DW) {
		struct rpci_tlp req = {
			.type = RPCI_TLP_CFGRD,
			.first_be = 0xf,
			.length_dw = 1,
			.requester_id = d->app->requester_id,
			.completer_id = d->completer_id,
			.reg = (uint16_t)d->snapshot_next,
		};
		struct pread *r;
		int tag;

		if (rpci_link_tx_room_for(d->s, RPCI_TLP_CFGRD) == 0) {
			return;
		}
		r = pread_alloc(d, PR_SNAPSHOT, 0);
		if (r == NULL) {
			return;
		}
		tag = rpci_tlp_tag_alloc(d->tags, &req, r);
		if (tag < 0) {
			pread_free(d, r);
			return;
		}
		req.tag = (uint16_t)tag;
		r->addr = d->snapshot_next;
		r->chunks = 1;
		if (rpci_link_send(d->s, &req, NULL, 0) < 0) {
			rpci_tlp_tag_release(d->tags, (uint16_t)tag, NULL);
			pread_free(d, r);
			return;
		}
		d->snapshot_next++;
	}
	if (d->cfg_read == ~0ull && d->nb_reads == 0) {
		dev_open_done(d);
	}
}

void
proxy_dev_lost(struct proxy_dev *d, const char *why)
{
	if (d->state != PD_OPEN && d->state != PD_SNAPSHOT) {
		return;
	}
	PROXY_LOG(WARNING, "program %u (%s) device %u (%s/%s): %s", d->app->id, d->app->name,
		  d->slot, d->server, d->device, why);
	if (d->state == PD_SNAPSHOT) {
		snprintf(d->reason, sizeof(d->reason), "%s/%s: %s", d->server, d->device, why);
		dev_fail_inflight(d, -ENOTCONN);
		dev_open_failed(d, -ENOTCONN);
		return;
	}
	dev_fail_inflight(d, -ENOTCONN);
	d->state = PD_LOST;
	dev_publish(d, RPCI_IPC_DEV_LOST);
	dev_attn(d, true);
}

void
proxy_dev_close(struct proxy_dev *d, bool wait)
{
	struct rpci_proxy *p = dev_proxy(d);

	if (d->lease_id != 0) {
		proxy_sel_release(p, d->lease_id);
		d->lease_id = 0;
	}
	dev_fail_inflight(d, -ENOTCONN);
	if (d->ctrl.pending && d->ctrl.op != RPCI_IPC_OP_CLOSE) {
		snprintf(d->reason, sizeof(d->reason), "closed while opening");
		dev_ctrl_answer(d, -ECANCELED);
	}
	if (d->s != NULL && wait && rpci_link_close_start(d->s) == 0) {
		d->state = PD_CLOSING;
		d->deadline_tsc = proxy_now() + proxy_ms_tsc(p, CLOSE_TIMEOUT_MS);
		dev_attn(d, true);
		return;
	}
	dev_free_session(d);
	d->state = PD_FREE;
	d->sel_req = -1;
	dev_publish(d, RPCI_IPC_DEV_FREE);
	dev_attn(d, false);
	if (d->ctrl.pending) {
		proxy_ctrl_done(d->app, &d->ctrl, 0, sizeof(struct rpci_ipc_reply), "");
	}
}

int
proxy_dev_timers(struct proxy_dev *d)
{
	struct rpci_proxy *p = dev_proxy(d);
	struct rpci_link_open_msg ack;
	struct rpci_sel_attachment att;
	uint64_t now = proxy_now();
	int ret;

	switch (d->state) {
	case PD_CONNECTING:
		memset(&ack, 0, sizeof(ack));
		ret = rpci_link_session_answer(d->s, &ack);
		if (ret == 0) {
			dev_opened(d, &ack);
			dev_snapshot_step(d);
			return 1;
		}
		if (ret == -EINPROGRESS) {
			if (now > d->deadline_tsc) {
				snprintf(d->reason, sizeof(d->reason), "server '%s' did not answer",
					 d->server);
				dev_open_failed(d, -ETIMEDOUT);
				return 1;
			}
			return 0;
		}
		dev_free_session(d);
		ack.reason[sizeof(ack.reason) - 1] = '\0';
		if (ret == -EAGAIN && ++d->tries < OPEN_RETRIES) {
			/* Not yet: the server learns of the attachment, or clears the device. */
			d->state = PD_RETRY;
			d->retry_tsc = now + proxy_ms_tsc(p, OPEN_RETRY_MS);
			return 1;
		}
		snprintf(d->reason, sizeof(d->reason), "server '%.24s' refused function %u: %.64s",
			 d->server, d->function, ack.reason[0] ? ack.reason : strerror(-ret));
		dev_open_failed(d, ret);
		return 1;
	case PD_RETRY:
		if (now >= d->retry_tsc) {
			dev_connect_start(d);
			return 1;
		}
		return 0;
	case PD_SNAPSHOT:
		dev_snapshot_step(d);
		return 0;
	case PD_WAIT_ATTACH:
		if (proxy_sel_take_failover(p, d->request_id, &att)) {
			PROXY_LOG(INFO, "program %u device %u: the selector moved it to %s/%s",
				  d->app->id, d->slot, att.server, att.device);
			proxy_dev_connect(d, (const struct rte_ether_addr *)att.server_mac,
					  att.function, att.lease_id, att.server, att.device);
			return 1;
		}
		if (now > d->deadline_tsc) {
			snprintf(d->reason, sizeof(d->reason), "lost the device on '%s' and the "
				 "selector moved it nowhere in time", d->server);
			dev_open_failed(d, -ENOTCONN);
			return 1;
		}
		return 0;
	case PD_LOST:
		dev_free_session(d);
		dev_attn(d, false);
		return 0;
	case PD_CLOSING:
		ret = rpci_link_close_poll(d->s);
		if (ret == -EINPROGRESS && now <= d->deadline_tsc) {
			return 0;
		}
		dev_free_session(d);
		d->state = PD_FREE;
		d->sel_req = -1;
		dev_publish(d, RPCI_IPC_DEV_FREE);
		dev_attn(d, false);
		if (d->ctrl.pending) {
			proxy_ctrl_done(d->app, &d->ctrl, 0, sizeof(struct rpci_ipc_reply), "");
		}
		return 1;
	case PD_OPEN:
		/* fences whose frames the peer has acked */
		while (d->fence_head != d->fence_tail &&
		       rpci_link_session_acked(d->s, d->fence[d->fence_head % DEV_FENCES].seq)) {
			proxy_app_post(d->app, d->fence[d->fence_head % DEV_FENCES].cookie, 0, 0, 0,
				       RPCI_IPC_OP_FENCE, d->slot);
			d->fence_head++;
		}
		if (d->fence_head == d->fence_tail) {
			dev_attn(d, false);
		}
		return 0;
	default:
		dev_attn(d, false);
		return 0;
	}
}

/* ----------------------------------------------------- the requests */

/* The PCI Express capability's Device Control dword in the snapshot, or -1. */
static int
cfg_devctl_dw(const struct proxy_dev *d)
{
	uint32_t ptr, guard = 0;

	if (!(d->cfg_read & (1ull << (0x34 / 4)))) {
		return -1;
	}
	ptr = d->cfg[0x34 / 4] & 0xfc;
	while (ptr >= 0x40 && ptr < CFG_SNAPSHOT_DW * 4 && guard++ < 48) {
		uint32_t hdr = d->cfg[ptr / 4];

		if ((hdr & 0xff) == 0x10) {
			return (int)(ptr + 8) / 4;
		}
		ptr = (hdr >> 8) & 0xfc;
	}
	return -1;
}

/* What the device told us about itself is gone after a function-level reset. */
static void
dev_forget(struct proxy_dev *d)
{
	d->cfg_valid = 0;
	d->bar0 = 0;
	d->is_vgpu = false;
	ro_forget(d);
}

/* What a configuration write changes in what we answer locally. */
static void
cfg_write_seen(struct proxy_dev *d, uint16_t reg, uint32_t value, uint8_t be)
{
	int devctl = cfg_devctl_dw(d);

	if (reg < CFG_SNAPSHOT_DW) {
		d->cfg_valid &= ~(1ull << reg);
	}
	if (reg == RPCI_VGPU_CFG_BAR0 / 4 && be == 0xf) {
		d->bar0 = (value & ~0xfu) == 0xfffffff0u ? 0 : (value & ~0xfu);
		ro_forget(d);
	}
	if (devctl >= 0 && reg == devctl && (be & 0x2) && (value & (1u << 15))) {
		/* Function-level reset: forget everything the device told us. */
		dev_forget(d);
	}
}

static bool
ro_byte(uint32_t off)
{
	uint32_t i;

	for (i = 0; i < RTE_DIM(g_vgpu_ro); i++) {
		if (off >= g_vgpu_ro[i].off &&
		    off < (uint32_t)g_vgpu_ro[i].off + g_vgpu_ro[i].len) {
			return true;
		}
	}
	return false;
}

/*
 * Where the shadow keeps byte off of BAR0 and its known bit (bit off % 8 of
 * *known): false if that byte is not read-only. The info block's shadow is
 * allocated by the first read that brings some of it (alloc).
 */
static bool
ro_slot(struct proxy_dev *d, uint32_t off, bool alloc, uint8_t **byte, uint8_t **known)
{
	uint32_t i;

	if (off < VGPU_RO_LEN) {
		if (!ro_byte(off)) {
			return false;
		}
		*byte = &d->ro[off];
		*known = &d->ro_known[off / 8];
		return true;
	}
	if (off < RPCI_VGPU_REG_INFO || off - RPCI_VGPU_REG_INFO >= RPCI_VGPU_INFO_MAX) {
		return false;
	}
	if (d->info == NULL) {
		if (!alloc) {
			return false;
		}
		d->info = calloc(1, RPCI_VGPU_INFO_MAX + RPCI_VGPU_INFO_MAX / 8);
		if (d->info == NULL) {
			return false; /* then it is not kept: reads go to the device */
		}
		d->info_known = d->info + RPCI_VGPU_INFO_MAX;
	}
	i = off - RPCI_VGPU_REG_INFO;
	*byte = &d->info[i];
	*known = &d->info_known[i / 8];
	return true;
}

/* A read of BAR0 that the shadow answers entirely; *src: where its bytes are. */
static bool
ro_answers(struct proxy_dev *d, uint64_t addr, uint32_t len, const uint8_t **src)
{
	uint8_t *byte = NULL, *known;
	uint32_t off, i;

	if (!d->is_vgpu || d->bar0 == 0 || addr < d->bar0 ||
	    addr - d->bar0 >= RPCI_VGPU_BAR0_SIZE || len == 0 ||
	    len > RPCI_VGPU_BAR0_SIZE - (addr - d->bar0)) {
		return false;
	}
	off = (uint32_t)(addr - d->bar0);
	for (i = off; i < off + len; i++) {
		if (!ro_slot(d, i, false, &byte, &known) || !(*known & (1u << (i % 8)))) {
			return false;
		}
		if (i == off) {
			*src = byte; /* the read-only ranges are contiguous in their shadow */
		}
	}
	return true;
}

/* Keep the read-only bytes a forwarded read of BAR0 brought back. */
static void
ro_learn(struct proxy_dev *d, uint64_t addr, const uint8_t *data, uint32_t len)
{
	uint8_t *byte, *known;
	uint32_t off, i;
	uint32_t id;

	if (d->bar0 == 0 || addr < d->bar0 || addr - d->bar0 >= RPCI_VGPU_BAR0_SIZE) {
		return;
	}
	off = (uint32_t)(addr - d->bar0);
	if (off == RPCI_VGPU_REG_ID && len >= 4) {
		memcpy(&id, data, 4);
		d->is_vgpu = rte_le_to_cpu_32(id) == RPCI_VGPU_ID;
	}
	for (i = 0; i < len && off + i < RPCI_VGPU_BAR0_SIZE; i++) {
		if (ro_slot(d, off + i, true, &byte, &known)) {
			*byte = data[i];
			*known |= (uint8_t)(1u << ((off + i) % 8));
		}
	}
}

static int
req_mwr(struct proxy_dev *d, const struct rpci_ipc_req_view *v, uint32_t *done)
{
	struct rpci_proxy *p = dev_proxy(d);
	const struct rpci_ipc_req *r = &v->req;
	const uint8_t *src;
	unsigned int flags = RPCI_LINK_SEND_EXACT;
	uint32_t off = *done;
	int ret;

	if (d->state != PD_OPEN) {
		/* Posted: nobody waits; the next fence or read says the device is gone. */
		if (d->state == PD_FREE) {
			d->app->errors++;
			p->stats.requests_refused++;
		}
		return 0;
	}
	if (r->flags & RPCI_IPC_REQ_F_INLINE) {
		src = v->data;
		flags |= RPCI_LINK_SEND_COPY;
	} else {
		src = d->app->shm + r->buf;
		if (r->flags & RPCI_IPC_REQ_F_COPY) {
			flags |= RPCI_LINK_SEND_COPY;
		}
	}
	while (off < r->len) {
		uint64_t a = r->addr + off;
		uint32_t chunk = rpci_tlp_chunk_len(a, r->len - off, p->max_payload);
		struct rpci_tlp mwr = {
			.type = RPCI_TLP_MWR,
			.requester_id = d->app->requester_id,
		};

		rpci_tlp_set_byte_range(&mwr, a, chunk);
		/* The payload is DW-aligned to the address; EXACT reads only its bytes. */
		ret = rpci_link_send(d->s, &mwr, src + off - (a & 3), flags);
		if (ret == -EAGAIN) {
			*done = off;
			return -EAGAIN;
		}
		if (ret < 0) {
			break; /* -ENOTCONN: the session's end shows at the next fence */
		}
		off += chunk;
		d->app->bytes_out += chunk;
		p->stats.bytes_to_devices += chunk;
	}
	p->stats.mwr_forwarded++;
	return 0;
}

static int
req_mrd(struct proxy_dev *d, const struct rpci_ipc_req_view *v, uint32_t *done)
{
	struct rpci_proxy *p = dev_proxy(d);
	const struct rpci_ipc_req *r = &v->req;
	struct pread *rd = NULL;
	uint32_t i;

	if (d->state != PD_OPEN) {
		proxy_app_post(d->app, r->cookie, -ENOTCONN, 0, 0, r->op, d->slot);
		return 0;
	}
	if (*done == 0) {
		const uint8_t *shadow = NULL;

		if (ro_answers(d, r->addr, r->len, &shadow)) {
			memcpy(d->app->shm + r->buf, shadow, r->len);
			p->stats.mrd_local++;
			proxy_app_post(d->app, r->cookie, 0, r->len, 0, r->op, d->slot);
			return 0;
		}
		rd = pread_alloc(d, PR_MRD, r->cookie);
		if (rd == NULL) {
			return -EAGAIN;
		}
		rd->addr = r->addr;
		rd->dst = d->app->shm + r->buf;
		rd->len = r->len;
		p->stats.mrd_forwarded++;
	} else {
		for (i = 0; i < DEV_READS; i++) {
			if (d->reads[i].in_use && d->reads[i].kind == PR_MRD &&
			    d->reads[i].cookie == r->cookie && d->reads[i].issued == *done) {
				rd = &d->reads[i];
				break;
			}
		}
		if (rd == NULL) {
			return 0; /* failed meanwhile (session lost): already answered */
		}
	}
	while (rd->issued < rd->len && rd->error == 0) {
		uint64_t a = rd->addr + rd->issued;
		uint32_t chunk = rpci_tlp_chunk_len(a, rd->len - rd->issued, RPCI_TLP_MAX_PAYLOAD);
		struct rpci_tlp mrd = {
			.type = RPCI_TLP_MRD,
			.requester_id = d->app->requester_id,
		};
		int tag;

		rpci_tlp_set_byte_range(&mrd, a, chunk);
		if (rpci_link_tx_room_for(d->s, RPCI_TLP_MRD) == 0) {
			*done = rd->issued;
			return -EAGAIN;
		}
		tag = rpci_tlp_tag_alloc(d->tags, &mrd, rd);
		if (tag < 0) {
			*done = rd->issued;
			return -EAGAIN;
		}
		mrd.tag = (uint16_t)tag;
		if (rpci_link_send(d->s, &mrd, NULL, 0) < 0) {
			rpci_tlp_tag_release(d->tags, (uint16_t)tag, NULL);
			rd->error = -ENOTCONN;
			break;
		}
		d->tag_off[tag] = rd->issued;
		rd->chunks++;
		rd->issued += chunk;
	}
	pread_maybe_done(d, rd, false);
	return 0;
}

static int
req_cfg(struct proxy_dev *d, const struct rpci_ipc_req_view *v)
{
	struct rpci_proxy *p = dev_proxy(d);
	const struct rpci_ipc_req *r = &v->req;
	uint8_t be = (uint8_t)(r->arg >> 32);
	uint32_t value = (uint32_t)r->arg;
	struct rpci_tlp req = {
		.type = r->op == RPCI_IPC_OP_CFGRD ? RPCI_TLP_CFGRD : RPCI_TLP_CFGWR,
		.first_be = be,
		.length_dw = 1,
		.requester_id = d->app->requester_id,
		.completer_id = d->completer_id,
		.reg = (uint16_t)r->addr,
	};
	struct pread *rd;
	uint32_t le;
	int tag, ret;

	if (d->state != PD_OPEN) {
		proxy_app_post(d->app, r->cookie, -ENOTCONN, 0, 0, r->op, d->slot);
		return 0;
	}
	if (r->op == RPCI_IPC_OP_CFGRD && r->addr < CFG_SNAPSHOT_DW &&
	    (d->cfg_valid & (1ull << r->addr))) {
		p->stats.cfg_local++;
		proxy_app_post(d->app, r->cookie, 0, 4, d->cfg[r->addr], r->op, d->slot);
		return 0;
	}
	if (rpci_link_tx_room_for(d->s, req.type) == 0) {
		return -EAGAIN;
	}
	rd = pread_alloc(d, r->op == RPCI_IPC_OP_CFGRD ? PR_CFGRD : PR_CFGWR, r->cookie);
	if (rd == NULL) {
		return -EAGAIN;
	}
	tag = rpci_tlp_tag_alloc(d->tags, &req, rd);
	if (tag < 0) {
		pread_free(d, rd);
		return -EAGAIN;
	}
	req.tag = (uint16_t)tag;
	rd->addr = r->addr;
	rd->chunks = 1;
	if (req.type == RPCI_TLP_CFGWR) {
		cfg_write_seen(d, (uint16_t)r->addr, value, be);
		le = rte_cpu_to_le_32(value);
		ret = rpci_link_send(d->s, &req, &le, RPCI_LINK_SEND_COPY);
	} else {
		ret = rpci_link_send(d->s, &req, NULL, 0);
	}
	if (ret < 0) {
		rpci_tlp_tag_release(d->tags, (uint16_t)tag, NULL);
		rd->chunks = 0;
		rd->error = -ENOTCONN;
		pread_maybe_done(d, rd, false);
		return 0;
	}
	p->stats.cfg_forwarded++;
	return 0;
}

static int
req_fence(struct proxy_dev *d, const struct rpci_ipc_req_view *v)
{
	struct rpci_link *link = dev_proxy(d)->link;
	uint32_t seq;

	if (d->state != PD_OPEN) {
		proxy_app_post(d->app, v->req.cookie, -ENOTCONN, 0, 0, v->req.op, d->slot);
		return 0;
	}
	if (d->fence_tail - d->fence_head >= DEV_FENCES) {
		return -EAGAIN;
	}
	rpci_link_flush(link);
	seq = rpci_link_session_tx_seq(d->s);
	if (rpci_link_session_acked(d->s, seq)) {
		proxy_app_post(d->app, v->req.cookie, 0, 0, 0, v->req.op, d->slot);
		return 0;
	}
	d->fence[d->fence_tail % DEV_FENCES].cookie = v->req.cookie;
	d->fence[d->fence_tail % DEV_FENCES].seq = seq;
	d->fence_tail++;
	dev_attn(d, true);
	return 0;
}

int
proxy_dev_request(struct proxy_dev *d, const struct rpci_ipc_req_view *v, uint32_t *done)
{
	switch (v->req.op) {
	case RPCI_IPC_OP_MWR:
		return req_mwr(d, v, done);
	case RPCI_IPC_OP_MRD:
		return req_mrd(d, v, done);
	case RPCI_IPC_OP_CFGRD:
	case RPCI_IPC_OP_CFGWR:
		return req_cfg(d, v);
	case RPCI_IPC_OP_FENCE:
		return req_fence(d, v);
	default:
		return -EPROTO;
	}
}

/* ------------------------------------------ what the device sends back */

/* Whether [addr, addr + len) is the program's memory; its offset. */
static bool
dma_range(const struct proxy_app *app, uint64_t addr, uint32_t len, uint64_t *off)
{
	if (app->dying || addr < app->iova_base || addr - app->iova_base > app->shm_size ||
	    len > app->shm_size - (addr - app->iova_base) || addr - app->iova_base <
	    RPCI_IPC_HEAP_OFF) {
		return false;
	}
	*off = addr - app->iova_base;
	return true;
}

static int
rx_completion(struct proxy_dev *d, const struct rpci_tlp *msg)
{
	uint32_t offset, len, skip, v;
	void *cookie;
	struct pread *r;
	bool done;
	int ret;

	if (msg->requester_id != d->app->requester_id) {
		return -EACCES; /* not for this program: refused and counted */
	}
	ret = rpci_tlp_tag_complete(d->tags, msg, &offset, &len, &skip, &cookie, &done);
	if (ret == -ENOENT || ret == -EBADMSG) {
		return ret;
	}
	r = cookie;
	if (ret == -EIO) {
		r->error = -EIO;
	} else if (len > 0) {
		switch (r->kind) {
		case PR_MRD:
			memcpy(r->dst + d->tag_off[msg->tag] + offset,
			       (const uint8_t *)msg->payload + skip, len);
			ro_learn(d, r->addr + d->tag_off[msg->tag] + offset,
				 (const uint8_t *)msg->payload + skip, len);
			r->done += len;
			break;
		case PR_CFGRD:
		case PR_SNAPSHOT:
			if (len == 4 && offset == 0) {
				memcpy(&v, (const uint8_t *)msg->payload + skip, 4);
				r->value = rte_le_to_cpu_32(v);
			}
			break;
		default:
			break;
		}
	}
	if (done) {
		r->chunks--;
		if (r->kind == PR_SNAPSHOT && r->error == 0 && r->addr < CFG_SNAPSHOT_DW) {
			uint32_t i;

			d->cfg[r->addr] = r->value;
			d->cfg_read |= 1ull << r->addr;
			for (i = 0; i < RTE_DIM(g_cfg_stable); i++) {
				if (g_cfg_stable[i] == r->addr) {
					d->cfg_valid |= 1ull << r->addr;
				}
			}
		} else if (r->kind == PR_SNAPSHOT) {
			d->cfg_read |= 1ull << r->addr; /* refused: nothing to keep */
		}
		if (r->kind == PR_MRD) {
			pread_maybe_done(d, r, r->issued < r->len && r->error == 0 &&
					 d->app->head_valid);
		} else {
			pread_maybe_done(d, r, false);
		}
	}
	if (d->state == PD_SNAPSHOT) {
		dev_snapshot_step(d);
	}
	return 0;
}

/* The device reads the program's memory (its DMA engine pulls). */
static int
rx_dma_read(struct proxy_dev *d, const struct rpci_tlp *msg)
{
	struct rpci_proxy *p = dev_proxy(d);
	uint32_t first, count;
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp cpl;
	uint64_t src, off = 0;
	int ret;

	count = rpci_tlp_byte_range(msg, &first);
	if (rpci_link_tx_room_for(d->s, RPCI_TLP_CPLD) <
	    msg->length_dw * 4u / p->max_payload + 2) {
		return -EAGAIN;
	}
	if (count == 0 || !dma_range(d->app, msg->address + first, count, &off)) {
		p->stats.dma_refused++;
		rpci_tlp_cpl_for(&cpl, msg, d->app->requester_id, RPCI_TLP_CPL_UR);
		rpci_link_send(d->s, &cpl, NULL, 0);
		return -EFAULT;
	}
	ret = rpci_tlp_cpl_iter_init(&it, msg, d->app->requester_id, p->max_payload);
	if (ret < 0) {
		return ret;
	}
	while (rpci_tlp_cpl_iter_next(&it, &cpl, &src) == 1) {
		/* src is a fabric address of the program's: its place in our mapping. */
		const uint8_t *at = d->app->shm + (src - d->app->iova_base);

		ret = rpci_link_send(d->s, &cpl, at, RPCI_LINK_SEND_EXACT);
		if (ret < 0) {
			return ret;
		}
	}
	p->stats.dma_reads_served += count;
	return 0;
}

/*
 * A vendor-defined message: the function-level reset notice of a virtual
 * GPU (the server's operator reset it, or gave it a new personality). The
 * program learns it from its control page; its driver brings the device up
 * again. Only from the function itself, on its own session.
 */
static int
rx_vendor(struct proxy_dev *d, const struct rpci_tlp *msg)
{
	struct rpci_ipc_dev_status *st = &d->app->cp->dev[d->slot];

	if (msg->msg_data != RPCI_VGPU_MSG_FLR || msg->requester_id != d->completer_id) {
		return -EOPNOTSUPP;
	}
	PROXY_LOG(WARNING, "program %u: the device on '%s' was reset (function-level reset)",
		  d->app->id, d->server);
	dev_forget(d);
	__atomic_fetch_add(&st->resets, 1, __ATOMIC_RELEASE);
	d->app->need_wake = true;
	dev_proxy(d)->stats.resets++;
	return 0;
}

static int
proxy_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	struct proxy_dev *d = rpci_link_session_priv(s);
	struct rpci_proxy *p = arg;
	struct rpci_ipc_dev_status *st;
	struct rpci_tlp cpl;
	uint32_t first, count;
	uint64_t off;

	if (d == NULL || (d->state != PD_OPEN && d->state != PD_SNAPSHOT)) {
		return -ENOTCONN;
	}
	switch (msg->type) {
	case RPCI_TLP_MWR:
		/* The device's DMA writes: into its program's memory and nowhere else. */
		count = rpci_tlp_byte_range(msg, &first);
		if (count == 0) {
			return 0;
		}
		if (!dma_range(d->app, msg->address + first, count, &off)) {
			p->stats.dma_refused++;
			return -EFAULT;
		}
		memcpy(d->app->shm + off, (const uint8_t *)msg->payload + first, count);
		d->app->bytes_in += count;
		p->stats.bytes_from_devices += count;
		return 0;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		return rx_completion(d, msg);
	case RPCI_TLP_MSG:
		if (msg->msg_code == RPCI_TLP_MSG_VENDOR) {
			return rx_vendor(d, msg);
		}
		if (msg->msg_code != RPCI_TLP_MSG_MSI) {
			return -EOPNOTSUPP;
		}
		/* Only the program whose device raised it. */
		st = &d->app->cp->dev[d->slot];
		__atomic_fetch_add(&st->msi, 1, __ATOMIC_RELEASE);
		d->app->need_wake = true;
		p->stats.msi++;
		return 0;
	case RPCI_TLP_MRD:
		return rx_dma_read(d, msg);
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		/* We are a host, not a function: nothing to configure here. */
		if (rpci_link_tx_room_for(s, RPCI_TLP_CPL) < 1) {
			return -EAGAIN;
		}
		rpci_tlp_cpl_for(&cpl, msg, d->app->requester_id, RPCI_TLP_CPL_UR);
		rpci_link_send(s, &cpl, NULL, 0);
		return -EOPNOTSUPP;
	default:
		return -EPROTO;
	}
}

static void
proxy_down(struct rpci_link_session *s, enum rpci_link_state state, void *arg)
{
	struct proxy_dev *d = rpci_link_session_priv(s);

	RTE_SET_USED(arg);
	if (d == NULL) {
		return;
	}
	if (d->state == PD_CLOSING) {
		return; /* proxy_dev_timers() sees it end */
	}
	proxy_dev_lost(d, state == RPCI_LINK_S_DEAD ? "server stopped answering" :
		       "server closed the session");
}

const struct rpci_link_ops proxy_link_ops = {
	.rx_msg = proxy_rx_msg,
	.down = proxy_down,
	.rx_ctrl = proxy_sel_rx,
};
