/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the virtual GPU device model (drivers/pci/vgpu).
 *
 * Two net_ring ports joined back to back in one process carry one link
 * each. The server's link binds its sessions to the device under test and
 * feeds it their messages. On the client's link the test plays the host
 * and its driver by hand, message by message: configuration requests,
 * memory reads and posted writes to the BARs, submission queue entries and
 * doorbells. The host side (host_rx_msg()) applies the device's DMA writes
 * to a host buffer only inside the windows the test registered (anything
 * else is a violation: counted, never applied), answers the device's DMA
 * reads from that buffer, and records MSIs.
 *
 * Everything runs from the main thread (pump(): poll both links and the
 * device), every wait bounded, except the orderly close of a session:
 * rpci_link_close() polls only its own link, so it runs on a helper thread
 * while the main thread polls the server.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "rpci_gpu.h"
#include "rpci_link.h"
#include "rpci_tlp.h"
#include "rpci_vgpu.h"
#include "vgpu_file.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

/* The fabric. */
#define TEST_MTU 1500
#define TEST_COPY_THRESHOLD 32 /* small: larger payloads travel attached, not copied */
#define TEST_POOL_MBUFS 4095
#define TEST_RING_SIZE 1024
#define CLIENT_ID 0x0200
#define COMPLETER_ID 0x0100
#define OTHER_ID 0x0101
#define MSI_VECTOR 0x0042

/* Where the test's firmware places the BARs. */
#define BAR0_ADDR 0xe0000000ull
#define BAR2_ADDR 0x1000000000ull

/* Host memory: HOST_SIZE bytes at fabric address HOST_BASE. */
#define HOST_BASE 0x200000000ull
#define HOST_SIZE (512u * KiB)
#define HOST_CQ 0x0u /* window 0: the completion queue */
#define HOST_CQ_SIZE 0x2000u
#define HOST_AUX 0x2000u /* window 1: build logs, launch parameters */
#define HOST_AUX_SIZE 0xe000u
#define HOST_DATA 0x10000u /* window 2: copies */
#define HOST_DATA_SIZE 0x30000u
#define HOST_NOWIN 0x40000u /* never inside a window */

/* Bounds of the waits: rounds of pump_once(). */
#define PUMP_MAX 3000000u
#define SETTLE_ROUNDS 300u

#define CPL_SIZE ((uint32_t)sizeof(struct rpci_vgpu_cpl))

_Static_assert(sizeof(struct rpci_vgpu_cmd) == RPCI_VGPU_CMD_SIZE, "command size");
_Static_assert(sizeof(struct rpci_vgpu_cpl) == 32, "completion size");

/* The host: its memory, its view of the windows, what the device did to it. */
struct host {
	uint8_t *mem;
	struct {
		uint64_t base;
		uint64_t size;
	} win[RPCI_VGPU_WINDOWS];
	uint64_t violations;  /* DMA outside the registered windows */
	uint64_t injected;    /* violations the harness self-check caused on purpose */
	uint64_t unexpected;  /* messages the host did not expect */
	uint64_t mwr_bytes;   /* DMA bytes written into host memory */
	uint64_t mrd_count;   /* DMA reads answered */
	uint64_t mrd_bytes;
	uint64_t msi;
	uint32_t msi_data;
	uint64_t downs;       /* client sessions that went down */
	uint64_t flr;         /* function-level reset messages */
	/* the test's own reads */
	struct rpci_tlp_tags *tags;
	uint32_t outstanding;
	int pio_error;
	uint8_t last_status;  /* status of the last completion */
	uint32_t cpld_count;  /* CplD received since the last mem_read() started */
};

/* The server: one device at a time, bound to the session that opens it. */
struct server {
	struct rpci_gpu *gpu;
	struct rpci_vgpu *dev;
	uint64_t mem_bytes;
	struct rpci_link_session *s;
	uint64_t opens;
	uint64_t downs;
};

/* The driver's view of the queues. */
struct queue {
	uint32_t sq_size;
	uint32_t cq_size;
	uint64_t cq_addr;
	uint32_t sq_tail;
	uint32_t sq_head; /* from the completions */
	uint32_t cq_head;
	uint32_t phase;   /* phase of the next new entry */
	uint32_t next_id;
	bool auto_head;   /* tell the device CQ_HEAD after each completion */
};

static struct host g_host;
static struct server g_srv;
static struct queue g_q;

static struct rte_ring *g_ring_c2s;
static struct rte_ring *g_ring_s2c;
static uint16_t g_port_c;
static uint16_t g_port_s;
static struct rte_mempool *g_pool;
static struct rte_mempool *g_ext_pool;
static unsigned int g_pool_avail;
static unsigned int g_ext_avail;
static struct rpci_link *g_link_c;
static struct rpci_link *g_link_s;
static struct rpci_link_session *g_cs; /* the client's session */
static const struct rte_ether_addr g_mac_c = { { 0x02, 0, 0, 0, 0x76, 0x01 } };
static const struct rte_ether_addr g_mac_s = { { 0x02, 0, 0, 0, 0x76, 0x02 } };

static const struct rpci_vgpu_personality g_personality = {
	.vendor_id = 0x7270,
	.device_id = 0x0001,
	.subsystem_vendor_id = 0x7270,
	.subsystem_id = 0x0002,
	.class_code = 0x030200,
	.revision = 3,
};

/* ------------------------------------------------------------ host memory */

static uint8_t *
host_ptr(uint64_t addr)
{
	return g_host.mem + (addr - HOST_BASE);
}

static bool
host_window_ok(uint64_t addr, uint64_t len)
{
	uint32_t i;

	if (len == 0 || addr < HOST_BASE || len > HOST_SIZE || addr - HOST_BASE > HOST_SIZE - len) {
		return false;
	}
	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		uint64_t b = g_host.win[i].base, sz = g_host.win[i].size;

		if (sz != 0 && addr >= b && len <= sz && addr - b <= sz - len) {
			return true;
		}
	}
	return false;
}

static bool
all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != v) {
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------- the host's side */

/* The device writes host memory (DMA, completions). */
static int
host_rx_mwr(const struct rpci_tlp *msg)
{
	uint32_t first, count;

	count = rpci_tlp_byte_range(msg, &first);
	if (count == 0) {
		return 0;
	}
	if (!host_window_ok(msg->address + first, count)) {
		g_host.violations++;
		return -EFAULT;
	}
	memcpy(host_ptr(msg->address + first), (const uint8_t *)msg->payload + first, count);
	g_host.mwr_bytes += count;
	return 0;
}

/* The device reads host memory (DMA pull): answer from the host buffer. */
static int
host_rx_mrd(struct rpci_link_session *s, const struct rpci_tlp *msg)
{
	uint32_t max_payload = rpci_link_max_payload(g_link_c);
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp cpl;
	uint32_t first, count;
	uint64_t src;
	int ret;

	if (rpci_link_tx_room(s) < msg->length_dw * 4u / max_payload + 2) {
		return -EAGAIN;
	}
	count = rpci_tlp_byte_range(msg, &first);
	if (count == 0 || !host_window_ok(msg->address + first, count)) {
		g_host.violations++;
		rpci_tlp_cpl_for(&cpl, msg, CLIENT_ID, RPCI_TLP_CPL_UR);
		rpci_link_send(s, &cpl, NULL, 0);
		return -EFAULT;
	}
	ret = rpci_tlp_cpl_iter_init(&it, msg, CLIENT_ID, max_payload);
	if (ret < 0) {
		g_host.unexpected++;
		return ret;
	}
	while (rpci_tlp_cpl_iter_next(&it, &cpl, &src) == 1) {
		ret = rpci_link_send(s, &cpl, host_ptr(src), RPCI_LINK_SEND_EXACT);
		if (ret < 0) {
			g_host.unexpected++;
			return ret;
		}
	}
	g_host.mrd_count++;
	g_host.mrd_bytes += count;
	return 0;
}

/* A completion of one of the test's own reads. */
static int
host_rx_cpl(const struct rpci_tlp *msg)
{
	uint32_t offset, len, skip;
	void *cookie;
	bool done;
	int ret;

	ret = rpci_tlp_tag_complete(g_host.tags, msg, &offset, &len, &skip, &cookie, &done);
	if (ret == -ENOENT || ret == -EBADMSG) {
		g_host.unexpected++;
		return ret;
	}
	g_host.last_status = msg->status;
	if (msg->type == RPCI_TLP_CPLD) {
		g_host.cpld_count++;
	}
	if (ret == -EIO) {
		g_host.pio_error = -EIO;
	} else if (len > 0) {
		memcpy((uint8_t *)cookie + offset, (const uint8_t *)msg->payload + skip, len);
	}
	if (done) {
		g_host.outstanding--;
	}
	return 0;
}

static int
host_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	RTE_SET_USED(arg);
	switch (msg->type) {
	case RPCI_TLP_MWR:
		return host_rx_mwr(msg);
	case RPCI_TLP_MRD:
		return host_rx_mrd(s, msg);
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		return host_rx_cpl(msg);
	case RPCI_TLP_MSG:
		if (msg->msg_code == RPCI_TLP_MSG_MSI && msg->requester_id == COMPLETER_ID) {
			g_host.msi++;
			g_host.msi_data = msg->msg_data;
			return 0;
		}
		if (msg->msg_code == RPCI_TLP_MSG_VENDOR && msg->requester_id == COMPLETER_ID &&
		    msg->msg_data == RPCI_VGPU_MSG_FLR) {
			g_host.flr++;
			return 0;
		}
		g_host.unexpected++;
		return -EOPNOTSUPP;
	default:
		g_host.unexpected++;
		return -EPROTO;
	}
}

static void
host_down(struct rpci_link_session *s, enum rpci_link_state state, void *arg)
{
	RTE_SET_USED(s);
	RTE_SET_USED(state);
	RTE_SET_USED(arg);
	g_host.downs++;
}

static const struct rpci_link_ops g_client_ops = {
	.rx_msg = host_rx_msg,
	.down = host_down,
};

/* ------------------------------------------------------- the server's side */

static int
srv_open(struct rpci_link_session *s, const struct rpci_link_open_msg *req,
	 struct rpci_link_open_msg *ack, void *arg)
{
	int ret;

	RTE_SET_USED(arg);
	if (g_srv.dev == NULL || req->function != 0) {
		snprintf(ack->reason, sizeof(ack->reason), "no such device");
		return -ENODEV;
	}
	ret = rpci_vgpu_bind(g_srv.dev, s, req->requester_id);
	if (ret < 0) {
		snprintf(ack->reason, sizeof(ack->reason), "device busy");
		return ret;
	}
	rpci_link_session_set_priv(s, g_srv.dev);
	ack->completer_id = COMPLETER_ID;
	g_srv.s = s;
	g_srv.opens++;
	return 0;
}

static int
srv_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	struct rpci_vgpu *dev = rpci_link_session_priv(s);

	RTE_SET_USED(arg);
	if (dev == NULL) {
		return -ENOTCONN;
	}
	return rpci_vgpu_rx(dev, msg);
}

static void
srv_down(struct rpci_link_session *s, enum rpci_link_state state, void *arg)
{
	struct rpci_vgpu *dev = rpci_link_session_priv(s);

	RTE_SET_USED(state);
	RTE_SET_USED(arg);
	if (dev != NULL) {
		rpci_vgpu_unbind(dev);
	}
	rpci_link_session_set_priv(s, NULL);
	if (g_srv.s == s) {
		g_srv.s = NULL;
	}
	g_srv.downs++;
	rpci_link_session_free(s);
}

static const struct rpci_link_ops g_server_ops = {
	.rx_msg = srv_rx_msg,
	.open = srv_open,
	.down = srv_down,
};

/* -------------------------------------------------------------- pumping */

static int
pump_once(void)
{
	int work = rpci_link_poll(g_link_c);

	work += rpci_link_poll(g_link_s);
	if (g_srv.dev != NULL) {
		work += rpci_vgpu_poll(g_srv.dev);
	}
	return work;
}

static void
pump(uint32_t rounds)
{
	while (rounds-- > 0) {
		pump_once();
	}
}

/* Poll until nothing moves any more (frames in the rings delivered). */
static void
drain(void)
{
	uint32_t quiet = 0, n;

	for (n = 0; n < 100000 && quiet < 32; n++) {
		if (pump_once() == 0) {
			quiet++;
		} else {
			quiet = 0;
		}
	}
}

/* Queue a message on the client's session, pumping while the link is full. */
static int
send_msg(const struct rpci_tlp *msg, const void *payload, unsigned int flags)
{
	uint32_t n;
	int ret = -EAGAIN;

	for (n = 0; n < PUMP_MAX; n++) {
		ret = rpci_link_send(g_cs, msg, payload, flags);
		if (ret != -EAGAIN) {
			break;
		}
		pump_once();
	}
	return ret;
}

/* Wait for the test's outstanding reads. */
static int
pio_wait(void)
{
	uint32_t n;
	uint16_t t;

	rpci_link_flush(g_link_c);
	for (n = 0; n < PUMP_MAX && g_host.outstanding > 0; n++) {
		pump_once();
	}
	if (g_host.outstanding == 0) {
		return g_host.pio_error;
	}
	for (t = 0; t < g_host.tags->nb_tags; t++) {
		rpci_tlp_tag_release(g_host.tags, t, NULL);
	}
	g_host.outstanding = 0;
	return -ETIMEDOUT;
}

/* ------------------------------------------------- the driver's requests */

static int
cfg_access(uint8_t type, uint16_t completer, uint16_t off, uint32_t *value, uint8_t be)
{
	struct rpci_tlp req = {
		.type = type,
		.first_be = be,
		.length_dw = 1,
		.requester_id = CLIENT_ID,
		.completer_id = completer,
		.reg = off / 4,
	};
	uint32_t v = 0, le;
	int tag, ret;

	tag = rpci_tlp_tag_alloc(g_host.tags, &req, &v);
	if (tag < 0) {
		return tag;
	}
	req.tag = (uint16_t)tag;
	g_host.outstanding = 1;
	g_host.pio_error = 0;
	if (type == RPCI_TLP_CFGWR) {
		le = rte_cpu_to_le_32(*value);
		ret = send_msg(&req, &le, RPCI_LINK_SEND_COPY);
	} else {
		ret = send_msg(&req, NULL, 0);
	}
	if (ret < 0) {
		rpci_tlp_tag_release(g_host.tags, (uint16_t)tag, NULL);
		g_host.outstanding = 0;
		return ret;
	}
	ret = pio_wait();
	if (ret == 0 && type == RPCI_TLP_CFGRD) {
		*value = rte_le_to_cpu_32(v);
	}
	return ret;
}

/* Configuration read of our function; 0xffffffff (and a failure) if refused. */
static uint32_t
cfg_rd(uint16_t off)
{
	uint32_t v = 0xffffffff;
	int ret = cfg_access(RPCI_TLP_CFGRD, COMPLETER_ID, off, &v, 0xf);

	CU_ASSERT_EQUAL(ret, 0);
	return ret == 0 ? v : 0xffffffff;
}

static void
cfg_wr(uint16_t off, uint32_t value, uint8_t be)
{
	CU_ASSERT_EQUAL(cfg_access(RPCI_TLP_CFGWR, COMPLETER_ID, off, &value, be), 0);
}

/* Read [addr, addr + len) of the fabric (BARs) with as many MRd as it takes. */
static int
mem_read(uint64_t addr, uint32_t len, void *buf)
{
	uint32_t issued = 0, n;
	int ret = 0, wret;

	g_host.pio_error = 0;
	g_host.outstanding = 0;
	g_host.cpld_count = 0;
	while (issued < len) {
		uint64_t a = addr + issued;
		uint32_t chunk = rpci_tlp_chunk_len(a, len - issued, RPCI_TLP_MAX_PAYLOAD);
		struct rpci_tlp mrd = {
			.type = RPCI_TLP_MRD,
			.requester_id = CLIENT_ID,
		};
		int tag = -EBUSY;

		rpci_tlp_set_byte_range(&mrd, a, chunk);
		for (n = 0; n < PUMP_MAX; n++) {
			tag = rpci_tlp_tag_alloc(g_host.tags, &mrd, (uint8_t *)buf + issued);
			if (tag >= 0) {
				break;
			}
			pump_once();
		}
		if (tag < 0) {
			ret = -ETIMEDOUT;
			break;
		}
		mrd.tag = (uint16_t)tag;
		ret = send_msg(&mrd, NULL, 0);
		if (ret < 0) {
			rpci_tlp_tag_release(g_host.tags, (uint16_t)tag, NULL);
			break;
		}
		g_host.outstanding++;
		issued += chunk;
	}
	wret = pio_wait();
	return ret < 0 ? ret : wret;
}

