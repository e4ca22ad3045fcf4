/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the rpci OpenCL ICD (drivers/opencl-icd), with no proxy and
 * no server: a device is made from an info block built here, as a server
 * would send it, and marked attached.
 *
 * - info blocks: parsing (every malformed case refused), lookups, and a
 *   device's answers as rpci serves it (images, SVM and partitions absent,
 *   extensions filtered, a 2.x version said 1.2, queue properties);
 * - object tracking: reference counts of contexts, queues, buffers,
 *   sub-buffers, kernels and events, objects that hold others, every
 *   object freed at the end, handles of the wrong type refused;
 * - the scheduler: commands held by a user event, failed with it, and a
 *   device without a session failing what reaches it;
 * - argument marshalling: kinds, sizes and values checked as clSetKernelArg
 *   says, buffers become device addresses, NULL the end of memory, values
 *   of any size copied, local memory a size, limits refused.
 */

#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "icd_api.h"
#include "icd_private.h"
#include "rpci_vgpu_hw.h"

#define MEM_BYTES (64ull << 20)

static uint8_t g_block[16384];

/* ------------------------------------------------------------ helpers */

struct ent_list {
	struct icd_info_ent e[64];
	uint32_t n;
};

static void
ent_add(struct ent_list *l, uint32_t key, const void *val, uint32_t len)
{
	l->e[l->n].key = key;
	l->e[l->n].len = len;
	l->e[l->n].val = val;
	l->n++;
}

static void
ent_str(struct ent_list *l, uint32_t key, const char *s)
{
	ent_add(l, key, s, (uint32_t)strlen(s) + 1);
}

/* A server's device block: an OpenCL 2.0 GPU with everything rpci refuses. */
static size_t
server_block(uint8_t *buf, size_t len, const char *version)
{
	static const cl_device_type type = CL_DEVICE_TYPE_GPU;
	static const cl_bool yes = CL_TRUE;
	static const cl_command_queue_properties qp = CL_QUEUE_PROFILING_ENABLE |
						      CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE;
	static const cl_device_svm_capabilities svm = CL_DEVICE_SVM_COARSE_GRAIN_BUFFER;
	static const size_t wg = 256, wi[3] = { 256, 256, 64 };
	static const cl_uint align_bits = 1024, dims = 3, units = 7;
	static const cl_ulong alloc = 1 << 26, local = 32768, global = MEM_BYTES;
	static const size_t param = 1024;
	static const cl_version numeric = CL_MAKE_VERSION(2, 0, 0);
	static const cl_platform_id platform = (cl_platform_id)0x1234;
	static const uint32_t vendor_key_value = 99;
	static cl_name_version features[2];
	struct ent_list l = { .n = 0 };

	snprintf(features[0].name, sizeof(features[0].name), "__opencl_c_images");
	features[0].version = CL_MAKE_VERSION(3, 0, 0);
	snprintf(features[1].name, sizeof(features[1].name), "__opencl_c_fp64");
	features[1].version = CL_MAKE_VERSION(3, 0, 0);
	ent_str(&l, CL_DEVICE_NAME, "Test GPU");
	ent_add(&l, CL_DEVICE_TYPE, &type, sizeof(type));
	ent_str(&l, CL_DEVICE_VERSION, version);
	ent_add(&l, CL_DEVICE_NUMERIC_VERSION, &numeric, sizeof(numeric));
	ent_str(&l, CL_DEVICE_EXTENSIONS, "cl_khr_fp64 cl_khr_gl_sharing cl_khr_subgroups "
		"cl_khr_int64_base_atomics cl_khr_3d_image_writes");
	ent_add(&l, CL_DEVICE_IMAGE_SUPPORT, &yes, sizeof(yes));
	ent_add(&l, CL_DEVICE_HOST_UNIFIED_MEMORY, &yes, sizeof(yes));
	ent_add(&l, CL_DEVICE_QUEUE_ON_HOST_PROPERTIES, &qp, sizeof(qp));
	ent_add(&l, CL_DEVICE_SVM_CAPABILITIES, &svm, sizeof(svm));
	ent_add(&l, CL_DEVICE_MAX_WORK_GROUP_SIZE, &wg, sizeof(wg));
	ent_add(&l, CL_DEVICE_MAX_WORK_ITEM_SIZES, wi, sizeof(wi));
	ent_add(&l, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, &dims, sizeof(dims));
	ent_add(&l, CL_DEVICE_MAX_COMPUTE_UNITS, &units, sizeof(units));
	ent_add(&l, CL_DEVICE_MEM_BASE_ADDR_ALIGN, &align_bits, sizeof(align_bits));
	ent_add(&l, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &alloc, sizeof(alloc));
	ent_add(&l, CL_DEVICE_GLOBAL_MEM_SIZE, &global, sizeof(global));
	ent_add(&l, CL_DEVICE_LOCAL_MEM_SIZE, &local, sizeof(local));
	ent_add(&l, CL_DEVICE_MAX_PARAMETER_SIZE, &param, sizeof(param));
	ent_add(&l, CL_DEVICE_IMAGE2D_MAX_WIDTH, &wg, sizeof(wg));
	ent_str(&l, CL_DEVICE_BUILT_IN_KERNELS, "vendor.magic");
	ent_add(&l, CL_DEVICE_OPENCL_C_FEATURES, features, sizeof(features));
	ent_add(&l, CL_DEVICE_PLATFORM, &platform, sizeof(platform)); /* never passed on */
	ent_add(&l, 0x4321, &vendor_key_value, sizeof(vendor_key_value));
	return icd_info_build(l.e, l.n, buf, len);
}

