/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The virtual GPU device model: configuration space, BAR0 registers and
 * submission queue, BAR2 on device memory, a DMA engine that reads and
 * writes client memory across the link inside registered windows, a
 * completion queue in client memory and MSI.
 *
 * Commands run one after another (in order). A kernel runs on a worker
 * thread so that the poll loop keeps the link alive meanwhile.
 */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_log.h>

#include "rpci_link.h"
#include "rpci_vgpu.h"
#include "vgpu_file.h"

/* The hardware interface and the backends' interface agree. */
static_assert(RPCI_VGPU_ARGS_MAX == RPCI_GPU_ARGS_MAX, "launch argument limits differ");
static_assert(RPCI_VGPU_NAME_MAX == RPCI_GPU_NAME_MAX, "kernel name limits differ");
static_assert(RPCI_VGPU_MODULE_PTX == (int)RPCI_GPU_MODULE_PTX, "module kinds differ");
static_assert(RPCI_VGPU_ARG_LOCAL == (int)RPCI_GPU_ARG_LOCAL, "argument kinds differ");
static_assert(RPCI_VGPU_ARG_BYVAL == (int)RPCI_GPU_ARG_BYVAL, "argument kinds differ");
static_assert(RPCI_VGPU_MODULE_OPENCL_BINARY == (int)RPCI_GPU_MODULE_OPENCL_BINARY,
	      "module kinds differ");
static_assert(sizeof(struct rpci_vgpu_report) == 32, "a report is 32 bytes");
static_assert(sizeof(struct rpci_vgpu_rect) <= RPCI_VGPU_CMD_INLINE, "a rectangle is inline");

RTE_LOG_REGISTER(rpci_vgpu_logtype, rpci.driver.vgpu, INFO);

#define VGPU_LOG(level, dev, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_vgpu_logtype, "rpci.vgpu: %s: %s(): " fmt "\n", \
		(dev)->name, __func__, ##__VA_ARGS__)

#define CFG_REGS 64                 /* implemented header DWs (256 bytes) */
#define DMA_TAGS 64                 /* reads the DMA engine keeps in flight */
#define DMA_READ_MAX 4096u          /* bytes per DMA read request */
#define CQ_MAX 4096u                /* most completion queue entries */
#define STAGING_MAX (64u << 20)     /* largest module image or parameter block */
#define MODULES_MAX 64
#define FUNCTIONS_MAX 256
#define ALLOC_ALIGN 256u
#define LOG_MAX 16384
#define FILL_CHUNK (64u << 10)      /* bytes a pattern fill writes at a time */

struct dev_alloc {
	uint64_t addr;
	uint64_t size;
};

/* A DMA transfer between client memory and a local buffer. */
struct dma_xfer {
	bool active;
	bool to_host;          /* MWr out (true) or MRd in (false) */
	uint64_t host_addr;
	uint64_t len;
	uint8_t *local;        /* staging buffer, or device memory's host address */
	bool local_is_devmem;
	uint64_t dev_addr;     /* device memory: the device address */
	uint64_t issued;       /* bytes requested (reads) or sent (writes) */
	uint64_t done;         /* bytes received (reads) */
	uint32_t outstanding;  /* reads in flight */
	uint64_t last_progress;
	int error;
};

enum kernel_state {
	KERNEL_IDLE = 0,
	KERNEL_QUEUED,
	KERNEL_RUNNING,
	KERNEL_DONE,
};

/*
 * What the worker thread runs: kernels, and module loads (an OpenCL build
 * can take seconds; the poll loop must keep the link alive meanwhile).
 */
enum worker_job {
	JOB_LAUNCH = 0,
	JOB_MODULE_LOAD,
	JOB_FILE, /* FILE_LOAD, FILE_SAVE, FILE_SIZE: file I/O can be long */
};

struct rpci_vgpu {
	struct rpci_vgpu_params p;
	char name[32];
	struct rpci_gpu *gpu;
	struct rpci_gpu_info info;
	uint64_t mem_size;
	uint64_t bar0_size;
	uint64_t bar2_size;
	/* the API info block (BAR0 at RPCI_VGPU_REG_INFO), read from the backend once */
	uint8_t *info_blob;
	uint32_t info_len;

	/* configuration space */
	uint32_t cfg[CFG_REGS];

	/* BAR0 */
	uint32_t control;
	uint32_t intr_mask;
	uint32_t intr_status;
	uint32_t sq_size;
	uint64_t cq_base;
	uint32_t cq_size;
	uint32_t sq_tail;
	uint32_t sq_head;
	uint32_t cq_head;
	bool enabled;
	bool fatal;
	struct {
		uint64_t base;
		uint64_t size;
	} windows[RPCI_VGPU_WINDOWS];
	uint8_t sq[RPCI_VGPU_SQ_MAX * RPCI_VGPU_CMD_SIZE];

	/* completion queue producer */
	uint32_t cq_tail;
	uint32_t cq_phase;

	/* the client */
	struct rpci_link_session *session;
	uint16_t requester_id;

	/* device memory allocator: sorted, non-overlapping */
	struct dev_alloc *allocs;
	uint32_t nb_allocs;
	uint32_t allocs_cap;
	uint64_t mem_used;
	uint64_t dirty_end; /* memory past this was never written this session */

	void *modules[MODULES_MAX];
	struct {
		void *fn;
		uint32_t module;
	} functions[FUNCTIONS_MAX];

	/* the command being executed */
	bool cmd_active;
	uint64_t cmd_start_ns; /* its report's times */
	uint64_t cmd_end_ns;
	int32_t cmd_api_status; /* the backend API's code behind a failure */
	uint32_t cmd_gen;   /* queue_gen when it was fetched */
	uint32_t queue_gen; /* changes each time the queues are enabled or disabled */
	bool resetting;     /* unbound while a kernel ran: reset when it ends */
	int cmd_step;
	struct rpci_vgpu_cmd cmd;
	uint64_t cmd_result;
	int cmd_status;
	uint8_t *staging;
	uint64_t staging_len;
	char *log;
	struct dma_xfer dma;
	struct rpci_tlp_tags *tags;
	uint64_t timeout_tsc;

	/* frames sent from device memory: wait for their ack before it changes */
	uint32_t zc_seq;
	bool zc_pending;

	/* function-level reset: in progress (a kernel must end), client not told yet */
	bool flr_pending;
	bool flr_tell;

	/* kernel worker */
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool worker_stop;
	_Atomic int kernel_state;
	int job;                /* what the worker runs: enum worker_job */
	uint32_t ml_kind;       /* JOB_MODULE_LOAD: kind, image length (in staging), slot */
	uint32_t ml_len;
	uint32_t ml_slot;
	uint32_t ml_opt_len;    /* build options before the image in staging */
	char *ml_options;       /* as a string */
	char file_name[RPCI_VGPU_CMD_INLINE]; /* JOB_FILE: the command's name */
	uint64_t file_result;
	uint64_t kernel_t0_ns;  /* when the running kernel began (0: none); atomic */
	void *kernel_fn;
	struct rpci_gpu_arg kernel_args[RPCI_GPU_ARGS_MAX];
	struct rpci_gpu_ndrange kernel_ndrange;
	struct rpci_gpu_launch kernel_launch;
	int kernel_status;
	int32_t kernel_api_status; /* the worker's backend API code */
	uint64_t kernel_start_ns; /* the last kernel's start and end on the worker */
	uint64_t kernel_end_ns;

	struct rpci_vgpu_stats stats;
};

/* ----------------------------------------------------------- little helpers */

static inline uint64_t
le64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_64(v);
}

static inline uint32_t
le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_32(v);
}

static inline uint16_t
le16_at(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_16(v);
}

/* The device's clock (RPCI_VGPU_REG_CLOCK, reports). */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool
range_in(uint64_t addr, uint64_t len, uint64_t base, uint64_t size)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

static bool
window_ok(const struct rpci_vgpu *dev, uint64_t addr, uint64_t len)
{
	uint32_t i;

	if (len == 0 || addr + len < addr) {
		return false;
	}
	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		if (dev->windows[i].size != 0 &&
		    range_in(addr, len, dev->windows[i].base, dev->windows[i].size)) {
			return true;
		}
	}
	return false;
}

static uint64_t
bar0_base(const struct rpci_vgpu *dev)
{
	return dev->cfg[RPCI_VGPU_CFG_BAR0 / 4] & ~(dev->bar0_size - 1);
}

static uint64_t
bar2_base(const struct rpci_vgpu *dev)
{
	uint64_t lo = dev->cfg[RPCI_VGPU_CFG_BAR2 / 4] & ~0xfull;
	uint64_t hi = dev->cfg[RPCI_VGPU_CFG_BAR2_HI / 4];

	return ((hi << 32) | lo) & ~(dev->bar2_size - 1);
}

static bool
mem_enabled(const struct rpci_vgpu *dev)
{
	return (dev->cfg[RPCI_VGPU_CFG_COMMAND / 4] & RPCI_VGPU_CMD_MEM) != 0;
}

static bool
master_enabled(const struct rpci_vgpu *dev)
{
	return (dev->cfg[RPCI_VGPU_CFG_COMMAND / 4] & RPCI_VGPU_CMD_MASTER) != 0;
}

static void
dirty(struct rpci_vgpu *dev, uint64_t off, uint64_t len)
{
	if (off + len > dev->dirty_end) {
		dev->dirty_end = RTE_MIN(off + len, dev->mem_size);
	}
}

/* ------------------------------------------------------- kernel worker */

/*
 * A module load on the worker: the image in staging after its build
 * options. A backend without module_build loads without options only.
 */
static int
worker_module_load(struct rpci_vgpu *dev, void **module)
{
	enum rpci_gpu_module_kind kind = (enum rpci_gpu_module_kind)dev->ml_kind;
	const uint8_t *image = dev->ml_len ? dev->staging + dev->ml_opt_len : NULL;

	if (dev->gpu->ops->module_build != NULL) {
		return dev->gpu->ops->module_build(dev->gpu->priv, kind, image, dev->ml_len,
						   dev->ml_options != NULL ? dev->ml_options : "",
						   module, dev->log, LOG_MAX);
	}
	if (dev->ml_opt_len > 0 || kind == RPCI_GPU_MODULE_OPENCL_BINARY) {
		snprintf(dev->log, LOG_MAX, "the %s backend takes no build options or binaries",
			 dev->info.backend);
		return -ENOTSUP;
	}
	return dev->gpu->ops->module_load(dev->gpu->priv, kind, image, dev->ml_len, module,
					  dev->log, LOG_MAX);
}

static uint64_t
ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

/* A file command (FILE_LOAD, FILE_SAVE, FILE_SIZE), on the worker. */
static int
file_job(struct rpci_vgpu *dev)
{
	const struct rpci_vgpu_cmd *c = &dev->cmd;
	int fd = dev->p.file_dir_fd, ret;

	dev->file_result = 0;
	switch (c->opcode) {
	case RPCI_VGPU_OP_FILE_LOAD:
		return vgpu_file_load(dev->gpu, fd, dev->file_name, c->args[0], c->args[1],
				      c->args[2], &dev->file_result);
	case RPCI_VGPU_OP_FILE_SAVE:
		ret = vgpu_file_save(dev->gpu, fd, dev->file_name, c->args[0], c->args[1],
				     (c->args[2] & RPCI_VGPU_FILE_REPLACE) != 0);
		if (ret == 0) {
			dev->file_result = c->args[1];
		}
		return ret;
	default:
		return vgpu_file_size(fd, dev->file_name, &dev->file_result);
	}
}

