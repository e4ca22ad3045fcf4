/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_IPC_H
#define RPCI_IPC_H

/**
 * @file
 * The interface between a program (librpci) and the client daemon of its
 * host (rpci-proxy, lib/proxy): what crosses the unix socket once, and the
 * layout of the shared memory the two use afterwards.
 *
 * A program connects to the proxy's unix socket (SOCK_SEQPACKET) and sends
 * HELLO with a memfd of its own (sealed against shrinking, so that the
 * proxy's mapping can never fault). The proxy maps the memfd and answers
 * HELLO_ACK with two eventfds: one it signals to wake the program, one the
 * program signals to wake the proxy. From then on the socket only tells each
 * side that the other is gone (EOF), and everything else goes through the
 * shared memory:
 *
 *   offset 0                     the control page (struct rpci_ipc_ctrl_page):
 *                                ring indices, sleep flags, the proxy's
 *                                heartbeat, the state and MSI count of each
 *                                of the program's devices
 *   RPCI_IPC_REQ_OFF             the request ring: RPCI_IPC_REQ_SLOTS slots of
 *                                64 bytes, program -> proxy
 *   RPCI_IPC_CPL_OFF             the completion ring: RPCI_IPC_CPL_SLOTS
 *                                slots of 32 bytes, proxy -> program
 *   RPCI_IPC_HEAP_OFF .. size    the program's heap: its drivers' queues,
 *                                buffers it copies from and to, staging
 *
 * On the fabric, the proxy names shared-memory offset o as the address
 * iova_base + o (HELLO_ACK): device DMA to that address lands in the
 * program's memory and nowhere else.
 *
 * Everything a program writes is untrusted by the proxy: ring indices,
 * requests, offsets and lengths are checked by the functions below, which
 * are pure (no DPDK) so that they can be unit tested and fuzzed alone.
 * All fields are in host byte order (both ends are on one host).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Protocol version (HELLO, layouts). */
#define RPCI_IPC_VERSION 1
/** First field of every socket message and of the control page ("RPCI"). */
#define RPCI_IPC_MAGIC 0x49435052u

/** Longest name (host, server, device, program), NUL included. */
#define RPCI_IPC_NAME_MAX 32
/** Longest reason text, NUL included. */
#define RPCI_IPC_REASON_MAX 128
/** Longest client-to-client text, NUL included (as lib/ctrl's). */
#define RPCI_IPC_TEXT_MAX 256
/** Devices a program holds at once. */
#define RPCI_IPC_DEVICES_MAX 32
/** Devices one REQUEST may ask for. */
#define RPCI_IPC_REQUEST_MAX 16

/** Layout of the shared memory. */
#define RPCI_IPC_CTRL_SIZE 0x4000u
#define RPCI_IPC_REQ_SLOT_SIZE 64u
#define RPCI_IPC_REQ_SLOTS 4096u
#define RPCI_IPC_CPL_SLOT_SIZE 32u
#define RPCI_IPC_CPL_SLOTS 4096u
#define RPCI_IPC_REQ_OFF RPCI_IPC_CTRL_SIZE
#define RPCI_IPC_CPL_OFF (RPCI_IPC_REQ_OFF + RPCI_IPC_REQ_SLOTS * RPCI_IPC_REQ_SLOT_SIZE)
#define RPCI_IPC_HEAP_OFF 0x100000ull
/** Smallest and largest shared memory a proxy takes. */
#define RPCI_IPC_SHM_MIN (RPCI_IPC_HEAP_OFF + (16ull << 20))
#define RPCI_IPC_SHM_MAX (64ull << 30)

/** Inline data slots one request may carry after its own. */
#define RPCI_IPC_INLINE_SLOTS_MAX 16u
/** Most inline data bytes of one request. */
#define RPCI_IPC_INLINE_MAX (RPCI_IPC_INLINE_SLOTS_MAX * RPCI_IPC_REQ_SLOT_SIZE)
/** Most bytes one MWR or MRD request moves (the proxy splits it into TLPs). */
#define RPCI_IPC_XFER_MAX (64u << 20)