/* Issue one MRd (len <= 4 KiB, no 4 KiB boundary crossed) without waiting: pio_wait(). */
static int
mrd_issue(uint64_t addr, uint32_t len, void *buf)
{
	struct rpci_tlp mrd = {
		.type = RPCI_TLP_MRD,
		.requester_id = CLIENT_ID,
	};
	int tag, ret;

	ret = rpci_tlp_set_byte_range(&mrd, addr, len);
	if (ret < 0) {
		return ret;
	}
	tag = rpci_tlp_tag_alloc(g_host.tags, &mrd, buf);
	if (tag < 0) {
		return tag;
	}
	mrd.tag = (uint16_t)tag;
	g_host.outstanding = 1;
	g_host.pio_error = 0;
	ret = send_msg(&mrd, NULL, 0);
	if (ret < 0) {
		rpci_tlp_tag_release(g_host.tags, (uint16_t)tag, NULL);
		g_host.outstanding = 0;
		return ret;
	}
	rpci_link_flush(g_link_c);
	return 0;
}

/* Posted writes of buf to [addr, addr + len); unaligned edges use byte enables. */
static void
mem_write(uint64_t addr, const void *buf, uint32_t len)
{
	uint32_t max_payload = rpci_link_max_payload(g_link_c);
	const uint8_t *src = buf;
	uint32_t off = 0;

	while (off < len) {
		uint64_t a = addr + off;
		uint32_t chunk = rpci_tlp_chunk_len(a, len - off, max_payload);
		struct rpci_tlp mwr = {
			.type = RPCI_TLP_MWR,
			.requester_id = CLIENT_ID,
		};

		CU_ASSERT_EQUAL(rpci_tlp_set_byte_range(&mwr, a, chunk), 0);
		/* DW-aligned to the destination; EXACT reads only the enabled bytes. */
		CU_ASSERT_EQUAL(send_msg(&mwr, src + off - (a & 3),
					 RPCI_LINK_SEND_COPY | RPCI_LINK_SEND_EXACT), 0);
		off += chunk;
	}
	rpci_link_flush(g_link_c);
}

static uint32_t
reg_rd32(uint32_t off)
{
	uint32_t v = 0xffffffff;

	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + off, 4, &v), 0);
	return rte_le_to_cpu_32(v);
}

static uint64_t
reg_rd64(uint32_t off)
{
	uint64_t v = UINT64_MAX;

	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + off, 8, &v), 0);
	return rte_le_to_cpu_64(v);
}

static void
reg_wr32(uint32_t off, uint32_t v)
{
	v = rte_cpu_to_le_32(v);
	mem_write(BAR0_ADDR + off, &v, 4);
}

static void
reg_wr64(uint32_t off, uint64_t v)
{
	v = rte_cpu_to_le_64(v);
	mem_write(BAR0_ADDR + off, &v, 8);
}

/* A non-posted request does not pass the posted writes before it: they are done. */
static void
writes_done(void)
{
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_VENDOR), 0x00017270u);
}

/* Frames either end dropped for a bad CRC: the device changed memory it was sending. */
static uint64_t
bad_crcs(void)
{
	struct rpci_link_stats c, s;

	rpci_link_stats_get(g_link_c, &c);
	rpci_link_stats_get(g_link_s, &s);
	return c.rx_bad_crc + s.rx_bad_crc;
}

static struct rpci_vgpu_stats
dev_stats(void)
{
	struct rpci_vgpu_stats st;

	rpci_vgpu_stats_get(g_srv.dev, &st);
	return st;
}

/* ------------------------------------------------------ sessions, devices */

static bool
session_open(void)
{
	struct rpci_link_open_msg req = { .function = 0, .requester_id = CLIENT_ID };
	struct rpci_link_open_msg ack;
	uint32_t n;
	int ret = -EINPROGRESS;

	/* A new client: nothing is registered, no reset seen. */
	memset(g_host.win, 0, sizeof(g_host.win));
	g_host.flr = 0;
	memset(g_host.mem, 0, HOST_SIZE);
	g_cs = rpci_link_connect(g_link_c, &g_mac_s, &req);
	CU_ASSERT_PTR_NOT_NULL(g_cs);
	if (g_cs == NULL) {
		return false;
	}
	for (n = 0; n < PUMP_MAX; n++) {
		ret = rpci_link_session_answer(g_cs, &ack);
		if (ret != -EINPROGRESS) {
			break;
		}
		pump_once();
	}
	CU_ASSERT_EQUAL(ret, 0);
	if (ret != 0) {
		rpci_link_session_free(g_cs);
		g_cs = NULL;
		return false;
	}
	CU_ASSERT_EQUAL(ack.completer_id, COMPLETER_ID);
	CU_ASSERT_PTR_NOT_NULL(g_srv.s);
	CU_ASSERT(rpci_vgpu_session(g_srv.dev) == g_srv.s);
	return true;
}

struct closer {
	struct rpci_link_session *s;
	int ret;
	atomic_bool done;
};

static void *
closer_main(void *arg)
{
	struct closer *c = arg;

	c->ret = rpci_link_close(c->s, 3000);
	atomic_store(&c->done, true);
	return NULL;
}

/* Close the client's session in order; the server unbinds the device. */
static void
session_close(void)
{
	struct closer c = { .s = g_cs, .ret = -1 };
	uint64_t downs = g_srv.downs;
	pthread_t th;

	if (g_cs == NULL) {
		return;
	}
	atomic_init(&c.done, false);
	drain();
	if (pthread_create(&th, NULL, closer_main, &c) != 0) {
		CU_FAIL("cannot start the closing thread");
		rpci_link_session_free(g_cs);
		g_cs = NULL;
		return;
	}
	/* rpci_link_close() gives up after its time-out: this loop ends. */
	while (!atomic_load(&c.done)) {
		rpci_link_poll(g_link_s);
		if (g_srv.dev != NULL) {
			rpci_vgpu_poll(g_srv.dev);
		}
	}
	pthread_join(th, NULL);
	g_cs = NULL;
	CU_ASSERT_EQUAL(c.ret, 0);
	CU_ASSERT_EQUAL(g_srv.downs, downs + 1);
	CU_ASSERT_PTR_NULL(g_srv.s);
	if (g_srv.dev != NULL) {
		CU_ASSERT_PTR_NULL(rpci_vgpu_session(g_srv.dev));
	}
	drain();
}

/* A device with mem_bytes of memory, and a client session open on it. */
/*
 * Play a backend whose memory the CPU cannot address (OpenCL, CUDA): the
 * device model must then read and write it through the ops, never in place.
 */
static bool g_hide_mem_base;
/* The device's file directory (0: none) and whether it may save there. */
static int g_file_dir_fd;
static bool g_file_save;

static bool
env_open(uint64_t mem_bytes)
{
	struct rpci_gpu_params gp = { .memory_bytes = mem_bytes, .threads = 1, .slowdown = 1.0 };
	struct rpci_vgpu_params vp = {
		.name = "vgpu-test",
		.personality = g_personality,
		.completer_id = COMPLETER_ID,
		.file_dir_fd = g_file_dir_fd,
		.file_save = g_file_save,
	};

	memset(&g_q, 0, sizeof(g_q));
	g_srv.mem_bytes = mem_bytes;
	g_srv.gpu = rpci_gpu_create("cpu", &gp);
	CU_ASSERT_PTR_NOT_NULL(g_srv.gpu);
	if (g_srv.gpu == NULL) {
		return false;
	}
	if (g_hide_mem_base) {
		g_srv.gpu->mem_base = NULL;
	}
	vp.gpu = g_srv.gpu;
	g_srv.dev = rpci_vgpu_create(&vp);
	CU_ASSERT_PTR_NOT_NULL(g_srv.dev);
	if (g_srv.dev == NULL) {
		return false;
	}
	return session_open();
}

/* Close the session, free the device, and check that nothing leaked. */
static void
env_close(void)
{
	session_close();
	rpci_vgpu_free(g_srv.dev);
	g_srv.dev = NULL;
	rpci_gpu_destroy(g_srv.gpu);
	g_srv.gpu = NULL;
	drain();
	rpci_link_release_cache(g_link_c);
	rpci_link_release_cache(g_link_s);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(g_pool), g_pool_avail);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(g_ext_pool), g_ext_avail);
	CU_ASSERT_EQUAL(g_host.violations, g_host.injected);
	CU_ASSERT_EQUAL(g_host.unexpected, 0);
	CU_ASSERT_EQUAL(g_host.outstanding, 0);
}

/* ------------------------------------------------------ driver bring-up */

/* Place the BARs, check their sizes, set up MSI, enable decode and DMA. */
static void
bringup(void)
{
	uint64_t bar2_size = rte_align64pow2(g_srv.mem_bytes);
	uint32_t lo, hi;

	cfg_wr(RPCI_VGPU_CFG_BAR0, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR0), 0xffff0000u);
	cfg_wr(RPCI_VGPU_CFG_BAR2, 0xffffffff, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2_HI, 0xffffffff, 0xf);
	lo = cfg_rd(RPCI_VGPU_CFG_BAR2);
	hi = cfg_rd(RPCI_VGPU_CFG_BAR2_HI);
	CU_ASSERT_EQUAL(lo & 0xf, 0xc);
	CU_ASSERT_EQUAL(~((((uint64_t)hi) << 32) | (lo & ~0xfu)) + 1, bar2_size);
	cfg_wr(RPCI_VGPU_CFG_BAR0, (uint32_t)BAR0_ADDR, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2, (uint32_t)BAR2_ADDR, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2_HI, (uint32_t)(BAR2_ADDR >> 32), 0xf);
	cfg_wr(RPCI_VGPU_CFG_MSI + 12, MSI_VECTOR, 0x3);
	cfg_wr(RPCI_VGPU_CFG_MSI, (uint32_t)RPCI_VGPU_MSI_ENABLE << 16, 0xc);
	cfg_wr(RPCI_VGPU_CFG_COMMAND, RPCI_VGPU_CMD_MEM | RPCI_VGPU_CMD_MASTER, 0x3);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_ID), RPCI_VGPU_ID);
}

/* Register a window with the device, and with the host's checker. */
static void
window_set(uint32_t i, uint64_t base, uint64_t size)
{
	uint64_t w[2] = { rte_cpu_to_le_64(base), rte_cpu_to_le_64(size) };

	g_host.win[i].base = base;
	g_host.win[i].size = size;
	mem_write(BAR0_ADDR + RPCI_VGPU_REG_WINDOWS + 16 * i, w, sizeof(w));
}

static void
windows_default(void)
{
	window_set(0, HOST_BASE + HOST_CQ, HOST_CQ_SIZE);
	window_set(1, HOST_BASE + HOST_AUX, HOST_AUX_SIZE);
	window_set(2, HOST_BASE + HOST_DATA, HOST_DATA_SIZE);
}

/* The driver's queue state after an enable. */
static void
q_reset(uint32_t sq_size, uint32_t cq_size)
{
	g_q.sq_size = sq_size;
	g_q.cq_size = cq_size;
	g_q.cq_addr = HOST_BASE + HOST_CQ;
	g_q.sq_tail = g_q.sq_head = g_q.cq_head = 0;
	g_q.phase = 1;
	g_q.auto_head = true;
}

/* Windows and queues; returns true when the device says ENABLED. */
static bool
queue_setup(uint32_t sq_size, uint32_t cq_size)
{
	uint32_t st;

	memset(host_ptr(HOST_BASE + HOST_CQ), 0, HOST_CQ_SIZE);
	windows_default();
	reg_wr32(RPCI_VGPU_REG_SQ_SIZE, sq_size);
	reg_wr64(RPCI_VGPU_REG_CQ_BASE, HOST_BASE + HOST_CQ);
	reg_wr32(RPCI_VGPU_REG_CQ_SIZE, cq_size);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	st = reg_rd32(RPCI_VGPU_REG_STATUS);
	CU_ASSERT_EQUAL(st, RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_ENABLED);
	q_reset(sq_size, cq_size);
	return (st & RPCI_VGPU_STATUS_ENABLED) && !(st & RPCI_VGPU_STATUS_FATAL);
}

/* --------------------------------------------------------------- commands */

static void
cmd_init(struct rpci_vgpu_cmd *c, uint8_t opcode, uint8_t flags)
{
	memset(c, 0, sizeof(*c));
	c->opcode = opcode;
	c->flags = flags;
}

static void
cmd_inline(struct rpci_vgpu_cmd *c, const void *data, uint16_t len)
{
	c->flags |= RPCI_VGPU_CMD_F_INLINE;
	c->inline_len = len;
	memcpy(c->data, data, len);
}

/* Push a command into the next SQ slot (posted writes) and ring the doorbell. */
static int
submit(struct rpci_vgpu_cmd *cmd)
{
	struct rpci_vgpu_cmd le;
	uint32_t slot, len, i;

	if (g_q.sq_tail - g_q.sq_head >= g_q.sq_size) {
		return -ENOSPC;
	}
	cmd->cmd_id = ++g_q.next_id;
	le = *cmd;
	le.inline_len = rte_cpu_to_le_16(cmd->inline_len);
	le.cmd_id = rte_cpu_to_le_32(cmd->cmd_id);
	for (i = 0; i < RTE_DIM(le.args); i++) {
		le.args[i] = rte_cpu_to_le_64(cmd->args[i]);
	}
	le.host_addr = rte_cpu_to_le_64(cmd->host_addr);
	le.host_len = rte_cpu_to_le_32(cmd->host_len);
	slot = g_q.sq_tail & (g_q.sq_size - 1);
	len = RTE_ALIGN_CEIL((uint32_t)offsetof(struct rpci_vgpu_cmd, data) + cmd->inline_len, 4u);
	mem_write(BAR0_ADDR + RPCI_VGPU_REG_SQ + (uint64_t)slot * RPCI_VGPU_CMD_SIZE, &le, len);
	g_q.sq_tail++;
	reg_wr32(RPCI_VGPU_REG_SQ_TAIL, g_q.sq_tail);
	return 0;
}

static void
cpl_decode(const uint8_t *p, struct rpci_vgpu_cpl *out)
{
	memcpy(out, p, sizeof(*out));
	out->cmd_id = rte_le_to_cpu_32(out->cmd_id);
	out->status = (int32_t)rte_le_to_cpu_32((uint32_t)out->status);
	out->result = rte_le_to_cpu_64(out->result);
	out->phase = rte_le_to_cpu_32(out->phase);
	out->sq_head = rte_le_to_cpu_32(out->sq_head);
}

/* The CQ entry the driver looks at next. */
static const uint8_t *
cq_entry(uint32_t index)
{
	return host_ptr(g_q.cq_addr + (uint64_t)(index & (g_q.cq_size - 1)) * CPL_SIZE);
}

static uint32_t
cq_phase_at(uint32_t index)
{
	struct rpci_vgpu_cpl e;

	cpl_decode(cq_entry(index), &e);
	return e.phase;
}

/* Pump until the next completion appears in the host CQ (bounded), consume it. */
static int
wait_cpl(struct rpci_vgpu_cpl *out)
{
	uint32_t n;

	for (n = 0; n < PUMP_MAX && cq_phase_at(g_q.cq_head) != g_q.phase; n++) {
		pump_once();
	}
	if (cq_phase_at(g_q.cq_head) != g_q.phase) {
		CU_FAIL("no completion arrived");
		return -ETIMEDOUT;
	}
	cpl_decode(cq_entry(g_q.cq_head), out);
	g_q.cq_head++;
	if ((g_q.cq_head & (g_q.cq_size - 1)) == 0) {
		g_q.phase ^= 1;
	}
	g_q.sq_head = out->sq_head;
	if (g_q.auto_head) {
		reg_wr32(RPCI_VGPU_REG_CQ_HEAD, g_q.cq_head);
	}
	return 0;
}