static void *
worker_main(void *arg)
{
	struct rpci_vgpu *dev = arg;
	struct timespec t0, t1;

	pthread_mutex_lock(&dev->lock);
	for (;;) {
		while (!dev->worker_stop && atomic_load(&dev->kernel_state) != KERNEL_QUEUED) {
			pthread_cond_wait(&dev->cond, &dev->lock);
		}
		if (dev->worker_stop) {
			break;
		}
		atomic_store(&dev->kernel_state, KERNEL_RUNNING);
		pthread_mutex_unlock(&dev->lock);
		if (dev->job == JOB_FILE) {
			dev->kernel_status = file_job(dev);
			pthread_mutex_lock(&dev->lock);
			atomic_store(&dev->kernel_state, KERNEL_DONE);
			continue;
		}
		if (dev->job == JOB_MODULE_LOAD) {
			void *module = NULL;

			dev->kernel_status = worker_module_load(dev, &module);
			dev->kernel_api_status = dev->kernel_status < 0 ?
				rpci_gpu_api_status(dev->gpu) : 0;
			/* In its slot before DONE: a reset from then on unloads it. */
			dev->modules[dev->ml_slot] = dev->kernel_status == 0 ? module : NULL;
			pthread_mutex_lock(&dev->lock);
			atomic_store(&dev->kernel_state, KERNEL_DONE);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* Published while it runs: the device's load counts a long kernel as it goes. */
		__atomic_store_n(&dev->kernel_t0_ns, ts_ns(&t0), __ATOMIC_RELEASE);
		dev->kernel_status = dev->gpu->ops->launch(dev->gpu->priv, dev->kernel_fn,
							   &dev->kernel_launch);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		dev->kernel_api_status = dev->kernel_status < 0 ? rpci_gpu_api_status(dev->gpu) : 0;
		dev->kernel_start_ns = ts_ns(&t0);
		dev->kernel_end_ns = ts_ns(&t1);
		__atomic_fetch_add(&dev->stats.kernel_ns, ts_ns(&t1) - ts_ns(&t0),
				   __ATOMIC_RELEASE);
		__atomic_store_n(&dev->kernel_t0_ns, 0, __ATOMIC_RELEASE);
		pthread_mutex_lock(&dev->lock);
		atomic_store(&dev->kernel_state, KERNEL_DONE);
	}
	pthread_mutex_unlock(&dev->lock);
	return NULL;
}

static void
kernel_start(struct rpci_vgpu *dev)
{
	pthread_mutex_lock(&dev->lock);
	atomic_store(&dev->kernel_state, KERNEL_QUEUED);
	pthread_cond_signal(&dev->cond);
	pthread_mutex_unlock(&dev->lock);
}

static void
kernel_wait(struct rpci_vgpu *dev)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100000 };
	int st = atomic_load(&dev->kernel_state);

	while (st == KERNEL_QUEUED || st == KERNEL_RUNNING) {
		nanosleep(&ts, NULL);
		st = atomic_load(&dev->kernel_state);
	}
	atomic_store(&dev->kernel_state, KERNEL_IDLE);
}

/* ------------------------------------------------------ configuration space */

static void
cfg_reset(struct rpci_vgpu *dev)
{
	const struct rpci_vgpu_personality *id = &dev->p.personality;

	memset(dev->cfg, 0, sizeof(dev->cfg));
	dev->cfg[0] = id->vendor_id | ((uint32_t)id->device_id << 16);
	dev->cfg[1] = 0x0010u << 16; /* status: capability list */
	dev->cfg[2] = id->revision | ((id->class_code & 0xffffffu) << 8);
	dev->cfg[RPCI_VGPU_CFG_BAR2 / 4] = 0xc; /* 64-bit, prefetchable */
	dev->cfg[RPCI_VGPU_CFG_SUBSYS / 4] = id->subsystem_vendor_id |
					     ((uint32_t)id->subsystem_id << 16);
	dev->cfg[RPCI_VGPU_CFG_CAP_PTR / 4] = RPCI_VGPU_CFG_MSI;
	dev->cfg[RPCI_VGPU_CFG_MSI / 4] = 0x05 | (RPCI_VGPU_CFG_PCIE << 8) |
					  ((uint32_t)RPCI_VGPU_MSI_64BIT << 16);
	/*
	 * PCI Express capability, the last in the list: version 1, a Root
	 * Complex Integrated Endpoint (a function on the fabric has no link
	 * of its own to describe).
	 */
	dev->cfg[RPCI_VGPU_CFG_PCIE / 4] = 0x10 | (0x0091u << 16);
	/* FLR; max payload 4096 bytes (the link's largest) */
	dev->cfg[RPCI_VGPU_CFG_DEVCAP / 4] = RPCI_VGPU_DEVCAP_FLR | 0x5;
	/* Device Control: max payload 128, max read request 512 (the reset values) */
	dev->cfg[RPCI_VGPU_CFG_DEVCTL / 4] = 0x2 << 12;
}

uint32_t
rpci_vgpu_cfg_read(struct rpci_vgpu *dev, uint16_t reg)
{
	if (reg >= CFG_REGS) {
		return 0;
	}
	return dev->cfg[reg];
}

static void flr_begin(struct rpci_vgpu *dev);

void
rpci_vgpu_cfg_write(struct rpci_vgpu *dev, uint16_t reg, uint32_t value, uint8_t be)
{
	uint32_t mask = 0, bemask = 0, old;
	int i;

	if (reg >= CFG_REGS) {
		return;
	}
	for (i = 0; i < 4; i++) {
		if (be & (1u << i)) {
			bemask |= 0xffu << (8 * i);
		}
	}
	switch (reg * 4) {
	case RPCI_VGPU_CFG_COMMAND:
		mask = RPCI_VGPU_CMD_MEM | RPCI_VGPU_CMD_MASTER | 0x0400; /* + INTx disable */
		break;
	case RPCI_VGPU_CFG_BAR0:
		mask = (uint32_t)~(dev->bar0_size - 1);
		break;
	case RPCI_VGPU_CFG_BAR2:
		mask = (uint32_t)(~(dev->bar2_size - 1)) & ~0xfu;
		break;
	case RPCI_VGPU_CFG_BAR2_HI:
		mask = (uint32_t)(~(dev->bar2_size - 1) >> 32);
		break;
	case RPCI_VGPU_CFG_INTR:
		mask = 0xff; /* interrupt line */
		break;
	case RPCI_VGPU_CFG_MSI:
		mask = (uint32_t)RPCI_VGPU_MSI_ENABLE << 16;
		break;
	case RPCI_VGPU_CFG_MSI + 4:
		mask = 0xfffffffc; /* message address, DW aligned */
		break;
	case RPCI_VGPU_CFG_MSI + 8:
		mask = 0xffffffff; /* message upper address */
		break;
	case RPCI_VGPU_CFG_MSI + 12:
		mask = 0xffff; /* message data */
		break;
	case RPCI_VGPU_CFG_DEVCTL:
		if ((be & 0x2) && (value & RPCI_VGPU_DEVCTL_FLR)) {
			flr_begin(dev); /* the register comes back from reset too */
			return;
		}
		mask = 0x7fff; /* Device Status (upper half): nothing to clear */
		break;
	default:
		return; /* read-only */
	}
	mask &= bemask;
	old = dev->cfg[reg];
	dev->cfg[reg] = (old & ~mask) | (value & mask);
}

/* ---------------------------------------------------------------- BAR0 */

static void
reg_put32(uint8_t *img, uint32_t off, uint32_t v)
{
	v = rte_cpu_to_le_32(v);
	memcpy(img + off, &v, sizeof(v));
}

static void
reg_put64(uint8_t *img, uint32_t off, uint64_t v)
{
	v = rte_cpu_to_le_64(v);
	memcpy(img + off, &v, sizeof(v));
}

static uint32_t
status_bits(const struct rpci_vgpu *dev)
{
	uint32_t st = RPCI_VGPU_STATUS_READY;

	if (dev->enabled) {
		st |= RPCI_VGPU_STATUS_ENABLED;
	}
	if (dev->cmd_active || dev->sq_head != dev->sq_tail) {
		st |= RPCI_VGPU_STATUS_BUSY;
	}
	if (dev->fatal) {
		st |= RPCI_VGPU_STATUS_FATAL;
	}
	return st;
}

/* Read BAR0 bytes [off, off + len) into out. */
static void
bar0_read(const struct rpci_vgpu *dev, uint32_t off, uint32_t len, uint8_t *out)
{
	uint8_t img[0x200];
	uint32_t i;

	memset(img, 0, sizeof(img));
	reg_put32(img, RPCI_VGPU_REG_ID, RPCI_VGPU_ID);
	reg_put32(img, RPCI_VGPU_REG_VERSION, RPCI_VGPU_VERSION);
	reg_put32(img, RPCI_VGPU_REG_CAPS, dev->info.module_kinds);
	reg_put32(img, RPCI_VGPU_REG_STATUS, status_bits(dev));
	reg_put64(img, RPCI_VGPU_REG_MEM_SIZE, dev->mem_size);
	reg_put64(img, RPCI_VGPU_REG_MEM_FREE, dev->mem_size - dev->mem_used);
	reg_put32(img, RPCI_VGPU_REG_CONTROL, dev->control);
	reg_put32(img, RPCI_VGPU_REG_INTR_MASK, dev->intr_mask);
	reg_put32(img, RPCI_VGPU_REG_INTR_STATUS, dev->intr_status);
	reg_put32(img, RPCI_VGPU_REG_SQ_SIZE, dev->sq_size);
	reg_put64(img, RPCI_VGPU_REG_CQ_BASE, dev->cq_base);
	reg_put32(img, RPCI_VGPU_REG_CQ_SIZE, dev->cq_size);
	reg_put32(img, RPCI_VGPU_REG_SQ_HEAD, dev->sq_head);
	reg_put32(img, RPCI_VGPU_REG_CQ_HEAD, dev->cq_head);
	reg_put32(img, RPCI_VGPU_REG_COMPUTE_UNITS, dev->info.compute_units);
	reg_put32(img, RPCI_VGPU_REG_INFO_LEN, dev->info_len);
	reg_put64(img, RPCI_VGPU_REG_CLOCK, now_ns());
	memcpy(img + RPCI_VGPU_REG_BACKEND, dev->info.backend,
	       RTE_MIN(sizeof(dev->info.backend), (size_t)64) - 1);
	memcpy(img + RPCI_VGPU_REG_DEVICE_NAME, dev->info.device_name,
	       RTE_MIN(sizeof(dev->info.device_name), (size_t)64) - 1);
	for (i = 0; i < RPCI_VGPU_WINDOWS; i++) {
		reg_put64(img, RPCI_VGPU_REG_WINDOWS + 16 * i, dev->windows[i].base);
		reg_put64(img, RPCI_VGPU_REG_WINDOWS + 16 * i + 8, dev->windows[i].size);
	}
	for (i = 0; i < len; i++) {
		uint32_t o = off + i;

		if (o < sizeof(img)) {
			out[i] = img[o];
		} else if (o >= RPCI_VGPU_REG_SQ && o < RPCI_VGPU_REG_SQ + sizeof(dev->sq)) {
			out[i] = dev->sq[o - RPCI_VGPU_REG_SQ];
		} else if (o >= RPCI_VGPU_REG_INFO && o - RPCI_VGPU_REG_INFO < dev->info_len) {
			out[i] = dev->info_blob[o - RPCI_VGPU_REG_INFO];
		} else {
			out[i] = 0;
		}
	}
}

static bool
is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static void
queue_enable(struct rpci_vgpu *dev)
{
	if (!is_pow2(dev->sq_size) || dev->sq_size > RPCI_VGPU_SQ_MAX || !is_pow2(dev->cq_size) ||
	    dev->cq_size > CQ_MAX ||
	    !window_ok(dev, dev->cq_base, (uint64_t)dev->cq_size * sizeof(struct rpci_vgpu_cpl))) {
		VGPU_LOG(WARNING, dev, "queue setup refused: sq %u, cq %u at 0x%" PRIx64,
			 dev->sq_size, dev->cq_size, dev->cq_base);
		dev->fatal = true;
		return;
	}
	dev->enabled = true;
	dev->fatal = false;
	dev->queue_gen++;
	dev->sq_head = dev->sq_tail = 0;
	dev->cq_tail = dev->cq_head = 0;
	dev->cq_phase = 1;
}

