/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CLIENT_H
#define RPCI_CLIENT_H

/**
 * @file
 * librpci: the API a program uses to run work on a remote virtual GPU, in
 * the spirit of the CUDA driver API:
 *
 *   client = rpci_client_create(NULL);                the host's rpci-proxy
 *   dev = rpci_device_open(client, NULL, NULL);       the server its host names
 *   rpci_mem_alloc(dev, bytes, &d_x);
 *   rpci_memcpy_htod(dev, d_x, x, bytes);
 *   rpci_module_load(dev, RPCI_MODULE_BUILTIN, NULL, 0, &mod, NULL, 0);
 *   rpci_function_get(mod, "saxpy", &fn);
 *   rpci_launch(fn, grid, block, args, nb_args);       queued
 *   rpci_synchronize(dev);                             kernel errors show here
 *   rpci_memcpy_dtoh(dev, y, d_y, bytes);
 *   rpci_device_close(dev);
 *   rpci_client_destroy(client);
 *
 * A program needs no DPDK, no hugepages, no port and no root: it talks to
 * the client daemon of its host (rpci-proxy), which owns the port, the
 * link and the sessions, through a unix socket (once) and shared memory
 * (a request ring, a completion ring, and a heap the proxy maps). Each
 * program is a function of its own on the fabric, with devices of its own.
 *
 * Underneath, the client is the device's driver: it sizes and assigns the
 * BARs with configuration writes, enables MSI, sets up the completion
 * queue in shared memory, pushes commands into the device's submission
 * queue with posted writes and rings the doorbell, and reads results that
 * the device's DMA engine writes into its memory. Memory from
 * rpci_host_alloc() is that shared memory: copies from and to it go to the
 * wire from where they are; ordinary memory works too, at the price of one
 * memcpy through a staging area.
 *
 * Every function returns 0 or a negative errno; rpci_last_error() then
 * says what went wrong, in words. A peer that stops answering or a request
 * that times out is an error (-ENOTCONN, -ETIMEDOUT), never a hang.
 * One thread uses a client at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The socket of the host's proxy when neither an argument nor RPCI_PROXY names one. */
#define RPCI_PROXY_DEFAULT_SOCKET "/run/rpci/proxy.sock"
/** Longest server or device name, NUL included. */
#define RPCI_NAME_MAX 32

struct rpci_client;
struct rpci_device;
struct rpci_module;
struct rpci_function;

/** Kinds of module (as the device's CAPS register reports them). */
enum rpci_module_kind {
	RPCI_MODULE_BUILTIN = 0, /**< the backend's built-in kernels; no image */
	RPCI_MODULE_OPENCL = 1,  /**< OpenCL C source */
	RPCI_MODULE_PTX = 2,     /**< NVIDIA PTX */
	/** a program binary of the device's API (rpci_module_info(), RPCI_INFO_KEY_BINARY);
	 *  loaded with rpci_module_build() only */
	RPCI_MODULE_OPENCL_BINARY = 3,
};

/** Most arguments of one kernel launch. */
#define RPCI_KERNEL_ARGS_MAX 32

/** Kinds of kernel argument. */
enum rpci_arg_kind {
	RPCI_ARG_DEVPTR = 1, /**< a device address */
	RPCI_ARG_SCALAR = 2, /**< a value of 1, 2, 4 or 8 bytes */
	RPCI_ARG_LOCAL = 3,  /**< local (shared) memory of a size */
	RPCI_ARG_BYVAL = 4,  /**< a value of any size, at data (rpci_cmd_launch() only) */
};

/** One kernel argument (see the rpci_arg_* helpers). */
struct rpci_kernel_arg {
	uint16_t kind;  /**< enum rpci_arg_kind */
	uint16_t size;  /**< bytes of the value, or of local memory */
	uint64_t value; /**< device address, or the value's bytes (little-endian) */
};

/** How host-to-device copies travel. */
enum rpci_h2d_mode {
	RPCI_H2D_PUSH = 0, /**< posted writes into BAR2 (default: half a round trip) */
	RPCI_H2D_PULL = 1, /**< the device's DMA engine reads client memory */
};

/** What a device says about itself. */
struct rpci_device_info {
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint32_t class_code;
	uint8_t revision;
	uint64_t memory_bytes;   /**< device memory */
	uint64_t memory_free;    /**< not allocated */
	uint32_t module_kinds;   /**< bit (1 << enum rpci_module_kind) per kind it loads */
	uint32_t compute_units;
	char backend[64];        /**< compute backend */
	char device_name[64];    /**< what it runs on */
	char server[RPCI_NAME_MAX];
	uint16_t completer_id;   /**< its id on the fabric */
	uint32_t max_payload;    /**< largest TLP payload of the link */
};

/**
 * What a client needs from a device (rpci_device_request()). Zero or empty
 * fields mean "any".
 */
struct rpci_requirements {
	uint16_t vendor_id;    /**< personality: vendor id */
	uint32_t class_code;   /**< personality: class code */
	uint32_t class_mask;   /**< bits of class_code compared (0: all 24) */
	uint64_t min_memory;   /**< free device memory, bytes */
	char backend[32];      /**< compute backend: "cpu", "opencl", "cuda" */
	uint32_t module_kinds; /**< bit (1 << enum rpci_module_kind) per kind it must load */
	char kernel[32];       /**< a built-in kernel it must have */
	char job[32];          /**< what will run, for the learned policy */
	uint64_t job_size;     /**< its size, in the job's own measure */
	bool no_failover;      /**< do not move the work if its server goes down */
};

/** Counters of an open device, seen from the client. */
struct rpci_device_stats {
	uint64_t failovers;   /**< times the device was re-created on another server */
	uint64_t replayed;    /**< commands replayed by those failovers */
	uint64_t commands;    /**< commands submitted */
	uint64_t msi;         /**< interrupts received */
	uint64_t h2d_bytes;   /**< bytes copied to the device */
	uint64_t d2h_bytes;   /**< bytes copied from the device */
	uint64_t dma_served;  /**< bytes of client memory the device read */
	uint64_t refused;     /**< device requests outside the windows, refused */
	uint64_t resets;      /**< function-level resets the device announced */
};

