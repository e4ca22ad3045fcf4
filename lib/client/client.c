/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * lib/client: the driver of a remote virtual GPU and the API on top.
 *
 * The client polls its link from the calling thread while it waits (run to
 * completion, as SPDK's poll groups do): there is no other thread.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "client_private.h"

RTE_LOG_REGISTER(rpci_client_logtype, rpci.lib.client, INFO);


static __thread char g_errmsg[256];

int
cl_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g_errmsg, sizeof(g_errmsg), fmt, ap);
	va_end(ap);
	CLIENT_LOG(DEBUG, "%s", g_errmsg);
	return err;
}

const char *
rpci_last_error(void)
{
	return g_errmsg;
}

/* ------------------------------------------------------------- waiting */

bool
cl_session_alive(struct rpci_device *dev)
{
	if (dev->lost || dev->s == NULL || cl_sel_detached(dev) ||
	    rpci_link_session_state(dev->s) != RPCI_LINK_S_OPEN) {
		dev->lost = true;
		return false;
	}
	return true;
}

int
cl_lost_error(struct rpci_device *dev)
{
	return cl_fail(-ENOTCONN, "lost the device: server '%s' stopped answering",
		       dev->info.server);
}


/* One turn of the wait loop: poll the link, take completions, back off. */
void
cl_wait_turn(struct rpci_device *dev, struct rpci_idle *idle)
{
	int work = rpci_link_poll(dev->client->link);

	cl_cq_poll(dev);
	cl_sel_timers(dev->client);
	rpci_idle_account(idle, work);
}

void
cl_idle_init(struct rpci_device *dev, struct rpci_idle *idle)
{
	const struct rpci_conf_host *h = dev->client->host;
	const struct rpci_conf_link *l = &dev->client->conf->link;

	rpci_idle_init(idle, h->idle == RPCI_IDLE_ADAPTIVE, l->spin_polls, l->sleep_max_us);
}

/* Wait for every frame sent so far to be acked. */
static int
wait_acked(struct rpci_device *dev)
{
	struct rpci_idle idle;
	uint32_t seq;
	uint64_t deadline = rte_get_timer_cycles() + dev->client->request_tsc;

	rpci_link_flush(dev->client->link);
	seq = rpci_link_session_tx_seq(dev->s);
	cl_idle_init(dev, &idle);
	while (!rpci_link_session_acked(dev->s, seq)) {
		if (!cl_session_alive(dev)) {
			return cl_lost_error(dev);
		}
		if (rte_get_timer_cycles() > deadline) {
			return cl_fail(-ETIMEDOUT, "server '%s' did not acknowledge our writes",
				    dev->info.server);
		}
		cl_wait_turn(dev, &idle);
	}
	return 0;
}

/* Queue a message, polling while the link has no room. */
static int
send_msg(struct rpci_device *dev, const struct rpci_tlp *msg, const void *payload,
	 unsigned int flags)
{
	struct rpci_idle idle;
	uint64_t deadline = 0;
	int ret;

	for (;;) {
		ret = rpci_link_send(dev->s, msg, payload, flags);
		if (ret != -EAGAIN) {
			break;
		}
		if (deadline == 0) {
			deadline = rte_get_timer_cycles() + dev->client->request_tsc;
			cl_idle_init(dev, &idle);
		} else if (rte_get_timer_cycles() > deadline) {
			return cl_fail(-ETIMEDOUT, "link to '%s' stayed full", dev->info.server);
		}
		cl_wait_turn(dev, &idle);
	}
	if (ret == -ENOTCONN) {
		dev->lost = true;
		return cl_lost_error(dev);
	}
	if (ret < 0) {
		return cl_fail(ret, "cannot send a request: %s", strerror(-ret));
	}
	return 0;
}

/*
 * Posted writes of [src, src + size) to fabric address addr; flags of
 * rpci_link_send() besides EXACT (COPY: src may change once this returns).
 */
static int
post_write_flags(struct rpci_device *dev, uint64_t addr, const uint8_t *src, uint64_t size,
		 unsigned int flags)
{
	uint32_t max_payload = rpci_link_max_payload(dev->client->link);
	uint64_t off = 0;
	int ret;

	while (off < size) {
		uint64_t a = addr + off;
		uint32_t chunk = rpci_tlp_chunk_len(a, size - off, max_payload);
		struct rpci_tlp mwr = {
			.type = RPCI_TLP_MWR,
			.requester_id = dev->requester_id,
		};

		rpci_tlp_set_byte_range(&mwr, a, chunk);
		/* The payload is DW-aligned to the destination; EXACT keeps us in src. */
		ret = send_msg(dev, &mwr, src + off - (a & 3), RPCI_LINK_SEND_EXACT | flags);
		if (ret < 0) {
			return ret;
		}
		off += chunk;
	}
	return 0;
}

/* Posted writes of [src, src + size) to fabric address addr. */
int
cl_post_write(struct rpci_device *dev, uint64_t addr, const uint8_t *src, uint64_t size)
{
	return post_write_flags(dev, addr, src, size, 0);
}

static int
post_write32(struct rpci_device *dev, uint32_t reg, uint32_t v)
{
	v = rte_cpu_to_le_32(v);
	return cl_post_write(dev, dev->bar0 + reg, (const uint8_t *)&v, sizeof(v));
}

/* ---------------------------------------------------- programmed reads */

static int
pio_wait(struct rpci_device *dev, struct pio_read *pio, uint64_t total)
{
	struct rpci_idle idle;
	uint64_t deadline = rte_get_timer_cycles() + dev->client->request_tsc;

	rpci_link_flush(dev->client->link);
	cl_idle_init(dev, &idle);
	while (pio->outstanding > 0 || (pio->done < total && pio->error == 0)) {
		if (!cl_session_alive(dev)) {
			goto lost;
		}
		if (rte_get_timer_cycles() > deadline) {
			goto timeout;
		}
		cl_wait_turn(dev, &idle);
	}
	return pio->error;

lost:
timeout:
	{
		uint16_t t;

		/* Give the tags back: late completions are counted and dropped. */
		for (t = 0; t < DEV_TAGS; t++) {
			rpci_tlp_tag_release(dev->tags, t, NULL);
		}
		dev->pio = NULL;
	}
	if (!cl_session_alive(dev)) {
		return cl_lost_error(dev);
	}
	return cl_fail(-ETIMEDOUT, "read completion from '%s' timed out", dev->info.server);
}

static int
cfg_access(struct rpci_device *dev, uint8_t type, uint16_t reg, uint32_t *value, uint8_t be)
{
	struct pio_read pio = { 0 };
	uint32_t v = 0;
	struct rpci_tlp req = {
		.type = type,
		.first_be = be,
		.length_dw = 1,
		.requester_id = dev->requester_id,
		.completer_id = dev->completer_id,
		.reg = reg,
	};
	int tag, ret;

	tag = rpci_tlp_tag_alloc(dev->tags, &req, &v);
	if (tag < 0) {
		return cl_fail(-EBUSY, "no free tag");
	}
	req.tag = (uint16_t)tag;
	dev->pio = &pio;
	pio.outstanding = 1;
	if (type == RPCI_TLP_CFGWR) {
		uint32_t le = rte_cpu_to_le_32(*value);

		ret = send_msg(dev, &req, &le, RPCI_LINK_SEND_COPY);
	} else {
		ret = send_msg(dev, &req, NULL, 0);
	}
	if (ret < 0) {
		rpci_tlp_tag_release(dev->tags, (uint16_t)tag, NULL);
		dev->pio = NULL;
		return ret;
	}
	ret = pio_wait(dev, &pio, type == RPCI_TLP_CFGRD ? 4 : 0);
	dev->pio = NULL;
	if (ret < 0) {
		return ret == -EIO ? cl_fail(-EIO, "configuration %s of register %u refused",
					  type == RPCI_TLP_CFGRD ? "read" : "write", reg) : ret;
	}
	if (type == RPCI_TLP_CFGRD) {
		*value = rte_le_to_cpu_32(v);
	}
	return 0;
}