/* Apply one register DW write (full DW writes only). */
static int
bar0_write_reg(struct rpci_vgpu *dev, uint32_t off, uint32_t v)
{
	uint32_t w;

	if (off >= RPCI_VGPU_REG_WINDOWS &&
	    off < RPCI_VGPU_REG_WINDOWS + 16 * RPCI_VGPU_WINDOWS) {
		uint32_t i = (off - RPCI_VGPU_REG_WINDOWS) / 16;
		uint32_t f = (off - RPCI_VGPU_REG_WINDOWS) % 16;
		uint64_t *field = f < 8 ? &dev->windows[i].base : &dev->windows[i].size;

		if (f % 8 == 0) {
			*field = (*field & ~0xffffffffull) | v;
		} else {
			*field = (*field & 0xffffffffull) | ((uint64_t)v << 32);
		}
		return 0;
	}
	switch (off) {
	case RPCI_VGPU_REG_CONTROL:
		if ((v & RPCI_VGPU_CTRL_ENABLE) && !dev->enabled) {
			dev->control = v & RPCI_VGPU_CTRL_ENABLE;
			queue_enable(dev);
		} else if (!(v & RPCI_VGPU_CTRL_ENABLE)) {
			dev->control = 0;
			dev->enabled = false;
			dev->queue_gen++;
		}
		return 0;
	case RPCI_VGPU_REG_INTR_MASK:
		dev->intr_mask = v & 1u;
		return 0;
	case RPCI_VGPU_REG_INTR_STATUS:
		dev->intr_status &= ~v;
		return 0;
	case RPCI_VGPU_REG_SQ_SIZE:
		if (dev->enabled) {
			return -EBUSY;
		}
		dev->sq_size = v;
		return 0;
	case RPCI_VGPU_REG_CQ_BASE:
	case RPCI_VGPU_REG_CQ_BASE + 4:
		if (dev->enabled) {
			return -EBUSY;
		}
		if (off == RPCI_VGPU_REG_CQ_BASE) {
			dev->cq_base = (dev->cq_base & ~0xffffffffull) | v;
		} else {
			dev->cq_base = (dev->cq_base & 0xffffffffull) | ((uint64_t)v << 32);
		}
		return 0;
	case RPCI_VGPU_REG_CQ_SIZE:
		if (dev->enabled) {
			return -EBUSY;
		}
		dev->cq_size = v;
		return 0;
	case RPCI_VGPU_REG_SQ_TAIL:
		if (!dev->enabled) {
			return -EIO;
		}
		w = v - dev->sq_head;
		if (w > dev->sq_size) {
			/* More commands than the queue holds: a broken driver. */
			VGPU_LOG(WARNING, dev, "doorbell %u overruns head %u", v, dev->sq_head);
			dev->fatal = true;
			dev->enabled = false;
			return -EINVAL;
		}
		dev->sq_tail = v;
		return 0;
	case RPCI_VGPU_REG_CQ_HEAD:
		w = dev->cq_tail - v;
		if (w > dev->cq_size) {
			return -EINVAL;
		}
		dev->cq_head = v;
		return 0;
	default:
		return -EPERM; /* read-only or unimplemented */
	}
}

static int
bar0_write(struct rpci_vgpu *dev, uint32_t off, const uint8_t *data, uint32_t first,
	   uint32_t count, uint8_t first_be, uint8_t last_be, uint16_t length_dw)
{
	uint32_t i;
	int ret = 0;

	/* The submission queue is memory: any bytes may be written. */
	if (off >= RPCI_VGPU_REG_SQ && off + first + count <= RPCI_VGPU_REG_SQ + sizeof(dev->sq)) {
		memcpy(dev->sq + (off - RPCI_VGPU_REG_SQ) + first, data + first, count);
		return 0;
	}
	/* Registers take whole DWs. */
	if (first_be != 0xf || (length_dw > 1 && last_be != 0xf) || off + length_dw * 4 > 0x1000) {
		return -EINVAL;
	}
	for (i = 0; i < length_dw; i++) {
		int r = bar0_write_reg(dev, off + 4 * i, le32_at(data + 4 * i));

		if (r < 0) {
			ret = r;
		}
	}
	return ret;
}

/* -------------------------------------------------------------- allocator */

static int
mem_alloc(struct rpci_vgpu *dev, uint64_t size, uint64_t align, uint64_t *addr)
{
	uint64_t cur = 0, start;
	uint32_t i;

	if (size == 0) {
		return -EINVAL;
	}
	if (size > dev->mem_size) {
		/*
		 * More than the device has is "no room" like any other request
		 * that does not fit (the driver reports -ENOMEM as out of device
		 * memory); the check also keeps the rounding below from wrapping.
		 */
		return -ENOMEM;
	}
	if (align < ALLOC_ALIGN) {
		align = ALLOC_ALIGN;
	}
	if (align < dev->info.mem_align) {
		align = dev->info.mem_align; /* the backend's (OpenCL base address alignment) */
	}
	if (!is_pow2((uint32_t)RTE_MIN(align, (uint64_t)1 << 31)) || align > (1ull << 30)) {
		return -EINVAL;
	}
	size = RTE_ALIGN_CEIL(size, ALLOC_ALIGN);
	if (dev->nb_allocs == dev->allocs_cap) {
		uint32_t cap = dev->allocs_cap ? dev->allocs_cap * 2 : 64;
		struct dev_alloc *a = realloc(dev->allocs, sizeof(*a) * cap);

		if (a == NULL) {
			return -ENOMEM;
		}
		dev->allocs = a;
		dev->allocs_cap = cap;
	}
	/* First fit over the gaps between sorted allocations. */
	for (i = 0; i <= dev->nb_allocs; i++) {
		uint64_t gap_end = i < dev->nb_allocs ? dev->allocs[i].addr : dev->mem_size;

		start = RTE_ALIGN_CEIL(cur, align);
		if (start <= gap_end && gap_end - start >= size) {
			memmove(&dev->allocs[i + 1], &dev->allocs[i],
				sizeof(*dev->allocs) * (dev->nb_allocs - i));
			dev->allocs[i].addr = start;
			dev->allocs[i].size = size;
			dev->nb_allocs++;
			dev->mem_used += size;
			dev->stats.mem_high = RTE_MAX(dev->stats.mem_high, dev->mem_used);
			dev->stats.session_mem_high = RTE_MAX(dev->stats.session_mem_high,
							      dev->mem_used);
			*addr = start;
			return 0;
		}
		if (i < dev->nb_allocs) {
			cur = dev->allocs[i].addr + dev->allocs[i].size;
		}
	}
	return -ENOMEM;
}

static int
mem_free(struct rpci_vgpu *dev, uint64_t addr)
{
	uint32_t i;

	for (i = 0; i < dev->nb_allocs; i++) {
		if (dev->allocs[i].addr == addr) {
			dev->mem_used -= dev->allocs[i].size;
			memmove(&dev->allocs[i], &dev->allocs[i + 1],
				sizeof(*dev->allocs) * (dev->nb_allocs - i - 1));
			dev->nb_allocs--;
			return 0;
		}
	}
	return -ENOENT;
}

uint64_t
rpci_vgpu_mem_used(const struct rpci_vgpu *dev)
{
	return dev->mem_used;
}

/* --------------------------------------------------------------- lifecycle */

/*
 * The backend's API info block, read once: it never changes, and BAR0
 * serves it read-only (a proxy keeps what it read). A backend without one,
 * or one too large, leaves INFO_LEN at 0.
 */
static int
info_load(struct rpci_vgpu *dev)
{
	size_t size = 0;
	int ret;

	if (dev->gpu->ops->api_info == NULL) {
		return 0;
	}
	dev->info_blob = malloc(RPCI_VGPU_INFO_MAX);
	if (dev->info_blob == NULL) {
		return -ENOMEM;
	}
	ret = dev->gpu->ops->api_info(dev->gpu->priv, dev->info_blob, RPCI_VGPU_INFO_MAX, &size);
	if (ret < 0 || size > RPCI_VGPU_INFO_MAX) {
		VGPU_LOG(WARNING, dev, "no API info block (%zu bytes): %s", size, strerror(-ret));
		free(dev->info_blob);
		dev->info_blob = NULL;
		return 0;
	}
	dev->info_len = (uint32_t)size;
	return 0;
}

/* The BAR sizes of a personality (0: the defaults), checked, into p and dev. */
static int
bar_sizes(struct rpci_vgpu *dev, struct rpci_vgpu_personality *p)
{
	uint64_t b0 = p->bar0_size, b2 = p->bar2_size;

	if (b0 == 0) {
		b0 = RPCI_VGPU_BAR0_SIZE;
	}
	if (b2 == 0) {
		b2 = RTE_MAX(rte_align64pow2(dev->mem_size), (uint64_t)RPCI_VGPU_BAR0_SIZE);
	}
	if ((b0 & (b0 - 1)) != 0 || b0 < RPCI_VGPU_BAR0_SIZE || b0 > (1ull << 31) ||
	    (b2 & (b2 - 1)) != 0 || b2 < dev->mem_size || b2 < RPCI_VGPU_BAR0_SIZE) {
		return -EINVAL;
	}
	p->bar0_size = b0;
	p->bar2_size = b2;
	dev->bar0_size = b0;
	dev->bar2_size = b2;
	return 0;
}

struct rpci_vgpu *
rpci_vgpu_create(const struct rpci_vgpu_params *params)
{
	struct rpci_vgpu *dev;
	int ret;

	if (params == NULL || params->gpu == NULL || params->gpu->memory_bytes == 0) {
		errno = EINVAL;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	dev->p = *params;
	snprintf(dev->name, sizeof(dev->name), "%s", params->name ? params->name : "vgpu");
	dev->p.name = dev->name;
	if (dev->p.request_timeout_ms == 0) {
		dev->p.request_timeout_ms = 10000;
	}
	dev->gpu = params->gpu;
	dev->mem_size = dev->gpu->memory_bytes;
	ret = bar_sizes(dev, &dev->p.personality);
	if (ret < 0) {
		goto free_dev;
	}
	ret = dev->gpu->ops->info(dev->gpu->priv, &dev->info);
	if (ret < 0) {
		goto free_dev;
	}
	ret = info_load(dev);
	if (ret < 0) {
		goto free_dev;
	}
	dev->tags = rpci_tlp_tags_create(DMA_TAGS);
	if (dev->tags == NULL) {
		ret = -ENOMEM;
		goto free_info;
	}
	dev->log = malloc(LOG_MAX);
	if (dev->log == NULL) {
		ret = -ENOMEM;
		goto free_tags;
	}
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->cond, NULL);
	ret = pthread_create(&dev->worker, NULL, worker_main, dev);
	if (ret != 0) {
		ret = -ret;
		goto free_log;
	}
	dev->worker_started = true;
	cfg_reset(dev);
	return dev;

free_log:
	pthread_cond_destroy(&dev->cond);
	pthread_mutex_destroy(&dev->lock);
	free(dev->log);
free_tags:
	rpci_tlp_tags_free(dev->tags);
free_info:
	free(dev->info_blob);
free_dev:
	free(dev);
	errno = -ret;
	return NULL;
}

/* Back to the state of a device nobody used. No kernel may be running. */
static void
device_reset(struct rpci_vgpu *dev)
{
	uint32_t i;

	atomic_store(&dev->kernel_state, KERNEL_IDLE);
	dev->resetting = false;
	for (i = 0; i < FUNCTIONS_MAX; i++) {
		dev->functions[i].fn = NULL;
	}
	for (i = 0; i < MODULES_MAX; i++) {
		if (dev->modules[i] != NULL) {
			dev->gpu->ops->module_unload(dev->gpu->priv, dev->modules[i]);
			dev->modules[i] = NULL;
		}
	}
	/* Nothing a client wrote stays for the next one. */
	if (dev->dirty_end > 0) {
		rpci_gpu_mem_fill(dev->gpu, 0, 0, dev->dirty_end);
		dev->dirty_end = 0;
	}
	dev->nb_allocs = 0;
	dev->mem_used = 0;
	for (i = 0; i < DMA_TAGS; i++) {
		rpci_tlp_tag_release(dev->tags, (uint16_t)i, NULL);
	}
	free(dev->staging);
	dev->staging = NULL;
	dev->staging_len = 0;
	memset(&dev->dma, 0, sizeof(dev->dma));
	dev->cmd_active = false;
	dev->control = dev->intr_mask = dev->intr_status = 0;
	dev->sq_size = dev->cq_size = 0;
	dev->cq_base = 0;
	dev->sq_head = dev->sq_tail = dev->cq_head = dev->cq_tail = 0;
	dev->enabled = dev->fatal = false;
	dev->zc_pending = false;
	dev->flr_pending = false;
	memset(dev->windows, 0, sizeof(dev->windows));
	memset(dev->sq, 0, sizeof(dev->sq));
	cfg_reset(dev);
}

