/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_PCI_HOST_H
#define RPCI_PCI_HOST_H

/**
 * @file
 * The server host's own PCI functions, through libpciaccess: listing them,
 * and a device model that serves one of them to a client across the
 * fabric (kind "pci" in the deployment file).
 *
 * The model (rpci_pci_fn_*) answers configuration requests through
 * libpciaccess and memory requests on the function's mapped BARs, within
 * an access policy: configuration reads always; configuration writes with
 * "config"; BAR reads and writes only inside the ranges the policy lists.
 * Anything else is refused (an Unsupported Request completion for a
 * request, a dropped and counted posted write).
 *
 * The BAR registers (and the expansion ROM's) are emulated, as VFIO does:
 * a client reads the host's addresses, may size a BAR by writing all ones
 * (it then reads the size mask) and restores it with any other write; the
 * function's real BAR registers are never written, so a function the host
 * kernel drives keeps working. A client's memory request names the host's
 * address of the BAR.
 *
 * The model reaches the function through an ops table (struct
 * rpci_pci_access_ops): libpciaccess in rpci_pci_fn_open(), a test double
 * in the unit tests.
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One PCI function of this host. */
struct rpci_pci_host_func {
	uint16_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t func;
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint32_t class_code; /**< 24 bits */
	uint8_t revision;
	uint64_t bar_size[6]; /**< 0 where the device has no such BAR */
	uint64_t rom_size;    /**< expansion ROM, 0 if none */
};

/**
 * List this host's PCI functions.
 *
 * @param funcs
 *   Filled with up to max functions, in bus order.
 * @param max
 *   Room in funcs.
 * @param nb
 *   Set to the number of functions found (may exceed max: only max are
 *   filled).
 * @return
 *   0, or -EIO (libpciaccess could not read the PCI bus; errno of
 *   pci_system_init() logged in the message of rpci_pci_host_error()).
 */
int rpci_pci_host_scan(struct rpci_pci_host_func *funcs, unsigned int max, unsigned int *nb);

/**
 * Read a function's configuration space.
 *
 * @param f
 *   A function from rpci_pci_host_scan().
 * @param offset
 *   Byte offset, DW aligned, below 4096.
 * @param value
 *   Set to the DW read.
 * @return
 *   0, -EINVAL (bad offset), -ENODEV (the function is gone), -EIO (the
 *   read failed; unprivileged reads stop at 64 bytes).
 */
int rpci_pci_host_cfg_read(const struct rpci_pci_host_func *f, uint16_t offset, uint32_t *value);

/**
 * Text of the last error of this library.
 *
 * @return
 *   A message (empty if none).
 */
const char *rpci_pci_host_error(void);

/* ------------------------------------------------- serving a function */

/** Most BAR ranges of a policy. */
#define RPCI_PCI_POLICY_RANGES_MAX 8

/** What a client may do with a served function. */
struct rpci_pci_policy {
	bool config_write; /**< configuration writes reach the function ("config") */
	struct {
		uint8_t bar;     /**< 0..5 */
		bool write;      /**< bar-rw (else bar-read) */
		uint64_t offset; /**< first byte in the BAR */
		uint64_t size;   /**< bytes */
	} ranges[RPCI_PCI_POLICY_RANGES_MAX];
	unsigned int nb_ranges;
};

/**
 * How the model reaches a function: libpciaccess, or a test double. Every
 * call returns 0 or a negative errno.
 */
struct rpci_pci_access_ops {
	/** Read the configuration DW at offset (DW aligned). */
	int (*cfg_read)(void *ctx, uint16_t offset, uint32_t *value);
	/** Write the bytes of value that be (4 bits) enables, at the DW at offset. */
	int (*cfg_write)(void *ctx, uint16_t offset, uint32_t value, uint8_t be);
	/** Read len bytes of a BAR at offset (inside the BAR). */
	int (*bar_read)(void *ctx, int bar, uint64_t offset, void *dst, uint32_t len);
	/** Write len bytes of a BAR at offset (inside the BAR). */
	int (*bar_write)(void *ctx, int bar, uint64_t offset, const void *src, uint32_t len);
	/** Free ctx (NULL: nothing to free). */
	void (*close)(void *ctx);
};

/** Counters of a served function. */
struct rpci_pci_fn_stats {
	uint64_t cfg_reads;     /**< configuration reads answered */
	uint64_t cfg_writes;    /**< configuration writes applied (BAR emulation included) */
	uint64_t mem_reads;     /**< BAR reads answered */
	uint64_t mem_writes;    /**< BAR writes applied */
	uint64_t bytes_in;      /**< bytes written into BARs */
	uint64_t bytes_out;     /**< bytes read from BARs */
	uint64_t refused;       /**< requests outside the policy or the function (UR) */
	uint64_t dropped;       /**< posted writes outside the policy, dropped */
	uint64_t unsupported;   /**< other messages (Msg, completions): UR or dropped */
	uint64_t errors;        /**< accesses the function failed (Completer Abort) */
	uint64_t sessions;      /**< clients served */
};

struct rpci_pci_fn;
struct rpci_link_session;
struct rpci_tlp;

