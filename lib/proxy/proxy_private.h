/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_PROXY_PRIVATE_H
#define RPCI_PROXY_PRIVATE_H

/*
 * Internals of lib/proxy shared by its files: proxy.c (the core, its link
 * and its poll loop), proxy_dev.c (a program's device: its session, the
 * requests forwarded to it, what the device sends back, the local
 * answers), proxy_app.c (programs: the socket, HELLO, the rings),
 * proxy_sel.c (the programs' side of lib/ctrlnode's client endpoint: the
 * server selector). Not for other libraries.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_ether.h>
#include <rte_log.h>

#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_ctrlnode.h"
#include "rpci_ipc.h"
#include "rpci_link.h"
#include "rpci_proxy.h"
#include "rpci_tlp.h"

extern int rpci_proxy_logtype;

#define PROXY_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_proxy_logtype, "rpci.proxy: %s(): " fmt "\n", \
		__func__, ##__VA_ARGS__)

#define PROXY_APPS_MAX 64
#define DEV_TAGS 64          /* wire tags of a device's session */
#define DEV_READS 32         /* program reads in flight per device */
#define DEV_FENCES 64        /* fences waiting for acks per device */
#define CFG_SNAPSHOT_DW 64   /* the configuration header read at attach */
#define VGPU_RO_LEN 0x100    /* the rpci virtual GPU's register block shadowed */
#define OPEN_TIMEOUT_MS 3000
#define OPEN_RETRY_MS 100    /* a server may not know of an attachment yet */
#define OPEN_RETRIES 30
#define CLOSE_TIMEOUT_MS 3000
#define REQ_BUDGET 64        /* requests of one program per poll turn */
#define HELLO_TIMEOUT_MS 2000
#define SEL_REQUESTS_MAX 16  /* selector requests in flight */
#define SEL_INBOX_MAX 16
#define SERVER_PEERS_MAX 64  /* servers told when the port stops */

struct proxy_app;
struct proxy_dev;

/* States of a program's device slot. */
enum pdev_state {
	PD_FREE = 0,
	PD_WAIT_ATTACH,  /* RECONNECT: waiting for the selector's failover attachment */
	PD_CONNECTING,   /* OPEN sent, no answer yet */
	PD_RETRY,        /* refused for now (-EAGAIN): OPEN again at retry_tsc */
	PD_SNAPSHOT,     /* open; reading the configuration header */
	PD_OPEN,         /* the program's */
	PD_LOST,         /* session ended; the program learns it and closes or reconnects */
	PD_CLOSING,      /* CLOSE sent, waiting for the peer */
};

/* Kinds of wire read in flight. */
enum pread_kind {
	PR_MRD = 1,      /* a program's memory read */
	PR_CFGRD,        /* a program's configuration read */
	PR_CFGWR,        /* a program's configuration write */
	PR_SNAPSHOT,     /* the core's own read of one configuration dword */
};

/* A program's read (or configuration request) in flight. */
struct pread {
	bool in_use;
	uint8_t kind;       /* enum pread_kind */
	uint64_t cookie;    /* the program's */
	uint64_t addr;      /* MRD: fabric address of the first byte; CFG: register */
	uint8_t *dst;       /* MRD: where in the program's memory */
	uint32_t len;       /* MRD: bytes */
	uint32_t issued;    /* MRD: bytes asked for */
	uint32_t done;      /* bytes arrived */
	uint32_t chunks;    /* wire requests outstanding */
	uint32_t value;     /* CFGRD: the value */
	int error;
};

/* A control operation of a program waiting for its completion. */
struct pctrl {
	bool pending;
	uint8_t op;         /* enum rpci_ipc_op */
	uint64_t cookie;
	uint64_t reply;     /* shared-memory offset of the reply */
	uint32_t reply_len;
};