/* Submit, wait for the completion, and check that exactly msis MSIs came. */
static int
cmd_run_msi(struct rpci_vgpu_cmd *cmd, struct rpci_vgpu_cpl *out, uint64_t msis)
{
	uint64_t msi0 = g_host.msi;
	uint32_t n;
	int ret;

	ret = submit(cmd);
	CU_ASSERT_EQUAL(ret, 0);
	if (ret < 0) {
		return ret;
	}
	ret = wait_cpl(out);
	if (ret < 0) {
		return ret;
	}
	CU_ASSERT_EQUAL(out->cmd_id, cmd->cmd_id);
	for (n = 0; n < PUMP_MAX && g_host.msi - msi0 < msis; n++) {
		pump_once();
	}
	pump(SETTLE_ROUNDS);
	CU_ASSERT_EQUAL(g_host.msi - msi0, msis);
	if (msis > 0) {
		CU_ASSERT_EQUAL(g_host.msi_data, MSI_VECTOR);
	}
	return out->cmd_id == cmd->cmd_id ? 0 : -EIO;
}

static int
cmd_run(struct rpci_vgpu_cmd *cmd, struct rpci_vgpu_cpl *out)
{
	return cmd_run_msi(cmd, out, (cmd->flags & RPCI_VGPU_CMD_F_IRQ) ? 1 : 0);
}

/* A command with up to three arguments and an IRQ; its status (INT32_MIN if lost). */
static int32_t
simple_cmd(uint8_t opcode, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t *result)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	cmd_init(&c, opcode, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = a0;
	c.args[1] = a1;
	c.args[2] = a2;
	if (cmd_run(&c, &e) < 0) {
		return INT32_MIN;
	}
	if (result != NULL) {
		*result = e.result;
	}
	return e.status;
}

static int32_t
copy_cmd(uint8_t opcode, uint64_t dev_addr, uint64_t host_addr, uint32_t len)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	cmd_init(&c, opcode, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = dev_addr;
	c.host_addr = host_addr;
	c.host_len = len;
	if (cmd_run(&c, &e) < 0) {
		return INT32_MIN;
	}
	return e.status;
}

static int32_t
module_load(uint64_t kind, const char *src, uint64_t log_addr, uint64_t log_size, uint64_t *mod)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	cmd_init(&c, RPCI_VGPU_OP_MODULE_LOAD, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = kind;
	c.args[1] = log_addr;
	c.args[2] = log_size;
	if (src != NULL) {
		cmd_inline(&c, src, (uint16_t)(strlen(src) + 1));
	}
	if (cmd_run(&c, &e) < 0) {
		return INT32_MIN;
	}
	if (mod != NULL) {
		*mod = e.result;
	}
	return e.status;
}

static int32_t
function_get(uint64_t module, const char *name, uint64_t *fn)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	cmd_init(&c, RPCI_VGPU_OP_FUNCTION_GET, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = module;
	cmd_inline(&c, name, (uint16_t)(strlen(name) + 1));
	if (cmd_run(&c, &e) < 0) {
		return INT32_MIN;
	}
	if (fn != NULL) {
		*fn = e.result;
	}
	return e.status;
}

/* Launch parameters: the header then nb_args struct rpci_gpu_arg, little-endian. */
struct params {
	uint8_t buf[8 + 16 * RPCI_GPU_ARGS_MAX];
	uint32_t nb_args;
};

static void
params_add(struct params *p, uint16_t kind, uint16_t size, uint64_t value)
{
	uint8_t *a = p->buf + 8 + 16 * p->nb_args;
	uint32_t n;
	uint16_t k = rte_cpu_to_le_16(kind), s = rte_cpu_to_le_16(size);

	value = rte_cpu_to_le_64(value);
	memset(a, 0, 16);
	memcpy(a, &k, 2);
	memcpy(a + 2, &s, 2);
	memcpy(a + 8, &value, 8);
	p->nb_args++;
	n = rte_cpu_to_le_32(p->nb_args);
	memcpy(p->buf, &n, 4);
	memset(p->buf + 4, 0, 4);
}

static uint16_t
params_len(const struct params *p)
{
	return (uint16_t)(8 + 16 * p->nb_args);
}

static uint32_t
f32_bits(float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof(v));
	return v;
}

/* saxpy(alpha, x, y, n) parameters. */
static void
saxpy_params(struct params *p, float alpha, uint64_t x, uint64_t y, uint32_t n)
{
	memset(p, 0, sizeof(*p));
	params_add(p, RPCI_GPU_ARG_SCALAR, 4, f32_bits(alpha));
	params_add(p, RPCI_GPU_ARG_DEVPTR, 8, x);
	params_add(p, RPCI_GPU_ARG_DEVPTR, 8, y);
	params_add(p, RPCI_GPU_ARG_SCALAR, 4, n);
}

static void
launch_init(struct rpci_vgpu_cmd *c, uint64_t fn, uint8_t flags)
{
	cmd_init(c, RPCI_VGPU_OP_LAUNCH, flags);
	c->args[0] = fn;
	c->args[1] = 4 | ((uint64_t)1 << 32);   /* grid 4, 1 */
	c->args[2] = 1 | ((uint64_t)256 << 32); /* grid z 1, block x 256 */
	c->args[3] = 1 | ((uint64_t)1 << 32);   /* block 1, 1 */
}

static int32_t
launch_inline(uint64_t fn, const struct params *p)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	launch_init(&c, fn, RPCI_VGPU_CMD_F_IRQ);
	cmd_inline(&c, p->buf, params_len(p));
	if (cmd_run(&c, &e) < 0) {
		return INT32_MIN;
	}
	return e.status;
}

/* Device memory as floats, through BAR2. */
static void
dev_write_floats(uint64_t dev_addr, const float *v, uint32_t n)
{
	uint32_t *le = malloc(sizeof(*le) * n);
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(le);
	for (i = 0; i < n; i++) {
		le[i] = rte_cpu_to_le_32(f32_bits(v[i]));
	}
	mem_write(BAR2_ADDR + dev_addr, le, sizeof(*le) * n);
	free(le);
}

static int
dev_read_floats(uint64_t dev_addr, float *v, uint32_t n)
{
	uint32_t i;
	int ret;

	ret = mem_read(BAR2_ADDR + dev_addr, sizeof(*v) * n, v);
	for (i = 0; i < n; i++) {
		uint32_t b;

		memcpy(&b, &v[i], 4);
		b = rte_le_to_cpu_32(b);
		memcpy(&v[i], &b, 4);
	}
	return ret;
}

/* ================================================================== tests */

/* The harness itself: a write or read outside the windows is caught. */
static void
test_harness_guard(void)
{
	struct rpci_tlp mwr = { .type = RPCI_TLP_MWR, .requester_id = COMPLETER_ID };
	struct rpci_tlp mrd = { .type = RPCI_TLP_MRD, .requester_id = COMPLETER_ID };
	uint8_t data[16];
	uint64_t v0, msi0;

	if (!env_open(8 * MiB)) {
		goto out;
	}
	memset(data, 0xab, sizeof(data));
	window_set(2, HOST_BASE + HOST_DATA, HOST_DATA_SIZE);
	drain();
	v0 = g_host.violations;
	msi0 = g_host.msi;
	/* The server's session impersonates a misbehaving device. */
	rpci_tlp_set_byte_range(&mwr, HOST_BASE + HOST_NOWIN, sizeof(data));
	CU_ASSERT_EQUAL(rpci_link_send(g_srv.s, &mwr, data, RPCI_LINK_SEND_COPY), 0);
	rpci_tlp_set_byte_range(&mwr, HOST_BASE + HOST_DATA + HOST_DATA_SIZE - 8, sizeof(data));
	CU_ASSERT_EQUAL(rpci_link_send(g_srv.s, &mwr, data, RPCI_LINK_SEND_COPY), 0);
	rpci_tlp_set_byte_range(&mwr, HOST_BASE + HOST_DATA, sizeof(data));
	CU_ASSERT_EQUAL(rpci_link_send(g_srv.s, &mwr, data, RPCI_LINK_SEND_COPY), 0);
	rpci_tlp_set_byte_range(&mrd, HOST_BASE + HOST_NOWIN, 64);
	CU_ASSERT_EQUAL(rpci_link_send(g_srv.s, &mrd, NULL, 0), 0);
	drain();
	CU_ASSERT_EQUAL(g_host.violations - v0, 3);
	g_host.injected += g_host.violations - v0;
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_NOWIN), 64, 0));
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_DATA + HOST_DATA_SIZE - 8), 8, 0));
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_DATA), sizeof(data), 0xab));
	CU_ASSERT_EQUAL(g_host.msi, msi0);
	/* The UR answer went to the device, which had no read of that tag out. */
	CU_ASSERT_EQUAL(dev_stats().cpl_unexpected, 1);
out:
	env_close();
}

static void
test_config_space(void)
{
	struct rpci_vgpu_stats st0, st1;
	uint32_t v, lo, hi;

	if (!env_open(6 * MiB)) {
		goto out;
	}
	/* Identity */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_VENDOR), 0x00017270u);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_REVISION), 0x03020003u);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_SUBSYS), 0x00027270u);
	CU_ASSERT_EQUAL(cfg_rd(0x0c) & 0x00ff0000u, 0); /* header type 0 */
	/* Command 0 after reset; status says there is a capability list. */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100000u);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_CAP_PTR) & 0xff, RPCI_VGPU_CFG_MSI);

	/* BAR0: 64 KiB of 32-bit, non-prefetchable memory */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR0), 0);
	cfg_wr(RPCI_VGPU_CFG_BAR0, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR0), 0xffff0000u);
	cfg_wr(RPCI_VGPU_CFG_BAR0, (uint32_t)BAR0_ADDR | 0x1234, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR0), (uint32_t)BAR0_ADDR);

	/* BAR2: 64-bit prefetchable; 6 MiB of memory make an 8 MiB BAR */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2), 0xcu);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2_HI), 0);
	cfg_wr(RPCI_VGPU_CFG_BAR2, 0xffffffff, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2_HI, 0xffffffff, 0xf);
	lo = cfg_rd(RPCI_VGPU_CFG_BAR2);
	hi = cfg_rd(RPCI_VGPU_CFG_BAR2_HI);
	CU_ASSERT_EQUAL(lo, 0xff80000cu);
	CU_ASSERT_EQUAL(hi, 0xffffffffu);
	CU_ASSERT_EQUAL(~((((uint64_t)hi) << 32) | (lo & ~0xfu)) + 1, 8 * MiB);
	cfg_wr(RPCI_VGPU_CFG_BAR2, (uint32_t)BAR2_ADDR | 0x7ff0, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2_HI, (uint32_t)(BAR2_ADDR >> 32), 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2), (uint32_t)BAR2_ADDR | 0xc);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2_HI), (uint32_t)(BAR2_ADDR >> 32));
	/* BAR1, between them: absent, sizing finds nothing */
	cfg_wr(0x14, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(0x14), 0);

	/* Read-only registers ignore writes */
	cfg_wr(RPCI_VGPU_CFG_VENDOR, 0x12345678, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_VENDOR), 0x00017270u);
	cfg_wr(RPCI_VGPU_CFG_REVISION, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_REVISION), 0x03020003u);
	cfg_wr(RPCI_VGPU_CFG_SUBSYS, 0, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_SUBSYS), 0x00027270u);
	cfg_wr(RPCI_VGPU_CFG_CAP_PTR, 0, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_CAP_PTR) & 0xff, RPCI_VGPU_CFG_MSI);

	/* Byte enables: one byte of the command register at a time */
	cfg_wr(RPCI_VGPU_CFG_COMMAND, 0xffffffff, 0x1);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100006u);
	cfg_wr(RPCI_VGPU_CFG_COMMAND, 0xffffffff, 0x2);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100406u);
	cfg_wr(RPCI_VGPU_CFG_COMMAND, 0, 0x1);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100400u);
	cfg_wr(RPCI_VGPU_CFG_COMMAND, 0, 0xc); /* the status half is read-only */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100400u);
	cfg_wr(RPCI_VGPU_CFG_COMMAND, 0, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100000u);
	/* Interrupt line: writable, the pin is not */
	cfg_wr(RPCI_VGPU_CFG_INTR, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_INTR), 0xffu);
	cfg_wr(RPCI_VGPU_CFG_INTR, 0x1234, 0x2);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_INTR), 0xffu);
	cfg_wr(RPCI_VGPU_CFG_INTR, 0x1234, 0x1);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_INTR), 0x34u);

	/* MSI capability: id 5, then the PCI Express one, 64-bit, disabled */
	v = cfg_rd(RPCI_VGPU_CFG_MSI);
	CU_ASSERT_EQUAL(v & 0xff, 0x05);
	CU_ASSERT_EQUAL((v >> 8) & 0xff, RPCI_VGPU_CFG_PCIE);
	CU_ASSERT((v >> 16) & RPCI_VGPU_MSI_64BIT);
	CU_ASSERT_FALSE((v >> 16) & RPCI_VGPU_MSI_ENABLE);
	cfg_wr(RPCI_VGPU_CFG_MSI, 0xffffffff, 0xf); /* only the enable bit takes */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI), 0x00815005u);
	cfg_wr(RPCI_VGPU_CFG_MSI, 0, 0x3);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI), 0x00815005u);
	cfg_wr(RPCI_VGPU_CFG_MSI, 0, 0xc);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI), 0x00805005u);
	cfg_wr(RPCI_VGPU_CFG_MSI + 4, 0xfee00003, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI + 4), 0xfee00000u);
	cfg_wr(RPCI_VGPU_CFG_MSI + 8, 0x12345678, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI + 8), 0x12345678u);
	cfg_wr(RPCI_VGPU_CFG_MSI + 12, 0xabcd1234, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI + 12), 0x1234u);

	/* Past the implemented header: reads 0, writes ignored */
	cfg_wr(0x100, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(0x100), 0);

	/* Requests to another completer id: UR, the tag completes with -EIO */
	st0 = dev_stats();
	v = 0;
	CU_ASSERT_EQUAL(cfg_access(RPCI_TLP_CFGRD, OTHER_ID, RPCI_VGPU_CFG_VENDOR, &v, 0xf), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_UR);
	CU_ASSERT_EQUAL(v, 0);
	v = RPCI_VGPU_CMD_MEM | RPCI_VGPU_CMD_MASTER;
	CU_ASSERT_EQUAL(cfg_access(RPCI_TLP_CFGWR, OTHER_ID, RPCI_VGPU_CFG_COMMAND, &v, 0xf), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_UR);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100000u);
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.ur_sent - st0.ur_sent, 2);
out:
	env_close();
}

