/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CLIENT_PRIVATE_H
#define RPCI_CLIENT_PRIVATE_H

/*
 * Internals of lib/client shared by its files: client.c (the driver and the
 * API), client_sel.c (the server selector), client_log.c (the replay log
 * and failover), client_pci.c (plain PCI functions, configuration space,
 * function-level reset), client_file.c (files in and out of device
 * memory). Not for other libraries.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_log.h>

#include "rpci_client.h"
#include "rpci_ctrl.h"
#include "rpci_link.h"
#include "rpci_tlp.h"
#include "rpci_vgpu_hw.h"

_Static_assert(RPCI_KERNEL_ARGS_MAX == RPCI_VGPU_ARGS_MAX, "launch argument limits differ");

extern int rpci_client_logtype;

#define CLIENT_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_client_logtype, "rpci.client: %s(): " fmt "\n", \
		__func__, ##__VA_ARGS__)

/* Where the driver puts the BARs in the fabric's address space. */
#define BAR0_ADDR 0xe0000000ull
#define BAR2_ADDR 0x1000000000ull
/* Queue sizes the driver asks for. */
#define SQ_SIZE RPCI_VGPU_SQ_MAX
#define CQ_SIZE 256u
#define PARAMS_SLOT (8u + 16u * RPCI_VGPU_ARGS_MAX)
#define PARAMS_MAX PARAMS_SLOT
#define LOG_AREA 16384u
#define DEV_TAGS 64
#define OPEN_TIMEOUT_MS 3000
#define COPY_MAX_CMD (1ull << 30) /* bytes one copy command moves */



struct host_window {
	uint64_t base;
	uint64_t size;
	bool in_use;
	void *alloc;    /* rpci_host_alloc() memory, else NULL */
	bool rte;       /* alloc came from rte_malloc */
};

/* A programmed read in progress (config or BAR reads). */
struct pio_read {
	uint64_t done;
	uint32_t outstanding;
	int error;
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

#define CL_REQ_MAX 16     /* devices one request may ask for */
#define CL_FAILOVER_MAX 16
#define CL_INBOX_MAX 16

struct rpci_device {
	struct rpci_client *client;
	struct rpci_device *next;
	struct rpci_link_session *s;
	bool lost;
	/* with the selector */
	uint64_t lease_id;        /* 0: opened without the selector */
	uint64_t request_id;      /* the request it came from (failover ATTACHes name it) */
	struct rpci_requirements req;
	bool failover;            /* re-create it elsewhere if its server goes down */
	uint16_t function;
	uint8_t server_mac[6];
	/* the replay log (failover only) */
	struct cl_log_ent *rlog;
	uint32_t nb_rlog;
	uint32_t rlog_cap;
	uint64_t rlog_bytes;
	bool replaying;
	uint16_t requester_id;
	uint16_t completer_id;
	uint64_t bar0;
	uint64_t bar0_size;
	uint64_t bar2;
	uint64_t bar2_size;
	/* a PCI function of the server's host, not a virtual GPU (client_pci.c) */
	bool plain;
	struct cl_pci_bar {
		uint64_t addr;    /* the host's address (the fabric's for this function) */
		uint64_t size;    /* 0: none */
		bool io;
		bool mem64;
		bool prefetchable;
	} pci_bar[6];
	/* the device announced a function-level reset: bring it up again (client_pci.c) */
	bool flr;
	struct rpci_device_info info;
	enum rpci_h2d_mode h2d_mode;

	/* driver memory: completion queue, launch parameters, build log */
	uint8_t *drv;
	size_t drv_len;
	struct rpci_vgpu_cpl *cq;
	uint8_t *params;
	char *log;
	uint32_t cq_head;
	uint32_t cq_phase;
	uint32_t cq_head_told;
	uint32_t sq_tail;
	uint32_t sq_head;
	uint32_t next_cmd_id;

	/* the command a caller waits for */
	uint32_t wait_id;
	bool wait_done;
	int wait_status;
	uint64_t wait_result;
	int first_error; /* of commands nobody waited for */