static int
cfg_read(struct rpci_device *dev, uint16_t offset, uint32_t *value)
{
	return cfg_access(dev, RPCI_TLP_CFGRD, offset / 4, value, 0xf);
}

static int
cfg_write(struct rpci_device *dev, uint16_t offset, uint32_t value, uint8_t be)
{
	return cfg_access(dev, RPCI_TLP_CFGWR, offset / 4, &value, be);
}

static int
mem_read(struct rpci_device *dev, uint64_t addr, uint8_t *dst, uint64_t size)
{
	struct pio_read pio = { 0 };
	struct rpci_idle idle;
	uint64_t issued = 0;
	uint64_t deadline = rte_get_timer_cycles() + dev->client->request_tsc;
	int ret;

	dev->pio = &pio;
	cl_idle_init(dev, &idle);
	while (issued < size && pio.error == 0) {
		uint64_t a = addr + issued;
		uint32_t chunk = rpci_tlp_chunk_len(a, size - issued, RPCI_TLP_MAX_PAYLOAD);
		struct rpci_tlp mrd = {
			.type = RPCI_TLP_MRD,
			.requester_id = dev->requester_id,
		};
		int tag;

		rpci_tlp_set_byte_range(&mrd, a, chunk);
		tag = rpci_tlp_tag_alloc(dev->tags, &mrd, dst + issued);
		if (tag < 0 || rpci_link_tx_room_for(dev->s, RPCI_TLP_MRD) == 0) {
			if (tag >= 0) {
				rpci_tlp_tag_release(dev->tags, (uint16_t)tag, NULL);
			}
			if (!cl_session_alive(dev)) {
				dev->pio = NULL;
				return cl_lost_error(dev);
			}
			if (rte_get_timer_cycles() > deadline) {
				break;
			}
			cl_wait_turn(dev, &idle);
			continue;
		}
		mrd.tag = (uint16_t)tag;
		ret = send_msg(dev, &mrd, NULL, 0);
		if (ret < 0) {
			rpci_tlp_tag_release(dev->tags, (uint16_t)tag, NULL);
			dev->pio = NULL;
			return ret;
		}
		pio.outstanding++;
		issued += chunk;
		deadline = rte_get_timer_cycles() + dev->client->request_tsc;
	}
	ret = pio_wait(dev, &pio, issued);
	dev->pio = NULL;
	if (ret == -EIO) {
		return cl_fail(-EIO, "read of 0x%" PRIx64 " answered with an error", addr);
	}
	if (ret == 0 && issued < size) {
		return cl_fail(-ETIMEDOUT, "read of 0x%" PRIx64 " could not be issued", addr);
	}
	return ret;
}

/* For client_pci.c: configuration space and BAR reads of any function. */
int
cl_cfg_read(struct rpci_device *dev, uint16_t offset, uint32_t *value)
{
	return cfg_read(dev, offset, value);
}

int
cl_cfg_write(struct rpci_device *dev, uint16_t offset, uint32_t value, uint8_t be)
{
	return cfg_write(dev, offset, value, be);
}

int
cl_mem_read(struct rpci_device *dev, uint64_t addr, uint8_t *dst, uint64_t size)
{
	return mem_read(dev, addr, dst, size);
}

/* ------------------------------------------------------- the link side */

static bool
window_ok(const struct rpci_device *dev, uint64_t addr, uint64_t len)
{
	uint32_t i;

	if (addr + len < addr) {
		return false;
	}
	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		const struct host_window *w = &dev->windows[i];

		if (w->in_use && addr >= w->base && addr + len <= w->base + w->size) {
			return true;
		}
	}
	return false;
}

static int
rx_completion(struct rpci_device *dev, const struct rpci_tlp *msg)
{
	uint32_t offset, len, skip;
	void *cookie;
	bool done;
	int ret;

	ret = rpci_tlp_tag_complete(dev->tags, msg, &offset, &len, &skip, &cookie, &done);
	if (ret == -ENOENT || ret == -EBADMSG) {
		return ret; /* counted by the link as refused */
	}
	if (dev->pio == NULL) {
		return 0; /* the wait was given up */
	}
	if (ret == -EIO) {
		dev->pio->error = -EIO;
	} else if (len > 0) {
		memcpy((uint8_t *)cookie + offset, (const uint8_t *)msg->payload + skip, len);
		dev->pio->done += len;
	}
	if (done) {
		dev->pio->outstanding--;
	}
	return 0;
}

/* The device reads our memory (DMA pull). */
static int
rx_dma_read(struct rpci_device *dev, const struct rpci_tlp *msg)
{
	struct rpci_link *link = dev->client->link;
	uint32_t max_payload = rpci_link_max_payload(link);
	uint32_t first, count;
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp cpl;
	uint64_t src;
	int ret;

	count = rpci_tlp_byte_range(msg, &first);
	if (rpci_link_tx_room_for(dev->s, RPCI_TLP_CPLD) < msg->length_dw * 4 / max_payload + 2) {
		return -EAGAIN;
	}
	if (count == 0 || !window_ok(dev, msg->address + first, count)) {
		dev->stats.refused++;
		rpci_tlp_cpl_for(&cpl, msg, dev->requester_id, RPCI_TLP_CPL_UR);
		rpci_link_send(dev->s, &cpl, NULL, 0);
		return -EFAULT;
	}
	ret = rpci_tlp_cpl_iter_init(&it, msg, dev->requester_id, max_payload);
	if (ret < 0) {
		return ret;
	}
	while (rpci_tlp_cpl_iter_next(&it, &cpl, &src) == 1) {
		/* Only the requested bytes are ours to read: EXACT copies the edges. */
		ret = rpci_link_send(dev->s, &cpl, (const void *)(uintptr_t)src,
				     RPCI_LINK_SEND_EXACT);
		if (ret < 0) {
			return ret;
		}
	}
	dev->stats.dma_served += count;
	return 0;
}

static int
client_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	struct rpci_device *dev = rpci_link_session_priv(s);
	struct rpci_tlp cpl;
	uint32_t first, count;

	RTE_SET_USED(arg);
	if (dev == NULL) {
		return -ENOTCONN;
	}
	switch (msg->type) {
	case RPCI_TLP_MWR:
		/* The device's DMA writes: only into registered windows. */
		count = rpci_tlp_byte_range(msg, &first);
		if (count == 0) {
			return 0;
		}
		if (!window_ok(dev, msg->address + first, count)) {
			dev->stats.refused++;
			return -EFAULT;
		}
		memcpy((void *)(uintptr_t)(msg->address + first),
		       (const uint8_t *)msg->payload + first, count);
		return 0;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		return rx_completion(dev, msg);
	case RPCI_TLP_MSG:
		if (msg->msg_code == RPCI_TLP_MSG_MSI) {
			dev->stats.msi++;
			return 0;
		}
		if (msg->msg_code == RPCI_TLP_MSG_VENDOR) {
			/* a function-level reset (client_pci.c) */
			return cl_pci_rx_vendor(dev, msg);
		}
		return -EOPNOTSUPP;
	case RPCI_TLP_MRD:
		return rx_dma_read(dev, msg);
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		/* We are a host, not a function: nothing to configure here. */
		if (rpci_link_tx_room_for(s, RPCI_TLP_CPL) < 1) {
			return -EAGAIN;
		}
		rpci_tlp_cpl_for(&cpl, msg, dev->requester_id, RPCI_TLP_CPL_UR);
		rpci_link_send(s, &cpl, NULL, 0);
		return -EOPNOTSUPP;
	default:
		return -EPROTO;
	}
}