static void
test_memory_decode(void)
{
	const uint64_t mem = 6 * MiB, bar2_size = 8 * MiB;
	uint32_t max_payload = rpci_link_max_payload(g_link_s);
	uint8_t *wbuf = malloc(4096), *rbuf = malloc(4096);
	struct rpci_vgpu_stats st0, st1;
	uint8_t expect[64], one = 0x11;
	uint64_t crc0;
	char name[65];
	uint32_t v, i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(wbuf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rbuf);
	if (!env_open(mem)) {
		goto out;
	}
	cfg_wr(RPCI_VGPU_CFG_BAR0, (uint32_t)BAR0_ADDR, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2, (uint32_t)BAR2_ADDR, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2_HI, (uint32_t)(BAR2_ADDR >> 32), 0xf);

	/* Memory space disabled: reads UR, writes dropped */
	st0 = dev_stats();
	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + RPCI_VGPU_REG_ID, 4, &v), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_UR);
	mem_write(BAR2_ADDR, &one, 1);
	mem_write(BAR0_ADDR + RPCI_VGPU_REG_INTR_MASK, "\x01\0\0\0", 4);
	writes_done();
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.ur_sent - st0.ur_sent, 1);
	CU_ASSERT_EQUAL(st1.mwr_dropped - st0.mwr_dropped, 2);
	CU_ASSERT_EQUAL(st1.mwr_applied, st0.mwr_applied);

	/* Enabled: the registers */
	cfg_wr(RPCI_VGPU_CFG_COMMAND, RPCI_VGPU_CMD_MEM, 0x3);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_ID), RPCI_VGPU_ID);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_VERSION), RPCI_VGPU_VERSION);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CAPS), 1u << RPCI_GPU_MODULE_BUILTIN);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS), RPCI_VGPU_STATUS_READY);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_SIZE), mem);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), mem);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_COMPUTE_UNITS), 1);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_MASK), 0); /* the write above was dropped */
	memset(name, 0x7f, sizeof(name));
	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + RPCI_VGPU_REG_BACKEND, 64, name), 0);
	name[64] = '\0';
	CU_ASSERT_STRING_EQUAL(name, "cpu");
	CU_ASSERT(all_bytes((const uint8_t *)name + 3, 61, 0));
	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + RPCI_VGPU_REG_DEVICE_NAME, 64, name), 0);
	CU_ASSERT_STRING_EQUAL(name, "cpu (1 thread)");
	/* Device memory starts as zeros (the write while disabled did nothing) */
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR, 64, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 64, 0));

	/* Outside both BARs: UR */
	st0 = dev_stats();
	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + RPCI_VGPU_BAR0_SIZE, 4, &v), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_UR);
	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR - 4, 4, &v), -EIO);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR - 4, 4, &v), -EIO);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + bar2_size, 4, &v), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_UR);
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.ur_sent - st0.ur_sent, 4);

	/* Inside BAR2 but past device memory: CA */
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + mem, 4, &v), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_CA);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + bar2_size - 4, 4, &v), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_CA);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + mem - 8, 16, rbuf), -EIO); /* straddles the end */
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_CA);
	CU_ASSERT_EQUAL(dev_stats().ca_sent - st1.ca_sent, 3);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + mem - 4, 4, &v), 0); /* the last DW is memory */
	CU_ASSERT_EQUAL(v, 0);

	/* A 4 KiB read comes back as several CplD that reassemble what was written */
	for (i = 0; i < 4096; i++) {
		wbuf[i] = (uint8_t)(i * 7 + 3);
	}
	mem_write(BAR2_ADDR + 0x10000, wbuf, 4096);
	memset(rbuf, 0, 4096);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + 0x10000, 4096, rbuf), 0);
	CU_ASSERT(g_host.cpld_count > 1);
	CU_ASSERT_EQUAL(g_host.cpld_count, (4096 + max_payload - 1) / max_payload);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 4096), 0);
	/* The same bytes at an unaligned address and length */
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + 0x10000 + 5, 1001, rbuf), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf + 5, 1001), 0);

	/* Partial byte enables change exactly the bytes enabled */
	{
		struct rpci_tlp t = { .type = RPCI_TLP_MWR };

		/* What mem_write() sends for these ranges */
		rpci_tlp_set_byte_range(&t, BAR2_ADDR + 0x20001, 7);
		CU_ASSERT(t.length_dw == 2 && t.first_be == 0xe && t.last_be == 0xf);
		rpci_tlp_set_byte_range(&t, BAR2_ADDR + 0x2000b, 2);
		CU_ASSERT(t.length_dw == 2 && t.first_be == 0x8 && t.last_be == 0x1);
		rpci_tlp_set_byte_range(&t, BAR2_ADDR + 0x20012, 1);
		CU_ASSERT(t.length_dw == 1 && t.first_be == 0x4 && t.last_be == 0);
		rpci_tlp_set_byte_range(&t, BAR2_ADDR + 0x20019, 2);
		CU_ASSERT(t.length_dw == 1 && t.first_be == 0x6 && t.last_be == 0);
	}
	memset(expect, 0x55, sizeof(expect));
	mem_write(BAR2_ADDR + 0x20000, expect, sizeof(expect));
	mem_write(BAR2_ADDR + 0x20001, "\xa1\xa2\xa3\xa4\xa5\xa6\xa7", 7);
	memcpy(expect + 1, "\xa1\xa2\xa3\xa4\xa5\xa6\xa7", 7);
	mem_write(BAR2_ADDR + 0x2000b, "\xb1\xb2", 2);
	memcpy(expect + 0xb, "\xb1\xb2", 2);
	mem_write(BAR2_ADDR + 0x20012, "\xc1", 1);
	expect[0x12] = 0xc1;
	mem_write(BAR2_ADDR + 0x20019, "\xd1\xd2", 2);
	memcpy(expect + 0x19, "\xd1\xd2", 2);
	memset(rbuf, 0, 64);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + 0x20000, 64, rbuf), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, expect, 64), 0);

	/*
	 * A read, then at once a posted write of the same bytes: the read
	 * returns what was there (it was answered first, from device memory
	 * the link sends in place), the write lands after, nothing is lost.
	 */
	crc0 = bad_crcs();
	memset(wbuf, 0x11, 4096);
	mem_write(BAR2_ADDR + 0x30000, wbuf, 4096);
	memset(rbuf, 0, 4096);
	CU_ASSERT_EQUAL(mrd_issue(BAR2_ADDR + 0x30000, 4096, rbuf), 0);
	memset(wbuf, 0x22, 4096);
	mem_write(BAR2_ADDR + 0x30000, wbuf, 4096);
	CU_ASSERT_EQUAL(pio_wait(), 0);
	CU_ASSERT(all_bytes(rbuf, 4096, 0x11));
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + 0x30000, 4096, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 4096, 0x22));
	CU_ASSERT_EQUAL(bad_crcs(), crc0);

	/* Writes outside the BARs (or past memory) are dropped and change nothing */
	st0 = dev_stats();
	memset(wbuf + 2048, 0xee, 16);
	mem_write(0x1234000, wbuf + 2048, 16);
	mem_write(BAR2_ADDR + bar2_size + 0x10000, wbuf + 2048, 16); /* would alias 0x10000 */
	mem_write(BAR2_ADDR - 16, wbuf + 2048, 16);
	mem_write(BAR0_ADDR + RPCI_VGPU_BAR0_SIZE + RPCI_VGPU_REG_INTR_MASK, "\x01\0\0\0", 4);
	mem_write(BAR2_ADDR + mem, wbuf + 2048, 16);                 /* the unbacked tail */
	mem_write(BAR0_ADDR + RPCI_VGPU_REG_ID, "\0\0\0\0", 4);       /* read-only register */
	memset(rbuf, 0, 4096);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + 0x10000, 4096, rbuf), 0);
	for (i = 0; i < 4096; i++) {
		wbuf[i] = (uint8_t)(i * 7 + 3);
	}
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 4096), 0);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + mem - 16, 16, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 16, 0));
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_MASK), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_ID), RPCI_VGPU_ID);
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.mwr_dropped - st0.mwr_dropped, 6);
	CU_ASSERT_EQUAL(st1.mwr_applied, st0.mwr_applied);

	/* Decode off again: BAR2 reads UR */
	cfg_wr(RPCI_VGPU_CFG_COMMAND, 0, 0x3);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + 0x10000, 4, &v), -EIO);
	CU_ASSERT_EQUAL(g_host.last_status, RPCI_TLP_CPL_UR);
out:
	env_close();
	free(wbuf);
	free(rbuf);
}

static void
test_queue_bringup(void)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;
	uint64_t commands, dropped;
	uint32_t i;

	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS), RPCI_VGPU_STATUS_READY);
	windows_default();
	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_WINDOWS + 16 * i), g_host.win[i].base);
		CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_WINDOWS + 16 * i + 8), g_host.win[i].size);
	}
	reg_wr32(RPCI_VGPU_REG_SQ_SIZE, 8);
	reg_wr64(RPCI_VGPU_REG_CQ_BASE, HOST_BASE + HOST_CQ);
	reg_wr32(RPCI_VGPU_REG_CQ_SIZE, 16);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_SIZE), 8);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_CQ_BASE), HOST_BASE + HOST_CQ);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CQ_SIZE), 16);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS), RPCI_VGPU_STATUS_READY);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS),
			RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_ENABLED);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CONTROL), RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_HEAD), 0);
	/* The setup is locked while enabled */
	reg_wr32(RPCI_VGPU_REG_SQ_SIZE, 4);
	reg_wr64(RPCI_VGPU_REG_CQ_BASE, HOST_BASE + HOST_NOWIN);
	reg_wr32(RPCI_VGPU_REG_CQ_SIZE, 4);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_SIZE), 8);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_CQ_BASE), HOST_BASE + HOST_CQ);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CQ_SIZE), 16);
	q_reset(8, 16);
	cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, 0);

	/* Disabled */
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS), RPCI_VGPU_STATUS_READY);

	/* A CQ outside every window, or across a window's end: FATAL */
	reg_wr64(RPCI_VGPU_REG_CQ_BASE, HOST_BASE + HOST_NOWIN);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS),
			RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_FATAL);
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	reg_wr64(RPCI_VGPU_REG_CQ_BASE, HOST_BASE + HOST_DATA + HOST_DATA_SIZE - 256);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS),
			RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_FATAL);
	/* Queue sizes that are not powers of two, or too large: FATAL */
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	reg_wr64(RPCI_VGPU_REG_CQ_BASE, HOST_BASE + HOST_CQ);
	reg_wr32(RPCI_VGPU_REG_SQ_SIZE, 3);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT(reg_rd32(RPCI_VGPU_REG_STATUS) & RPCI_VGPU_STATUS_FATAL);
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	reg_wr32(RPCI_VGPU_REG_SQ_SIZE, 2 * RPCI_VGPU_SQ_MAX);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT(reg_rd32(RPCI_VGPU_REG_STATUS) & RPCI_VGPU_STATUS_FATAL);
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	reg_wr32(RPCI_VGPU_REG_SQ_SIZE, 8);
	reg_wr32(RPCI_VGPU_REG_CQ_SIZE, 12);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT(reg_rd32(RPCI_VGPU_REG_STATUS) & RPCI_VGPU_STATUS_FATAL);

	/* A good setup clears FATAL */
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	reg_wr32(RPCI_VGPU_REG_CQ_SIZE, 16);
	memset(host_ptr(HOST_BASE + HOST_CQ), 0, HOST_CQ_SIZE);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS),
			RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_ENABLED);

	/* A doorbell beyond sq_size commands: FATAL, nothing runs */
	commands = dev_stats().commands;
	reg_wr32(RPCI_VGPU_REG_SQ_TAIL, 9);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS),
			RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_FATAL);
	pump(SETTLE_ROUNDS);
	CU_ASSERT_EQUAL(dev_stats().commands, commands);
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_CQ), HOST_CQ_SIZE, 0));
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_HEAD), 0);

	/* Enabled again from scratch: it runs */
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	reg_wr32(RPCI_VGPU_REG_CONTROL, RPCI_VGPU_CTRL_ENABLE);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS),
			RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_ENABLED);
	q_reset(8, 16);
	cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(e.sq_head, 1);

	/* A doorbell while disabled is refused */
	reg_wr32(RPCI_VGPU_REG_CONTROL, 0);
	dropped = dev_stats().mwr_dropped;
	reg_wr32(RPCI_VGPU_REG_SQ_TAIL, 2);
	writes_done();
	CU_ASSERT_EQUAL(dev_stats().mwr_dropped, dropped + 1);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_HEAD), 1);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS), RPCI_VGPU_STATUS_READY);
out:
	env_close();
}

static void
test_cmd_nop_fence_irq(void)
{
	struct rpci_vgpu_stats st0, st1;
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	if (!queue_setup(8, 16)) {
		goto out;
	}
	st0 = dev_stats();
	/* NOP with an IRQ: first entry in phase 1, its id, one MSI with our vector */
	cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(e.result, 0);
	CU_ASSERT_EQUAL(e.phase, 1);
	CU_ASSERT_EQUAL(e.sq_head, 1);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_STATUS), RPCI_VGPU_INTR_CMD);
	reg_wr32(RPCI_VGPU_REG_INTR_STATUS, RPCI_VGPU_INTR_CMD); /* RW1C */
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_STATUS), 0);
	/* Without the flag: no MSI, no interrupt status */
	cmd_init(&c, RPCI_VGPU_OP_NOP, 0);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(e.sq_head, 2);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_STATUS), 0);
	/* FENCE */
	cmd_init(&c, RPCI_VGPU_OP_FENCE, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(e.sq_head, 3);
	/* Masked: the status bit is set, no MSI */
	reg_wr32(RPCI_VGPU_REG_INTR_STATUS, 0xffffffff);
	reg_wr32(RPCI_VGPU_REG_INTR_MASK, 1);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_MASK), 1);
	cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run_msi(&c, &e, 0), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_STATUS), RPCI_VGPU_INTR_CMD);
	reg_wr32(RPCI_VGPU_REG_INTR_MASK, 0);
	/* MSI disabled in configuration space: no MSI */
	cfg_wr(RPCI_VGPU_CFG_MSI, 0, 0xc);
	cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run_msi(&c, &e, 0), 0);
	cfg_wr(RPCI_VGPU_CFG_MSI, (uint32_t)RPCI_VGPU_MSI_ENABLE << 16, 0xc);
	cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	/* An unknown opcode fails and says so in the interrupt status */
	reg_wr32(RPCI_VGPU_REG_INTR_STATUS, 0xffffffff);
	cmd_init(&c, 0x55, RPCI_VGPU_CMD_F_IRQ);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, -EOPNOTSUPP);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_STATUS),
			RPCI_VGPU_INTR_CMD | RPCI_VGPU_INTR_ERROR);
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.commands - st0.commands, 7);
	CU_ASSERT_EQUAL(st1.command_errors - st0.command_errors, 1);
	CU_ASSERT_EQUAL(st1.msi_sent - st0.msi_sent, 4);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_HEAD), 7);
out:
	env_close();
}

static bool
disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

static void
test_cmd_alloc_free(void)
{
	const uint64_t mem = 8 * MiB;
	uint64_t a = UINT64_MAX, b = UINT64_MAX, c = UINT64_MAX, r = 0, free0, free1;

	if (!env_open(mem)) {
		goto out;
	}
	bringup();
	if (!queue_setup(8, 16)) {
		goto out;
	}
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), mem);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 1000, 0, 0, &a), 0);
	CU_ASSERT_EQUAL(a % 256, 0);
	CU_ASSERT(a + 1000 <= mem);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 5000, 256, 0, &b), 0);
	CU_ASSERT_EQUAL(b % 256, 0);
	CU_ASSERT(b + 5000 <= mem);
	CU_ASSERT(disjoint(a, 1000, b, 5000));
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 4096, 65536, 0, &c), 0);
	CU_ASSERT_EQUAL(c % 65536, 0);
	CU_ASSERT(disjoint(a, 1000, c, 4096) && disjoint(b, 5000, c, 4096));
	free0 = reg_rd64(RPCI_VGPU_REG_MEM_FREE);
	/* Allocations are rounded up to 256 bytes at most */
	CU_ASSERT(free0 <= mem - (1000 + 5000 + 4096));
	CU_ASSERT(free0 >= mem - (1024 + 5120 + 4096));
	CU_ASSERT_EQUAL(rpci_vgpu_mem_used(g_srv.dev), mem - free0);

	/* Too big: -ENOMEM, nothing changes */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, free0 + 1, 0, 0, &r), -ENOMEM);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, mem + 1, 0, 0, &r), -ENOMEM);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, UINT64_MAX - 8, 0, 0, &r), -ENOMEM);
	/* Nonsense: size 0, alignment not a power of two */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 0, 0, 0, &r), -EINVAL);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 4096, 768, 0, &r), -EINVAL);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), free0);

	/* FREE of an address that is not an allocation: -ENOENT */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, a + 256, 0, 0, NULL), -ENOENT);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, 2 * mem, 0, 0, NULL), -ENOENT);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), free0);
	/* FREE gives the memory back, once */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, b, 0, 0, NULL), 0);
	free1 = reg_rd64(RPCI_VGPU_REG_MEM_FREE);
	CU_ASSERT(free1 >= free0 + 5000 && free1 <= free0 + 5120);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, b, 0, 0, NULL), -ENOENT);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), free1);
	/* The freed room is found again; what is allocated does not move */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 5000, 0, 0, &b), 0);
	CU_ASSERT(disjoint(a, 1000, b, 5000) && disjoint(c, 4096, b, 5000));
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), free0);
	/* The largest free block of an empty device is all of it */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, a, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, b, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, c, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), mem);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, mem, 0, 0, &a), 0);
	CU_ASSERT_EQUAL(a, 0);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 256, 0, 0, &r), -ENOMEM);
