/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_VGPU_HW_H
#define RPCI_VGPU_HW_H

/**
 * @file
 * The hardware interface of the rpci virtual GPU: what a driver on a
 * client programs, and what the device model (drivers/pci/vgpu) serves.
 * Both sides include this header and nothing else of the other.
 *
 * - configuration space: type 0 header with the personality from the
 *   deployment file, BAR0 (64 KiB of registers unless a profile makes it
 *   larger, 32-bit), BAR2 (device memory, 64-bit prefetchable), an MSI
 *   capability and a PCI Express capability whose Device Control register
 *   starts a function-level reset (FLR);
 * - BAR0 registers (RPCI_VGPU_REG_*): identity, status, control, memory
 *   size, completion queue base and size, doorbell, interrupt mask and
 *   status, the address translator's windows, and the submission queue
 *   itself, which lives in BAR0 so that a driver pushes a command with
 *   posted writes ("push before pull");
 * - BAR2: a window on device memory, read and written directly;
 * - a DMA engine that reads client memory with MRd and writes it with MWr,
 *   only inside windows the client registered;
 * - a completion queue in client memory, written by the device, and an MSI
 *   after each command that asks for one;
 * - after a function-level reset (its client's, or the server operator's,
 *   who may give the device a new personality with it), a vendor-defined
 *   message RPCI_VGPU_MSG_FLR to the client: everything is as after power-on
 *   (the identity may be new), and the driver brings the function up again.
 * - an API info block in BAR0 (RPCI_VGPU_REG_INFO): what the backend's API
 *   says of the device it runs on (OpenCL: every clGetPlatformInfo and
 *   clGetDeviceInfo value), read-only, so that a proxy may answer it from
 *   what it read once; the same format carries the info of a module or a
 *   function (RPCI_VGPU_OP_INFO).
 * Every register and command field is little-endian, as on PCI.
 *
 * Header only, no dependencies: constants and wire layouts.
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest kernel (function) name, terminating NUL included. */
#define RPCI_VGPU_NAME_MAX 64
/** Most arguments of one launch. */
#define RPCI_VGPU_ARGS_MAX 32

/** Module kinds (MODULE_LOAD args[0]; bit (1 << kind) in the CAPS register). */
enum rpci_vgpu_module_kind {
	RPCI_VGPU_MODULE_BUILTIN = 0, /**< the backend's built-in kernels; no image */
	RPCI_VGPU_MODULE_OPENCL = 1,  /**< OpenCL C source */
	RPCI_VGPU_MODULE_PTX = 2,     /**< NVIDIA PTX */
	/** a program binary the backend's own API gave (OpenCL: CL_PROGRAM_BINARIES) */
	RPCI_VGPU_MODULE_OPENCL_BINARY = 3,
};

/** Kinds of a launch argument (struct rpci_vgpu_params_hdr, then 16 bytes each). */
enum rpci_vgpu_arg_kind {
	RPCI_VGPU_ARG_DEVPTR = 1, /**< a device address */
	RPCI_VGPU_ARG_SCALAR = 2, /**< a value of 1, 2, 4 or 8 bytes */
	RPCI_VGPU_ARG_LOCAL = 3,  /**< local (shared) memory of a size */
	/** a value of any size (a struct, a vector): size bytes at offset value of the
	 *  parameter block */
	RPCI_VGPU_ARG_BYVAL = 4,
};

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
#define RPCI_VGPU_CFG_PCIE 0x50      /**< the PCI Express capability */
#define RPCI_VGPU_CFG_DEVCAP (RPCI_VGPU_CFG_PCIE + 4)  /**< Device Capabilities */
#define RPCI_VGPU_CFG_DEVCTL (RPCI_VGPU_CFG_PCIE + 8)  /**< Device Control (16 bits) */
/** Device Capabilities: function-level reset capable. */
#define RPCI_VGPU_DEVCAP_FLR 0x10000000u
/** Device Control: writing 1 initiates a function-level reset (reads 0). */
#define RPCI_VGPU_DEVCTL_FLR 0x8000u
/**
 * The vendor-defined message (RPCI_TLP_MSG_VENDOR) the device sends its
 * client, msg_data, after a function-level reset.
 */
