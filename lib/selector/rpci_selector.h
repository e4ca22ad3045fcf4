/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_SELECTOR_H
#define RPCI_SELECTOR_H

/**
 * @file
 * The server selector's logic: the status table of every device of every
 * GPU server, requirement matching, the policies that choose a device,
 * dedicated attachments with leases, heartbeats, failover.
 *
 * Pure C with no DPDK types and no I/O: the caller feeds it what arrives
 * (registrations, status reports, requests, releases, job reports) and the
 * current time, and sends what it decides (attach, reject, detach). That
 * keeps it unit-testable, fuzzable and benchmarkable alone.
 *
 * Time is the caller's monotonic clock in microseconds.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPCI_SEL_NAME_MAX 32    /**< host, device, backend names (NUL included) */
#define RPCI_SEL_KERNELS_MAX 16 /**< built-in kernel names a device lists */
#define RPCI_SEL_REASON_MAX 128 /**< a rejection's reason text */
#define RPCI_SEL_DEVICE_NAME_MAX 64 /**< the backend's device name ("NVIDIA A100", "pthread") */
#define RPCI_SEL_CLIENTS_MAX 1024 /**< clients whose usage the selector keeps */

/** Device states in the table. */
enum rpci_sel_state {
	RPCI_SEL_FREE = 0,     /**< registered, heard from, nobody attached */
	RPCI_SEL_ATTACHED = 1, /**< dedicated to one client */
	RPCI_SEL_DRAINING = 2, /**< its client may finish; nobody new gets it */
	RPCI_SEL_DOWN = 3,     /**< its server missed its heartbeats */
};

/** Selection policies. */
enum rpci_sel_policy {
	RPCI_SEL_FIRST_FIT = 0,    /**< the first free device that matches */
	RPCI_SEL_BEST_FIT = 1,     /**< the matching device with the least memory */
	RPCI_SEL_LEAST_LOADED = 2, /**< the matching device whose server is least loaded */
	RPCI_SEL_LEARNED = 3,      /**< predicted fastest for the job, with exploration */
};

/** What a server reports about one of its devices (REGISTER, STATUS). */
struct rpci_sel_device_info {
	char server[RPCI_SEL_NAME_MAX];  /**< server host name */
	uint8_t server_mac[6];           /**< where clients open sessions */
	char device[RPCI_SEL_NAME_MAX];  /**< device name on the server */
	uint16_t function;               /**< its function number on the server */
	uint16_t vendor_id;              /**< personality */
	uint16_t device_id;
	uint32_t class_code;
	uint64_t memory_bytes;           /**< device memory */
	char backend[RPCI_SEL_NAME_MAX]; /**< compute backend ("cpu", "opencl", "cuda") */
	char device_name[RPCI_SEL_DEVICE_NAME_MAX]; /**< what the backend runs on ("" = unsaid) */
	uint32_t module_kinds;           /**< bit per module kind: 0 builtin, 1 OpenCL, 2 PTX */
	uint32_t compute_units;
	uint32_t nb_kernels;
	char kernels[RPCI_SEL_KERNELS_MAX][RPCI_SEL_NAME_MAX]; /**< built-in kernel names */
};

/** Usage counters of a device, a session or a client (STATUS, the table, per client). */
struct rpci_sel_usage {
	uint64_t bytes_in;  /**< bytes into the device: copies in, BAR writes, files loaded */
	uint64_t bytes_out; /**< bytes out of it: copies out, BAR reads, files saved */
	uint64_t kernels;   /**< kernels run */
	uint64_t kernel_ns; /**< time spent running them */
	uint64_t mem_high;  /**< device memory high-water mark, bytes */
	uint64_t errors;    /**< failed commands, refused requests and writes */
};

/** What changes with each heartbeat (STATUS). */
struct rpci_sel_device_status {
	uint64_t memory_free;  /**< unallocated device memory */
	double load;           /**< server load, 0 (idle) .. 1 (saturated) or more */
	bool in_use;           /**< the server has a session on it */
	/**
	 * Whose session: the client of in_use, or, with in_use false and
	 * session set, the client whose session just ended (its last report).
	 */
	uint8_t client_mac[6];
	/** The personality now (it changes with "set personality"); all 0: unsaid. */
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code;
	struct rpci_sel_usage total; /**< the device's usage since its server started */
	uint64_t session;            /**< client_mac's session (1 more each); 0: none */
	struct rpci_sel_usage usage; /**< that session's usage so far */
};