out:
	env_close();
}

static void
test_cmd_memset_copy_d2h(void)
{
	const uint64_t mem = 8 * MiB;
	struct rpci_vgpu_stats st0, st1;
	uint8_t *pat = malloc(3000), *rbuf = malloc(2048);
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;
	uint64_t a = 0, dst, crc0;
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pat);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rbuf);
	if (!env_open(mem)) {
		goto out;
	}
	bringup();
	if (!queue_setup(16, 32)) {
		goto out;
	}
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 8192, 0, 0, &a), 0);

	/* MEMSET, then read back through BAR2: exactly those bytes */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_MEMSET, a + 100, 0x5a, 1000, NULL), 0);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, 2048, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 100, 0));
	CU_ASSERT(all_bytes(rbuf + 100, 1000, 0x5a));
	CU_ASSERT(all_bytes(rbuf + 1100, 2048 - 1100, 0));
	/* Outside device memory: -EFAULT, nothing written */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_MEMSET, mem - 10, 0x77, 20, NULL), -EFAULT);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_MEMSET, UINT64_MAX - 4, 0x77, 16, NULL), -EFAULT);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + mem - 16, 16, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 16, 0));

	/* COPY_D2H into a window; unaligned device and host addresses and length */
	for (i = 0; i < 3000; i++) {
		pat[i] = (uint8_t)(i * 13 + 1);
	}
	mem_write(BAR2_ADDR + a + 4097, pat, 3000);
	memset(host_ptr(HOST_BASE + HOST_DATA), 0xee, 8192);
	st0 = dev_stats();
	dst = HOST_BASE + HOST_DATA + 3;
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_D2H, a + 4097, dst, 2999), 0);
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_DATA), 3, 0xee));
	CU_ASSERT_EQUAL(memcmp(host_ptr(dst), pat, 2999), 0);
	CU_ASSERT(all_bytes(host_ptr(dst + 2999), 8192 - 3 - 2999, 0xee));
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.dma_write_bytes - st0.dma_write_bytes, 2999);
	/*
	 * A posted write of the source arrives after the device has sent the
	 * copy's data (the test steps the server by hand): the host gets the
	 * bytes as they were, the write lands after, the link loses nothing.
	 */
	crc0 = bad_crcs();
	memset(pat, 0x11, 3000);
	mem_write(BAR2_ADDR + a, pat, 3000);
	writes_done();
	cmd_init(&c, RPCI_VGPU_OP_COPY_D2H, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = a;
	c.host_addr = HOST_BASE + HOST_DATA;
	c.host_len = 3000;
	CU_ASSERT_EQUAL(submit(&c), 0);
	rpci_link_poll(g_link_s);   /* the entry and the doorbell */
	rpci_vgpu_poll(g_srv.dev);  /* the copy is sent */
	memset(pat, 0x22, 3000);
	mem_write(BAR2_ADDR + a, pat, 3000);
	CU_ASSERT_EQUAL(wait_cpl(&e), 0);
	CU_ASSERT_EQUAL(e.cmd_id, c.cmd_id);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_DATA), 3000, 0x11));
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, 2048, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 2048, 0x22));
	CU_ASSERT_EQUAL(bad_crcs(), crc0);
	pump(SETTLE_ROUNDS);

	/* Zero bytes: done, nothing written */
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_D2H, a, HOST_BASE + HOST_NOWIN, 0), 0);

	/* Into host memory outside every window: refused, the host buffer untouched */
	memset(host_ptr(HOST_BASE + HOST_NOWIN), 0xee, 8192);
	st0 = dev_stats();
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_D2H, a + 4097, HOST_BASE + HOST_NOWIN, 1000),
			-EFAULT);
	/* Across the end of a window: refused as a whole */
	dst = HOST_BASE + HOST_DATA + HOST_DATA_SIZE - 100;
	memset(host_ptr(dst), 0xee, 100);
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_D2H, a + 4097, dst, 200), -EFAULT);
	CU_ASSERT(all_bytes(host_ptr(dst), 100, 0xee));
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_NOWIN), 8192, 0xee));
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.dma_refused - st0.dma_refused, 2);
	CU_ASSERT_EQUAL(st1.dma_write_bytes, st0.dma_write_bytes);
	/* From outside device memory: -EFAULT, nothing written */
	memset(host_ptr(HOST_BASE + HOST_DATA), 0xee, 8192);
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_D2H, mem - 100, HOST_BASE + HOST_DATA, 200),
			-EFAULT);
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_DATA), 8192, 0xee));
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_STATUS) & RPCI_VGPU_INTR_ERROR,
			RPCI_VGPU_INTR_ERROR);
out:
	env_close();
	free(pat);
	free(rbuf);
}

static void
test_cmd_copy_h2d(void)
{
	const uint32_t len = 100 * KiB + 5;
	const uint64_t src = HOST_BASE + HOST_DATA + 1;
	struct rpci_vgpu_stats st0, st1;
	uint8_t *rbuf = malloc(len + 16), *ref = malloc(len + 16);
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;
	uint64_t a = 0, mrd0, bytes0, crc0;
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rbuf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	if (!queue_setup(16, 32)) {
		goto out;
	}
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 128 * KiB, 0, 0, &a), 0);
	for (i = 0; i < len + 8; i++) {
		host_ptr(HOST_BASE + HOST_DATA)[i] = (uint8_t)(i * 131 + 7);
	}
	/* The device pulls 100 KiB + 5 from an unaligned host address to a + 3 */
	st0 = dev_stats();
	mrd0 = g_host.mrd_count;
	bytes0 = g_host.mrd_bytes;
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_H2D, a + 3, src, len), 0);
	st1 = dev_stats();
	CU_ASSERT(g_host.mrd_count - mrd0 >= (len + 4095) / 4096);
	CU_ASSERT_EQUAL(g_host.mrd_bytes - bytes0, len);
	CU_ASSERT_EQUAL(st1.dma_read_bytes - st0.dma_read_bytes, len);
	memset(rbuf, 0xcc, len + 16);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, len + 16, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 3, 0));
	CU_ASSERT_EQUAL(memcmp(rbuf + 3, host_ptr(src), len), 0);
	CU_ASSERT(all_bytes(rbuf + 3 + len, 13, 0));
	memcpy(ref, rbuf, len + 16);

	/*
	 * The driver reads the destination while the device pulls into it (a
	 * race: the read may see old or new bytes), stepping the server by
	 * hand so that the read is answered between the device's requests and
	 * their data. The copy still lands whole and the link loses nothing.
	 */
	crc0 = bad_crcs();
	for (i = 0; i < len; i++) {
		host_ptr(src)[i] = (uint8_t)(i * 29 + 5);
	}
	cmd_init(&c, RPCI_VGPU_OP_COPY_H2D, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = a + 3;
	c.host_addr = src;
	c.host_len = len;
	drain();
	CU_ASSERT_EQUAL(submit(&c), 0);
	rpci_link_poll(g_link_s);   /* the entry and the doorbell */
	rpci_vgpu_poll(g_srv.dev);  /* the device's reads are queued */
	rpci_link_poll(g_link_s);   /* ... and sent */
	/* Our read reaches the device just before the data its reads bring. */
	CU_ASSERT_EQUAL(mrd_issue(BAR2_ADDR + a, 4096, rbuf), 0);
	CU_ASSERT_EQUAL(wait_cpl(&e), 0);
	CU_ASSERT_EQUAL(e.cmd_id, c.cmd_id);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(pio_wait(), 0);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, len + 16, rbuf), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 3, host_ptr(src), len), 0);
	CU_ASSERT_EQUAL(bad_crcs(), crc0);
	memcpy(ref, rbuf, len + 16);
	pump(SETTLE_ROUNDS);

	/* From host memory outside every window: refused, device memory unchanged */
	st0 = dev_stats();
	mrd0 = g_host.mrd_count;
	memset(host_ptr(HOST_BASE + HOST_NOWIN), 0x99, 4096);
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_H2D, a, HOST_BASE + HOST_NOWIN, 4096), -EFAULT);
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_H2D, a,
				 HOST_BASE + HOST_DATA + HOST_DATA_SIZE - 2048, 4096), -EFAULT);
	/* To device memory that does not exist: refused */
	CU_ASSERT_EQUAL(copy_cmd(RPCI_VGPU_OP_COPY_H2D, 8 * MiB - 100, src, 200), -EFAULT);
	st1 = dev_stats();
	CU_ASSERT_EQUAL(st1.dma_refused - st0.dma_refused, 2);
	CU_ASSERT_EQUAL(g_host.mrd_count, mrd0);
	memset(rbuf, 0xcc, len + 16);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, len + 16, rbuf), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, ref, len + 16), 0);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + 8 * MiB - 100, 100, rbuf), 0);
	CU_ASSERT(all_bytes(rbuf, 100, 0));
out:
	env_close();
	free(rbuf);
	free(ref);
}

static void
test_cmd_module_function(void)
{
	const uint64_t log1 = HOST_BASE + HOST_AUX, log2 = HOST_BASE + HOST_AUX + 0x400;
	const char *src = "__kernel void k(void) { }";
	struct rpci_vgpu_cmd c1, c2;
	struct rpci_vgpu_cpl e1, e2;
	struct rpci_vgpu_stats st0;
	uint64_t m = 0, m2 = 0, f = 0;
	const char *log = (const char *)host_ptr(log1);
	uint64_t msi0;

	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	if (!queue_setup(16, 32)) {
		goto out;
	}
	/* Built-ins: a handle, an empty log (one NUL byte written) */
	memset(host_ptr(log1), 0xee, 512);
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_BUILTIN, NULL, log1, 256, &m), 0);
	CU_ASSERT(m != 0);
	CU_ASSERT_EQUAL(log[0], '\0');
	CU_ASSERT(all_bytes(host_ptr(log1 + 1), 511, 0xee));

	/* OpenCL on the cpu backend: refused, and the log says why */
	memset(host_ptr(log1), 0xee, 512);
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_OPENCL, src, log1, 256, &m2), -ENOTSUP);
	CU_ASSERT(memchr(log, '\0', 256) != NULL);
	if (memchr(log, '\0', 256) != NULL) {
		CU_ASSERT_STRING_EQUAL(log, "cpu backend loads built-in modules only");
		CU_ASSERT(all_bytes(host_ptr(log1 + strlen(log) + 1), 512 - strlen(log) - 1, 0xee));
	}
	/* A small log buffer gets a truncated, terminated log and nothing past it */
	memset(host_ptr(log1), 0xee, 512);
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_OPENCL, src, log1, 8, &m2), -ENOTSUP);
	CU_ASSERT_STRING_EQUAL(log, "cpu bac");
	CU_ASSERT(all_bytes(host_ptr(log1 + 8), 504, 0xee));
	/* A log buffer outside every window: still the load's status, nothing written */
	st0 = dev_stats();
	memset(host_ptr(HOST_BASE + HOST_NOWIN), 0xee, 512);
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_OPENCL, src, HOST_BASE + HOST_NOWIN, 256, &m2),
			-ENOTSUP);
	CU_ASSERT(all_bytes(host_ptr(HOST_BASE + HOST_NOWIN), 512, 0xee));
	CU_ASSERT_EQUAL(dev_stats().dma_refused - st0.dma_refused, 1);
	/* A kind nobody knows */
	memset(host_ptr(log1), 0xee, 512);
	CU_ASSERT_EQUAL(module_load(7, src, log1, 256, &m2), -EINVAL);
	CU_ASSERT_STRING_EQUAL(log, "unknown module kind 7");

	/*
	 * Two loads queued back to back: each log lands at its own address with
	 * its own text (the second load must not change what the first sends).
	 */
	memset(host_ptr(log1), 0xee, 2048);
	cmd_init(&c1, RPCI_VGPU_OP_MODULE_LOAD, RPCI_VGPU_CMD_F_IRQ);
	c1.args[0] = RPCI_GPU_MODULE_OPENCL;
	c1.args[1] = log1;
	c1.args[2] = 256;
	cmd_inline(&c1, src, (uint16_t)(strlen(src) + 1));
	cmd_init(&c2, RPCI_VGPU_OP_MODULE_LOAD, RPCI_VGPU_CMD_F_IRQ);
	c2.args[0] = 9;
	c2.args[1] = log2;
	c2.args[2] = 256;
	cmd_inline(&c2, src, (uint16_t)(strlen(src) + 1));
	msi0 = g_host.msi;
	CU_ASSERT_EQUAL(submit(&c1), 0);
	CU_ASSERT_EQUAL(submit(&c2), 0);
	CU_ASSERT_EQUAL(wait_cpl(&e1), 0);
	CU_ASSERT_EQUAL(wait_cpl(&e2), 0);
	CU_ASSERT_EQUAL(e1.cmd_id, c1.cmd_id);
	CU_ASSERT_EQUAL(e1.status, -ENOTSUP);
	CU_ASSERT_EQUAL(e2.cmd_id, c2.cmd_id);
	CU_ASSERT_EQUAL(e2.status, -EINVAL);
	pump(SETTLE_ROUNDS);
	CU_ASSERT_EQUAL(g_host.msi - msi0, 2);
	CU_ASSERT_STRING_EQUAL(log, "cpu backend loads built-in modules only");
	CU_ASSERT_STRING_EQUAL((const char *)host_ptr(log2), "unknown module kind 9");

	/* Functions by name */
	CU_ASSERT_EQUAL(function_get(m, "saxpy", &f), 0);
	CU_ASSERT(f != 0);
	CU_ASSERT_EQUAL(function_get(m, "nope", NULL), -ENOENT);
	CU_ASSERT_EQUAL(function_get(m + 10, "saxpy", NULL), -ENOENT);
	CU_ASSERT_EQUAL(function_get(0, "saxpy", NULL), -ENOENT);
	{
		/* A name without its NUL */
		cmd_init(&c1, RPCI_VGPU_OP_FUNCTION_GET, RPCI_VGPU_CMD_F_IRQ);
		c1.args[0] = m;
		cmd_inline(&c1, "saxpy", 5);
		CU_ASSERT_EQUAL(cmd_run(&c1, &e1), 0);
		CU_ASSERT_EQUAL(e1.status, -EINVAL);
	}
	/* Unload: its functions go with it */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_MODULE_UNLOAD, m, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(function_get(m, "saxpy", NULL), -ENOENT);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_MODULE_UNLOAD, m, 0, 0, NULL), -ENOENT);
out:
	env_close();
}

#define SAXPY_N 1000u