/* ------------------------------------------------------- the socket */

/** Socket message types. */
enum rpci_ipc_msg_type {
	RPCI_IPC_HELLO = 1,     /**< program -> proxy, with the memfd */
	RPCI_IPC_HELLO_ACK = 2, /**< proxy -> program, with two eventfds (if accepted) */
};

/** HELLO: a program asks to be served. One memfd comes with it (SCM_RIGHTS). */
struct rpci_ipc_hello {
	uint32_t magic;                 /**< RPCI_IPC_MAGIC */
	uint16_t version;               /**< RPCI_IPC_VERSION */
	uint16_t type;                  /**< RPCI_IPC_HELLO */
	uint64_t shm_size;              /**< bytes of the memfd (its size, sealed) */
	char name[RPCI_IPC_NAME_MAX];   /**< the program's name, for people */
};

/** HELLO_ACK flags. */
#define RPCI_IPC_F_SELECTOR 0x1 /**< the deployment has a server selector */

/**
 * HELLO_ACK: the proxy's answer. If status is 0 two eventfds come with it:
 * the first is the program's (the proxy signals it), the second the proxy's.
 */
struct rpci_ipc_hello_ack {
	uint32_t magic;                 /**< RPCI_IPC_MAGIC */
	uint16_t version;               /**< RPCI_IPC_VERSION */
	uint16_t type;                  /**< RPCI_IPC_HELLO_ACK */
	int32_t status;                 /**< 0, or why refused (negative errno) */
	uint32_t flags;                 /**< RPCI_IPC_F_* */
	char reason[RPCI_IPC_REASON_MAX]; /**< why refused, for people */
	uint32_t app_id;                /**< the program's number at this proxy */
	uint16_t requester_id;          /**< its id on the fabric (a function of its own) */
	uint16_t reserved;
	uint64_t iova_base;             /**< fabric address of shared-memory offset 0 */
	uint32_t max_payload;           /**< the link's TLP max payload */
	uint32_t dead_ms;               /**< a proxy whose heartbeat stops this long is gone */
	uint32_t request_timeout_ms;    /**< how long reads and control calls may take */
	uint32_t heartbeat_us;          /**< how often the proxy beats */
	char host[RPCI_IPC_NAME_MAX];   /**< the client host's name in the deployment */
};

/* ------------------------------------------------ the control page */

/** Ring indices: free-running counters, each in a cache line of its own. */
struct rpci_ipc_ring_idx {
	uint32_t prod;        /**< slots written by the producer */
	uint8_t pad0[60];
	uint32_t cons;        /**< slots taken by the consumer */
	uint8_t pad1[60];
};

/** States of a program's device slot (written by the proxy). */
enum rpci_ipc_dev_state {
	RPCI_IPC_DEV_FREE = 0,  /**< not in use */
	RPCI_IPC_DEV_OPEN = 1,  /**< a session to the device is open */
	RPCI_IPC_DEV_LOST = 2,  /**< the session ended (server gone, lease ended) */
};

/** A device slot as the proxy shows it to the program. */
struct rpci_ipc_dev_status {
	uint32_t state;       /**< enum rpci_ipc_dev_state */
	uint32_t epoch;       /**< changes with each new session of the slot */
	uint64_t msi;         /**< MSIs the device raised in this epoch */
	uint32_t resets;      /**< function-level resets the device announced, this epoch */
	uint8_t pad[44];
};

/** The control page, at shared-memory offset 0. */
struct rpci_ipc_ctrl_page {
	uint32_t magic;               /**< RPCI_IPC_MAGIC, written by the program */
	uint32_t version;             /**< RPCI_IPC_VERSION */
	uint8_t pad0[56];
	struct rpci_ipc_ring_idx req; /**< program produces, proxy consumes */
	struct rpci_ipc_ring_idx cpl; /**< proxy produces, program consumes */
	uint32_t app_sleeping;        /**< program: about to sleep on its eventfd */
	uint8_t pad1[60];
	uint32_t proxy_sleeping;      /**< proxy: about to sleep on its eventfd */
	uint32_t proxy_closing;       /**< proxy: shutting down, or done with this program */
	uint64_t heartbeat;           /**< proxy: bumped every heartbeat_us */
	uint8_t pad2[48];
	struct rpci_ipc_dev_status dev[RPCI_IPC_DEVICES_MAX];
};