void
rpci_vgpu_free(struct rpci_vgpu *dev)
{
	if (dev == NULL) {
		return;
	}
	kernel_wait(dev);
	device_reset(dev);
	if (dev->worker_started) {
		pthread_mutex_lock(&dev->lock);
		dev->worker_stop = true;
		pthread_cond_signal(&dev->cond);
		pthread_mutex_unlock(&dev->lock);
		pthread_join(dev->worker, NULL);
	}
	pthread_cond_destroy(&dev->cond);
	pthread_mutex_destroy(&dev->lock);
	rpci_tlp_tags_free(dev->tags);
	free(dev->allocs);
	free(dev->log);
	free(dev->info_blob);
	free(dev->ml_options);
	free(dev);
}

int
rpci_vgpu_bind(struct rpci_vgpu *dev, struct rpci_link_session *s, uint16_t requester_id)
{
	if (dev->session != NULL || dev->resetting) {
		return -EBUSY;
	}
	device_reset(dev);
	dev->session = s;
	dev->requester_id = requester_id;
	dev->stats.sessions++;
	dev->stats.session_mem_high = 0;
	return 0;
}

void
rpci_vgpu_unbind(struct rpci_vgpu *dev)
{
	int st;

	if (dev->session == NULL) {
		return;
	}
	dev->session = NULL;
	st = atomic_load(&dev->kernel_state);
	if (st == KERNEL_QUEUED || st == KERNEL_RUNNING) {
		/* Finish the reset when the kernel ends (rpci_vgpu_poll()). */
		dev->resetting = true;
		return;
	}
	device_reset(dev);
}

static bool
kernel_busy(const struct rpci_vgpu *dev)
{
	int st = atomic_load(&dev->kernel_state);

	return st == KERNEL_QUEUED || st == KERNEL_RUNNING;
}

/* Tell the client its function was reset (a vendor message), when the link has room. */
static void
flr_tell(struct rpci_vgpu *dev)
{
	struct rpci_tlp msg = {
		.type = RPCI_TLP_MSG,
		.msg_code = RPCI_TLP_MSG_VENDOR,
		.requester_id = dev->p.completer_id,
		.msg_data = RPCI_VGPU_MSG_FLR,
	};
	int ret;

	if (dev->session == NULL) {
		dev->flr_tell = false;
		return;
	}
	if (rpci_link_tx_room_for(dev->session, RPCI_TLP_MSG) < 1) {
		return; /* the next poll tries again */
	}
	ret = rpci_link_send(dev->session, &msg, NULL, 0);
	if (ret != -EAGAIN) {
		dev->flr_tell = false;
	}
}

/* The reset proper, once no kernel runs. */
static void
flr_finish(struct rpci_vgpu *dev)
{
	if (!dev->flr_pending || kernel_busy(dev)) {
		return;
	}
	device_reset(dev);
	dev->stats.session_mem_high = 0;
	dev->flr_tell = dev->session != NULL;
	/* Told from the next poll: after the completion of a CfgWr that asked for it. */
	VGPU_LOG(INFO, dev, "function-level reset done: %04x:%04x class %06x",
		 dev->p.personality.vendor_id, dev->p.personality.device_id,
		 dev->p.personality.class_code);
}

/*
 * A function-level reset begins: the queues stop (the command in progress
 * completes nowhere), configuration space is back from reset at once, so
 * that no request reaches memory or registers; the rest waits for a
 * running kernel to end.
 */
static void
flr_begin(struct rpci_vgpu *dev)
{
	dev->enabled = false;
	dev->queue_gen++;
	cfg_reset(dev);
	dev->flr_pending = true;
	dev->stats.resets++;
	flr_finish(dev);
}

int
rpci_vgpu_reset(struct rpci_vgpu *dev, const struct rpci_vgpu_personality *personality)
{
	struct rpci_vgpu_personality p;
	int ret;

	if (personality != NULL) {
		p = *personality;
		ret = bar_sizes(dev, &p);
		if (ret < 0) {
			return ret; /* nothing changed */
		}
		dev->p.personality = p;
	}
	flr_begin(dev);
	return 0;
}

const struct rpci_vgpu_personality *
rpci_vgpu_personality(const struct rpci_vgpu *dev)
{
	return &dev->p.personality;
}

bool
rpci_vgpu_resetting(const struct rpci_vgpu *dev)
{
	return dev->resetting;
}

struct rpci_link_session *
rpci_vgpu_session(const struct rpci_vgpu *dev)
{
	return dev->session;
}

struct rpci_gpu *
rpci_vgpu_gpu(const struct rpci_vgpu *dev)
{
	return dev->gpu;
}

void
rpci_vgpu_stats_get(const struct rpci_vgpu *dev, struct rpci_vgpu_stats *stats)
{
	struct timespec now;
	uint64_t t0;

	*stats = dev->stats;
	/* written by the kernel worker */
	stats->kernel_ns = __atomic_load_n(&dev->stats.kernel_ns, __ATOMIC_ACQUIRE);
	t0 = __atomic_load_n(&dev->kernel_t0_ns, __ATOMIC_ACQUIRE);
	if (t0 != 0) {
		/* a kernel runs: its time so far (the kernel_ns read above lacks it) */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_ns(&now) > t0) {
			stats->kernel_ns += ts_ns(&now) - t0;
		}
	}
}

/* ------------------------------------------------------- requests in */

/*
 * Whether the frames sent from device memory (BAR2 reads answered, D2H
 * copies) have been acked: until then device memory must not change, for
 * the link sends those payloads attached and took their CRC when it sent
 * them (a change would make every replay fail its CRC).
 */
static bool
zc_settled(struct rpci_vgpu *dev)
{
	if (dev->zc_pending && !rpci_link_session_acked(dev->session, dev->zc_seq)) {
		return false;
	}
	dev->zc_pending = false;
	return true;
}

static int
send_cpl(struct rpci_vgpu *dev, const struct rpci_tlp *req, uint8_t status)
{
	struct rpci_tlp cpl;
	int ret;

	rpci_tlp_cpl_for(&cpl, req, dev->p.completer_id, status);
	ret = rpci_link_send(dev->session, &cpl, NULL, 0);
	if (ret == 0) {
		if (status == RPCI_TLP_CPL_UR) {
			dev->stats.ur_sent++;
		} else if (status == RPCI_TLP_CPL_CA) {
			dev->stats.ca_sent++;
		}
	}
	return ret;
}

/* Answer a read with data at src (DW-aligned to the request). */
static int
send_read_data(struct rpci_vgpu *dev, const struct rpci_tlp *req, const uint8_t *src_dw,
	       uint64_t dw_addr, unsigned int flags)
{
	struct rpci_tlp_cpl_iter it;
	struct rpci_tlp cpl;
	uint64_t src_addr;
	uint32_t max_payload = rpci_link_max_payload(rpci_link_session_link(dev->session));
	uint32_t need;
	int ret;

	need = (req->length_dw * 4 + max_payload - 1) / max_payload + 1;
	if (rpci_link_tx_room_for(dev->session, RPCI_TLP_CPLD) < need) {
		return -EAGAIN;
	}
	ret = rpci_tlp_cpl_iter_init(&it, req, dev->p.completer_id, max_payload);
	if (ret < 0) {
		return ret;
	}
	while (rpci_tlp_cpl_iter_next(&it, &cpl, &src_addr) == 1) {
		const uint8_t *p = src_dw + (src_addr - dw_addr);

		ret = rpci_link_send(dev->session, &cpl, rpci_tlp_payload_len(&cpl) ? p : NULL,
				     flags);
		if (ret < 0) {
			/* Room was checked: only a dead session gets here. */
			return ret;
		}
	}
	return 0;
}

static int
rx_cfg(struct rpci_vgpu *dev, const struct rpci_tlp *msg)
{
	uint32_t v;

	if (rpci_link_tx_room_for(dev->session, RPCI_TLP_CPLD) < 1) {
		return -EAGAIN;
	}
	if (msg->completer_id != dev->p.completer_id) {
		send_cpl(dev, msg, RPCI_TLP_CPL_UR);
		return -ENODEV;
	}
	if (msg->type == RPCI_TLP_CFGWR) {
		rpci_vgpu_cfg_write(dev, msg->reg, le32_at(msg->payload), msg->first_be);
		return send_cpl(dev, msg, RPCI_TLP_CPL_SC);
	}
	v = rte_cpu_to_le_32(rpci_vgpu_cfg_read(dev, msg->reg));
	return send_read_data(dev, msg, (const uint8_t *)&v, (uint64_t)msg->reg * 4,
			      RPCI_LINK_SEND_COPY);
}

static int
rx_mrd(struct rpci_vgpu *dev, const struct rpci_tlp *msg)
{
	uint64_t len = (uint64_t)msg->length_dw * 4;
	uint64_t b0 = bar0_base(dev), b2 = bar2_base(dev);

	if (mem_enabled(dev) && b0 != 0 && range_in(msg->address, len, b0, dev->bar0_size)) {
		uint8_t buf[RPCI_TLP_MAX_PAYLOAD];
		int ret;

		if (rpci_link_tx_room_for(dev->session, RPCI_TLP_CPLD) < 2) {
			return -EAGAIN;
		}
		bar0_read(dev, (uint32_t)(msg->address - b0), (uint32_t)len, buf);
		ret = send_read_data(dev, msg, buf, msg->address, RPCI_LINK_SEND_COPY);
		if (ret == 0) {
			dev->stats.mrd_served++;
		}
		return ret;
	}
	if (mem_enabled(dev) && b2 != 0 && range_in(msg->address, len, b2, dev->bar2_size)) {
		uint64_t off = msg->address - b2;
		int st = atomic_load(&dev->kernel_state);
		int ret;

		if (!range_in(off, len, 0, dev->mem_size)) {
			/* Decoded but not backed. */
			if (rpci_link_tx_room_for(dev->session, RPCI_TLP_CPLD) < 1) {
				return -EAGAIN;
			}
			send_cpl(dev, msg, RPCI_TLP_CPL_CA);
			return -EFAULT;
		}
		/*
		 * Sent in place, the data must not change until acked (see
		 * zc_settled()); a kernel that is running may change it at any
		 * time, so it is copied then. (A kernel starts only once earlier
		 * frames from device memory are acked.)
		 */
		if (dev->gpu->mem_base == NULL) {
			/* Memory the CPU cannot address: read it out, send a copy. */
			uint8_t buf[RPCI_TLP_MAX_PAYLOAD];

			if (rpci_link_tx_room_for(dev->session, RPCI_TLP_CPLD) < 2 + len / 64) {
				return -EAGAIN;
			}
			if (rpci_gpu_mem_read(dev->gpu, off, buf, len) < 0) {
				send_cpl(dev, msg, RPCI_TLP_CPL_CA);
				return -EIO;
			}
			ret = send_read_data(dev, msg, buf, msg->address, RPCI_LINK_SEND_COPY);
			if (ret == 0) {
				dev->stats.mrd_served++;
				dev->stats.bar_read_bytes += len;
			}
			return ret;
		}
		ret = send_read_data(dev, msg, (const uint8_t *)dev->gpu->mem_base + off,
				     msg->address,
				     st == KERNEL_QUEUED || st == KERNEL_RUNNING ?
				     RPCI_LINK_SEND_COPY : 0);
		if (ret == 0) {
			dev->stats.mrd_served++;
			dev->stats.bar_read_bytes += len;
			dev->zc_seq = rpci_link_session_tx_seq(dev->session);
			dev->zc_pending = true;
		}
		return ret;
	}
	if (rpci_link_tx_room_for(dev->session, RPCI_TLP_CPLD) < 1) {
		return -EAGAIN;
	}
	send_cpl(dev, msg, RPCI_TLP_CPL_UR);
	return -EFAULT;
}

