/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the client daemon's core (lib/proxy) and the client driver
 * on top of it (lib/client), in one process.
 *
 * Two net_ring ports joined back to back carry the fabric. One is the
 * proxy core's: rpci_proxy_create() brings it up from a deployment loaded
 * with rpci_conf_load_string(), whose client host "client0" names that
 * ring port as its port (the file is written at start with the ports'
 * ids). The other is server0's, its port and link made from the same file
 * by rpci_link_create_for_host() as rpci-server makes them, and served as
 * app/server serves sessions by a thread of the test: the open callback binds one of
 * two rpci_vgpu devices (cpu backend) to the session, a port that opens a
 * function again drops its old session, a device being cleared answers
 * -EAGAIN, and the thread polls the link and the devices until the end.
 *
 * Most programs are clients of rpci_proxy_client_create() (embedded: their
 * waits poll the core, all in the main thread). The last tests listen on
 * the deployment's socket: raw connections in the main thread (malformed
 * HELLOs refused with a reason, a full proxy, programs that never say
 * HELLO), then librpci programs of the socket while a thread runs the
 * core's loop as rpci-proxy does. The driver's internals (struct
 * rpci_client, cl_run_cmd(), cl_post(), the heap) are reached through
 * client_private.h: lib/client's sources are compiled into this test (see
 * test/unit/meson.build). Every wait is bounded (WAIT_MS).
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "client_private.h"
#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_gpu.h"
#include "rpci_link.h"
#include "rpci_proxy.h"
#include "rpci_vgpu.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

#define RING_SIZE 4096
#define NB_DEVS 2
#define DEV_MEM_MB 64
#define COMPLETER_BASE 0x0100
#define SHM_SIZE "64M"          /* each client's shared memory (RPCI_SHM_SIZE) */
#define WAIT_MS 3000            /* bound of every wait for the core or the server */

static const char g_srv_mac[] = "02:72:70:74:00:01";
static const char g_cli_mac[] = "02:72:70:74:00:02";

/*
 * The deployment: ports, the proxy's socket and the key directory filled in
 * at start (keys made for the run: every session authenticated).
 */
static const char g_conf_fmt[] =
	"auth = { mode = \"keys\"; dir = \"%s\"; };\n"
	"link = {\n"
	"    mtu = 1500; max_payload = 0; replay_frames = 512; retransmit_us = 2000;\n"
	"    retransmit_max = 12; keepalive_ms = 100; dead_ms = 5000;\n"
	"    request_timeout_ms = 3000; burst = 32; mbufs = 4095; sleep_max_us = 100;\n"
	"    spin_polls = 200; copy_threshold = 256; crc_payload = true;\n"
	"};\n"
	"hosts = (\n"
	"  { name = \"server0\"; roles = [ \"server\" ]; mac = \"%s\"; port = %u;\n"
	"    eal = { lcores = \"0\"; };\n"
	"    devices = (\n"
	"      { name = \"vgpu0\"; backend = \"cpu\"; memory_mb = %u; vendor_id = 0x7270;\n"
	"        device_id = 0x0011; subsystem_vendor_id = 0x7270; subsystem_id = 0x0021;\n"
	"        class_code = 0x030200; revision = 1; threads = 1; slowdown = 1.0; },\n"
	"      { name = \"vgpu1\"; backend = \"cpu\"; memory_mb = %u; vendor_id = 0x7270;\n"
	"        device_id = 0x0012; subsystem_vendor_id = 0x7270; subsystem_id = 0x0022;\n"
	"        class_code = 0x030200; revision = 2; threads = 1; slowdown = 1.0; }\n"
	"    );\n"
	"  },\n"
	"  { name = \"client0\"; roles = [ \"client\" ]; mac = \"%s\"; port = %u;\n"
	"    eal = { lcores = \"0\"; };\n"
	"    server = \"server0\"; device = \"vgpu0\";\n"
	"    proxy = { socket = \"%s\"; mode = \"0600\"; max_programs = 8; };\n"
	"  }\n"
	");\n";

static char g_key_dir[64];

/* The run's keys, and their directory. */
static void
key_dir_remove(void)
{
	static const char *const names[] = { "server0.key", "server0.pub", "client0.key",
					     "client0.pub" };
	char path[128];
	unsigned int i;

	for (i = 0; i < RTE_DIM(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", g_key_dir, names[i]);
		unlink(path);
	}
	rmdir(g_key_dir);
}

/* The server thread's side: a device per function, bound to the session that opens it. */
struct srv_dev {
	struct rpci_gpu *gpu;
	struct rpci_vgpu *vgpu;
	uint16_t requester_id;     /* of its last session */
};

struct server {
	struct rpci_link *link;
	struct srv_dev dev[NB_DEVS];
	pthread_t thread;
	bool running;
	uint32_t stop;             /* atomic: the thread ends */
	uint64_t opens;            /* atomic: sessions bound */
	uint64_t downs;            /* atomic: sessions ended (closed or dead) */
	uint64_t reopened;         /* atomic: old sessions dropped by a reopen */
};

static struct server g_srv;
static struct rpci_conf *g_conf;
static struct rpci_proxy *g_core;
static struct rte_ring *g_ring_p2s;
static struct rte_ring *g_ring_s2p;
static uint16_t g_port_p;
static uint16_t g_port_s;
static char g_sock_dir[64];
static char g_sock_path[108]; /* sun_path */

/* ------------------------------------------------------------ the server */

static int
srv_open(struct rpci_link_session *s, const struct rpci_link_open_msg *req,
	 struct rpci_link_open_msg *ack, void *arg)
{
	struct srv_dev *d;
	struct rpci_link_session *old;
	int ret;

	RTE_SET_USED(arg);
	if (req->function >= NB_DEVS) {
		snprintf(ack->reason, sizeof(ack->reason), "no device %u", req->function);
		return -ENODEV;
	}
	d = &g_srv.dev[req->function];
	old = rpci_vgpu_session(d->vgpu);
	if (old != NULL) {
		if (!rte_is_same_ether_addr(rpci_link_session_peer(old),
					    rpci_link_session_peer(s))) {
			snprintf(ack->reason, sizeof(ack->reason), "attached to another client");
			return -EBUSY;
		}
		/* as rpci-server: the same port opens again, its old program is gone */
		rpci_vgpu_unbind(d->vgpu);
		rpci_link_session_set_priv(old, NULL);
		rpci_link_session_free(old);
		__atomic_fetch_add(&g_srv.reopened, 1, __ATOMIC_RELAXED);
	}
	if (rpci_vgpu_resetting(d->vgpu)) {
		snprintf(ack->reason, sizeof(ack->reason), "being cleared");
		return -EAGAIN;
	}
	ret = rpci_vgpu_bind(d->vgpu, s, req->requester_id);
	if (ret < 0) {
		snprintf(ack->reason, sizeof(ack->reason), "cannot attach");
		return ret;
	}
	rpci_link_session_set_priv(s, d);
	ack->completer_id = (uint16_t)(COMPLETER_BASE + req->function);
	__atomic_store_n(&d->requester_id, req->requester_id, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g_srv.opens, 1, __ATOMIC_RELAXED);
	return 0;
}

static int
srv_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	struct srv_dev *d = rpci_link_session_priv(s);

	RTE_SET_USED(arg);
	if (d == NULL) {
		return -ENOTCONN;
	}
	return rpci_vgpu_rx(d->vgpu, msg);
}

static void
srv_down(struct rpci_link_session *s, enum rpci_link_state state, void *arg)
{
	struct srv_dev *d = rpci_link_session_priv(s);

	RTE_SET_USED(state);
	RTE_SET_USED(arg);
	if (d != NULL) {
		rpci_vgpu_unbind(d->vgpu);
		__atomic_fetch_add(&g_srv.downs, 1, __ATOMIC_RELAXED);
	}
	rpci_link_session_set_priv(s, NULL);
	rpci_link_session_free(s);
}

static const struct rpci_link_ops g_srv_ops = {
	.rx_msg = srv_rx_msg,
	.open = srv_open,
	.down = srv_down,
};

static void *
srv_main(void *arg)
{
	uint32_t idle = 0, i;
	int work;

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&g_srv.stop, __ATOMIC_ACQUIRE)) {
		work = rpci_link_poll(g_srv.link);
		for (i = 0; i < NB_DEVS; i++) {
			work += rpci_vgpu_poll(g_srv.dev[i].vgpu);
		}
		if (work > 0) {
			idle = 0;
		} else if (++idle > 256) {
			/* the machine has two cores: leave one to the core under test */
			usleep(20);
		}
	}
	return NULL;
}

static int
srv_create(void)
{
	const struct rpci_conf_host *h = rpci_conf_host_find(g_conf, "server0");
	char err[256];
	uint32_t i;

	if (h == NULL || h->nb_devices != NB_DEVS) {
		return -EINVAL;
	}
	for (i = 0; i < NB_DEVS; i++) {
		const struct rpci_conf_device *cd = &h->devices[i];
		struct rpci_gpu_params gp = {
			.memory_bytes = cd->memory_bytes,
			.threads = 1,
			.slowdown = 1.0,
		};
		struct rpci_vgpu_params vp = {
			.name = cd->name,
			.personality = {
				.vendor_id = cd->vendor_id,
				.device_id = cd->device_id,
				.subsystem_vendor_id = cd->subsystem_vendor_id,
				.subsystem_id = cd->subsystem_id,
				.class_code = cd->class_code,
				.revision = cd->revision,
			},
			.completer_id = (uint16_t)(COMPLETER_BASE + i),
			.request_timeout_ms = g_conf->link.request_timeout_ms,
		};

		g_srv.dev[i].gpu = rpci_gpu_create("cpu", &gp);
		if (g_srv.dev[i].gpu == NULL) {
			return -ENOMEM;
		}
		vp.gpu = g_srv.dev[i].gpu;
		g_srv.dev[i].vgpu = rpci_vgpu_create(&vp);
		if (g_srv.dev[i].vgpu == NULL) {
			return -ENOMEM;
		}
	}
	/* its port, pools and link, as rpci-server makes them from the file */
	g_srv.link = rpci_link_create_for_host(g_conf, h, &g_srv_ops, NULL, 0, NULL, err,
					       sizeof(err));
	if (g_srv.link == NULL) {
		printf("server link: %s\n", err);
		return -rte_errno;
	}
	if (pthread_create(&g_srv.thread, NULL, srv_main, NULL) != 0) {
		return -EAGAIN;
	}
	g_srv.running = true;
	return 0;
}