/* A function block: five arguments of every class. */
static size_t
function_block(uint8_t *buf, size_t len)
{
	static const cl_uint nargs = 5;
	static const cl_uint global = CL_KERNEL_ARG_ADDRESS_GLOBAL,
			     loc = CL_KERNEL_ARG_ADDRESS_LOCAL,
			     priv = CL_KERNEL_ARG_ADDRESS_PRIVATE;
	static const uint32_t four = 4, unknown = 0;
	static const size_t wg = 128;
	static const cl_ulong kernel_local = 1024;
	struct ent_list l = { .n = 0 };

	ent_str(&l, CL_KERNEL_FUNCTION_NAME, "k");
	ent_add(&l, CL_KERNEL_NUM_ARGS, &nargs, sizeof(nargs));
	ent_add(&l, CL_KERNEL_WORK_GROUP_SIZE, &wg, sizeof(wg));
	ent_add(&l, CL_KERNEL_LOCAL_MEM_SIZE, &kernel_local, sizeof(kernel_local));
	ent_add(&l, RPCI_VGPU_INFO_ARG(0, CL_KERNEL_ARG_ADDRESS_QUALIFIER), &global, 4);
	ent_str(&l, RPCI_VGPU_INFO_ARG(0, CL_KERNEL_ARG_TYPE_NAME), "float*");
	ent_add(&l, RPCI_VGPU_INFO_ARG(1, CL_KERNEL_ARG_ADDRESS_QUALIFIER), &loc, 4);
	ent_str(&l, RPCI_VGPU_INFO_ARG(1, CL_KERNEL_ARG_TYPE_NAME), "int*");
	ent_add(&l, RPCI_VGPU_INFO_ARG(2, CL_KERNEL_ARG_ADDRESS_QUALIFIER), &priv, 4);
	ent_str(&l, RPCI_VGPU_INFO_ARG(2, CL_KERNEL_ARG_TYPE_NAME), "int");
	ent_add(&l, RPCI_VGPU_INFO_ARG(2, RPCI_VGPU_INFO_ARG_SIZE), &four, 4);
	ent_add(&l, RPCI_VGPU_INFO_ARG(3, CL_KERNEL_ARG_ADDRESS_QUALIFIER), &priv, 4);
	ent_str(&l, RPCI_VGPU_INFO_ARG(3, CL_KERNEL_ARG_TYPE_NAME), "big_t");
	ent_add(&l, RPCI_VGPU_INFO_ARG(3, RPCI_VGPU_INFO_ARG_SIZE), &unknown, 4);
	ent_add(&l, RPCI_VGPU_INFO_ARG(4, CL_KERNEL_ARG_ADDRESS_QUALIFIER), &priv, 4);
	ent_str(&l, RPCI_VGPU_INFO_ARG(4, CL_KERNEL_ARG_TYPE_NAME), "sampler_t");
	return icd_info_build(l.e, l.n, buf, len);
}

