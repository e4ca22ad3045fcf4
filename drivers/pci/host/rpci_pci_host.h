/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_PCI_HOST_H
#define RPCI_PCI_HOST_H

/**
 * @file
 * The server host's own PCI functions, through libpciaccess: what a GPU
 * server has to offer before a device model fronts it. Read-only: listing
 * and configuration-space reads.
 */

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

#ifdef __cplusplus
}
#endif

#endif /* RPCI_PCI_HOST_H */