static void
srv_free(void)
{
	uint32_t i;

	if (g_srv.running) {
		__atomic_store_n(&g_srv.stop, 1, __ATOMIC_RELEASE);
		pthread_join(g_srv.thread, NULL);
		g_srv.running = false;
	}
	/* (its port and pools go with it) */
	rpci_link_free(g_srv.link);
	for (i = 0; i < NB_DEVS; i++) {
		if (g_srv.dev[i].vgpu != NULL) {
			rpci_vgpu_unbind(g_srv.dev[i].vgpu);
		}
		rpci_vgpu_free(g_srv.dev[i].vgpu);
		rpci_gpu_destroy(g_srv.dev[i].gpu);
	}
}

/* ------------------------------------------------------------- helpers */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct rpci_proxy_stats
stats(void)
{
	struct rpci_proxy_stats st;

	rpci_proxy_stats_get(g_core, &st);
	return st;
}

static unsigned int
nb_apps(void)
{
	struct rpci_proxy_app_info info[8];

	return rpci_proxy_apps(g_core, info, RTE_DIM(info));
}

static unsigned int
nb_devices(void)
{
	struct rpci_proxy_dev_info info[8];

	return rpci_proxy_devices(g_core, info, RTE_DIM(info));
}

/* Poll the core (no program waits now) until cond holds or WAIT_MS passed. */
#define POLL_UNTIL(cond) __extension__ ({ \
	uint64_t end_ = now_ms() + WAIT_MS; \
	while (!(cond) && now_ms() < end_) { \
		rpci_proxy_poll(g_core); \
		rte_pause(); \
	} \
	(cond); })