/** Counters of the link of the client's host (its proxy's). */
struct rpci_client_link_stats {
	uint64_t rx_frames;    /**< frames received */
	uint64_t tx_frames;    /**< frames sent (retransmissions included) */
	uint64_t retransmits;  /**< frames sent again */
	uint64_t rx_bad_crc;   /**< frames dropped for a bad CRC */
	uint64_t rx_malformed; /**< messages that did not decode */
	uint64_t rx_dropped;   /**< frames dropped for lack of room, messages refused */
	uint64_t rx_data;      /**< DATA frames delivered in order */
	uint64_t rx_duplicate; /**< DATA frames already delivered */
	uint64_t rx_out_of_order; /**< DATA frames past a gap */
	uint64_t rx_bad_header;   /**< frames whose link header was refused */
	uint64_t rx_not_ours;  /**< frames of another EtherType or destination */
	uint64_t tx_data;      /**< new DATA frames sent */
	uint64_t timeouts;     /**< replay timer expiries */
	uint64_t nak_sent;     /**< NAKs sent (a gap seen) */
	uint64_t nak_rcvd;     /**< NAKs received (the peer saw a gap) */
};

/**
 * Counters of the link of the client's host.
 *
 * @param client
 *   The client.
 * @param stats
 *   Filled in.
 * @return
 *   0, -EINVAL, -ENOTCONN (the proxy is gone), -ETIMEDOUT.
 */
int rpci_client_link_stats(struct rpci_client *client, struct rpci_client_link_stats *stats);

/**
 * Text of the last error of this thread.
 *
 * @return
 *   A message (empty if none).
 */
const char *rpci_last_error(void);

/**
 * Connect to the client daemon (rpci-proxy) of this host: make the shared
 * memory (RPCI_SHM_SIZE bytes, 1 GiB by default, taken from the system only
 * as it is used) and hand it to the proxy. A call that waits for the proxy
 * spins RPCI_SPIN_US microseconds (50 by default on a host of three cores
 * or more, 0 on two), then sleeps until the proxy wakes it.
 *
 * @param proxy
 *   The proxy's socket; NULL or "": the environment variable RPCI_PROXY,
 *   else RPCI_PROXY_DEFAULT_SOCKET.
 * @return
 *   The client, or NULL with errno set (rpci_last_error() says more):
 *   ENOENT or ECONNREFUSED (no proxy there), EACCES (its socket does not
 *   let this user in), EUSERS (it serves as many programs as it may),
 *   EPROTO (not an rpci proxy of this version), ETIMEDOUT, ENOMEM.
 */
struct rpci_client *rpci_client_create(const char *proxy);

/**
 * Ask the server selector for devices that meet requirements, and open
 * them. Each is dedicated to this client until closed. Unless
 * req->no_failover, the client keeps a log of what it did on each device
 * (allocations, data copied in, modules, launches) so that, if the device's
 * server goes down, the selector attaches another matching device and the
 * client re-creates the device's state there and carries on: the call in
 * progress then returns as if nothing happened.
 *
 * @param client
 *   The client (its deployment file must have a selector).
 * @param req
 *   The requirements (NULL: any device).
 * @param count
 *   How many devices (1..16).
 * @param devs
 *   Filled with count devices.
 * @return
 *   0; or -ENOTSUP (no selector in the deployment), -EINVAL, -ETIMEDOUT
 *   (the selector did not answer), the selector's refusal as a negative
 *   errno (-ENODEV: nothing matches, -EBUSY: all matching devices are in
 *   use; rpci_last_error() gives the selector's reason), or an error of
 *   opening a device. On error no device is left open.
 */
int rpci_device_request(struct rpci_client *client, const struct rpci_requirements *req,
			unsigned int count, struct rpci_device **devs);

/**
 * Tell the selector how long a job took on a device (its learned policy
 * learns from these).
 *
 * @param dev
 *   A device from rpci_device_request().
 * @param job
 *   The job's kind (as in the requirements).
 * @param job_size
 *   Its size.
 * @param elapsed_us
 *   Its time on the device.
 * @return
 *   0 (sent), -ENOTSUP (not a device from the selector).
 */
int rpci_device_report(struct rpci_device *dev, const char *job, uint64_t job_size,
		       uint64_t elapsed_us);

/**
 * The selector's lease of a device.
 *
 * @param dev
 *   The device.
 * @return
 *   The lease id, or 0 for a device opened without the selector.
 */
uint64_t rpci_device_lease(const struct rpci_device *dev);

/**
 * Send a small text to another client host through the selector.
 *
 * @param client
 *   The client.
 * @param to
 *   The other host's name.
 * @param text
 *   At most 255 bytes.
 * @return
 *   0 (sent; the selector passes it on), -ENOTSUP (no selector), -EINVAL.
 */
int rpci_client_message_send(struct rpci_client *client, const char *to, const char *text);

/**
 * Take a text another client sent (polls the link once).
 *
 * @param client
 *   The client.
 * @param from
 *   Receives the sender's host name.
 * @param from_len
 *   Size of from.
 * @param text
 *   Receives the text.
 * @param text_len
 *   Size of text.
 * @return
 *   1 if a text was taken, 0 if none is waiting.
 */
int rpci_client_message_recv(struct rpci_client *client, char *from, size_t from_len, char *text,
			     size_t text_len);

/** A device of the deployment (rpci_client_devices()), as its file describes it. */
struct rpci_device_entry {
	char server[RPCI_NAME_MAX];   /**< its server host */
	char device[RPCI_NAME_MAX];   /**< its name there (rpci_device_open()'s device) */
	char backend[RPCI_NAME_MAX];  /**< a virtual GPU's backend; "pci": a host function */
	bool pci;                     /**< a PCI function of its server's host (kind "pci") */
	char pci_address[20];         /**< pci: its address on its host, "DDDD:BB:DD.F" */
	uint16_t function;            /**< its function number at its server */
	uint64_t memory_bytes;        /**< a virtual GPU's memory */
};