/* The device of the tests: described by server_block(), marked attached. */
static cl_device_id
fake_device(void)
{
	cl_device_id d = &g_icd.devices[0];
	size_t len;

	if (g_icd.nb_devices == 1) {
		return d;
	}
	memset(d, 0, sizeof(*d));
	icd_obj_init(&d->o, ICD_DEVICE);
	len = server_block(g_block, sizeof(g_block), "OpenCL 3.0 Test");
	CU_ASSERT_FATAL(icd_info_parse(g_block, len, &d->server) == 0);
	CU_ASSERT_FATAL(icd_device_answers(&d->server, &d->info) == 0);
	d->type = CL_DEVICE_TYPE_GPU;
	d->max_dims = 3;
	d->max_wg = 256;
	d->max_wi[0] = d->max_wi[1] = 256;
	d->max_wi[2] = 64;
	d->align = 128;
	d->max_alloc = 1 << 26;
	d->local_mem = 32768;
	d->max_param = 1024;
	d->mem_bytes = MEM_BYTES;
	d->contexts = 1; /* attached: contexts do not open it again */
	g_icd.nb_devices = 1;
	g_icd.discovered = true;
	return d;
}

/* ------------------------------------------------------------ info blocks */

static void
test_info_parse(void)
{
	struct icd_info info;
	struct rpci_vgpu_info_hdr h;
	char s[64];
	size_t len = server_block(g_block, sizeof(g_block), "OpenCL 3.0 Test");
	uint8_t bad[sizeof(g_block)];

	CU_ASSERT_FATAL(len > sizeof(h));
	CU_ASSERT_EQUAL(icd_info_parse(g_block, len, &info), 0);
	CU_ASSERT_EQUAL(icd_info_u64(&info, CL_DEVICE_MAX_COMPUTE_UNITS, 0), 7);
	CU_ASSERT_TRUE(icd_info_str(&info, CL_DEVICE_NAME, s, sizeof(s)));
	CU_ASSERT_STRING_EQUAL(s, "Test GPU");
	CU_ASSERT_PTR_NULL(icd_info_find(&info, 0x5555));
	CU_ASSERT_EQUAL(icd_info_u64(&info, 0x5555, 42), 42);
	icd_info_free(&info);

	/* a longer buffer than the block is fine; a shorter one is not */
	CU_ASSERT_EQUAL(icd_info_parse(g_block, len + 100, &info), 0);
	icd_info_free(&info);
	CU_ASSERT_EQUAL(icd_info_parse(g_block, len - 1, &info), -EBADMSG);
	CU_ASSERT_EQUAL(icd_info_parse(g_block, 3, &info), -EBADMSG);
	CU_ASSERT_EQUAL(icd_info_parse(NULL, len, &info), -EBADMSG);

	/* each header field wrong */
	memcpy(&h, g_block, sizeof(h));
#define BAD_HDR(field, value) do { \
		struct rpci_vgpu_info_hdr b = h; \
		b.field = value; \
		memcpy(bad, g_block, len); \
		memcpy(bad, &b, sizeof(b)); \
		CU_ASSERT_EQUAL(icd_info_parse(bad, len, &info), -EBADMSG); \
	} while (0)
	BAD_HDR(magic, 0);
	BAD_HDR(version, 2);
	BAD_HDR(api, 7);
	BAD_HDR(len, 4);
	BAD_HDR(len, (uint32_t)len + 8);
	BAD_HDR(count, h.count + 1);
	BAD_HDR(count, 0xffffffffu);
	BAD_HDR(count, h.count - 1); /* bytes no entry accounts for */
#undef BAD_HDR
	/* an entry that runs past the end */
	memcpy(bad, g_block, len);
	{
		struct rpci_vgpu_info_ent e;

		memcpy(&e, bad + sizeof(h), sizeof(e));
		e.len = 0xfffffff0u;
		memcpy(bad + sizeof(h), &e, sizeof(e));
	}
	CU_ASSERT_EQUAL(icd_info_parse(bad, len, &info), -EBADMSG);
	/* an empty block is a block */
	CU_ASSERT(icd_info_build(NULL, 0, bad, sizeof(bad)) == sizeof(h));
	CU_ASSERT_EQUAL(icd_info_parse(bad, sizeof(h), &info), 0);
	CU_ASSERT_EQUAL(info.count, 0);
	icd_info_free(&info);
	/* too small a buffer to build into */
	CU_ASSERT_EQUAL(server_block(bad, 100, "x"), 0);
}