/* A recognisable byte pattern of a seed. */
static void
fill(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static struct rpci_client *
client(const char *name)
{
	struct rpci_client *c = rpci_proxy_client_create(g_core, name);

	CU_ASSERT_PTR_NOT_NULL(c);
	return c;
}

/* Copy len bytes of src to device memory at dptr and back into dst; compare. */
static bool
round_trip(struct rpci_device *dev, uint64_t dptr, const uint8_t *src, uint8_t *dst, size_t len)
{
	int ret;

	ret = rpci_memcpy_htod(dev, dptr, src, len);
	CU_ASSERT_EQUAL(ret, 0);
	if (ret != 0) {
		printf("htod of %zu bytes: %s\n", len, rpci_last_error());
		return false;
	}
	memset(dst, 0xee, len);
	ret = rpci_memcpy_dtoh(dev, dst, dptr, len);
	CU_ASSERT_EQUAL(ret, 0);
	if (ret != 0) {
		printf("dtoh of %zu bytes: %s\n", len, rpci_last_error());
		return false;
	}
	return memcmp(dst, src, len) == 0;
}

/* A quick check that a device works: a few KiB there and back. */
static bool
device_works(struct rpci_device *dev, uint32_t seed)
{
	uint8_t src[5000], dst[5000];
	uint64_t dptr;
	bool ok;

	if (rpci_mem_alloc(dev, sizeof(src), &dptr) != 0) {
		return false;
	}
	fill(src, sizeof(src), seed);
	ok = round_trip(dev, dptr, src, dst, sizeof(src));
	CU_ASSERT_EQUAL(rpci_mem_free(dev, dptr), 0);
	return ok;
}

/* Run built-in kernel name over n items, 256 a block, and wait for it. */
static void
run_builtin(struct rpci_device *dev, const char *name, uint64_t n,
	    const struct rpci_kernel_arg *args, unsigned int nb_args)
{
	uint32_t grid[3] = { (uint32_t)((n + 255) / 256), 1, 1 };
	uint32_t block[3] = { 256, 1, 1 };
	struct rpci_module *mod = NULL;
	struct rpci_function *fn = NULL;

	CU_ASSERT_EQUAL_FATAL(rpci_module_load(dev, RPCI_MODULE_BUILTIN, NULL, 0, &mod, NULL, 0),
			      0);
	CU_ASSERT_EQUAL_FATAL(rpci_function_get(mod, name, &fn), 0);
	CU_ASSERT_EQUAL(rpci_launch(fn, grid, block, args, nb_args), 0);
	CU_ASSERT_EQUAL(rpci_synchronize(dev), 0);
	CU_ASSERT_EQUAL(rpci_module_unload(mod), 0);
}

/* vector-add of n integer-valued floats: c = a + b, checked exactly. */
static bool
run_vector_add(struct rpci_device *dev, uint64_t n, float *a, float *b, float *c)
{
	uint64_t da, db, dc, i;
	bool ok = true;

	for (i = 0; i < n; i++) {
		a[i] = (float)(i % 1000);
		b[i] = (float)(2 * (i % 777)) - 500.0f;
		c[i] = -1.0f;
	}
	if (rpci_mem_alloc(dev, n * 4, &da) != 0 || rpci_mem_alloc(dev, n * 4, &db) != 0 ||
	    rpci_mem_alloc(dev, n * 4, &dc) != 0) {
		CU_FAIL("device memory");
		return false;
	}
	CU_ASSERT_EQUAL(rpci_memcpy_htod(dev, da, a, n * 4), 0);
	CU_ASSERT_EQUAL(rpci_memcpy_htod(dev, db, b, n * 4), 0);
	{
		struct rpci_kernel_arg args[] = { rpci_arg_ptr(da), rpci_arg_ptr(db),
						  rpci_arg_ptr(dc), rpci_arg_u64(n) };

		run_builtin(dev, "vector-add", n, args, RTE_DIM(args));
	}
	CU_ASSERT_EQUAL(rpci_memcpy_dtoh(dev, c, dc, n * 4), 0);
	for (i = 0; i < n && ok; i++) {
		ok = c[i] == a[i] + b[i];
	}
	CU_ASSERT_EQUAL(rpci_mem_free(dev, da), 0);
	CU_ASSERT_EQUAL(rpci_mem_free(dev, db), 0);
	CU_ASSERT_EQUAL(rpci_mem_free(dev, dc), 0);
	return ok;
}

/* saxpy of n floats that stay exact: y = alpha x + y. */
static bool
run_saxpy(struct rpci_device *dev, uint64_t n, float alpha, float *x, float *y)
{
	uint64_t dx, dy, i;
	bool ok = true;

	for (i = 0; i < n; i++) {
		x[i] = (float)(i % 100);
		y[i] = (float)(i % 50) - 25.0f;
	}
	if (rpci_mem_alloc(dev, n * 4, &dx) != 0 || rpci_mem_alloc(dev, n * 4, &dy) != 0) {
		CU_FAIL("device memory");
		return false;
	}
	CU_ASSERT_EQUAL(rpci_memcpy_htod(dev, dx, x, n * 4), 0);
	CU_ASSERT_EQUAL(rpci_memcpy_htod(dev, dy, y, n * 4), 0);
	{
		struct rpci_kernel_arg args[] = { rpci_arg_f32(alpha), rpci_arg_ptr(dx),
						  rpci_arg_ptr(dy), rpci_arg_u64(n) };

		run_builtin(dev, "saxpy", n, args, RTE_DIM(args));
	}
	CU_ASSERT_EQUAL(rpci_memcpy_dtoh(dev, y, dy, n * 4), 0);
	for (i = 0; i < n && ok; i++) {
		ok = y[i] == alpha * (float)(i % 100) + ((float)(i % 50) - 25.0f);
	}
	CU_ASSERT_EQUAL(rpci_mem_free(dev, dx), 0);
	CU_ASSERT_EQUAL(rpci_mem_free(dev, dy), 0);
	return ok;
}

/* ================================================================ tests */

static void
test_open_close(void)
{
	const struct rpci_conf_device *cd = &rpci_conf_host_find(g_conf, "server0")->devices[0];
	struct rpci_proxy_stats s0 = stats(), s1;
	struct rpci_proxy_app_info app;
	struct rpci_proxy_dev_info di;
	struct rpci_device_info info;
	struct rpci_client *c;
	struct rpci_device *dev;
	uint64_t downs = __atomic_load_n(&g_srv.downs, __ATOMIC_RELAXED);

	c = client("t-open");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(nb_apps(), 1);
	CU_ASSERT_EQUAL(rpci_proxy_apps(g_core, &app, 1), 1);
	CU_ASSERT_STRING_EQUAL(app.name, "t-open");
	CU_ASSERT_EQUAL(app.pid, 0); /* embedded */
	CU_ASSERT_EQUAL(app.devices, 0);
	/* the device the host's entry names */
	dev = rpci_device_open(c, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	CU_ASSERT_EQUAL(rpci_device_info(dev, &info), 0);
	CU_ASSERT_EQUAL(info.vendor_id, cd->vendor_id);
	CU_ASSERT_EQUAL(info.device_id, cd->device_id);
	CU_ASSERT_EQUAL(info.subsystem_id, cd->subsystem_id);
	CU_ASSERT_EQUAL(info.class_code, cd->class_code);
	CU_ASSERT_EQUAL(info.revision, cd->revision);
	CU_ASSERT_EQUAL(info.memory_bytes, (uint64_t)DEV_MEM_MB * MiB);
	CU_ASSERT_STRING_EQUAL(info.backend, "cpu");
	CU_ASSERT_STRING_EQUAL(info.server, "server0");
	CU_ASSERT_EQUAL(info.completer_id, COMPLETER_BASE);
	/* the core's view: one program, one device, its identity read at attach */
	CU_ASSERT_EQUAL(rpci_proxy_devices(g_core, &di, 1), 1);
	CU_ASSERT_STRING_EQUAL(di.state, "open");
	CU_ASSERT_STRING_EQUAL(di.server, "server0");
	CU_ASSERT_STRING_EQUAL(di.device, "vgpu0");
	CU_ASSERT_EQUAL(di.completer_id, COMPLETER_BASE);
	CU_ASSERT_EQUAL(di.vendor_device, (uint32_t)cd->device_id << 16 | cd->vendor_id);
	CU_ASSERT_EQUAL(di.class_rev, cd->class_code << 8 | cd->revision);
	CU_ASSERT_EQUAL(rpci_proxy_apps(g_core, &app, 1), 1);
	CU_ASSERT_EQUAL(app.devices, 1);
	CU_ASSERT_EQUAL(__atomic_load_n(&g_srv.dev[0].requester_id, __ATOMIC_RELAXED),
			app.requester_id);
	s1 = stats();
	CU_ASSERT_EQUAL(s1.sessions_opened, s0.sessions_opened + 1);
	CU_ASSERT_EQUAL(s1.programs, s0.programs + 1);
	CU_ASSERT(s1.requests > s0.requests);
	CU_ASSERT_EQUAL(s1.program_violations, s0.program_violations);
	/* closed in order: the server saw its session end */
	CU_ASSERT_EQUAL(rpci_device_close(dev), 0);
	CU_ASSERT_EQUAL(nb_devices(), 0);
	CU_ASSERT(POLL_UNTIL(__atomic_load_n(&g_srv.downs, __ATOMIC_RELAXED) == downs + 1));
	rpci_client_destroy(c);
	CU_ASSERT_EQUAL(nb_apps(), 0);
}

/* Device memory at dptr into dst (guard bytes more): len bytes as src, not one more. */
static void
copy_back(struct rpci_device *dev, uint64_t dptr, const uint8_t *src, uint8_t *dst, size_t len,
	  size_t guard)
{
	memset(dst, 0xee, len + guard);
	CU_ASSERT_EQUAL(rpci_memcpy_dtoh(dev, dst, dptr, len), 0);
	if (memcmp(dst, src, len) != 0) {
		printf("\n%zu bytes copied back differ\n", len);
		CU_FAIL("copy differs");
	}
	CU_ASSERT_EQUAL(dst[len], 0xee);
	CU_ASSERT_EQUAL(dst[len + guard - 1], 0xee);
}

/* Copies of sizes below and above a staging half, not multiples of 4. */
static void
test_copies(void)
{
	static const size_t sizes[] = { 3, 1001, CL_STAGE_HALF - 3, CL_STAGE_HALF + 5,
					2 * CL_STAGE_HALF + MiB + 3 };
	const size_t max = 2 * CL_STAGE_HALF + MiB + 3, guard = 64;
	struct rpci_proxy_stats s0 = stats(), s1;
	uint8_t *src_m, *dst_m, *src_h, *dst_h, *srcs[2], *dsts[2];
	struct rpci_client *c;
	struct rpci_device *dev;
	uint64_t dptr;
	unsigned int mode, k, s, d;
	uint32_t seed = 1;

	c = client("t-copies");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	dev = rpci_device_open(c, "server0", "vgpu0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	src_m = malloc(max);
	dst_m = malloc(max + guard);
	src_h = rpci_client_host_alloc(c, max);
	dst_h = rpci_client_host_alloc(c, max + guard);
	CU_ASSERT_FATAL(src_m != NULL && dst_m != NULL && src_h != NULL && dst_h != NULL);
	CU_ASSERT_EQUAL_FATAL(rpci_mem_alloc(dev, max + 16, &dptr), 0);
	srcs[0] = src_m;
	srcs[1] = src_h;
	dsts[0] = dst_m;
	dsts[1] = dst_h;
	for (mode = 0; mode < 2; mode++) {
		CU_ASSERT_EQUAL(rpci_device_set_h2d_mode(dev, mode == 0 ? RPCI_H2D_PUSH :
							 RPCI_H2D_PULL), 0);
		for (k = 0; k < RTE_DIM(sizes); k++) {
			/* odd device offsets too: nothing is DW-aligned */
			uint64_t at = dptr + (k % 2) * 3;

			for (s = 0; s < 2; s++) {
				fill(srcs[s], sizes[k], seed++);
				CU_ASSERT_EQUAL(rpci_memcpy_htod(dev, at, srcs[s], sizes[k]), 0);
				for (d = 0; d < 2; d++) {
					copy_back(dev, at, srcs[s], dsts[d], sizes[k], guard);
				}
			}
		}
	}
	s1 = stats();
	/* every frame of the session authenticated (the file has keys), none refused */
	{
		struct rpci_link_stats ls;

		rpci_link_stats_get(g_srv.link, &ls);
		CU_ASSERT(ls.rx_verified > 1000 && ls.tx_sealed > 1000);
		CU_ASSERT(ls.rx_auth_bad_tag == 0 && ls.rx_auth_replay == 0 &&
			  ls.rx_auth_missing == 0 && ls.open_refused == 0);
	}
	CU_ASSERT(s1.bytes_to_devices > s0.bytes_to_devices);   /* push: posted writes */
	CU_ASSERT(s1.dma_reads_served > s0.dma_reads_served);   /* pull: the device reads */
	CU_ASSERT(s1.bytes_from_devices > s0.bytes_from_devices);
	CU_ASSERT_EQUAL(s1.dma_refused, s0.dma_refused);
	CU_ASSERT_EQUAL(rpci_mem_free(dev, dptr), 0);
	rpci_client_host_free(c, src_h);
	rpci_client_host_free(c, dst_h);
	free(src_m);
	free(dst_m);
	CU_ASSERT_EQUAL(rpci_device_close(dev), 0);
	rpci_client_destroy(c);
}

static void
test_kernels(void)
{
	const uint64_t n = 100003; /* not a multiple of the block */
	struct rpci_client *c;
	struct rpci_device *dev;
	float *a, *b, *r;

	c = client("t-kernels");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	dev = rpci_device_open(c, "server0", "vgpu1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	/* ordinary memory, then memory of rpci_client_host_alloc() */
	a = malloc(n * 4);
	b = malloc(n * 4);
	r = malloc(n * 4);
	CU_ASSERT_FATAL(a != NULL && b != NULL && r != NULL);
	CU_ASSERT_TRUE(run_vector_add(dev, n, a, b, r));
	CU_ASSERT_TRUE(run_saxpy(dev, n, 2.5f, a, b));
	free(a);
	free(b);
	free(r);
	a = rpci_client_host_alloc(c, n * 4);
	b = rpci_client_host_alloc(c, n * 4);
	r = rpci_client_host_alloc(c, n * 4);
	CU_ASSERT_FATAL(a != NULL && b != NULL && r != NULL);
	CU_ASSERT_EQUAL(rpci_device_set_h2d_mode(dev, RPCI_H2D_PULL), 0);
	CU_ASSERT_TRUE(run_vector_add(dev, n, a, b, r));
	CU_ASSERT_TRUE(run_saxpy(dev, n, -0.5f, a, b));
	rpci_client_host_free(c, a);
	rpci_client_host_free(c, b);
	rpci_client_host_free(c, r);
	CU_ASSERT_EQUAL(rpci_device_close(dev), 0);
	rpci_client_destroy(c);
}

/* Read a BAR0 register range and say whether the core answered it locally. */
static bool
bar0_read_local(struct rpci_device *dev, uint32_t off, void *buf, uint32_t len)
{
	struct rpci_proxy_stats s0 = stats(), s1;

	CU_ASSERT_EQUAL(rpci_bar_read(dev, 0, off, buf, len), 0);
	s1 = stats();
	CU_ASSERT_EQUAL(s1.mrd_local + s1.mrd_forwarded, s0.mrd_local + s0.mrd_forwarded + 1);
	return s1.mrd_local == s0.mrd_local + 1;
}

/* Read a configuration dword and say whether the core answered it locally. */
static bool
cfg_read_local(struct rpci_device *dev, uint32_t off, uint32_t *v)
{
	struct rpci_proxy_stats s0 = stats(), s1;

	CU_ASSERT_EQUAL(rpci_device_config_read(dev, off, v, 4), 0);
	s1 = stats();
	CU_ASSERT_EQUAL(s1.cfg_local + s1.cfg_forwarded, s0.cfg_local + s0.cfg_forwarded + 1);
	return s1.cfg_local == s0.cfg_local + 1;
}

static void
test_local_answers(void)
{
	const struct rpci_conf_device *cd = &rpci_conf_host_find(g_conf, "server0")->devices[0];
	struct rpci_proxy_stats s0, s1;
	struct rpci_client *c;
	struct rpci_device *dev;
	uint32_t v, id, st, bar0, hdr[16];
	uint64_t mem;
	char name[64];

	c = client("t-local");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	dev = rpci_device_open(c, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	/* identity dwords of the configuration header: from the snapshot taken at attach */
	CU_ASSERT_TRUE(cfg_read_local(dev, 0x00, &v));
	CU_ASSERT_EQUAL(v, (uint32_t)cd->device_id << 16 | cd->vendor_id);
	CU_ASSERT_TRUE(cfg_read_local(dev, 0x08, &v));
	CU_ASSERT_EQUAL(v, cd->class_code << 8 | cd->revision);
	CU_ASSERT_TRUE(cfg_read_local(dev, 0x2c, &v));
	CU_ASSERT_EQUAL(v, (uint32_t)cd->subsystem_id << 16 | cd->subsystem_vendor_id);
	CU_ASSERT_TRUE(cfg_read_local(dev, 0x34, &v));
	/* what changes is forwarded: command and status, the BARs */
	CU_ASSERT_FALSE(cfg_read_local(dev, 0x04, &v));
	CU_ASSERT_EQUAL(v & (RPCI_VGPU_CMD_MEM | RPCI_VGPU_CMD_MASTER),
			RPCI_VGPU_CMD_MEM | RPCI_VGPU_CMD_MASTER);
	CU_ASSERT_FALSE(cfg_read_local(dev, RPCI_VGPU_CFG_BAR0, &bar0));
	CU_ASSERT_EQUAL(bar0 & ~0xfu, BAR0_ADDR);
	/* a run of dwords: each answered where it can be */
	s0 = stats();
	CU_ASSERT_EQUAL(rpci_device_config_read(dev, 0, hdr, sizeof(hdr)), 0);
	s1 = stats();
	CU_ASSERT_EQUAL(s1.cfg_local, s0.cfg_local + 4);      /* 0x00, 0x08, 0x2c, 0x34 */
	CU_ASSERT_EQUAL(s1.cfg_forwarded, s0.cfg_forwarded + 12);
	CU_ASSERT_EQUAL(hdr[0], (uint32_t)cd->device_id << 16 | cd->vendor_id);
	CU_ASSERT_EQUAL(hdr[4], bar0);
	/* the vGPU's read-only registers, learnt from the driver's bring-up */
	CU_ASSERT_TRUE(bar0_read_local(dev, RPCI_VGPU_REG_ID, &id, 4));
	CU_ASSERT_EQUAL(id, RPCI_VGPU_ID);
	CU_ASSERT_TRUE(bar0_read_local(dev, RPCI_VGPU_REG_MEM_SIZE, &mem, 8));
	CU_ASSERT_EQUAL(mem, (uint64_t)DEV_MEM_MB * MiB);
	CU_ASSERT_TRUE(bar0_read_local(dev, RPCI_VGPU_REG_BACKEND, name, sizeof(name)));
	CU_ASSERT_STRING_EQUAL(name, "cpu");
	CU_ASSERT_TRUE(bar0_read_local(dev, RPCI_VGPU_REG_ID, hdr, 12)); /* ID..CAPS */
	CU_ASSERT_EQUAL(hdr[0], RPCI_VGPU_ID);
	CU_ASSERT_EQUAL(hdr[1], RPCI_VGPU_VERSION);
	/* registers that change, and ranges that hold one, go to the device */
	CU_ASSERT_FALSE(bar0_read_local(dev, RPCI_VGPU_REG_STATUS, &st, 4));
	CU_ASSERT(st & RPCI_VGPU_STATUS_ENABLED);
	CU_ASSERT_FALSE(bar0_read_local(dev, RPCI_VGPU_REG_MEM_FREE, &mem, 8));
	CU_ASSERT_FALSE(bar0_read_local(dev, RPCI_VGPU_REG_ID, hdr, 16)); /* ID..STATUS */
	/* BAR0 written again: what was learnt there is forgotten, then learnt again */
	CU_ASSERT_EQUAL(rpci_device_config_write(dev, RPCI_VGPU_CFG_BAR0, &bar0, 4), 0);
	id = 0;
	CU_ASSERT_FALSE(bar0_read_local(dev, RPCI_VGPU_REG_ID, &id, 4));
	CU_ASSERT_EQUAL(id, RPCI_VGPU_ID);
	CU_ASSERT_TRUE(bar0_read_local(dev, RPCI_VGPU_REG_ID, &id, 4));
	/* a write to an identity dword: never answered from the snapshot again */
	v = 0xffffffff;
	CU_ASSERT_EQUAL(rpci_device_config_write(dev, 0x2c, &v, 4), 0);
	CU_ASSERT_FALSE(cfg_read_local(dev, 0x2c, &v));
	CU_ASSERT_EQUAL(v, (uint32_t)cd->subsystem_id << 16 | cd->subsystem_vendor_id);
	CU_ASSERT_FALSE(cfg_read_local(dev, 0x2c, &v));
	CU_ASSERT_TRUE(cfg_read_local(dev, 0x00, &v));
	/* the device still works after all this */
	CU_ASSERT_TRUE(device_works(dev, 77));
	CU_ASSERT_EQUAL(rpci_device_close(dev), 0);
	rpci_client_destroy(c);
}

static void
test_two_clients(void)
{
	const uint64_t n = 50000;
	struct rpci_proxy_stats s0 = stats(), s1;
	uint64_t opened = s0.sessions_opened;
	struct rpci_proxy_app_info apps[4];
	struct rpci_proxy_dev_info devs[4];
	struct rpci_client *a, *b;
	struct rpci_device *da, *db, *x;
	float *va[3], *vb[2];
	unsigned int i;

	a = client("t-two-a");
	b = client("t-two-b");
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	da = rpci_device_open(a, "server0", "vgpu0");
	db = rpci_device_open(b, "server0", "vgpu1");
	CU_ASSERT_FATAL(da != NULL && db != NULL);
	CU_ASSERT_EQUAL(stats().sessions_opened, opened + 2);
	/* a function of its own on the fabric each */
	CU_ASSERT_EQUAL(rpci_proxy_apps(g_core, apps, RTE_DIM(apps)), 2);
	CU_ASSERT_NOT_EQUAL(apps[0].requester_id, apps[1].requester_id);
	CU_ASSERT_NOT_EQUAL(__atomic_load_n(&g_srv.dev[0].requester_id, __ATOMIC_RELAXED),
			    __atomic_load_n(&g_srv.dev[1].requester_id, __ATOMIC_RELAXED));
	CU_ASSERT_EQUAL(rpci_proxy_devices(g_core, devs, RTE_DIM(devs)), 2);
	CU_ASSERT_NOT_EQUAL(devs[0].completer_id, devs[1].completer_id);
	CU_ASSERT_NOT_EQUAL(devs[0].app_id, devs[1].app_id);
	/* a device another program holds: refused, and the holder keeps it */
	x = rpci_device_open(b, "server0", "vgpu0");
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(errno, EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(rpci_last_error(), "held by another program"));
	x = rpci_device_open(a, "server0", "vgpu1");
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(errno, EBUSY);
	/* nor twice by the same program */
	x = rpci_device_open(a, "server0", "vgpu0");
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(errno, EBUSY);
	/* names that are nothing */
	s0 = stats();
	x = rpci_device_open(a, "server0", "vgpu9");
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(errno, ENOENT);
	x = rpci_device_open(a, "client0", NULL);
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_EQUAL(errno, ENOENT);
	s1 = stats();
	CU_ASSERT_EQUAL(s1.requests_refused, s0.requests_refused + 2);
	CU_ASSERT_EQUAL(nb_devices(), 2);
	CU_ASSERT_EQUAL(s1.sessions_opened, s0.sessions_opened);
	/* both work, one after the other's calls */
	for (i = 0; i < 3; i++) {
		va[i] = rpci_client_host_alloc(a, n * 4);
		CU_ASSERT_PTR_NOT_NULL_FATAL(va[i]);
	}
	for (i = 0; i < 2; i++) {
		vb[i] = malloc(n * 4);
		CU_ASSERT_PTR_NOT_NULL_FATAL(vb[i]);
	}
	CU_ASSERT_TRUE(device_works(da, 11));
	CU_ASSERT_TRUE(device_works(db, 12));
	CU_ASSERT_TRUE(run_vector_add(da, n, va[0], va[1], va[2]));
	CU_ASSERT_TRUE(run_saxpy(db, n, 3.0f, vb[0], vb[1]));
	CU_ASSERT_TRUE(device_works(da, 13));
	for (i = 0; i < 3; i++) {
		rpci_client_host_free(a, va[i]);
	}
	for (i = 0; i < 2; i++) {
		free(vb[i]);
	}
	CU_ASSERT_EQUAL(rpci_device_close(da), 0);
	/* freed: now the other program may have it */
	x = rpci_device_open(b, "server0", "vgpu0");
	CU_ASSERT_PTR_NOT_NULL(x);
	if (x != NULL) {
		CU_ASSERT_TRUE(device_works(x, 14));
		CU_ASSERT_EQUAL(rpci_device_close(x), 0);
	}
	CU_ASSERT_EQUAL(rpci_device_close(db), 0);
	rpci_client_destroy(a);
	rpci_client_destroy(b);
	CU_ASSERT_EQUAL(nb_apps(), 0);
	CU_ASSERT_EQUAL(nb_devices(), 0);
}

/*
 * A program that breaks the protocol is cut off and counted; the other
 * program, its device and a program that comes later are not touched, and
 * the one cut off gets errors, in time, not hangs.
 */
static void
test_cut_off(void)
{
	struct rpci_proxy_stats s0;
	struct rpci_client *a, *b, *c;
	struct rpci_device *da, *db, *dc;
	uint8_t buf[5000], *big;
	uint64_t t0, reopened;
	unsigned int k;
	float *x, *y;

	a = client("t-bad");
	b = client("t-good");
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	da = rpci_device_open(a, "server0", "vgpu0");
	db = rpci_device_open(b, "server0", "vgpu1");
	CU_ASSERT_FATAL(da != NULL && db != NULL);
	CU_ASSERT_TRUE(device_works(da, 21));
	CU_ASSERT_TRUE(device_works(db, 22));
	/*
	 * It leaves posted writes staged through ordinary memory, whose fences
	 * are still in its ring when it breaks it: they are never answered.
	 */
	big = malloc(3 * MiB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	fill(big, 3 * MiB, 20);
	CU_ASSERT_EQUAL(rpci_bar_write_posted(da, 2, 0, big, 3 * MiB), 0);
	free(big);
	s0 = stats();
	/* the bad program publishes a producer index more than a ring ahead */
	rpci_ipc_store(&a->cp->req.prod, a->req_prod + RPCI_IPC_REQ_SLOTS + 1);
	CU_ASSERT(POLL_UNTIL(stats().program_violations == s0.program_violations + 1));
	CU_ASSERT_EQUAL(nb_apps(), 1);
	CU_ASSERT_EQUAL(nb_devices(), 1); /* its device went with it */
	/* the other program goes on */
	x = malloc(100000 * 4);
	y = malloc(100000 * 4);
	CU_ASSERT_FATAL(x != NULL && y != NULL);
	CU_ASSERT_TRUE(device_works(db, 23));
	CU_ASSERT_TRUE(run_saxpy(db, 100000, 1.5f, x, y));
	/* the device the bad program held serves the next program */
	reopened = __atomic_load_n(&g_srv.reopened, __ATOMIC_RELAXED);
	c = client("t-next");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	dc = rpci_device_open(c, "server0", "vgpu0");
	CU_ASSERT_PTR_NOT_NULL(dc);
	if (dc != NULL) {
		CU_ASSERT_TRUE(device_works(dc, 24));
	}
	/* (the server dropped the session the bad program left: the same port opened it again) */
	CU_ASSERT_EQUAL(__atomic_load_n(&g_srv.reopened, __ATOMIC_RELAXED), reopened + 1);
	/* the one cut off: errors, at once */
	t0 = now_ms();
	fill(buf, sizeof(buf), 25);
	CU_ASSERT_NOT_EQUAL(rpci_memcpy_htod(da, 0, buf, sizeof(buf)), 0);
	CU_ASSERT_NOT_EQUAL(rpci_synchronize(da), 0);
	CU_ASSERT_PTR_NULL(rpci_device_open(a, "server0", "vgpu1"));
	CU_ASSERT_NOT_EQUAL(rpci_device_close(da), 0);
	rpci_client_destroy(a);
	CU_ASSERT(now_ms() - t0 < 1000);
	/* and its end touched nobody else */
	CU_ASSERT_EQUAL(nb_apps(), 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dc);
	CU_ASSERT_TRUE(device_works(dc, 26));
	CU_ASSERT_TRUE(device_works(db, 27));
	CU_ASSERT_EQUAL(rpci_device_close(dc), 0);
	rpci_client_destroy(c);
	/* malformed requests cut off as well, each kind, and only their program */
	for (k = 0; k < 4; k++) {
		struct rpci_ipc_req r;

		c = client("t-malformed");
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		dc = rpci_device_open(c, "server0", "vgpu0");
		CU_ASSERT_PTR_NOT_NULL_FATAL(dc);
		memset(&r, 0, sizeof(r));
		r.dev = dc->slot;
		switch (k) {
		case 0: /* an op that does not exist */
			r.op = RPCI_IPC_OP_MAX;
			break;
		case 1: /* a read into a buffer past its shared memory */
			r.op = RPCI_IPC_OP_MRD;
			r.addr = BAR0_ADDR;
			r.len = 64;
			r.buf = c->shm_size - 32;
			break;
		case 2: /* a write from a buffer that wraps the address space */
			r.op = RPCI_IPC_OP_MWR;
			r.addr = BAR2_ADDR;
			r.len = 4096;
			r.buf = UINT64_MAX - 100;
			break;
		default: /* a control reply outside its shared memory */
			r.op = RPCI_IPC_OP_STATS;
			r.arg = c->shm_size;
			r.arg2 = sizeof(struct rpci_ipc_link_stats);
			break;
		}
		s0 = stats();
		CU_ASSERT_EQUAL(cl_post(c, &r, NULL, 0), 0);
		CU_ASSERT(POLL_UNTIL(stats().program_violations == s0.program_violations + 1));
		CU_ASSERT_EQUAL(nb_apps(), 1);
		CU_ASSERT_EQUAL(nb_devices(), 1);
		CU_ASSERT_EQUAL(rpci_synchronize(dc), -ENOTCONN);
		CU_ASSERT_PTR_NULL(rpci_device_open(c, "server0", "vgpu0"));
		CU_ASSERT_EQUAL(errno, ENOTCONN);
		rpci_client_destroy(c);
		CU_ASSERT_TRUE(device_works(db, 28 + k));
	}
	CU_ASSERT_TRUE(run_saxpy(db, 100000, -2.0f, x, y));
	free(x);
	free(y);
	CU_ASSERT_EQUAL(rpci_device_close(db), 0);
	rpci_client_destroy(b);
	CU_ASSERT_EQUAL(nb_apps(), 0);
	CU_ASSERT_EQUAL(nb_devices(), 0);
}

/* A program that goes without closing its device leaves the device to the next. */
static void
test_destroy_without_close(void)
{
	uint8_t src[4096], dst[4096], zero[4096];
	struct rpci_client *c;
	struct rpci_device *dev;
	uint64_t dptr, downs;
	unsigned int round;

	memset(zero, 0, sizeof(zero));
	for (round = 0; round < 2; round++) {
		downs = __atomic_load_n(&g_srv.downs, __ATOMIC_RELAXED);
		c = client("t-leaver");
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		dev = rpci_device_open(c, "server0", "vgpu1");
		CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
		CU_ASSERT_EQUAL_FATAL(rpci_mem_alloc(dev, sizeof(src), &dptr), 0);
		if (round > 0) {
			/* the server cleared what the last program left */
			CU_ASSERT_EQUAL(rpci_memcpy_dtoh(dev, dst, dptr, sizeof(dst)), 0);
			CU_ASSERT_EQUAL(memcmp(dst, zero, sizeof(dst)), 0);
		}
		fill(src, sizeof(src), 31 + round);
		CU_ASSERT_TRUE(round_trip(dev, dptr, src, dst, sizeof(src)));
		/* no rpci_mem_free(), no rpci_device_close() */
		rpci_client_destroy(c);
		CU_ASSERT_EQUAL(nb_apps(), 0);
		CU_ASSERT_EQUAL(nb_devices(), 0);
		CU_ASSERT(POLL_UNTIL(__atomic_load_n(&g_srv.downs, __ATOMIC_RELAXED) >
				     downs));
	}
}

/*
 * Device DMA outside its program's memory: the device's windows opened (by
 * the program itself) onto another program's heap and onto its own
 * control page, and copy commands aimed there. The core refuses each such
 * write and read (counted), the memory there is untouched, and the device
 * goes on working.
 */
static void
test_dma_refused(void)
{
	struct rpci_proxy_stats s0, s1;
	struct rpci_client *a, *b;
	struct rpci_device *da, *db;
	struct rpci_vgpu_cmd cmd;
	struct rpci_ipc_ctrl_page before;
	uint8_t *victim, *copy;
	uint64_t win[2], dptr;
	const uint32_t len = 8192, mps = rpci_link_max_payload(rpci_proxy_link(g_core));
	int ret;

	a = client("t-dma-a");
	b = client("t-dma-b");
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	da = rpci_device_open(a, "server0", "vgpu0");
	db = rpci_device_open(b, "server0", "vgpu1");
	CU_ASSERT_FATAL(da != NULL && db != NULL);
	victim = rpci_client_host_alloc(b, len);
	copy = malloc(len);
	CU_ASSERT_FATAL(victim != NULL && copy != NULL);
	fill(victim, len, 41);
	memcpy(copy, victim, len);
	CU_ASSERT_EQUAL_FATAL(rpci_mem_alloc(da, len, &dptr), 0);
	CU_ASSERT_EQUAL(rpci_memset(da, dptr, 0x5a, len), 0);
	/* window 1 of A's device: B's heap */
	win[0] = b->ack.iova_base + RPCI_IPC_HEAP_OFF;
	win[1] = b->shm_size - RPCI_IPC_HEAP_OFF;
	CU_ASSERT_EQUAL(rpci_bar_write(da, 0, RPCI_VGPU_REG_WINDOWS + 16, win, sizeof(win)), 0);
	/* the device writes into B's buffer */
	s0 = stats();
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = RPCI_VGPU_OP_COPY_D2H;
	cmd.args[0] = dptr;
	cmd.host_addr = cl_iova(b, victim);
	cmd.host_len = len;
	ret = cl_run_cmd(da, &cmd, NULL);
	CU_ASSERT_EQUAL(ret, 0); /* posted: the device does not know */
	CU_ASSERT_EQUAL(rpci_synchronize(da), 0);
	s1 = stats();
	/* every write of it: at least one per max_payload bytes */
	CU_ASSERT(s1.dma_refused >= s0.dma_refused + (len + mps - 1) / mps);
	CU_ASSERT_EQUAL(memcmp(victim, copy, len), 0);
	/* and reads B's buffer: refused, the command fails */
	s0 = s1;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = RPCI_VGPU_OP_COPY_H2D;
	cmd.args[0] = dptr;
	cmd.host_addr = cl_iova(b, victim);
	cmd.host_len = len;
	ret = cl_run_cmd(da, &cmd, NULL);
	CU_ASSERT(ret < 0);
	s1 = stats();
	CU_ASSERT(s1.dma_refused > s0.dma_refused);
	CU_ASSERT_EQUAL(s1.dma_reads_served, s0.dma_reads_served);
	/* window 2: A's own control page and rings, which are not for devices */
	memcpy(&before, a->cp, sizeof(before));
	win[0] = a->ack.iova_base;
	win[1] = RPCI_IPC_HEAP_OFF;
	CU_ASSERT_EQUAL(rpci_bar_write(da, 0, RPCI_VGPU_REG_WINDOWS + 32, win, sizeof(win)), 0);
	s0 = stats();
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = RPCI_VGPU_OP_COPY_D2H;
	cmd.args[0] = dptr;
	cmd.host_addr = a->ack.iova_base;
	cmd.host_len = 4096;
	CU_ASSERT_EQUAL(cl_run_cmd(da, &cmd, NULL), 0);
	CU_ASSERT_EQUAL(rpci_synchronize(da), 0);
	s1 = stats();
	CU_ASSERT(s1.dma_refused > s0.dma_refused);
	CU_ASSERT_EQUAL(a->cp->magic, before.magic);
	CU_ASSERT_EQUAL(a->cp->version, before.version);
	/* windows closed again; everyone goes on */
	memset(win, 0, sizeof(win));
	CU_ASSERT_EQUAL(rpci_bar_write(da, 0, RPCI_VGPU_REG_WINDOWS + 16, win, sizeof(win)), 0);
	CU_ASSERT_EQUAL(rpci_bar_write(da, 0, RPCI_VGPU_REG_WINDOWS + 32, win, sizeof(win)), 0);
	CU_ASSERT_EQUAL(memcmp(victim, copy, len), 0);
	CU_ASSERT_TRUE(device_works(da, 42));
	CU_ASSERT_TRUE(device_works(db, 43));
	CU_ASSERT_EQUAL(rpci_mem_free(da, dptr), 0);
	rpci_client_host_free(b, victim);
	free(copy);
	CU_ASSERT_EQUAL(rpci_device_close(da), 0);
	CU_ASSERT_EQUAL(rpci_device_close(db), 0);
	rpci_client_destroy(a);
	rpci_client_destroy(b);
}

/* ------------------------------------------------- programs on the socket */

/* A raw connection to the core's socket, as a program (or anything) makes one. */
static int
raw_connect(void)
{
	struct sockaddr_un a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", g_sock_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	CU_ASSERT(fd >= 0);
	return fd;
}

/* Send bytes with nb_fds descriptors. */
static void
raw_send(int sock, const void *buf, size_t len, const int *fds, unsigned int nb_fds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nb_fds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nb_fds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nb_fds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nb_fds * sizeof(int));
	}
	CU_ASSERT_EQUAL(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * The core's answer (polling the core meanwhile): its status, or 1 if none
 * came in time. The descriptors that came with it are counted and closed.
 */
static int
raw_answer(int sock, struct rpci_ipc_hello_ack *ack, unsigned int *nb_fds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t raw[sizeof(*ack) + 16];
	struct iovec iov = { .iov_base = raw, .iov_len = sizeof(raw) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	uint64_t end = now_ms() + WAIT_MS;
	ssize_t n = -1;
	int fd, i, k;

	*nb_fds = 0;
	while (now_ms() < end) {
		rpci_proxy_poll(g_core);
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == ECONNRESET) {
			/* closed with what we sent unread: the error first, the answer after */
			continue;
		}
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			break;
		}
	}
	for (cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(fd);
			(*nb_fds)++;
		}
	}
	if (n <= 0 || rpci_ipc_hello_ack_check(raw, (size_t)n, ack) < 0) {
		return 1;
	}
	return ack->status;
}

/* The core has closed its end: EOF, polling the core meanwhile. */
static bool
raw_closed(int sock)
{
	uint64_t end = now_ms() + WAIT_MS;
	char b;

	while (now_ms() < end) {
		rpci_proxy_poll(g_core);
		if (recv(sock, &b, 1, MSG_DONTWAIT) == 0) {
			return true;
		}
	}
	return false;
}

/* A sealed memfd of size bytes, as librpci makes it (seals: 0 for none). */
static int
shm_fd(uint64_t size, int seals)
{
	int fd = memfd_create("t-proxy", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
	    (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		CU_FAIL("memfd");
	}
	return fd;
}

static struct rpci_ipc_hello
hello_msg(uint64_t shm_size)
{
	struct rpci_ipc_hello h;

	memset(&h, 0, sizeof(h));
	h.magic = RPCI_IPC_MAGIC;
	h.version = RPCI_IPC_VERSION;
	h.type = RPCI_IPC_HELLO;
	h.shm_size = shm_size;
	snprintf(h.name, sizeof(h.name), "t-raw");
	return h;
}

/*
 * Let the core free the programs it refused: it keeps a program's memory
 * mapped 100 ms after its end (frames in flight), and the program counts
 * against max_programs until then.
 */
static void
settle(void)
{
	uint64_t end = now_ms() + 150;

	while (now_ms() < end) {
		rpci_proxy_poll(g_core);
		usleep(100);
	}
}

/* One HELLO (msg of len bytes, with fds) refused with want; the socket closed after. */
static void
hello_refused(const void *msg, size_t len, const int *fds, unsigned int nb_fds, int want)
{
	struct rpci_proxy_stats s0 = stats();
	struct rpci_ipc_hello_ack ack;
	unsigned int got;
	int sock = raw_connect();

	if (sock < 0) {
		return;
	}
	raw_send(sock, msg, len, fds, nb_fds);
	CU_ASSERT_EQUAL(raw_answer(sock, &ack, &got), want);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT_NOT_EQUAL(ack.reason[0], '\0');
	CU_ASSERT_TRUE(raw_closed(sock));
	CU_ASSERT_EQUAL(stats().programs_refused, s0.programs_refused + 1);
	CU_ASSERT_EQUAL(nb_apps(), 0);
	close(sock);
	settle();
}

/* HELLOs: malformed ones refused with a reason, a good one served, its end seen. */
static void
test_socket_hello(void)
{
	const uint64_t size = RPCI_IPC_SHM_MIN;
	struct rpci_ipc_hello h = hello_msg(size);
	struct rpci_proxy_app_info info;
	struct rpci_ipc_hello_ack ack;
	struct rpci_proxy_stats s0;
	int fds[2], sock, many[9];
	unsigned int got, i;
	char junk[10] = "not hello";

	CU_ASSERT_EQUAL_FATAL(rpci_proxy_listen(g_core), 0);
	CU_ASSERT_STRING_EQUAL(rpci_proxy_socket_path(g_core), g_sock_path);
	/* not a HELLO, or not of this version */
	hello_refused(junk, sizeof(junk), NULL, 0, -EPROTO);
	h.version = RPCI_IPC_VERSION + 1;
	fds[0] = shm_fd(size, F_SEAL_SHRINK | F_SEAL_GROW);
	hello_refused(&h, sizeof(h), fds, 1, -EPROTO);
	/* no memory, or two */
	h = hello_msg(size);
	hello_refused(&h, sizeof(h), NULL, 0, -EINVAL);
	fds[1] = shm_fd(size, F_SEAL_SHRINK | F_SEAL_GROW);
	hello_refused(&h, sizeof(h), fds, 2, -EINVAL);
	close(fds[1]);
	/* memory not sealed against shrinking (the proxy's mapping could fault) */
	close(fds[0]);
	fds[0] = shm_fd(size, 0);
	hello_refused(&h, sizeof(h), fds, 1, -EINVAL);
	close(fds[0]);
	fds[0] = shm_fd(size, F_SEAL_GROW);
	hello_refused(&h, sizeof(h), fds, 1, -EINVAL);
	close(fds[0]);
	/* a size that is not the memory's, or not whole pages, or too small */
	fds[0] = shm_fd(size, F_SEAL_SHRINK | F_SEAL_GROW);
	h = hello_msg(size + 4096);
	hello_refused(&h, sizeof(h), fds, 1, -EINVAL);
	h = hello_msg(size + 100);
	hello_refused(&h, sizeof(h), fds, 1, -EINVAL);
	h = hello_msg(size - 4096);
	hello_refused(&h, sizeof(h), fds, 1, -EINVAL);
	/* a good one: served, with the two eventfds */
	s0 = stats();
	h = hello_msg(size);
	sock = raw_connect();
	CU_ASSERT_FATAL(sock >= 0);
	raw_send(sock, &h, sizeof(h), fds, 1);
	close(fds[0]);
	CU_ASSERT_EQUAL(raw_answer(sock, &ack, &got), 0);
	CU_ASSERT_EQUAL(got, 2);
	CU_ASSERT_EQUAL(stats().programs, s0.programs + 1);
	CU_ASSERT_EQUAL(rpci_proxy_apps(g_core, &info, 1), 1);
	CU_ASSERT_STRING_EQUAL(info.name, "t-raw");
	CU_ASSERT_EQUAL(info.pid, (int)getpid());
	CU_ASSERT_EQUAL(info.uid, (uint32_t)getuid());
	CU_ASSERT_EQUAL(info.id, ack.app_id);
	CU_ASSERT_EQUAL(info.requester_id, ack.requester_id);
	CU_ASSERT_EQUAL(info.shm_bytes, size);
	CU_ASSERT_STRING_EQUAL(ack.host, "client0");
	/* a program says nothing after HELLO: a message cuts it off */
	raw_send(sock, junk, sizeof(junk), NULL, 0);
	CU_ASSERT_TRUE(raw_closed(sock));
	CU_ASSERT_EQUAL(nb_apps(), 0);
	close(sock);
	settle();
	/* as many programs as the host's max_programs, then one more is refused */
	s0 = stats();
	for (i = 0; i < RTE_DIM(many); i++) {
		many[i] = raw_connect();
	}
	CU_ASSERT_EQUAL(raw_answer(many[8], &ack, &got), -EUSERS);
	CU_ASSERT_PTR_NOT_NULL(strstr(ack.reason, "as many programs"));
	close(many[8]);
	/* also when its HELLO came first (the core closes with it unread) */
	many[8] = raw_connect();
	fds[0] = shm_fd(size, F_SEAL_SHRINK | F_SEAL_GROW);
	raw_send(many[8], &h, sizeof(h), fds, 1);
	close(fds[0]);
	CU_ASSERT_EQUAL(raw_answer(many[8], &ack, &got), -EUSERS);
	CU_ASSERT_EQUAL(stats().programs_refused, s0.programs_refused + 2);
	/* and those that never say HELLO are refused after a while (2 s) */
	for (i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(raw_answer(many[i], &ack, &got), -ETIMEDOUT);
	}
	CU_ASSERT_EQUAL(stats().programs_refused, s0.programs_refused + 10);
	for (i = 0; i < RTE_DIM(many); i++) {
		close(many[i]);
	}
	CU_ASSERT(POLL_UNTIL(nb_apps() == 0));
}

static uint32_t g_core_stop;

/* The core's own loop, as rpci-proxy runs it, while programs of the socket work. */
static void *
core_main(void *arg)
{
	int work;

	RTE_SET_USED(arg);
	while (!__atomic_load_n(&g_core_stop, __ATOMIC_ACQUIRE)) {
		work = rpci_proxy_poll(g_core);
		rpci_proxy_idle(g_core, work);
	}
	return NULL;
}

/* librpci over the socket: a program that is not in this process's core. */
static void
test_socket_program(void)
{
	const size_t len = CL_STAGE_HALF + 12345;
	const uint64_t n = 30001;
	struct rpci_proxy_stats s0 = stats(), s1;
	struct rpci_client *c, *bad;
	struct rpci_device *dev, *dbad;
	uint8_t *src, *dst, *hsrc;
	float *v[3];
	uint64_t dptr, t0;
	pthread_t core;
	int ret, silent[8];
	unsigned int i;

	__atomic_store_n(&g_core_stop, 0, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&core, NULL, core_main, NULL), 0);
	/* a full proxy: the program is told so, whoever of the two is first */
	for (i = 0; i < RTE_DIM(silent); i++) {
		silent[i] = raw_connect();
	}
	usleep(20000); /* the core has taken them all */
	for (i = 0; i < 20; i++) {
		c = rpci_client_create(g_sock_path);
		CU_ASSERT_PTR_NULL(c);
		if (c != NULL) {
			rpci_client_destroy(c);
			break;
		}
		CU_ASSERT_EQUAL(errno, EUSERS);
		if (strstr(rpci_last_error(), "as many programs") == NULL) {
			printf("\nattempt %u: %s (errno %d)\n", i, rpci_last_error(), errno);
			CU_FAIL("a full proxy not reported as such");
		}
	}
	for (i = 0; i < RTE_DIM(silent); i++) {
		close(silent[i]);
	}
	usleep(200000); /* gone, and their memory let go */
	c = rpci_client_create(g_sock_path);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c == NULL) {
		printf("%s\n", rpci_last_error());
		goto stop;
	}
	dev = rpci_device_open(c, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL(dev);
	src = malloc(len);
	dst = malloc(len);
	hsrc = rpci_client_host_alloc(c, len);
	CU_ASSERT_FATAL(src != NULL && dst != NULL && hsrc != NULL);
	if (dev != NULL) {
		CU_ASSERT_EQUAL(rpci_mem_alloc(dev, len, &dptr), 0);
		fill(src, len, 51);
		CU_ASSERT_TRUE(round_trip(dev, dptr, src, dst, len));
		fill(hsrc, len, 52);
		CU_ASSERT_TRUE(round_trip(dev, dptr, hsrc, dst, len));
		CU_ASSERT_EQUAL(rpci_device_set_h2d_mode(dev, RPCI_H2D_PULL), 0);
		fill(hsrc, len, 53);
		CU_ASSERT_TRUE(round_trip(dev, dptr, hsrc, dst, len));
		CU_ASSERT_EQUAL(rpci_mem_free(dev, dptr), 0);
		v[0] = rpci_client_host_alloc(c, n * 4);
		v[1] = malloc(n * 4);
		v[2] = rpci_client_host_alloc(c, n * 4);
		CU_ASSERT_FATAL(v[0] != NULL && v[1] != NULL && v[2] != NULL);
		CU_ASSERT_TRUE(run_vector_add(dev, n, v[0], v[1], v[2]));
		rpci_client_host_free(c, v[0]);
		free(v[1]);
		rpci_client_host_free(c, v[2]);
		CU_ASSERT_EQUAL(rpci_device_close(dev), 0);
	}
	free(src);
	free(dst);
	rpci_client_host_free(c, hsrc);
	/* a program of the socket that breaks its ring: cut off, and it knows at once */
	bad = rpci_client_create(g_sock_path);
	CU_ASSERT_PTR_NOT_NULL(bad);
	dbad = bad != NULL ? rpci_device_open(bad, "server0", "vgpu1") : NULL;
	CU_ASSERT_PTR_NOT_NULL(dbad);
	if (dbad != NULL) {
		rpci_ipc_store(&bad->cp->req.prod, bad->req_prod + RPCI_IPC_REQ_SLOTS + 7);
		/* (the core, another thread, must see it before our next request mends it) */
		t0 = now_ms();
		while (!__atomic_load_n(&bad->cp->proxy_closing, __ATOMIC_ACQUIRE) &&
		       now_ms() - t0 < WAIT_MS) {
			usleep(100);
		}
		ret = rpci_synchronize(dbad);
		CU_ASSERT_EQUAL(ret, -ENOTCONN);
		CU_ASSERT(now_ms() - t0 < 1000);
		CU_ASSERT_NOT_EQUAL(rpci_device_close(dbad), 0);
	}
	rpci_client_destroy(bad);
	/* the first program is not touched: a device again, and work */
	dev = rpci_device_open(c, "server0", "vgpu1");
	CU_ASSERT_PTR_NOT_NULL(dev);
	if (dev != NULL) {
		CU_ASSERT_TRUE(device_works(dev, 54));
		CU_ASSERT_EQUAL(rpci_device_close(dev), 0);
	}
	rpci_client_destroy(c);
stop:
	__atomic_store_n(&g_core_stop, 1, __ATOMIC_RELEASE);
	pthread_join(core, NULL);
	/* the socket's programs are gone; what was counted */
	CU_ASSERT(POLL_UNTIL(nb_apps() == 0 && nb_devices() == 0));
	s1 = stats();
	CU_ASSERT_EQUAL(s1.programs, s0.programs + 2);
	CU_ASSERT_EQUAL(s1.program_violations, s0.program_violations + 1);
	CU_ASSERT(s1.dma_reads_served > s0.dma_reads_served); /* pulled from its memfd */
}

/* ------------------------------------------------- the heap (client_mem.c) */

#define HEAP_LEN (16u * MiB)

/* A client with shared memory and a heap only (no proxy): the allocator alone. */
static bool
heap_client(struct rpci_client *c)
{
	memset(c, 0, sizeof(*c));
	c->sock = c->wake_fd = c->doorbell_fd = c->memfd = -1;
	c->handle = -1;
	if (cl_shm_create(c, RPCI_IPC_HEAP_OFF + HEAP_LEN) != 0) {
		return false;
	}
	return cl_heap_init(c) == 0;
}

static void
heap_client_free(struct rpci_client *c)
{
	cl_conn_close(c);
	cl_heap_fini(c);
}

static uint64_t
off_of(const struct rpci_client *c, const void *p)
{
	return (uint64_t)((const uint8_t *)p - c->shm);
}

/* The heap is whole again: one free extent, nothing in use. */
static bool
heap_whole(const struct rpci_client *c)
{
	return c->heap.nb_free == 1 && c->heap.free[0].off == RPCI_IPC_HEAP_OFF &&
	       c->heap.free[0].len == HEAP_LEN && c->heap.nb_used == 0 && c->heap.in_use == 0;
}

static void
test_heap_basic(void)
{
	struct rpci_client c;
	uint8_t *p1, *p2, *p3, *p4, *p5;

	CU_ASSERT_TRUE_FATAL(heap_client(&c));
	CU_ASSERT_TRUE(heap_whole(&c));
	/* first fit from the start of the heap, 64-byte granules */
	p1 = cl_heap_alloc(&c, 100, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
	CU_ASSERT_EQUAL(off_of(&c, p1), RPCI_IPC_HEAP_OFF);
	CU_ASSERT_EQUAL(c.heap.in_use, 128);
	p2 = cl_heap_alloc(&c, 1, 1);
	CU_ASSERT_EQUAL(p2, p1 + 128);
	/* big blocks are page-aligned; an alignment asked for is kept */
	p3 = cl_heap_alloc(&c, 70000, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p3);
	CU_ASSERT_EQUAL(off_of(&c, p3) % 4096, 0);
	CU_ASSERT(p3 >= p2 + 64);
	p4 = cl_heap_alloc(&c, 1000, MiB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p4);
	CU_ASSERT_EQUAL(off_of(&c, p4) % MiB, 0);
	/* the gap before an aligned block is used by what fits there */
	p5 = cl_heap_alloc(&c, 64, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p5);
	CU_ASSERT(p5 < p4);
	CU_ASSERT(p5 >= p3 + 70016 || p5 < p3);
	CU_ASSERT_EQUAL(c.heap.nb_used, 5);
	CU_ASSERT_EQUAL(c.heap.in_use, 128 + 64 + 70016 + 1024 + 64);
	/* what was never allocated here is refused, and changes nothing */
	CU_ASSERT_EQUAL(cl_heap_free(&c, NULL), -EINVAL);
	CU_ASSERT_EQUAL(cl_heap_free(&c, p1 + 64), -EINVAL);
	CU_ASSERT_EQUAL(cl_heap_free(&c, c.shm - 1), -EINVAL);
	CU_ASSERT_EQUAL(cl_heap_free(&c, c.shm + c.shm_size), -EINVAL);
	CU_ASSERT_EQUAL(cl_heap_free(&c, c.shm), -EINVAL);
	CU_ASSERT_EQUAL(c.heap.nb_used, 5);
	/* freed in an order that needs every kind of joining */
	CU_ASSERT_EQUAL(cl_heap_free(&c, p2), 0);
	CU_ASSERT_EQUAL(cl_heap_free(&c, p2), -EINVAL); /* twice */
	CU_ASSERT_EQUAL(cl_heap_free(&c, p1), 0);       /* joins the next */
	CU_ASSERT_EQUAL(cl_heap_free(&c, p4), 0);
	CU_ASSERT_EQUAL(cl_heap_free(&c, p3), 0);
	CU_ASSERT_EQUAL(cl_heap_free(&c, p5), 0);       /* joins both sides */
	CU_ASSERT_TRUE(heap_whole(&c));
	/* nothing to allocate */
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, 0, 0));
	CU_ASSERT_TRUE(heap_whole(&c));
	heap_client_free(&c);
}

static void
test_heap_exhaustion(void)
{
	struct rpci_client c;
	uint8_t *all, *half, *rest, *p;

	CU_ASSERT_TRUE_FATAL(heap_client(&c));
	/* all of it, then not a byte more */
	all = cl_heap_alloc(&c, HEAP_LEN, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(all);
	CU_ASSERT_EQUAL(c.heap.nb_free, 0);
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, 1, 0));
	CU_ASSERT_EQUAL(cl_heap_free(&c, all), 0);
	CU_ASSERT_TRUE(heap_whole(&c));
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, HEAP_LEN + 1, 0));
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, UINT64_MAX - 4096, 0));
	/* sizes whose rounding up to 64 bytes wraps */
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, UINT64_MAX - 10, 0));
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, UINT64_MAX, 4096));
	CU_ASSERT_TRUE(heap_whole(&c));
	/* an alignment that leaves too little room */
	half = cl_heap_alloc(&c, HEAP_LEN / 2, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(half);
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, HEAP_LEN / 2, 8 * MiB));
	rest = cl_heap_alloc(&c, HEAP_LEN / 2, 0);
	CU_ASSERT_PTR_NOT_NULL(rest);
	CU_ASSERT_PTR_NULL(cl_heap_alloc(&c, 64, 0));
	/* a block freed in the middle is found again */
	CU_ASSERT_EQUAL(cl_heap_free(&c, half), 0);
	p = cl_heap_alloc(&c, 4096, 0);
	CU_ASSERT_EQUAL(p, half);
	CU_ASSERT_EQUAL(cl_heap_free(&c, p), 0);
	CU_ASSERT_EQUAL(cl_heap_free(&c, rest), 0);
	CU_ASSERT_TRUE(heap_whole(&c));
	/* large blocks freed give their pages back: they read zero again */
	p = cl_heap_alloc(&c, 4 * MiB, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0xab, 4 * MiB);
	CU_ASSERT_EQUAL(cl_heap_free(&c, p), 0);
	CU_ASSERT_EQUAL(p[0], 0);
	CU_ASSERT_EQUAL(p[4 * MiB - 1], 0);
	heap_client_free(&c);
}

