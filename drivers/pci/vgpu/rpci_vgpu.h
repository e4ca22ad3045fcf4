/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_VGPU_H
#define RPCI_VGPU_H

/**
 * @file
 * The virtual GPU: a PCI function served across the fabric.
 *
 * Its hardware interface (what a driver on the client programs) is:
 * - configuration space: type 0 header with the personality from the
 *   deployment file, BAR0 (64 KiB of registers, 32-bit), BAR2 (device
 *   memory, 64-bit prefetchable), an MSI capability;
 * - BAR0 registers (RPCI_VGPU_REG_*): identity, status, control, memory
 *   size, completion queue base and size, doorbell, interrupt mask and
 *   status, the address translator's windows, and the submission queue
 *   itself, which lives in BAR0 so that a driver pushes a command with
 *   posted writes ("push before pull");
 * - BAR2: a window on device memory, read and written directly;
 * - a DMA engine that reads client memory with MRd and writes it with MWr,
 *   only inside windows the client registered;
 * - a completion queue in client memory, written by the device, and an MSI
 *   after each command that asks for one.
 * Every register and command field is little-endian, as on PCI.
 *
 * The model's API (rpci_vgpu_*) is what a server uses: create a device on a
 * compute backend, bind it to a link session, feed it the messages the
 * session delivers, and poll it to run its command queue.
 */

#include <stdbool.h>
#include <stdint.h>

#include "rpci_gpu.h"
#include "rpci_tlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------- configuration space */

/** Offsets in configuration space. */
#define RPCI_VGPU_CFG_VENDOR 0x00
#define RPCI_VGPU_CFG_COMMAND 0x04
#define RPCI_VGPU_CFG_REVISION 0x08
#define RPCI_VGPU_CFG_BAR0 0x10
#define RPCI_VGPU_CFG_BAR2 0x18
#define RPCI_VGPU_CFG_BAR2_HI 0x1c
#define RPCI_VGPU_CFG_SUBSYS 0x2c
#define RPCI_VGPU_CFG_CAP_PTR 0x34
#define RPCI_VGPU_CFG_INTR 0x3c
#define RPCI_VGPU_CFG_MSI 0x40
/** Command register bits. */
#define RPCI_VGPU_CMD_MEM 0x0002    /**< memory space enable */
#define RPCI_VGPU_CMD_MASTER 0x0004 /**< bus master enable (DMA) */
/** MSI capability: message control bits (upper half of the first DW). */
#define RPCI_VGPU_MSI_ENABLE 0x0001
#define RPCI_VGPU_MSI_64BIT 0x0080
/** Size of BAR0. */
#define RPCI_VGPU_BAR0_SIZE 0x10000u

/* -------------------------------------------------------- BAR0 layout */

#define RPCI_VGPU_REG_ID 0x0000          /**< RO u32: RPCI_VGPU_ID */
#define RPCI_VGPU_REG_VERSION 0x0004     /**< RO u32: RPCI_VGPU_VERSION */
#define RPCI_VGPU_REG_CAPS 0x0008        /**< RO u32: module kinds (1 << kind) */
#define RPCI_VGPU_REG_STATUS 0x000c      /**< RO u32: RPCI_VGPU_STATUS_* */
#define RPCI_VGPU_REG_MEM_SIZE 0x0010    /**< RO u64: device memory bytes */
#define RPCI_VGPU_REG_MEM_FREE 0x0018    /**< RO u64: unallocated bytes */
#define RPCI_VGPU_REG_CONTROL 0x0020     /**< RW u32: RPCI_VGPU_CTRL_* */
#define RPCI_VGPU_REG_INTR_MASK 0x0024   /**< RW u32: 1 masks the MSI */
#define RPCI_VGPU_REG_INTR_STATUS 0x0028 /**< RW1C u32: RPCI_VGPU_INTR_* */
#define RPCI_VGPU_REG_SQ_SIZE 0x002c     /**< RW u32: entries (power of 2, <= SQ_MAX) */
#define RPCI_VGPU_REG_CQ_BASE 0x0030     /**< RW u64: client address of the CQ */
#define RPCI_VGPU_REG_CQ_SIZE 0x0038     /**< RW u32: CQ entries (power of 2) */
#define RPCI_VGPU_REG_SQ_TAIL 0x003c     /**< WO u32: doorbell, producer index */
#define RPCI_VGPU_REG_SQ_HEAD 0x0040     /**< RO u32: consumer index */
#define RPCI_VGPU_REG_CQ_HEAD 0x0044     /**< RW u32: the driver's CQ consumer index */
#define RPCI_VGPU_REG_COMPUTE_UNITS 0x0048 /**< RO u32 */
#define RPCI_VGPU_REG_BACKEND 0x0080     /**< RO char[64]: backend name */
#define RPCI_VGPU_REG_DEVICE_NAME 0x00c0 /**< RO char[64]: what it runs on */
#define RPCI_VGPU_REG_WINDOWS 0x0100     /**< RW: RPCI_VGPU_WINDOWS x {u64 base, u64 size} */
#define RPCI_VGPU_REG_SQ 0x1000          /**< WO: submission queue entries */

