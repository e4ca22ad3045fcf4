/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_ICD_PRIVATE_H
#define RPCI_ICD_PRIVATE_H

/*
 * Internals of the rpci OpenCL ICD (librpci-opencl.so), shared by its files:
 *   icd.c          the platform, the dispatch table, the entry points the
 *                  ICD loader calls, devices (found, attached, lost)
 *   icd_info.c     info blocks: parsing (untrusted input: fuzzed), the
 *                  device's answers as rpci serves it, extension filters
 *   icd_object.c   object headers, reference counts, contexts, queues,
 *                  buffers and sub-buffers
 *   icd_program.c  programs, kernels, their arguments (marshalling)
 *   icd_queue.c    events and commands: the scheduler, submission through
 *                  librpci's queued commands, completion, waits, profiling
 *   icd_enqueue.c  the clEnqueue* calls
 *   icd_unsupported.c  what rpci does not do, with the specification's errors
 *
 * One lock (g_icd.lock) guards every object and the librpci client: librpci
 * wants one thread at a time on a client. Callbacks of the application run
 * after the lock is dropped (icd_unlock()).
 */

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS
#define CL_USE_DEPRECATED_OPENCL_2_1_APIS
#define CL_USE_DEPRECATED_OPENCL_2_2_APIS

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <CL/cl_icd.h>

#include "rpci_client.h"

#define ICD_API __attribute__((visibility("hidden")))

/** Devices the platform shows at most. */
#define ICD_DEVICES_MAX 16
/** Most arguments of a kernel rpci launches (the device's limit). */
#define ICD_ARGS_MAX RPCI_KERNEL_ARGS_MAX
/** The platform's name (the opencl backend of a server skips this platform). */
#define ICD_PLATFORM_NAME "rpci"
/** Bytes one write or read command moves (larger ones are split). */
#define ICD_XFER_CHUNK (64ull << 20)

/* ------------------------------------------------------------ info blocks */

/** One entry of a parsed info block: value bytes inside the block's copy. */
struct icd_info_ent {
	uint32_t key;
	uint32_t len;
	const uint8_t *val;
};

/** A parsed info block (owns its copy of the bytes). */
struct icd_info {
	uint8_t *blob;
	size_t len;
	struct icd_info_ent *ents;
	uint32_t count;
};

/*
 * Parse an info block (rpci_vgpu_hw.h) of the OpenCL API from untrusted
 * bytes into out (which owns a copy). 0, or -EBADMSG (anything wrong:
 * magic, version, API, lengths, counts, an entry past the end), -ENOMEM.
 */
int icd_info_parse(const void *buf, size_t len, struct icd_info *out);
void icd_info_free(struct icd_info *info);
/* The first entry of key, or NULL. */
const struct icd_info_ent *icd_info_find(const struct icd_info *info, uint32_t key);
/* An entry's value as an unsigned integer of its own length (1, 2, 4, 8): def if none. */
uint64_t icd_info_u64(const struct icd_info *info, uint32_t key, uint64_t def);
/* An entry's value as a string (NUL-terminated copy into buf): false if none. */
bool icd_info_str(const struct icd_info *info, uint32_t key, char *buf, size_t len);
/* Build an info block (the format parsed above) of count entries; its length or 0. */
size_t icd_info_build(const struct icd_info_ent *ents, uint32_t count, uint8_t *buf,
		      size_t len);

/*
 * A device's answers as rpci serves it, from the server's block: what rpci
 * does not do is said to be absent (images, SVM, pipes, device queues,
 * sub-groups, partitions, built-in kernels, IL), extensions are those that
 * need nothing of the runtime, host-unified memory is false, a 2.x version
 * says 1.2. 0, or -ENOMEM / -EBADMSG (no CL_DEVICE_NAME, TYPE or VERSION).
 */
