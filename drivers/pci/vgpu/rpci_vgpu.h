/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_VGPU_H
#define RPCI_VGPU_H

/**
 * @file
 * The virtual GPU device model: a PCI function served across the fabric.
 * Its hardware interface (registers, commands, completions) is in
 * rpci_vgpu_hw.h, which client drivers include alone.
 *
 * The model's API (rpci_vgpu_*) is what a server uses: create a device on a
 * compute backend, bind it to a link session, feed it the messages the
 * session delivers, and poll it to run its command queue.
 */

#include <stdbool.h>
#include <stdint.h>

#include "rpci_gpu.h"
#include "rpci_tlp.h"
#include "rpci_vgpu_hw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ the model */

/** Identity of a virtual GPU (from the deployment file, or a profile of it). */
struct rpci_vgpu_personality {
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint32_t class_code;
	uint8_t revision;
	uint64_t bar0_size; /**< a power of two >= RPCI_VGPU_BAR0_SIZE; 0: that */
	uint64_t bar2_size; /**< a power of two >= the memory; 0: the memory's power of two */
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
	uint64_t bar_read_bytes;  /**< BAR2 bytes read by the client */
	uint64_t bar_write_bytes; /**< BAR2 bytes written by the client */
	uint64_t file_load_bytes; /**< loaded from files of the server (FILE_LOAD) */
	uint64_t file_save_bytes; /**< saved to files of the server (FILE_SAVE) */
	uint64_t mem_high;      /**< most device memory allocated at once, bytes */
	uint64_t session_mem_high; /**< the same, for the current (or last) session */
	uint64_t resets;        /**< function-level resets */
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
	int file_dir_fd;   /**< the directory FILE_LOAD, FILE_SAVE name files in; -1: none */
	bool file_save;    /**< FILE_SAVE may write there */
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
 * A function-level reset, as the FLR bit of the PCI Express capability
 * starts it, optionally with a new personality (the server operator's "set
 * personality"): the queues stop, every allocation, module and byte the
 * client wrote is cleared, the configuration space comes back from reset
 * (with the new identity and BAR sizes), and the bound session (which
 * stays) is sent the vendor message RPCI_VGPU_MSG_FLR. A kernel that is
 * running ends first: the reset completes in rpci_vgpu_poll() then.
 *
 * @param dev
 *   The device.
 * @param personality
 *   The new identity, or NULL to keep the current one.
 * @return
 *   0, or -EINVAL (BAR sizes that are not powers of two, a BAR0 smaller
 *   than RPCI_VGPU_BAR0_SIZE, a BAR2 smaller than the device memory).
 */
int rpci_vgpu_reset(struct rpci_vgpu *dev, const struct rpci_vgpu_personality *personality);

/**
 * The device's identity now.
 *
 * @param dev
 *   The device.
 * @return
 *   Its personality (BAR sizes as served).
 */
const struct rpci_vgpu_personality *rpci_vgpu_personality(const struct rpci_vgpu *dev);

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