#define RPCI_VGPU_ID 0x52504349u /**< "RPCI" */
#define RPCI_VGPU_VERSION 0x00010000u
#define RPCI_VGPU_WINDOWS 16       /**< address translator entries */
#define RPCI_VGPU_SQ_MAX 64        /**< most submission queue entries */
#define RPCI_VGPU_CMD_SIZE 256     /**< bytes of one submission queue entry */
#define RPCI_VGPU_CMD_INLINE 192   /**< inline data bytes of one entry */

#define RPCI_VGPU_STATUS_READY 0x1   /**< the device can take commands */
#define RPCI_VGPU_STATUS_BUSY 0x2    /**< commands are pending or running */
#define RPCI_VGPU_STATUS_ENABLED 0x4 /**< the queues are enabled */
#define RPCI_VGPU_STATUS_FATAL 0x8   /**< the queue stopped on a bad setup */

#define RPCI_VGPU_CTRL_ENABLE 0x1 /**< enable the queues (after setting them up) */

#define RPCI_VGPU_INTR_CMD 0x1   /**< a command asking for an MSI completed */
#define RPCI_VGPU_INTR_ERROR 0x2 /**< a command failed */

/* ------------------------------------------------------------ commands */

/** Command opcodes. */
enum rpci_vgpu_opcode {
	RPCI_VGPU_OP_NOP = 1,           /**< nothing; completes at once */
	RPCI_VGPU_OP_ALLOC = 2,         /**< args[0] size, args[1] alignment -> result: address */
	RPCI_VGPU_OP_FREE = 3,          /**< args[0] address */
	RPCI_VGPU_OP_COPY_H2D = 4,      /**< DMA read host_addr/host_len -> device args[0] */
	RPCI_VGPU_OP_COPY_D2H = 5,      /**< DMA write device args[0] -> host_addr/host_len */
	RPCI_VGPU_OP_MEMSET = 6,        /**< args[0] address, args[1] byte, args[2] length */
	/** args[0] kind, args[1] log address, args[2] log size; image inline or
	 *  at host_addr/host_len -> result: module */
	RPCI_VGPU_OP_MODULE_LOAD = 7,
	RPCI_VGPU_OP_MODULE_UNLOAD = 8, /**< args[0] module */
	RPCI_VGPU_OP_FUNCTION_GET = 9,  /**< args[0] module; name inline -> result: function */
	RPCI_VGPU_OP_LAUNCH = 10,       /**< args[0] function, args[1..3] grid/block (see below);
					 *   parameters inline or at host_addr/host_len */
	RPCI_VGPU_OP_FENCE = 11,        /**< completes when every earlier command has */
};

