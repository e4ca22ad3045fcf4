/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CLIENT_PRIVATE_H
#define RPCI_CLIENT_PRIVATE_H

/*
 * Internals of librpci (lib/client) shared by its files:
 *   client_conn.c  the connection to the proxy: shared memory, HELLO, the
 *                  rings, waiting (spin, then sleep on an eventfd)
 *   client_mem.c   the heap in shared memory (rpci_host_alloc(), the
 *                  drivers' queues, staging for ordinary memory)
 *   client.c       the driver of the remote virtual GPU and the API
 *   client_log.c   the replay log and failover
 *   client_pci.c   plain PCI functions, configuration space, function-level reset
 *   client_file.c  files in and out of device memory
 *   client_cmd.c   queued commands with reports (rpci_cmd_*), builds with
 *                  options, info of the device's API
 *   split.c        one job over several devices
 * No DPDK here: librpci is an ordinary shared library.
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpci_client.h"
#include "rpci_ipc.h"
#include "rpci_vgpu_hw.h"

_Static_assert(RPCI_KERNEL_ARGS_MAX == RPCI_VGPU_ARGS_MAX, "launch argument limits differ");

struct rpci_client_transport;

#define CL_DIM(a) (sizeof(a) / sizeof((a)[0]))
#define CL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define CL_ALIGN(v, a) (((v) + (a) - 1) & ~((uint64_t)(a) - 1))

/* Where the driver puts the BARs in the fabric's address space. */
#define BAR0_ADDR 0xe0000000ull
#define BAR2_ADDR 0x1000000000ull
/* Queue sizes the driver asks for. */
#define SQ_SIZE RPCI_VGPU_SQ_MAX
#define CQ_SIZE 256u
#define PARAMS_SLOT (8u + 16u * RPCI_VGPU_ARGS_MAX)
#define PARAMS_MAX PARAMS_SLOT
#define LOG_AREA 16384u
#define COPY_MAX_CMD (1ull << 30) /* bytes one copy command moves */
#define CL_OPS_MAX 256            /* requests waiting for completions */
#define CL_STAGE_HALF (4u << 20)  /* staging for ordinary memory: two halves */
#define CL_READ_CHUNK (1u << 20)  /* a read request's size (several in flight) */
#define CL_SHM_DEFAULT (1ull << 30)
#define CL_SPIN_US_DEFAULT 50
#define CL_FAILOVER_WAIT_MS 60000 /* the proxy bounds it; we bound the proxy */

/* A request waiting for its completion. */
struct cl_op {
	uint32_t gen;
	bool busy;
	bool done;
	int32_t status;
	uint32_t len;
	uint64_t value;
};

/* A free or allocated extent of the heap (offsets in shared memory). */
struct cl_extent {
	uint64_t off;
	uint64_t len;
};

/* The heap: the shared memory past the rings. */
struct cl_heap {
	struct cl_extent *free;   /* sorted by offset, coalesced */
	uint32_t nb_free;
	uint32_t cap_free;
	struct cl_extent *used;   /* sorted by offset */
	uint32_t nb_used;
	uint32_t cap_used;
	uint64_t in_use;
};

struct rpci_module {
	struct rpci_device *dev;
	uint64_t handle;
	struct rpci_module *next;
};

struct rpci_function {
	struct rpci_module *module;
	uint64_t handle;
	struct rpci_function *next;
};

/* One entry of a device's replay log (see client_log.c). */
struct cl_log_ent {
	bool is_push;              /* a host-to-device push into BAR2, else a command */
	struct rpci_vgpu_cmd cmd;  /* the command as submitted (host order) */
	uint64_t result;           /* ALLOC, MODULE_LOAD, FUNCTION_GET: what it gave */
	uint64_t dptr;             /* push: where */
	void *data;                /* push data, or the client memory the command read */
	uint64_t len;
};

struct rpci_device {
	struct rpci_client *client;
	struct rpci_device *next;
	uint8_t slot;              /* its slot at the proxy */
	uint32_t epoch;            /* of the session the driver state belongs to */
	uint64_t msi_seen;         /* MSIs taken in this epoch */
	uint32_t resets_seen;      /* function-level resets the proxy told of, this epoch */
	bool lost;
	/* a PCI function of the server's host, not a virtual GPU (client_pci.c) */
	bool plain;
	char pci_address[20];
	struct cl_pci_bar {
		uint64_t addr;    /* the host's address (the fabric's for this function) */
		uint64_t size;    /* 0: none */
		bool io;
		bool mem64;
		bool prefetchable;
	} pci_bar[6];
	/* the device announced a function-level reset: bring it up again (client_pci.c) */
	bool flr;
	/* with the selector */
	uint64_t lease_id;         /* 0: opened without the selector */
	struct rpci_requirements req;
	bool failover;             /* re-create it elsewhere if its server goes down */
	uint16_t function;
	/* the replay log (failover only) */
	struct cl_log_ent *rlog;
	uint32_t nb_rlog;
	uint32_t rlog_cap;
	uint64_t rlog_bytes;
	bool replaying;
	uint16_t completer_id;
	uint64_t bar0;
	uint64_t bar0_size;
	uint64_t bar2;
	uint64_t bar2_size;
	struct rpci_device_info info;
	enum rpci_h2d_mode h2d_mode;