/* ------------------------------------------------------ the rings */

/** Request operations. */
enum rpci_ipc_op {
	/**
	 * Posted writes of [addr, addr + len) of the device: data inline
	 * (RPCI_IPC_REQ_F_INLINE), or at shared-memory offset buf. From buf the
	 * proxy sends in place (zero copy): the program leaves the bytes alone
	 * until a later FENCE of the device completes, unless F_COPY asks the
	 * proxy to copy them (then they are free once the request is consumed).
	 * No completion; a write that cannot be sent fails the next FENCE.
	 */
	RPCI_IPC_OP_MWR = 1,
	/** Read [addr, addr + len) of the device into shared memory at buf. */
	RPCI_IPC_OP_MRD = 2,
	/** Configuration read of DW register addr; arg: byte enables. Completion value. */
	RPCI_IPC_OP_CFGRD = 3,
	/** Configuration write of DW register addr: arg = value | byte enables << 32. */
	RPCI_IPC_OP_CFGWR = 4,
	/** Completes once every earlier request of the device was sent and acknowledged. */
	RPCI_IPC_OP_FENCE = 5,
	/** Open the device named by struct rpci_ipc_open_params (at buf) into slot dev. */
	RPCI_IPC_OP_OPEN = 6,
	/** Ask the selector for devices (struct rpci_ipc_request_params at buf). */
	RPCI_IPC_OP_REQUEST = 7,
	/** Close device slot dev (its session, its lease). */
	RPCI_IPC_OP_CLOSE = 8,
	/** The device of slot dev was lost: connect it where the selector moved it. */
	RPCI_IPC_OP_RECONNECT = 9,
	/** Tell the selector how long a job took (struct rpci_ipc_report_params). */
	RPCI_IPC_OP_REPORT = 10,
	/** Send a text to another client host (struct rpci_ipc_message at buf). */
	RPCI_IPC_OP_MSG_SEND = 11,
	/** Take a text for this host, if any: status 1 and a struct rpci_ipc_message reply. */
	RPCI_IPC_OP_MSG_RECV = 12,
	/** The proxy's link counters (struct rpci_ipc_link_stats reply). */
	RPCI_IPC_OP_STATS = 13,
	/**
	 * The devices of the deployment's servers, from index first of
	 * struct rpci_ipc_devices_params (struct rpci_ipc_devices_reply).
	 */
	RPCI_IPC_OP_DEVICES = 14,
	RPCI_IPC_OP_MAX = 15,
};

/** Request flags. */
#define RPCI_IPC_REQ_F_INLINE 0x01 /**< MWR: the data follows in the next slots */
#define RPCI_IPC_REQ_F_COPY 0x02   /**< MWR from buf: the proxy copies the data */

/**
 * One request slot (64 bytes). A request with inline data is followed by
 * nslots - 1 slots that hold its data.
 *
 * Control operations (OPEN .. STATS) read their parameters at shared-memory
 * offset buf (len bytes) and write their reply at offset arg (arg2 bytes);
 * every reply starts with a reason text, filled when the operation fails.
 */
struct rpci_ipc_req {
	uint8_t op;        /**< enum rpci_ipc_op */
	uint8_t flags;     /**< RPCI_IPC_REQ_F_* */
	uint8_t nslots;    /**< slots this request takes, itself included (1..17) */
	uint8_t dev;       /**< device slot (0..RPCI_IPC_DEVICES_MAX - 1) */
	uint32_t len;      /**< bytes (MWR, MRD, parameters) */
	uint64_t addr;     /**< fabric address (MWR, MRD); DW register (CFGRD, CFGWR) */
	uint64_t buf;      /**< shared-memory offset of data or parameters */
	uint64_t cookie;   /**< echoed in the completion */
	uint64_t arg;      /**< CFG: value and enables; control: reply offset */
	uint32_t arg2;     /**< control: reply length */
	uint8_t reserved[20];
};