/** A client's usage, as its devices' servers reported it (rpci_selector_clients()). */
struct rpci_sel_client {
	uint8_t mac[6];
	uint64_t sessions;           /**< sessions seen */
	struct rpci_sel_usage usage; /**< summed over them (mem_high: the largest) */
	uint64_t last_us;            /**< last report */
};

/** A client's requirements (REQUEST). Zero or empty fields mean "any". */
struct rpci_sel_requirements {
	uint16_t vendor_id;              /**< 0 = any */
	uint32_t class_code;             /**< 0 = any; else must equal */
	uint32_t class_mask;             /**< bits of class_code compared (0 = all 24) */
	uint64_t min_memory;             /**< bytes */
	char backend[RPCI_SEL_NAME_MAX]; /**< "" = any */
	uint32_t module_kinds;           /**< every kind set here must be loadable */
	char kernel[RPCI_SEL_NAME_MAX];  /**< a built-in kernel that must exist ("" = none) */
	char job[RPCI_SEL_NAME_MAX];     /**< job kind for the learned policy ("" = unknown) */
	uint64_t job_size;               /**< its size (elements, flops: the client's measure) */
	bool failover;                   /**< re-attach elsewhere if its server goes down */
	char exclude_server[RPCI_SEL_NAME_MAX]; /**< never this server ("" = none) */
};

/** An attachment the selector decided. */
struct rpci_sel_attachment {
	uint64_t lease_id;               /**< unique, random: names the attachment */
	uint8_t client_mac[6];
	char server[RPCI_SEL_NAME_MAX];
	uint8_t server_mac[6];
	char device[RPCI_SEL_NAME_MAX];
	uint16_t function;
	uint64_t expires_us;             /**< the lease runs out then, unless renewed */
};

/** One row of the status table (for display and telemetry). */
struct rpci_sel_row {
	struct rpci_sel_device_info info;
	struct rpci_sel_device_status status;
	enum rpci_sel_state state;
	uint64_t last_heartbeat_us;
	bool attached;                   /**< has an attachment (state ATTACHED or DRAINING) */
	struct rpci_sel_attachment att;  /**< valid when attached */
	double predicted_us;             /**< learned policy's last prediction for it (0: none) */
	double load_avg;                 /**< the load policies use (smoothed, kernel time) */
};

/** Parameters of a selector (0 in heartbeat_us, missed_heartbeats, lease_us: the default). */
struct rpci_sel_params {
	enum rpci_sel_policy policy;
	uint64_t heartbeat_us;       /**< servers report this often (default 200000) */
	uint32_t missed_heartbeats;  /**< this many missed: the server is down (default 3) */
	uint64_t lease_us;           /**< an attachment lasts this long without renewal (5000000) */
	double explore;              /**< learned policy: chance of trying another device (0..1) */
	uint64_t seed;               /**< for exploration */
	uint32_t max_devices;        /**< table capacity (default 16384) */
	uint32_t client_max_devices; /**< devices one client may hold at once (0: no limit) */
	uint32_t client_max_requests;/**< requests with live leases per client (0: no limit) */
};

/** What the caller must send after an event (filled by the selector). */
enum rpci_sel_action_kind {
	RPCI_SEL_ACT_ATTACH = 1, /**< tell client and server: att */
	RPCI_SEL_ACT_REJECT = 2, /**< tell the client: reason */
	RPCI_SEL_ACT_DETACH = 3, /**< tell client and server: att ends (reason) */
};

/** One action. */
struct rpci_sel_action {
	enum rpci_sel_action_kind kind;
	uint64_t request_id;             /**< the request it answers (ATTACH, REJECT) */
	struct rpci_sel_attachment att;  /**< ATTACH, DETACH */
	int32_t error;                   /**< REJECT: negative errno; DETACH: why */
	char reason[RPCI_SEL_REASON_MAX];/**< for people */
	bool failover;                   /**< DETACH: the server is down and an ATTACH follows */
};

