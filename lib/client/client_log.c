/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Failover: when a device's server goes down, the selector attaches another
 * matching device and the client re-creates the lost device's state there
 * by replaying what it did (allocations, data copied in, memsets, modules
 * and functions, launches), in order, on a fresh device. The device model's
 * allocator and handle tables are deterministic, so the replay gives the
 * same device addresses and handles the program holds; the replay checks
 * that it does. Kernels run again from the same inputs, so the interrupted
 * call (retried by the API once the device is back) sees the state it
 * would have seen.
 *
 * The log keeps a copy of every byte copied in (as long as the device is
 * open): failover costs host memory, and is off for devices opened without
 * the selector or with no_failover.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "client_private.h"

static bool
cmd_changes_state(uint8_t opcode)
{
	switch (opcode) {
	case RPCI_VGPU_OP_ALLOC:
	case RPCI_VGPU_OP_FREE:
	case RPCI_VGPU_OP_COPY_H2D:
	case RPCI_VGPU_OP_MEMSET:
	case RPCI_VGPU_OP_MODULE_LOAD:
	case RPCI_VGPU_OP_MODULE_UNLOAD:
	case RPCI_VGPU_OP_FUNCTION_GET:
	case RPCI_VGPU_OP_LAUNCH:
	case RPCI_VGPU_OP_FILE_LOAD:
		return true;
	default:
		return false; /* reads, fences */
	}
}

static struct cl_log_ent *
log_append(struct rpci_device *dev)
{
	if (dev->nb_rlog == dev->rlog_cap) {
		uint32_t cap = dev->rlog_cap ? dev->rlog_cap * 2 : 64;
		struct cl_log_ent *n = realloc(dev->rlog, sizeof(*n) * cap);

		if (n == NULL) {
			return NULL;
		}
		dev->rlog = n;
		dev->rlog_cap = cap;
	}
	memset(&dev->rlog[dev->nb_rlog], 0, sizeof(dev->rlog[0]));
	return &dev->rlog[dev->nb_rlog++];
}

static bool
logging(const struct rpci_device *dev)
{
	return dev->failover && !dev->replaying && dev->client->with_selector;
}

/* Logging failed for lack of memory: failover can no longer be honest. */
static void
log_give_up(struct rpci_device *dev)
{
	CLIENT_LOG(WARNING, "out of memory for the replay log of %s: failover off",
		   dev->info.server);
	cl_log_free(dev);
	dev->failover = false;
}

void
cl_log_cmd(struct rpci_device *dev, const struct rpci_vgpu_cmd *cmd)
{
	struct cl_log_ent *e;

	if (!logging(dev) || !cmd_changes_state(cmd->opcode)) {
		return;
	}
	e = log_append(dev);
	if (e == NULL) {
		log_give_up(dev);
		return;
	}
	e->cmd = *cmd;
	if (!(cmd->flags & RPCI_VGPU_CMD_F_INLINE) && cmd->host_len > 0 && cmd->host_addr != 0) {
		/* What the device will read from client memory, as it is now. */
		e->data = malloc(cmd->host_len);
		if (e->data == NULL) {
			log_give_up(dev);
			return;
		}
		memcpy(e->data, (const void *)(uintptr_t)cmd->host_addr, cmd->host_len);
		e->len = cmd->host_len;
		dev->rlog_bytes += e->len;
	}
}

void
cl_log_result(struct rpci_device *dev, uint32_t cmd_id, int status, uint64_t result)
{
	uint32_t i;

	if (!logging(dev)) {
		return;
	}
	for (i = dev->nb_rlog; i-- > 0;) {
		struct cl_log_ent *e = &dev->rlog[i];

		if (e->is_push || e->cmd.cmd_id != cmd_id) {
			continue;
		}
		if (status < 0) {
			/* It changed nothing: nothing to replay. */
			free(e->data);
			dev->rlog_bytes -= e->len;
			memmove(e, e + 1, sizeof(*e) * (dev->nb_rlog - i - 1));
			dev->nb_rlog--;
		} else {
			e->result = result;
		}
		return;
	}
}

void
cl_log_push(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t len)
{
	struct cl_log_ent *e;

	if (!logging(dev) || len == 0) {
		return;
	}
	e = log_append(dev);
	if (e == NULL) {
		log_give_up(dev);
		return;
	}
	e->is_push = true;
	e->dptr = dptr;
	e->data = malloc(len);
	if (e->data == NULL) {
		log_give_up(dev);
		return;
	}
	memcpy(e->data, src, len);
	e->len = len;
	dev->rlog_bytes += len;
}

void
cl_log_free(struct rpci_device *dev)
{
	uint32_t i;

	for (i = 0; i < dev->nb_rlog; i++) {
		free(dev->rlog[i].data);
	}
	free(dev->rlog);
	dev->rlog = NULL;
	dev->nb_rlog = dev->rlog_cap = 0;
	dev->rlog_bytes = 0;
}