int icd_device_answers(const struct icd_info *server, struct icd_info *out);
/* Whether a device extension is one the rpci ICD passes on. */
bool icd_extension_allowed(const char *name);
/* Whether a key is a clGetDeviceInfo query the ICD answers from the block. */
bool icd_device_key_known(cl_uint key);

struct icd_arg;
/* Classify argument index from a function's info (address qualifier, type name, size). */
void icd_arg_classify(struct icd_arg *a, const struct icd_info *fninfo, cl_uint index);

/* ------------------------------------------------------------ objects */

enum icd_type {
	ICD_PLATFORM = 1,
	ICD_DEVICE,
	ICD_CONTEXT,
	ICD_QUEUE,
	ICD_MEM,
	ICD_PROGRAM,
	ICD_KERNEL,
	ICD_EVENT,
	ICD_TYPES,
};

#define ICD_MAGIC 0x52435049u /* "ICPR" */

/*
 * The head of every object: the loader's dispatch table first (the ICD
 * contract), then what tells a live object of a type from anything else.
 * refs counts the application's references and those objects hold on one
 * another (a queue on its context, a command on its buffers): the object
 * goes when it reaches 0.
 */
struct icd_obj {
	const struct _cl_icd_dispatch *dispatch;
	uint32_t magic; /* ICD_MAGIC ^ type while alive */
	uint32_t type;
	uint32_t refs;
};

void icd_obj_init(struct icd_obj *o, enum icd_type type);
/* Whether p is a live object of that type. */
bool icd_obj_valid(const void *p, enum icd_type type);
/* Live objects of a type (for the tests: every release frees). */
uint32_t icd_obj_count(enum icd_type type);
/* The object dies: magic cleared, counted. */
void icd_obj_kill(struct icd_obj *o);
/* clRetain* (retain) and clRelease*: a live object of type, else invalid. */
cl_int icd_obj_ref(void *obj, enum icd_type type, cl_int invalid, bool retain);

struct icd_callback {
	struct icd_callback *next;
	cl_int type;       /* events: the status that fires it */
	void (*fn)(void);  /* cast to the right type when called */
	void *data;
};

struct _cl_platform_id {
	struct icd_obj o;
};

struct icd_cmd;

struct _cl_device_id {
	struct icd_obj o;
	uint32_t index;
	struct icd_info server;   /* the block as the server's backend wrote it */
	struct icd_info info;     /* the answers (icd_device_answers()) */
	/* how to open it again: a named server and device, or the selector */
	char open_server[RPCI_NAME_MAX];
	char open_device[RPCI_NAME_MAX];
	bool from_selector;
	/* limits the ICD checks with */
	cl_device_type type;
	cl_uint max_dims;
	size_t max_wg;
	size_t max_wi[3];
	cl_uint align;            /* CL_DEVICE_MEM_BASE_ADDR_ALIGN, bytes */
	cl_ulong max_alloc;
	cl_ulong local_mem;
	size_t max_param;
	bool nonuniform;          /* CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT */
	/* attached while a context uses it */
	struct rpci_device *rdev;
	uint32_t contexts;
	bool lost;
	uint64_t resets;          /* function-level resets announced when attached */
	uint64_t mem_bytes;
	int64_t clock_offset;     /* our clock minus the device's, ns */
	/* commands submitted, in order, not yet retired */
	struct icd_cmd *inflight;
	struct icd_cmd *inflight_tail;
	uint32_t nb_inflight;
};

struct _cl_context {
	struct icd_obj o;
	struct _cl_context *next; /* in g_icd.contexts */
	cl_uint nb_devices;
	cl_device_id devices[ICD_DEVICES_MAX];
	cl_context_properties props[8];
	size_t props_len;         /* bytes */
	void (CL_CALLBACK *notify)(const char *, const void *, size_t, void *);
	void *notify_data;
	struct icd_callback *destructors;
};