static int
rx_mwr(struct rpci_vgpu *dev, const struct rpci_tlp *msg)
{
	uint64_t len = (uint64_t)msg->length_dw * 4;
	uint64_t b0 = bar0_base(dev), b2 = bar2_base(dev);
	uint32_t first, count;

	count = rpci_tlp_byte_range(msg, &first);
	if (mem_enabled(dev) && b0 != 0 && range_in(msg->address, len, b0, dev->bar0_size)) {
		int ret = bar0_write(dev, (uint32_t)(msg->address - b0), msg->payload, first, count,
				     msg->first_be, msg->last_be, msg->length_dw);

		if (ret < 0) {
			dev->stats.mwr_dropped++;
			VGPU_LOG(DEBUG, dev, "write of BAR0 0x%" PRIx64 " refused: %s",
				 msg->address - b0, strerror(-ret));
			return ret;
		}
		dev->stats.mwr_applied++;
		return 0;
	}
	if (mem_enabled(dev) && b2 != 0 && range_in(msg->address, len, b2, dev->bar2_size)) {
		uint64_t off = msg->address - b2 + first;

		if (count == 0) {
			return 0;
		}
		if (!zc_settled(dev)) {
			return -EAGAIN; /* the link delivers it again once they are acked */
		}
		if (rpci_gpu_mem_write(dev->gpu, off, (const uint8_t *)msg->payload + first,
				       count) < 0) {
			dev->stats.mwr_dropped++;
			return -EFAULT;
		}
		dirty(dev, off, count);
		dev->stats.mwr_applied++;
		dev->stats.bar_write_bytes += count;
		return 0;
	}
	dev->stats.mwr_dropped++;
	VGPU_LOG(DEBUG, dev, "write of 0x%" PRIx64 " (%u DW) hits no enabled BAR", msg->address,
		 msg->length_dw);
	return -EFAULT;
}

/* A completion for one of the DMA engine's reads. */
static int
rx_cpl(struct rpci_vgpu *dev, const struct rpci_tlp *msg)
{
	uint32_t offset, len, skip;
	void *cookie;
	bool done;
	int ret;

	/* Data for device memory waits like a posted write (before the tag moves on). */
	if (dev->dma.active && !dev->dma.to_host && dev->dma.local_is_devmem &&
	    !zc_settled(dev)) {
		return -EAGAIN;
	}
	ret = rpci_tlp_tag_complete(dev->tags, msg, &offset, &len, &skip, &cookie, &done);
	if (ret == -ENOENT || ret == -EBADMSG) {
		dev->stats.cpl_unexpected++;
		return ret;
	}
	if (!dev->dma.active || dev->dma.to_host) {
		/* The transfer was given up (time-out): its reads still end. */
		return 0;
	}
	if (ret == -EIO) {
		dev->dma.error = -EIO;
	} else if (len > 0) {
		uint64_t at = (uint64_t)(uintptr_t)cookie + offset;

		if (dev->dma.local_is_devmem) {
			rpci_gpu_mem_write(dev->gpu, dev->dma.dev_addr + at,
					   (const uint8_t *)msg->payload + skip, len);
			dirty(dev, dev->dma.dev_addr + at, len);
		} else {
			memcpy(dev->dma.local + at, (const uint8_t *)msg->payload + skip, len);
		}
		dev->dma.done += len;
		dev->stats.dma_read_bytes += len;
		dev->dma.last_progress = rte_get_timer_cycles();
	}
	if (done) {
		dev->dma.outstanding--;
	}
	return 0;
}

int
rpci_vgpu_rx(struct rpci_vgpu *dev, const struct rpci_tlp *msg)
{
	if (dev->session == NULL) {
		return -ENOTCONN;
	}
	switch (msg->type) {
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		return rx_cfg(dev, msg);
	case RPCI_TLP_MRD:
		return rx_mrd(dev, msg);
	case RPCI_TLP_MWR:
		return rx_mwr(dev, msg);
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		return rx_cpl(dev, msg);
	default:
		/* Messages to a device: nothing it understands. */
		return -EOPNOTSUPP;
	}
}

/* ------------------------------------------------------------- DMA engine */

static void
dma_start(struct rpci_vgpu *dev, bool to_host, uint64_t host_addr, uint64_t len, uint8_t *local)
{
	memset(&dev->dma, 0, sizeof(dev->dma));
	dev->dma.active = true;
	dev->dma.to_host = to_host;
	dev->dma.host_addr = host_addr;
	dev->dma.len = len;
	dev->dma.local = local;
	dev->dma.last_progress = rte_get_timer_cycles();
}

/* A DMA transfer to or from device memory at dev_addr. */
static void
dma_start_devmem(struct rpci_vgpu *dev, bool to_host, uint64_t host_addr, uint64_t len,
		 uint64_t dev_addr)
{
	dma_start(dev, to_host, host_addr, len,
		  dev->gpu->mem_base != NULL ? (uint8_t *)dev->gpu->mem_base + dev_addr : NULL);
	dev->dma.local_is_devmem = true;
	dev->dma.dev_addr = dev_addr;
}

/*
 * One MWr of a transfer to the host. Device memory the CPU addresses is sent
 * in place (guarded by zc_pending); memory it cannot address is read out
 * first; any other buffer (the build log) is reused by the next command at
 * once, so it is copied into the frame (its CRC is taken when the frame is
 * sealed: the bytes may not change before the ack).
 */
static int
dma_send_chunk(struct rpci_vgpu *dev, struct rpci_tlp *mwr, uint64_t dst, uint32_t chunk)
{
	struct dma_xfer *x = &dev->dma;
	uint8_t bounce[RPCI_TLP_MAX_PAYLOAD + 4];
	uint32_t lead = (uint32_t)(dst & 3);

	if (x->local_is_devmem && x->local == NULL) {
		memset(bounce, 0, sizeof(bounce));
		if (rpci_gpu_mem_read(dev->gpu, x->dev_addr + x->issued, bounce + lead,
				      chunk) < 0) {
			return -EIO;
		}
		return rpci_link_send(dev->session, mwr, bounce, RPCI_LINK_SEND_COPY);
	}
	return rpci_link_send(dev->session, mwr, x->local + x->issued - lead,
			      RPCI_LINK_SEND_EXACT |
			      (x->local_is_devmem ? 0 : RPCI_LINK_SEND_COPY));
}

/*
 * Move a DMA transfer along. Returns 1 when it has finished (dma.error
 * says how), 0 while it goes on, and adds the work done to *work.
 */
static int
dma_step(struct rpci_vgpu *dev, int *work)
{
	struct dma_xfer *x = &dev->dma;
	struct rpci_link *link = rpci_link_session_link(dev->session);
	uint32_t max_payload = rpci_link_max_payload(link);

	if (x->error != 0) {
		goto finish;
	}
	if (x->to_host) {
		while (x->issued < x->len) {
			uint64_t dst = x->host_addr + x->issued;
			uint32_t chunk = rpci_tlp_chunk_len(dst, x->len - x->issued, max_payload);
			struct rpci_tlp mwr = {
				.type = RPCI_TLP_MWR,
				.requester_id = dev->p.completer_id,
			};
			int ret;

			rpci_tlp_set_byte_range(&mwr, dst, chunk);
			ret = dma_send_chunk(dev, &mwr, dst, chunk);
			if (ret == -EAGAIN) {
				return 0;
			}
			if (ret < 0) {
				x->error = ret;
				goto finish;
			}
			x->issued += chunk;
			dev->stats.dma_write_bytes += chunk;
			(*work)++;
		}
		if (x->local_is_devmem && x->local != NULL) {
			dev->zc_seq = rpci_link_session_tx_seq(dev->session);
			dev->zc_pending = true;
		}
		goto finish;
	}
	while (x->issued < x->len && x->outstanding < DMA_TAGS &&
	       rpci_link_tx_room_for(dev->session, RPCI_TLP_MRD) > 0) {
		uint64_t src = x->host_addr + x->issued;
		uint32_t chunk = rpci_tlp_chunk_len(src, x->len - x->issued, DMA_READ_MAX);
		struct rpci_tlp mrd = {
			.type = RPCI_TLP_MRD,
			.requester_id = dev->p.completer_id,
		};
		int tag, ret;

		rpci_tlp_set_byte_range(&mrd, src, chunk);
		tag = rpci_tlp_tag_alloc(dev->tags, &mrd, (void *)(uintptr_t)x->issued);
		if (tag < 0) {
			break;
		}
		mrd.tag = (uint16_t)tag;
		ret = rpci_link_send(dev->session, &mrd, NULL, 0);
		if (ret < 0) {
			rpci_tlp_tag_release(dev->tags, (uint16_t)tag, NULL);
			if (ret == -EAGAIN) {
				break;
			}
			x->error = ret;
			goto finish;
		}
		x->issued += chunk;
		x->outstanding++;
		(*work)++;
	}
	if (x->done == x->len && x->outstanding == 0) {
		goto finish;
	}
	if (rte_get_timer_cycles() - x->last_progress > dev->timeout_tsc) {
		VGPU_LOG(WARNING, dev, "DMA read of 0x%" PRIx64 " timed out", x->host_addr);
		x->error = -ETIMEDOUT;
		goto finish;
	}
	return 0;

finish:
	if (x->error != 0 && !x->to_host) {
		uint32_t i;

		/* Late completions of abandoned reads are counted as unexpected. */
		for (i = 0; i < DMA_TAGS; i++) {
			rpci_tlp_tag_release(dev->tags, (uint16_t)i, NULL);
		}
	}
	x->active = false;
	return 1;
}

/* ------------------------------------------------------------ commands */

static int
staging_get(struct rpci_vgpu *dev, uint64_t len)
{
	uint8_t *p;

	if (len > STAGING_MAX) {
		return -E2BIG;
	}
	if (len <= dev->staging_len) {
		return 0;
	}
	p = realloc(dev->staging, len);
	if (p == NULL) {
		return -ENOMEM;
	}
	dev->staging = p;
	dev->staging_len = len;
	return 0;
}

/* Command data: inline, or fetched from client memory into staging. */
static int
cmd_data_begin(struct rpci_vgpu *dev, uint64_t max_len)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;
	int ret;

	if (c->flags & RPCI_VGPU_CMD_F_INLINE) {
		if (c->inline_len > RPCI_VGPU_CMD_INLINE || c->inline_len > max_len) {
			return -EINVAL;
		}
		ret = staging_get(dev, RTE_MAX(c->inline_len, 1u));
		if (ret < 0) {
			return ret;
		}
		memcpy(dev->staging, c->data, c->inline_len);
		return 1; /* ready */
	}
	if (c->host_len == 0 || c->host_len > max_len) {
		return -EINVAL;
	}
	if (!master_enabled(dev) || !window_ok(dev, c->host_addr, c->host_len)) {
		dev->stats.dma_refused++;
		return -EFAULT;
	}
	ret = staging_get(dev, c->host_len);
	if (ret < 0) {
		return ret;
	}
	dma_start(dev, false, c->host_addr, c->host_len, dev->staging);
	return 0; /* fetching */
}

/*
 * Step 1 of MODULE_LOAD and LAUNCH: the command's data travels into
 * staging. 1 once it is there (step 2 next), 0 while it travels, -1 if it
 * failed (cmd_status says why).
 */
static int
cmd_data_fetch(struct rpci_vgpu *dev, int *work)
{
	if (dev->cmd_step != 1) {
		return 1;
	}
	if (dma_step(dev, work) == 0) {
		return 0;
	}
	if (dev->dma.error != 0) {
		dev->cmd_status = dev->dma.error;
		return -1;
	}
	dev->cmd_step = 2;
	return 1;
}