/* Run one logged command again; results must match the first time's. */
static int
replay_cmd(struct rpci_device *dev, const struct cl_log_ent *e)
{
	struct rpci_vgpu_cmd cmd = e->cmd;
	uint64_t result = 0;
	int slot = -1, ret;

	cmd.flags &= (uint8_t)~RPCI_VGPU_CMD_F_IRQ;
	if (e->data != NULL) {
		/* The device reads the log's copy, in a window of its own. */
		ret = cl_window_add(dev, e->data, e->len, &slot);
		if (ret < 0) {
			return ret;
		}
		cmd.host_addr = (uint64_t)(uintptr_t)e->data;
	}
	if (cmd.opcode == RPCI_VGPU_OP_LAUNCH) {
		/* As the first time: queued; its errors, if any, come out at the end. */
		ret = cl_run_cmd(dev, &cmd, NULL);
		if (ret > -4096 && ret < 0 && ret != -ENOTCONN && ret != -ETIMEDOUT) {
			ret = 0;
		}
	} else {
		ret = cl_run_cmd(dev, &cmd, &result);
	}
	if (slot >= 0) {
		cl_window_del(dev, slot);
	}
	if (ret < 0) {
		return ret;
	}
	if ((cmd.opcode == RPCI_VGPU_OP_ALLOC || cmd.opcode == RPCI_VGPU_OP_MODULE_LOAD ||
	     cmd.opcode == RPCI_VGPU_OP_FUNCTION_GET) && result != e->result) {
		return cl_fail(-EIO, "replay gave %#" PRIx64 " where the lost device gave %#"
			       PRIx64 " (opcode %u)", result, e->result, cmd.opcode);
	}
	return 0;
}

static int
replay(struct rpci_device *dev)
{
	uint32_t i;
	int ret = 0;

	dev->replaying = true;
	for (i = 0; i < dev->nb_rlog && ret == 0; i++) {
		const struct cl_log_ent *e = &dev->rlog[i];

		if (e->is_push) {
			ret = cl_post_write(dev, dev->bar2 + e->dptr, e->data, e->len);
		} else {
			ret = replay_cmd(dev, e);
		}
		dev->stats.replayed++;
	}
	dev->replaying = false;
	return ret;
}

int
cl_failover(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	char server[RPCI_SEL_NAME_MAX];
	bool reset = dev->flr;
	uint32_t i;
	int ret;

	if (reset) {
		/* A function-level reset: the same device from power-on, on the same session. */
		snprintf(server, sizeof(server), "%s", dev->info.server);
		ret = cl_pci_flr_recover(dev);
		if (ret < 0) {
			return ret;
		}
		if (dev->plain || !dev->failover || !c->with_selector || dev->lease_id == 0) {
			return cl_fail(-ENOTCONN, "the device on '%s' was reset (function-level "
				       "reset): its memory, modules and functions are gone; it is "
				       "up again", server);
		}
		CLIENT_LOG(WARNING, "device on %s was reset: re-creating its state", server);
		goto restore;
	}
	if (!dev->failover || !c->with_selector || dev->lease_id == 0) {
		return cl_lost_error(dev);
	}
	snprintf(server, sizeof(server), "%s", dev->info.server);
	CLIENT_LOG(WARNING, "device on %s lost: waiting for the selector to move it", server);
	/* The old session is over, whatever the link thinks yet. */
	if (dev->s != NULL) {
		rpci_link_session_set_priv(dev->s, NULL);
		rpci_link_session_free(dev->s);
		dev->s = NULL;
	}
	ret = cl_sel_reconnect(dev);
	if (ret < 0) {
		return cl_fail(-ENOTCONN, "lost the device on '%s' and %s", server,
			       ret == -ETIMEDOUT ? "the selector moved it nowhere in time" :
			       rpci_last_error());
	}
	/* The windows the program registered, on the new device too. */
	for (i = 1; i < RPCI_VGPU_WINDOWS; i++) {
		if (dev->windows[i].in_use) {
			cl_window_set(dev, i, dev->windows[i].base, dev->windows[i].size);
		}
	}
restore: /* (after a reset, cl_pci_flr_recover() registered them again) */
	ret = replay(dev);
	if (ret < 0) {
		return cl_fail(ret == -ENOTCONN ? -ENOTCONN : -EIO,
			       "re-creating the device on '%s' failed: %s", dev->info.server,
			       rpci_last_error());
	}
	if (reset) {
		CLIENT_LOG(WARNING, "device on %s re-created after its reset (%u operations "
			   "replayed)", server, dev->nb_rlog);
		return 0;
	}
	dev->stats.failovers++;
	CLIENT_LOG(WARNING, "device moved from %s to %s/%u (%u operations replayed)", server,
		   dev->info.server, dev->function, dev->nb_rlog);
	return 0;
}