#define RPCI_VGPU_MSG_FLR 0x46524c00u /* "FLR" */
/** Command register bits. */
#define RPCI_VGPU_CMD_MEM 0x0002    /**< memory space enable */
#define RPCI_VGPU_CMD_MASTER 0x0004 /**< bus master enable (DMA) */
/** MSI capability: message control bits (upper half of the first DW). */
#define RPCI_VGPU_MSI_ENABLE 0x0001
#define RPCI_VGPU_MSI_64BIT 0x0080
/** Size of BAR0 (the smallest: a profile may make it larger). */
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
#define RPCI_VGPU_REG_INFO_LEN 0x004c    /**< RO u32: bytes of the API info block (0: none) */
/** RO u64: the device's clock in ns (its host's CLOCK_MONOTONIC), the clock of reports */
#define RPCI_VGPU_REG_CLOCK 0x0050
#define RPCI_VGPU_REG_BACKEND 0x0080     /**< RO char[64]: backend name */
#define RPCI_VGPU_REG_DEVICE_NAME 0x00c0 /**< RO char[64]: what it runs on */
#define RPCI_VGPU_REG_WINDOWS 0x0100     /**< RW: RPCI_VGPU_WINDOWS x {u64 base, u64 size} */
#define RPCI_VGPU_REG_SQ 0x1000          /**< WO: submission queue entries */
/** RO: the API info block (struct rpci_vgpu_info_hdr, then entries), INFO_LEN bytes */
#define RPCI_VGPU_REG_INFO 0x8000
#define RPCI_VGPU_INFO_MAX 0x8000  /**< most bytes of the API info block */

#define RPCI_VGPU_ID 0x52504349u /**< "RPCI" */
/** 1.1: the API info block, the clock, reports, COPY, RECT, FILL, INFO, launches with
 *  an NDRange and values of any size, build options and binaries */
#define RPCI_VGPU_VERSION 0x00010001u
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
	/**
	 * args[0] device address, args[1] offset in the file, args[2] bytes
	 * (0: to its end); the file's name inline, NUL-terminated, relative
	 * to the server's file directory -> result: bytes loaded
	 */
	RPCI_VGPU_OP_FILE_LOAD = 12,
	/** args[0] device address, args[1] bytes, args[2] RPCI_VGPU_FILE_*; name inline */
	RPCI_VGPU_OP_FILE_SAVE = 13,
	RPCI_VGPU_OP_FILE_SIZE = 14,    /**< name inline -> result: the file's size */
	RPCI_VGPU_OP_COPY = 15,         /**< device to device: args[0] dst, args[1] src,
					 *   args[2] bytes */
	/** a rectangle (struct rpci_vgpu_rect inline), args[0] enum rpci_vgpu_rect_dir;
	 *  client memory at host_addr/host_len holds its rows packed */
	RPCI_VGPU_OP_RECT = 16,
	/** args[0] address, args[1] bytes (a multiple of the pattern); the pattern
	 *  (1 to RPCI_VGPU_PATTERN_MAX bytes) inline */
	RPCI_VGPU_OP_FILL = 17,
	/** args[0] enum rpci_vgpu_info_obj, args[1] its handle, args[2] key; the answer
	 *  is written at host_addr -> result: its size (-ENOSPC, nothing written, when
	 *  larger than host_len) */
	RPCI_VGPU_OP_INFO = 18,
};

/** FILE_SAVE flags. */
#define RPCI_VGPU_FILE_REPLACE 0x1 /**< replace an existing file (else it must not exist) */

/** Directions of RPCI_VGPU_OP_RECT. */
enum rpci_vgpu_rect_dir {
	RPCI_VGPU_RECT_H2D = 1, /**< packed client rows -> device rectangle at dst */
	RPCI_VGPU_RECT_D2H = 2, /**< device rectangle at src -> packed client rows */
	RPCI_VGPU_RECT_D2D = 3, /**< device rectangle at src -> device rectangle at dst */
};

/**
 * A rectangle of RPCI_VGPU_OP_RECT (inline, little-endian): region[0]
 * bytes per row, region[1] rows per slice, region[2] slices; row i of
 * slice j starts at origin + j * slice_pitch + i * row_pitch. The client
 * side is packed (pitches region[0] and region[0] * region[1]).
 */
struct rpci_vgpu_rect {
	uint64_t dst;             /**< device address of the destination's first row (D2H: 0) */
	uint64_t src;             /**< device address of the source's first row (H2D: 0) */
	uint64_t region[3];
	uint64_t dst_row_pitch;
	uint64_t dst_slice_pitch;
	uint64_t src_row_pitch;
	uint64_t src_slice_pitch;
};

/** Most bytes of a FILL pattern (OpenCL's largest, a double16). */
#define RPCI_VGPU_PATTERN_MAX 128

/** Objects RPCI_VGPU_OP_INFO describes. */
enum rpci_vgpu_info_obj {
	RPCI_VGPU_INFO_MODULE = 1,   /**< a module: key 0 its info block, KEY_BINARY its binary */
	RPCI_VGPU_INFO_FUNCTION = 2, /**< a function: key 0 its info block */
};

/** INFO key of a module's binary (the backend API's own, for RPCI_VGPU_MODULE_*_BINARY). */
#define RPCI_VGPU_INFO_KEY_BINARY 1