struct _cl_command_queue {
	struct icd_obj o;
	cl_context ctx;
	cl_device_id dev;
	cl_command_queue_properties props;
	cl_queue_properties props_array[4];
	size_t props_array_len;   /* bytes (0: created without the array) */
	struct _cl_command_queue *next_waiting; /* in g_icd.waiting while it has pending */
	bool waiting;
	/* commands enqueued, not yet submitted (FIFO: the queue is in order) */
	struct icd_cmd *pending;
	struct icd_cmd *pending_tail;
	cl_event last;            /* the last command's event (not a reference) */
};

/* A mapping of a buffer (clEnqueueMapBuffer). */
struct icd_map {
	struct icd_map *next;
	void *ptr;                /* what the application got */
	void *shm;                /* shared memory behind it, freed at unmap (NULL: host_ptr) */
	size_t offset;
	size_t size;
	cl_map_flags flags;
};

struct _cl_mem {
	struct icd_obj o;
	cl_context ctx;
	cl_mem_flags flags;
	size_t size;
	void *host_ptr;
	cl_mem parent;            /* a sub-buffer's buffer (retained), else NULL */
	size_t origin;
	/* the buffer's memory on each device of the context (root buffers) */
	uint64_t dptr[ICD_DEVICES_MAX];
	uint32_t allocated;       /* bit per device */
	uint32_t valid;           /* devices whose copy is current (0: none written yet) */
	struct icd_map *maps;
	uint32_t map_count;
	struct icd_callback *destructors;
	cl_mem_properties props[2];
	size_t props_len;
};

/* A build of a program for one device. */
struct icd_build {
	struct rpci_module *module;
	cl_build_status status;
	char *log;
	char *options;
	cl_program_binary_type bin_type;
	unsigned char *binary;    /* given (clCreateProgramWithBinary) or fetched */
	size_t binary_len;
	struct icd_info minfo;    /* the module's info (kernel names, sizes) */
	/* functions looked up (one per name, shared by the kernels) */
	struct icd_fn *fns;
};

struct icd_fn {
	struct icd_fn *next;
	char *name;
	struct rpci_function *fn;
	struct icd_info info;     /* what the backend says of it */
};

struct _cl_program {
	struct icd_obj o;
	cl_context ctx;
	char *source;
	size_t source_len;
	bool from_binary;
	struct icd_build builds[ICD_DEVICES_MAX]; /* by the device's index in the context */
	uint32_t kernels;         /* kernels attached */
	char *kernel_names;       /* after a build */
	size_t num_kernels;
};

/* What an argument of a kernel takes. */
enum icd_arg_class {
	ICD_ARG_MEM = 1,          /* __global or __constant pointer: a cl_mem */
	ICD_ARG_LOCAL,            /* __local pointer: a size */
	ICD_ARG_VALUE,            /* by value */
	ICD_ARG_OPAQUE,           /* image, sampler, pipe, queue: nothing rpci passes */
};

struct icd_arg {
	uint8_t class;            /* enum icd_arg_class */
	bool set;
	uint32_t size_known;      /* VALUE: the type's size, 0 if not known */
	size_t size;              /* bytes set (VALUE), local memory (LOCAL) */
	uint8_t *value;           /* VALUE: its bytes */
	cl_mem mem;               /* MEM: the buffer (not retained, as OpenCL), NULL allowed */
};

struct _cl_kernel {
	struct icd_obj o;
	cl_program prog;
	char *name;
	struct icd_fn *fns[ICD_DEVICES_MAX]; /* per device index; NULL where not built */
	cl_uint nb_args;
	struct icd_arg *args;
};

/* Kinds of command. */
enum icd_op {
	ICD_OP_WRITE = 1,
	ICD_OP_READ,
	ICD_OP_COPY,
	ICD_OP_FILL,
	ICD_OP_RECT,
	ICD_OP_KERNEL,
	ICD_OP_MARKER,
	ICD_OP_MAP,
	ICD_OP_UNMAP,
	ICD_OP_MIGRATE,
};

/* A buffer a command uses (retained by it). */
struct icd_use {
	cl_mem mem;
	bool writes;
};