static void
test_info_answers(void)
{
	struct icd_info server, out;
	char s[512];
	size_t len = server_block(g_block, sizeof(g_block), "OpenCL 2.0 Vendor 9.1");
	const struct icd_info_ent *e;

	CU_ASSERT_FATAL(icd_info_parse(g_block, len, &server) == 0);
	CU_ASSERT_FATAL(icd_device_answers(&server, &out) == 0);
	/* what the server said */
	CU_ASSERT_TRUE(icd_info_str(&out, CL_DEVICE_NAME, s, sizeof(s)));
	CU_ASSERT_STRING_EQUAL(s, "Test GPU");
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_MAX_WORK_GROUP_SIZE, 0), 256);
	/* what rpci serves differently */
	CU_ASSERT_TRUE(icd_info_str(&out, CL_DEVICE_VERSION, s, sizeof(s)));
	CU_ASSERT_STRING_EQUAL(s, "OpenCL 1.2 Vendor 9.1");
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_NUMERIC_VERSION, 0), CL_MAKE_VERSION(1, 2, 0));
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_IMAGE_SUPPORT, 1), CL_FALSE);
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_IMAGE2D_MAX_WIDTH, 1), 0);
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_HOST_UNIFIED_MEMORY, 1), CL_FALSE);
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_SVM_CAPABILITIES, 1), 0);
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_QUEUE_ON_HOST_PROPERTIES, 0),
			CL_QUEUE_PROFILING_ENABLE);
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_EXECUTION_CAPABILITIES, 0), CL_EXEC_KERNEL);
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_REFERENCE_COUNT, 0), 1);
	CU_ASSERT_EQUAL(icd_info_u64(&out, CL_DEVICE_PARTITION_PROPERTIES, 1), 0);
	CU_ASSERT_TRUE(icd_info_str(&out, CL_DEVICE_BUILT_IN_KERNELS, s, sizeof(s)));
	CU_ASSERT_STRING_EQUAL(s, "");
	CU_ASSERT_TRUE(icd_info_str(&out, CL_DEVICE_EXTENSIONS, s, sizeof(s)));
	CU_ASSERT_STRING_EQUAL(s, "cl_khr_fp64 cl_khr_int64_base_atomics ");
	e = icd_info_find(&out, CL_DEVICE_OPENCL_C_FEATURES);
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_EQUAL(e->len, sizeof(cl_name_version));
	CU_ASSERT_STRING_EQUAL(((const cl_name_version *)(const void *)e->val)->name,
			       "__opencl_c_fp64");
	/* handles and unknown keys are never passed on */
	CU_ASSERT_PTR_NULL(icd_info_find(&out, CL_DEVICE_PLATFORM));
	CU_ASSERT_PTR_NULL(icd_info_find(&out, 0x4321));
	CU_ASSERT_FALSE(icd_device_key_known(CL_DEVICE_PARENT_DEVICE));
	CU_ASSERT_TRUE(icd_extension_allowed("cl_khr_fp16"));
	CU_ASSERT_FALSE(icd_extension_allowed("cl_khr_gl_sharing"));
	icd_info_free(&out);
	icd_info_free(&server);

	/* a block without a name is not a device */
	{
		struct ent_list l = { .n = 0 };
		static const cl_device_type t = CL_DEVICE_TYPE_CPU;

		ent_add(&l, CL_DEVICE_TYPE, &t, sizeof(t));
		len = icd_info_build(l.e, l.n, g_block, sizeof(g_block));
		CU_ASSERT_FATAL(icd_info_parse(g_block, len, &server) == 0);
		CU_ASSERT_EQUAL(icd_device_answers(&server, &out), -EBADMSG);
		icd_info_free(&server);
	}
}

static void
test_device_queries(void)
{
	cl_device_id d = fake_device(), ids[2];
	cl_platform_id p = NULL;
	cl_uint n = 0;
	cl_bool avail = CL_FALSE;
	char name[64];
	size_t sz = 0;

	CU_ASSERT_EQUAL(icd_clGetDeviceIDs(&g_icd_platform, CL_DEVICE_TYPE_ALL, 2, ids, &n),
			CL_SUCCESS);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_PTR_EQUAL(ids[0], d);
	CU_ASSERT_EQUAL(icd_clGetDeviceIDs(&g_icd_platform, CL_DEVICE_TYPE_CPU, 2, ids, &n),
			CL_DEVICE_NOT_FOUND);
	CU_ASSERT_EQUAL(icd_clGetDeviceIDs(&g_icd_platform, CL_DEVICE_TYPE_ALL, 0, ids, &n),
			CL_INVALID_VALUE);
	CU_ASSERT_EQUAL(icd_clGetDeviceIDs((cl_platform_id)d, CL_DEVICE_TYPE_ALL, 1, ids, &n),
			CL_INVALID_PLATFORM);
	CU_ASSERT_EQUAL(icd_clGetDeviceInfo(d, CL_DEVICE_PLATFORM, sizeof(p), &p, NULL),
			CL_SUCCESS);
	CU_ASSERT_PTR_EQUAL(p, &g_icd_platform);
	CU_ASSERT_EQUAL(icd_clGetDeviceInfo(d, CL_DEVICE_NAME, 0, NULL, &sz), CL_SUCCESS);
	CU_ASSERT_EQUAL(sz, strlen("Test GPU") + 1);
	CU_ASSERT_EQUAL(icd_clGetDeviceInfo(d, CL_DEVICE_NAME, 4, name, NULL), CL_INVALID_VALUE);
	CU_ASSERT_EQUAL(icd_clGetDeviceInfo(d, 0x4321, 4, name, NULL), CL_INVALID_VALUE);
	CU_ASSERT_EQUAL(icd_clGetDeviceInfo(d, CL_DEVICE_AVAILABLE, sizeof(avail), &avail, NULL),
			CL_SUCCESS);
	CU_ASSERT_EQUAL(avail, CL_TRUE);
	CU_ASSERT_EQUAL(icd_clGetDeviceInfo((cl_device_id)&g_icd_platform, CL_DEVICE_NAME,
					    sizeof(name), name, NULL), CL_INVALID_DEVICE);
}