	/* driver memory in the heap: completion queue, launch parameters, build log */
	uint8_t *drv;
	uint64_t drv_len;
	struct rpci_vgpu_cpl *cq;
	uint8_t *params;
	char *log;
	uint32_t cq_head;
	uint32_t cq_phase;
	uint32_t cq_head_told;
	uint32_t sq_tail;
	uint32_t sq_head;
	uint32_t next_cmd_id;
	uint32_t done_cmd_id;      /* the last command completed */

	/* the command a caller waits for */
	uint32_t wait_id;
	bool wait_done;
	int wait_status;
	uint64_t wait_result;
	int first_error; /* of commands nobody waited for */

	struct rpci_module *modules;
	struct rpci_function *functions;
	struct rpci_device_stats stats;
	struct cl_cmd_state *cmd;  /* client_cmd.c's, NULL until it needs some */
};

struct rpci_client {
	/* the proxy */
	const struct rpci_client_transport *t; /* NULL: the socket */
	void *targ;
	int handle;
	int sock;
	int wake_fd;            /* ours: the proxy signals it */
	int doorbell_fd;        /* the proxy's: we signal it when it sleeps */
	struct rpci_ipc_hello_ack ack;
	bool dead;              /* the proxy is gone */
	char dead_reason[128];
	uint64_t beat_seen;
	uint64_t beat_ns;       /* when the heartbeat last moved */
	uint64_t spin_ns;       /* spin this long before sleeping */
	/* shared memory */
	int memfd;
	uint8_t *shm;
	uint64_t shm_size;
	struct rpci_ipc_ctrl_page *cp;
	uint32_t req_prod;
	uint32_t cpl_cons;
	struct cl_heap heap;
	/* requests in flight */
	struct cl_op ops[CL_OPS_MAX];
	uint32_t op_gen;
	/* staging for ordinary memory: two halves, each with the fence that frees it */
	uint8_t *stage;
	struct rpci_device *stage_dev[2];
	int stage_op[2];        /* -1: free */
	/* control replies */
	uint8_t *scratch;       /* RPCI_IPC_SCRATCH bytes in the heap */
	/* devices */
	struct rpci_device *devices;
	struct rpci_device *slots[RPCI_IPC_DEVICES_MAX];
};

#define CL_SCRATCH_LEN 8192u

/* A wait loop's back-off state. */
struct cl_spin {
	uint64_t idle_since;    /* ns; 0: there was work */
	uint32_t spins;
};

/* ------------------------------------------------ shared internal functions */

/* Set the thread's error message; returns err. */
int cl_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A debug log line on stderr when RPCI_LOG=debug. */
void cl_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t cl_now_ns(void);

/* client_conn.c */
int cl_connect_socket(struct rpci_client *c, const char *path, const char *name);
int cl_shm_create(struct rpci_client *c, uint64_t size);
void cl_conn_close(struct rpci_client *c);
/* Completions and device status: the work found. */
int cl_poll(struct rpci_client *c);
/* One turn of a wait loop (after checking the condition): <0 if the proxy is gone. */
int cl_turn(struct rpci_client *c, struct cl_spin *sp);
/* A request slot, with inline data; waits while the ring is full. */
int cl_post(struct rpci_client *c, const struct rpci_ipc_req *r, const void *data, uint32_t len);
/* An op for a request that completes; its cookie. -1 if none is free. */
int cl_op_alloc(struct rpci_client *c, uint64_t *cookie);
void cl_op_free(struct rpci_client *c, int op);
/* Wait for an op (timeout_ms 0: no limit but the device's and proxy's life). */
int cl_op_wait(struct rpci_client *c, int op, struct rpci_device *dev, uint32_t timeout_ms);
/* Post a control request with parameters and wait: its status; reply in the scratch area. */
int cl_ctrl(struct rpci_client *c, uint8_t op, uint8_t dev, const void *params, uint32_t len,
	    uint32_t reply_len, uint32_t timeout_ms, void **reply);
/* The error for a proxy that is gone. */
int cl_dead_error(struct rpci_client *c);