/** One completion slot (32 bytes). */
struct rpci_ipc_cpl {
	uint64_t cookie;   /**< the request's */
	int32_t status;    /**< 0 (or an op's positive answer), or a negative errno */
	uint32_t len;      /**< bytes read (MRD), reply bytes written (control) */
	uint64_t value;    /**< CFGRD: the register's value */
	uint8_t op;        /**< the request's op */
	uint8_t dev;       /**< its device slot */
	uint8_t reserved[6];
};

/* ------------------------------------------ control parameters and replies */

/** OPEN: which device. */
struct rpci_ipc_open_params {
	char server[RPCI_IPC_NAME_MAX]; /**< server host ("": the one the proxy's host names) */
	char device[RPCI_IPC_NAME_MAX]; /**< device on it ("": its first) */
};

/** Requirements of a REQUEST (zero or empty: any). */
struct rpci_ipc_requirements {
	uint16_t vendor_id;
	uint16_t reserved;
	uint32_t class_code;
	uint32_t class_mask;
	uint32_t module_kinds;
	uint64_t min_memory;
	char backend[32];
	char kernel[32];
	char job[32];
	uint64_t job_size;
	uint8_t no_failover;
	uint8_t pad[7];
};

/** REQUEST: count devices into the slots given. */
struct rpci_ipc_request_params {
	struct rpci_ipc_requirements req;
	uint32_t count;                        /**< 1..RPCI_IPC_REQUEST_MAX */
	uint8_t slots[RPCI_IPC_REQUEST_MAX];   /**< device slots to fill, distinct */
	uint8_t pad[4];
};

/** Kinds of device a slot holds (the deployment file's device kinds). */
enum rpci_ipc_dev_kind {
	RPCI_IPC_DEV_VGPU = 0,  /**< an rpci virtual GPU */
	RPCI_IPC_DEV_PCI = 1,   /**< a PCI function of the server's host: configuration, BARs */
};

/** What a device is, once opened (reply of OPEN and RECONNECT; REQUEST: one each). */
struct rpci_ipc_dev_info {
	char server[RPCI_IPC_NAME_MAX];
	char device[RPCI_IPC_NAME_MAX];
	uint64_t lease_id;      /**< the selector's lease (0: none) */
	uint16_t completer_id;  /**< the device's id on the fabric */
	uint16_t function;      /**< its function number at its server */
	uint32_t epoch;         /**< the slot's epoch of this session */
	uint32_t kind;          /**< enum rpci_ipc_dev_kind */
	char pci_address[20];   /**< RPCI_IPC_DEV_PCI: its address on its host, "DDDD:BB:DD.F" */
};

/** DEVICES parameters. */
struct rpci_ipc_devices_params {
	uint32_t first;         /**< index of the first device wanted */
	uint32_t pad;
};

/** A device of the deployment (DEVICES), as its file describes it. */
struct rpci_ipc_dev_entry {
	char server[RPCI_IPC_NAME_MAX];
	char device[RPCI_IPC_NAME_MAX];
	char backend[RPCI_IPC_NAME_MAX]; /**< its compute backend; "pci": a host function */
	char pci_address[20];   /**< RPCI_IPC_DEV_PCI: its address on its host */
	uint32_t kind;          /**< enum rpci_ipc_dev_kind */
	uint16_t function;      /**< its function number at its server */
	uint16_t pad;
	uint64_t memory_bytes;  /**< a virtual GPU's memory */
};

/** Devices in one DEVICES reply. */
#define RPCI_IPC_DEVICES_PER_REPLY 24

/** Reply of DEVICES. */
struct rpci_ipc_devices_reply {
	char reason[RPCI_IPC_REASON_MAX];
	uint32_t total;         /**< devices of the deployment */
	uint32_t count;         /**< entries filled, from first */
	struct rpci_ipc_dev_entry ent[RPCI_IPC_DEVICES_PER_REPLY];
};