static uint32_t
cmd_data_len(const struct rpci_vgpu *dev)
{
	return (dev->cmd.flags & RPCI_VGPU_CMD_F_INLINE) ? dev->cmd.inline_len : dev->cmd.host_len;
}

/*
 * The parameters of a launch (in staging): the arguments, values of any
 * size inside the block, and an NDRange if the header says so.
 */
static int
parse_params(struct rpci_vgpu *dev, const uint8_t *buf, uint32_t len)
{
	struct rpci_gpu_ndrange *nd = &dev->kernel_ndrange;
	uint32_t n, i, flags, at;

	if (len < sizeof(struct rpci_vgpu_params_hdr)) {
		return -EINVAL;
	}
	n = le32_at(buf);
	flags = le32_at(buf + 4);
	if (n > RPCI_GPU_ARGS_MAX || len < 8 + 16 * n || (flags & ~RPCI_VGPU_PARAMS_F_NDRANGE)) {
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *a = buf + 8 + 16 * i;
		struct rpci_gpu_arg *ka = &dev->kernel_args[i];

		ka->kind = le16_at(a);
		ka->size = le16_at(a + 2);
		ka->reserved = 0;
		ka->value = le64_at(a + 8);
		ka->data = NULL;
		if (ka->kind == RPCI_GPU_ARG_BYVAL) {
			/* its bytes lie in the block: offset value, size bytes */
			if (ka->size == 0 || ka->value > len || ka->size > len - ka->value) {
				return -EINVAL;
			}
			ka->data = buf + ka->value;
		}
	}
	dev->kernel_launch.nb_args = n;
	dev->kernel_launch.args = dev->kernel_args;
	dev->kernel_launch.ndrange = NULL;
	if (flags & RPCI_VGPU_PARAMS_F_NDRANGE) {
		at = 8 + 16 * n;
		if (len - at < sizeof(struct rpci_vgpu_ndrange)) {
			return -EINVAL;
		}
		memset(nd, 0, sizeof(*nd));
		nd->dims = le32_at(buf + at);
		nd->local_given = (le32_at(buf + at + 4) & RPCI_VGPU_NDRANGE_F_LOCAL) != 0;
		if (nd->dims < 1 || nd->dims > 3) {
			return -EINVAL;
		}
		for (i = 0; i < 3; i++) {
			nd->offset[i] = le64_at(buf + at + 8 + 8 * i);
			nd->global[i] = le64_at(buf + at + 32 + 8 * i);
			nd->local[i] = le64_at(buf + at + 56 + 8 * i);
		}
		dev->kernel_launch.ndrange = nd;
	}
	return 0;
}

static int
log_write_back(struct rpci_vgpu *dev)
{
	uint64_t addr = dev->cmd.args[1], size = dev->cmd.args[2];
	size_t n = strnlen(dev->log, LOG_MAX - 1) + 1;

	if (size == 0 || addr == 0) {
		return 0;
	}
	if (n > size) {
		n = size;
		dev->log[n - 1] = '\0';
	}
	if (!master_enabled(dev) || !window_ok(dev, addr, n)) {
		dev->stats.dma_refused++;
		return -EFAULT;
	}
	dma_start(dev, true, addr, n, (uint8_t *)dev->log);
	return 1;
}

/*
 * The command handlers: each executes the current command (dev->cmd) a step
 * at a time, as cmd_step() calls it from the poll loop. Returns 1 when the
 * command has completed (cmd_status, cmd_result set), 0 while it goes on
 * (dev->cmd_step says where it is).
 */
typedef int (*cmd_handler_t)(struct rpci_vgpu *dev, int *work);

/* A backend operation of the current command returned rc: keep its API code. */
static int
gpu_rc(struct rpci_vgpu *dev, int rc)
{
	if (rc < 0 && dev->cmd_api_status == 0) {
		dev->cmd_api_status = rpci_gpu_api_status(dev->gpu);
	}
	return rc;
}

static int
cmd_nop(struct rpci_vgpu *dev, int *work)
{
	RTE_SET_USED(work);
	dev->cmd_status = 0;
	return 1;
}

static int
cmd_alloc(struct rpci_vgpu *dev, int *work)
{
	RTE_SET_USED(work);
	dev->cmd_status = mem_alloc(dev, dev->cmd.args[0], dev->cmd.args[1], &dev->cmd_result);
	return 1;
}

static int
cmd_free(struct rpci_vgpu *dev, int *work)
{
	RTE_SET_USED(work);
	dev->cmd_status = mem_free(dev, dev->cmd.args[0]);
	return 1;
}

static int
cmd_memset(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;

	RTE_SET_USED(work);
	if (!zc_settled(dev)) {
		return 0;
	}
	if (!rpci_gpu_range_ok(dev->gpu, c->args[0], c->args[2])) {
		dev->cmd_status = -EFAULT;
		return 1;
	}
	dev->cmd_status = gpu_rc(dev, rpci_gpu_mem_fill(dev->gpu, c->args[0], (uint8_t)c->args[1],
							 c->args[2]));
	dirty(dev, c->args[0], c->args[2]);
	return 1;
}

/* COPY_H2D and COPY_D2H: the DMA engine between client memory and device memory. */
static int
cmd_copy(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;

	if (dev->cmd_step == 0) {
		bool to_host = c->opcode == RPCI_VGPU_OP_COPY_D2H;

		if (!to_host && !zc_settled(dev)) {
			return 0;
		}
		if (c->host_len == 0) {
			dev->cmd_status = 0;
			return 1;
		}
		if (!rpci_gpu_range_ok(dev->gpu, c->args[0], c->host_len)) {
			dev->cmd_status = -EFAULT;
			return 1;
		}
		if (!master_enabled(dev) || !window_ok(dev, c->host_addr, c->host_len)) {
			dev->stats.dma_refused++;
			dev->cmd_status = -EFAULT;
			return 1;
		}
		dma_start_devmem(dev, to_host, c->host_addr, c->host_len, c->args[0]);
		dev->cmd_step = 1;
	}
	if (dma_step(dev, work) == 0) {
		return 0;
	}
	dev->cmd_status = dev->dma.error;
	return 1;
}

/* The build options (the first len bytes in staging) as a string for the worker. */
static int
module_options(struct rpci_vgpu *dev, uint32_t len)
{
	char *o = malloc((size_t)len + 1);

	if (o == NULL) {
		return -ENOMEM;
	}
	if (len > 0) {
		memcpy(o, dev->staging, len);
	}
	o[len] = '\0';
	free(dev->ml_options);
	dev->ml_options = o;
	return 0;
}

/*
 * MODULE_LOAD: step 0 starts fetching the image (1: it travels), 2 starts
 * the build on the worker (4: it runs), then the build log is written back
 * (3: it travels).
 */
static int
cmd_module_load(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;
	int ret;

	if (dev->cmd_step == 0) {
		ret = cmd_data_begin(dev, STAGING_MAX);
		if (c->args[0] == RPCI_GPU_MODULE_BUILTIN && ret == -EINVAL &&
		    cmd_data_len(dev) == 0) {
			ret = 1; /* built-ins need no image */
		}
		if (ret < 0) {
			dev->cmd_status = ret;
			return 1;
		}
		dev->cmd_step = ret == 1 ? 2 : 1;
	}
	ret = cmd_data_fetch(dev, work);
	if (ret <= 0) {
		return ret < 0 ? 1 : 0;
	}
	if (dev->cmd_step == 2) {
		uint32_t slot;

		for (slot = 0; slot < MODULES_MAX && dev->modules[slot] != NULL; slot++) {
		}
		dev->log[0] = '\0';
		if (slot == MODULES_MAX) {
			dev->cmd_status = -ENOSPC;
			snprintf(dev->log, LOG_MAX, "too many modules loaded");
		} else if (c->args[0] > RPCI_GPU_MODULE_OPENCL_BINARY) {
			dev->cmd_status = -EINVAL;
			snprintf(dev->log, LOG_MAX, "unknown module kind %" PRIu64, c->args[0]);
		} else if (c->args[3] > cmd_data_len(dev)) {
			dev->cmd_status = -EINVAL;
			snprintf(dev->log, LOG_MAX, "build options longer than the command's data");
		} else if (module_options(dev, (uint32_t)c->args[3]) < 0) {
			dev->cmd_status = -ENOMEM;
		} else {
			/* On the worker: the build may be long (see enum worker_job). */
			dev->job = JOB_MODULE_LOAD;
			dev->ml_kind = (uint32_t)c->args[0];
			dev->ml_opt_len = (uint32_t)c->args[3];
			dev->ml_len = cmd_data_len(dev) - dev->ml_opt_len;
			dev->ml_slot = slot;
			kernel_start(dev);
			dev->cmd_step = 4;
			(*work)++;
		}
	}
	if (dev->cmd_step == 4) {
		if (atomic_load(&dev->kernel_state) != KERNEL_DONE) {
			return 0;
		}
		atomic_store(&dev->kernel_state, KERNEL_IDLE);
		dev->cmd_status = dev->kernel_status;
		dev->cmd_api_status = dev->kernel_api_status;
		if (dev->cmd_status == 0) {
			dev->cmd_result = dev->ml_slot + 1;
		}
		dev->cmd_step = 2;
	}
	if (dev->cmd_step == 2) {
		ret = log_write_back(dev);
		if (ret <= 0) {
			return 1;
		}
		dev->cmd_step = 3;
	}
	if (dma_step(dev, work) == 0) {
		return 0;
	}
	return 1;
}

static int
cmd_module_unload(struct rpci_vgpu *dev, int *work)
{
	uint64_t h = dev->cmd.args[0];
	uint32_t i;

	RTE_SET_USED(work);
	if (h == 0 || h > MODULES_MAX || dev->modules[h - 1] == NULL) {
		dev->cmd_status = -ENOENT;
		return 1;
	}
	for (i = 0; i < FUNCTIONS_MAX; i++) {
		if (dev->functions[i].fn != NULL && dev->functions[i].module == h) {
			dev->functions[i].fn = NULL;
		}
	}
	dev->gpu->ops->module_unload(dev->gpu->priv, dev->modules[h - 1]);
	dev->modules[h - 1] = NULL;
	dev->cmd_status = 0;
	return 1;
}

static int
cmd_function_get(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;
	uint64_t h = c->args[0];
	char name[RPCI_GPU_NAME_MAX];
	uint32_t i;
	void *fn;

	RTE_SET_USED(work);
	if (h == 0 || h > MODULES_MAX || dev->modules[h - 1] == NULL) {
		dev->cmd_status = -ENOENT;
		return 1;
	}
	if (!(c->flags & RPCI_VGPU_CMD_F_INLINE) || c->inline_len == 0 ||
	    c->inline_len > sizeof(name) || c->data[c->inline_len - 1] != '\0') {
		dev->cmd_status = -EINVAL;
		return 1;
	}
	memcpy(name, c->data, c->inline_len);
	for (i = 0; i < FUNCTIONS_MAX && dev->functions[i].fn != NULL; i++) {
	}
	if (i == FUNCTIONS_MAX) {
		dev->cmd_status = -ENOSPC;
		return 1;
	}
	dev->cmd_status = gpu_rc(dev, dev->gpu->ops->function_get(dev->gpu->priv,
								   dev->modules[h - 1], name, &fn));
	if (dev->cmd_status == 0) {
		dev->functions[i].fn = fn;
		dev->functions[i].module = (uint32_t)h;
		dev->cmd_result = i + 1;
	}
	return 1;
}

/*
 * LAUNCH: step 0 starts fetching the parameters (1: they travel), 2 starts
 * the kernel (3: it runs).
 */