/* client_mem.c */
int cl_heap_init(struct rpci_client *c);
void cl_heap_fini(struct rpci_client *c);
void *cl_heap_alloc(struct rpci_client *c, uint64_t size, uint64_t align);
int cl_heap_free(struct rpci_client *c, void *p);
/* Whether [p, p + len) is shared memory; its offset. */
bool cl_in_shm(const struct rpci_client *c, const void *p, uint64_t len, uint64_t *off);
/* Fabric address of shared memory at p. */
uint64_t cl_iova(const struct rpci_client *c, const void *p);
/* Pointer to the shared memory at a fabric address of ours, or NULL. */
void *cl_from_iova(const struct rpci_client *c, uint64_t iova, uint64_t len);
/* A staging half, free of earlier use (waits for its fence). NULL: error set. */
uint8_t *cl_stage_take(struct rpci_client *c, unsigned int half);
/* Post a fence for dev that frees staging half after the writes just posted. */
int cl_stage_fence(struct rpci_client *c, unsigned int half, struct rpci_device *dev);
/* Wait for both halves' fences. */
int cl_stage_drain(struct rpci_client *c);

/* client.c: the driver */
bool cl_session_alive(struct rpci_device *dev);
int cl_lost_error(struct rpci_device *dev);
void cl_cq_poll(struct rpci_device *dev);
/* Wait until the submission queue has room (the next slot's command completed). */
int cl_sq_room(struct rpci_device *dev);
int cl_submit(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, bool wait, uint32_t *id);
int cl_run_cmd(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, uint64_t *result);
int cl_take_first_error(struct rpci_device *dev);
/* Posted writes of any memory (ordinary memory through staging); src reusable on return. */
int cl_write(struct rpci_device *dev, uint64_t addr, const void *src, uint64_t size);
/* Posted writes from shared memory, sent in place: unchanged until cl_fence(). */
int cl_write_shm(struct rpci_device *dev, uint64_t addr, const void *src, uint64_t size,
		 bool copy);
/* Every earlier request sent and acknowledged. */
int cl_fence(struct rpci_device *dev);
int cl_device_bringup(struct rpci_device *dev);
/* The proxy opened a session for dev (info): take it and bring the device up. */
int cl_device_attach(struct rpci_device *dev, const struct rpci_ipc_dev_info *info);
void cl_device_reset_state(struct rpci_device *dev);
int cl_window_set(struct rpci_device *dev, uint32_t i, uint64_t base, uint64_t size);

/* Configuration reads and writes, BAR reads (client.c, for client_pci.c and client_file.c). */
int cl_cfg_read(struct rpci_device *dev, uint16_t offset, uint32_t *value);
int cl_cfg_write(struct rpci_device *dev, uint16_t offset, uint32_t value, uint8_t be);

/* client_pci.c: plain PCI functions, function-level reset */
/* Bring-up of a plain PCI function: identity, BARs (sized), no queues. */
int cl_pci_bringup(struct rpci_device *dev);
/* The fabric address of [offset, offset + size) of a plain function's BAR. */
int cl_pci_bar_range(struct rpci_device *dev, int bar, uint64_t offset, uint64_t size,
		     uint64_t *addr);
/* After a function-level reset: the driver's bring-up again, on the same session. */
int cl_pci_flr_recover(struct rpci_device *dev);
/* client_cmd.c: what queued commands hold (freed with the device) */
struct cl_cmd_state;
void cl_cmd_free(struct rpci_device *dev);

/* client_log.c: the replay log and failover */
void cl_log_cmd(struct rpci_device *dev, const struct rpci_vgpu_cmd *cmd);
void cl_log_result(struct rpci_device *dev, uint32_t cmd_id, int status, uint64_t result);
void cl_log_push(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t len);
void cl_log_free(struct rpci_device *dev);
/*
 * The device's session is lost: with failover, have the proxy connect it
 * where the selector moved it, and re-create the device's state. 0 when
 * the device is back (retry the call), else the error to return.
 */
int cl_failover(struct rpci_device *dev);

/*
 * Run an API call once, and again after a failover if its device was lost
 * and could be moved (at most three times): the one place that does it.
 */
#define CL_RETRY(dev, call) __extension__ ({ \
	struct rpci_device *cl_rdev_ = (dev); \
	int cl_ret_, cl_tries_ = 0; \
	do { \
		cl_ret_ = (call); \
	} while (cl_ret_ == -ENOTCONN && cl_rdev_ != NULL && cl_tries_++ < 3 && \
		 cl_failover(cl_rdev_) == 0); \
	cl_ret_; })

#endif /* RPCI_CLIENT_PRIVATE_H */