/* Allocations and frees at random against a model: no overlap, alignment, coalescing. */
static void
test_heap_random(void)
{
	static const uint64_t aligns[] = { 0, 1, 64, 256, 4096, 65536 };
	struct {
		uint8_t *p;
		uint64_t len;
		uint8_t tag;
	} live[64];
	struct rpci_client c;
	uint32_t x = 12345, i, k, nb = 0, failed = 0;
	uint64_t in_use = 0;

	CU_ASSERT_TRUE_FATAL(heap_client(&c));
	for (i = 0; i < 3000; i++) {
		x = x * 1103515245u + 12345u;
		if (nb == RTE_DIM(live) || (nb > 0 && (x >> 16) % 3 == 0)) {
			/* free one: its bytes are still its own */
			k = (x >> 8) % nb;
			CU_ASSERT_EQUAL(live[k].p[0], live[k].tag);
			CU_ASSERT_EQUAL(live[k].p[live[k].len - 1], live[k].tag);
			CU_ASSERT_EQUAL(cl_heap_free(&c, live[k].p), 0);
			in_use -= CL_ALIGN(live[k].len, 64);
			live[k] = live[--nb];
		} else {
			uint64_t len = 1 + (x >> 4) % ((x >> 30) ? 100000 : 3000);
			uint64_t align = aligns[(x >> 12) % RTE_DIM(aligns)];
			uint8_t *p = cl_heap_alloc(&c, len, align);
			uint64_t off, want = align < 64 ? 64 : align;

			if (p == NULL) {
				failed++;
				continue;
			}
			off = off_of(&c, p);
			if (len >= 65536 && want < 4096) {
				want = 4096;
			}
			CU_ASSERT_EQUAL(off % want, 0);
			CU_ASSERT(off >= RPCI_IPC_HEAP_OFF && off + len <= c.shm_size);
			for (k = 0; k < nb; k++) {
				CU_ASSERT(p + len <= live[k].p || live[k].p + live[k].len <= p);
			}
			live[nb].p = p;
			live[nb].len = len;
			live[nb].tag = (uint8_t)(i | 1);
			memset(p, live[nb].tag, len);
			nb++;
			in_use += CL_ALIGN(len, 64);
		}
		CU_ASSERT_EQUAL(c.heap.in_use, in_use);
		CU_ASSERT_EQUAL(c.heap.nb_used, nb);
	}
	/* the free list stays sorted and joined */
	for (k = 1; k < c.heap.nb_free; k++) {
		CU_ASSERT(c.heap.free[k - 1].off + c.heap.free[k - 1].len < c.heap.free[k].off);
	}
	while (nb > 0) {
		CU_ASSERT_EQUAL(cl_heap_free(&c, live[--nb].p), 0);
	}
	CU_ASSERT_TRUE(heap_whole(&c));
	CU_ASSERT_EQUAL(failed, 0); /* 64 blocks of at most 100 KB fit in 16 MiB */
	heap_client_free(&c);
}

