/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Objects of the rpci OpenCL ICD: their heads (type, liveness, references),
 * contexts, command queues, buffers and sub-buffers.
 *
 * Reference rules: the application's retains and releases, plus one
 * reference for each object that needs another to live (a queue its
 * context, a buffer its context, a sub-buffer its buffer, a program its
 * context, a kernel its program, an event its queue and context, a command
 * the buffers it moves). An object is freed when its count reaches 0, and
 * its head is cleared first, so that a stale handle is refused with the
 * type's CL_INVALID_* error rather than used.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "icd_api.h"
#include "icd_private.h"

static uint32_t g_live[ICD_TYPES];

void
icd_obj_init(struct icd_obj *o, enum icd_type type)
{
	o->dispatch = &g_icd_dispatch;
	o->magic = ICD_MAGIC ^ type;
	o->type = type;
	o->refs = 1;
	g_live[type]++;
}

bool
icd_obj_valid(const void *p, enum icd_type type)
{
	const struct icd_obj *o = p;

	return o != NULL && o->magic == (ICD_MAGIC ^ type) && o->type == (uint32_t)type &&
	       o->refs > 0;
}

uint32_t
icd_obj_count(enum icd_type type)
{
	return (unsigned int)type < ICD_TYPES ? g_live[type] : 0;
}

/* An object's own release, by its type (the one place that knows them all). */
static void
obj_release(struct icd_obj *o)
{
	switch (o->type) {
	case ICD_CONTEXT:
		icd_context_release((cl_context)o);
		break;
	case ICD_QUEUE:
		/* an implicit flush; its commands still run (their events hold it) */
		icd_queue_flush((cl_command_queue)o);
		icd_queue_release((cl_command_queue)o);
		break;
	case ICD_MEM:
		icd_mem_release((cl_mem)o);
		break;
	case ICD_PROGRAM:
		icd_program_release((cl_program)o);
		break;
	case ICD_KERNEL:
		icd_kernel_release((cl_kernel)o);
		break;
	case ICD_EVENT:
		icd_event_release((cl_event)o);
		break;
	default:
		break;
	}
}

cl_int
icd_obj_ref(void *obj, enum icd_type type, cl_int invalid, bool retain)
{
	cl_int err = invalid;

	icd_lock();
	if (icd_obj_valid(obj, type)) {
		if (retain) {
			((struct icd_obj *)obj)->refs++;
		} else {
			obj_release(obj);
		}
		err = CL_SUCCESS;
	}
	icd_unlock();
	return err;
}

void
icd_obj_kill(struct icd_obj *o)
{
	if (o->magic == (ICD_MAGIC ^ o->type) && o->type < ICD_TYPES) {
		g_live[o->type]--;
	}
	o->magic = 0;
	o->refs = 0;
}

static void
callbacks_free(struct icd_callback *cb)
{
	while (cb != NULL) {
		struct icd_callback *next = cb->next;

		free(cb);
		cb = next;
	}
}

/* Add a callback at the head of a list: the last registered is called first. */
static cl_int
callback_push(struct icd_callback **list, void (*fn)(void), void *data)
{
	struct icd_callback *cb = calloc(1, sizeof(*cb));

	if (cb == NULL) {
		return CL_OUT_OF_HOST_MEMORY;
	}
	cb->fn = fn;
	cb->data = data;
	cb->next = *list;
	*list = cb;
	return CL_SUCCESS;
}

/* ------------------------------------------------------------ contexts */

void
icd_context_retain(cl_context ctx)
{
	ctx->o.refs++;
}

void
icd_context_release(cl_context ctx)
{
	struct icd_callback *cb;
	cl_context *pp;
	cl_uint i;

	if (--ctx->o.refs > 0) {
		return;
	}
	for (pp = &g_icd.contexts; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ctx) {
			*pp = ctx->next;
			break;
		}
	}
	for (cb = ctx->destructors; cb != NULL; cb = cb->next) {
		icd_queue_obj_cb(cb->fn, ctx, cb->data, false);
	}
	for (i = 0; i < ctx->nb_devices; i++) {
		icd_device_detach(ctx->devices[i]);
	}
	callbacks_free(ctx->destructors);
	icd_obj_kill(&ctx->o);
	free(ctx);
}