static int
cmd_launch(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;
	int ret;

	if (dev->cmd_step == 0) {
		uint64_t h = c->args[0];

		if (h == 0 || h > FUNCTIONS_MAX || dev->functions[h - 1].fn == NULL) {
			dev->cmd_status = -ENOENT;
			return 1;
		}
		ret = cmd_data_begin(dev, RPCI_VGPU_PARAMS_MAX);
		if (ret < 0) {
			dev->cmd_status = ret;
			return 1;
		}
		dev->cmd_step = ret == 1 ? 2 : 1;
	}
	ret = cmd_data_fetch(dev, work);
	if (ret <= 0) {
		return ret < 0 ? 1 : 0;
	}
	if (dev->cmd_step == 2) {
		/* Kernels write device memory: frames sent from it must be acked. */
		if (!zc_settled(dev)) {
			return 0;
		}
		ret = parse_params(dev, dev->staging, cmd_data_len(dev));
		if (ret < 0) {
			dev->cmd_status = ret;
			return 1;
		}
		dev->job = JOB_LAUNCH;
		dev->kernel_fn = dev->functions[c->args[0] - 1].fn;
		dev->kernel_launch.grid[0] = (uint32_t)c->args[1];
		dev->kernel_launch.grid[1] = (uint32_t)(c->args[1] >> 32);
		dev->kernel_launch.grid[2] = (uint32_t)c->args[2];
		dev->kernel_launch.block[0] = (uint32_t)(c->args[2] >> 32);
		dev->kernel_launch.block[1] = (uint32_t)c->args[3];
		dev->kernel_launch.block[2] = (uint32_t)(c->args[3] >> 32);
		/* A kernel may write anywhere in device memory. */
		dev->dirty_end = dev->mem_size;
		kernel_start(dev);
		dev->cmd_step = 3;
		(*work)++;
	}
	if (atomic_load(&dev->kernel_state) != KERNEL_DONE) {
		return 0;
	}
	atomic_store(&dev->kernel_state, KERNEL_IDLE);
	dev->cmd_status = dev->kernel_status;
	dev->cmd_api_status = dev->kernel_api_status;
	/* the report's times are the kernel's own */
	dev->cmd_start_ns = dev->kernel_start_ns;
	dev->cmd_end_ns = dev->kernel_end_ns;
	dev->stats.launches++;
	return 1;
}

/*
 * FILE_LOAD, FILE_SAVE, FILE_SIZE: a file of the server's file directory,
 * named inline. Step 0 checks and starts the I/O on the worker (1: it
 * runs).
 */
static int
cmd_file(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;

	if (dev->cmd_step == 0) {
		if (dev->p.file_dir_fd <= 0) {
			dev->cmd_status = -ENOTSUP; /* the server has no file directory */
			return 1;
		}
		if (c->opcode == RPCI_VGPU_OP_FILE_SAVE && !dev->p.file_save) {
			dev->cmd_status = -EROFS;
			return 1;
		}
		if (!(c->flags & RPCI_VGPU_CMD_F_INLINE) || c->inline_len == 0 ||
		    c->inline_len > sizeof(dev->file_name) || c->data[c->inline_len - 1] != '\0') {
			dev->cmd_status = -EINVAL;
			return 1;
		}
		/* A load changes device memory: frames sent from it must be acked. */
		if (c->opcode == RPCI_VGPU_OP_FILE_LOAD && !zc_settled(dev)) {
			return 0;
		}
		memcpy(dev->file_name, c->data, c->inline_len);
		dev->job = JOB_FILE;
		kernel_start(dev);
		dev->cmd_step = 1;
		(*work)++;
		return 0;
	}
	if (atomic_load(&dev->kernel_state) != KERNEL_DONE) {
		return 0;
	}
	atomic_store(&dev->kernel_state, KERNEL_IDLE);
	dev->cmd_status = dev->kernel_status;
	dev->cmd_result = dev->file_result;
	if (c->opcode == RPCI_VGPU_OP_FILE_LOAD) {
		dirty(dev, c->args[0], dev->file_result);
		dev->stats.file_load_bytes += dev->file_result;
	} else if (c->opcode == RPCI_VGPU_OP_FILE_SAVE && dev->cmd_status == 0) {
		dev->stats.file_save_bytes += dev->file_result;
	}
	return 1;
}

/* COPY: device memory to device memory (the ranges may overlap). */
static int
cmd_copy_d2d(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;

	RTE_SET_USED(work);
	if (!zc_settled(dev)) {
		return 0;
	}
	if (!rpci_gpu_range_ok(dev->gpu, c->args[0], c->args[2]) ||
	    !rpci_gpu_range_ok(dev->gpu, c->args[1], c->args[2])) {
		dev->cmd_status = -EFAULT;
		return 1;
	}
	dev->cmd_status = gpu_rc(dev, rpci_gpu_mem_copy(dev->gpu, c->args[0], c->args[1],
							 c->args[2]));
	dirty(dev, c->args[0], c->args[2]);
	return 1;
}

/* FILL: a pattern repeated, in chunks written from staging (one byte: a memset). */
static int
cmd_fill(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;
	uint64_t addr = c->args[0], len = c->args[1], done = 0, chunk;
	uint32_t psize = c->inline_len, i;
	bool one_byte = true;
	int rc;

	RTE_SET_USED(work);
	if (!(c->flags & RPCI_VGPU_CMD_F_INLINE) || psize == 0 || psize > RPCI_VGPU_PATTERN_MAX ||
	    len % psize != 0) {
		dev->cmd_status = -EINVAL;
		return 1;
	}
	if (!rpci_gpu_range_ok(dev->gpu, addr, len)) {
		dev->cmd_status = -EFAULT;
		return 1;
	}
	if (!zc_settled(dev)) {
		return 0;
	}
	dirty(dev, addr, len);
	for (i = 1; i < psize; i++) {
		one_byte &= c->data[i] == c->data[0];
	}
	if (one_byte) {
		dev->cmd_status = gpu_rc(dev, rpci_gpu_mem_fill(dev->gpu, addr, c->data[0], len));
		return 1;
	}
	chunk = RTE_MIN(len, (uint64_t)FILL_CHUNK / psize * psize);
	rc = staging_get(dev, chunk);
	for (i = 0; rc == 0 && i < chunk; i += psize) {
		memcpy(dev->staging + i, c->data, psize);
	}
	while (rc == 0 && done < len) {
		uint64_t n = RTE_MIN(chunk, len - done);

		rc = gpu_rc(dev, rpci_gpu_mem_write(dev->gpu, addr + done, dev->staging, n));
		done += n;
	}
	dev->cmd_status = rc;
	return 1;
}

/*
 * The last byte past a rectangle at origin: 0 and *end set, or -EFAULT
 * when it overflows. Every row lies in [origin, end).
 */
static int
rect_end(uint64_t origin, const uint64_t region[3], uint64_t row_pitch, uint64_t slice_pitch,
	 uint64_t *end)
{
	uint64_t a, b, e;

	if (__builtin_mul_overflow(region[2] - 1, slice_pitch, &a) ||
	    __builtin_mul_overflow(region[1] - 1, row_pitch, &b) ||
	    __builtin_add_overflow(origin, a, &e) || __builtin_add_overflow(e, b, &e) ||
	    __builtin_add_overflow(e, region[0], &e)) {
		return -EFAULT;
	}
	*end = e;
	return 0;
}

/* Move the rows of a rectangle: packed staging <-> device memory, or device to device. */
static int
rect_rows(struct rpci_vgpu *dev, uint32_t dir, const struct rpci_vgpu_rect *r)
{
	uint64_t i, j, k = 0;
	int rc = 0;

	for (j = 0; j < r->region[2] && rc == 0; j++) {
		for (i = 0; i < r->region[1] && rc == 0; i++, k += r->region[0]) {
			uint64_t d = r->dst + j * r->dst_slice_pitch + i * r->dst_row_pitch;
			uint64_t sa = r->src + j * r->src_slice_pitch + i * r->src_row_pitch;
			uint8_t *packed = dev->staging + k;

			if (dir == RPCI_VGPU_RECT_H2D) {
				rc = rpci_gpu_mem_write(dev->gpu, d, packed, r->region[0]);
			} else if (dir == RPCI_VGPU_RECT_D2H) {
				rc = rpci_gpu_mem_read(dev->gpu, sa, packed, r->region[0]);
			} else {
				rc = rpci_gpu_mem_copy(dev->gpu, d, sa, r->region[0]);
			}
		}
	}
	return gpu_rc(dev, rc);
}

/* The rectangle of a RECT command, checked: 1 if it moves nothing, 0, or an error. */
static int
rect_parse(struct rpci_vgpu *dev, struct rpci_vgpu_rect *r, uint64_t *bytes, uint64_t *dst_end)
{
	const struct rpci_vgpu_cmd *c = &dev->cmd;
	uint32_t dir = (uint32_t)c->args[0];
	uint64_t end, rows;

	if (!(c->flags & RPCI_VGPU_CMD_F_INLINE) || c->inline_len != sizeof(*r) ||
	    dir < RPCI_VGPU_RECT_H2D || dir > RPCI_VGPU_RECT_D2D) {
		return -EINVAL;
	}
	memcpy(r, c->data, sizeof(*r)); /* little-endian host: the layout as is */
	if (r->region[0] == 0 || r->region[1] == 0 || r->region[2] == 0) {
		*bytes = 0;
		return 1;
	}
	if (__builtin_mul_overflow(r->region[1], r->region[2], &rows) ||
	    __builtin_mul_overflow(rows, r->region[0], bytes)) {
		return -EFAULT;
	}
	if (dir != RPCI_VGPU_RECT_D2H &&
	    (rect_end(r->dst, r->region, r->dst_row_pitch, r->dst_slice_pitch, dst_end) < 0 ||
	     *dst_end > dev->mem_size)) {
		return -EFAULT;
	}
	if (dir != RPCI_VGPU_RECT_H2D &&
	    (rect_end(r->src, r->region, r->src_row_pitch, r->src_slice_pitch, &end) < 0 ||
	     end > dev->mem_size)) {
		return -EFAULT;
	}
	if (dir != RPCI_VGPU_RECT_D2D) {
		if (*bytes > STAGING_MAX) {
			return -E2BIG;
		}
		if (c->host_len != *bytes || !master_enabled(dev) ||
		    !window_ok(dev, c->host_addr, c->host_len)) {
			dev->stats.dma_refused++;
			return -EFAULT;
		}
	}
	return 0;
}

/*
 * RECT: step 0 checks it (H2D: and starts fetching the rows, 1: they
 * travel), 2 writes or copies the rows; D2H gathers them into staging and
 * writes them to the client (3: they travel).
 */
static int
cmd_rect(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;
	uint32_t dir = (uint32_t)c->args[0];
	struct rpci_vgpu_rect r;
	uint64_t bytes = 0, dst_end = 0;
	int ret;

	ret = rect_parse(dev, &r, &bytes, &dst_end);
	if (ret != 0) {
		dev->cmd_status = ret < 0 ? ret : 0;
		return 1;
	}
	if (dev->cmd_step == 0) {
		if (dir != RPCI_VGPU_RECT_D2H && !zc_settled(dev)) {
			return 0;
		}
		ret = staging_get(dev, bytes);
		if (ret < 0) {
			dev->cmd_status = ret;
			return 1;
		}
		if (dir == RPCI_VGPU_RECT_H2D) {
			dma_start(dev, false, c->host_addr, bytes, dev->staging);
			dev->cmd_step = 1;
		} else if (dir == RPCI_VGPU_RECT_D2H) {
			dev->cmd_status = rect_rows(dev, dir, &r);
			if (dev->cmd_status < 0) {
				return 1;
			}
			dma_start(dev, true, c->host_addr, bytes, dev->staging);
			dev->cmd_step = 3;
		} else {
			dev->cmd_status = rect_rows(dev, dir, &r);
			dirty(dev, r.dst, dst_end - r.dst);
			return 1;
		}
	}
	if (dev->cmd_step == 1 || dev->cmd_step == 3) {
		if (dma_step(dev, work) == 0) {
			return 0;
		}
		dev->cmd_status = dev->dma.error;
		if (dev->cmd_step == 3 || dev->cmd_status < 0) {
			return 1;
		}
		dev->cmd_step = 2;
	}
	/* H2D: the rows are in staging */
	if (!zc_settled(dev)) {
		return 0;
	}
	dev->cmd_status = rect_rows(dev, dir, &r);
	dirty(dev, r.dst, dst_end - r.dst);
	return 1;
}