/**
 * The devices of the servers of the client host's deployment, in the
 * order of its file (what exists, not what is free: with a selector, a
 * device is had through rpci_device_request()).
 *
 * @param client
 *   The client.
 * @param list
 *   Filled with up to max entries (may be NULL when max is 0).
 * @param max
 *   Room in list.
 * @return
 *   The number of devices (possibly more than max: only max filled); or
 *   -EINVAL (no client, or list NULL with max > 0), -ENOTCONN (the proxy
 *   is gone), -ETIMEDOUT (it did not answer); rpci_last_error() says why.
 */
int rpci_client_devices(struct rpci_client *client, struct rpci_device_entry *list,
			unsigned int max);

/**
 * Whether the client's host deployment has a server selector (so
 * rpci_device_request() can be used, and a device is best asked of it).
 *
 * @param client
 *   The client.
 * @return
 *   1 with a selector, 0 without (or client NULL).
 */
int rpci_client_has_selector(const struct rpci_client *client);

/**
 * Take what the proxy has posted (completions, interrupts) without waiting.
 * Never needed for the devices' sake (the proxy keeps the sessions and the
 * leases alive); a program embedding the proxy's core (rpci-run --config)
 * that does not call the API for a while calls it to keep its link polled.
 *
 * @param client
 *   The client.
 * @return
 *   Work done (0: nothing).
 */
int rpci_client_poll(struct rpci_client *client);

/**
 * Close every device still open, leave the proxy and free the client.
 *
 * @param client
 *   The client; NULL is ignored.
 */
void rpci_client_destroy(struct rpci_client *client);

/**
 * Open a device of a server: the proxy opens a session to it, then the
 * driver brings it up (BARs, MSI, queues). With a selector and no server
 * named here or by the proxy's host, the selector chooses any device.
 *
 * @param client
 *   The client.
 * @param server
 *   Server host name, or NULL for the one the proxy's host names.
 * @param device
 *   Device name on that server, or NULL for the deployment's choice.
 * @return
 *   The device, or NULL with errno set: ENOENT (no such server or device),
 *   ETIMEDOUT (no answer), EBUSY (the device serves another client or
 *   another program of this host), ENODEV (no function there), ENOTCONN
 *   (the proxy is gone), ENOSPC (the program holds as many devices as it
 *   may), EIO (bring-up failed), ENOMEM.
 */
struct rpci_device *rpci_device_open(struct rpci_client *client, const char *server,
				     const char *device);

/**
 * Wait for the device's work, close the session (the server then clears
 * the device for the next client) and free every module, function and
 * window of the device.
 *
 * @param dev
 *   The device (freed whatever this returns); NULL is ignored.
 * @return
 *   0, or the first error of work that had not been synchronized, or
 *   -ETIMEDOUT / -ENOTCONN if the session could not close in order.
 */
int rpci_device_close(struct rpci_device *dev);

/**
 * Describe a device.
 *
 * @param dev
 *   The device.
 * @param info
 *   Filled in.
 * @return
 *   0, or -ENOTCONN / -ETIMEDOUT if the free-memory register could not be
 *   read.
 */
int rpci_device_info(struct rpci_device *dev, struct rpci_device_info *info);

/**
 * Counters of a device.
 *
 * @param dev
 *   The device.
 * @param stats
 *   Filled in.
 */
void rpci_device_stats(const struct rpci_device *dev, struct rpci_device_stats *stats);

/**
 * Choose how host-to-device copies travel.
 *
 * @param dev
 *   The device.
 * @param mode
 *   enum rpci_h2d_mode.
 * @return
 *   0, or -EINVAL.
 */
int rpci_device_set_h2d_mode(struct rpci_device *dev, enum rpci_h2d_mode mode);

/**
 * Allocate device memory.
 *
 * @param dev
 *   The device.
 * @param size
 *   Bytes (> 0).
 * @param dptr
 *   Set to the device address.
 * @return
 *   0, -EINVAL (size 0), -ENOMEM (no room on the device), -ENOTCONN,
 *   -ETIMEDOUT.
 */
int rpci_mem_alloc(struct rpci_device *dev, uint64_t size, uint64_t *dptr);

/**
 * Free device memory.
 *
 * @param dev
 *   The device.
 * @param dptr
 *   An address rpci_mem_alloc() gave.
 * @return
 *   0, -ENOENT (not an allocation), -ENOTCONN, -ETIMEDOUT.
 */
int rpci_mem_free(struct rpci_device *dev, uint64_t dptr);

/**
 * Copy host memory to the device. Waits for earlier commands first (the
 * copy sees what they wrote) and returns when the data is on the device's
 * side of the link: src may be reused then.
 *
 * @param dev
 *   The device.
 * @param dptr
 *   Device address.
 * @param src
 *   Host memory (any: registered or not).
 * @param size
 *   Bytes.
 * @return
 *   0, -EFAULT (outside device memory), -ENOSPC (no free window),
 *   -ENOTCONN, -ETIMEDOUT, or an earlier command's error.
 */
int rpci_memcpy_htod(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t size);

/**
 * Copy device memory to the host: the device's DMA engine writes it
 * straight into dst. Waits for earlier commands first.
 *
 * @param dev
 *   The device.
 * @param dst
 *   Host memory (any).
 * @param dptr
 *   Device address.
 * @param size
 *   Bytes.
 * @return
 *   0, -EFAULT, -ENOSPC (no free window), -ENOTCONN, -ETIMEDOUT, or an
 *   earlier command's error.
 */
int rpci_memcpy_dtoh(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size);