/** Reply of OPEN and RECONNECT. */
struct rpci_ipc_open_reply {
	char reason[RPCI_IPC_REASON_MAX];
	struct rpci_ipc_dev_info info;
};

/** Reply of REQUEST. */
struct rpci_ipc_request_reply {
	char reason[RPCI_IPC_REASON_MAX];
	uint32_t count;
	uint32_t pad;
	struct rpci_ipc_dev_info info[RPCI_IPC_REQUEST_MAX];
};

/** REPORT. */
struct rpci_ipc_report_params {
	char job[32];
	uint64_t job_size;
	uint64_t elapsed_us;
};

/** MSG_SEND parameters and MSG_RECV reply (after the reason). */
struct rpci_ipc_message {
	char reason[RPCI_IPC_REASON_MAX];
	char peer[RPCI_IPC_NAME_MAX];   /**< send: to; receive: from */
	char text[RPCI_IPC_TEXT_MAX];
};

/** Reply of STATS: the proxy's link counters. */
struct rpci_ipc_link_stats {
	char reason[RPCI_IPC_REASON_MAX];
	uint64_t rx_frames;
	uint64_t tx_frames;
	uint64_t retransmits;
	uint64_t rx_bad_crc;
	uint64_t rx_malformed;   /**< messages that did not decode */
	uint64_t rx_dropped;
	uint64_t rx_data;
	uint64_t rx_duplicate;
	uint64_t rx_out_of_order;
	uint64_t rx_bad_header;
	uint64_t rx_not_ours;
	uint64_t tx_data;
	uint64_t timeouts;
	uint64_t nak_sent;
	uint64_t nak_rcvd;
};

/** A generic reply (reason only: CLOSE, REPORT, MSG_SEND, errors). */
struct rpci_ipc_reply {
	char reason[RPCI_IPC_REASON_MAX];
};

/* ---------------------------------------------------------- checks */

/** A request taken out of the ring and checked (its inline data copied). */
struct rpci_ipc_req_view {
	struct rpci_ipc_req req;                  /**< the request slot, copied */
	uint32_t nslots;                          /**< slots it took */
	uint8_t data[RPCI_IPC_INLINE_MAX];        /**< inline data (req.len bytes) */
};

/**
 * Take the request at the consumer's position of a request ring, copying
 * it (and its inline data) out of the shared memory first, and check it:
 * a known op, a device slot in range, lengths within the limits of the op,
 * offsets and replies inside the shared memory, inline data that fits the
 * slots it says.
 *
 * @param slots
 *   The ring's slots (RPCI_IPC_REQ_SLOTS of them).
 * @param cons
 *   The consumer's position.
 * @param avail
 *   Slots the producer has published past cons (checked by the caller to
 *   be at most RPCI_IPC_REQ_SLOTS).
 * @param shm_size
 *   Size of the shared memory.
 * @param view
 *   Filled with the request.
 * @return
 *   0, -EAGAIN (the request's slots are not all published yet), or
 *   -EPROTO / -EINVAL / -EFAULT / -E2BIG (a malformed request: the program
 *   broke the protocol; view->nslots still says how many slots to skip,
 *   at least 1).
 */
int rpci_ipc_req_take(const void *slots, uint32_t cons, uint32_t avail, uint64_t shm_size,
		      struct rpci_ipc_req_view *view);

/**
 * Whether [off, off + len) lies inside a shared memory of size shm_size.
 *
 * @return
 *   true if it does (len 0 included, off <= shm_size).
 */
bool rpci_ipc_range_ok(uint64_t off, uint64_t len, uint64_t shm_size);

/**
 * Check a HELLO message.
 *
 * @param buf
 *   The bytes received.
 * @param len
 *   Their number.
 * @param hello
 *   Filled with the message (name NUL-terminated).
 * @return
 *   0, -EPROTO (not a HELLO of this version), -EINVAL (bad size).
 */
int rpci_ipc_hello_check(const void *buf, size_t len, struct rpci_ipc_hello *hello);

/**
 * Check a HELLO_ACK message.
 *
 * @return
 *   0 (check ack->status for the answer), -EPROTO.
 */