/** Command flags. */
#define RPCI_VGPU_CMD_F_IRQ 0x01    /**< raise an MSI when it completes */
#define RPCI_VGPU_CMD_F_INLINE 0x02 /**< data is inline, not at host_addr */

/**
 * One submission queue entry (RPCI_VGPU_CMD_SIZE bytes, little-endian).
 * LAUNCH packs its geometry as args[1] = grid x | grid y << 32,
 * args[2] = grid z | block x << 32, args[3] = block y | block z << 32.
 */
struct rpci_vgpu_cmd {
	uint8_t opcode;      /**< enum rpci_vgpu_opcode */
	uint8_t flags;       /**< RPCI_VGPU_CMD_F_* */
	uint16_t inline_len; /**< bytes of data[] used */
	uint32_t cmd_id;     /**< echoed in the completion */
	uint64_t args[5];    /**< opcode-specific */
	uint64_t host_addr;  /**< client memory the command reads or writes */
	uint32_t host_len;   /**< its length */
	uint32_t reserved;
	uint8_t data[RPCI_VGPU_CMD_INLINE]; /**< inline data */
};

/** One completion queue entry (32 bytes, little-endian). */
struct rpci_vgpu_cpl {
	uint32_t cmd_id;  /**< the command's id */
	int32_t status;   /**< 0 or a negative errno */
	uint64_t result;  /**< address, module or function handle */
	uint32_t phase;   /**< flips each time the device wraps the queue */
	uint32_t sq_head; /**< submission entries consumed so far */
	uint64_t reserved;
};

/** Launch parameters, inline or in client memory: a header then the arguments. */
struct rpci_vgpu_params_hdr {
	uint32_t nb_args;
	uint32_t reserved;
	/* followed by nb_args struct rpci_gpu_arg (16 bytes each) */
};

/* ------------------------------------------------------------ the model */

/** Identity of a virtual GPU (from the deployment file). */
struct rpci_vgpu_personality {
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint32_t class_code;
	uint8_t revision;
};

/** Counters of a virtual GPU. */
struct rpci_vgpu_stats {
	uint64_t commands;      /**< commands completed */
	uint64_t command_errors;/**< of which failed */
	uint64_t launches;      /**< kernels run */
	uint64_t msi_sent;      /**< interrupts raised */
	uint64_t mrd_served;    /**< client reads of BAR0/BAR2 answered */
	uint64_t mwr_applied;   /**< client writes applied */
	uint64_t ur_sent;       /**< requests answered Unsupported Request */
	uint64_t ca_sent;       /**< requests answered Completer Abort */
	uint64_t mwr_dropped;   /**< posted writes refused (outside a BAR, disabled, bad) */
	uint64_t dma_read_bytes;  /**< client memory read by the DMA engine */
	uint64_t dma_write_bytes; /**< client memory written by the DMA engine */
	uint64_t dma_refused;   /**< DMA outside the registered windows */
	uint64_t cpl_unexpected;/**< completions for no read of ours */
	uint64_t sessions;      /**< clients served */
	uint64_t kernel_ns;     /**< time spent running kernels (the device's load) */
};

struct rpci_vgpu;
struct rpci_link_session;

/** Parameters of a virtual GPU. */
struct rpci_vgpu_params {
	const char *name;                       /**< for logs */
	struct rpci_vgpu_personality personality;
	uint16_t completer_id;                  /**< its id on the fabric */
	struct rpci_gpu *gpu;                   /**< compute backend (owned by the caller) */
	uint32_t request_timeout_ms;            /**< DMA read completion time-out */
};

/**
 * Create a virtual GPU on a compute backend.
 *
 * @param params
 *   The parameters (copied).
 * @return
 *   The device, or NULL with errno set: EINVAL (bad parameter), ENOMEM.
 */
struct rpci_vgpu *rpci_vgpu_create(const struct rpci_vgpu_params *params);

/**
 * Destroy a virtual GPU. Unbind it first.
 *
 * @param dev
 *   The device; NULL is ignored.
 */
void rpci_vgpu_free(struct rpci_vgpu *dev);