/**
 * Queue a copy from host memory to the device behind the commands queued
 * before it (the device's DMA engine reads the memory, in order with
 * launches), and return at once: copies, kernels and copies back then
 * follow one another on the device without a round trip between them.
 * Errors show at rpci_synchronize() (or the next blocking call).
 *
 * @param dev
 *   The device.
 * @param dptr
 *   Device address.
 * @param src
 *   Memory of rpci_client_host_alloc(), left unchanged until
 *   rpci_synchronize() returns.
 * @param size
 *   Bytes.
 * @return
 *   0 (queued), -EINVAL (src is not memory of rpci_client_host_alloc()),
 *   -EFAULT (outside device memory), -ENOTCONN, -ETIMEDOUT (the queue stayed
 *   full).
 */
int rpci_memcpy_htod_async(struct rpci_device *dev, uint64_t dptr, const void *src,
			   uint64_t size);

/**
 * Queue a copy from the device to host memory behind the commands queued
 * before it (the device's DMA engine writes the memory), and return at
 * once. The data is there when rpci_synchronize() returns.
 *
 * @param dev
 *   The device.
 * @param dst
 *   Memory of rpci_client_host_alloc().
 * @param dptr
 *   Device address.
 * @param size
 *   Bytes.
 * @return
 *   0 (queued), -EINVAL (dst is not memory of rpci_client_host_alloc()),
 *   -EFAULT, -ENOTCONN, -ETIMEDOUT.
 */
int rpci_memcpy_dtoh_async(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size);

/**
 * Set device memory to a byte value.
 *
 * @return
 *   0, -EFAULT, -ENOTCONN, -ETIMEDOUT.
 */
int rpci_memset(struct rpci_device *dev, uint64_t dptr, uint8_t value, uint64_t size);

/**
 * Read a BAR with memory reads (programmed I/O): each read is answered by
 * one or more completions; reads longer than 4 KiB are split.
 *
 * @param dev
 *   The device.
 * @param bar
 *   0 (registers) or 2 (device memory).
 * @param offset
 *   Offset in the BAR.
 * @param dst
 *   Where the data goes.
 * @param size
 *   Bytes.
 * @return
 *   0, -EINVAL (bad BAR or range), -EIO (the device answered UR or CA),
 *   -ENOTCONN, -ETIMEDOUT.
 */
int rpci_bar_read(struct rpci_device *dev, int bar, uint64_t offset, void *dst, uint64_t size);

/**
 * Write a BAR with posted writes; returns when the peer has them.
 *
 * @return
 *   0, -EINVAL, -ENOTCONN, -ETIMEDOUT.
 */
int rpci_bar_write(struct rpci_device *dev, int bar, uint64_t offset, const void *src,
		   uint64_t size);

/**
 * Write a BAR with posted writes and return once they are queued on the
 * link, without waiting for the peer's ack as rpci_bar_write() does. The
 * data is copied (src may be reused at once); small writes share frames.
 * They leave with the next call that waits (or rpci_client_poll()) and
 * reach the device in order, before anything sent after them: a later
 * rpci_bar_read() returns after they have landed. Not retried on another
 * server by a failover.
 *
 * @param dev
 *   The device.
 * @param bar
 *   0 (registers) or 2 (device memory).
 * @param offset
 *   Offset in the BAR.
 * @param src
 *   The data.
 * @param size
 *   Bytes.
 * @return
 *   0 (queued), -EINVAL (bad BAR or range), -ENOTCONN, -ETIMEDOUT (the link
 *   stayed full).
 */
int rpci_bar_write_posted(struct rpci_device *dev, int bar, uint64_t offset, const void *src,
			  uint64_t size);

/**
 * Load a module on the device.
 *
 * @param dev
 *   The device.
 * @param kind
 *   enum rpci_module_kind.
 * @param image
 *   Source or binary (NULL for RPCI_MODULE_BUILTIN).
 * @param len
 *   Its length.
 * @param module
 *   Set to the module.
 * @param log
 *   If not NULL, receives the device's build log (NUL-terminated).
 * @param log_len
 *   Size of log.
 * @return
 *   0, -ENOTSUP (the device does not load that kind), -EINVAL (the
 *   build failed: see the log), -ENOMEM, -ENOTCONN, -ETIMEDOUT.
 */
int rpci_module_load(struct rpci_device *dev, enum rpci_module_kind kind, const void *image,
		     size_t len, struct rpci_module **module, char *log, size_t log_len);

/**
 * Unload a module; its functions become invalid.
 *
 * @param module
 *   The module (freed).
 * @return
 *   0, -ENOTCONN, -ETIMEDOUT.
 */
int rpci_module_unload(struct rpci_module *module);

/**
 * Look a function up in a module.
 *
 * @param module
 *   The module.
 * @param name
 *   Function name (at most 63 characters).
 * @param fn
 *   Set to the function.
 * @return
 *   0, -ENOENT (no such function), -EINVAL (name too long), -ENOTCONN,
 *   -ETIMEDOUT.
 */
int rpci_function_get(struct rpci_module *module, const char *name, struct rpci_function **fn);

/**
 * Queue a kernel launch. Errors of the kernel itself are reported by
 * rpci_synchronize() (or the next copy).
 *
 * @param fn
 *   The function.
 * @param grid
 *   Work groups in x, y, z (each >= 1).
 * @param block
 *   Work items per group in x, y, z (each >= 1).
 * @param args
 *   The arguments.
 * @param nb_args
 *   How many (at most 32).
 * @return
 *   0 when queued, -EINVAL (bad geometry or argument), -ENOTCONN,
 *   -ETIMEDOUT (the queue stayed full).
 */
int rpci_launch(struct rpci_function *fn, const uint32_t grid[3], const uint32_t block[3],
		const struct rpci_kernel_arg *args, unsigned int nb_args);

/**
 * Wait until every queued command has completed.
 *
 * @param dev
 *   The device.
 * @return
 *   0, the first error of a command since the last synchronization,
 *   -ENOTCONN, -ETIMEDOUT.
 */
int rpci_synchronize(struct rpci_device *dev);