static void
client_down(struct rpci_link_session *s, enum rpci_link_state state, void *arg)
{
	struct rpci_device *dev = rpci_link_session_priv(s);

	RTE_SET_USED(arg);
	if (dev != NULL) {
		dev->lost = true;
		CLIENT_LOG(WARNING, "device of '%s': session %s", dev->info.server,
			   state == RPCI_LINK_S_DEAD ? "dead (peer silent)" : "closed by peer");
	}
}

static const struct rpci_link_ops client_link_ops = {
	.rx_msg = client_rx_msg,
	.down = client_down,
	.rx_ctrl = cl_rx_ctrl,
};

/* --------------------------------------------------------------- queues */

void
cl_cq_poll(struct rpci_device *dev)
{
	bool any = false;

	if (dev->cq == NULL) {
		return;
	}
	for (;;) {
		struct rpci_vgpu_cpl *e = &dev->cq[dev->cq_head & (CQ_SIZE - 1)];
		uint32_t id;
		int32_t status;

		if (rte_le_to_cpu_32(e->phase) != dev->cq_phase) {
			break;
		}
		id = rte_le_to_cpu_32(e->cmd_id);
		status = (int32_t)rte_le_to_cpu_32((uint32_t)e->status);
		if (id == dev->wait_id && !dev->wait_done) {
			dev->wait_done = true;
			dev->wait_status = status;
			dev->wait_result = rte_le_to_cpu_64(e->result);
		} else if (status != 0 && dev->first_error == 0) {
			dev->first_error = status;
		}
		dev->sq_head = rte_le_to_cpu_32(e->sq_head);
		dev->cq_head++;
		if ((dev->cq_head & (CQ_SIZE - 1)) == 0) {
			dev->cq_phase ^= 1;
		}
		any = true;
	}
	/* Tell the device what we consumed, before it could run out of room. */
	if (any && dev->cq_head - dev->cq_head_told >= CQ_SIZE / 4 && cl_session_alive(dev) &&
	    rpci_link_tx_room_for(dev->s, RPCI_TLP_MWR) > 0) {
		uint32_t v = rte_cpu_to_le_32(dev->cq_head);
		struct rpci_tlp mwr = {
			.type = RPCI_TLP_MWR,
			.requester_id = dev->requester_id,
		};

		rpci_tlp_set_byte_range(&mwr, dev->bar0 + RPCI_VGPU_REG_CQ_HEAD, 4);
		if (rpci_link_send(dev->s, &mwr, &v, RPCI_LINK_SEND_COPY) == 0) {
			dev->cq_head_told = dev->cq_head;
		}
	}
}

/* Put a command in the submission queue and ring the doorbell. */
int
cl_submit(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, bool wait, uint32_t *id)
{
	struct rpci_idle idle;
	uint8_t buf[RPCI_VGPU_CMD_SIZE];
	struct rpci_vgpu_cmd *le = (struct rpci_vgpu_cmd *)buf;
	uint32_t slot, len, i;
	int ret;

	if (dev->plain) {
		return cl_fail(-ENOTSUP, "%s is a PCI function, not a virtual GPU: it takes no "
			       "commands", dev->info.device_name);
	}
	if (!cl_session_alive(dev)) {
		return cl_lost_error(dev);
	}
	cl_idle_init(dev, &idle);
	while (dev->sq_tail - dev->sq_head >= SQ_SIZE) {
		/* Full: wait for the device to take commands. No time limit while
		 * the session lives: kernels take the time they take. */
		if (!cl_session_alive(dev)) {
			return cl_lost_error(dev);
		}
		cl_wait_turn(dev, &idle);
	}
	cmd->cmd_id = ++dev->next_cmd_id;
	if (cmd->cmd_id == 0) {
		cmd->cmd_id = ++dev->next_cmd_id;
	}
	if (wait) {
		cmd->flags |= RPCI_VGPU_CMD_F_IRQ;
		dev->wait_id = cmd->cmd_id;
		dev->wait_done = false;
	}
	memcpy(buf, cmd, sizeof(buf));
	le->inline_len = rte_cpu_to_le_16(cmd->inline_len);
	le->cmd_id = rte_cpu_to_le_32(cmd->cmd_id);
	for (i = 0; i < RTE_DIM(le->args); i++) {
		le->args[i] = rte_cpu_to_le_64(cmd->args[i]);
	}
	le->host_addr = rte_cpu_to_le_64(cmd->host_addr);
	le->host_len = rte_cpu_to_le_32(cmd->host_len);
	slot = dev->sq_tail & (SQ_SIZE - 1);
	len = RTE_ALIGN_CEIL((uint32_t)offsetof(struct rpci_vgpu_cmd, data) + cmd->inline_len, 4u);
	/* Descriptor and doorbell: two posted writes, one frame. */
	ret = cl_post_write(dev, dev->bar0 + RPCI_VGPU_REG_SQ + (uint64_t)slot * RPCI_VGPU_CMD_SIZE,
			 buf, len);
	if (ret < 0) {
		return ret;
	}
	dev->sq_tail++;
	ret = post_write32(dev, RPCI_VGPU_REG_SQ_TAIL, dev->sq_tail);
	if (ret < 0) {
		return ret;
	}
	rpci_link_flush(dev->client->link);
	dev->stats.commands++;
	cl_log_cmd(dev, cmd);
	if (id != NULL) {
		*id = cmd->cmd_id;
	}
	return 0;
}

/* Submit a command and wait for its completion. */
int
cl_run_cmd(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, uint64_t *result)
{
	struct rpci_idle idle;
	int ret;

	ret = cl_submit(dev, cmd, true, NULL);
	if (ret < 0) {
		return ret;
	}
	cl_idle_init(dev, &idle);
	while (!dev->wait_done) {
		if (!cl_session_alive(dev)) {
			/* Not known to have run: the retried call logs it again. */
			cl_log_result(dev, cmd->cmd_id, -ENOTCONN, 0);
			return cl_lost_error(dev);
		}
		cl_wait_turn(dev, &idle);
	}
	if (result != NULL) {
		*result = dev->wait_result;
	}
	cl_log_result(dev, cmd->cmd_id, dev->wait_status, dev->wait_result);
	return dev->wait_status;
}

int
cl_take_first_error(struct rpci_device *dev)
{
	int err = dev->first_error;

	dev->first_error = 0;
	return err;
}

/* ------------------------------------------------------------- windows */

int
cl_window_set(struct rpci_device *dev, uint32_t i, uint64_t base, uint64_t size)
{
	uint64_t v[2] = { rte_cpu_to_le_64(base), rte_cpu_to_le_64(size) };

	return cl_post_write(dev, dev->bar0 + RPCI_VGPU_REG_WINDOWS + 16 * i, (const uint8_t *)v,
			  sizeof(v));
}

int
cl_window_add(struct rpci_device *dev, const void *p, uint64_t size, int *slot)
{
	uint32_t i;
	int ret;

	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		if (!dev->windows[i].in_use) {
			break;
		}
	}
	if (i == RPCI_VGPU_WINDOWS) {
		return cl_fail(-ENOSPC, "all %u DMA windows are in use", RPCI_VGPU_WINDOWS);
	}
	ret = cl_window_set(dev, i, (uint64_t)(uintptr_t)p, size);
	if (ret < 0) {
		return ret;
	}
	dev->windows[i].base = (uint64_t)(uintptr_t)p;
	dev->windows[i].size = size;
	dev->windows[i].in_use = true;
	dev->windows[i].alloc = NULL;
	*slot = (int)i;
	return 0;
}