/* ------------------------------------------------------------ objects */

static cl_context
new_context(void)
{
	cl_device_id d = fake_device();
	cl_int err = 1;
	cl_context ctx = icd_clCreateContext(NULL, 1, &d, NULL, NULL, &err);

	CU_ASSERT_EQUAL(err, CL_SUCCESS);
	return ctx;
}

static cl_uint
refs(const void *obj)
{
	return ((const struct icd_obj *)obj)->refs;
}

/* A buffer whose memory on the device is made up here (no device to ask). */
static cl_mem
fake_buffer(cl_context ctx, size_t size, uint64_t dptr)
{
	cl_mem m = calloc(1, sizeof(*m));

	icd_obj_init(&m->o, ICD_MEM);
	m->ctx = ctx;
	icd_context_retain(ctx);
	m->flags = CL_MEM_READ_WRITE;
	m->size = size;
	m->dptr[0] = dptr;
	m->allocated = 1;
	return m;
}

static void
test_object_tracking(void)
{
	cl_device_id d = fake_device();
	uint32_t contexts = icd_obj_count(ICD_CONTEXT), mems = icd_obj_count(ICD_MEM);
	cl_context ctx = new_context();
	cl_command_queue q;
	cl_buffer_region r = { .origin = 256, .size = 512 };
	cl_mem m, sub;
	cl_int err;
	cl_uint n = 0;

	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_CONTEXT), contexts + 1);
	CU_ASSERT_EQUAL(d->contexts, 2); /* ours, and the fake attachment */
	CU_ASSERT_EQUAL(icd_clRetainContext(ctx), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_clGetContextInfo(ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof(n), &n, NULL),
			CL_SUCCESS);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(icd_clReleaseContext(ctx), CL_SUCCESS);

	/* a queue holds its context */
	q = icd_clCreateCommandQueue(ctx, d, CL_QUEUE_PROFILING_ENABLE, &err);
	CU_ASSERT_EQUAL(err, CL_SUCCESS);
	CU_ASSERT_EQUAL(refs(ctx), 2);
	CU_ASSERT_PTR_NULL(icd_clCreateCommandQueue(ctx, d, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE,
						    &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_QUEUE_PROPERTIES);
	CU_ASSERT_PTR_NULL(icd_clCreateCommandQueue((cl_context)q, d, 0, &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_CONTEXT);

	/* a sub-buffer holds its buffer; the buffer its context */
	m = fake_buffer(ctx, 4096, 0x10000);
	CU_ASSERT_EQUAL(refs(ctx), 3);
	sub = icd_clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
	CU_ASSERT_EQUAL(refs(m), 2);
	CU_ASSERT_EQUAL(icd_mem_addr(sub, 0), 0x10000 + 256);
	CU_ASSERT_PTR_EQUAL(icd_mem_root(sub), m);
	r.origin = 64;
	CU_ASSERT_PTR_NULL(icd_clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err));
	CU_ASSERT_EQUAL(err, CL_MISALIGNED_SUB_BUFFER_OFFSET);
	CU_ASSERT_PTR_NULL(icd_clCreateSubBuffer(m, CL_MEM_USE_HOST_PTR,
						 CL_BUFFER_CREATE_TYPE_REGION, &r, &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_VALUE);
	CU_ASSERT_PTR_NULL(icd_clCreateSubBuffer(sub, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_MEM_OBJECT);
	/* the application lets the buffer go first: the sub-buffer keeps it */
	CU_ASSERT_EQUAL(icd_clReleaseMemObject(m), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_MEM), mems + 2);
	CU_ASSERT_EQUAL(icd_clReleaseMemObject(sub), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_MEM), mems);

	/* handles of another type */
	CU_ASSERT_EQUAL(icd_clRetainMemObject((cl_mem)ctx), CL_INVALID_MEM_OBJECT);
	CU_ASSERT_EQUAL(icd_clReleaseCommandQueue((cl_command_queue)ctx), CL_INVALID_COMMAND_QUEUE);
	CU_ASSERT_EQUAL(icd_clRetainEvent((cl_event)q), CL_INVALID_EVENT);
	CU_ASSERT_EQUAL(icd_clRetainKernel(NULL), CL_INVALID_KERNEL);

	/* a buffer on a device with no session: no memory there */
	CU_ASSERT_PTR_NULL(icd_clCreateBuffer(ctx, 0, 64, NULL, &err));
	CU_ASSERT_EQUAL(err, CL_OUT_OF_RESOURCES);
	CU_ASSERT_PTR_NULL(icd_clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, 64, NULL,
					      &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_VALUE);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_MEM), mems);

	CU_ASSERT_EQUAL(icd_clReleaseCommandQueue(q), CL_SUCCESS);
	CU_ASSERT_EQUAL(refs(ctx), 1);
	CU_ASSERT_EQUAL(icd_clReleaseContext(ctx), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_CONTEXT), contexts);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_QUEUE), 0);
	CU_ASSERT_EQUAL(d->contexts, 1);
}