/** Built-in data-parallel jobs that rpci_split_run() spreads over devices. */
enum rpci_split_kernel {
	RPCI_SPLIT_VECTOR_ADD = 0, /**< out = a + b, split by range */
	RPCI_SPLIT_SAXPY = 1,      /**< out = alpha * a + b, split by range */
	RPCI_SPLIT_SGEMM = 2,      /**< out = alpha * A.B + beta * C, split by rows of A and C */
	RPCI_SPLIT_REDUCE = 3,     /**< out[0] = sum of a, split by range, partial sums added */
};

/** A job for rpci_split_run(): inputs and output in the caller's memory. */
struct rpci_split_job {
	enum rpci_split_kernel kernel;
	uint64_t n;         /**< vector length; sgemm: columns of C and B */
	uint64_t m;         /**< sgemm: rows of C and A */
	uint64_t k;         /**< sgemm: columns of A, rows of B */
	float alpha;        /**< saxpy, sgemm */
	float beta;         /**< sgemm */
	const float *a;     /**< vector-add, saxpy, reduce: n; sgemm: A, m x k, row-major */
	const float *b;     /**< vector-add, saxpy: n; sgemm: B, k x n */
	const float *c;     /**< sgemm: C, m x n (scaled by beta); others: unused */
	float *out;         /**< n; sgemm: m x n; reduce: 1 */
};

/** What one device did in rpci_split_run(). */
struct rpci_split_part {
	uint64_t first;     /**< first element (sgemm: row) of its share */
	uint64_t count;     /**< elements (rows) in its share */
	double h2d_s;       /**< seconds copying its inputs in */
	double wait_s;      /**< seconds waiting for its kernel after the last launch */
	double d2h_s;       /**< seconds copying its result out */
};

/**
 * Run a built-in data-parallel job on several devices at once: each gets an
 * equal share (a range of the vectors, or of the rows of A and C; sgemm
 * sends all of B to each), its inputs are copied in and its kernel launched
 * before the next device's turn, so the kernels run side by side; then each
 * result is copied out into its place in job->out (reduce: the devices'
 * partial sums are added here). Devices from rpci_device_request() fail
 * over on their own, so a share whose server goes down still completes.
 *
 * @param devs
 *   The devices (each used by this call only, until it returns).
 * @param nb_devs
 *   How many (1..16); a device whose share would be empty is not used.
 * @param job
 *   The job; its buffers must hold the sizes given.
 * @param parts
 *   If not NULL, filled with nb_devs entries.
 * @return
 *   0 (job->out holds the result), -EINVAL (bad job or arguments, NULL
 *   buffer, n, m or k of 0), -ENOMEM (device memory), or the first error of
 *   a device (rpci_last_error() says which); device memory is freed in
 *   every case.
 */
int rpci_split_run(struct rpci_device *const *devs, unsigned int nb_devs,
		   const struct rpci_split_job *job, struct rpci_split_part *parts);

/**
 * Allocate host memory shared with the proxy (like CUDA's pinned memory):
 * copies from and to it leave for the wire from where it is and the
 * devices' DMA writes it in place, with no staging copy. Any device of the
 * client may use it.
 *
 * @param client
 *   The client.
 * @param size
 *   Bytes.
 * @return
 *   The memory (64-byte aligned; 4 KiB from 64 KiB on), or NULL with errno
 *   EINVAL or ENOMEM (the shared memory is full: RPCI_SHM_SIZE sets it).
 */
void *rpci_client_host_alloc(struct rpci_client *client, size_t size);

/**
 * Free memory from rpci_client_host_alloc() or rpci_host_alloc(). Large
 * blocks go back to the system.
 *
 * @param client
 *   The client.
 * @param ptr
 *   The memory; NULL is ignored.
 */
void rpci_client_host_free(struct rpci_client *client, void *ptr);

/**
 * rpci_client_host_alloc() on the client of a device.
 *
 * @param dev
 *   A device of the client.
 * @param size
 *   Bytes.
 * @return
 *   As rpci_client_host_alloc().
 */
void *rpci_host_alloc(struct rpci_device *dev, size_t size);

/**
 * rpci_client_host_free() on the client of a device.
 *
 * @param dev
 *   A device of the client.
 * @param ptr
 *   The memory; NULL is ignored.
 */
void rpci_host_free(struct rpci_device *dev, void *ptr);

/* ------------------------------------------------ queued commands
 *
 * The device runs commands in order, one after another. The rpci_cmd_*
 * functions queue one and return at once with its id; the command is done
 * when rpci_cmd_poll() says its id or a later one is, or when
 * rpci_cmd_wait() returns. What it did, the device writes into a struct
 * rpci_cmd_report (in memory from rpci_client_host_alloc()) before it
 * completes: its status, the device API's own error code (OpenCL: a cl_int)
 * and when it started and ended on the device's clock. This is what an
 * OpenCL runtime's queue needs (the rpci OpenCL ICD is built on it).
 *
 * Host memory a command reads or writes must come from
 * rpci_client_host_alloc() and stay untouched until the command is done:
 * the device's DMA engine moves it while the command runs. These commands
 * are not replayed by a failover: use them on devices opened with no
 * failover (rpci_device_open(), or no_failover in the requirements).
 * Errors of commands queued this way are in their reports; rpci_cmd_poll()
 * and rpci_cmd_wait() clear them from what rpci_synchronize() reports.
 */

/** Bytes one rpci_cmd_write() or rpci_cmd_read() moves at most. */
#define RPCI_CMD_XFER_MAX (1ull << 30)
/** Bytes of a rectangle's rows one rpci_cmd_rect() moves to or from the host at most. */
#define RPCI_CMD_RECT_MAX (64ull << 20)
/** Most bytes of an rpci_cmd_fill() pattern. */
#define RPCI_CMD_PATTERN_MAX 128
/** Most bytes of a launch's parameters: 8, 16 per argument, 80 for an NDRange, the values. */
#define RPCI_LAUNCH_PARAMS_MAX 16384
/** Most bytes of a device's API info block (rpci_device_api_info()). */
#define RPCI_API_INFO_MAX 0x8000
/** rpci_module_info() key of the module's binary. */
#define RPCI_INFO_KEY_BINARY 1