void
cl_window_del(struct rpci_device *dev, int slot)
{
	dev->windows[slot].in_use = false;
	if (cl_session_alive(dev)) {
		cl_window_set(dev, (uint32_t)slot, 0, 0);
	}
}

/* A window covering [p, p + size): an existing one, or a temporary one. */
static int
window_cover(struct rpci_device *dev, const void *p, uint64_t size, int *temp_slot)
{
	*temp_slot = -1;
	if (window_ok(dev, (uint64_t)(uintptr_t)p, size)) {
		return 0;
	}
	return cl_window_add(dev, p, size, temp_slot);
}

/* ------------------------------------------------------------ lifecycle */

struct rpci_client *
rpci_client_create(const struct rpci_conf *conf, const char *host)
{
	struct rpci_client *c;
	const struct rpci_conf_host *h;
	char err[256];
	int ret;

	if (conf == NULL || host == NULL) {
		rte_errno = EINVAL;
		cl_fail(-EINVAL, "no configuration or host given");
		return NULL;
	}
	h = rpci_conf_host_find(conf, host);
	if (h == NULL || !(h->roles & RPCI_ROLE_CLIENT)) {
		rte_errno = EINVAL;
		cl_fail(-EINVAL, "'%s' is not a client host of %s", host, conf->path);
		return NULL;
	}
	c = rte_zmalloc("rpci_client", sizeof(*c), 0);
	if (c == NULL) {
		rte_errno = ENOMEM;
		cl_fail(-ENOMEM, "out of memory");
		return NULL;
	}
	c->conf = conf;
	c->host = h;
	c->host_index = (uint16_t)(h - conf->hosts);
	c->request_tsc = rte_get_timer_hz() * conf->link.request_timeout_ms / 1000;
	c->link = rpci_link_create_for_host(conf, h, &client_link_ops, c, OPEN_TIMEOUT_MS,
					    &c->port_info, err, sizeof(err));
	if (c->link == NULL) {
		ret = rte_errno;
		cl_fail(-ret, "%s", err);
		rte_free(c);
		rte_errno = ret;
		return NULL;
	}
	ret = cl_sel_init(c);
	if (ret < 0) {
		rpci_link_free(c->link);
		rte_free(c);
		rte_errno = -ret;
		return NULL;
	}
	return c;
}

void
cl_device_free(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	struct rpci_device **pp;
	uint32_t i;

	for (pp = &c->devices; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	cl_log_free(dev);
	while (dev->functions != NULL) {
		struct rpci_function *f = dev->functions;

		dev->functions = f->next;
		free(f);
	}
	while (dev->modules != NULL) {
		struct rpci_module *m = dev->modules;

		dev->modules = m->next;
		free(m);
	}
	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		if (dev->windows[i].alloc != NULL) {
			if (dev->windows[i].rte) {
				rte_free(dev->windows[i].alloc);
			} else {
				free(dev->windows[i].alloc);
			}
		}
	}
	if (dev->s != NULL) {
		rpci_link_session_set_priv(dev->s, NULL);
		rpci_link_session_free(dev->s);
	}
	rpci_tlp_tags_free(dev->tags);
	rte_free(dev->drv);
	free(dev);
}

void
rpci_client_link_stats(const struct rpci_client *client, struct rpci_link_stats *stats)
{
	rpci_link_stats_get(client->link, stats);
}

void
rpci_client_destroy(struct rpci_client *client)
{
	if (client == NULL) {
		return;
	}
	while (client->devices != NULL) {
		rpci_device_close(client->devices);
	}
	cl_sel_fini(client);
	rpci_link_free(client->link);
	rte_free(client);
}

/* The driver's bring-up of a function: BARs, MSI, queues. */
int
cl_device_bringup(struct rpci_device *dev)
{
	uint32_t v, lo, hi;
	uint8_t regs[0x100];
	int ret;

	ret = cfg_read(dev, RPCI_VGPU_CFG_VENDOR, &v);
	if (ret < 0) {
		return ret;
	}
	if ((v & 0xffff) == 0xffff) {
		return cl_fail(-ENODEV, "no function at %04x", dev->completer_id);
	}
	dev->info.vendor_id = (uint16_t)v;
	dev->info.device_id = (uint16_t)(v >> 16);
	ret = cfg_read(dev, RPCI_VGPU_CFG_REVISION, &v);
	if (ret < 0) {
		return ret;
	}
	dev->info.revision = (uint8_t)v;
	dev->info.class_code = v >> 8;
	ret = cfg_read(dev, RPCI_VGPU_CFG_SUBSYS, &v);
	if (ret < 0) {
		return ret;
	}
	dev->info.subsystem_vendor_id = (uint16_t)v;
	dev->info.subsystem_id = (uint16_t)(v >> 16);

	/* Size and place BAR0 (32-bit) and BAR2 (64-bit), as firmware does. */
	if ((ret = cfg_write(dev, RPCI_VGPU_CFG_BAR0, 0xffffffff, 0xf)) < 0 ||
	    (ret = cfg_read(dev, RPCI_VGPU_CFG_BAR0, &v)) < 0) {
		return ret;
	}
	dev->bar0_size = ~(v & ~0xfu) + 1;
	if (dev->bar0_size < RPCI_VGPU_BAR0_SIZE || (dev->bar0_size & (dev->bar0_size - 1)) != 0 ||
	    BAR0_ADDR % dev->bar0_size != 0) {
		return cl_fail(-EIO, "BAR0 has an unexpected size (0x%" PRIx64 ")", dev->bar0_size);
	}
	if ((ret = cfg_write(dev, RPCI_VGPU_CFG_BAR2, 0xffffffff, 0xf)) < 0 ||
	    (ret = cfg_write(dev, RPCI_VGPU_CFG_BAR2_HI, 0xffffffff, 0xf)) < 0 ||
	    (ret = cfg_read(dev, RPCI_VGPU_CFG_BAR2, &lo)) < 0 ||
	    (ret = cfg_read(dev, RPCI_VGPU_CFG_BAR2_HI, &hi)) < 0) {
		return ret;
	}
	if ((lo & 0x6) != 0x4) {
		return cl_fail(-EIO, "BAR2 is not a 64-bit BAR");
	}
	dev->bar2_size = ~((((uint64_t)hi) << 32) | (lo & ~0xfu)) + 1;
	if (dev->bar2_size == 0 || dev->bar2_size > BAR2_ADDR) {
		return cl_fail(-EIO, "BAR2 size 0x%" PRIx64 " is not usable", dev->bar2_size);
	}
	dev->bar0 = BAR0_ADDR;
	dev->bar2 = BAR2_ADDR;
	if ((ret = cfg_write(dev, RPCI_VGPU_CFG_BAR0, (uint32_t)dev->bar0, 0xf)) < 0 ||
	    (ret = cfg_write(dev, RPCI_VGPU_CFG_BAR2, (uint32_t)dev->bar2, 0xf)) < 0 ||
	    (ret = cfg_write(dev, RPCI_VGPU_CFG_BAR2_HI, (uint32_t)(dev->bar2 >> 32), 0xf)) < 0) {
		return ret;
	}
	/* MSI: vector 0, enabled; then memory decode and bus mastering. */
	if ((ret = cfg_write(dev, RPCI_VGPU_CFG_MSI + 12, 0, 0x3)) < 0 ||
	    (ret = cfg_write(dev, RPCI_VGPU_CFG_MSI, (uint32_t)RPCI_VGPU_MSI_ENABLE << 16,
			     0xc)) < 0 ||
	    (ret = cfg_write(dev, RPCI_VGPU_CFG_COMMAND, RPCI_VGPU_CMD_MEM | RPCI_VGPU_CMD_MASTER,
			     0x3)) < 0) {
		return ret;
	}
	ret = mem_read(dev, dev->bar0, regs, sizeof(regs));
	if (ret < 0) {
		return ret;
	}
	memcpy(&v, regs + RPCI_VGPU_REG_ID, 4);
	if (rte_le_to_cpu_32(v) != RPCI_VGPU_ID) {
		return cl_fail(-ENODEV, "function %04x is not an rpci virtual GPU",
			       dev->completer_id);
	}
	memcpy(&dev->info.memory_bytes, regs + RPCI_VGPU_REG_MEM_SIZE, 8);
	dev->info.memory_bytes = rte_le_to_cpu_64(dev->info.memory_bytes);
	memcpy(&dev->info.memory_free, regs + RPCI_VGPU_REG_MEM_FREE, 8);
	dev->info.memory_free = rte_le_to_cpu_64(dev->info.memory_free);
	memcpy(&v, regs + RPCI_VGPU_REG_CAPS, 4);
	dev->info.module_kinds = rte_le_to_cpu_32(v);
	memcpy(&v, regs + RPCI_VGPU_REG_COMPUTE_UNITS, 4);
	dev->info.compute_units = rte_le_to_cpu_32(v);
	memcpy(dev->info.backend, regs + RPCI_VGPU_REG_BACKEND, sizeof(dev->info.backend) - 1);
	memcpy(dev->info.device_name, regs + RPCI_VGPU_REG_DEVICE_NAME,
	       sizeof(dev->info.device_name) - 1);

	/* Our queues: the CQ in driver memory, which is window 0. */
	dev->windows[0].base = (uint64_t)(uintptr_t)dev->drv;
	dev->windows[0].size = dev->drv_len;
	dev->windows[0].in_use = true;
	if ((ret = cl_window_set(dev, 0, dev->windows[0].base, dev->windows[0].size)) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_SQ_SIZE, SQ_SIZE)) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CQ_BASE, (uint32_t)(uintptr_t)dev->cq)) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CQ_BASE + 4,
				(uint32_t)((uint64_t)(uintptr_t)dev->cq >> 32))) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CQ_SIZE, CQ_SIZE)) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE)) < 0) {
		return ret;
	}
	/* A read does not pass the writes before it: this confirms them. */
	ret = mem_read(dev, dev->bar0 + RPCI_VGPU_REG_STATUS, (uint8_t *)&v, 4);
	if (ret < 0) {
		return ret;
	}
	v = rte_le_to_cpu_32(v);
	if (!(v & RPCI_VGPU_STATUS_ENABLED) || (v & RPCI_VGPU_STATUS_FATAL)) {
		return cl_fail(-EIO, "the device refused our queue setup (status 0x%x)", v);
	}
	return 0;
}