static int g_cb_status = 1;
static int g_cb_count;

static void CL_CALLBACK
on_complete(cl_event ev, cl_int status, void *data)
{
	(void)ev;
	(void)data;
	g_cb_status = status;
	g_cb_count++;
}

static void
test_scheduler(void)
{
	cl_context ctx = new_context();
	cl_device_id d = fake_device();
	cl_command_queue q = icd_clCreateCommandQueue(ctx, d, 0, NULL);
	cl_event user, ev = NULL, ev2 = NULL;
	cl_int err, status = 0;

	user = icd_clCreateUserEvent(ctx, &err);
	CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
	/* held by the user event */
	CU_ASSERT_EQUAL(icd_clEnqueueMarkerWithWaitList(q, 1, &user, &ev), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_clEnqueueBarrierWithWaitList(q, 0, NULL, &ev2), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_clSetEventCallback(ev, CL_COMPLETE, on_complete, NULL), CL_SUCCESS);
	icd_clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL);
	CU_ASSERT_EQUAL(status, CL_QUEUED);
	icd_clGetEventInfo(ev2, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL);
	CU_ASSERT_EQUAL(status, CL_QUEUED); /* in order: behind the first */
	CU_ASSERT_EQUAL(icd_clEnqueueMarkerWithWaitList(q, 1, NULL, NULL),
			CL_INVALID_EVENT_WAIT_LIST);
	CU_ASSERT_EQUAL(icd_clEnqueueMarkerWithWaitList(q, 0, &user, NULL),
			CL_INVALID_EVENT_WAIT_LIST);
	/* failed: what waits on it fails, and what follows in the queue then goes (and
	 * fails too: the device has no session) */
	CU_ASSERT_EQUAL(icd_clSetUserEventStatus(user, -77), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_clSetUserEventStatus(user, CL_COMPLETE), CL_INVALID_OPERATION);
	CU_ASSERT_EQUAL(icd_clWaitForEvents(1, &ev), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	icd_clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL);
	CU_ASSERT_EQUAL(status, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	icd_clGetEventInfo(ev2, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL);
	CU_ASSERT_EQUAL(status, CL_OUT_OF_RESOURCES);
	CU_ASSERT_EQUAL(g_cb_count, 1);
	CU_ASSERT_EQUAL(g_cb_status, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	/* a callback on a finished event is called at once */
	CU_ASSERT_EQUAL(icd_clSetEventCallback(ev2, CL_COMPLETE, on_complete, NULL), CL_SUCCESS);
	CU_ASSERT_EQUAL(g_cb_count, 2);
	CU_ASSERT_EQUAL(icd_clFinish(q), CL_SUCCESS); /* it reports no command's failure */
	icd_clReleaseEvent(ev);
	icd_clReleaseEvent(ev2);
	icd_clReleaseEvent(user);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_EVENT), 0);
	/* the queue is freed with its last event */
	icd_clReleaseCommandQueue(q);
	icd_clReleaseContext(ctx);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_QUEUE), 0);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_CONTEXT), 0);
}