/* A part of a command moved by one device command. */
struct icd_part {
	uint32_t id;
	struct rpci_cmd_report *report;   /* in shared memory */
};

/*
 * A command: what the application enqueued, until it is retired. It is
 * its event's (struct _cl_event owns one), built at enqueue time with
 * everything it needs (the data of a write is copied then), submitted when
 * what it waits for allows, retired when the device is done.
 */
struct icd_cmd {
	struct icd_cmd *next;     /* in its queue's pending list, then its device's in-flight one */
	cl_event ev;
	enum icd_op op;
	cl_command_queue queue;
	cl_device_id dev;
	cl_uint nb_wait;
	cl_event *wait;           /* retained */
	struct icd_use uses[ICD_ARGS_MAX + 2];
	uint32_t nb_uses;
	/* the operation */
	uint64_t dst, src, size;  /* device addresses (resolved at submission), bytes */
	size_t dst_off, src_off;  /* offsets in the buffers of uses[0] (dst) and uses[1] */
	void *host;               /* user memory read or written at retirement */
	void *shm;                /* shared memory the command moves (staging, a mapping) */
	size_t shm_len;
	bool shm_keep;            /* a mapping's: stays after retirement */
	uint8_t pattern[RPCI_CMD_PATTERN_MAX];
	uint32_t pattern_size;
	struct rpci_rect rect;    /* RECT: device side, pitches (addresses relative) */
	enum rpci_rect_dir rect_dir;
	size_t host_origin[3];    /* RECT with the host: its host side */
	size_t host_row_pitch;
	size_t host_slice_pitch;
	/* KERNEL */
	cl_kernel kernel;         /* retained: its program keeps fn */
	struct icd_fn *fn;
	struct rpci_ndrange nd;
	struct rpci_launch_arg args[ICD_ARGS_MAX];
	uint32_t nb_args;
	uint8_t *values;          /* the values the arguments point into */
	cl_int fail;              /* a failure known before the device's reports */
	/* submitted */
	bool submitted;
	struct icd_part *parts;
	uint32_t nb_parts;
	void *reports;            /* shared memory of the parts' reports */
};

struct _cl_event {
	struct icd_obj o;
	cl_context ctx;
	cl_command_queue queue;   /* retained (NULL: a user event) */
	cl_command_type type;
	cl_int status;
	bool user;
	bool profiling;
	cl_ulong t_queued;
	cl_ulong t_submit;
	cl_ulong t_start;
	cl_ulong t_end;
	struct icd_callback *callbacks;
	struct icd_cmd *cmd;      /* until retired */
};

/* ------------------------------------------------------------ the ICD */

struct icd_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* progress was made, or a user event changed */
	bool discovered;
	int discover_error;       /* errno of the last failed discovery */
	struct rpci_client *client;
	struct _cl_context *contexts;  /* every live context (a lost device tells them) */
	struct _cl_command_queue *waiting; /* queues with commands not yet submitted */
	cl_uint nb_devices;
	struct _cl_device_id devices[ICD_DEVICES_MAX];
	/* callbacks to run once the lock is dropped */
	struct icd_pending_cb *cbs;
	struct icd_pending_cb *cbs_tail;
	/* the progress thread (completions and callbacks while nobody calls) */
	pthread_t progress;
	bool progress_started;
	bool progress_stop;
};

extern struct icd_state g_icd;
extern struct _cl_platform_id g_icd_platform;
extern const struct _cl_icd_dispatch g_icd_dispatch;

void icd_lock(void);
/* Drop the lock, then run the callbacks queued meanwhile. */
void icd_unlock(void);
/* Queue an event callback (the event is retained until it has run). */
void icd_queue_event_cb(cl_event ev, const struct icd_callback *cb, cl_int status);
/* Queue a plain call fn(obj, data): destructors, a build's notification (obj retained). */
void icd_queue_obj_cb(void (*fn)(void), void *obj, void *data, bool retain_program);
/* Queue a context's notification (pfn_notify) with a message. */
void icd_queue_notify(cl_context ctx, const char *msg);
void icd_progress_start(void);
uint64_t icd_now_ns(void);