struct rpci_device *
cl_device_alloc(struct rpci_client *c, const char *server)
{
	struct rpci_device *dev = calloc(1, sizeof(*dev));

	if (dev == NULL) {
		return NULL;
	}
	dev->client = c;
	snprintf(dev->info.server, sizeof(dev->info.server), "%s", server);
	dev->requester_id = (uint16_t)((c->host_index + 1) << 8);
	dev->tags = rpci_tlp_tags_create(DEV_TAGS);
	dev->drv_len = RTE_ALIGN_CEIL(CQ_SIZE * sizeof(struct rpci_vgpu_cpl) +
				      SQ_SIZE * PARAMS_SLOT + LOG_AREA, 4096u);
	dev->drv = rte_zmalloc("rpci_drv", dev->drv_len, 4096);
	if (dev->tags == NULL || dev->drv == NULL) {
		rpci_tlp_tags_free(dev->tags);
		rte_free(dev->drv);
		free(dev);
		return NULL;
	}
	dev->cq = (struct rpci_vgpu_cpl *)dev->drv;
	dev->params = dev->drv + CQ_SIZE * sizeof(struct rpci_vgpu_cpl);
	dev->log = (char *)(dev->params + SQ_SIZE * PARAMS_SLOT);
	/* Listed from the start: its session's callbacks find it, destroy frees it. */
	dev->next = c->devices;
	c->devices = dev;
	return dev;
}

/* A fresh driver state: the device starts from reset too. */
void
cl_driver_reset(struct rpci_device *dev)
{
	uint16_t t;

	memset(dev->drv, 0, dev->drv_len);
	dev->cq_phase = 1; /* the device's first pass writes phase 1 */
	dev->cq_head = dev->cq_head_told = 0;
	dev->sq_tail = dev->sq_head = 0;
	dev->wait_done = false;
	dev->first_error = 0;
	dev->pio = NULL;
	dev->lost = false;
	dev->flr = false;
	for (t = 0; t < DEV_TAGS; t++) {
		rpci_tlp_tag_release(dev->tags, t, NULL);
	}
}

int
cl_device_connect(struct rpci_device *dev, const uint8_t mac[6], uint16_t fn, uint64_t lease_id,
		  const char *server)
{
	struct rpci_client *c = dev->client;
	struct rpci_link_open_msg req, ack;
	struct rte_ether_addr peer;
	int ret;

	cl_driver_reset(dev);
	snprintf(dev->info.server, sizeof(dev->info.server), "%s", server);
	memset(&req, 0, sizeof(req));
	req.function = fn;
	req.requester_id = dev->requester_id;
	req.lease_id = lease_id;
	memcpy(peer.addr_bytes, mac, sizeof(peer.addr_bytes));
	dev->s = rpci_link_open(c->link, &peer, &req, &ack, OPEN_TIMEOUT_MS);
	if (dev->s == NULL) {
		ret = rte_errno;
		if (ret == ETIMEDOUT) {
			return cl_fail(-ret, "server '%s' did not answer", server);
		}
		return cl_fail(-ret, "server '%s' refused function %u: %s", server, fn,
			       ack.reason[0] ? ack.reason : strerror(ret));
	}
	rpci_link_session_set_priv(dev->s, dev);
	dev->function = fn;
	memcpy(dev->server_mac, mac, 6);
	dev->completer_id = ack.completer_id;
	dev->info.completer_id = ack.completer_id;
	dev->info.max_payload = rpci_link_max_payload(c->link);
	/* A PCI function of the server's host (kind "pci") has no queues (client_pci.c). */
	dev->plain = cl_pci_conf_plain(c->conf, server, fn);
	ret = dev->plain ? cl_pci_bringup(dev) : cl_device_bringup(dev);
	if (ret < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", g_errmsg);
		rpci_link_close(dev->s, 1000);
		dev->s = NULL;
		return cl_fail(ret, "bring-up of function %u on '%s' failed: %s", fn, server, msg);
	}
	return 0;
}