/* Check the properties of a context; a copy into ctx. */
static cl_int
context_props(cl_context ctx, const cl_context_properties *props)
{
	size_t n = 0;

	if (props == NULL) {
		return CL_SUCCESS;
	}
	while (props[n] != 0) {
		switch (props[n]) {
		case CL_CONTEXT_PLATFORM:
			if ((cl_platform_id)props[n + 1] != &g_icd_platform) {
				return CL_INVALID_PLATFORM;
			}
			break;
		case CL_CONTEXT_INTEROP_USER_SYNC:
			break;
		default:
			return CL_INVALID_PROPERTY;
		}
		if (n + 3 > sizeof(ctx->props) / sizeof(ctx->props[0])) {
			return CL_INVALID_PROPERTY; /* the same property twice */
		}
		ctx->props[n] = props[n];
		ctx->props[n + 1] = props[n + 1];
		n += 2;
	}
	ctx->props[n] = 0;
	ctx->props_len = (n + 1) * sizeof(cl_context_properties);
	return CL_SUCCESS;
}

/* Make a context on devices (lock held): attached, or an error. */
static cl_context
context_new(const cl_context_properties *props, cl_uint n, const cl_device_id *devices,
	    void (CL_CALLBACK *notify)(const char *, const void *, size_t, void *),
	    void *notify_data, cl_int *err)
{
	cl_context ctx;
	cl_uint i, j;

	if (n == 0 || devices == NULL || n > ICD_DEVICES_MAX ||
	    (notify == NULL && notify_data != NULL)) {
		*err = CL_INVALID_VALUE;
		return NULL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	*err = context_props(ctx, props);
	for (i = 0; *err == CL_SUCCESS && i < n; i++) {
		if (!icd_device_valid(devices[i])) {
			*err = CL_INVALID_DEVICE;
		}
		for (j = 0; j < i && *err == CL_SUCCESS; j++) {
			if (devices[j] == devices[i]) {
				*err = CL_INVALID_DEVICE; /* listed twice */
			}
		}
	}
	if (*err != CL_SUCCESS) {
		free(ctx);
		return NULL;
	}
	icd_obj_init(&ctx->o, ICD_CONTEXT);
	ctx->notify = notify;
	ctx->notify_data = notify_data;
	for (i = 0; i < n; i++) {
		if (icd_device_attach(devices[i]) < 0) {
			*err = CL_DEVICE_NOT_AVAILABLE;
			break;
		}
		ctx->devices[ctx->nb_devices++] = devices[i];
	}
	if (*err != CL_SUCCESS) {
		for (i = 0; i < ctx->nb_devices; i++) {
			icd_device_detach(ctx->devices[i]);
		}
		icd_obj_kill(&ctx->o);
		free(ctx);
		return NULL;
	}
	ctx->next = g_icd.contexts;
	g_icd.contexts = ctx;
	icd_progress_start();
	return ctx;
}

cl_context
icd_clCreateContext(const cl_context_properties *props, cl_uint num_devices,
		    const cl_device_id *devices,
		    void (CL_CALLBACK *notify)(const char *, const void *, size_t, void *),
		    void *user_data, cl_int *errcode_ret)
{
	cl_context ctx;
	cl_int err;

	icd_lock();
	ctx = context_new(props, num_devices, devices, notify, user_data, &err);
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return ctx;
}

cl_context
icd_clCreateContextFromType(const cl_context_properties *props, cl_device_type type,
			    void (CL_CALLBACK *notify)(const char *, const void *, size_t, void *),
			    void *user_data, cl_int *errcode_ret)
{
	cl_device_id devs[ICD_DEVICES_MAX];
	cl_uint n = 0;
	cl_context ctx = NULL;
	cl_int err;

	err = icd_clGetDeviceIDs(&g_icd_platform, type, ICD_DEVICES_MAX, devs, &n);
	if (err == CL_SUCCESS) {
		icd_lock();
		ctx = context_new(props, n < ICD_DEVICES_MAX ? n : ICD_DEVICES_MAX, devs, notify,
				  user_data, &err);
		icd_unlock();
	}
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return ctx;
}

cl_int
icd_clRetainContext(cl_context ctx)
{
	return icd_obj_ref(ctx, ICD_CONTEXT, CL_INVALID_CONTEXT, true);
}

cl_int
icd_clReleaseContext(cl_context ctx)
{
	return icd_obj_ref(ctx, ICD_CONTEXT, CL_INVALID_CONTEXT, false);
}

cl_int
icd_clGetContextInfo(cl_context ctx, cl_context_info param, size_t size, void *value,
		     size_t *size_ret)
{
	cl_int err;
	cl_uint v;

	icd_lock();
	if (!icd_obj_valid(ctx, ICD_CONTEXT)) {
		err = CL_INVALID_CONTEXT;
		goto out;
	}
	switch (param) {
	case CL_CONTEXT_REFERENCE_COUNT:
		v = ctx->o.refs;
		err = icd_answer(size, value, size_ret, &v, sizeof(v));
		break;
	case CL_CONTEXT_NUM_DEVICES:
		v = ctx->nb_devices;
		err = icd_answer(size, value, size_ret, &v, sizeof(v));
		break;
	case CL_CONTEXT_DEVICES:
		err = icd_answer(size, value, size_ret, ctx->devices,
				 ctx->nb_devices * sizeof(cl_device_id));
		break;
	case CL_CONTEXT_PROPERTIES:
		err = icd_answer(size, value, size_ret, ctx->props, ctx->props_len);
		break;
	default:
		err = CL_INVALID_VALUE;
		break;
	}
out:
	icd_unlock();
	return err;
}

cl_int
icd_clSetContextDestructorCallback(cl_context ctx,
				   void (CL_CALLBACK *fn)(cl_context, void *), void *data)
{
	cl_int err;

	if (fn == NULL) {
		return CL_INVALID_VALUE;
	}
	icd_lock();
	err = icd_obj_valid(ctx, ICD_CONTEXT) ?
		callback_push(&ctx->destructors, (void (*)(void))fn, data) : CL_INVALID_CONTEXT;
	icd_unlock();
	return err;
}

/* ------------------------------------------------------------ queues */

void
icd_queue_retain(cl_command_queue q)
{
	q->o.refs++;
}

void
icd_queue_release(cl_command_queue q)
{
	if (--q->o.refs > 0) {
		return;
	}
	icd_context_release(q->ctx);
	icd_obj_kill(&q->o);
	free(q);
}

static cl_command_queue
queue_new(cl_context ctx, cl_device_id dev, cl_command_queue_properties props,
	  const cl_queue_properties *array, size_t array_len, cl_int *err)
{
	cl_command_queue q;

	if (!icd_obj_valid(ctx, ICD_CONTEXT)) {
		*err = CL_INVALID_CONTEXT;
		return NULL;
	}
	if (!icd_device_valid(dev) || icd_ctx_index(ctx, dev) < 0) {
		*err = CL_INVALID_DEVICE;
		return NULL;
	}
	if (props & ~(cl_command_queue_properties)(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE |
						   CL_QUEUE_PROFILING_ENABLE |
						   CL_QUEUE_ON_DEVICE |
						   CL_QUEUE_ON_DEVICE_DEFAULT)) {
		*err = CL_INVALID_VALUE;
		return NULL;
	}
	/* in order, on the host: out-of-order and on-device queues are not offered */
	if (props & (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_ON_DEVICE |
		     CL_QUEUE_ON_DEVICE_DEFAULT)) {
		*err = CL_INVALID_QUEUE_PROPERTIES;
		return NULL;
	}
	if (dev->lost) {
		*err = CL_OUT_OF_RESOURCES;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	icd_obj_init(&q->o, ICD_QUEUE);
	q->ctx = ctx;
	icd_context_retain(ctx);
	q->dev = dev;
	q->props = props;
	if (array != NULL) {
		memcpy(q->props_array, array, array_len);
		q->props_array_len = array_len;
	}
	*err = CL_SUCCESS;
	return q;
}

cl_command_queue
icd_clCreateCommandQueue(cl_context ctx, cl_device_id dev, cl_command_queue_properties props,
			 cl_int *errcode_ret)
{
	cl_command_queue q;
	cl_int err;

	icd_lock();
	q = queue_new(ctx, dev, props, NULL, 0, &err);
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return q;
}

cl_command_queue
icd_clCreateCommandQueueWithProperties(cl_context ctx, cl_device_id dev,
				       const cl_queue_properties *props, cl_int *errcode_ret)
{
	cl_command_queue_properties p = 0;
	cl_command_queue q = NULL;
	size_t n = 0;
	cl_int err = CL_SUCCESS;

	while (props != NULL && props[n] != 0 && err == CL_SUCCESS) {
		switch (props[n]) {
		case CL_QUEUE_PROPERTIES:
			p = props[n + 1];
			break;
		case CL_QUEUE_SIZE:
			/* only for on-device queues, which are refused below anyway */
			if (!(p & CL_QUEUE_ON_DEVICE)) {
				err = CL_INVALID_VALUE;
			}
			break;
		default:
			err = CL_INVALID_VALUE;
			break;
		}
		n += 2;
		if (n >= 4 && props[n] != 0) {
			err = CL_INVALID_VALUE; /* more than the one property */
		}
	}
	if (err == CL_SUCCESS) {
		icd_lock();
		q = queue_new(ctx, dev, p, props, props != NULL ? (n + 1) * sizeof(*props) : 0,
			      &err);
		icd_unlock();
	}
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return q;
}

cl_int
icd_clRetainCommandQueue(cl_command_queue q)
{
	return icd_obj_ref(q, ICD_QUEUE, CL_INVALID_COMMAND_QUEUE, true);
}

cl_int
icd_clReleaseCommandQueue(cl_command_queue q)
{
	return icd_obj_ref(q, ICD_QUEUE, CL_INVALID_COMMAND_QUEUE, false);
}

cl_int
icd_clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info param, size_t size,
			  void *value, size_t *size_ret)
{
	cl_command_queue none = NULL;
	cl_int err;
	cl_uint v;

	icd_lock();
	if (!icd_obj_valid(q, ICD_QUEUE)) {
		err = CL_INVALID_COMMAND_QUEUE;
		goto out;
	}
	switch (param) {
	case CL_QUEUE_CONTEXT:
		err = icd_answer(size, value, size_ret, &q->ctx, sizeof(q->ctx));
		break;
	case CL_QUEUE_DEVICE:
		err = icd_answer(size, value, size_ret, &q->dev, sizeof(q->dev));
		break;
	case CL_QUEUE_REFERENCE_COUNT:
		v = q->o.refs;
		err = icd_answer(size, value, size_ret, &v, sizeof(v));
		break;
	case CL_QUEUE_PROPERTIES:
		err = icd_answer(size, value, size_ret, &q->props, sizeof(q->props));
		break;
	case CL_QUEUE_PROPERTIES_ARRAY:
		err = icd_answer(size, value, size_ret, q->props_array, q->props_array_len);
		break;
	case CL_QUEUE_DEVICE_DEFAULT:
		err = icd_answer(size, value, size_ret, &none, sizeof(none));
		break;
	default:
		err = CL_INVALID_VALUE;
		break;
	}
out:
	icd_unlock();
	return err;
}

cl_int
icd_clSetCommandQueueProperty(cl_command_queue q, cl_command_queue_properties props,
			      cl_bool enable, cl_command_queue_properties *old)
{
	cl_int err = CL_SUCCESS;

	icd_lock();
	if (!icd_obj_valid(q, ICD_QUEUE)) {
		err = CL_INVALID_COMMAND_QUEUE;
	} else if (props & ~(cl_command_queue_properties)(CL_QUEUE_PROFILING_ENABLE |
							  CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)) {
		err = CL_INVALID_VALUE;
	} else if ((props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) && enable) {
		err = CL_INVALID_QUEUE_PROPERTIES;
	} else {
		if (old != NULL) {
			*old = q->props;
		}
		q->props = enable ? q->props | props : q->props & ~props;
	}
	icd_unlock();
	return err;
}

/* ------------------------------------------------------------ buffers */

void
icd_mem_retain(cl_mem m)
{
	m->o.refs++;
}

cl_mem
icd_mem_root(cl_mem m)
{
	return m->parent != NULL ? m->parent : m;
}

uint64_t
icd_mem_addr(cl_mem m, int i)
{
	return icd_mem_root(m)->dptr[i] + m->origin;
}

void
icd_mem_release(cl_mem m)
{
	struct icd_callback *cb;
	cl_uint i;

	if (--m->o.refs > 0) {
		return;
	}
	for (cb = m->destructors; cb != NULL; cb = cb->next) {
		icd_queue_obj_cb(cb->fn, m, cb->data, false);
	}
	for (i = 0; m->parent == NULL && i < m->ctx->nb_devices; i++) {
		cl_device_id d = m->ctx->devices[i];

		if ((m->allocated & (1u << i)) && d->rdev != NULL && !d->lost) {
			/* after the commands before it; nobody waits */
			rpci_cmd_free(d->rdev, m->dptr[i], NULL, NULL);
		}
	}
	while (m->maps != NULL) {
		struct icd_map *mp = m->maps;

		m->maps = mp->next;
		icd_shm_free(mp->shm);
		free(mp);
	}
	callbacks_free(m->destructors);
	if (m->parent != NULL) {
		icd_mem_release(m->parent);
	}
	icd_context_release(m->ctx);
	icd_obj_kill(&m->o);
	free(m);
}

cl_int
icd_mem_on_device(cl_mem m, int i)
{
	cl_mem root = icd_mem_root(m);
	cl_device_id d = root->ctx->devices[i];
	int ret;

	if (root->allocated & (1u << i)) {
		return CL_SUCCESS;
	}
	if (d->lost || d->rdev == NULL) {
		return CL_OUT_OF_RESOURCES;
	}
	ret = rpci_mem_alloc(d->rdev, root->size, &root->dptr[i]);
	if (ret < 0) {
		if (ret == -ENOTCONN) {
			icd_device_lost(d, rpci_last_error());
		}
		return ret == -ENOMEM ? CL_MEM_OBJECT_ALLOCATION_FAILURE : icd_errno_cl(ret);
	}
	root->allocated |= 1u << i;
	return CL_SUCCESS;
}

/* The checks of clCreateBuffer's flags and host pointer. */
static cl_int
buffer_flags_check(cl_mem_flags flags, size_t size, const void *host_ptr, cl_context ctx)
{
	const cl_mem_flags known = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY |
				   CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR |
				   CL_MEM_COPY_HOST_PTR | CL_MEM_HOST_WRITE_ONLY |
				   CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS;
	cl_uint i;
	int access = !!(flags & CL_MEM_READ_WRITE) + !!(flags & CL_MEM_WRITE_ONLY) +
		     !!(flags & CL_MEM_READ_ONLY);
	int host = !!(flags & CL_MEM_HOST_WRITE_ONLY) + !!(flags & CL_MEM_HOST_READ_ONLY) +
		   !!(flags & CL_MEM_HOST_NO_ACCESS);

	if ((flags & ~known) || access > 1 || host > 1 ||
	    ((flags & CL_MEM_USE_HOST_PTR) &&
	     (flags & (CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR)))) {
		return CL_INVALID_VALUE;
	}
	if ((host_ptr == NULL) != !(flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR))) {
		return CL_INVALID_HOST_PTR;
	}
	if (size == 0) {
		return CL_INVALID_BUFFER_SIZE;
	}
	for (i = 0; i < ctx->nb_devices; i++) {
		if (size > ctx->devices[i]->max_alloc) {
			return CL_INVALID_BUFFER_SIZE;
		}
	}
	return CL_SUCCESS;
}