/** Parameters of a served function. */
struct rpci_pci_fn_params {
	const char *name;                      /**< for logs */
	struct rpci_pci_host_func func;        /**< the function (address, BAR sizes) */
	struct rpci_pci_policy policy;         /**< what a client may do */
	const struct rpci_pci_access_ops *ops; /**< how to reach it */
	void *ctx;                             /**< ops' context (the model frees it with close) */
	uint16_t completer_id;                 /**< its id on the fabric */
};

/**
 * Serve a function through an ops table. Reads the BAR registers once
 * (through ops) to learn the host's addresses.
 *
 * @param params
 *   Parameters (copied; ops->close(ctx) is called by rpci_pci_fn_free(),
 *   or here on failure).
 * @return
 *   The model, or NULL with errno EINVAL (bad parameters, a policy range
 *   outside its BAR or on a BAR the function lacks or that is I/O space),
 *   EIO (the BAR registers could not be read), ENOMEM.
 */
struct rpci_pci_fn *rpci_pci_fn_create(const struct rpci_pci_fn_params *params);

/**
 * Serve a function of this host through libpciaccess. BARs with a policy
 * range are mapped at the first access to them, no others ever.
 *
 * @param domain, bus, dev, func
 *   The function's address.
 * @param policy
 *   What a client may do.
 * @param name
 *   For logs.
 * @param completer_id
 *   Its id on the fabric.
 * @return
 *   The model, or NULL with errno ENODEV (no such function), EIO (the bus
 *   cannot be read), EINVAL (a policy range outside a BAR), ENOMEM;
 *   rpci_pci_host_error() says more.
 */
struct rpci_pci_fn *rpci_pci_fn_open(uint16_t domain, uint8_t bus, uint8_t dev, uint8_t func,
				     const struct rpci_pci_policy *policy, const char *name,
				     uint16_t completer_id);

/**
 * Stop serving a function (unmaps its BARs).
 *
 * @param fn
 *   The model; NULL is ignored.
 */
void rpci_pci_fn_free(struct rpci_pci_fn *fn);

/**
 * The function's identity and BAR sizes.
 *
 * @param fn
 *   The model.
 * @return
 *   Its description.
 */
const struct rpci_pci_host_func *rpci_pci_fn_func(const struct rpci_pci_fn *fn);

/**
 * A configuration read, as a CfgRd asks it (BAR registers emulated).
 *
 * @param fn
 *   The model.
 * @param reg
 *   DW register number (0..1023).
 * @param value
 *   Set to the DW.
 * @return
 *   0, -EINVAL (reg out of range), -EIO (the function has no such register
 *   or the read failed: answered UR).
 */
int rpci_pci_fn_cfg_read(struct rpci_pci_fn *fn, uint16_t reg, uint32_t *value);

/**
 * A configuration write, as a CfgWr asks it. BAR and ROM registers are
 * emulated (sizing only) whatever the policy; any other register is
 * written only if the policy has "config".
 *
 * @param fn
 *   The model.
 * @param reg
 *   DW register number.
 * @param value
 *   The DW.
 * @param be
 *   Byte enables (4 bits).
 * @return
 *   0, -EINVAL (reg out of range), -EPERM (the policy forbids it), -EIO.
 */
int rpci_pci_fn_cfg_write(struct rpci_pci_fn *fn, uint16_t reg, uint32_t value, uint8_t be);

/**
 * A memory read of [addr, addr + len) in the host's address space of the
 * function's BARs.
 *
 * @return
 *   0, -EFAULT (not inside one memory BAR), -EPERM (outside every range of
 *   the policy that allows reading), -EIO (the access failed).
 */
int rpci_pci_fn_mem_read(struct rpci_pci_fn *fn, uint64_t addr, void *dst, uint32_t len);

/**
 * A memory write of [addr, addr + len): as rpci_pci_fn_mem_read(), inside
 * a bar-rw range.
 *
 * @return
 *   0, -EFAULT, -EPERM, -EIO.
 */
int rpci_pci_fn_mem_write(struct rpci_pci_fn *fn, uint64_t addr, const void *src, uint32_t len);

/**
 * Give the function to a client's session (one at a time).
 *
 * @return
 *   0, or -EBUSY.
 */
int rpci_pci_fn_bind(struct rpci_pci_fn *fn, struct rpci_link_session *s);

/**
 * Take the function back from its session; its BAR emulation is reset.
 */
void rpci_pci_fn_unbind(struct rpci_pci_fn *fn);

/**
 * The session that holds the function, or NULL.
 */
struct rpci_link_session *rpci_pci_fn_session(const struct rpci_pci_fn *fn);

/**
 * Handle one message from the bound session: CfgRd, CfgWr, MRd and MWr
 * within the policy; everything else is refused (UR) or dropped, and
 * counted.
 *
 * @param fn
 *   The model.
 * @param msg
 *   The message.
 * @return
 *   0 when handled, -EAGAIN when the answer does not fit the link now (call
 *   again with the same message), or a negative errno for a request that
 *   was refused (already answered or counted).
 */
int rpci_pci_fn_rx(struct rpci_pci_fn *fn, const struct rpci_tlp *msg);

/**
 * Copy the function's counters.
 */
void rpci_pci_fn_stats_get(const struct rpci_pci_fn *fn, struct rpci_pci_fn_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_PCI_HOST_H */