int rpci_ipc_hello_ack_check(const void *buf, size_t len, struct rpci_ipc_hello_ack *ack);

/**
 * Whether a fixed-size name field holds a NUL-terminated string.
 *
 * @return
 *   true if a NUL is within len bytes.
 */
bool rpci_ipc_str_ok(const char *s, size_t len);

/**
 * Check REQUEST parameters (copied out of shared memory by the caller).
 *
 * @return
 *   0, -EINVAL (count out of range, a slot out of range or twice, a name
 *   not terminated).
 */
int rpci_ipc_request_params_check(const struct rpci_ipc_request_params *p);

/* ---------------------------------------------------- unix sockets */

/**
 * Listen on a unix socket (non-blocking, close-on-exec): the directory is
 * made if missing (mode 0755), a stale socket of a dead process is
 * replaced, one a live process listens on is not; the socket gets the
 * owner, group and mode given.
 *
 * @param path
 *   Where (an absolute path shorter than sun_path).
 * @param type
 *   SOCK_STREAM or SOCK_SEQPACKET.
 * @param owner
 *   Its owner, or (uid_t)-1 to leave it.
 * @param group
 *   Its group, or (gid_t)-1 to leave it.
 * @param mode
 *   Its permission bits.
 * @param backlog
 *   Connections waiting to be accepted.
 * @param dev
 *   Set to the socket file's device (for rpci_ipc_unlisten()).
 * @param ino
 *   Set to its inode.
 * @return
 *   The listening socket, or -EINVAL, -ENAMETOOLONG, -EADDRINUSE (a live
 *   process listens there), -EEXIST (the path is not a socket), or the
 *   negative errno of the mkdir, socket, bind, chown, chmod or listen that
 *   failed.
 */
int rpci_ipc_listen(const char *path, int type, uid_t owner, gid_t group, mode_t mode,
		    int backlog, uint64_t *dev, uint64_t *ino);

/**
 * The ids of a socket's owner and group as the deployment file names them.
 *
 * @param owner
 *   A user name, or "" (then *uid is (uid_t)-1: leave it).
 * @param group
 *   A group name, or "" (then *gid is (gid_t)-1).
 * @param uid, gid
 *   Set.
 * @return
 *   0, or -ENOENT (no such user or group).
 */
int rpci_ipc_ids(const char *owner, const char *group, uid_t *uid, gid_t *gid);

/**
 * Whether a user is a member of a group: its primary group, or one of its
 * supplementary groups (the system's group database).
 *
 * @param uid
 *   The user (SO_PEERCRED's uid).
 * @param gid
 *   Its primary group (SO_PEERCRED's gid).
 * @param group
 *   The group.
 * @return
 *   true or false (false too when the user is not in the database).
 */
bool rpci_ipc_user_in_group(uid_t uid, gid_t gid, gid_t group);

/**
 * Close a listening socket and remove its file, if the file is still the
 * one rpci_ipc_listen() made (another process may have taken the path).
 *
 * @param fd
 *   The socket (negative: nothing to close).
 * @param path
 *   Its path.
 * @param dev
 *   As rpci_ipc_listen() gave.
 * @param ino
 *   As rpci_ipc_listen() gave.
 */
void rpci_ipc_unlisten(int fd, const char *path, uint64_t dev, uint64_t ino);

/* ------------------------------------------------------ ring access */

/** Load an index the other side writes (acquire). */
static inline uint32_t
rpci_ipc_load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/** Publish an index (release). */
static inline void
rpci_ipc_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/** The request ring's slots of a shared memory. */
static inline struct rpci_ipc_req *
rpci_ipc_req_slots(void *shm)
{
	return (struct rpci_ipc_req *)((uint8_t *)shm + RPCI_IPC_REQ_OFF);
}

/** The completion ring's slots of a shared memory. */
static inline struct rpci_ipc_cpl *
rpci_ipc_cpl_slots(void *shm)
{
	return (struct rpci_ipc_cpl *)((uint8_t *)shm + RPCI_IPC_CPL_OFF);
}

#ifdef __cplusplus
}
#endif

#endif /* RPCI_IPC_H */