/* Put the host pointer's bytes into a new buffer (its first device's copy). */
static cl_int
buffer_initial_copy(cl_mem m, const void *host_ptr)
{
	cl_device_id d = m->ctx->devices[0];
	struct rpci_cmd_report *rep;
	uint8_t *stage;
	uint32_t id;
	int ret;

	stage = icd_shm_alloc(m->size + 64);
	if (stage == NULL) {
		return CL_OUT_OF_HOST_MEMORY;
	}
	rep = (struct rpci_cmd_report *)(stage + ((m->size + 7) & ~(size_t)7));
	memcpy(stage, host_ptr, m->size);
	ret = rpci_cmd_write(d->rdev, m->dptr[0], stage, m->size, rep, &id);
	if (ret == 0) {
		ret = rpci_cmd_wait(d->rdev, id);
	}
	if (ret == 0) {
		ret = rep->status;
	}
	icd_shm_free(stage);
	if (ret == -ENOTCONN) {
		icd_device_lost(d, rpci_last_error());
	}
	if (ret < 0) {
		return icd_errno_cl(ret);
	}
	m->valid = 1u;
	return CL_SUCCESS;
}

static cl_mem
buffer_new(cl_context ctx, const cl_mem_properties *props, cl_mem_flags flags, size_t size,
	   void *host_ptr, cl_int *err)
{
	cl_mem m;

	if (!icd_obj_valid(ctx, ICD_CONTEXT)) {
		*err = CL_INVALID_CONTEXT;
		return NULL;
	}
	if (props != NULL && props[0] != 0) {
		*err = CL_INVALID_PROPERTY; /* 3.0 defines no buffer property */
		return NULL;
	}
	if (flags == 0) {
		flags = CL_MEM_READ_WRITE;
	}
	*err = buffer_flags_check(flags, size, host_ptr, ctx);
	if (*err != CL_SUCCESS) {
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	icd_obj_init(&m->o, ICD_MEM);
	m->ctx = ctx;
	icd_context_retain(ctx);
	m->flags = flags;
	m->size = size;
	m->host_ptr = (flags & CL_MEM_USE_HOST_PTR) ? host_ptr : NULL;
	if (props != NULL) {
		m->props[0] = 0;
		m->props_len = sizeof(m->props[0]);
	}
	/* memory on the first device now: a buffer too large fails here */
	*err = icd_mem_on_device(m, 0);
	if (*err == CL_SUCCESS && host_ptr != NULL) {
		*err = buffer_initial_copy(m, host_ptr);
	}
	if (*err != CL_SUCCESS) {
		icd_mem_release(m);
		return NULL;
	}
	return m;
}

cl_mem
icd_clCreateBuffer(cl_context ctx, cl_mem_flags flags, size_t size, void *host_ptr,
		   cl_int *errcode_ret)
{
	cl_mem m;
	cl_int err;

	icd_lock();
	m = buffer_new(ctx, NULL, flags, size, host_ptr, &err);
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return m;
}

cl_mem
icd_clCreateBufferWithProperties(cl_context ctx, const cl_mem_properties *props,
				 cl_mem_flags flags, size_t size, void *host_ptr,
				 cl_int *errcode_ret)
{
	cl_mem m;
	cl_int err;

	icd_lock();
	m = buffer_new(ctx, props, flags, size, host_ptr, &err);
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return m;
}

/* A sub-buffer's flags: its own access, or its buffer's; the host's, inherited. */
static cl_int
sub_flags(cl_mem parent, cl_mem_flags flags, cl_mem_flags *out)
{
	const cl_mem_flags access = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY;
	const cl_mem_flags host = CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY |
				  CL_MEM_HOST_NO_ACCESS;
	const cl_mem_flags inherited = CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR |
				       CL_MEM_COPY_HOST_PTR;

	if (flags & ~(access | host)) {
		return CL_INVALID_VALUE;
	}
	if (((parent->flags & CL_MEM_WRITE_ONLY) && (flags & (CL_MEM_READ_WRITE |
							      CL_MEM_READ_ONLY))) ||
	    ((parent->flags & CL_MEM_READ_ONLY) && (flags & (CL_MEM_READ_WRITE |
							     CL_MEM_WRITE_ONLY))) ||
	    ((parent->flags & CL_MEM_HOST_WRITE_ONLY) && (flags & CL_MEM_HOST_READ_ONLY)) ||
	    ((parent->flags & CL_MEM_HOST_READ_ONLY) && (flags & CL_MEM_HOST_WRITE_ONLY)) ||
	    ((parent->flags & CL_MEM_HOST_NO_ACCESS) &&
	     (flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_WRITE_ONLY)))) {
		return CL_INVALID_VALUE;
	}
	*out = (flags & access ? flags & access : parent->flags & access) |
	       (flags & host ? flags & host : parent->flags & host) | (parent->flags & inherited);
	return CL_SUCCESS;
}