/** What a queued command did (32 bytes, written by the device). */
struct rpci_cmd_report {
	int32_t status;     /**< 0 or a negative errno */
	int32_t api_status; /**< the device API's own code behind a failure (OpenCL: cl_int) */
	uint64_t result;    /**< what the command gives */
	uint64_t start_ns;  /**< device clock (rpci_device_clock()) when it started */
	uint64_t end_ns;    /**< and when it ended (a launch: its kernel's start and end) */
};

/** Directions of rpci_cmd_rect(). */
enum rpci_rect_dir {
	RPCI_RECT_TO_DEVICE = 1,   /**< packed host rows -> device rectangle at dst */
	RPCI_RECT_FROM_DEVICE = 2, /**< device rectangle at src -> packed host rows */
	RPCI_RECT_ON_DEVICE = 3,   /**< device rectangle at src -> device rectangle at dst */
};

/**
 * A rectangle in device memory: region[0] bytes per row, region[1] rows,
 * region[2] slices; row i of slice j at origin + j * slice pitch + i * row
 * pitch. The host side is packed.
 */
struct rpci_rect {
	uint64_t dst;           /**< device address of the destination's first row */
	uint64_t src;           /**< device address of the source's first row */
	uint64_t region[3];
	uint64_t dst_row_pitch;
	uint64_t dst_slice_pitch;
	uint64_t src_row_pitch;
	uint64_t src_slice_pitch;
};

/** OpenCL's geometry for rpci_cmd_launch(). */
struct rpci_ndrange {
	uint32_t dims;       /**< 1 to 3 */
	bool local_given;    /**< false: the device chooses the work-group size */
	uint64_t offset[3];  /**< global work offset */
	uint64_t global[3];  /**< work items in each dimension */
	uint64_t local[3];   /**< work-group size */
};

/** An argument of rpci_cmd_launch(). */
struct rpci_launch_arg {
	uint16_t kind;      /**< enum rpci_arg_kind */
	uint16_t size;      /**< bytes of the value or of local memory (DEVPTR: 8) */
	uint64_t value;     /**< DEVPTR: device address; SCALAR: the value */
	const void *data;   /**< BYVAL: the value's bytes (copied when queued) */
};

/**
 * Queue a copy of host memory to the device (the device reads it).
 *
 * @param dev
 *   The device.
 * @param dptr
 *   Device address.
 * @param src
 *   Memory from rpci_client_host_alloc(), unchanged until the command is done.
 * @param size
 *   Bytes (at most RPCI_CMD_XFER_MAX).
 * @param report
 *   NULL, or where the device reports (from rpci_client_host_alloc(), 8-byte aligned).
 * @param id
 *   Set to the command's id.
 * @return
 *   0 (queued), -EINVAL (memory not shared, bad report), -EFAULT (outside device
 *   memory), -E2BIG, -ENOTCONN (the device is lost).
 */
int rpci_cmd_write(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t size,
		   struct rpci_cmd_report *report, uint32_t *id);

/**
 * Queue a copy of device memory to host memory (the device writes it).
 *
 * @param dst
 *   Memory from rpci_client_host_alloc(); it holds the data once the command is done.
 * @return
 *   As rpci_cmd_write().
 */
int rpci_cmd_read(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size,
		  struct rpci_cmd_report *report, uint32_t *id);

/**
 * Queue a copy within device memory (the ranges may overlap).
 *
 * @return
 *   0, -EINVAL, -EFAULT, -ENOTCONN.
 */
int rpci_cmd_copy(struct rpci_device *dev, uint64_t dst, uint64_t src, uint64_t size,
		  struct rpci_cmd_report *report, uint32_t *id);

/**
 * Queue a rectangle's copy: packed host rows to the device, device to
 * packed host rows, or within the device.
 *
 * @param dir
 *   enum rpci_rect_dir.
 * @param rect
 *   The rectangle (its dst or src unused for the host side).
 * @param host
 *   TO_DEVICE and FROM_DEVICE: memory from rpci_client_host_alloc() of
 *   region[0] * region[1] * region[2] bytes (at most RPCI_CMD_RECT_MAX); else NULL.
 * @return
 *   0, -EINVAL, -EFAULT (outside device memory), -E2BIG, -ENOTCONN.
 */
int rpci_cmd_rect(struct rpci_device *dev, enum rpci_rect_dir dir, const struct rpci_rect *rect,
		  void *host, struct rpci_cmd_report *report, uint32_t *id);

/**
 * Queue a fill of device memory with a pattern.
 *
 * @param pattern
 *   The pattern (copied).
 * @param pattern_size
 *   1 to RPCI_CMD_PATTERN_MAX bytes.
 * @param size
 *   Bytes to fill, a multiple of pattern_size.
 * @return
 *   0, -EINVAL, -EFAULT, -ENOTCONN.
 */
int rpci_cmd_fill(struct rpci_device *dev, uint64_t dptr, const void *pattern,
		  uint32_t pattern_size, uint64_t size, struct rpci_cmd_report *report,
		  uint32_t *id);

/**
 * Queue the freeing of device memory (after the commands before it).
 *
 * @return
 *   0, -EINVAL, -ENOTCONN; an address that is no allocation fails in the report
 *   (-ENOENT).
 */
int rpci_cmd_free(struct rpci_device *dev, uint64_t dptr, struct rpci_cmd_report *report,
		  uint32_t *id);

/**
 * Queue a command that does nothing: done when every command before it
 * is; its report has the time.
 *
 * @return
 *   0, -EINVAL, -ENOTCONN.
 */
int rpci_cmd_marker(struct rpci_device *dev, struct rpci_cmd_report *report, uint32_t *id);