static void
test_cmd_launch(void)
{
	const uint64_t mem = 8 * MiB;
	const uint64_t phost = HOST_BASE + HOST_AUX + 0x800;
	float *x = malloc(sizeof(float) * SAXPY_N), *y = malloc(sizeof(float) * SAXPY_N);
	float *r = malloc(sizeof(float) * SAXPY_N);
	struct rpci_vgpu_stats st0;
	struct rpci_vgpu_cmd c, c2;
	struct rpci_vgpu_cpl e, e2;
	struct params p;
	uint64_t m = 0, f = 0, xa = 0, ya = 0, msi0;
	uint8_t tail[16];
	uint32_t i;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	if (!env_open(mem)) {
		goto out;
	}
	bringup();
	if (!queue_setup(16, 32)) {
		goto out;
	}
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_BUILTIN, NULL, 0, 0, &m), 0);
	CU_ASSERT_EQUAL(function_get(m, "saxpy", &f), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, sizeof(float) * SAXPY_N, 0, 0, &xa), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, sizeof(float) * SAXPY_N, 0, 0, &ya), 0);
	for (i = 0; i < SAXPY_N; i++) {
		x[i] = (float)i;
		y[i] = (float)(1000 - 2 * (int)i);
	}
	dev_write_floats(xa, x, SAXPY_N);
	dev_write_floats(ya, y, SAXPY_N);

	/* Inline parameters: y = 3 x + y, exact on integers */
	st0 = dev_stats();
	saxpy_params(&p, 3.0f, xa, ya, SAXPY_N);
	CU_ASSERT_EQUAL(launch_inline(f, &p), 0);
	CU_ASSERT_EQUAL(dev_stats().launches - st0.launches, 1);
	CU_ASSERT_EQUAL(dev_read_floats(ya, r, SAXPY_N), 0);
	for (ok = true, i = 0; i < SAXPY_N; i++) {
		y[i] = 3.0f * x[i] + y[i];
		ok = ok && r[i] == y[i];
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(dev_read_floats(xa, r, SAXPY_N), 0);
	CU_ASSERT_EQUAL(memcmp(r, x, sizeof(float) * SAXPY_N), 0);

	/* Parameters in host memory: the device pulls them */
	saxpy_params(&p, -2.0f, xa, ya, SAXPY_N);
	memcpy(host_ptr(phost), p.buf, params_len(&p));
	launch_init(&c, f, RPCI_VGPU_CMD_F_IRQ);
	c.host_addr = phost;
	c.host_len = params_len(&p);
	st0 = dev_stats();
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(dev_stats().dma_read_bytes - st0.dma_read_bytes, params_len(&p));
	CU_ASSERT_EQUAL(dev_read_floats(ya, r, SAXPY_N), 0);
	for (ok = true, i = 0; i < SAXPY_N; i++) {
		y[i] = -2.0f * x[i] + y[i];
		ok = ok && r[i] == y[i];
	}
	CU_ASSERT(ok);
	/* ... but not from outside the windows */
	memcpy(host_ptr(HOST_BASE + HOST_NOWIN), p.buf, params_len(&p));
	launch_init(&c, f, RPCI_VGPU_CMD_F_IRQ);
	c.host_addr = HOST_BASE + HOST_NOWIN;
	c.host_len = params_len(&p);
	CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
	CU_ASSERT_EQUAL(e.status, -EFAULT);

	/* A bad function handle */
	saxpy_params(&p, 3.0f, xa, ya, SAXPY_N);
	CU_ASSERT_EQUAL(launch_inline(0, &p), -ENOENT);
	CU_ASSERT_EQUAL(launch_inline(f + 100, &p), -ENOENT);
	/* A wrong argument count */
	p.nb_args = 3;
	memset(p.buf, 0, 4);
	p.buf[0] = 3;
	CU_ASSERT_EQUAL(launch_inline(f, &p), -EINVAL);
	/* A kernel reaching past device memory */
	saxpy_params(&p, 3.0f, xa, mem - 16, SAXPY_N);
	CU_ASSERT_EQUAL(launch_inline(f, &p), -EFAULT);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + mem - 16, 16, tail), 0);
	CU_ASSERT(all_bytes(tail, 16, 0));
	/* None of the failed launches touched y */
	CU_ASSERT_EQUAL(dev_read_floats(ya, r, SAXPY_N), 0);
	CU_ASSERT_EQUAL(memcmp(r, y, sizeof(float) * SAXPY_N), 0);

	/* A launch without IRQ, then a FENCE with one: in order, one MSI */
	saxpy_params(&p, 1.0f, xa, ya, SAXPY_N);
	launch_init(&c, f, 0);
	cmd_inline(&c, p.buf, params_len(&p));
	cmd_init(&c2, RPCI_VGPU_OP_FENCE, RPCI_VGPU_CMD_F_IRQ);
	msi0 = g_host.msi;
	CU_ASSERT_EQUAL(submit(&c), 0);
	CU_ASSERT_EQUAL(submit(&c2), 0);
	CU_ASSERT_EQUAL(wait_cpl(&e), 0);
	CU_ASSERT_EQUAL(wait_cpl(&e2), 0);
	CU_ASSERT_EQUAL(e.cmd_id, c.cmd_id);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(e2.cmd_id, c2.cmd_id);
	CU_ASSERT_EQUAL(e2.status, 0);
	pump(SETTLE_ROUNDS);
	CU_ASSERT_EQUAL(g_host.msi - msi0, 1);
	CU_ASSERT_EQUAL(dev_read_floats(ya, r, SAXPY_N), 0);
	for (ok = true, i = 0; i < SAXPY_N; i++) {
		y[i] = x[i] + y[i];
		ok = ok && r[i] == y[i];
	}
	CU_ASSERT(ok);
out:
	env_close();
	free(x);
	free(y);
	free(r);
}

/* BAR2 reads of the memory a running kernel writes: each completes, no frame is lost. */
static void
test_bar2_read_during_kernel(void)
{
	const uint32_t n = 384, bytes = 4 * 384 * 384;
	float *mat = malloc(bytes);
	uint8_t *rbuf = malloc(4096);
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;
	struct params p;
	uint64_t m = 0, f = 0, A = 0, B = 0, C = 0, crc0, reads = 0;
	uint32_t i, rounds;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mat);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rbuf);
	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	if (!queue_setup(16, 32)) {
		goto out;
	}
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_BUILTIN, NULL, 0, 0, &m), 0);
	CU_ASSERT_EQUAL(function_get(m, "sgemm", &f), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, bytes, 0, 0, &A), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, bytes, 0, 0, &B), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, bytes, 0, 0, &C), 0);
	for (i = 0; i < n * n; i++) {
		mat[i] = 1.0f;
	}
	dev_write_floats(A, mat, n * n);
	for (i = 0; i < n * n; i++) {
		mat[i] = 2.0f;
	}
	dev_write_floats(B, mat, n * n);
	/* C = 1 * A.B + 0 * C: every element 2 n, exactly */
	memset(&p, 0, sizeof(p));
	params_add(&p, RPCI_GPU_ARG_DEVPTR, 8, A);
	params_add(&p, RPCI_GPU_ARG_DEVPTR, 8, B);
	params_add(&p, RPCI_GPU_ARG_DEVPTR, 8, C);
	params_add(&p, RPCI_GPU_ARG_SCALAR, 4, n);
	params_add(&p, RPCI_GPU_ARG_SCALAR, 4, n);
	params_add(&p, RPCI_GPU_ARG_SCALAR, 4, n);
	params_add(&p, RPCI_GPU_ARG_SCALAR, 4, f32_bits(1.0f));
	params_add(&p, RPCI_GPU_ARG_SCALAR, 4, f32_bits(0.0f));
	launch_init(&c, f, RPCI_VGPU_CMD_F_IRQ);
	cmd_inline(&c, p.buf, params_len(&p));
	crc0 = bad_crcs();
	CU_ASSERT_EQUAL(submit(&c), 0);
	/* Read C, page after page, until the kernel has completed */
	for (rounds = 0; rounds < 100000 && cq_phase_at(g_q.cq_head) != g_q.phase; rounds++) {
		uint64_t at = C + 4096ull * (reads % (bytes / 4096));

		if (mem_read(BAR2_ADDR + at, 4096, rbuf) != 0) {
			CU_FAIL("a read of BAR2 failed while the kernel ran");
			break;
		}
		reads++;
	}
	CU_ASSERT(reads > 0);
	CU_ASSERT_EQUAL(wait_cpl(&e), 0);
	CU_ASSERT_EQUAL(e.cmd_id, c.cmd_id);
	CU_ASSERT_EQUAL(e.status, 0);
	CU_ASSERT_EQUAL(bad_crcs(), crc0);
	CU_ASSERT_EQUAL(dev_read_floats(C, mat, n * n), 0);
	for (ok = true, i = 0; i < n * n; i++) {
		ok = ok && mat[i] == 2.0f * (float)n;
	}
	CU_ASSERT(ok);
out:
	env_close();
	free(mat);
	free(rbuf);
}

/* More completions than the CQ holds: the device waits for CQ_HEAD. */
static void
test_cq_full_waits(void)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;
	uint64_t msi0, cmds0;
	uint32_t i;

	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	if (!queue_setup(16, 4)) {
		goto out;
	}
	g_q.auto_head = false;
	msi0 = g_host.msi;
	cmds0 = dev_stats().commands;
	for (i = 0; i < 8; i++) {
		cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
		CU_ASSERT_EQUAL(submit(&c), 0);
	}
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(wait_cpl(&e), 0);
		CU_ASSERT_EQUAL(e.cmd_id, i + 1);
		CU_ASSERT_EQUAL(e.phase, 1);
	}
	/* The driver has not said so: the device must not overwrite them */
	pump(50 * SETTLE_ROUNDS);
	for (i = 0; i < 4; i++) {
		cpl_decode(cq_entry(i), &e);
		CU_ASSERT_EQUAL(e.cmd_id, i + 1);
		CU_ASSERT_EQUAL(e.phase, 1);
	}
	CU_ASSERT_EQUAL(dev_stats().commands - cmds0, 4);
	CU_ASSERT_EQUAL(g_host.msi - msi0, 4);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_HEAD), 4);
	CU_ASSERT(reg_rd32(RPCI_VGPU_REG_STATUS) & RPCI_VGPU_STATUS_BUSY);
	/* A CQ_HEAD past what was written is ignored */
	reg_wr32(RPCI_VGPU_REG_CQ_HEAD, 100);
	pump(10 * SETTLE_ROUNDS);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CQ_HEAD), 0);
	CU_ASSERT_EQUAL(dev_stats().commands - cmds0, 4);
	/* Consumed: the rest arrive, in phase 0 after the wrap */
	reg_wr32(RPCI_VGPU_REG_CQ_HEAD, 4);
	for (i = 4; i < 8; i++) {
		CU_ASSERT_EQUAL(wait_cpl(&e), 0);
		CU_ASSERT_EQUAL(e.cmd_id, i + 1);
		CU_ASSERT_EQUAL(e.phase, 0);
		CU_ASSERT_EQUAL(e.sq_head, i + 1);
		CU_ASSERT_EQUAL(e.status, 0);
	}
	reg_wr32(RPCI_VGPU_REG_CQ_HEAD, 8);
	pump(SETTLE_ROUNDS);
	CU_ASSERT_EQUAL(g_host.msi - msi0, 8);
	CU_ASSERT_EQUAL(dev_stats().commands - cmds0, 8);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS),
			RPCI_VGPU_STATUS_READY | RPCI_VGPU_STATUS_ENABLED);
out:
	env_close();
}

/* Many more commands than SQ_SIZE over time: the queue wraps. */
static void
test_sq_wrap(void)
{
	struct rpci_vgpu_cmd c[4];
	struct rpci_vgpu_cpl e;
	uint64_t base = 0, msi0, irqs = 0;
	uint32_t round, k, total = 0;
	uint8_t got[64];

	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	if (!queue_setup(4, 8)) {
		goto out;
	}
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 4096, 0, 0, &base), 0);
	total = 1;
	msi0 = g_host.msi;
	/* 1 to 4 commands at a time (a full SQ included), each its own MEMSET */
	for (round = 0; round < 12; round++) {
		uint32_t n = round % 4 + 1;

		for (k = 0; k < n; k++) {
			uint32_t idx = total + k - 1;

			cmd_init(&c[k], RPCI_VGPU_OP_MEMSET, (idx % 3) ? RPCI_VGPU_CMD_F_IRQ : 0);
			c[k].args[0] = base + idx;
			c[k].args[1] = idx + 1;
			c[k].args[2] = 1;
			irqs += (idx % 3) ? 1 : 0;
			CU_ASSERT_EQUAL(submit(&c[k]), 0);
		}
		for (k = 0; k < n; k++) {
			CU_ASSERT_EQUAL(wait_cpl(&e), 0);
			CU_ASSERT_EQUAL(e.cmd_id, c[k].cmd_id);
			CU_ASSERT_EQUAL(e.status, 0);
			CU_ASSERT_EQUAL(e.sq_head, total + k + 1);
		}
		total += n;
	}
	pump(SETTLE_ROUNDS);
	/* 31 commands through a 4-entry SQ and an 8-entry CQ */
	CU_ASSERT_EQUAL(total, 31);
	CU_ASSERT_EQUAL(g_host.msi - msi0, irqs);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_HEAD), total);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + base, sizeof(got), got), 0);
	for (k = 0; k < total - 1; k++) {
		CU_ASSERT_EQUAL(got[k], k + 1);
	}
	CU_ASSERT(all_bytes(got + total - 1, sizeof(got) - (total - 1), 0));
out:
	env_close();
}

/* A new session finds the device as from reset, with nothing of the last one. */
static void
test_isolation(void)
{
	const uint64_t mem = 8 * MiB;
	uint8_t *buf = malloc(mem), *pat = malloc(4096);
	struct rpci_vgpu_stats st0;
	struct rpci_vgpu_cmd c;
	struct params p;
	uint64_t m = 0, f = 0, a = 0, y = 0;
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pat);
	if (!env_open(mem)) {
		goto out;
	}
	/* The first client leaves marks everywhere, and work pending */
	bringup();
	if (!queue_setup(8, 4)) {
		goto out;
	}
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_BUILTIN, NULL, 0, 0, &m), 0);
	CU_ASSERT_EQUAL(function_get(m, "saxpy", &f), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 4096, 0, 0, &a), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 4096, 0, 0, &y), 0);
	for (i = 0; i < 4096; i++) {
		pat[i] = (uint8_t)(i | 1);
	}
	mem_write(BAR2_ADDR + a, pat, 4096);
	mem_write(BAR2_ADDR + mem - 4096, pat, 4096);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_MEMSET, 3 * MiB, 0x42, 64 * KiB, NULL), 0);
	saxpy_params(&p, 2.0f, a, y, 1024);
	CU_ASSERT_EQUAL(launch_inline(f, &p), 0);
	window_set(9, HOST_BASE + HOST_NOWIN, 4096);
	reg_wr32(RPCI_VGPU_REG_INTR_MASK, 1);
	cfg_wr(RPCI_VGPU_CFG_INTR, 0x0b, 0x1);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + y, 4096, buf), 0);
	CU_ASSERT_FALSE(all_bytes(buf, 4096, 0));
	/* Work left behind: more completions than its CQ holds */
	g_q.auto_head = false;
	for (i = 0; i < 8; i++) {
		cmd_init(&c, RPCI_VGPU_OP_NOP, RPCI_VGPU_CMD_F_IRQ);
		CU_ASSERT_EQUAL(submit(&c), 0);
	}
	pump(10 * SETTLE_ROUNDS);
	CU_ASSERT(reg_rd32(RPCI_VGPU_REG_STATUS) & RPCI_VGPU_STATUS_BUSY);
	st0 = dev_stats();
	session_close();
	CU_ASSERT_PTR_NULL(rpci_vgpu_session(g_srv.dev));
	CU_ASSERT_EQUAL(rpci_vgpu_mem_used(g_srv.dev), 0);

	/* The next client */
	if (!session_open()) {
		goto out;
	}
	CU_ASSERT_EQUAL(dev_stats().sessions, st0.sessions + 1);
	/* Nothing of the old queue reaches the new host (it has no windows yet) */
	pump(10 * SETTLE_ROUNDS);
	CU_ASSERT(all_bytes(g_host.mem, HOST_SIZE, 0));
	/* Configuration space from reset */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100000u);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR0), 0);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2), 0xcu);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2_HI), 0);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_INTR), 0);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI), 0x00805005u);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_MSI + 12), 0);
	bringup();
	/* Registers from reset, windows cleared, no allocation */
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_STATUS), RPCI_VGPU_STATUS_READY);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CONTROL), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_MASK), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INTR_STATUS), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_SIZE), 0);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_CQ_BASE), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CQ_SIZE), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_SQ_HEAD), 0);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_CQ_HEAD), 0);
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), mem);
	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + RPCI_VGPU_REG_WINDOWS, 16 * RPCI_VGPU_WINDOWS, buf),
			0);
	CU_ASSERT(all_bytes(buf, 16 * RPCI_VGPU_WINDOWS, 0));
	CU_ASSERT_EQUAL(mem_read(BAR0_ADDR + RPCI_VGPU_REG_SQ, 8 * RPCI_VGPU_CMD_SIZE, buf), 0);
	CU_ASSERT(all_bytes(buf, 8 * RPCI_VGPU_CMD_SIZE, 0));
	/* Every byte of device memory reads as zero */
	memset(buf, 0xcc, mem);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR, (uint32_t)mem, buf), 0);
	CU_ASSERT(all_bytes(buf, mem, 0));
	/* The old handles mean nothing */
	if (queue_setup(8, 16)) {
		CU_ASSERT_EQUAL(function_get(m, "saxpy", NULL), -ENOENT);
		saxpy_params(&p, 2.0f, a, y, 1024);
		CU_ASSERT_EQUAL(launch_inline(f, &p), -ENOENT);
		CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_FREE, a, 0, 0, NULL), -ENOENT);
		CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_MODULE_UNLOAD, m, 0, 0, NULL), -ENOENT);
	}