	struct host_window windows[RPCI_VGPU_WINDOWS];
	struct rpci_tlp_tags *tags;
	struct pio_read *pio;
	struct rpci_module *modules;
	struct rpci_function *functions;
	struct rpci_device_stats stats;
};

struct rpci_client {
	const struct rpci_conf *conf;
	const struct rpci_conf_host *host;
	uint16_t host_index;
	struct rpci_link *link;
	struct rpci_port_info port_info;
	uint64_t request_tsc;
	struct rpci_device *devices;
	/* the server selector */
	bool with_selector;
	uint8_t selector_mac[6];
	struct rpci_ctrl_chan *chan;
	uint64_t renew_tsc;
	uint64_t next_renew_tsc;
	uint64_t failover_wait_tsc;  /* how long a lost device waits for a new one */
	/* the request in flight */
	uint64_t req_id;
	uint32_t req_count;
	bool req_answered;
	int req_error;
	char req_reason[RPCI_SEL_REASON_MAX];
	struct rpci_sel_attachment req_att[CL_REQ_MAX];
	uint32_t req_nb_att;
	/* failover attachments not taken yet, by the request they replace */
	struct {
		bool used;
		uint64_t request_id;
		struct rpci_sel_attachment att;
	} fo[CL_FAILOVER_MAX];
	/* leases the selector ended */
	uint64_t detached[CL_FAILOVER_MAX];
	uint32_t nb_detached;
	/* texts from other clients */
	struct {
		char from[RPCI_SEL_NAME_MAX];
		char text[RPCI_CTRL_TEXT_MAX];
	} inbox[CL_INBOX_MAX];
	uint32_t inbox_head;
	uint32_t inbox_tail;
};


/* ------------------------------------------------ shared internal functions */

/* Set the thread's error message; returns err. */
int cl_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether the device's session is still open (else marks it lost). */
bool cl_session_alive(struct rpci_device *dev);
/* The error for a lost device (-ENOTCONN, message set). */
int cl_lost_error(struct rpci_device *dev);
/* One turn of a wait loop: poll the link, take completions, timers, back off. */
void cl_wait_turn(struct rpci_device *dev, struct rpci_idle *idle);
void cl_idle_init(struct rpci_device *dev, struct rpci_idle *idle);
/* Take new completion entries. */
void cl_cq_poll(struct rpci_device *dev);
/* Queue a command (wait: the caller will wait for it) / run one to completion. */
int cl_submit(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, bool wait, uint32_t *id);
int cl_run_cmd(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, uint64_t *result);
int cl_take_first_error(struct rpci_device *dev);
/* Posted writes to fabric addresses. */
int cl_post_write(struct rpci_device *dev, uint64_t addr, const uint8_t *src, uint64_t size);
/* Program an address-translator window / take one / give one back. */
int cl_window_set(struct rpci_device *dev, uint32_t i, uint64_t base, uint64_t size);
int cl_window_add(struct rpci_device *dev, const void *p, uint64_t size, int *slot);
void cl_window_del(struct rpci_device *dev, int slot);
/* The driver's bring-up of a function (config space, BARs, MSI, queues). */
int cl_device_bringup(struct rpci_device *dev);
/* Unlink from the client and free everything of a device. */
void cl_device_free(struct rpci_device *dev);
/* A device structure with its driver memory, not connected. NULL: ENOMEM. */
struct rpci_device *cl_device_alloc(struct rpci_client *c, const char *server);
/* Open a session to function fn of the server at mac (lease: the selector's) and bring it up. */
int cl_device_connect(struct rpci_device *dev, const uint8_t mac[6], uint16_t fn,
		      uint64_t lease_id, const char *server);

/* Back to the driver state of a device just opened (queues, tags, flags). */
void cl_driver_reset(struct rpci_device *dev);
/* Configuration reads and writes, BAR reads (client.c, for client_pci.c). */
int cl_cfg_read(struct rpci_device *dev, uint16_t offset, uint32_t *value);
int cl_cfg_write(struct rpci_device *dev, uint16_t offset, uint32_t value, uint8_t be);
int cl_mem_read(struct rpci_device *dev, uint64_t addr, uint8_t *dst, uint64_t size);

/* client_pci.c: plain PCI functions, function-level reset */
/* Whether function fn of server is a PCI function of its host (kind "pci") in conf. */
bool cl_pci_conf_plain(const struct rpci_conf *conf, const char *server, uint16_t fn);
/* Bring-up of a plain PCI function: identity, BARs (sized), no queues. */
int cl_pci_bringup(struct rpci_device *dev);
/* The fabric address of [offset, offset + size) of a plain function's BAR. */
int cl_pci_bar_range(struct rpci_device *dev, int bar, uint64_t offset, uint64_t size,
		     uint64_t *addr);
/* A vendor-defined message from the device (the function-level reset notice). */
int cl_pci_rx_vendor(struct rpci_device *dev, const struct rpci_tlp *msg);
/* After a function-level reset: the driver's bring-up again, on the same session. */
int cl_pci_flr_recover(struct rpci_device *dev);

/* client_sel.c: the server selector */
int cl_sel_init(struct rpci_client *c);
void cl_sel_fini(struct rpci_client *c);
void cl_rx_ctrl(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
		uint16_t len, void *arg);
/* Renewals and retries; called from every wait. */
void cl_sel_timers(struct rpci_client *c);
/* Tell the selector a device is given back (close). */
void cl_sel_release(struct rpci_device *dev);
/* Whether the selector ended the device's lease. */
bool cl_sel_detached(struct rpci_device *dev);
/* Take the failover attachment of the device's request (0), or -EAGAIN. */
int cl_sel_take_failover(struct rpci_device *dev, struct rpci_sel_attachment *att);
/* Wait for it (bounded) and connect the device to it. */
int cl_sel_reconnect(struct rpci_device *dev);

/* client_log.c: the replay log and failover */
/* Record a command just submitted (copying the client memory it reads). */
void cl_log_cmd(struct rpci_device *dev, const struct rpci_vgpu_cmd *cmd);
/* Record a completed command's result (ALLOC, MODULE_LOAD, FUNCTION_GET) or drop it (failed). */
void cl_log_result(struct rpci_device *dev, uint32_t cmd_id, int status, uint64_t result);
/* Record a push of data into BAR2. */
void cl_log_push(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t len);
void cl_log_free(struct rpci_device *dev);
/*
 * The device's session is lost: with failover, wait for the selector's new
 * attachment, connect, re-create the device's state. 0 when the device is
 * back (retry the call), else the error to return.
 */
int cl_failover(struct rpci_device *dev);

#endif /* RPCI_CLIENT_PRIVATE_H */