/**
 * Queue a kernel launch on an NDRange, with arguments of any kind.
 *
 * @param fn
 *   The function.
 * @param nd
 *   The NDRange.
 * @param args
 *   The arguments (BYVAL values are copied when queued).
 * @param nb_args
 *   How many (at most RPCI_KERNEL_ARGS_MAX), all of them fitting in
 *   RPCI_LAUNCH_PARAMS_MAX bytes of parameters.
 * @return
 *   0, -EINVAL (bad geometry or argument), -E2BIG (parameters too large),
 *   -ENOTCONN.
 */
int rpci_cmd_launch(struct rpci_function *fn, const struct rpci_ndrange *nd,
		    const struct rpci_launch_arg *args, unsigned int nb_args,
		    struct rpci_cmd_report *report, uint32_t *id);

/**
 * Take the completions that have arrived, without waiting.
 *
 * @param dev
 *   The device.
 * @param done
 *   Set to the id of the last command done (every command queued before
 *   it is done too).
 * @return
 *   0, or -ENOTCONN when the device is lost (commands after *done will
 *   not complete).
 */
int rpci_cmd_poll(struct rpci_device *dev, uint32_t *done);

/**
 * Whether command id is done, given the last id done (ids wrap).
 *
 * @return
 *   true if it is.
 */
static inline bool
rpci_cmd_is_done(uint32_t id, uint32_t done)
{
	return (int32_t)(done - id) >= 0;
}

/**
 * Wait until command id (and every command before it) is done.
 *
 * @return
 *   0, or -ENOTCONN (the device or the proxy is lost; within the
 *   configured time, never a hang).
 */
int rpci_cmd_wait(struct rpci_device *dev, uint32_t id);

/**
 * Load a module with build options, or a binary of the device's API, and
 * wait for it.
 *
 * @param dev
 *   The device.
 * @param kind
 *   RPCI_MODULE_OPENCL (source) or RPCI_MODULE_OPENCL_BINARY, or any kind
 *   rpci_module_load() takes.
 * @param image
 *   Source or binary.
 * @param len
 *   Its length.
 * @param options
 *   Build options (NULL or "" for none).
 * @param module
 *   Set to the module.
 * @param log
 *   If not NULL, receives the build log (NUL-terminated).
 * @param log_len
 *   Size of log.
 * @param api_status
 *   If not NULL, set to the device API's code behind a failure (OpenCL:
 *   CL_BUILD_PROGRAM_FAILURE, CL_INVALID_BINARY, ...), 0 otherwise.
 * @return
 *   0, -ENOTSUP (the device does not load that kind, or takes no options),
 *   -EINVAL (the build failed: see the log), -ENOMEM, -ENOTCONN, -ETIMEDOUT.
 */
int rpci_module_build(struct rpci_device *dev, enum rpci_module_kind kind, const void *image,
		      size_t len, const char *options, struct rpci_module **module, char *log,
		      size_t log_len, int32_t *api_status);

/**
 * What the device's API says of a module: key 0 its info block (the format
 * of rpci_vgpu_hw.h, struct rpci_vgpu_info_hdr), RPCI_INFO_KEY_BINARY its
 * binary.
 *
 * @param module
 *   The module.
 * @param key
 *   What to read.
 * @param buf
 *   Receives it (any memory).
 * @param len
 *   Size of buf.
 * @param size
 *   Set to its size, also when it does not fit.
 * @return
 *   0, -ENOSPC (larger than len: nothing written), -ENOTSUP (the device's
 *   backend does not say, or gives no binary), -ENOENT, -ENOTCONN.
 */
int rpci_module_info(struct rpci_module *module, uint32_t key, void *buf, size_t len,
		     size_t *size);

/**
 * What the device's API says of a function (key 0: its info block), as
 * rpci_module_info().
 */
int rpci_function_info(struct rpci_function *fn, uint32_t key, void *buf, size_t len,
		       size_t *size);

/**
 * The device's API info block (BAR0, read-only: the proxy answers it from
 * what it read once per session).
 *
 * @param dev
 *   The device.
 * @param buf
 *   Receives it.
 * @param len
 *   Size of buf (RPCI_API_INFO_MAX is always enough).
 * @param size
 *   Set to its size.
 * @return
 *   0, -ENOTSUP (the device has none: its backend does not speak an API),
 *   -ENOSPC (larger than len), -EIO (a size over RPCI_API_INFO_MAX),
 *   -ENOTCONN, -ETIMEDOUT.
 */
int rpci_device_api_info(struct rpci_device *dev, void *buf, size_t len, size_t *size);

/**
 * Read the device's clock (the clock of reports): one read round trip.
 *
 * @param dev
 *   The device.
 * @param ns
 *   Set to its value, in nanoseconds.
 * @return
 *   0, -ENOTCONN, -ETIMEDOUT.
 */
int rpci_device_clock(struct rpci_device *dev, uint64_t *ns);

/** A device pointer argument. */
static inline struct rpci_kernel_arg
rpci_arg_ptr(uint64_t dptr)
{
	struct rpci_kernel_arg a = { RPCI_ARG_DEVPTR, 8, dptr };

	return a;
}

/** A 32-bit unsigned scalar argument. */
static inline struct rpci_kernel_arg
rpci_arg_u32(uint32_t v)
{
	struct rpci_kernel_arg a = { RPCI_ARG_SCALAR, 4, v };

	return a;
}

/** A 64-bit unsigned scalar argument. */
static inline struct rpci_kernel_arg
rpci_arg_u64(uint64_t v)
{
	struct rpci_kernel_arg a = { RPCI_ARG_SCALAR, 8, v };

	return a;
}

/** A float scalar argument. */
static inline struct rpci_kernel_arg
rpci_arg_f32(float v)
{
	union {
		float f;
		uint32_t u;
	} c = { .f = v };
	struct rpci_kernel_arg a = { RPCI_ARG_SCALAR, 4, c.u };

	return a;
}

/** A local (shared) memory argument of size bytes. */
static inline struct rpci_kernel_arg
rpci_arg_local(uint16_t size)
{
	struct rpci_kernel_arg a = { RPCI_ARG_LOCAL, size, 0 };

	return a;
}