/* The module or function an INFO command names, or NULL. */
static void *
info_object(struct rpci_vgpu *dev, uint64_t obj, uint64_t h)
{
	if (obj == RPCI_VGPU_INFO_MODULE && h >= 1 && h <= MODULES_MAX) {
		return dev->modules[h - 1];
	}
	if (obj == RPCI_VGPU_INFO_FUNCTION && h >= 1 && h <= FUNCTIONS_MAX) {
		return dev->functions[h - 1].fn;
	}
	return NULL;
}

/*
 * INFO: step 0 asks the backend into staging and starts writing the
 * answer to the client (1: it travels). result: the answer's size.
 */
static int
cmd_info(struct rpci_vgpu *dev, int *work)
{
	struct rpci_vgpu_cmd *c = &dev->cmd;
	const struct rpci_gpu_ops *ops = dev->gpu->ops;
	size_t size = 0;
	void *obj;
	int ret;

	if (dev->cmd_step == 0) {
		obj = info_object(dev, c->args[0], c->args[1]);
		if (obj == NULL) {
			dev->cmd_status = -ENOENT;
			return 1;
		}
		if ((c->args[0] == RPCI_VGPU_INFO_MODULE ? ops->module_info : ops->function_info) ==
		    NULL) {
			dev->cmd_status = -ENOTSUP;
			return 1;
		}
		if (c->host_len == 0 || !master_enabled(dev) ||
		    !window_ok(dev, c->host_addr, c->host_len)) {
			dev->stats.dma_refused++;
			dev->cmd_status = -EFAULT;
			return 1;
		}
		ret = staging_get(dev, c->host_len);
		if (ret < 0) {
			dev->cmd_status = ret;
			return 1;
		}
		if (c->args[0] == RPCI_VGPU_INFO_MODULE) {
			ret = ops->module_info(dev->gpu->priv, obj, (uint32_t)c->args[2],
					       dev->staging, c->host_len, &size);
		} else {
			ret = ops->function_info(dev->gpu->priv, obj, (uint32_t)c->args[2],
						 dev->staging, c->host_len, &size);
		}
		dev->cmd_result = size;
		if (ret < 0 || size == 0 || size > c->host_len) {
			dev->cmd_status = ret < 0 ? gpu_rc(dev, ret) : size > c->host_len ?
				-ENOSPC : 0;
			return 1;
		}
		dma_start(dev, true, c->host_addr, size, dev->staging);
		dev->cmd_step = 1;
	}
	if (dma_step(dev, work) == 0) {
		return 0;
	}
	dev->cmd_status = dev->dma.error;
	return 1;
}

/* One handler per opcode (enum rpci_vgpu_opcode); NULL: not a command. */
static const cmd_handler_t g_cmd_handlers[] = {
	[RPCI_VGPU_OP_NOP] = cmd_nop,
	[RPCI_VGPU_OP_ALLOC] = cmd_alloc,
	[RPCI_VGPU_OP_FREE] = cmd_free,
	[RPCI_VGPU_OP_COPY_H2D] = cmd_copy,
	[RPCI_VGPU_OP_COPY_D2H] = cmd_copy,
	[RPCI_VGPU_OP_MEMSET] = cmd_memset,
	[RPCI_VGPU_OP_MODULE_LOAD] = cmd_module_load,
	[RPCI_VGPU_OP_MODULE_UNLOAD] = cmd_module_unload,
	[RPCI_VGPU_OP_FUNCTION_GET] = cmd_function_get,
	[RPCI_VGPU_OP_LAUNCH] = cmd_launch,
	[RPCI_VGPU_OP_FENCE] = cmd_nop, /* commands run in order: the earlier ones are done */
	[RPCI_VGPU_OP_FILE_LOAD] = cmd_file,
	[RPCI_VGPU_OP_FILE_SAVE] = cmd_file,
	[RPCI_VGPU_OP_FILE_SIZE] = cmd_file,
	[RPCI_VGPU_OP_COPY] = cmd_copy_d2d,
	[RPCI_VGPU_OP_RECT] = cmd_rect,
	[RPCI_VGPU_OP_FILL] = cmd_fill,
	[RPCI_VGPU_OP_INFO] = cmd_info,
};

/*
 * Execute the current command a step at a time. Returns 1 when it has
 * completed (cmd_status, cmd_result set), 0 while it goes on.
 */
static int
cmd_step(struct rpci_vgpu *dev, int *work)
{
	uint8_t op = dev->cmd.opcode;

	if (op >= RTE_DIM(g_cmd_handlers) || g_cmd_handlers[op] == NULL) {
		dev->cmd_status = -EOPNOTSUPP;
		return 1;
	}
	return g_cmd_handlers[op](dev, work);
}

/*
 * The report of a command that asked for one, written before its completion
 * entry (the same session keeps them in order). A report address outside
 * the windows is refused and counted; the completion still goes.
 */
static int
report_send(struct rpci_vgpu *dev)
{
	struct rpci_vgpu_report rep;
	struct rpci_tlp mwr = {
		.type = RPCI_TLP_MWR,
		.requester_id = dev->p.completer_id,
	};
	uint64_t addr = dev->cmd.args[4];

	if (!master_enabled(dev) || (addr & 3) != 0 || !window_ok(dev, addr, sizeof(rep))) {
		dev->stats.dma_refused++;
		return 0;
	}
	rep.status = (int32_t)rte_cpu_to_le_32((uint32_t)dev->cmd_status);
	rep.api_status = (int32_t)rte_cpu_to_le_32((uint32_t)dev->cmd_api_status);
	rep.result = rte_cpu_to_le_64(dev->cmd_result);
	rep.start_ns = rte_cpu_to_le_64(dev->cmd_start_ns);
	rep.end_ns = rte_cpu_to_le_64(RTE_MAX(dev->cmd_end_ns, dev->cmd_start_ns));
	rpci_tlp_set_byte_range(&mwr, addr, sizeof(rep));
	return rpci_link_send(dev->session, &mwr, &rep, RPCI_LINK_SEND_COPY);
}

/* Write the completion entry and raise the MSI. Returns 0 or -EAGAIN. */
static int
cmd_complete(struct rpci_vgpu *dev)
{
	struct rpci_vgpu_cpl cpl;
	struct rpci_tlp mwr = {
		.type = RPCI_TLP_MWR,
		.requester_id = dev->p.completer_id,
	};
	uint64_t addr;
	bool irq = (dev->cmd.flags & RPCI_VGPU_CMD_F_IRQ) != 0;
	bool report = (dev->cmd.flags & RPCI_VGPU_CMD_F_REPORT) != 0;
	int ret;

	if (dev->cmd_gen != dev->queue_gen) {
		/* The queue was disabled (and maybe set up again) meanwhile. */
		dev->cmd_active = false;
		return 0;
	}
	if (dev->cq_tail - dev->cq_head >= dev->cq_size) {
		return -EAGAIN; /* the driver has not consumed its completions */
	}
	if (rpci_link_tx_room_for(dev->session, RPCI_TLP_MWR) < (report ? 3u : 2u)) {
		return -EAGAIN;
	}
	if (report) {
		ret = report_send(dev);
		if (ret < 0) {
			return ret;
		}
	}
	memset(&cpl, 0, sizeof(cpl));
	cpl.cmd_id = rte_cpu_to_le_32(dev->cmd.cmd_id);
	cpl.status = (int32_t)rte_cpu_to_le_32((uint32_t)dev->cmd_status);
	cpl.result = rte_cpu_to_le_64(dev->cmd_result);
	cpl.phase = rte_cpu_to_le_32(dev->cq_phase);
	cpl.sq_head = rte_cpu_to_le_32(dev->sq_head + 1);
	addr = dev->cq_base + (uint64_t)(dev->cq_tail & (dev->cq_size - 1)) * sizeof(cpl);
	rpci_tlp_set_byte_range(&mwr, addr, sizeof(cpl));
	ret = rpci_link_send(dev->session, &mwr, &cpl, RPCI_LINK_SEND_COPY);
	if (ret < 0) {
		return ret;
	}
	dev->cq_tail++;
	if ((dev->cq_tail & (dev->cq_size - 1)) == 0) {
		dev->cq_phase ^= 1;
	}
	dev->sq_head++;
	dev->stats.commands++;
	if (dev->cmd_status != 0) {
		dev->stats.command_errors++;
		dev->intr_status |= RPCI_VGPU_INTR_ERROR;
		VGPU_LOG(DEBUG, dev, "command %u (op %u) failed: %s", dev->cmd.cmd_id,
			 dev->cmd.opcode, strerror(-dev->cmd_status));
	}
	if (irq) {
		dev->intr_status |= RPCI_VGPU_INTR_CMD;
	}
	if (irq && !dev->intr_mask &&
	    (dev->cfg[RPCI_VGPU_CFG_MSI / 4] & ((uint32_t)RPCI_VGPU_MSI_ENABLE << 16))) {
		struct rpci_tlp msi = {
			.type = RPCI_TLP_MSG,
			.msg_code = RPCI_TLP_MSG_MSI,
			.requester_id = dev->p.completer_id,
			.msg_data = dev->cfg[RPCI_VGPU_CFG_MSI / 4 + 3] & 0xffff,
		};

		if (rpci_link_send(dev->session, &msi, NULL, 0) == 0) {
			dev->stats.msi_sent++;
		}
	}
	dev->cmd_active = false;
	return 0;
}

int
rpci_vgpu_poll(struct rpci_vgpu *dev)
{
	int work = 0;
	uint32_t budget = 8;

	if (unlikely(dev->resetting)) {
		int st = atomic_load(&dev->kernel_state);

		if (st == KERNEL_QUEUED || st == KERNEL_RUNNING) {
			return 0;
		}
		device_reset(dev);
		return 1;
	}
	if (unlikely(dev->flr_pending || dev->flr_tell)) {
		flr_finish(dev);
		if (dev->flr_tell) {
			flr_tell(dev);
		}
		if (dev->flr_pending || dev->flr_tell) {
			return 0;
		}
		work++;
	}
	/* Without bus mastering the device writes no completion and no MSI. */
	if (dev->session == NULL || !master_enabled(dev) ||
	    rpci_link_session_state(dev->session) != RPCI_LINK_S_OPEN) {
		return 0;
	}
	/* A running DMA read still needs its completions, even when disabled. */
	while (budget-- > 0) {
		if (!dev->cmd_active) {
			uint32_t slot;

			if (!dev->enabled || dev->fatal || dev->sq_head == dev->sq_tail) {
				break;
			}
			slot = dev->sq_head & (dev->sq_size - 1);
			memcpy(&dev->cmd, dev->sq + (size_t)slot * RPCI_VGPU_CMD_SIZE,
			       sizeof(dev->cmd));
			dev->cmd.cmd_id = rte_le_to_cpu_32(dev->cmd.cmd_id);
			dev->cmd.inline_len = rte_le_to_cpu_16(dev->cmd.inline_len);
			for (slot = 0; slot < RTE_DIM(dev->cmd.args); slot++) {
				dev->cmd.args[slot] = rte_le_to_cpu_64(dev->cmd.args[slot]);
			}
			dev->cmd.host_addr = rte_le_to_cpu_64(dev->cmd.host_addr);
			dev->cmd.host_len = rte_le_to_cpu_32(dev->cmd.host_len);
			dev->cmd_active = true;
			dev->cmd_gen = dev->queue_gen;
			dev->cmd_step = 0;
			dev->cmd_status = 0;
			dev->cmd_result = 0;
			dev->cmd_api_status = 0;
			dev->cmd_start_ns = now_ns();
			dev->cmd_end_ns = 0;
			dev->timeout_tsc = rte_get_timer_hz() * dev->p.request_timeout_ms / 1000;
			work++;
		}
		if (dev->cmd_step >= 0 && cmd_step(dev, &work) == 1) {
			dev->cmd_step = -1; /* executed: only the completion is left */
			if (dev->cmd_end_ns == 0) {
				dev->cmd_end_ns = now_ns();
			}
		}
		if (dev->cmd_step != -1) {
			break;
		}
		if (cmd_complete(dev) < 0) {
			break;
		}
		work++;
	}
	return work;
}