/* ------------------------------------------------------------ arguments */

static void
test_marshalling(void)
{
	struct icd_fn fn = { .name = (char *)"k" };
	struct _cl_program prog;
	struct _cl_kernel k;
	struct icd_cmd cmd;
	cl_context ctx = new_context();
	cl_device_id d = fake_device();
	cl_mem m = fake_buffer(ctx, 8192, 0x40000), nul = NULL;
	uint8_t big[300];
	cl_int v = 7;
	size_t len;
	cl_uint i;

	len = function_block(g_block, sizeof(g_block));
	CU_ASSERT_FATAL(icd_info_parse(g_block, len, &fn.info) == 0);
	memset(&prog, 0, sizeof(prog));
	prog.ctx = ctx;
	memset(&k, 0, sizeof(k));
	icd_obj_init(&k.o, ICD_KERNEL);
	k.prog = &prog;
	k.fns[0] = &fn;
	k.nb_args = 5;
	k.args = calloc(5, sizeof(*k.args));
	for (i = 0; i < 5; i++) {
		icd_arg_classify(&k.args[i], &fn.info, i);
	}
	CU_ASSERT_EQUAL(k.args[0].class, ICD_ARG_MEM);
	CU_ASSERT_EQUAL(k.args[1].class, ICD_ARG_LOCAL);
	CU_ASSERT_EQUAL(k.args[2].class, ICD_ARG_VALUE);
	CU_ASSERT_EQUAL(k.args[2].size_known, 4);
	CU_ASSERT_EQUAL(k.args[3].class, ICD_ARG_VALUE);
	CU_ASSERT_EQUAL(k.args[3].size_known, 0);
	CU_ASSERT_EQUAL(k.args[4].class, ICD_ARG_OPAQUE);

	/* clSetKernelArg's rules */
	CU_ASSERT_EQUAL(icd_arg_set(&k, 5, 4, &v), CL_INVALID_ARG_INDEX);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 0, 4, &m), CL_INVALID_ARG_SIZE);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 0, sizeof(cl_mem), &ctx), CL_INVALID_MEM_OBJECT);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 1, 16, &v), CL_INVALID_ARG_VALUE);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 1, 0, NULL), CL_INVALID_ARG_SIZE);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 2, 8, &v), CL_INVALID_ARG_SIZE);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 2, 4, NULL), CL_INVALID_ARG_VALUE);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 4, 4, &v), CL_INVALID_ARG_VALUE);

	memset(&cmd, 0, sizeof(cmd));
	CU_ASSERT_EQUAL(icd_arg_set(&k, 0, sizeof(cl_mem), &m), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_kernel_marshal(&k, 0, &cmd), CL_INVALID_KERNEL_ARGS);
	free(cmd.values);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 1, 2048, NULL), CL_SUCCESS);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 2, 4, &v), CL_SUCCESS);
	for (i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)i;
	}
	CU_ASSERT_EQUAL(icd_arg_set(&k, 3, sizeof(big), big), CL_SUCCESS); /* any size: unknown */
	k.args[4].set = true; /* an opaque argument cannot be set: pretend, then drop it */
	k.nb_args = 4;
	memset(&cmd, 0, sizeof(cmd));
	CU_ASSERT_EQUAL_FATAL(icd_kernel_marshal(&k, 0, &cmd), CL_SUCCESS);
	CU_ASSERT_EQUAL(cmd.nb_args, 4);
	CU_ASSERT_EQUAL(cmd.args[0].kind, RPCI_ARG_DEVPTR);
	CU_ASSERT_EQUAL(cmd.args[0].value, 0x40000);
	CU_ASSERT_EQUAL(cmd.args[1].kind, RPCI_ARG_LOCAL);
	CU_ASSERT_EQUAL(cmd.args[1].size, 2048);
	CU_ASSERT_EQUAL(cmd.args[2].kind, RPCI_ARG_BYVAL);
	CU_ASSERT_EQUAL(cmd.args[2].size, 4);
	CU_ASSERT_EQUAL(memcmp(cmd.args[2].data, &v, 4), 0);
	CU_ASSERT_EQUAL(cmd.args[3].size, sizeof(big));
	CU_ASSERT_EQUAL(memcmp(cmd.args[3].data, big, sizeof(big)), 0);
	CU_ASSERT_EQUAL(cmd.nb_uses, 1); /* the buffer, held by the command */
	CU_ASSERT_EQUAL(refs(m), 2);
	/* values are copied: changing the kernel's afterwards changes nothing queued */
	v = 8;
	CU_ASSERT_EQUAL(icd_arg_set(&k, 2, 4, &v), CL_SUCCESS);
	CU_ASSERT_EQUAL(*(const cl_int *)cmd.args[2].data, 7);
	icd_mem_release(cmd.uses[0].mem);
	free(cmd.values);

	/* NULL buffer: the end of device memory; limits */
	CU_ASSERT_EQUAL(icd_arg_set(&k, 0, sizeof(cl_mem), &nul), CL_SUCCESS);
	memset(&cmd, 0, sizeof(cmd));
	CU_ASSERT_EQUAL(icd_kernel_marshal(&k, 0, &cmd), CL_SUCCESS);
	CU_ASSERT_EQUAL(cmd.args[0].value, MEM_BYTES);
	CU_ASSERT_EQUAL(cmd.nb_uses, 0);
	free(cmd.values);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 1, 40000, NULL), CL_SUCCESS);
	memset(&cmd, 0, sizeof(cmd));
	CU_ASSERT_EQUAL(icd_kernel_marshal(&k, 0, &cmd), CL_OUT_OF_RESOURCES); /* local */
	free(cmd.values);
	CU_ASSERT_EQUAL(icd_arg_set(&k, 1, 64, NULL), CL_SUCCESS);
	d->max_param = 100;
	memset(&cmd, 0, sizeof(cmd));
	CU_ASSERT_EQUAL(icd_kernel_marshal(&k, 0, &cmd), CL_OUT_OF_RESOURCES); /* values */
	free(cmd.values);
	d->max_param = 1024;

	for (i = 0; i < 5; i++) {
		free(k.args[i].value);
	}
	free(k.args);
	icd_obj_kill(&k.o);
	icd_info_free(&fn.info);
	icd_mem_release(m);
	icd_clReleaseContext(ctx);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_MEM), 0);
	CU_ASSERT_EQUAL(icd_obj_count(ICD_CONTEXT), 0);
}

