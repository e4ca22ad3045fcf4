/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * librpci: the driver of a remote virtual GPU and the API on top.
 *
 * The driver is an ordinary PCI driver whose bus is the proxy: it sizes and
 * places the BARs with configuration writes, enables MSI, puts its
 * completion queue in shared memory, pushes commands into the device's
 * submission queue with posted writes and rings the doorbell, and takes a
 * completion when the device's MSI for it arrives (the proxy counts MSIs
 * in the control page, after it applied the device's DMA writes that came
 * before: an entry is read only once it is whole).
 *
 * Every wait runs in the calling thread (spin, then sleep on the eventfd;
 * or, embedded, the proxy core's poll loop): there is no thread of ours.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_private.h"
#include "client_transport.h"

/* ------------------------------------------------------------ helpers */

/* The device's registers and queues are little-endian, as this host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a little-endian host");

static inline uint32_t
le32(uint32_t v)
{
	return v;
}

bool
cl_session_alive(struct rpci_device *dev)
{
	const struct rpci_ipc_dev_status *st;

	if (dev->lost || dev->client->dead) {
		dev->lost = true;
		return false;
	}
	st = &dev->client->cp->dev[dev->slot];
	if (__atomic_load_n(&st->state, __ATOMIC_ACQUIRE) != RPCI_IPC_DEV_OPEN ||
	    __atomic_load_n(&st->epoch, __ATOMIC_RELAXED) != dev->epoch) {
		dev->lost = true;
		return false;
	}
	return true;
}

int
cl_lost_error(struct rpci_device *dev)
{
	if (dev->client->dead) {
		return cl_dead_error(dev->client);
	}
	return cl_fail(-ENOTCONN, "lost the device: server '%s' stopped answering",
		       dev->info.server);
}

/* A request that completes: post it and wait (timeout_ms 0: none). */
static int
post_wait(struct rpci_device *dev, struct rpci_ipc_req *r, const void *data, uint32_t len,
	  uint32_t timeout_ms, struct cl_op *out)
{
	struct rpci_client *c = dev->client;
	uint64_t cookie;
	int o, ret;

	o = cl_op_alloc(c, &cookie);
	if (o < 0) {
		return cl_fail(-EBUSY, "too many requests in flight");
	}
	r->cookie = cookie;
	r->dev = dev->slot;
	ret = cl_post(c, r, data, len);
	if (ret == 0) {
		ret = cl_op_wait(c, o, dev, timeout_ms);
		if (out != NULL) {
			*out = c->ops[o];
		}
	}
	cl_op_free(c, o);
	return ret;
}

/* ------------------------------------------------------ posted writes */

static int
write_inline(struct rpci_device *dev, uint64_t addr, const void *src, uint32_t len)
{
	struct rpci_ipc_req r;

	memset(&r, 0, sizeof(r));
	r.op = RPCI_IPC_OP_MWR;
	r.flags = RPCI_IPC_REQ_F_INLINE;
	r.dev = dev->slot;
	r.len = len;
	r.addr = addr;
	return cl_post(dev->client, &r, src, len);
}

int
cl_write_shm(struct rpci_device *dev, uint64_t addr, const void *src, uint64_t size, bool copy)
{
	struct rpci_client *c = dev->client;
	struct rpci_ipc_req r;
	uint64_t off, done = 0;
	int ret;

	if (!cl_in_shm(c, src, size, &off)) {
		return cl_fail(-EFAULT, "not shared memory");
	}
	while (done < size) {
		uint32_t n = (uint32_t)CL_MIN(size - done, (uint64_t)RPCI_IPC_XFER_MAX);

		memset(&r, 0, sizeof(r));
		r.op = RPCI_IPC_OP_MWR;
		r.flags = copy ? RPCI_IPC_REQ_F_COPY : 0;
		r.dev = dev->slot;
		r.len = n;
		r.addr = addr + done;
		r.buf = off + done;
		ret = cl_post(c, &r, NULL, 0);
		if (ret < 0) {
			return ret;
		}
		done += n;
	}
	return 0;
}

int
cl_fence(struct rpci_device *dev)
{
	struct rpci_ipc_req r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.op = RPCI_IPC_OP_FENCE;
	ret = post_wait(dev, &r, NULL, 0, 0, NULL);
	if (ret == -ENOTCONN) {
		dev->lost = true;
		return cl_lost_error(dev);
	}
	return ret;
}

/*
 * Posted writes of [src, src + size) to fabric address addr. Small writes
 * travel in the ring; shared memory is sent in place; ordinary memory passes
 * through the staging halves. acked: return once the peer has it all (else
 * src is free on return, the staging's fences still pending).
 */
static int
write_any(struct rpci_device *dev, uint64_t addr, const void *src, uint64_t size, bool acked)
{
	struct rpci_client *c = dev->client;
	uint64_t done = 0;
	unsigned int half = 0;
	int ret;

	if (size <= RPCI_IPC_INLINE_MAX) {
		ret = write_inline(dev, addr, src, (uint32_t)size);
		return ret == 0 && acked ? cl_fence(dev) : ret;
	}
	if (cl_in_shm(c, src, size, NULL)) {
		ret = cl_write_shm(dev, addr, src, size, false);
		return ret == 0 ? cl_fence(dev) : ret;
	}
	while (done < size) {
		uint64_t n = CL_MIN(size - done, (uint64_t)CL_STAGE_HALF);
		uint8_t *stage = cl_stage_take(c, half);

		if (stage == NULL) {
			return -EIO;
		}
		memcpy(stage, (const uint8_t *)src + done, n);
		ret = cl_write_shm(dev, addr + done, stage, n, false);
		if (ret == 0) {
			ret = cl_stage_fence(c, half, dev);
		}
		if (ret < 0) {
			return ret;
		}
		done += n;
		half ^= 1;
	}
	if (acked) {
		ret = cl_stage_drain(c);
		if (ret == -ENOTCONN) {
			dev->lost = true;
			return cl_lost_error(dev);
		}
		return ret;
	}
	return 0;
}

int
cl_write(struct rpci_device *dev, uint64_t addr, const void *src, uint64_t size)
{
	return write_any(dev, addr, src, size, true);
}

static int
post_write32(struct rpci_device *dev, uint32_t reg, uint32_t v)
{
	v = le32(v);
	return write_inline(dev, dev->bar0 + reg, &v, sizeof(v));
}

/* ------------------------------------------------------------- reads */

static int
cfg_access(struct rpci_device *dev, uint8_t op, uint16_t reg, uint32_t *value, uint8_t be)
{
	struct rpci_ipc_req r;
	struct cl_op o;
	int ret;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.addr = reg;
	r.arg = ((uint64_t)be << 32) | (op == RPCI_IPC_OP_CFGWR ? *value : 0);
	ret = post_wait(dev, &r, NULL, 0, dev->client->ack.request_timeout_ms, &o);
	if (ret == -EIO) {
		return cl_fail(-EIO, "configuration %s of register %u refused",
			       op == RPCI_IPC_OP_CFGRD ? "read" : "write", reg);
	}
	if (ret == -ENOTCONN) {
		dev->lost = true;
		return cl_lost_error(dev);
	}
	if (ret < 0) {
		return cl_fail(ret, "configuration request failed: %s", strerror(-ret));
	}
	if (op == RPCI_IPC_OP_CFGRD) {
		*value = (uint32_t)o.value;
	}
	return 0;
}

static int
cfg_read(struct rpci_device *dev, uint16_t offset, uint32_t *value)
{
	return cfg_access(dev, RPCI_IPC_OP_CFGRD, offset / 4, value, 0xf);
}

static int
cfg_write(struct rpci_device *dev, uint16_t offset, uint32_t value, uint8_t be)
{
	return cfg_access(dev, RPCI_IPC_OP_CFGWR, offset / 4, &value, be);
}

/* Memory reads of the device into shared memory at dst (several in flight). */
static int
read_shm(struct rpci_device *dev, uint64_t addr, uint8_t *dst, uint64_t size)
{
	struct rpci_client *c = dev->client;
	int ops[64], nb = 0, i, ret = 0, r;
	uint64_t done = 0, off;

	cl_in_shm(c, dst, size, &off);
	while (done < size || nb > 0) {
		if (done < size && nb < (int)CL_DIM(ops) && ret == 0) {
			uint32_t n = (uint32_t)CL_MIN(size - done, (uint64_t)CL_READ_CHUNK);
			struct rpci_ipc_req q;
			uint64_t cookie;

			ops[nb] = cl_op_alloc(c, &cookie);
			if (ops[nb] >= 0) {
				memset(&q, 0, sizeof(q));
				q.op = RPCI_IPC_OP_MRD;
				q.dev = dev->slot;
				q.len = n;
				q.addr = addr + done;
				q.buf = off + done;
				q.cookie = cookie;
				r = cl_post(c, &q, NULL, 0);
				if (r < 0) {
					cl_op_free(c, ops[nb]);
					ret = r;
				} else {
					nb++;
					done += n;
				}
				continue;
			}
		}
		if (nb == 0) {
			break;
		}
		r = cl_op_wait(c, ops[0], dev, c->ack.request_timeout_ms);
		cl_op_free(c, ops[0]);
		for (i = 1; i < nb; i++) {
			ops[i - 1] = ops[i];
		}
		nb--;
		if (ret == 0 && r < 0) {
			ret = r;
		}
		if (r == -ETIMEDOUT || r == -ENOTCONN) {
			/* the rest will not come either: give up on them */
			while (nb > 0) {
				cl_op_free(c, ops[--nb]);
			}
			done = size;
		}
	}
	if (ret == -EIO) {
		return cl_fail(-EIO, "read of 0x%" PRIx64 " answered with an error", addr);
	}
	if (ret == -ENOTCONN) {
		dev->lost = true;
		return cl_lost_error(dev);
	}
	return ret < 0 ? cl_fail(ret, "read of 0x%" PRIx64 " failed: %s", addr, strerror(-ret)) :
		0;
}

/* Memory reads of the device into any memory (ordinary memory through staging). */
static int
mem_read(struct rpci_device *dev, uint64_t addr, void *dst, uint64_t size)
{
	struct rpci_client *c = dev->client;
	uint64_t done = 0;
	int ret;

	if (cl_in_shm(c, dst, size, NULL)) {
		return read_shm(dev, addr, dst, size);
	}
	while (done < size) {
		uint64_t n = CL_MIN(size - done, (uint64_t)CL_STAGE_HALF);
		uint8_t *stage = cl_stage_take(c, 0);

		if (stage == NULL) {
			return -EIO;
		}
		ret = read_shm(dev, addr + done, stage, n);
		if (ret < 0) {
			return ret;
		}
		memcpy((uint8_t *)dst + done, stage, n);
		done += n;
	}
	return 0;
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

/* --------------------------------------------------------------- queues */

void
cl_cq_poll(struct rpci_device *dev)
{
	const struct rpci_ipc_dev_status *st = &dev->client->cp->dev[dev->slot];
	uint64_t msi;
	bool any = false;

	if (dev->cq == NULL) {
		return;
	}
	/* One MSI per command, each after its entry: the entries up to it are whole. */
	msi = __atomic_load_n(&st->msi, __ATOMIC_ACQUIRE);
	while (dev->msi_seen != msi) {
		struct rpci_vgpu_cpl *e = &dev->cq[dev->cq_head & (CQ_SIZE - 1)];
		uint32_t id;
		int32_t status;

		if (le32(e->phase) != dev->cq_phase) {
			break; /* an MSI with no entry: not ours to trust */
		}
		id = le32(e->cmd_id);
		status = (int32_t)le32((uint32_t)e->status);
		if (id == dev->wait_id && !dev->wait_done) {
			dev->wait_done = true;
			dev->wait_status = status;
			dev->wait_result = e->result;
		} else if (status != 0 && dev->first_error == 0) {
			dev->first_error = status;
		}
		dev->sq_head = le32(e->sq_head);
		dev->done_cmd_id = id;
		dev->cq_head++;
		if ((dev->cq_head & (CQ_SIZE - 1)) == 0) {
			dev->cq_phase ^= 1;
		}
		dev->msi_seen++;
		any = true;
	}
	/* Tell the device what we consumed, before it could run out of room. */
	if (any && dev->cq_head - dev->cq_head_told >= CQ_SIZE / 4 && cl_session_alive(dev) &&
	    post_write32(dev, RPCI_VGPU_REG_CQ_HEAD, dev->cq_head) == 0) {
		dev->cq_head_told = dev->cq_head;
	}
}

int
cl_sq_room(struct rpci_device *dev)
{
	struct cl_spin sp = { 0 };
	int ret;

	while (dev->sq_tail - dev->sq_head >= SQ_SIZE) {
		/* Full: wait for the device to complete commands. No time limit
		 * while the session lives: kernels take the time they take. */
		if (!cl_session_alive(dev)) {
			return cl_lost_error(dev);
		}
		ret = cl_turn(dev->client, &sp);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

/* Put a command in the submission queue and ring the doorbell. */
int
cl_submit(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, bool wait, uint32_t *id)
{
	uint8_t buf[RPCI_VGPU_CMD_SIZE];
	uint32_t slot, len, tail;
	int ret;

	if (dev->plain) {
		return cl_fail(-ENOTSUP, "%s is a PCI function, not a virtual GPU: it takes no "
			       "commands", dev->info.device_name);
	}
	if (!cl_session_alive(dev)) {
		return cl_lost_error(dev);
	}
	ret = cl_sq_room(dev);
	if (ret < 0) {
		return ret;
	}
	cmd->cmd_id = ++dev->next_cmd_id;
	if (cmd->cmd_id == 0) {
		cmd->cmd_id = ++dev->next_cmd_id;
	}
	/* Every command raises an MSI: completions are read behind them. */
	cmd->flags |= RPCI_VGPU_CMD_F_IRQ;
	if (wait) {
		dev->wait_id = cmd->cmd_id;
		dev->wait_done = false;
	}
	memcpy(buf, cmd, sizeof(buf)); /* little-endian host: the layout as is */
	slot = dev->sq_tail & (SQ_SIZE - 1);
	len = CL_ALIGN((uint32_t)offsetof(struct rpci_vgpu_cmd, data) + cmd->inline_len, 4u);
	/* Descriptor and doorbell: two posted writes, one frame. */
	ret = write_inline(dev, dev->bar0 + RPCI_VGPU_REG_SQ + (uint64_t)slot * RPCI_VGPU_CMD_SIZE,
			   buf, len);
	if (ret < 0) {
		return ret;
	}
	dev->sq_tail++;
	tail = dev->sq_tail;
	ret = post_write32(dev, RPCI_VGPU_REG_SQ_TAIL, tail);
	if (ret < 0) {
		return ret;
	}
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
	struct cl_spin sp = { 0 };
	int ret;

	ret = cl_submit(dev, cmd, true, NULL);
	if (ret < 0) {
		return ret;
	}
	while (!dev->wait_done) {
		if (!cl_session_alive(dev)) {
			/* Not known to have run: the retried call logs it again. */
			cl_log_result(dev, cmd->cmd_id, -ENOTCONN, 0);
			return cl_lost_error(dev);
		}
		ret = cl_turn(dev->client, &sp);
		if (ret < 0) {
			cl_log_result(dev, cmd->cmd_id, -ENOTCONN, 0);
			dev->lost = true;
			return ret;
		}
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

/* Wait until the device has completed command id (and, in order, all before it). */
static int
wait_cmd_done(struct rpci_device *dev, uint32_t id)
{
	struct cl_spin sp = { 0 };
	int ret;

	while ((int32_t)(dev->done_cmd_id - id) < 0) {
		if (!cl_session_alive(dev)) {
			return cl_lost_error(dev);
		}
		ret = cl_turn(dev->client, &sp);
		if (ret < 0) {
			dev->lost = true;
			return ret;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- windows */

int
cl_window_set(struct rpci_device *dev, uint32_t i, uint64_t base, uint64_t size)
{
	uint64_t v[2] = { base, size };

	return write_inline(dev, dev->bar0 + RPCI_VGPU_REG_WINDOWS + 16 * i, v, sizeof(v));
}

/* ------------------------------------------------------------ lifecycle */

static struct rpci_client *
client_new(void)
{
	struct rpci_client *c = calloc(1, sizeof(*c));
	const char *v;
	char *end;

	if (c == NULL) {
		errno = ENOMEM;
		cl_fail(-ENOMEM, "out of memory");
		return NULL;
	}
	c->sock = c->wake_fd = c->doorbell_fd = c->memfd = -1;
	c->handle = -1;
	/*
	 * Spin before sleeping only where there are cores to spin on: on a
	 * host of two, the proxy's (and here the server's) poll loops need
	 * them, and a spinning program makes every round trip wait for the
	 * scheduler (doc/proxy.md: 200 us against 7 us for an MRd).
	 */
	c->spin_ns = sysconf(_SC_NPROCESSORS_ONLN) > 2 ? CL_SPIN_US_DEFAULT * 1000ull : 0;
	v = getenv("RPCI_SPIN_US");
	if (v != NULL && *v != '\0') {
		unsigned long long us = strtoull(v, &end, 10);

		if (*end == '\0' && us <= 1000000) {
			c->spin_ns = us * 1000ull;
		}
	}
	return c;
}

/* Size of the shared memory: RPCI_SHM_SIZE (with K, M or G), or 1 GiB. */
static uint64_t
shm_size_wanted(void)
{
	const char *v = getenv("RPCI_SHM_SIZE");
	unsigned long long n;
	char *end;

	if (v == NULL || *v == '\0') {
		return CL_SHM_DEFAULT;
	}
	n = strtoull(v, &end, 0);
	if (*end == 'K' || *end == 'k') {
		n <<= 10;
	} else if (*end == 'M' || *end == 'm') {
		n <<= 20;
	} else if (*end == 'G' || *end == 'g') {
		n <<= 30;
	}
	n = CL_ALIGN(n, 4096);
	if (n < RPCI_IPC_SHM_MIN) {
		n = RPCI_IPC_SHM_MIN;
	}
	if (n > RPCI_IPC_SHM_MAX) {
		n = RPCI_IPC_SHM_MAX;
	}
	return n;
}

/* The shared memory and its heap, before HELLO. */
static int
client_memory(struct rpci_client *c)
{
	int ret = cl_shm_create(c, shm_size_wanted());

	if (ret < 0) {
		return ret;
	}
	ret = cl_heap_init(c);
	if (ret < 0) {
		return cl_fail(ret, "out of memory");
	}
	c->scratch = cl_heap_alloc(c, CL_SCRATCH_LEN, 4096);
	return c->scratch == NULL ? cl_fail(-ENOMEM, "out of shared memory") : 0;
}

static void
client_free(struct rpci_client *c)
{
	cl_conn_close(c);
	cl_heap_fini(c);
	free(c);
}

struct rpci_client *
rpci_client_create(const char *proxy)
{
	extern char *program_invocation_short_name;
	struct rpci_client *c;
	const char *path = proxy;
	int ret;

	if (path == NULL || path[0] == '\0') {
		path = getenv("RPCI_PROXY");
	}
	if (path == NULL || path[0] == '\0') {
		path = RPCI_PROXY_DEFAULT_SOCKET;
	}
	c = client_new();
	if (c == NULL) {
		return NULL;
	}
	ret = client_memory(c);
	if (ret == 0) {
		ret = cl_connect_socket(c, path, program_invocation_short_name);
	}
	if (ret < 0) {
		client_free(c);
		errno = -ret;
		return NULL;
	}
	return c;
}

struct rpci_client *
rpci_client_create_with(const struct rpci_client_transport *t, void *arg, const char *name)
{
	struct rpci_client *c = client_new();
	int ret;

	if (c == NULL) {
		return NULL;
	}
	c->t = t;
	c->targ = arg;
	ret = client_memory(c);
	if (ret == 0) {
		ret = t->hello(arg, c->memfd, c->shm, c->shm_size, name != NULL ? name : "",
			       &c->ack);
		if (ret < 0) {
			cl_fail(ret, "the proxy refused us: %s", strerror(-ret));
		} else {
			c->handle = ret;
			ret = 0;
		}
	}
	if (ret < 0) {
		client_free(c);
		errno = -ret;
		return NULL;
	}
	return c;
}

static void
device_free(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	struct rpci_device **pp;

	for (pp = &c->devices; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	if (c->slots[dev->slot] == dev) {
		c->slots[dev->slot] = NULL;
	}
	cl_log_free(dev);
	cl_cmd_free(dev);
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
	if (dev->drv != NULL) {
		cl_heap_free(c, dev->drv);
	}
	free(dev);
}

int
rpci_client_link_stats(struct rpci_client *client, struct rpci_client_link_stats *stats)
{
	struct rpci_ipc_link_stats *ls;
	void *rep;
	int ret;

	if (client == NULL || stats == NULL) {
		return cl_fail(-EINVAL, "no client or stats");
	}
	ret = cl_ctrl(client, RPCI_IPC_OP_STATS, 0, NULL, 0, sizeof(*ls),
		      client->ack.request_timeout_ms, &rep);
	if (ret < 0) {
		return ret;
	}
	ls = rep;
	stats->rx_frames = ls->rx_frames;
	stats->tx_frames = ls->tx_frames;
	stats->retransmits = ls->retransmits;
	stats->rx_bad_crc = ls->rx_bad_crc;
	stats->rx_malformed = ls->rx_malformed;
	stats->rx_dropped = ls->rx_dropped;
	stats->rx_data = ls->rx_data;
	stats->rx_duplicate = ls->rx_duplicate;
	stats->rx_out_of_order = ls->rx_out_of_order;
	stats->rx_bad_header = ls->rx_bad_header;
	stats->rx_not_ours = ls->rx_not_ours;
	stats->tx_data = ls->tx_data;
	stats->timeouts = ls->timeouts;
	stats->nak_sent = ls->nak_sent;
	stats->nak_rcvd = ls->nak_rcvd;
	return 0;
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
	if (!client->dead) {
		cl_stage_drain(client);
	}
	client_free(client);
}

int
rpci_client_has_selector(const struct rpci_client *client)
{
	return client != NULL && (client->ack.flags & RPCI_IPC_F_SELECTOR) != 0;
}

int
rpci_client_poll(struct rpci_client *client)
{
	int work = 0;

	if (client == NULL) {
		return 0;
	}
	if (client->t != NULL && client->t->progress != NULL) {
		work += client->t->progress(client->targ);
	}
	return work + cl_poll(client);
}

/* Reset the driver's view of the device: it starts from reset too. */
void
cl_device_reset_state(struct rpci_device *dev)
{
	const struct rpci_ipc_dev_status *st = &dev->client->cp->dev[dev->slot];

	memset(dev->drv, 0, dev->drv_len);
	dev->cq_phase = 1; /* the device's first pass writes phase 1 */
	dev->cq_head = dev->cq_head_told = 0;
	dev->sq_tail = dev->sq_head = 0;
	dev->wait_done = false;
	dev->first_error = 0;
	/* What the proxy counted so far is not news (after a reset: same session). */
	dev->msi_seen = __atomic_load_n(&st->msi, __ATOMIC_ACQUIRE);
	dev->resets_seen = __atomic_load_n(&st->resets, __ATOMIC_ACQUIRE);
	dev->done_cmd_id = dev->next_cmd_id;
	dev->lost = false;
	dev->flr = false;
}

/* The driver's bring-up of a function: BARs, MSI, queues. */
int
cl_device_bringup(struct rpci_device *dev)
{
	struct rpci_client *c = dev->client;
	uint32_t v, lo, hi;
	uint8_t *regs;
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
	/* At least the registers; larger with some personalities (a power of two). */
	dev->bar0_size = ~(v & ~0xfu) + 1u;
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
	/* The register block, read into the log area (shared memory) and parsed. */
	regs = (uint8_t *)dev->log;
	ret = read_shm(dev, dev->bar0, regs, 0x100);
	if (ret < 0) {
		return ret;
	}
	memcpy(&v, regs + RPCI_VGPU_REG_ID, 4);
	if (le32(v) != RPCI_VGPU_ID) {
		return cl_fail(-ENODEV, "function %04x is not an rpci virtual GPU",
			       dev->completer_id);
	}
	memcpy(&dev->info.memory_bytes, regs + RPCI_VGPU_REG_MEM_SIZE, 8);
	memcpy(&dev->info.memory_free, regs + RPCI_VGPU_REG_MEM_FREE, 8);
	memcpy(&v, regs + RPCI_VGPU_REG_CAPS, 4);
	dev->info.module_kinds = le32(v);
	memcpy(&v, regs + RPCI_VGPU_REG_COMPUTE_UNITS, 4);
	dev->info.compute_units = le32(v);
	memcpy(dev->info.backend, regs + RPCI_VGPU_REG_BACKEND, sizeof(dev->info.backend) - 1);
	dev->info.backend[sizeof(dev->info.backend) - 1] = '\0';
	memcpy(dev->info.device_name, regs + RPCI_VGPU_REG_DEVICE_NAME,
	       sizeof(dev->info.device_name) - 1);
	dev->info.device_name[sizeof(dev->info.device_name) - 1] = '\0';
	memset(regs, 0, 0x100);

	/*
	 * The device's DMA may reach our heap, and only it: window 0. The
	 * proxy checks the same again (the program's memory and nothing else).
	 */
	if ((ret = cl_window_set(dev, 0, c->ack.iova_base + RPCI_IPC_HEAP_OFF,
				 c->shm_size - RPCI_IPC_HEAP_OFF)) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_SQ_SIZE, SQ_SIZE)) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CQ_BASE, (uint32_t)cl_iova(c, dev->cq))) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CQ_BASE + 4,
				(uint32_t)(cl_iova(c, dev->cq) >> 32))) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CQ_SIZE, CQ_SIZE)) < 0 ||
	    (ret = post_write32(dev, RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE)) < 0) {
		return ret;
	}
	/* A read does not pass the writes before it: this confirms them. */
	ret = read_shm(dev, dev->bar0 + RPCI_VGPU_REG_STATUS, regs, 4);
	if (ret < 0) {
		return ret;
	}
	memcpy(&v, regs, 4);
	v = le32(v);
	if (!(v & RPCI_VGPU_STATUS_ENABLED) || (v & RPCI_VGPU_STATUS_FATAL)) {
		return cl_fail(-EIO, "the device refused our queue setup (status 0x%x)", v);
	}
	return 0;
}

/* A device structure with its driver memory, in slot, not yet connected. */
static struct rpci_device *
device_alloc(struct rpci_client *c, uint8_t slot)
{
	struct rpci_device *dev = calloc(1, sizeof(*dev));

	if (dev == NULL) {
		return NULL;
	}
	dev->client = c;
	dev->slot = slot;
	dev->drv_len = CL_ALIGN(CQ_SIZE * sizeof(struct rpci_vgpu_cpl) + SQ_SIZE * PARAMS_SLOT +
				LOG_AREA, 4096u);
	dev->drv = cl_heap_alloc(c, dev->drv_len, 4096);
	if (dev->drv == NULL) {
		free(dev);
		return NULL;
	}
	dev->cq = (struct rpci_vgpu_cpl *)dev->drv;
	dev->params = dev->drv + CQ_SIZE * sizeof(struct rpci_vgpu_cpl);
	dev->log = (char *)(dev->params + SQ_SIZE * PARAMS_SLOT);
	/* Listed from the start: destroy frees it. */
	dev->next = c->devices;
	c->devices = dev;
	c->slots[slot] = dev;
	return dev;
}

static int
free_slot(struct rpci_client *c, uint8_t *slots, unsigned int count)
{
	unsigned int s, n = 0;

	for (s = 0; s < RPCI_IPC_DEVICES_MAX && n < count; s++) {
		if (c->slots[s] == NULL) {
			slots[n++] = (uint8_t)s;
		}
	}
	return n == count ? 0 : cl_fail(-ENOSPC, "a program holds at most %u devices",
					RPCI_IPC_DEVICES_MAX);
}

/* The proxy has opened a session for dev: take it and bring the device up. */
int
cl_device_attach(struct rpci_device *dev, const struct rpci_ipc_dev_info *info)
{
	char msg[256];
	int ret;

	dev->epoch = info->epoch;
	dev->completer_id = info->completer_id;
	dev->lease_id = info->lease_id;
	dev->function = info->function;
	snprintf(dev->info.server, sizeof(dev->info.server), "%.31s", info->server);
	dev->info.completer_id = info->completer_id;
	dev->info.max_payload = dev->client->ack.max_payload;
	/* A PCI function of the server's host (kind "pci") has no queues (client_pci.c). */
	dev->plain = info->kind == RPCI_IPC_DEV_PCI;
	snprintf(dev->pci_address, sizeof(dev->pci_address), "%.19s", info->pci_address);
	cl_device_reset_state(dev);
	ret = dev->plain ? cl_pci_bringup(dev) : cl_device_bringup(dev);
	if (ret < 0) {
		snprintf(msg, sizeof(msg), "%s", rpci_last_error());
		return cl_fail(ret, "bring-up of function %u on '%s' failed: %s", info->function,
			       info->server, msg);
	}
	return 0;
}

/* Give a slot back to the proxy (its session, its lease). */
static int
slot_close(struct rpci_client *c, uint8_t slot)
{
	if (c->dead) {
		return cl_dead_error(c);
	}
	return cl_ctrl(c, RPCI_IPC_OP_CLOSE, slot, NULL, 0, sizeof(struct rpci_ipc_reply),
		       c->ack.request_timeout_ms, NULL);
}

static int
ctrl_error(struct rpci_client *c, int ret, void *rep)
{
	const char *reason = rep != NULL ? ((struct rpci_ipc_reply *)rep)->reason : "";

	if (c->dead) {
		return cl_dead_error(c);
	}
	if (reason[0] != '\0') {
		return cl_fail(ret, "%.*s", RPCI_IPC_REASON_MAX, reason);
	}
	return ret == -ETIMEDOUT ? cl_fail(ret, "the proxy did not answer in time") :
		cl_fail(ret, "%s", strerror(-ret));
}

_Static_assert(sizeof(struct rpci_ipc_devices_reply) <= CL_SCRATCH_LEN / 2,
	       "a device list reply fits the control scratch area");

int
rpci_client_devices(struct rpci_client *client, struct rpci_device_entry *list, unsigned int max)
{
	struct rpci_ipc_devices_params dp = { .first = 0 };
	struct rpci_ipc_devices_reply *dl;
	uint32_t total = 0, i;
	void *rep = NULL;
	int ret;

	if (client == NULL || (list == NULL && max > 0)) {
		return cl_fail(-EINVAL, "no client, or no list to fill");
	}
	do {
		ret = cl_ctrl(client, RPCI_IPC_OP_DEVICES, 0, &dp, sizeof(dp), sizeof(*dl),
			      client->ack.request_timeout_ms, &rep);
		if (ret < 0) {
			return ctrl_error(client, ret, rep);
		}
		dl = rep;
		total = dl->total;
		if (dl->count > RPCI_IPC_DEVICES_PER_REPLY || dl->count > total - dp.first) {
			return cl_fail(-EPROTO, "the proxy's device list is inconsistent");
		}
		for (i = 0; i < dl->count && dp.first + i < max; i++) {
			const struct rpci_ipc_dev_entry *e = &dl->ent[i];
			struct rpci_device_entry *o = &list[dp.first + i];

			memset(o, 0, sizeof(*o));
			snprintf(o->server, sizeof(o->server), "%.*s", RPCI_IPC_NAME_MAX - 1,
				 e->server);
			snprintf(o->device, sizeof(o->device), "%.*s", RPCI_IPC_NAME_MAX - 1,
				 e->device);
			snprintf(o->backend, sizeof(o->backend), "%.*s", RPCI_IPC_NAME_MAX - 1,
				 e->backend);
			o->pci = e->kind == RPCI_IPC_DEV_PCI;
			snprintf(o->pci_address, sizeof(o->pci_address), "%.19s", e->pci_address);
			o->function = e->function;
			o->memory_bytes = e->memory_bytes;
		}
		if (dl->count == 0) {
			break;
		}
		dp.first += dl->count;
	} while (dp.first < total && dp.first < max);
	return (int)total;
}

struct rpci_device *
rpci_device_open(struct rpci_client *client, const char *server, const char *device)
{
	struct rpci_ipc_open_params op;
	struct rpci_ipc_open_reply *rep;
	struct rpci_device *dev;
	uint8_t slot;
	void *r = NULL;
	int ret;

	if (client == NULL) {
		errno = EINVAL;
		cl_fail(-EINVAL, "no client");
		return NULL;
	}
	if (client->dead) {
		errno = ENOTCONN;
		cl_dead_error(client);
		return NULL;
	}
	ret = free_slot(client, &slot, 1);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	memset(&op, 0, sizeof(op));
	snprintf(op.server, sizeof(op.server), "%s", server != NULL ? server : "");
	snprintf(op.device, sizeof(op.device), "%s", device != NULL ? device : "");
	if ((server != NULL && strlen(server) >= sizeof(op.server)) ||
	    (device != NULL && strlen(device) >= sizeof(op.device))) {
		errno = EINVAL;
		cl_fail(-EINVAL, "server or device name too long");
		return NULL;
	}
	/* The proxy opens within its own time limits (retries included). */
	ret = cl_ctrl(client, RPCI_IPC_OP_OPEN, slot, &op, sizeof(op), sizeof(*rep),
		      CL_FAILOVER_WAIT_MS, &r);
	if (ret < 0) {
		ret = ctrl_error(client, ret, r);
		errno = ret == -ENODEV ? ENODEV : (ret == -ENOTCONN || ret == -ETIMEDOUT ||
						   ret == -EBUSY || ret == -EAGAIN ||
						   ret == -ENOENT) ? -ret : EIO;
		return NULL;
	}
	rep = r;
	dev = device_alloc(client, slot);
	if (dev == NULL) {
		slot_close(client, slot);
		errno = ENOMEM;
		cl_fail(-ENOMEM, "out of shared memory for the driver's queues");
		return NULL;
	}
	ret = cl_device_attach(dev, &rep->info);
	if (ret < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", rpci_last_error());
		slot_close(client, slot);
		device_free(dev);
		cl_fail(ret, "%s", msg);
		errno = ret == -ENODEV ? ENODEV : (ret == -ENOTCONN || ret == -ETIMEDOUT) ?
			-ret : EIO;
		return NULL;
	}
	return dev;
}

int
rpci_device_request(struct rpci_client *client, const struct rpci_requirements *req,
		    unsigned int count, struct rpci_device **devs)
{
	struct rpci_ipc_request_params rp;
	struct rpci_ipc_request_reply *rep;
	unsigned int i, opened = 0;
	void *r = NULL;
	int ret;

	if (client == NULL || devs == NULL || count == 0 || count > RPCI_IPC_REQUEST_MAX) {
		return cl_fail(-EINVAL, "bad request (count %u: 1..%u)", count,
			       RPCI_IPC_REQUEST_MAX);
	}
	if (client->dead) {
		return cl_dead_error(client);
	}
	if (!(client->ack.flags & RPCI_IPC_F_SELECTOR)) {
		return cl_fail(-ENOTSUP, "the proxy's deployment has no selector to ask");
	}
	memset(&rp, 0, sizeof(rp));
	ret = free_slot(client, rp.slots, count);
	if (ret < 0) {
		return ret;
	}
	rp.count = count;
	if (req != NULL) {
		rp.req.vendor_id = req->vendor_id;
		rp.req.class_code = req->class_code;
		rp.req.class_mask = req->class_mask;
		rp.req.min_memory = req->min_memory;
		rp.req.module_kinds = req->module_kinds;
		snprintf(rp.req.backend, sizeof(rp.req.backend), "%s", req->backend);
		snprintf(rp.req.kernel, sizeof(rp.req.kernel), "%s", req->kernel);
		snprintf(rp.req.job, sizeof(rp.req.job), "%s", req->job);
		rp.req.job_size = req->job_size;
		rp.req.no_failover = req->no_failover;
	}
	ret = cl_ctrl(client, RPCI_IPC_OP_REQUEST, 0, &rp, sizeof(rp), sizeof(*rep),
		      CL_FAILOVER_WAIT_MS, &r);
	if (ret < 0) {
		return ctrl_error(client, ret, r);
	}
	rep = r;
	for (i = 0; i < count; i++) {
		struct rpci_device *dev = device_alloc(client, rp.slots[i]);

		if (dev == NULL) {
			ret = cl_fail(-ENOMEM, "out of shared memory for the driver's queues");
			goto close_opened;
		}
		dev->failover = req == NULL || !req->no_failover;
		if (req != NULL) {
			dev->req = *req;
		}
		ret = cl_device_attach(dev, &rep->info[i]);
		if (ret < 0) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", rpci_last_error());
			slot_close(client, rp.slots[i]);
			device_free(dev);
			ret = cl_fail(ret, "%s/%s: %s", rep->info[i].server, rep->info[i].device,
				      msg);
			i++;
			goto close_opened;
		}
		devs[opened++] = dev;
	}
	return 0;

close_opened:
	/* The devices not brought up go back too. */
	for (; i < count; i++) {
		slot_close(client, rp.slots[i]);
	}
	while (opened > 0) {
		rpci_device_close(devs[--opened]);
	}
	return ret;
}

int
rpci_device_close(struct rpci_device *dev)
{
	struct rpci_client *c;
	int ret = 0, r;

	if (dev == NULL) {
		return 0;
	}
	c = dev->client;
	if (dev->flr) {
		/* Reset under us (client_pci.c): nothing of ours is left to wait for. */
		dev->flr = false;
	} else if (!cl_session_alive(dev)) {
		ret = cl_lost_error(dev);
	} else if (!dev->plain) {
		ret = rpci_synchronize(dev);
	}
	r = slot_close(c, dev->slot);
	if (ret == 0 && r < 0) {
		ret = cl_fail(r, "session with '%s' did not close in order", dev->info.server);
	}
	device_free(dev);
	return ret;
}

static int
device_info_once(struct rpci_device *dev, struct rpci_device_info *info)
{
	uint64_t *v;
	int ret;

	if (dev == NULL || info == NULL) {
		return cl_fail(-EINVAL, "no device or info");
	}
	if (cl_session_alive(dev) && !dev->plain) {
		v = (uint64_t *)(void *)dev->log;
		ret = read_shm(dev, dev->bar0 + RPCI_VGPU_REG_MEM_FREE, (uint8_t *)v, 8);
		if (ret < 0) {
			return ret;
		}
		dev->info.memory_free = *v;
	}
	*info = dev->info;
	return cl_session_alive(dev) ? 0 : cl_lost_error(dev);
}

int
rpci_device_info(struct rpci_device *dev, struct rpci_device_info *info)
{
	return CL_RETRY(dev, device_info_once(dev, info));
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

uint64_t
rpci_device_lease(const struct rpci_device *dev)
{
	return dev != NULL ? dev->lease_id : 0;
}

int
rpci_device_report(struct rpci_device *dev, const char *job, uint64_t job_size,
		   uint64_t elapsed_us)
{
	struct rpci_ipc_report_params rp;
	void *r = NULL;
	int ret;

	if (dev == NULL || job == NULL || strlen(job) >= sizeof(rp.job)) {
		return cl_fail(-EINVAL, "bad report");
	}
	if (dev->lease_id == 0) {
		return cl_fail(-ENOTSUP, "device not from the selector");
	}
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.job, sizeof(rp.job), "%s", job);
	rp.job_size = job_size;
	rp.elapsed_us = elapsed_us;
	ret = cl_ctrl(dev->client, RPCI_IPC_OP_REPORT, dev->slot, &rp, sizeof(rp),
		      sizeof(struct rpci_ipc_reply), dev->client->ack.request_timeout_ms, &r);
	return ret < 0 ? ctrl_error(dev->client, ret, r) : 0;
}

int
rpci_client_message_send(struct rpci_client *client, const char *to, const char *text)
{
	struct rpci_ipc_message m;
	void *r = NULL;
	int ret;

	if (client == NULL || to == NULL || text == NULL || strlen(text) >= sizeof(m.text) ||
	    strlen(to) >= sizeof(m.peer)) {
		return cl_fail(-EINVAL, "bad message");
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.peer, sizeof(m.peer), "%s", to);
	snprintf(m.text, sizeof(m.text), "%s", text);
	ret = cl_ctrl(client, RPCI_IPC_OP_MSG_SEND, 0, &m, sizeof(m),
		      sizeof(struct rpci_ipc_reply), client->ack.request_timeout_ms, &r);
	return ret < 0 ? ctrl_error(client, ret, r) : 0;
}

int
rpci_client_message_recv(struct rpci_client *client, char *from, size_t from_len, char *text,
			 size_t text_len)
{
	struct rpci_ipc_message *m;
	void *r = NULL;
	int ret;

	if (client == NULL) {
		return 0;
	}
	ret = cl_ctrl(client, RPCI_IPC_OP_MSG_RECV, 0, NULL, 0, sizeof(*m),
		      client->ack.request_timeout_ms, &r);
	if (ret <= 0) {
		return ret < 0 ? ctrl_error(client, ret, r) : 0;
	}
	m = r;
	if (from != NULL && from_len > 0) {
		snprintf(from, from_len, "%.*s", (int)sizeof(m->peer) - 1, m->peer);
	}
	if (text != NULL && text_len > 0) {
		snprintf(text, text_len, "%.*s", (int)sizeof(m->text) - 1, m->text);
	}
	return 1;
}

/* --------------------------------------------- configuration space */

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
	return CL_RETRY(dev, mem_alloc_once(dev, size, dptr));
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
	return CL_RETRY(dev, mem_free_once(dev, dptr));
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
	return CL_RETRY(dev, synchronize_once(dev));
}