cl_mem
icd_clCreateSubBuffer(cl_mem buffer, cl_mem_flags flags, cl_buffer_create_type type,
		      const void *info, cl_int *errcode_ret)
{
	const cl_buffer_region *r = info;
	cl_mem m = NULL;
	cl_mem_flags f = 0;
	cl_int err;
	cl_uint i;
	bool aligned = false;

	icd_lock();
	if (!icd_obj_valid(buffer, ICD_MEM) || buffer->parent != NULL) {
		err = CL_INVALID_MEM_OBJECT;
		goto out;
	}
	err = sub_flags(buffer, flags, &f);
	if (err != CL_SUCCESS) {
		goto out;
	}
	if (type != CL_BUFFER_CREATE_TYPE_REGION || r == NULL) {
		err = CL_INVALID_VALUE;
		goto out;
	}
	if (r->size == 0) {
		err = CL_INVALID_BUFFER_SIZE;
		goto out;
	}
	if (r->origin > buffer->size || r->size > buffer->size - r->origin) {
		err = CL_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < buffer->ctx->nb_devices; i++) {
		aligned |= r->origin % buffer->ctx->devices[i]->align == 0;
	}
	if (!aligned) {
		err = CL_MISALIGNED_SUB_BUFFER_OFFSET;
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		err = CL_OUT_OF_HOST_MEMORY;
		goto out;
	}
	icd_obj_init(&m->o, ICD_MEM);
	m->ctx = buffer->ctx;
	icd_context_retain(m->ctx);
	m->parent = buffer;
	icd_mem_retain(buffer);
	m->flags = f;
	m->origin = r->origin;
	m->size = r->size;
	m->host_ptr = buffer->host_ptr != NULL ? (uint8_t *)buffer->host_ptr + r->origin : NULL;
out:
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return m;
}