static void
test_unsupported(void)
{
	cl_context ctx = new_context();
	cl_int err = 0;
	cl_uint n = 9;

	CU_ASSERT_PTR_NULL(icd_clCreateImage(ctx, 0, NULL, NULL, NULL, &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_OPERATION);
	CU_ASSERT_PTR_NULL(icd_clCreateImage(NULL, 0, NULL, NULL, NULL, &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_CONTEXT);
	CU_ASSERT_EQUAL(icd_clGetSupportedImageFormats(ctx, 0, CL_MEM_OBJECT_IMAGE2D, 0, NULL, &n),
			CL_SUCCESS);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(icd_clSVMAlloc(ctx, 0, 64, 0));
	CU_ASSERT_PTR_NULL(icd_clCreateSampler(ctx, CL_FALSE, CL_ADDRESS_NONE, CL_FILTER_NEAREST,
					       &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_OPERATION);
	CU_ASSERT_EQUAL(icd_clRetainSampler(NULL), CL_INVALID_SAMPLER);
	CU_ASSERT_PTR_NULL(icd_clCreateProgramWithIL(ctx, "x", 1, &err));
	CU_ASSERT_EQUAL(err, CL_INVALID_OPERATION);
	CU_ASSERT_PTR_NULL(icd_clLinkProgram(ctx, 0, NULL, NULL, 0, NULL, NULL, NULL, &err));
	CU_ASSERT_EQUAL(err, CL_LINKER_NOT_AVAILABLE);
	icd_clReleaseContext(ctx);
}

int
main(void)
{
	CU_pSuite s;
	unsigned int failures;

	setenv("RPCI_OPENCL_NO_THREAD", "1", 1);
	setenv("RPCI_PROXY", "/nonexistent/rpci-proxy.sock", 1);
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	s = CU_add_suite("opencl_icd", NULL, NULL);
	CU_ADD_TEST(s, test_info_parse);
	CU_ADD_TEST(s, test_info_answers);
	CU_ADD_TEST(s, test_device_queries);
	CU_ADD_TEST(s, test_object_tracking);
	CU_ADD_TEST(s, test_scheduler);
	CU_ADD_TEST(s, test_marshalling);
	CU_ADD_TEST(s, test_unsupported);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return (int)failures;
}