/* ------------------------------------------------------------------------
 * PCI functions and configuration space (client_pci.c)
 *
 * A server may serve a PCI function of its own host (kind "pci" in the
 * deployment file) instead of a virtual GPU. rpci_device_open() opens one
 * as a plain PCI function: its identity and BARs are read (BAR sizes by
 * the usual all-ones write, which the server emulates: the function's own
 * registers are never written), no queues are set up, and only
 * configuration space and BAR access work (rpci_bar_read(),
 * rpci_bar_write() on any BAR, within the server's access policy; commands
 * give -ENOTSUP). Configuration space is open to every device.
 * ------------------------------------------------------------------------ */

/** One BAR of a device (rpci_device_bar_info()). */
struct rpci_bar_info {
	uint64_t addr;      /**< its address on the fabric (a PCI function: the host's) */
	uint64_t size;      /**< bytes; 0: the device has no such BAR */
	bool io;            /**< I/O space (not served) */
	bool mem64;         /**< a 64-bit memory BAR */
	bool prefetchable;
};

/**
 * Read configuration space: len bytes at offset, as DW reads (the bytes
 * around the range in those DWs are read too, and dropped).
 *
 * @param dev
 *   An open device.
 * @param offset
 *   First byte (0..4095).
 * @param buf
 *   Receives len bytes.
 * @param len
 *   Bytes, offset + len at most 4096.
 * @return
 *   0, -EINVAL (range), -EIO (the device refused: Unsupported Request, e.g.
 *   past a conventional function's 256 bytes), -ENOTCONN, -ETIMEDOUT.
 */
int rpci_device_config_read(struct rpci_device *dev, uint32_t offset, void *buf, uint32_t len);

/**
 * Write configuration space: len bytes at offset, one CfgWr per DW with
 * byte enables for exactly those bytes.
 *
 * @param dev
 *   An open device.
 * @param offset
 *   First byte.
 * @param buf
 *   The bytes.
 * @param len
 *   Their number, offset + len at most 4096.
 * @return
 *   0, -EINVAL, -EIO (refused: a PCI function whose policy has no
 *   "config"), -ENOTCONN, -ETIMEDOUT.
 */
int rpci_device_config_write(struct rpci_device *dev, uint32_t offset, const void *buf,
			     uint32_t len);

/**
 * Whether a device is a plain PCI function (not an rpci virtual GPU).
 *
 * @param dev
 *   The device.
 * @return
 *   true for a PCI function of a server's host.
 */
bool rpci_device_is_plain(const struct rpci_device *dev);

/**
 * Describe a BAR of a device.
 *
 * @param dev
 *   The device.
 * @param bar
 *   0..5.
 * @param info
 *   Filled in (size 0: no such BAR).
 * @return
 *   0, -EINVAL.
 */
int rpci_device_bar_info(const struct rpci_device *dev, int bar, struct rpci_bar_info *info);

/**
 * Function-level reset of a virtual GPU, from the client: the FLR bit of
 * its PCI Express capability. Everything on the device is gone; the
 * device is brought up again on the same session (as after any reset the
 * device announces: a device from the selector, with failover, gets its
 * state back from the replay log).
 *
 * @param dev
 *   A virtual GPU.
 * @return
 *   0, -ENOTSUP (a plain PCI function), -ETIMEDOUT (no reset notice came),
 *   -ENOTCONN, -EIO.
 */
int rpci_device_reset(struct rpci_device *dev);

/* ------------------------------------------------------------------------
 * Files in and out of device memory (client_file.c)
 * ------------------------------------------------------------------------ */

/**
 * Load a file of the client's into device memory: streamed over the link
 * as host-to-device copies (the client's copy mode).
 *
 * @param dev
 *   A virtual GPU.
 * @param dptr
 *   Device address; the file must fit from there.
 * @param path
 *   The file.
 * @param loaded
 *   If not NULL, set to the bytes loaded (the file's size).
 * @return
 *   0, -ENOENT / -EACCES... (the file), -EFAULT (does not fit), or a copy's
 *   error.
 */
int rpci_file_load(struct rpci_device *dev, uint64_t dptr, const char *path, uint64_t *loaded);

/**
 * Save device memory to a file of the client's (created or replaced).
 *
 * @return
 *   0, the file's error (-EACCES, -ENOSPC, -EIO...), or a copy's error.
 */
int rpci_file_save(struct rpci_device *dev, const char *path, uint64_t dptr, uint64_t size);

/**
 * Load a file of the server's file directory into device memory, by name:
 * the server reads it into the device itself, nothing crosses the link.
 *
 * @param dev
 *   A virtual GPU.
 * @param dptr
 *   Device address.
 * @param name
 *   The file's name in the server's file_dir: a relative path, no ".." and
 *   no symbolic link (at most 191 bytes).
 * @param offset
 *   First byte of the file.
 * @param size
 *   Bytes; 0: to the end of the file.
 * @param loaded
 *   If not NULL, set to the bytes loaded.
 * @return
 *   0, -ENOTSUP (the server has no file directory), -EINVAL (a bad name),
 *   -EACCES (outside the directory: a symbolic link, not a regular file),
 *   -ENOENT, -EFAULT (outside device memory), -ENOTCONN, -ETIMEDOUT.
 */
int rpci_file_load_server(struct rpci_device *dev, uint64_t dptr, const char *name,
			  uint64_t offset, uint64_t size, uint64_t *loaded);

/**
 * Save device memory to a file of the server's file directory, by name.
 *
 * @param replace
 *   Replace an existing file (else it must not exist).
 * @return
 *   0, -EROFS (the server does not allow saving), -EEXIST, and as
 *   rpci_file_load_server().
 */
int rpci_file_save_server(struct rpci_device *dev, const char *name, uint64_t dptr,
			  uint64_t size, bool replace);

/**
 * The size of a file of the server's file directory.
 *
 * @return
 *   0 and *size set, or as rpci_file_load_server().
 */
int rpci_file_size_server(struct rpci_device *dev, const char *name, uint64_t *size);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_CLIENT_H */