/* One DMA copy command between device memory and shared memory. */
static int
dma_cmd(struct rpci_device *dev, uint8_t opcode, uint64_t dptr, const uint8_t *host,
	uint64_t n, bool wait, uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = opcode };

	cmd.args[0] = dptr;
	cmd.host_addr = cl_iova(dev->client, host);
	cmd.host_len = (uint32_t)n;
	if (wait) {
		return cl_run_cmd(dev, &cmd, NULL);
	}
	return cl_submit(dev, &cmd, false, id);
}

/*
 * A copy done by the device's DMA engine (COPY_H2D reads our memory,
 * COPY_D2H writes it), one command per COPY_MAX_CMD bytes, in order (data
 * lands before the completion does). Ordinary memory goes through the two
 * staging halves, the device filling (or reading) one while we copy the
 * other.
 */
static int
dma_copy(struct rpci_device *dev, uint8_t opcode, uint64_t dptr, uint8_t *host, uint64_t size)
{
	struct rpci_client *c = dev->client;
	bool to_host = opcode == RPCI_VGPU_OP_COPY_D2H;
	uint32_t ids[2] = { 0, 0 };
	uint64_t lens[2] = { 0, 0 }, offs[2] = { 0, 0 };
	uint64_t off;
	unsigned int h;
	int ret = 0;

	if (cl_in_shm(c, host, size, NULL)) {
		for (off = 0; off < size && ret == 0; off += COPY_MAX_CMD) {
			ret = dma_cmd(dev, opcode, dptr + off, host + off,
				      CL_MIN(size - off, COPY_MAX_CMD), true, NULL);
		}
	} else {
		uint8_t *stage[2];

		stage[0] = cl_stage_take(c, 0);
		stage[1] = stage[0] != NULL ? cl_stage_take(c, 1) : NULL;
		if (stage[1] == NULL) {
			return -EIO;
		}
		for (off = 0, h = 0; off < size || lens[0] || lens[1]; h ^= 1) {
			/* the half's earlier command first: its data, then reuse it */
			if (lens[h] > 0) {
				ret = wait_cmd_done(dev, ids[h]);
				if (ret < 0) {
					break;
				}
				if (dev->first_error != 0) {
					ret = cl_take_first_error(dev);
					break;
				}
				if (to_host) {
					memcpy(host + offs[h], stage[h], lens[h]);
				}
				lens[h] = 0;
			}
			if (off >= size) {
				continue;
			}
			lens[h] = CL_MIN(size - off, (uint64_t)CL_STAGE_HALF);
			offs[h] = off;
			if (!to_host) {
				memcpy(stage[h], host + off, lens[h]);
			}
			ret = dma_cmd(dev, opcode, dptr + off, stage[h], lens[h], false, &ids[h]);
			if (ret < 0) {
				break;
			}
			off += lens[h];
		}
		if (ret == 0) {
			ret = synchronize_once(dev);
		}
	}
	if (ret < 0) {
		return ret == -ENOTCONN ? ret :
			cl_fail(ret, "copy %s the device failed: %s",
				opcode == RPCI_VGPU_OP_COPY_H2D ? "to" : "from", strerror(-ret));
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
		ret = dma_copy(dev, RPCI_VGPU_OP_COPY_H2D, dptr, (uint8_t *)(uintptr_t)src, size);
	} else {
		/* Push: wait for queued work, then posted writes straight into BAR2. */
		ret = synchronize_once(dev);
		if (ret == 0) {
			ret = cl_write(dev, dev->bar2 + dptr, src, size);
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
	return CL_RETRY(dev, memcpy_htod_once(dev, dptr, src, size));
}

static int
memcpy_dtoh_once(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size)
{
	int ret;

	if (dev == NULL || (dst == NULL && size > 0)) {
		return cl_fail(-EINVAL, "bad copy arguments");
	}
	ret = check_range(dev, dptr, size);
	if (ret < 0 || size == 0) {
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
	return CL_RETRY(dev, memcpy_dtoh_once(dev, dst, dptr, size));
}

/* Queue DMA copy commands between device memory and the heap, not waited for. */
static int
copy_async_once(struct rpci_device *dev, uint8_t opcode, uint64_t dptr, const void *host,
		uint64_t size)
{
	uint64_t off;
	int ret;

	if (dev == NULL || (host == NULL && size > 0)) {
		return cl_fail(-EINVAL, "bad copy arguments");
	}
	if (!cl_in_shm(dev->client, host, size, NULL)) {
		return cl_fail(-EINVAL, "an asynchronous copy needs memory of "
			       "rpci_client_host_alloc()");
	}
	ret = check_range(dev, dptr, size);
	if (ret < 0 || size == 0) {
		return ret;
	}
	for (off = 0; off < size; off += COPY_MAX_CMD) {
		ret = dma_cmd(dev, opcode, dptr + off, (const uint8_t *)host + off,
			      CL_MIN(size - off, COPY_MAX_CMD), false, NULL);
		if (ret < 0) {
			return ret;
		}
	}
	if (opcode == RPCI_VGPU_OP_COPY_H2D) {
		dev->stats.h2d_bytes += size;
	} else {
		dev->stats.d2h_bytes += size;
	}
	return 0;
}

int
rpci_memcpy_htod_async(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t size)
{
	return CL_RETRY(dev, copy_async_once(dev, RPCI_VGPU_OP_COPY_H2D, dptr, src, size));
}

int
rpci_memcpy_dtoh_async(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size)
{
	return CL_RETRY(dev, copy_async_once(dev, RPCI_VGPU_OP_COPY_D2H, dptr, dst, size));
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
	return CL_RETRY(dev, memset_once(dev, dptr, value, size));
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
	return CL_RETRY(dev, bar_read_once(dev, bar, offset, dst, size));
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
	ret = cl_write(dev, addr, src, size);
	if (ret == 0) {
		dev->stats.h2d_bytes += size;
	}
	return ret;
}

int
rpci_bar_write(struct rpci_device *dev, int bar, uint64_t offset, const void *src, uint64_t size)
{
	return CL_RETRY(dev, bar_write_once(dev, bar, offset, src, size));
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
	/* copied (into the ring, or the staging): the caller may reuse src at once */
	if (cl_in_shm(dev->client, src, size, NULL) && size > RPCI_IPC_INLINE_MAX) {
		ret = cl_write_shm(dev, addr, src, size, true);
	} else {
		ret = write_any(dev, addr, src, size, false);
	}
	if (ret < 0) {
		return ret;
	}
	dev->stats.h2d_bytes += size;
	return 0;
}

void *
rpci_host_alloc(struct rpci_device *dev, size_t size)
{
	return rpci_client_host_alloc(dev != NULL ? dev->client : NULL, size);
}

void
rpci_host_free(struct rpci_device *dev, void *ptr)
{
	rpci_client_host_free(dev != NULL ? dev->client : NULL, ptr);
}

void *
rpci_client_host_alloc(struct rpci_client *client, size_t size)
{
	void *p;

	if (client == NULL || size == 0) {
		errno = EINVAL;
		cl_fail(-EINVAL, "bad host allocation");
		return NULL;
	}
	p = cl_heap_alloc(client, size, 64);
	if (p == NULL) {
		errno = ENOMEM;
		cl_fail(-ENOMEM, "no room for %zu bytes in the %" PRIu64 " MiB of shared memory "
			"(RPCI_SHM_SIZE sets it)", size, client->shm_size >> 20);
	}
	return p;
}

void
rpci_client_host_free(struct rpci_client *client, void *ptr)
{
	if (client == NULL || ptr == NULL) {
		return;
	}
	if (cl_heap_free(client, ptr) < 0) {
		cl_fail(-EINVAL, "%p was not allocated by rpci_host_alloc()", ptr);
	}
}

/* ------------------------------------------------------------- modules */

static int
module_load_once(struct rpci_device *dev, enum rpci_module_kind kind, const void *image,
		 size_t len, struct rpci_module **module, char *log, size_t log_len)
{
	struct rpci_client *c;
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_MODULE_LOAD };
	struct rpci_module *m;
	uint8_t *copy = NULL;
	uint64_t handle;
	int ret;

	if (log != NULL && log_len > 0) {
		log[0] = '\0';
	}
	if (dev == NULL || module == NULL || (len > 0 && image == NULL) ||
	    (unsigned int)kind > RPCI_MODULE_PTX) {
		return cl_fail(-EINVAL, "bad module load arguments");
	}
	c = dev->client;
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
	cmd.args[1] = cl_iova(c, dev->log);
	cmd.args[2] = LOG_AREA;
	dev->log[0] = '\0';
	if (len > 0 && len <= RPCI_VGPU_CMD_INLINE) {
		cmd.flags = RPCI_VGPU_CMD_F_INLINE;
		cmd.inline_len = (uint16_t)len;
		memcpy(cmd.data, image, len);
	} else if (len > 0) {
		/* the device reads the image from shared memory */
		copy = cl_heap_alloc(c, len, 64);
		if (copy == NULL) {
			free(m);
			return cl_fail(-ENOMEM, "no room for a %zu-byte image in shared memory",
				       len);
		}
		memcpy(copy, image, len);
		cmd.host_addr = cl_iova(c, copy);
		cmd.host_len = (uint32_t)len;
	}
	ret = cl_run_cmd(dev, &cmd, &handle);
	if (copy != NULL) {
		cl_heap_free(c, copy);
	}
	if (log != NULL && log_len > 0) {
		snprintf(log, log_len, "%.*s", (int)LOG_AREA - 1, dev->log);
	}
	if (ret < 0) {
		free(m);
		if (ret == -ENOTCONN) {
			return ret;
		}
		dev->log[LOG_AREA - 1] = '\0';
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
	return CL_RETRY(dev, module_load_once(dev, kind, image, len, module, log, log_len));
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
	if (ret == -ENOTCONN) {
		return ret; /* retried on the new device after a failover */
	}
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
	return CL_RETRY(module != NULL ? module->dev : NULL, module_unload_once(module));
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
	return CL_RETRY(module != NULL ? module->dev : NULL, function_get_once(module, name, fn));
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

		if (args[i].kind < RPCI_ARG_DEVPTR || args[i].kind > RPCI_ARG_LOCAL) {
			return cl_fail(-EINVAL, "argument %u has an unknown kind", i);
		}
		memcpy(a, &args[i].kind, 2);
		memcpy(a + 2, &args[i].size, 2);
		memcpy(a + 8, &args[i].value, 8);
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
		/*
		 * Each queue slot has its own parameter block in driver memory,
		 * free once the slot's previous command completed: room first.
		 */
		ret = cl_sq_room(dev);
		if (ret < 0) {
			return ret;
		}
		slot = dev->sq_tail & (SQ_SIZE - 1);
		memcpy(dev->params + (size_t)slot * PARAMS_SLOT, params, len);
		cmd.host_addr = cl_iova(dev->client, dev->params + (size_t)slot * PARAMS_SLOT);
		cmd.host_len = len;
	}
	return cl_submit(dev, &cmd, false, NULL);
}

int
rpci_launch(struct rpci_function *fn, const uint32_t grid[3], const uint32_t block[3],
	    const struct rpci_kernel_arg *args, unsigned int nb_args)
{
	return CL_RETRY(fn != NULL ? fn->module->dev : NULL,
			launch_once(fn, grid, block, args, nb_args));
}