struct rpci_selector;

/**
 * Create a selector.
 *
 * @param params
 *   Parameters (copied).
 * @return
 *   The selector, or NULL with errno EINVAL (bad parameters) or ENOMEM.
 */
struct rpci_selector *rpci_selector_create(const struct rpci_sel_params *params);

/**
 * Free a selector.
 *
 * @param sel
 *   The selector; NULL is ignored.
 */
void rpci_selector_free(struct rpci_selector *sel);

/**
 * A server registers a device (or registers it again after a restart: its
 * row is replaced, any attachment on it ends).
 *
 * @param sel
 *   The selector.
 * @param info
 *   The device.
 * @param now_us
 *   Current time.
 * @return
 *   0, -EINVAL (bad info), -ENOSPC (table full).
 */
int rpci_selector_register(struct rpci_selector *sel, const struct rpci_sel_device_info *info,
			   uint64_t now_us);

/**
 * A heartbeat: a device's status. A DOWN device that reports again is FREE
 * again (its old attachment is gone). A device the server says is not in use
 * although attached, past the lease's grace, is freed (the client never came
 * or left without a release).
 *
 * @param sel
 *   The selector.
 * @param server
 *   Server host name.
 * @param device
 *   Device name.
 * @param status
 *   Its status.
 * @param now_us
 *   Current time.
 * @return
 *   0, -ENOENT (not registered: the server must REGISTER first).
 */
int rpci_selector_status(struct rpci_selector *sel, const char *server, const char *device,
			 const struct rpci_sel_device_status *status, uint64_t now_us);

/**
 * A client asks for devices. For each device asked, one ATTACH action; if
 * not enough match, no attachment is made and one REJECT action says why
 * ("no device has 64 GiB of memory", "all 3 matching devices are busy", "no
 * device loads PTX", ...). A client that would hold more than
 * client_max_devices devices, or more than client_max_requests requests
 * with live leases, is refused (-EDQUOT) with a reason naming the limit.
 *
 * @param sel
 *   The selector.
 * @param request_id
 *   The client's id for the request (a retried request with the same id
 *   and client gets the same answer again, without a second attachment).
 * @param client_mac
 *   The client's address.
 * @param req
 *   Requirements.
 * @param count
 *   Devices wanted (1..16).
 * @param now_us
 *   Current time.
 * @param actions
 *   Filled with the actions to carry out.
 * @param max_actions
 *   Room in actions (count is enough).
 * @return
 *   The number of actions, or -EINVAL.
 */
int rpci_selector_request(struct rpci_selector *sel, uint64_t request_id,
			  const uint8_t client_mac[6], const struct rpci_sel_requirements *req,
			  uint32_t count, uint64_t now_us, struct rpci_sel_action *actions,
			  uint32_t max_actions);

/**
 * Who holds a lease: the client an attachment was made for, live or among
 * the last ended ones (a late job report). The caller checks that a
 * RELEASE or REPORT comes from it.
 *
 * @param sel
 *   The selector.
 * @param lease_id
 *   The lease.
 * @param client_mac
 *   Receives the holder's address.
 * @return
 *   0, -ENOENT (no such lease, live or recently ended), -EINVAL.
 */
int rpci_selector_lease_holder(const struct rpci_selector *sel, uint64_t lease_id,
			       uint8_t client_mac[6]);

/**
 * A client releases an attachment (done with the device).
 *
 * @return
 *   0, -ENOENT (no such lease).
 */
int rpci_selector_release(struct rpci_selector *sel, uint64_t lease_id, uint64_t now_us);

/**
 * A client renews its leases (it is alive).
 *
 * @return
 *   Number of leases renewed.
 */
int rpci_selector_renew(struct rpci_selector *sel, const uint8_t client_mac[6], uint64_t now_us);

/**
 * A client reports a finished job for the learned policy.
 *
 * @param sel
 *   The selector.
 * @param lease_id
 *   The attachment it ran on.
 * @param job
 *   Job kind.
 * @param job_size
 *   Its size, in the client's measure.
 * @param elapsed_us
 *   How long it took on the device.
 * @return
 *   0, -ENOENT.
 */