/** Command flags. */
#define RPCI_VGPU_CMD_F_IRQ 0x01    /**< raise an MSI when it completes */
#define RPCI_VGPU_CMD_F_INLINE 0x02 /**< data is inline, not at host_addr */
/** write a struct rpci_vgpu_report at client address args[4] before the completion */
#define RPCI_VGPU_CMD_F_REPORT 0x04

/**
 * One submission queue entry (RPCI_VGPU_CMD_SIZE bytes, little-endian).
 * LAUNCH packs its geometry as args[1] = grid x | grid y << 32,
 * args[2] = grid z | block x << 32, args[3] = block y | block z << 32
 * (unless its parameters carry an NDRange). MODULE_LOAD's args[3] is the
 * length of the build options (text, no NUL) that come before the image in
 * its data. args[4] is the report's address with RPCI_VGPU_CMD_F_REPORT.
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

/**
 * What a command with RPCI_VGPU_CMD_F_REPORT reports (32 bytes), written
 * into client memory before its completion entry.
 */
struct rpci_vgpu_report {
	int32_t status;     /**< 0 or a negative errno, as in the completion */
	int32_t api_status; /**< the backend API's own error code (OpenCL: a cl_int), 0 if none */
	uint64_t result;    /**< as in the completion */
	uint64_t start_ns;  /**< device clock (RPCI_VGPU_REG_CLOCK): when it began to run */
	uint64_t end_ns;    /**< when it ended (a launch: its kernel's own start and end) */
};

/** Launch parameters, inline or in client memory: a header then the arguments. */
struct rpci_vgpu_params_hdr {
	uint32_t nb_args;
	uint32_t flags; /**< RPCI_VGPU_PARAMS_F_* */
	/* followed by nb_args entries of 16 bytes: u16 kind (enum
	 * rpci_vgpu_arg_kind), u16 size, u32 reserved, u64 value; then, with
	 * RPCI_VGPU_PARAMS_F_NDRANGE, a struct rpci_vgpu_ndrange; then the bytes
	 * of RPCI_VGPU_ARG_BYVAL arguments (each names its offset in the block) */
};

/** Parameter flag: a struct rpci_vgpu_ndrange follows the arguments. */
#define RPCI_VGPU_PARAMS_F_NDRANGE 0x1
/** Largest parameter block of a launch. */
#define RPCI_VGPU_PARAMS_MAX 16384u

/** An NDRange (OpenCL's geometry), instead of the command's grid and block. */
struct rpci_vgpu_ndrange {
	uint32_t dims;       /**< 1 to 3 */
	uint32_t flags;      /**< RPCI_VGPU_NDRANGE_F_LOCAL: local[] is given */
	uint64_t offset[3];  /**< global work offset */
	uint64_t global[3];  /**< work items in each dimension */
	uint64_t local[3];   /**< work-group size (without the flag: the backend chooses) */
};

#define RPCI_VGPU_NDRANGE_F_LOCAL 0x1

/* ---------------------------------------------------------- info blocks */

/**
 * An info block: this header, then count entries, each a struct
 * rpci_vgpu_info_ent and len bytes of value padded to 4. For the OpenCL
 * API, keys are the cl_platform_info, cl_device_info, cl_program_info,
 * cl_kernel_info and cl_kernel_work_group_info codes with their values as
 * clGet*Info returns them, except that a size_t is 8 bytes and object
 * handles are left out; a kernel argument's info has the key
 * RPCI_VGPU_INFO_ARG(index, cl_kernel_arg_info).
 */
struct rpci_vgpu_info_hdr {
	uint32_t magic;   /**< RPCI_VGPU_INFO_MAGIC */
	uint16_t version; /**< RPCI_VGPU_INFO_VERSION */
	uint16_t api;     /**< enum rpci_vgpu_api */
	uint32_t count;   /**< entries */
	uint32_t len;     /**< bytes of the block, header included */
};

/** One entry of an info block. */
struct rpci_vgpu_info_ent {
	uint32_t key;
	uint32_t len; /**< bytes of value that follow (then padding to 4) */
};

#define RPCI_VGPU_INFO_MAGIC 0x42495052u /* "RPIB" */
#define RPCI_VGPU_INFO_VERSION 1

/** The API an info block speaks of. */
enum rpci_vgpu_api {
	RPCI_VGPU_API_OPENCL = 1,
};

/** Key of a kernel argument's info (index < 0x7fff, param < 0x10000). */
#define RPCI_VGPU_INFO_ARG(index, param) \
	(0x80000000u | ((uint32_t)(index) << 16) | ((uint32_t)(param) & 0xffffu))
/** Key of the size of a kernel argument passed by value (u32; 0: not known). */
#define RPCI_VGPU_INFO_ARG_SIZE 0xff01u

#ifdef __cplusplus
}
#endif

#endif /* RPCI_VGPU_HW_H */