out:
	env_close();
	free(buf);
	free(pat);
}

/* Last: across every test, the device wrote nowhere but inside the windows. */
static void
test_no_dma_outside_windows(void)
{
	CU_ASSERT(g_host.injected > 0); /* the self-check ran and was caught */
	CU_ASSERT_EQUAL(g_host.violations, g_host.injected);
	CU_ASSERT(g_host.mwr_bytes > 0);
	CU_ASSERT(g_host.mrd_bytes > 0);
	CU_ASSERT_EQUAL(g_host.unexpected, 0);
	CU_ASSERT_EQUAL(g_host.downs, 0); /* no session died */
	CU_ASSERT_EQUAL(g_srv.opens, g_srv.downs);
}

/* ================================================================ fabric */

static int
fabric_create(void)
{
	struct rpci_link_params lp = {
		.queue_id = 0,
		.crc_payload = true,
		.mtu = TEST_MTU,
		.replay_frames = 256,
		.retransmit_us = 20000,
		.retransmit_max = 12,
		.keepalive_ms = 100,
		.dead_ms = 5000,
		.burst = 32,
		.copy_threshold = TEST_COPY_THRESHOLD,
	};
	int ret, port;

	g_ring_c2s = rte_ring_create("vgpu_c2s", TEST_RING_SIZE, SOCKET_ID_ANY,
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	g_ring_s2c = rte_ring_create("vgpu_s2c", TEST_RING_SIZE, SOCKET_ID_ANY,
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (g_ring_c2s == NULL || g_ring_s2c == NULL) {
		return -ENOMEM;
	}
	port = rte_eth_from_rings("vgpu_c", &g_ring_s2c, 1, &g_ring_c2s, 1, SOCKET_ID_ANY);
	if (port < 0) {
		return -ENODEV;
	}
	g_port_c = (uint16_t)port;
	port = rte_eth_from_rings("vgpu_s", &g_ring_c2s, 1, &g_ring_s2c, 1, SOCKET_ID_ANY);
	if (port < 0) {
		return -ENODEV;
	}
	g_port_s = (uint16_t)port;
	ret = rpci_link_pools_create("vgpu", TEST_POOL_MBUFS, TEST_MTU, SOCKET_ID_ANY, &g_pool,
				     &g_ext_pool);
	if (ret < 0) {
		return ret;
	}
	ret = rpci_port_init(g_port_c, TEST_MTU, 512, g_pool, &g_mac_c, NULL);
	if (ret < 0) {
		return ret;
	}
	ret = rpci_port_init(g_port_s, TEST_MTU, 512, g_pool, &g_mac_s, NULL);
	if (ret < 0) {
		return ret;
	}
	lp.pool = g_pool;
	lp.ext_pool = g_ext_pool;
	lp.port_id = g_port_c;
	lp.mac = g_mac_c;
	lp.ops = &g_client_ops;
	g_link_c = rpci_link_create(&lp);
	lp.port_id = g_port_s;
	lp.mac = g_mac_s;
	lp.ops = &g_server_ops;
	g_link_s = rpci_link_create(&lp);
	if (g_link_c == NULL || g_link_s == NULL) {
		return -ENOMEM;
	}
	g_host.mem = calloc(1, HOST_SIZE);
	g_host.tags = rpci_tlp_tags_create(64);
	if (g_host.mem == NULL || g_host.tags == NULL) {
		return -ENOMEM;
	}
	g_pool_avail = rte_mempool_avail_count(g_pool);
	g_ext_avail = rte_mempool_avail_count(g_ext_pool);
	return 0;
}

static void
fabric_free(void)
{
	rpci_link_free(g_link_c);
	rpci_link_free(g_link_s);
	if (g_pool != NULL) {
		rpci_port_close(g_port_c);
		rpci_port_close(g_port_s);
	}
	rte_mempool_free(g_pool);
	rte_mempool_free(g_ext_pool);
	rte_ring_free(g_ring_c2s);
	rte_ring_free(g_ring_s2c);
	rpci_tlp_tags_free(g_host.tags);
	free(g_host.mem);
}

/* ------------------------------------------- reset, personality, files */

/* The PCI Express capability: FLR capable; the FLR clears everything and tells the client. */
static void
test_flr(void)
{
	uint64_t a0 = 0, a1 = 0, free0;
	uint8_t pattern[256], back[256];
	struct rpci_vgpu_stats st;
	uint32_t n;

	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	CU_ASSERT_FATAL(queue_setup(16, 16));
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_PCIE) & 0xff, 0x10);
	CU_ASSERT_EQUAL((cfg_rd(RPCI_VGPU_CFG_PCIE) >> 8) & 0xff, 0); /* last in the list */
	CU_ASSERT(cfg_rd(RPCI_VGPU_CFG_DEVCAP) & RPCI_VGPU_DEVCAP_FLR);
	free0 = reg_rd64(RPCI_VGPU_REG_MEM_FREE);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 4096, 0, 0, &a0), 0);
	memset(pattern, 0x5a, sizeof(pattern));
	mem_write(BAR2_ADDR + a0, pattern, sizeof(pattern));
	writes_done();
	CU_ASSERT_EQUAL(dev_stats().mem_high, 4096);
	CU_ASSERT_EQUAL(dev_stats().bar_write_bytes, sizeof(pattern));
	/* Device Control: other bits take, the FLR bit reads 0 */
	cfg_wr(RPCI_VGPU_CFG_DEVCTL, 0x0010, 0x3);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_DEVCTL) & 0xffff, 0x0010);
	/* The client sets FLR: the write completes, then the reset message comes. */
	cfg_wr(RPCI_VGPU_CFG_DEVCTL, RPCI_VGPU_DEVCTL_FLR, 0x3);
	for (n = 0; n < PUMP_MAX && g_host.flr == 0; n++) {
		pump_once();
	}
	CU_ASSERT_EQUAL(g_host.flr, 1);
	st = dev_stats();
	CU_ASSERT_EQUAL(st.resets, 1);
	/* As after power-on: no decode, no BARs, Device Control back to its reset value */
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_COMMAND), 0x00100000u);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR0), 0);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_DEVCTL) & 0xffff, 0x2000);
	CU_ASSERT_EQUAL(rpci_vgpu_mem_used(g_srv.dev), 0);
	CU_ASSERT_PTR_EQUAL(rpci_vgpu_session(g_srv.dev), g_srv.s); /* the session stays */
	/* Brought up again: memory all free and cleared, allocations from scratch */
	bringup();
	CU_ASSERT_FATAL(queue_setup(16, 16));
	CU_ASSERT_EQUAL(reg_rd64(RPCI_VGPU_REG_MEM_FREE), free0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, 4096, 0, 0, &a1), 0);
	CU_ASSERT_EQUAL(a1, a0);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a1, sizeof(back), back), 0);
	CU_ASSERT(all_bytes(back, sizeof(back), 0));
	CU_ASSERT_EQUAL(dev_stats().session_mem_high, 4096);
out:
	env_close();
}

/* A new personality with the reset: identity and BAR sizes change; bad sizes refused. */
static void
test_personality_reset(void)
{
	struct rpci_vgpu_personality p = g_personality, bad;
	uint32_t n;

	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	p.vendor_id = 0x10de;
	p.device_id = 0x20b0;
	p.class_code = 0x030000;
	p.subsystem_id = 0x1234;
	p.revision = 0xa1;
	p.bar0_size = 128 * KiB;
	p.bar2_size = 64 * MiB;
	bad = p;
	bad.bar0_size = 96 * KiB;
	CU_ASSERT_EQUAL(rpci_vgpu_reset(g_srv.dev, &bad), -EINVAL);
	bad = p;
	bad.bar2_size = 4 * MiB; /* smaller than the memory */
	CU_ASSERT_EQUAL(rpci_vgpu_reset(g_srv.dev, &bad), -EINVAL);
	bad.bar0_size = 32 * KiB;
	CU_ASSERT_EQUAL(rpci_vgpu_reset(g_srv.dev, &bad), -EINVAL);
	CU_ASSERT_EQUAL(dev_stats().resets, 0);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_VENDOR), 0x00017270u); /* nothing changed */
	CU_ASSERT_EQUAL(rpci_vgpu_reset(g_srv.dev, &p), 0);
	for (n = 0; n < PUMP_MAX && g_host.flr == 0; n++) {
		pump_once();
	}
	CU_ASSERT_EQUAL(g_host.flr, 1);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_VENDOR), 0x20b010deu);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_REVISION), 0x030000a1u);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_SUBSYS), 0x12347270u);
	cfg_wr(RPCI_VGPU_CFG_BAR0, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR0), 0xfffe0000u);
	cfg_wr(RPCI_VGPU_CFG_BAR2, 0xffffffff, 0xf);
	cfg_wr(RPCI_VGPU_CFG_BAR2_HI, 0xffffffff, 0xf);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2), 0xfc00000cu);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_BAR2_HI), 0xffffffffu);
	CU_ASSERT_EQUAL(rpci_vgpu_personality(g_srv.dev)->vendor_id, 0x10de);
	CU_ASSERT_EQUAL(rpci_vgpu_personality(g_srv.dev)->bar0_size, 128 * KiB);
	/* The registers answer anywhere in the larger BAR0; past the registers, zeros. */
	cfg_wr(RPCI_VGPU_CFG_BAR0, (uint32_t)BAR0_ADDR, 0xf);
	cfg_wr(RPCI_VGPU_CFG_COMMAND, RPCI_VGPU_CMD_MEM | RPCI_VGPU_CMD_MASTER, 0x3);
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_ID), RPCI_VGPU_ID);
	CU_ASSERT_EQUAL(reg_rd32(0x1fffc), 0);
	/* Back to the file's personality for the tests after */
	p = g_personality;
	CU_ASSERT_EQUAL(rpci_vgpu_reset(g_srv.dev, &p), 0);
	for (n = 0; n < PUMP_MAX && g_host.flr < 2; n++) {
		pump_once();
	}
	CU_ASSERT_EQUAL(g_host.flr, 2);
	CU_ASSERT_EQUAL(cfg_rd(RPCI_VGPU_CFG_VENDOR), 0x00017270u);
out:
	env_close();
}

/* File names resolved inside the directory only. */
static void
test_file_names(void)
{
	char dir[] = "/tmp/rpci-vgpu-files.XXXXXX", path[128];
	int dfd, fd;
	uint64_t size = 0;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/sub", dir);
	CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/sub/a.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "hello", 5) == 5);
	close(fd);
	snprintf(path, sizeof(path), "%s/up", dir);
	CU_ASSERT(symlink("/etc", path) == 0);          /* a directory link out */
	snprintf(path, sizeof(path), "%s/passwd", dir);
	CU_ASSERT(symlink("/etc/passwd", path) == 0);   /* a file link out */
	snprintf(path, sizeof(path), "%s/inside", dir);
	CU_ASSERT(symlink("sub/a.bin", path) == 0);     /* a link, even inside */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CU_ASSERT(mkfifo(path, 0644) == 0);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(dfd >= 0);

	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "sub/a.bin", &size), 0);
	CU_ASSERT_EQUAL(size, 5);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "sub/../sub/a.bin", &size), -EINVAL);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "../etc/passwd", &size), -EINVAL);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "/etc/passwd", &size), -EINVAL);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "./sub/a.bin", &size), -EINVAL);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "sub//a.bin", &size), -EINVAL);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "sub/", &size), -EINVAL);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "", &size), -EINVAL);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "up/passwd", &size), -EACCES);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "passwd", &size), -EACCES);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "inside", &size), -EACCES);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "sub", &size), -EACCES);  /* a directory */
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "fifo", &size), -EACCES); /* not a regular file */
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "none", &size), -ENOENT);
	CU_ASSERT_EQUAL(vgpu_file_size(dfd, "sub/a.bin/x", &size), -EACCES);
	fd = vgpu_file_open(dfd, "new.bin", O_WRONLY | O_CREAT | O_EXCL);
	CU_ASSERT(fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
	CU_ASSERT_EQUAL(vgpu_file_open(dfd, "new.bin", O_WRONLY | O_CREAT | O_EXCL), -EEXIST);
	/* Writing through a link: refused, and the target is untouched. */
	CU_ASSERT_EQUAL(vgpu_file_open(dfd, "passwd", O_WRONLY | O_CREAT | O_TRUNC), -EACCES);
	close(dfd);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CU_ASSERT(system(path) == 0);
}

/* A name-inline file command; its status (INT32_MIN if lost). */
static int32_t
file_cmd(uint8_t opcode, const char *name, uint64_t a0, uint64_t a1, uint64_t a2,
	 uint64_t *result)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	cmd_init(&c, opcode, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = a0;
	c.args[1] = a1;
	c.args[2] = a2;
	cmd_inline(&c, name, (uint16_t)(strlen(name) + 1));
	if (cmd_run(&c, &e) < 0) {
		return INT32_MIN;
	}
	if (result != NULL) {
		*result = e.result;
	}
	return e.status;
}

/* FILE_SIZE, FILE_LOAD and FILE_SAVE against a directory of the server. */
static void
test_files(void)
{
	char dir[] = "/tmp/rpci-vgpu-files.XXXXXX", path[128];
	static uint8_t data[100000], back[100000];
	uint64_t d = 0, r = 0;
	uint32_t i;
	int fd;

	for (i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 131 + (i >> 8));
	}
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/in.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, data, sizeof(data)) == (ssize_t)sizeof(data));
	close(fd);
	g_file_dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(g_file_dir_fd > 0);
	g_file_save = false;
	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	CU_ASSERT_FATAL(queue_setup(16, 16));
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_SIZE, "in.bin", 0, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(r, sizeof(data));
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, sizeof(data), 0, 0, &d), 0);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_LOAD, "in.bin", d, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(r, sizeof(data));
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + d, sizeof(back), back), 0);
	CU_ASSERT(memcmp(back, data, sizeof(data)) == 0);
	/* A part of it, at an offset */
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_LOAD, "in.bin", d, 1000, 10, &r), 0);
	CU_ASSERT_EQUAL(r, 10);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + d, 12, back), 0);
	CU_ASSERT(memcmp(back, data + 1000, 10) == 0 && memcmp(back + 10, data + 10, 2) == 0);
	CU_ASSERT_EQUAL(dev_stats().file_load_bytes, sizeof(data) + 10);
	/* Refusals */
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_LOAD, "../in.bin", d, 0, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_LOAD, "none", d, 0, 0, NULL), -ENOENT);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_LOAD, "in.bin", 8 * MiB - 10, 0, 0, NULL),
			-EFAULT);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_LOAD, "in.bin", d, sizeof(data) + 1, 0, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_SAVE, "out.bin", d, 16, 0, NULL), -EROFS);
	env_close();

	g_file_save = true;
	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	CU_ASSERT_FATAL(queue_setup(16, 16));
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, sizeof(data), 0, 0, &d), 0);
	mem_write(BAR2_ADDR + d, data, sizeof(data));
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_SAVE, "out.bin", d, sizeof(data), 0, &r), 0);
	CU_ASSERT_EQUAL(r, sizeof(data));
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(read(fd, back, sizeof(back)) == (ssize_t)sizeof(back));
	close(fd);
	CU_ASSERT(memcmp(back, data, sizeof(data)) == 0);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_SAVE, "out.bin", d, 8, 0, NULL), -EEXIST);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_SAVE, "out.bin", d, 8, RPCI_VGPU_FILE_REPLACE,
				 NULL), 0);
	CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_SIZE, "out.bin", 0, 0, 0, &r), 0);
	CU_ASSERT_EQUAL(r, 8);
	CU_ASSERT_EQUAL(dev_stats().file_save_bytes, sizeof(data) + 8);