cl_int
icd_clRetainMemObject(cl_mem m)
{
	return icd_obj_ref(m, ICD_MEM, CL_INVALID_MEM_OBJECT, true);
}

cl_int
icd_clReleaseMemObject(cl_mem m)
{
	return icd_obj_ref(m, ICD_MEM, CL_INVALID_MEM_OBJECT, false);
}

cl_int
icd_clGetMemObjectInfo(cl_mem m, cl_mem_info param, size_t size, void *value,
		       size_t *size_ret)
{
	cl_mem_object_type type = CL_MEM_OBJECT_BUFFER;
	cl_bool no = CL_FALSE;
	cl_uint v;
	cl_int err;

	icd_lock();
	if (!icd_obj_valid(m, ICD_MEM)) {
		err = CL_INVALID_MEM_OBJECT;
		goto out;
	}
	switch (param) {
	case CL_MEM_TYPE:
		err = icd_answer(size, value, size_ret, &type, sizeof(type));
		break;
	case CL_MEM_FLAGS:
		err = icd_answer(size, value, size_ret, &m->flags, sizeof(m->flags));
		break;
	case CL_MEM_SIZE:
		err = icd_answer(size, value, size_ret, &m->size, sizeof(m->size));
		break;
	case CL_MEM_HOST_PTR:
		err = icd_answer(size, value, size_ret, &m->host_ptr, sizeof(m->host_ptr));
		break;
	case CL_MEM_MAP_COUNT:
		v = m->map_count;
		err = icd_answer(size, value, size_ret, &v, sizeof(v));
		break;
	case CL_MEM_REFERENCE_COUNT:
		v = m->o.refs;
		err = icd_answer(size, value, size_ret, &v, sizeof(v));
		break;
	case CL_MEM_CONTEXT:
		err = icd_answer(size, value, size_ret, &m->ctx, sizeof(m->ctx));
		break;
	case CL_MEM_ASSOCIATED_MEMOBJECT:
		err = icd_answer(size, value, size_ret, &m->parent, sizeof(m->parent));
		break;
	case CL_MEM_OFFSET:
		err = icd_answer(size, value, size_ret, &m->origin, sizeof(m->origin));
		break;
	case CL_MEM_USES_SVM_POINTER:
		err = icd_answer(size, value, size_ret, &no, sizeof(no));
		break;
	case CL_MEM_PROPERTIES:
		err = icd_answer(size, value, size_ret, m->props, m->props_len);
		break;
	default:
		err = CL_INVALID_VALUE;
		break;
	}
out:
	icd_unlock();
	return err;
}

cl_int
icd_clSetMemObjectDestructorCallback(cl_mem m, void (CL_CALLBACK *fn)(cl_mem, void *),
				     void *data)
{
	cl_int err;

	if (fn == NULL) {
		return CL_INVALID_VALUE;
	}
	icd_lock();
	err = icd_obj_valid(m, ICD_MEM) ? callback_push(&m->destructors, (void (*)(void))fn, data) :
		CL_INVALID_MEM_OBJECT;
	icd_unlock();
	return err;
}
