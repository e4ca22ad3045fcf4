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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	return dev->failover && !dev->replaying && dev->lease_id != 0;
}

/* Logging failed for lack of memory: failover can no longer be honest. */
static void
log_give_up(struct rpci_device *dev)
{
	cl_debug("out of memory for the replay log of %s: failover off", dev->info.server);
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
	if (!(cmd->flags & RPCI_VGPU_CMD_F_INLINE) && cmd->host_len > 0 && cmd->host_addr != 0 &&
	    cmd->opcode != RPCI_VGPU_OP_COPY_D2H) {
		/* What the device will read from our memory, as it is now. */
		const void *src = cl_from_iova(dev->client, cmd->host_addr, cmd->host_len);

		e->data = src != NULL ? malloc(cmd->host_len) : NULL;
		if (e->data == NULL) {
			log_give_up(dev);
			return;
		}
		memcpy(e->data, src, cmd->host_len);
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
	struct rpci_client *c = dev->client;
	struct rpci_vgpu_cmd cmd = e->cmd;
	uint64_t result = 0;
	uint8_t *copy = NULL;
	int ret;

	if (e->data != NULL) {
		/* The device reads the log's copy, put back in shared memory. */
		copy = cl_heap_alloc(c, e->len, 64);
		if (copy == NULL) {
			return cl_fail(-ENOMEM, "no shared memory to replay a command");
		}
		memcpy(copy, e->data, e->len);
		cmd.host_addr = cl_iova(c, copy);
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
	if (copy != NULL) {
		cl_heap_free(c, copy);
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
			ret = cl_write(dev, dev->bar2 + e->dptr, e->data, e->len);
		} else {
			ret = replay_cmd(dev, e);
		}
		dev->stats.replayed++;
	}
	dev->replaying = false;
	return ret;
}

/* A function-level reset: the same device from power-on, on the same session. */
static int
flr_restore(struct rpci_device *dev)
{
	char server[sizeof(dev->info.server)];
	int ret;

	snprintf(server, sizeof(server), "%s", dev->info.server);
	ret = cl_pci_flr_recover(dev);
	if (ret < 0) {
		return ret;
	}
	if (dev->plain || !dev->failover || dev->lease_id == 0) {
		return cl_fail(-ENOTCONN, "the device on '%s' was reset (function-level reset): "
			       "its memory, modules and functions are gone; it is up again",
			       server);
	}
	cl_debug("device on %s was reset: re-creating its state", server);
	ret = replay(dev);
	if (ret < 0) {
		return cl_fail(ret == -ENOTCONN ? -ENOTCONN : -EIO,
			       "re-creating the device on '%s' after its reset failed: %s", server,
			       rpci_last_error());
	}
	cl_debug("device on %s re-created after its reset (%u operations replayed)", server,
		 dev->nb_rlog);
	return 0;
}

int
cl_failover(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	struct rpci_ipc_open_reply *rep;
	char server[sizeof(dev->info.server)];
	void *r = NULL;
	int ret;

	if (dev->flr && !c->dead) {
		return flr_restore(dev);
	}
	if (!dev->failover || dev->lease_id == 0 || c->dead) {
		return cl_lost_error(dev);
	}
	snprintf(server, sizeof(server), "%s", dev->info.server);
	cl_debug("device on %s lost: waiting for the selector to move it", server);
	ret = cl_ctrl(c, RPCI_IPC_OP_RECONNECT, dev->slot, NULL, 0, sizeof(*rep),
		      CL_FAILOVER_WAIT_MS, &r);
	if (ret < 0) {
		const char *why = r != NULL ? ((struct rpci_ipc_reply *)r)->reason : "";

		if (c->dead) {
			return cl_dead_error(c);
		}
		return cl_fail(-ENOTCONN, "lost the device on '%s': %.*s", server,
			       RPCI_IPC_REASON_MAX, why[0] ? why : strerror(-ret));
	}
	rep = r;
	ret = cl_device_attach(dev, &rep->info);
	if (ret == 0) {
		ret = replay(dev);
	}
	if (ret < 0) {
		return cl_fail(ret == -ENOTCONN ? -ENOTCONN : -EIO,
			       "re-creating the device on '%s' failed: %s", rep->info.server,
			       rpci_last_error());
	}
	dev->stats.failovers++;
	cl_debug("device moved from %s to %s/%u (%u operations replayed)", server,
		 dev->info.server, dev->function, dev->nb_rlog);
	return 0;
}