struct proxy_dev {
	struct proxy_app *app;
	uint8_t slot;
	enum pdev_state state;
	struct rpci_link_session *s;
	/* what it is */
	char server[RPCI_IPC_NAME_MAX];
	char device[RPCI_IPC_NAME_MAX];
	struct rte_ether_addr server_mac;
	uint16_t function;
	uint16_t completer_id;
	uint32_t kind;           /* enum rpci_ipc_dev_kind, from the deployment file */
	char pci_address[20];    /* RPCI_IPC_DEV_PCI: its address on its host */
	uint64_t lease_id;       /* 0: opened without the selector */
	uint64_t request_id;     /* the selector request it came from */
	bool failover;
	uint32_t epoch;
	/* opening */
	uint64_t deadline_tsc;
	uint64_t retry_tsc;
	uint32_t tries;          /* OPENs the server answered "not yet" */
	uint32_t waits;          /* turns waited for another program's close */
	struct pctrl ctrl;       /* OPEN, RECONNECT, CLOSE waiting */
	int sel_req;             /* index of the selector request it is part of, -1 */
	char reason[RPCI_IPC_REASON_MAX];
	/* reads in flight */
	struct rpci_tlp_tags *tags;
	uint32_t tag_off[DEV_TAGS];          /* offset of a wire read within its pread */
	struct pread reads[DEV_READS];
	uint32_t nb_reads;
	/* fences: (cookie, sequence) waiting for acks, in order */
	struct {
		uint64_t cookie;
		uint32_t seq;
	} fence[DEV_FENCES];
	uint32_t fence_head;
	uint32_t fence_tail;
	/* the configuration header, read at attach */
	uint32_t cfg[CFG_SNAPSHOT_DW];
	uint64_t cfg_valid;      /* dwords of cfg that may be answered locally */
	uint64_t cfg_read;       /* dwords of cfg read at attach */
	uint32_t snapshot_next;  /* next dword to ask for */
	/* the rpci virtual GPU's read-only registers */
	uint64_t bar0;           /* its address, from the program's configuration writes */
	bool is_vgpu;            /* its ID register said so */
	uint8_t ro[VGPU_RO_LEN];
	uint8_t ro_known[VGPU_RO_LEN / 8]; /* bit per byte of ro that holds a read value */
	/* its API info block (RPCI_VGPU_REG_INFO, RPCI_VGPU_INFO_MAX bytes) and a bit
	 * per byte known, allocated at the first read of it; NULL before */
	uint8_t *info;
	uint8_t *info_known;
};

struct proxy_app {
	struct rpci_proxy *p;
	uint32_t index;          /* in p->apps */
	uint32_t id;
	bool local;              /* embedded in this process (no socket) */
	bool hello_done;
	bool dying;              /* going: its devices close, then it is freed */
	int sock;
	uint64_t hello_deadline_tsc;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char name[RPCI_IPC_NAME_MAX];
	/* its memory */
	int memfd;
	uint8_t *shm;
	uint64_t shm_size;
	bool shm_mapped;         /* mapped by us (not an embedded program's own pointer) */
	uint64_t iova_base;
	uint16_t requester_id;
	struct rpci_ipc_ctrl_page *cp;
	uint32_t req_cons;       /* our copy of the request ring's consumer index */
	uint32_t cpl_prod;       /* our copy of the completion ring's producer index */
	uint32_t cpl_owed;       /* completions promised to requests in progress */
	int wake_fd;             /* its eventfd (we signal it) */
	bool need_wake;
	/* the request at the ring's head, taken but not finished */
	struct rpci_ipc_req_view head;
	bool head_valid;
	uint32_t head_done;      /* bytes of it sent / asked for */
	/* devices */
	struct proxy_dev dev[RPCI_IPC_DEVICES_MAX];
	uint32_t attn;           /* devices with timers or waits (bit per slot) */
	/* counters */
	uint64_t requests;
	uint64_t bytes_out;
	uint64_t bytes_in;
	uint64_t errors;
	uint64_t unmap_tsc;      /* dying: unmap its memory after this (frames in flight) */
};

/*
 * A selector request of a program: asked (lib/ctrlnode's client endpoint
 * holds it until its attachments are in), then its devices being opened.
 */
struct sel_request {
	bool in_use;
	struct proxy_app *app;
	uint64_t id;             /* the endpoint's request id */
	uint32_t count;
	uint8_t slots[RPCI_IPC_REQUEST_MAX];
	bool failover;           /* its devices keep a replay log and fail over */
	struct pctrl ctrl;
	struct rpci_sel_attachment att[RPCI_IPC_REQUEST_MAX];
	uint32_t nb_att;         /* all in (count) once the devices are being opened */
	char reason[RPCI_IPC_REASON_MAX];
};