int rpci_selector_report(struct rpci_selector *sel, uint64_t lease_id, const char *job,
			 uint64_t job_size, uint64_t elapsed_us);

/**
 * Run the timers: servers that missed their heartbeats go DOWN (their
 * attachments end: a DETACH each, then an ATTACH to another matching device
 * for clients that asked for failover, or a DETACH only); leases that ran
 * out end (DETACH). Also hands out the actions of attachments ended since
 * the last call by rpci_selector_status() (not in use past the grace) and
 * rpci_selector_register() (a device registered again: DETACH, failover).
 *
 * @param sel
 *   The selector.
 * @param now_us
 *   Current time.
 * @param actions
 *   Filled with the actions to carry out.
 * @param max_actions
 *   Room in actions (more are kept for the next call).
 * @return
 *   The number of actions.
 */
int rpci_selector_tick(struct rpci_selector *sel, uint64_t now_us, struct rpci_sel_action *actions,
		       uint32_t max_actions);

/**
 * Attach a device to a client by hand (operator): as a request for exactly
 * that device.
 *
 * @return
 *   0 and *action filled (ATTACH), -ENOENT (no such device), -EBUSY (not
 *   free).
 */
int rpci_selector_attach(struct rpci_selector *sel, const char *server, const char *device,
			 const uint8_t client_mac[6], uint64_t now_us,
			 struct rpci_sel_action *action);

/**
 * End an attachment by hand (operator).
 *
 * @return
 *   0 and *action filled (DETACH), -ENOENT.
 */
int rpci_selector_detach(struct rpci_selector *sel, uint64_t lease_id, uint64_t now_us,
			 struct rpci_sel_action *action);

/**
 * Drain a server: its devices take no new client; current ones finish.
 *
 * @return
 *   Number of devices now draining, or -ENOENT (no such server).
 */
int rpci_selector_drain(struct rpci_selector *sel, const char *server, bool drain);

/**
 * Change the policy.
 *
 * @return
 *   0, -EINVAL.
 */
int rpci_selector_set_policy(struct rpci_selector *sel, enum rpci_sel_policy policy);

/**
 * The current policy.
 */
enum rpci_sel_policy rpci_selector_policy(const struct rpci_selector *sel);

/**
 * Policy names: "first-fit", "best-fit", "least-loaded", "learned".
 *
 * @return
 *   The name, or NULL for an unknown policy.
 */
const char *rpci_selector_policy_name(enum rpci_sel_policy policy);

/**
 * Policy by name.
 *
 * @return
 *   0 and *policy set, or -EINVAL.
 */
int rpci_selector_policy_parse(const char *name, enum rpci_sel_policy *policy);

/**
 * State names: "free", "attached", "draining", "down".
 */
const char *rpci_selector_state_name(enum rpci_sel_state state);

/**
 * Read the table.
 *
 * @param sel
 *   The selector.
 * @param rows
 *   Filled with up to max rows, ordered by server then device name.
 * @param max
 *   Room in rows.
 * @return
 *   Number of rows in the table (may exceed max).
 */
uint32_t rpci_selector_table(const struct rpci_selector *sel, struct rpci_sel_row *rows,
			     uint32_t max);

/**
 * The clients' usage, from the sessions their servers reported in STATUS,
 * the most recently reported first. The last RPCI_SEL_CLIENTS_MAX clients
 * are kept.
 *
 * @param sel
 *   The selector.
 * @param clients
 *   Filled with up to max clients.
 * @param max
 *   Room in clients.
 * @return
 *   Number of clients known (may exceed max).
 */
uint32_t rpci_selector_clients(const struct rpci_selector *sel, struct rpci_sel_client *clients,
			       uint32_t max);

/**
 * Learned policy: the predicted time of a job on a device, in microseconds.
 *
 * @return
 *   The prediction, or a negative value when the model knows nothing yet.
 */
double rpci_selector_predict(const struct rpci_selector *sel, const char *server,
			     const char *device, const char *job, uint64_t job_size);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_SELECTOR_H */