/* icd.c */
bool icd_device_valid(cl_device_id d);
int icd_device_attach(cl_device_id d);
void icd_device_detach(cl_device_id d);
/* The device is gone: its commands fail, its contexts hear of it. */
void icd_device_lost(cl_device_id d, const char *why);
/*
 * Whether the device was reset (a function-level reset: its server's
 * operator, a new personality) since it was attached: its memory and
 * programs are gone, so it is lost to its contexts. Marks it lost.
 */
bool icd_device_was_reset(cl_device_id d);
/* Index of d in the context, or -1. */
int icd_ctx_index(cl_context ctx, cl_device_id d);
/* The OpenCL error for a librpci errno (what failed: see the call sites). */
cl_int icd_errno_cl(int err);
/* Copy an info answer (the clGet*Info rules). */
cl_int icd_answer(size_t size, void *value, size_t *size_ret, const void *src, size_t len);
cl_int icd_device_info(cl_device_id d, cl_device_info param, size_t size, void *value,
		       size_t *size_ret);

/* icd_object.c */
void icd_context_retain(cl_context ctx);
void icd_context_release(cl_context ctx);
void icd_queue_retain(cl_command_queue q);
void icd_queue_release(cl_command_queue q);
void icd_mem_retain(cl_mem m);
void icd_mem_release(cl_mem m);
/* The root buffer and the device address of m on the context's device index i. */
cl_mem icd_mem_root(cl_mem m);
uint64_t icd_mem_addr(cl_mem m, int i);
/* Memory of m on device index i (allocated at its first use there). */
cl_int icd_mem_on_device(cl_mem m, int i);

/* icd_program.c */
void icd_program_retain(cl_program p);
void icd_program_release(cl_program p);
void icd_kernel_release(cl_kernel k);
/* The launch arguments of k on device index i into cmd (values copied). */
cl_int icd_kernel_marshal(cl_kernel k, int i, struct icd_cmd *cmd);
/* Set argument index of k (clSetKernelArg's checks). */
cl_int icd_arg_set(cl_kernel k, cl_uint index, size_t size, const void *value);

/* icd_queue.c */
cl_event icd_event_new(cl_context ctx, cl_command_queue q, cl_command_type type);
void icd_event_retain(cl_event ev);
void icd_event_release(cl_event ev);
/* Check a wait list (the common errors of every clEnqueue*). */
cl_int icd_wait_list_check(cl_context ctx, cl_uint n, const cl_event *list);
/* A new command on q of type, its event created; NULL and *err on failure. */
struct icd_cmd *icd_cmd_new(cl_command_queue q, cl_command_type type, enum icd_op op,
			    cl_uint nb_wait, const cl_event *wait, cl_int *err);
/* Use a buffer (retained until retired). */
void icd_cmd_use(struct icd_cmd *cmd, cl_mem m, bool writes);
/* Enqueue cmd: submitted when it can be; *event gets a reference; blocking: waited. */
cl_int icd_cmd_enqueue(struct icd_cmd *cmd, cl_event *event, bool blocking);
/* A command that never reached the queue (a check failed after icd_cmd_new). */
void icd_cmd_discard(struct icd_cmd *cmd);
/* Shared memory for a command (waits for retirements when full). NULL: none. */
void *icd_shm_alloc(size_t size);
void icd_shm_free(void *p);
/* Submit what can be, retire what is done, on every device. */
void icd_progress_all(void);
/* Wait for events (clWaitForEvents semantics). */
cl_int icd_wait_events(cl_uint n, const cl_event *list);
cl_int icd_queue_finish(cl_command_queue q);
void icd_queue_flush(cl_command_queue q);
/* Fail every command of a lost device. */
void icd_fail_device(cl_device_id d, cl_int status);

#endif /* RPCI_ICD_PRIVATE_H */