struct rpci_device *
rpci_device_open(struct rpci_client *client, const char *server, const char *device)
{
	const struct rpci_conf *conf;
	const struct rpci_conf_host *sh;
	const struct rpci_conf_device *sd;
	struct rpci_device *dev;
	int ret, idx;

	if (client == NULL) {
		rte_errno = EINVAL;
		cl_fail(-EINVAL, "no client");
		return NULL;
	}
	conf = client->conf;
	if (server == NULL || server[0] == '\0') {
		server = client->host->server;
		if (device == NULL || device[0] == '\0') {
			device = client->host->device;
		}
	}
	if (server[0] == '\0' && client->with_selector) {
		/* No server named: the selector chooses any device. */
		ret = rpci_device_request(client, NULL, 1, &dev);
		if (ret < 0) {
			rte_errno = -ret;
			return NULL;
		}
		return dev;
	}
	sh = rpci_conf_host_find(conf, server);
	if (sh == NULL || !(sh->roles & RPCI_ROLE_SERVER)) {
		rte_errno = ENOENT;
		cl_fail(-ENOENT, "'%s' is not a server host of %s", server, conf->path);
		return NULL;
	}
	sd = rpci_conf_device_find(sh, device);
	if (sd == NULL) {
		rte_errno = ENOENT;
		cl_fail(-ENOENT, "server '%s' has no device '%s'", server, device ? device : "");
		return NULL;
	}
	idx = rpci_conf_device_index(sh, sd);
	dev = cl_device_alloc(client, server);
	if (dev == NULL) {
		rte_errno = ENOMEM;
		cl_fail(-ENOMEM, "out of memory for the driver's queues");
		return NULL;
	}
	ret = cl_device_connect(dev, sh->mac, (uint16_t)idx, 0, server);
	if (ret < 0) {
		cl_device_free(dev);
		rte_errno = ret == -ENODEV ? ENODEV : (ret == -ENOTCONN || ret == -ETIMEDOUT ||
						       ret == -EBUSY || ret == -EAGAIN) ?
			-ret : EIO;
		return NULL;
	}
	return dev;
}

int
rpci_device_close(struct rpci_device *dev)
{
	int ret = 0, r;

	if (dev == NULL) {
		return 0;
	}
	if (dev->flr) {
		/* Reset under us (client_pci.c): nothing of ours is left to wait for. */
		dev->flr = false;
		dev->lost = false;
	} else if (cl_session_alive(dev) && !dev->plain) {
		ret = rpci_synchronize(dev);
	}
	if (cl_session_alive(dev)) {
		/* Released first: the server may stop listening once the session closes. */
		cl_sel_release(dev);
		r = rpci_link_close(dev->s, 3000);
		dev->s = NULL;
		if (ret == 0 && r < 0) {
			ret = cl_fail(r, "session with '%s' did not close in order",
				      dev->info.server);
		}
	} else {
		ret = cl_lost_error(dev);
		cl_sel_release(dev);
	}
	cl_device_free(dev);
	return ret;
}

static int
device_info_once(struct rpci_device *dev, struct rpci_device_info *info)
{
	uint64_t v;
	int ret;

	if (dev == NULL || info == NULL) {
		return cl_fail(-EINVAL, "no device or info");
	}
	if (cl_session_alive(dev) && !dev->plain) {
		ret = mem_read(dev, dev->bar0 + RPCI_VGPU_REG_MEM_FREE, (uint8_t *)&v, 8);
		if (ret < 0) {
			return ret;
		}
		dev->info.memory_free = rte_le_to_cpu_64(v);
	}
	*info = dev->info;
	return cl_session_alive(dev) ? 0 : cl_lost_error(dev);
}

int
rpci_device_info(struct rpci_device *dev, struct rpci_device_info *info)
{
	int ret, tries = 0;

	do {
		ret = device_info_once(dev, info);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

void
rpci_device_stats(const struct rpci_device *dev, struct rpci_device_stats *stats)
{
	*stats = dev->stats;
}

int
rpci_device_set_h2d_mode(struct rpci_device *dev, enum rpci_h2d_mode mode)
{
	if (dev == NULL || (mode != RPCI_H2D_PUSH && mode != RPCI_H2D_PULL)) {
		return cl_fail(-EINVAL, "bad copy mode");
	}
	dev->h2d_mode = mode;
	return 0;
}

/* ------------------------------------------------------------- memory */

static int
mem_alloc_once(struct rpci_device *dev, uint64_t size, uint64_t *dptr)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_ALLOC };
	int ret;

	if (dev == NULL || dptr == NULL || size == 0) {
		return cl_fail(-EINVAL, "bad allocation request (size %" PRIu64 ")", size);
	}
	cmd.args[0] = size;
	cmd.args[1] = 256;
	ret = cl_run_cmd(dev, &cmd, dptr);
	if (ret == -ENOMEM) {
		return cl_fail(ret, "device has no room for %" PRIu64 " bytes", size);
	}
	if (ret < 0 && ret != -ENOTCONN) {
		return cl_fail(ret, "allocation of %" PRIu64 " bytes failed: %s", size,
			    strerror(-ret));
	}
	return ret;
}

int
rpci_mem_alloc(struct rpci_device *dev, uint64_t size, uint64_t *dptr)
{
	int ret, tries = 0;

	do {
		ret = mem_alloc_once(dev, size, dptr);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
mem_free_once(struct rpci_device *dev, uint64_t dptr)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_FREE };
	int ret;

	if (dev == NULL) {
		return cl_fail(-EINVAL, "no device");
	}
	cmd.args[0] = dptr;
	ret = cl_run_cmd(dev, &cmd, NULL);
	if (ret == -ENOENT) {
		return cl_fail(ret, "0x%" PRIx64 " is not an allocation", dptr);
	}
	return ret;
}

int
rpci_mem_free(struct rpci_device *dev, uint64_t dptr)
{
	int ret, tries = 0;

	do {
		ret = mem_free_once(dev, dptr);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
check_range(struct rpci_device *dev, uint64_t dptr, uint64_t size)
{
	if (dptr > dev->info.memory_bytes || size > dev->info.memory_bytes - dptr) {
		return cl_fail(-EFAULT, "[0x%" PRIx64 ", +%" PRIu64 ") is outside device memory",
			    dptr, size);
	}
	return 0;
}

static int
synchronize_once(struct rpci_device *dev)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_FENCE };
	int ret;

	if (dev == NULL) {
		return cl_fail(-EINVAL, "no device");
	}
	ret = cl_run_cmd(dev, &cmd, NULL);
	if (ret < 0) {
		return ret;
	}
	ret = cl_take_first_error(dev);
	if (ret < 0) {
		return cl_fail(ret, "a queued command failed: %s", strerror(-ret));
	}
	return 0;
}