/**
 * Give the device to a client's session (the device is dedicated: one at a
 * time). The device starts from reset: registers, queues, windows, memory
 * allocations and modules are all empty and device memory is zero.
 *
 * @param dev
 *   The device.
 * @param s
 *   The session (open).
 * @param requester_id
 *   The client's id.
 * @return
 *   0, or -EBUSY (another session holds the device, or it is still being
 *   cleared).
 */
int rpci_vgpu_bind(struct rpci_vgpu *dev, struct rpci_link_session *s, uint16_t requester_id);

/**
 * Take the device back from its session (closed or dead): stop the queue,
 * free every allocation and module, and clear the memory the client used.
 * If a kernel of that client is running, the reset completes in
 * rpci_vgpu_poll() once it ends (see rpci_vgpu_resetting()); the poll loop
 * never waits for it.
 *
 * @param dev
 *   The device.
 */
void rpci_vgpu_unbind(struct rpci_vgpu *dev);

/**
 * Whether the device is still being cleared after its last client (a
 * kernel of that client was running and must end first; rpci_vgpu_poll()
 * finishes the reset). rpci_vgpu_bind() refuses meanwhile.
 *
 * @param dev
 *   The device.
 * @return
 *   true while resetting.
 */
bool rpci_vgpu_resetting(const struct rpci_vgpu *dev);

/**
 * The session that holds the device.
 *
 * @param dev
 *   The device.
 * @return
 *   The session, or NULL if the device is free.
 */
struct rpci_link_session *rpci_vgpu_session(const struct rpci_vgpu *dev);

/**
 * Handle one message from the bound session: configuration and memory
 * requests to the device, completions of the DMA engine's reads. Bad
 * requests are answered UR or CA; bad posted writes are dropped and
 * counted.
 *
 * @param dev
 *   The device.
 * @param msg
 *   The message.
 * @return
 *   0 when handled, -EAGAIN when the answer does not fit the link now or
 *   the message would change device memory that frames not yet acked were
 *   sent from (call again with the same message), or a negative errno for
 *   a message that was refused (already answered or counted).
 */
int rpci_vgpu_rx(struct rpci_vgpu *dev, const struct rpci_tlp *msg);

/**
 * Run the command queue: start commands, move DMA along, finish kernels,
 * write completions and raise MSIs.
 *
 * @param dev
 *   The device.
 * @return
 *   Amount of work done (0 when idle).
 */
int rpci_vgpu_poll(struct rpci_vgpu *dev);

/**
 * Copy the device's counters.
 *
 * @param dev
 *   The device.
 * @param stats
 *   Filled with the counters.
 */
void rpci_vgpu_stats_get(const struct rpci_vgpu *dev, struct rpci_vgpu_stats *stats);

/**
 * Device memory in use by the current client.
 *
 * @param dev
 *   The device.
 * @return
 *   Allocated bytes.
 */
uint64_t rpci_vgpu_mem_used(const struct rpci_vgpu *dev);

/**
 * The device's compute backend.
 *
 * @param dev
 *   The device.
 * @return
 *   The backend instance.
 */
struct rpci_gpu *rpci_vgpu_gpu(const struct rpci_vgpu *dev);

/**
 * Read the device's configuration space (as a CfgRd would).
 *
 * @param dev
 *   The device.
 * @param reg
 *   DW register number (0..1023).
 * @return
 *   The register's value (0 for unimplemented registers).
 */
uint32_t rpci_vgpu_cfg_read(struct rpci_vgpu *dev, uint16_t reg);

/**
 * Write the device's configuration space (as a CfgWr would).
 *
 * @param dev
 *   The device.
 * @param reg
 *   DW register number.
 * @param value
 *   Value.
 * @param be
 *   Byte enables (4 bits).
 */
void rpci_vgpu_cfg_write(struct rpci_vgpu *dev, uint16_t reg, uint32_t value, uint8_t be);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_VGPU_H */