out:
	env_close();
	close(g_file_dir_fd);
	g_file_dir_fd = 0;
	g_file_save = false;
	/* Without a directory: not supported */
	if (env_open(8 * MiB)) {
		bringup();
		if (queue_setup(16, 16)) {
			CU_ASSERT_EQUAL(file_cmd(RPCI_VGPU_OP_FILE_SIZE, "in.bin", 0, 0, 0, NULL),
					-ENOTSUP);
		}
	}
	env_close();
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CU_ASSERT(system(path) == 0);
}

/* ---------------------------------------------- what an OpenCL runtime needs */

/* FILL of len bytes at addr with a pattern (inline); its status. */
static int32_t
fill_cmd(uint64_t addr, uint64_t len, const void *pattern, uint16_t psize)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	cmd_init(&c, RPCI_VGPU_OP_FILL, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = addr;
	c.args[1] = len;
	if (psize > 0) {
		cmd_inline(&c, pattern, psize);
	}
	return cmd_run(&c, &e) < 0 ? INT32_MIN : e.status;
}

/* RECT in direction dir (rectangle inline, packed host rows at host); its status. */
static int32_t
rect_cmd(uint32_t dir, const struct rpci_vgpu_rect *r, uint64_t host, uint32_t host_len)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	cmd_init(&c, RPCI_VGPU_OP_RECT, RPCI_VGPU_CMD_F_IRQ);
	c.args[0] = dir;
	c.host_addr = host;
	c.host_len = host_len;
	cmd_inline(&c, r, sizeof(*r));
	return cmd_run(&c, &e) < 0 ? INT32_MIN : e.status;
}

/* A command with a report at rep (args as simple_cmd); its completion's status. */
static int32_t
reported_cmd(uint8_t opcode, uint64_t a0, uint64_t rep, struct rpci_vgpu_report *out)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	memset(host_ptr(rep), 0xee, sizeof(*out));
	cmd_init(&c, opcode, RPCI_VGPU_CMD_F_IRQ | RPCI_VGPU_CMD_F_REPORT);
	c.args[0] = a0;
	c.args[4] = rep;
	if (cmd_run(&c, &e) < 0) {
		return INT32_MIN;
	}
	memcpy(out, host_ptr(rep), sizeof(*out));
	return e.status;
}

/* A launch with its parameter block inline; its status. */
static int32_t
launch_block(uint64_t fn, const uint8_t *block, uint16_t len)
{
	struct rpci_vgpu_cmd c;
	struct rpci_vgpu_cpl e;

	launch_init(&c, fn, RPCI_VGPU_CMD_F_IRQ);
	cmd_inline(&c, block, len);
	return cmd_run(&c, &e) < 0 ? INT32_MIN : e.status;
}

/*
 * The device's 1.1 interface, on the cpu backend (which has no API of its
 * own): the clock, reports, COPY, FILL, RECT, INFO, launch parameters with
 * an NDRange or values of any size, build options. Each result is checked
 * against the same operation done here on a copy of device memory.
 */
static void
test_cmd_opencl_client(void)
{
	const uint64_t rep = HOST_BASE + HOST_AUX + 0x800, log = HOST_BASE + HOST_AUX;
	const uint64_t hd = HOST_BASE + HOST_DATA;
	const uint8_t pat4[4] = { 1, 2, 3, 4 }, same[4] = { 7, 7, 7, 7 };
	const uint32_t len = 8192;
	uint8_t *dev = malloc(len), *ref = malloc(len), block[256];
	struct rpci_vgpu_report r;
	struct rpci_vgpu_rect rect;
	struct rpci_vgpu_stats st0;
	uint64_t a = 0, m = 0, f = 0, c1, c2, x, y, z, k;
	uint32_t i, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	if (!env_open(8 * MiB)) {
		goto out;
	}
	bringup();
	if (!queue_setup(16, 32)) {
		goto out;
	}
	/* the cpu backend speaks no API: no info block; the clock runs */
	CU_ASSERT_EQUAL(reg_rd32(RPCI_VGPU_REG_INFO_LEN), 0);
	c1 = reg_rd64(RPCI_VGPU_REG_CLOCK);
	c2 = reg_rd64(RPCI_VGPU_REG_CLOCK);
	CU_ASSERT(c1 > 0 && c2 > c1);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_ALLOC, len, 0, 0, &a), 0);
	for (i = 0; i < len; i++) {
		ref[i] = (uint8_t)(i * 7 + 1);
	}
	mem_write(BAR2_ADDR + a, ref, len);

	/* FILL: a 4-byte pattern, one byte repeated, and what is refused */
	CU_ASSERT_EQUAL(fill_cmd(a + 8, 1000, pat4, 4), 0);
	for (i = 0; i < 1000; i++) {
		ref[8 + i] = pat4[i % 4];
	}
	CU_ASSERT_EQUAL(fill_cmd(a + 2000, 400, same, 4), 0);
	memset(ref + 2000, 7, 400);
	CU_ASSERT_EQUAL(fill_cmd(a, 10, pat4, 3), -EINVAL);
	CU_ASSERT_EQUAL(fill_cmd(a, 8, pat4, 0), -EINVAL);
	CU_ASSERT_EQUAL(fill_cmd(8 * MiB - 4, 8, pat4, 4), -EFAULT);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, len, dev), 0);
	CU_ASSERT_EQUAL(memcmp(dev, ref, len), 0);

	/* COPY: overlapping, both ways (memmove), and out of memory */
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_COPY, a + 100, a + 50, 300, NULL), 0);
	memmove(ref + 100, ref + 50, 300);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_COPY, a + 3000, a + 3100, 1000, NULL), 0);
	memmove(ref + 3000, ref + 3100, 1000);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_COPY, a, 8 * MiB - 10, 20, NULL), -EFAULT);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, len, dev), 0);
	CU_ASSERT_EQUAL(memcmp(dev, ref, len), 0);

	/* RECT: packed host rows into a rectangle, back out, and within the device */
	memset(&rect, 0, sizeof(rect));
	rect.dst = a + 5000;
	rect.region[0] = 5;
	rect.region[1] = 4;
	rect.region[2] = 2;
	rect.dst_row_pitch = 16;
	rect.dst_slice_pitch = 128;
	for (i = 0; i < 40; i++) {
		host_ptr(hd)[i] = (uint8_t)(200 + i);
	}
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_H2D, &rect, hd, 40), 0);
	for (z = 0, k = 0; z < 2; z++) {
		for (y = 0; y < 4; y++) {
			for (x = 0; x < 5; x++, k++) {
				ref[5000 + z * 128 + y * 16 + x] = (uint8_t)(200 + k);
			}
		}
	}
	rect.src = a + 5000;
	rect.src_row_pitch = 16;
	rect.src_slice_pitch = 128;
	memset(host_ptr(hd + 4096), 0, 40);
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_D2H, &rect, hd + 4096, 40), 0);
	CU_ASSERT_EQUAL(memcmp(host_ptr(hd + 4096), host_ptr(hd), 40), 0);
	rect.dst = a + 6000;
	rect.dst_row_pitch = 8;
	rect.dst_slice_pitch = 40;
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_D2D, &rect, 0, 0), 0);
	for (z = 0; z < 2; z++) {
		for (y = 0; y < 4; y++) {
			memcpy(ref + 6000 + z * 40 + y * 8, ref + 5000 + z * 128 + y * 16, 5);
		}
	}
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, len, dev), 0);
	CU_ASSERT_EQUAL(memcmp(dev, ref, len), 0);
	rect.region[2] = 0;
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_D2D, &rect, 0, 0), 0); /* nothing to move */
	rect.region[2] = 2;
	rect.dst = 8 * MiB - 60; /* its last row ends 9 bytes past memory */
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_D2D, &rect, 0, 0), -EFAULT);
	rect.dst_slice_pitch = UINT64_MAX / 2;
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_D2D, &rect, 0, 0), -EFAULT); /* wraps */
	rect.dst = a;
	rect.dst_slice_pitch = 40;
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_H2D, &rect, hd, 39), -EFAULT);
	CU_ASSERT_EQUAL(rect_cmd(RPCI_VGPU_RECT_H2D, &rect, HOST_BASE + HOST_NOWIN, 40), -EFAULT);
	CU_ASSERT_EQUAL(rect_cmd(9, &rect, hd, 40), -EINVAL);
	CU_ASSERT_EQUAL(mem_read(BAR2_ADDR + a, len, dev), 0);
	CU_ASSERT_EQUAL(memcmp(dev, ref, len), 0);

	/* reports: written before the completion, with the device's times */
	CU_ASSERT_EQUAL(reported_cmd(RPCI_VGPU_OP_NOP, 0, rep, &r), 0);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT(r.start_ns >= c2 && r.end_ns >= r.start_ns);
	CU_ASSERT_EQUAL(reported_cmd(RPCI_VGPU_OP_ALLOC, 1ull << 40, rep, &r), -ENOMEM);
	CU_ASSERT_EQUAL(r.status, -ENOMEM);
	CU_ASSERT_EQUAL(r.api_status, 0); /* the cpu backend has no API code */
	CU_ASSERT_EQUAL(reported_cmd(RPCI_VGPU_OP_ALLOC, 256, rep, &r), 0);
	CU_ASSERT(r.result != 0);
	st0 = dev_stats();
	CU_ASSERT_EQUAL(reported_cmd(RPCI_VGPU_OP_NOP, 0, HOST_BASE + HOST_NOWIN, &r), 0);
	CU_ASSERT_EQUAL(dev_stats().dma_refused - st0.dma_refused, 1); /* no report there */

	/* INFO: the cpu backend says nothing; unknown objects */
	CU_ASSERT_EQUAL(module_load(RPCI_GPU_MODULE_BUILTIN, NULL, log, 256, &m), 0);
	CU_ASSERT_EQUAL(simple_cmd(RPCI_VGPU_OP_INFO, RPCI_VGPU_INFO_MODULE, m, 0, NULL), -ENOTSUP);
	{
		struct rpci_vgpu_cmd c;
		struct rpci_vgpu_cpl e;

		cmd_init(&c, RPCI_VGPU_OP_INFO, RPCI_VGPU_CMD_F_IRQ);
		c.args[0] = RPCI_VGPU_INFO_MODULE;
		c.args[1] = m;
		c.host_addr = hd;
		c.host_len = 256;
		CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
		CU_ASSERT_EQUAL(e.status, -ENOTSUP);
		c.args[1] = 60;
		CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
		CU_ASSERT_EQUAL(e.status, -ENOENT);
		c.args[0] = 9;
		CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
		CU_ASSERT_EQUAL(e.status, -ENOENT);
	}

	/* build options and binaries: the cpu backend takes neither */
	{
		struct rpci_vgpu_cmd c;
		struct rpci_vgpu_cpl e;

		cmd_init(&c, RPCI_VGPU_OP_MODULE_LOAD, RPCI_VGPU_CMD_F_IRQ);
		c.args[0] = RPCI_GPU_MODULE_OPENCL;
		c.args[1] = log;
		c.args[2] = 256;
		c.args[3] = 4;
		cmd_inline(&c, "-DXkernel", 10);
		CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
		CU_ASSERT_EQUAL(e.status, -ENOTSUP);
		CU_ASSERT_STRING_EQUAL((const char *)host_ptr(log),
				       "the cpu backend takes no build options or binaries");
		c.args[3] = 11; /* longer than the data */
		CU_ASSERT_EQUAL(cmd_run(&c, &e), 0);
		CU_ASSERT_EQUAL(e.status, -EINVAL);
	}

	/* launch parameters: an NDRange (the cpu backend refuses it), bad blocks */
	CU_ASSERT_EQUAL(function_get(m, "empty", &f), 0);
	memset(block, 0, sizeof(block));
	n = 0;
	i = RPCI_VGPU_PARAMS_F_NDRANGE;
	memcpy(block, &n, 4);
	memcpy(block + 4, &i, 4);
	i = 1; /* one dimension */
	memcpy(block + 8, &i, 4);
	CU_ASSERT_EQUAL(launch_block(f, block, 8 + sizeof(struct rpci_vgpu_ndrange)), -ENOTSUP);
	CU_ASSERT_EQUAL(launch_block(f, block, 8 + 40), -EINVAL); /* cut short */
	i = 4; /* four dimensions */
	memcpy(block + 8, &i, 4);
	CU_ASSERT_EQUAL(launch_block(f, block, 8 + sizeof(struct rpci_vgpu_ndrange)), -EINVAL);
	i = 0x80; /* a flag nobody knows */
	memcpy(block + 4, &i, 4);
	CU_ASSERT_EQUAL(launch_block(f, block, 8), -EINVAL);
	/* a value whose bytes lie outside the block */
	memset(block, 0, sizeof(block));
	n = 1;
	memcpy(block, &n, 4);
	block[8] = RPCI_VGPU_ARG_BYVAL;
	block[10] = 16;
	block[16] = 30; /* at offset 30, 16 bytes: past the 40 of the block */
	CU_ASSERT_EQUAL(launch_block(f, block, 40), -EINVAL);
	block[16] = 24; /* inside: the cpu backend refuses the argument itself */
	CU_ASSERT_EQUAL(launch_block(f, block, 40), -EINVAL);
out:
	env_close();
	free(dev);
	free(ref);
}

/* The same decode, copies, kernels and isolation on memory without a host address. */
static void
test_not_host_addressable(void)
{
	g_hide_mem_base = true;
	test_memory_decode();
	test_cmd_memset_copy_d2h();
	test_cmd_copy_h2d();
	test_cmd_launch();
	test_cmd_opencl_client();
	test_isolation();
	g_hide_mem_base = false;
}

int
main(int argc, char **argv)
{
	char *eal_args[] = {
		argv[0], "--no-huge", "-m", "256", "--no-pci", "--file-prefix", "rpci-test-vgpu",
		"-l", "0", "--log-level", "rpci.*:warning", NULL,
	};
	CU_pSuite suite;
	unsigned int n;
	int ret;

	RTE_SET_USED(argc);
	ret = rte_eal_init((int)RTE_DIM(eal_args) - 1, eal_args);
	if (ret < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	ret = fabric_create();
	if (ret < 0) {
		fprintf(stderr, "cannot build the fabric: %s\n", strerror(-ret));
		fabric_free();
		rte_eal_cleanup();
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fabric_free();
		rte_eal_cleanup();
		return 1;
	}
	suite = CU_add_suite("vgpu", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		fabric_free();
		rte_eal_cleanup();
		return 1;
	}
	CU_ADD_TEST(suite, test_harness_guard);
	CU_ADD_TEST(suite, test_config_space);
	CU_ADD_TEST(suite, test_memory_decode);
	CU_ADD_TEST(suite, test_queue_bringup);
	CU_ADD_TEST(suite, test_cmd_nop_fence_irq);
	CU_ADD_TEST(suite, test_cmd_alloc_free);
	CU_ADD_TEST(suite, test_cmd_memset_copy_d2h);
	CU_ADD_TEST(suite, test_cmd_copy_h2d);
	CU_ADD_TEST(suite, test_cmd_module_function);
	CU_ADD_TEST(suite, test_cmd_launch);
	CU_ADD_TEST(suite, test_cmd_opencl_client);
	CU_ADD_TEST(suite, test_bar2_read_during_kernel);
	CU_ADD_TEST(suite, test_cq_full_waits);
	CU_ADD_TEST(suite, test_sq_wrap);
	CU_ADD_TEST(suite, test_isolation);
	CU_ADD_TEST(suite, test_not_host_addressable);
	CU_ADD_TEST(suite, test_no_dma_outside_windows);
	CU_ADD_TEST(suite, test_flr);
	CU_ADD_TEST(suite, test_personality_reset);
	CU_ADD_TEST(suite, test_file_names);
	CU_ADD_TEST(suite, test_files);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	fabric_free();
	rte_eal_cleanup();
	return n ? 1 : 0;
}