int
rpci_synchronize(struct rpci_device *dev)
{
	int ret, tries = 0;

	do {
		ret = synchronize_once(dev);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

/*
 * A copy done by the device's DMA engine (COPY_H2D reads client memory,
 * COPY_D2H writes it): host covered by a window for the time of each
 * command, one command per COPY_MAX_CMD bytes, in order (data lands before
 * the completion does).
 */
static int
dma_copy(struct rpci_device *dev, uint8_t opcode, uint64_t dptr, const uint8_t *host,
	 uint64_t size)
{
	uint64_t off;
	int ret;

	for (off = 0; off < size; off += COPY_MAX_CMD) {
		struct rpci_vgpu_cmd cmd = { .opcode = opcode };
		uint64_t n = RTE_MIN(size - off, COPY_MAX_CMD);
		int slot;

		ret = window_cover(dev, host + off, n, &slot);
		if (ret < 0) {
			return ret;
		}
		cmd.args[0] = dptr + off;
		cmd.host_addr = (uint64_t)(uintptr_t)host + off;
		cmd.host_len = (uint32_t)n;
		ret = cl_run_cmd(dev, &cmd, NULL);
		if (slot >= 0) {
			cl_window_del(dev, slot);
		}
		if (ret < 0) {
			return ret == -ENOTCONN ? ret :
				cl_fail(ret, "copy %s the device failed: %s",
				     opcode == RPCI_VGPU_OP_COPY_H2D ? "to" : "from",
				     strerror(-ret));
		}
	}
	ret = cl_take_first_error(dev);
	return ret < 0 ? cl_fail(ret, "a queued command failed: %s", strerror(-ret)) : 0;
}

static int
memcpy_htod_once(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t size)
{
	int ret;

	if (dev == NULL || (src == NULL && size > 0)) {
		return cl_fail(-EINVAL, "bad copy arguments");
	}
	ret = check_range(dev, dptr, size);
	if (ret < 0 || size == 0) {
		return ret;
	}
	if (dev->h2d_mode == RPCI_H2D_PULL) {
		ret = dma_copy(dev, RPCI_VGPU_OP_COPY_H2D, dptr, src, size);
	} else {
		/* Push: wait for queued work, then posted writes straight into BAR2. */
		ret = rpci_synchronize(dev);
		if (ret == 0) {
			ret = cl_post_write(dev, dev->bar2 + dptr, src, size);
		}
		/* src was sent in place: it must not change before the peer has it. */
		if (ret == 0) {
			ret = wait_acked(dev);
		}
		if (ret == 0) {
			cl_log_push(dev, dptr, src, size);
		}
	}
	if (ret == 0) {
		dev->stats.h2d_bytes += size;
	}
	return ret;
}

int
rpci_memcpy_htod(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t size)
{
	int ret, tries = 0;

	do {
		ret = memcpy_htod_once(dev, dptr, src, size);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
memcpy_dtoh_once(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size)
{
	int ret;

	if (dev == NULL || (dst == NULL && size > 0)) {
		return cl_fail(-EINVAL, "bad copy arguments");
	}
	ret = check_range(dev, dptr, size);
	if (ret < 0) {
		return ret;
	}
	ret = dma_copy(dev, RPCI_VGPU_OP_COPY_D2H, dptr, dst, size);
	if (ret == 0) {
		dev->stats.d2h_bytes += size;
	}
	return ret;
}

int
rpci_memcpy_dtoh(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size)
{
	int ret, tries = 0;

	do {
		ret = memcpy_dtoh_once(dev, dst, dptr, size);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
memset_once(struct rpci_device *dev, uint64_t dptr, uint8_t value, uint64_t size)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_MEMSET };
	int ret;

	if (dev == NULL) {
		return cl_fail(-EINVAL, "no device");
	}
	ret = check_range(dev, dptr, size);
	if (ret < 0) {
		return ret;
	}
	cmd.args[0] = dptr;
	cmd.args[1] = value;
	cmd.args[2] = size;
	return cl_run_cmd(dev, &cmd, NULL);
}

int
rpci_memset(struct rpci_device *dev, uint64_t dptr, uint8_t value, uint64_t size)
{
	int ret, tries = 0;

	do {
		ret = memset_once(dev, dptr, value, size);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
bar_range(struct rpci_device *dev, int bar, uint64_t offset, uint64_t size, uint64_t *addr)
{
	uint64_t bar_size;

	if (dev != NULL && dev->plain) {
		return cl_pci_bar_range(dev, bar, offset, size, addr);
	}
	if (dev == NULL || (bar != 0 && bar != 2)) {
		return cl_fail(-EINVAL, "the device has no BAR%d", bar);
	}
	bar_size = bar == 0 ? dev->bar0_size : dev->bar2_size;
	if (offset > bar_size || size > bar_size - offset) {
		return cl_fail(-EINVAL, "[0x%" PRIx64 ", +%" PRIu64 ") is outside BAR%d", offset,
			    size, bar);
	}
	*addr = (bar == 0 ? dev->bar0 : dev->bar2) + offset;
	return 0;
}

static int
bar_read_once(struct rpci_device *dev, int bar, uint64_t offset, void *dst, uint64_t size)
{
	uint64_t addr = 0;
	int ret = bar_range(dev, bar, offset, size, &addr);

	if (ret < 0) {
		return ret;
	}
	if (!cl_session_alive(dev)) {
		return cl_lost_error(dev);
	}
	ret = mem_read(dev, addr, dst, size);
	if (ret == 0) {
		dev->stats.d2h_bytes += size;
	}
	return ret;
}

int
rpci_bar_read(struct rpci_device *dev, int bar, uint64_t offset, void *dst, uint64_t size)
{
	int ret, tries = 0;

	do {
		ret = bar_read_once(dev, bar, offset, dst, size);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
bar_write_once(struct rpci_device *dev, int bar, uint64_t offset, const void *src, uint64_t size)
{
	uint64_t addr = 0;
	int ret = bar_range(dev, bar, offset, size, &addr);

	if (ret < 0) {
		return ret;
	}
	if (!cl_session_alive(dev)) {
		return cl_lost_error(dev);
	}
	ret = cl_post_write(dev, addr, src, size);
	if (ret < 0) {
		return ret;
	}
	ret = wait_acked(dev);
	if (ret == 0) {
		dev->stats.h2d_bytes += size;
	}
	return ret;
}

int
rpci_bar_write(struct rpci_device *dev, int bar, uint64_t offset, const void *src, uint64_t size)
{
	int ret, tries = 0;

	do {
		ret = bar_write_once(dev, bar, offset, src, size);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

int
rpci_bar_write_posted(struct rpci_device *dev, int bar, uint64_t offset, const void *src,
		      uint64_t size)
{
	uint64_t addr = 0;
	int ret = bar_range(dev, bar, offset, size, &addr);

	if (ret < 0) {
		return ret;
	}
	if (src == NULL && size > 0) {
		return cl_fail(-EINVAL, "no data to write");
	}
	if (!cl_session_alive(dev)) {
		return cl_lost_error(dev);
	}
	/* copied: the caller may reuse src before the ack */
	ret = post_write_flags(dev, addr, src, size, RPCI_LINK_SEND_COPY);
	if (ret < 0) {
		return ret;
	}
	dev->stats.h2d_bytes += size;
	return 0;
}

void *
rpci_host_alloc(struct rpci_device *dev, size_t size)
{
	void *p;
	bool rte = true;
	int slot, ret;

	if (dev == NULL || size == 0) {
		rte_errno = EINVAL;
		cl_fail(-EINVAL, "bad host allocation");
		return NULL;
	}
	size = RTE_ALIGN_CEIL(size, 64);
	p = rte_malloc("rpci_host", size, 64);
	if (p == NULL) {
		rte = false;
		if (posix_memalign(&p, 64, size) != 0) {
			rte_errno = ENOMEM;
			cl_fail(-ENOMEM, "cannot allocate %zu bytes of host memory", size);
			return NULL;
		}
	}
	ret = cl_window_add(dev, p, size, &slot);
	if (ret < 0) {
		if (rte) {
			rte_free(p);
		} else {
			free(p);
		}
		rte_errno = -ret;
		return NULL;
	}
	dev->windows[slot].alloc = p;
	dev->windows[slot].rte = rte;
	return p;
}

void
rpci_host_free(struct rpci_device *dev, void *ptr)
{
	uint32_t i;

	if (dev == NULL || ptr == NULL) {
		return;
	}
	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		struct host_window *w = &dev->windows[i];

		if (w->in_use && w->alloc == ptr) {
			cl_window_del(dev, (int)i);
			if (w->rte) {
				rte_free(ptr);
			} else {
				free(ptr);
			}
			w->alloc = NULL;
			return;
		}
	}
	cl_fail(-EINVAL, "%p was not allocated by rpci_host_alloc()", ptr);
}

/* ------------------------------------------------------------- modules */

static int
module_load_once(struct rpci_device *dev, enum rpci_module_kind kind, const void *image,
		 size_t len, struct rpci_module **module, char *log, size_t log_len)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_MODULE_LOAD };
	struct rpci_module *m;
	uint64_t handle;
	int slot = -1, ret;

	if (log != NULL && log_len > 0) {
		log[0] = '\0';
	}
	if (dev == NULL || module == NULL || (len > 0 && image == NULL) ||
	    (unsigned int)kind > RPCI_MODULE_PTX) {
		return cl_fail(-EINVAL, "bad module load arguments");
	}
	if (!(dev->info.module_kinds & (1u << kind))) {
		return cl_fail(-ENOTSUP,
			       "device '%s' (%s backend) does not load that kind of module",
			    dev->info.server, dev->info.backend);
	}
	if (len > UINT32_MAX) {
		return cl_fail(-E2BIG, "module image too large");
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		return cl_fail(-ENOMEM, "out of memory");
	}
	cmd.args[0] = kind;
	cmd.args[1] = (uint64_t)(uintptr_t)dev->log;
	cmd.args[2] = LOG_AREA;
	dev->log[0] = '\0';
	if (len > 0 && len <= RPCI_VGPU_CMD_INLINE) {
		cmd.flags = RPCI_VGPU_CMD_F_INLINE;
		cmd.inline_len = (uint16_t)len;
		memcpy(cmd.data, image, len);
	} else if (len > 0) {
		ret = window_cover(dev, image, len, &slot);
		if (ret < 0) {
			free(m);
			return ret;
		}
		cmd.host_addr = (uint64_t)(uintptr_t)image;
		cmd.host_len = (uint32_t)len;
	}
	ret = cl_run_cmd(dev, &cmd, &handle);
	if (slot >= 0) {
		cl_window_del(dev, slot);
	}
	if (log != NULL && log_len > 0) {
		snprintf(log, log_len, "%s", dev->log);
	}
	if (ret < 0) {
		free(m);
		if (ret == -ENOTCONN) {
			return ret;
		}
		return cl_fail(ret, "module load failed: %s%s%s", strerror(-ret),
			    dev->log[0] ? ": " : "", dev->log);
	}
	m->dev = dev;
	m->handle = handle;
	m->next = dev->modules;
	dev->modules = m;
	*module = m;
	return 0;
}

int
rpci_module_load(struct rpci_device *dev, enum rpci_module_kind kind, const void *image,
		 size_t len, struct rpci_module **module, char *log, size_t log_len)
{
	int ret, tries = 0;

	do {
		ret = module_load_once(dev, kind, image, len, module, log, log_len);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
module_unload_once(struct rpci_module *module)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_MODULE_UNLOAD };
	struct rpci_device *dev;
	struct rpci_module **pm;
	struct rpci_function **pf;
	int ret;

	if (module == NULL) {
		return cl_fail(-EINVAL, "no module");
	}
	dev = module->dev;
	cmd.args[0] = module->handle;
	ret = cl_run_cmd(dev, &cmd, NULL);
	for (pf = &dev->functions; *pf != NULL;) {
		if ((*pf)->module == module) {
			struct rpci_function *f = *pf;

			*pf = f->next;
			free(f);
		} else {
			pf = &(*pf)->next;
		}
	}
	for (pm = &dev->modules; *pm != NULL; pm = &(*pm)->next) {
		if (*pm == module) {
			*pm = module->next;
			break;
		}
	}
	free(module);
	return ret;
}

int
rpci_module_unload(struct rpci_module *module)
{
	struct rpci_device *dev = (module != NULL ? module->dev : NULL);
	int ret, tries = 0;

	do {
		ret = module_unload_once(module);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
function_get_once(struct rpci_module *module, const char *name, struct rpci_function **fn)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_FUNCTION_GET };
	struct rpci_function *f;
	size_t n;
	int ret;

	if (module == NULL || name == NULL || fn == NULL) {
		return cl_fail(-EINVAL, "bad function lookup arguments");
	}
	n = strlen(name) + 1;
	if (n > RPCI_VGPU_NAME_MAX) {
		return cl_fail(-EINVAL, "function name '%.20s...' is too long", name);
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return cl_fail(-ENOMEM, "out of memory");
	}
	cmd.args[0] = module->handle;
	cmd.flags = RPCI_VGPU_CMD_F_INLINE;
	cmd.inline_len = (uint16_t)n;
	memcpy(cmd.data, name, n);
	ret = cl_run_cmd(module->dev, &cmd, &f->handle);
	if (ret < 0) {
		free(f);
		if (ret == -ENOENT) {
			return cl_fail(ret, "no function '%s' in the module", name);
		}
		return ret;
	}
	f->module = module;
	f->next = module->dev->functions;
	module->dev->functions = f;
	*fn = f;
	return 0;
}

int
rpci_function_get(struct rpci_module *module, const char *name, struct rpci_function **fn)
{
	struct rpci_device *dev = (module != NULL ? module->dev : NULL);
	int ret, tries = 0;

	do {
		ret = function_get_once(module, name, fn);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}

static int
launch_once(struct rpci_function *fn, const uint32_t grid[3], const uint32_t block[3],
	    const struct rpci_kernel_arg *args, unsigned int nb_args)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_LAUNCH };
	struct rpci_device *dev;
	uint8_t params[PARAMS_MAX];
	uint32_t len, i, slot;
	int ret;

	if (fn == NULL || grid == NULL || block == NULL || (nb_args > 0 && args == NULL)) {
		return cl_fail(-EINVAL, "bad launch arguments");
	}
	if (nb_args > RPCI_VGPU_ARGS_MAX) {
		return cl_fail(-EINVAL, "%u arguments: at most %u", nb_args, RPCI_VGPU_ARGS_MAX);
	}
	for (i = 0; i < 3; i++) {
		if (grid[i] == 0 || block[i] == 0) {
			return cl_fail(-EINVAL, "grid and block sizes must be at least 1");
		}
	}
	dev = fn->module->dev;
	memset(params, 0, sizeof(params));
	params[0] = (uint8_t)nb_args;
	for (i = 0; i < nb_args; i++) {
		uint8_t *a = params + 8 + 16 * i;
		uint16_t kind = rte_cpu_to_le_16(args[i].kind);
		uint16_t size = rte_cpu_to_le_16(args[i].size);
		uint64_t value = rte_cpu_to_le_64(args[i].value);

		if (args[i].kind < RPCI_ARG_DEVPTR || args[i].kind > RPCI_ARG_LOCAL) {
			return cl_fail(-EINVAL, "argument %u has an unknown kind", i);
		}
		memcpy(a, &kind, 2);
		memcpy(a + 2, &size, 2);
		memcpy(a + 8, &value, 8);
	}
	len = 8 + 16 * nb_args;
	cmd.args[0] = fn->handle;
	cmd.args[1] = grid[0] | ((uint64_t)grid[1] << 32);
	cmd.args[2] = grid[2] | ((uint64_t)block[0] << 32);
	cmd.args[3] = block[1] | ((uint64_t)block[2] << 32);
	if (len <= RPCI_VGPU_CMD_INLINE) {
		cmd.flags = RPCI_VGPU_CMD_F_INLINE;
		cmd.inline_len = (uint16_t)len;
		memcpy(cmd.data, params, len);
	} else {
		/* Each queue slot has its own parameter block in driver memory. */
		slot = dev->sq_tail & (SQ_SIZE - 1);
		memcpy(dev->params + (size_t)slot * PARAMS_SLOT, params, len);
		cmd.host_addr = (uint64_t)(uintptr_t)(dev->params + (size_t)slot * PARAMS_SLOT);
		cmd.host_len = len;
	}
	ret = cl_submit(dev, &cmd, false, NULL);
	return ret;
}

int
rpci_launch(struct rpci_function *fn, const uint32_t grid[3], const uint32_t block[3],
	    const struct rpci_kernel_arg *args, unsigned int nb_args)
{
	struct rpci_device *dev = (fn != NULL ? fn->module->dev : NULL);
	int ret, tries = 0;

	do {
		ret = launch_once(fn, grid, block, args, nb_args);
	} while (ret == -ENOTCONN && dev != NULL && tries++ < 3 && cl_failover(dev) == 0);
	return ret;
}