struct rpci_proxy {
	const struct rpci_conf *conf;
	const struct rpci_conf_host *host;
	uint16_t host_index;
	struct rpci_link *link;
	uint8_t session_security; /* enum rpci_link_security of the sessions opened next */
	struct rpci_port_info port_info;
	uint64_t hz;
	uint32_t max_payload;
	/* programs */
	struct proxy_app *apps[PROXY_APPS_MAX];
	uint32_t nb_apps;
	uint32_t max_apps;
	uint32_t next_app_id;
	/* the socket */
	int listen_fd;
	char sock_path[108];
	uint64_t sock_dev;
	uint64_t sock_ino;
	int doorbell_fd;         /* our eventfd: programs ring it when we sleep */
	uint64_t next_fd_check_tsc;
	/* heartbeat into every program's control page */
	uint64_t heartbeat;
	uint64_t next_beat_tsc;
	uint64_t beat_tsc;
	/* the selector */
	bool with_selector;
	struct rpci_ctrlnode_client *sel; /* the conversation with it */
	struct rpci_auth *auth;  /* the host's keys: the channel checks who sends what */
	uint64_t failover_wait_tsc;
	struct sel_request sreq[SEL_REQUESTS_MAX];
	struct {
		char from[RPCI_IPC_NAME_MAX];
		char text[RPCI_IPC_TEXT_MAX];
	} inbox[SEL_INBOX_MAX];
	uint32_t inbox_head;
	uint32_t inbox_tail;
	/* servers we had sessions with (told when the port stops) */
	struct rte_ether_addr peers[SERVER_PEERS_MAX];
	uint32_t nb_peers;
	/* idle back-off */
	struct rpci_idle idle;
	uint32_t idle_sleep_us;
	uint32_t idle_empty;
	bool stopping;
	struct rpci_proxy_stats stats;
};

/* proxy.c */
uint64_t proxy_now(void);
uint64_t proxy_ms_tsc(const struct rpci_proxy *p, uint64_t ms);
void proxy_remember_peer(struct rpci_proxy *p, const struct rte_ether_addr *mac);

/* proxy_app.c */
int proxy_app_poll(struct proxy_app *app);
int proxy_sock_poll(struct rpci_proxy *p, bool force);
struct proxy_app *proxy_app_new(struct rpci_proxy *p, bool local);
void proxy_app_attach_shm(struct proxy_app *app, uint8_t *shm, uint64_t shm_size);
void proxy_app_kill(struct proxy_app *app, const char *why);
void proxy_app_free(struct proxy_app *app);
bool proxy_app_post(struct proxy_app *app, uint64_t cookie, int32_t status, uint32_t len,
		    uint64_t value, uint8_t op, uint8_t dev);
void proxy_app_wake(struct proxy_app *app);
void *proxy_app_reply(struct proxy_app *app, const struct pctrl *c);
void proxy_ctrl_done(struct proxy_app *app, struct pctrl *c, int32_t status, uint32_t len,
		     const char *reason);

/* proxy_dev.c */
int proxy_dev_init(struct proxy_dev *d, struct proxy_app *app, uint8_t slot);
void proxy_dev_fini(struct proxy_dev *d);
int proxy_dev_request(struct proxy_dev *d, const struct rpci_ipc_req_view *v, uint32_t *done);
int proxy_dev_timers(struct proxy_dev *d);
void proxy_dev_connect(struct proxy_dev *d, const struct rte_ether_addr *mac, uint16_t function,
		       uint64_t lease_id, const char *server, const char *device);
void proxy_dev_close(struct proxy_dev *d, bool wait);
void proxy_dev_lost(struct proxy_dev *d, const char *why);
const char *proxy_dev_state_name(enum pdev_state st);
void proxy_dev_info(const struct proxy_dev *d, struct rpci_ipc_dev_info *info);
/* The device slot of any program that holds that device of that server, or NULL. */
const struct proxy_dev *proxy_dev_holder(struct rpci_proxy *p, const struct rte_ether_addr *mac,
					 uint16_t function, const struct proxy_dev *self);
extern const struct rpci_link_ops proxy_link_ops;

/* proxy_sel.c */
int proxy_sel_init(struct rpci_proxy *p, char *err, size_t err_len);
void proxy_sel_fini(struct rpci_proxy *p);
int proxy_sel_timers(struct rpci_proxy *p);
void proxy_sel_rx(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
		  uint16_t len, void *arg);
int proxy_sel_request(struct proxy_app *app, const struct rpci_ipc_request_params *rp,
		      const struct pctrl *c);
void proxy_sel_release(struct rpci_proxy *p, uint64_t lease_id);
int proxy_sel_report(struct proxy_dev *d, const struct rpci_ipc_report_params *r);
int proxy_sel_message(struct rpci_proxy *p, const char *to, const char *text);
bool proxy_sel_take_failover(struct rpci_proxy *p, uint64_t request_id,
			     struct rpci_sel_attachment *att);
void proxy_sel_dev_opened(struct proxy_dev *d, int status);
void proxy_sel_app_gone(struct proxy_app *app);
bool proxy_sel_has_leases(const struct rpci_proxy *p);

#endif /* RPCI_PROXY_PRIVATE_H */