/* ---------------------------------------------------------------- setup */

static int
fabric_create(void)
{
	char text[sizeof(g_conf_fmt) + 512], err[256];
	int port;

	g_ring_p2s = rte_ring_create("tproxy_p2s", RING_SIZE, SOCKET_ID_ANY,
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	g_ring_s2p = rte_ring_create("tproxy_s2p", RING_SIZE, SOCKET_ID_ANY,
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (g_ring_p2s == NULL || g_ring_s2p == NULL) {
		return -ENOMEM;
	}
	port = rte_eth_from_rings("tproxy_p", &g_ring_s2p, 1, &g_ring_p2s, 1, SOCKET_ID_ANY);
	if (port < 0) {
		return -ENODEV;
	}
	g_port_p = (uint16_t)port;
	port = rte_eth_from_rings("tproxy_s", &g_ring_p2s, 1, &g_ring_s2p, 1, SOCKET_ID_ANY);
	if (port < 0) {
		return -ENODEV;
	}
	g_port_s = (uint16_t)port;
	snprintf(g_sock_dir, sizeof(g_sock_dir), "/tmp/rpci-test-proxy-%d", (int)getpid());
	snprintf(g_sock_path, sizeof(g_sock_path), "%s/proxy.sock", g_sock_dir);
	snprintf(g_key_dir, sizeof(g_key_dir), "/tmp/rpci-test-proxy-keys-%d", (int)getpid());
	snprintf(text, sizeof(text), g_conf_fmt, g_key_dir, g_srv_mac, g_port_s, DEV_MEM_MB,
		 DEV_MEM_MB, g_cli_mac, g_port_p, g_sock_path);
	g_conf = rpci_conf_load_string(text, "test_proxy.cfg", err, sizeof(err));
	if (g_conf == NULL) {
		printf("deployment refused: %s\n", err);
		return -EINVAL;
	}
	if (rpci_auth_keygen(g_key_dir, "server0", err, sizeof(err)) < 0 ||
	    rpci_auth_keygen(g_key_dir, "client0", err, sizeof(err)) < 0) {
		printf("keys: %s\n", err);
		return -EIO;
	}
	if (srv_create() < 0) {
		return -EIO;
	}
	g_core = rpci_proxy_create(g_conf, "client0", err, sizeof(err));
	if (g_core == NULL) {
		printf("proxy core: %s\n", err);
		return -EIO;
	}
	return 0;
}

static void
fabric_free(void)
{
	/* the core closes its sessions with the server, which must still answer */
	rpci_proxy_destroy(g_core);
	g_core = NULL;
	srv_free();
	rpci_conf_free(g_conf);
	rte_ring_free(g_ring_p2s);
	rte_ring_free(g_ring_s2p);
	rmdir(g_sock_dir);
	key_dir_remove();
}

/* EAL's runtime directory of this run (its name has our PID): its files, then it. */
static void
remove_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path)) {
			unlink(path);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	char prefix[64], rundir[PATH_MAX];
	char *eal_args[] = {
		argv[0], "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix,
		"-l", "0", "--log-level", "rpci.*:warning", NULL,
	};
	CU_pSuite suite;
	unsigned int n = 1;

	RTE_SET_USED(argc);
	snprintf(prefix, sizeof(prefix), "rpci-test-proxy-%d", (int)getpid());
	/* every client's shared memory: enough for the copies, small for the machine */
	setenv("RPCI_SHM_SIZE", SHM_SIZE, 1);
	if (rte_eal_init((int)RTE_DIM(eal_args) - 1, eal_args) < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	if (fabric_create() < 0) {
		printf("cannot build the fabric\n");
		goto free_fabric;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		goto free_fabric;
	}
	suite = CU_add_suite("proxy", NULL, NULL);
	if (suite == NULL) {
		goto cleanup_registry;
	}
	CU_ADD_TEST(suite, test_open_close);
	CU_ADD_TEST(suite, test_copies);
	CU_ADD_TEST(suite, test_kernels);
	CU_ADD_TEST(suite, test_local_answers);
	CU_ADD_TEST(suite, test_two_clients);
	CU_ADD_TEST(suite, test_cut_off);
	CU_ADD_TEST(suite, test_destroy_without_close);
	CU_ADD_TEST(suite, test_dma_refused);
	CU_ADD_TEST(suite, test_socket_hello);
	CU_ADD_TEST(suite, test_socket_program);
	CU_ADD_TEST(suite, test_heap_basic);
	CU_ADD_TEST(suite, test_heap_exhaustion);
	CU_ADD_TEST(suite, test_heap_random);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
cleanup_registry:
	CU_cleanup_registry();
free_fabric:
	fabric_free();
	rte_eal_cleanup();
	remove_dir(rundir);
	return (int)n;
}
