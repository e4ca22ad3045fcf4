/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * An ordinary OpenCL program (it links the ICD loader, nothing of rpci)
 * that checks the rpci platform call by call: device info, contexts,
 * queues, buffers with every flag, reads, writes, copies, fills, maps,
 * rectangles, sub-buffers, programs from source, options, build errors and
 * binaries, kernels with every kind of argument, NDRanges with offsets in 1
 * to 3 dimensions, events, user events, callbacks, profiling, markers,
 * barriers, reference counts, and the specification's errors for what rpci
 * does not do. One "ok" or "FAIL" line per check; exits with the number of
 * failures (test/integration/opencl-icd.sh runs it).
 *
 * usage: rpci-icd-test            every check
 *        rpci-icd-test --multi    a context of two devices: a buffer moves
 *                                 between them as commands use it
 *        rpci-icd-test --lost     launch kernels until the device is lost;
 *                                 print the error and how long it took
 */

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CL/cl.h>

static int g_fail;
static int g_pass;
static cl_platform_id g_platform;
static cl_device_id g_dev;
static cl_context g_ctx;
static cl_command_queue g_q;

static void
check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok) {
		g_pass++;
	} else {
		g_fail++;
	}
}

/* Check an OpenCL return code. */
#define CHECK_ERR(got, want, what) do { \
		cl_int got_ = (got); \
		check(got_ == (want), "%s: %d (want %d)", (what), (int)got_, (int)(want)); \
	} while (0)

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char g_source[] =
	"typedef struct { float a; int b[5]; char c; double d; } small_t;\n"
	"typedef struct { int v[50]; } big_t;\n"
	"__kernel void fill_ids(__global int *out, int width, int height)\n"
	"{\n"
	"	size_t x = get_global_id(0), y = get_global_id(1), z = get_global_id(2);\n"
	"	out[(z * height + y) * width + x] = (int)(x + 1000 * y + 1000000 * z);\n"
	"}\n"
	"__kernel void scale(__global float *x, float k) { x[get_global_id(0)] *= k * SCALE; }\n"
	"__kernel void args(__global long *out, __constant int *c, __global int *null_ptr,\n"
	"		   char a, short b, int i, long l, float f, double d, float4 v, int3 w,\n"
	"		   small_t s, big_t big, __local int *scratch)\n"
	"{\n"
	"	scratch[get_local_id(0)] = c[1];\n"
	"	barrier(CLK_LOCAL_MEM_FENCE);\n"
	"	out[0] = a; out[1] = b; out[2] = i; out[3] = l; out[4] = (long)(f * 4);\n"
	"	out[5] = (long)(d * 8); out[6] = (long)(v.x + v.y + v.z + v.w);\n"
	"	out[7] = w.x + w.y + w.z; out[8] = (long)s.a + s.b[4] + s.c + (long)s.d;\n"
	"	out[9] = big.v[0] + big.v[49]; out[10] = scratch[0]; out[11] = null_ptr == 0;\n"
	"}\n"
	"__attribute__((reqd_work_group_size(4, 1, 1)))\n"
	"__kernel void fixed(__global int *x) { x[get_global_id(0)] = get_local_size(0); }\n"
	"__kernel void sum_local(__global const int *in, __global int *out, __local int *l)\n"
	"{\n"
	"	size_t i = get_local_id(0), n = get_local_size(0);\n"
	"	l[i] = in[get_global_id(0)];\n"
	"	for (size_t s = n / 2; s > 0; s /= 2) {\n"
	"		barrier(CLK_LOCAL_MEM_FENCE);\n"
	"		if (i < s) l[i] += l[i + s];\n"
	"	}\n"
	"	if (i == 0) out[get_group_id(0)] = l[0];\n"
	"}\n"
	"__kernel void spin(__global int *x, int n)\n"
	"{\n"
	"	int a = x[0];\n"
	"	for (int i = 0; i < n; i++) a = a * 1103515245 + 12345;\n"
	"	x[get_global_id(0) + 1] = a;\n"
	"}\n";

static cl_program
build(const char *src, const char *options, cl_int *err)
{
	cl_program p = clCreateProgramWithSource(g_ctx, 1, &src, NULL, err);

	if (p != NULL) {
		*err = clBuildProgram(p, 1, &g_dev, options, NULL, NULL);
	}
	return p;
}

/* ------------------------------------------------------------ info */

static void
test_platform_device(void)
{
	cl_platform_id plats[8], got;
	cl_device_id other;
	cl_uint n = 0, i;
	char name[256] = "";
	size_t size = 0, wg = 0;
	cl_bool b = CL_TRUE;
	cl_device_type type = 0;
	cl_ulong mem = 0, alloc = 0;
	cl_int err;

	err = clGetPlatformIDs(8, plats, &n);
	for (i = 0; i < n && err == CL_SUCCESS; i++) {
		clGetPlatformInfo(plats[i], CL_PLATFORM_NAME, sizeof(name), name, NULL);
		if (strcmp(name, "rpci") == 0) {
			g_platform = plats[i];
		}
	}
	check(g_platform != NULL, "the rpci platform is listed (%u platforms)", n);
	if (g_platform == NULL) {
		exit(1);
	}
	clGetPlatformInfo(g_platform, CL_PLATFORM_VERSION, sizeof(name), name, NULL);
	check(strncmp(name, "OpenCL 3.0", 10) == 0, "platform version '%s'", name);
	clGetPlatformInfo(g_platform, CL_PLATFORM_EXTENSIONS, sizeof(name), name, NULL);
	check(strstr(name, "cl_khr_icd") != NULL, "platform extensions '%s'", name);
	err = clGetDeviceIDs(g_platform, CL_DEVICE_TYPE_ALL, 1, &g_dev, &n);
	check(err == CL_SUCCESS && n >= 1, "a remote device (%d, %u)", err, n);
	if (err != CL_SUCCESS) {
		exit(1);
	}
	err = clGetDeviceInfo(g_dev, CL_DEVICE_NAME, sizeof(name), name, &size);
	check(err == CL_SUCCESS && size == strlen(name) + 1 && name[0] != '\0',
	      "device name '%s'", name);
	clGetDeviceInfo(g_dev, CL_DEVICE_PLATFORM, sizeof(got), &got, NULL);
	check(got == g_platform, "CL_DEVICE_PLATFORM is the rpci platform");
	clGetDeviceInfo(g_dev, CL_DEVICE_TYPE, sizeof(type), &type, NULL);
	check(type != 0, "device type 0x%llx", (unsigned long long)type);
	clGetDeviceInfo(g_dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(wg), &wg, NULL);
	check(wg >= 1, "max work-group size %zu", wg);
	clGetDeviceInfo(g_dev, CL_DEVICE_IMAGE_SUPPORT, sizeof(b), &b, NULL);
	check(b == CL_FALSE, "no image support");
	b = CL_TRUE;
	clGetDeviceInfo(g_dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof(b), &b, NULL);
	check(b == CL_FALSE, "memory not unified with this host");
	clGetDeviceInfo(g_dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(mem), &mem, NULL);
	clGetDeviceInfo(g_dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(alloc), &alloc, NULL);
	check(mem > 0 && alloc > 0 && alloc <= mem, "memory %llu, max allocation %llu",
	      (unsigned long long)mem, (unsigned long long)alloc);
	CHECK_ERR(clGetDeviceInfo(g_dev, 0x7fff, 4, &n, NULL), CL_INVALID_VALUE,
		  "unknown device query");
	CHECK_ERR(clGetDeviceInfo(g_dev, CL_DEVICE_NAME, 1, name, NULL), CL_INVALID_VALUE,
		  "device query into too small a buffer");
	err = clGetDeviceIDs(g_platform, CL_DEVICE_TYPE_ACCELERATOR, 1, &other, &n);
	check(err == CL_DEVICE_NOT_FOUND || type == CL_DEVICE_TYPE_ACCELERATOR,
	      "no accelerator unless the device is one (%d)", err);
}

/* ------------------------------------------------------------ contexts and queues */

/* What the platform tells the context (a device lost), on stdout. */
static void CL_CALLBACK
context_notify(const char *msg, const void *info, size_t size, void *user)
{
	(void)info;
	(void)size;
	(void)user;
	printf("context: %s\n", msg);
	fflush(stdout);
}

static void
test_context_queue(void)
{
	cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties)g_platform,
					  0 };
	cl_context_properties bad[] = { CL_CONTEXT_PLATFORM, (cl_context_properties)1, 0 };
	cl_context_properties unknown[] = { 0x7777, 1, 0 };
	cl_queue_properties qp[] = { CL_QUEUE_PROPERTIES, CL_QUEUE_ON_DEVICE, 0 };
	cl_command_queue q;
	cl_uint refs = 0, n = 0;
	cl_int err;

	g_ctx = clCreateContext(props, 1, &g_dev, context_notify, NULL, &err);
	check(err == CL_SUCCESS && g_ctx != NULL, "context on the remote device (%d)", err);
	if (g_ctx == NULL) {
		exit(1);
	}
	clCreateContext(bad, 1, &g_dev, NULL, NULL, &err);
	CHECK_ERR(err, CL_INVALID_PLATFORM, "context of another platform");
	clCreateContext(unknown, 1, &g_dev, NULL, NULL, &err);
	CHECK_ERR(err, CL_INVALID_PROPERTY, "context with an unknown property");
	clGetContextInfo(g_ctx, CL_CONTEXT_NUM_DEVICES, sizeof(n), &n, NULL);
	check(n == 1, "context has %u device", n);
	clRetainContext(g_ctx);
	clGetContextInfo(g_ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof(refs), &refs, NULL);
	check(refs == 2, "context retained: %u references", refs);
	clReleaseContext(g_ctx);

	g_q = clCreateCommandQueue(g_ctx, g_dev, CL_QUEUE_PROFILING_ENABLE, &err);
	check(err == CL_SUCCESS && g_q != NULL, "in-order queue with profiling (%d)", err);
	if (g_q == NULL) {
		exit(1);
	}
	q = clCreateCommandQueue(g_ctx, g_dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
	check(q == NULL && err == CL_INVALID_QUEUE_PROPERTIES, "out-of-order queue refused (%d)",
	      err);
	q = clCreateCommandQueueWithProperties(g_ctx, g_dev, qp, &err);
	check(q == NULL && err == CL_INVALID_QUEUE_PROPERTIES, "on-device queue refused (%d)",
	      err);
	q = clCreateCommandQueueWithProperties(g_ctx, g_dev, NULL, &err);
	check(q != NULL && err == CL_SUCCESS, "queue with properties (%d)", err);
	clReleaseCommandQueue(q);
}

/* ------------------------------------------------------------ buffers */

static bool
all_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return memcmp(a, b, n) == 0;
}

static void
test_buffers(void)
{
	enum { N = 4096 };
	static uint8_t host[N], back[N], use[N];
	cl_mem m, s;
	cl_int err;
	size_t i;
	cl_event ev;
	cl_buffer_region r;
	void *p;
	cl_uint count = 9;

	for (i = 0; i < N; i++) {
		host[i] = (uint8_t)(i * 7 + 3);
	}
	m = clCreateBuffer(g_ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, N, host, &err);
	check(err == CL_SUCCESS, "COPY_HOST_PTR buffer (%d)", err);
	memset(back, 0, N);
	err = clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, N, back, 0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(host, back, N), "its content read back (%d)", err);
	memset(back, 0, N);
	err = clEnqueueReadBuffer(g_q, m, CL_FALSE, 100, 1000, back, 0, NULL, &ev);
	err |= clWaitForEvents(1, &ev);
	check(err == CL_SUCCESS && all_equal(host + 100, back, 1000),
	      "non-blocking read at an offset, waited (%d)", err);
	clReleaseEvent(ev);
	err = clEnqueueWriteBuffer(g_q, m, CL_FALSE, 17, 33, host + 500, 0, NULL, NULL);
	err |= clFinish(g_q);
	err |= clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, N, back, 0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(back + 17, host + 500, 33) &&
	      all_equal(back, host, 17) && all_equal(back + 50, host + 50, N - 50),
	      "non-blocking write of 33 bytes at 17 (%d)", err);
	clReleaseMemObject(m);

	/* USE_HOST_PTR: maps are the host pointer */
	memcpy(use, host, N);
	m = clCreateBuffer(g_ctx, CL_MEM_USE_HOST_PTR, N, use, &err);
	check(err == CL_SUCCESS, "USE_HOST_PTR buffer (%d)", err);
	memset(use, 0, N);
	p = clEnqueueMapBuffer(g_q, m, CL_TRUE, CL_MAP_READ, 64, 128, 0, NULL, NULL, &err);
	check(err == CL_SUCCESS && p == use + 64 && all_equal(use + 64, host + 64, 128),
	      "its map is host_ptr + offset, filled (%d)", err);
	clGetMemObjectInfo(m, CL_MEM_MAP_COUNT, sizeof(count), &count, NULL);
	check(count == 1, "map count %u", count);
	err = clEnqueueUnmapMemObject(g_q, m, p, 0, NULL, NULL);
	err |= clFinish(g_q);
	check(err == CL_SUCCESS, "unmapped (%d)", err);
	clReleaseMemObject(m);

	/* ALLOC_HOST_PTR, maps for write and read */
	m = clCreateBuffer(g_ctx, CL_MEM_ALLOC_HOST_PTR, N, NULL, &err);
	check(err == CL_SUCCESS, "ALLOC_HOST_PTR buffer (%d)", err);
	p = clEnqueueMapBuffer(g_q, m, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, N, 0, NULL,
			       NULL, &err);
	if (p != NULL) {
		memcpy(p, host, N);
	}
	err |= clEnqueueUnmapMemObject(g_q, m, p, 0, NULL, NULL);
	p = clEnqueueMapBuffer(g_q, m, CL_TRUE, CL_MAP_READ, 0, N, 0, NULL, NULL, &err);
	check(err == CL_SUCCESS && p != NULL && all_equal(p, host, N),
	      "written through a map, read through another (%d)", err);
	clEnqueueUnmapMemObject(g_q, m, p, 0, NULL, NULL);
	CHECK_ERR(clEnqueueUnmapMemObject(g_q, m, host, 0, NULL, NULL), CL_INVALID_VALUE,
		  "unmap of a pointer never mapped");

	/* sub-buffers */
	r.origin = 1024;
	r.size = 512;
	s = clCreateSubBuffer(m, CL_MEM_READ_ONLY, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	check(err == CL_SUCCESS, "sub-buffer at 1024 (%d)", err);
	memset(back, 0, N);
	err = clEnqueueReadBuffer(g_q, s, CL_TRUE, 0, 512, back, 0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(back, host + 1024, 512), "read through it (%d)",
	      err);
	r.origin = 1;
	clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	CHECK_ERR(err, CL_MISALIGNED_SUB_BUFFER_OFFSET, "sub-buffer at a misaligned origin");
	r.origin = N - 128;
	r.size = 256;
	clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	CHECK_ERR(err, CL_INVALID_VALUE, "sub-buffer past the end");
	clCreateSubBuffer(s, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	CHECK_ERR(err, CL_INVALID_MEM_OBJECT, "sub-buffer of a sub-buffer");
	clReleaseMemObject(s);
	clReleaseMemObject(m);

	/* flags */
	clCreateBuffer(g_ctx, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, N, NULL, &err);
	CHECK_ERR(err, CL_INVALID_VALUE, "READ_ONLY | WRITE_ONLY");
	clCreateBuffer(g_ctx, CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR, N, host, &err);
	CHECK_ERR(err, CL_INVALID_VALUE, "USE_HOST_PTR | COPY_HOST_PTR");
	clCreateBuffer(g_ctx, CL_MEM_COPY_HOST_PTR, N, NULL, &err);
	CHECK_ERR(err, CL_INVALID_HOST_PTR, "COPY_HOST_PTR without a pointer");
	clCreateBuffer(g_ctx, 0, N, host, &err);
	CHECK_ERR(err, CL_INVALID_HOST_PTR, "a pointer without a host flag");
	clCreateBuffer(g_ctx, 0, 0, NULL, &err);
	CHECK_ERR(err, CL_INVALID_BUFFER_SIZE, "size 0");
	clCreateBuffer(g_ctx, 0, (size_t)1 << 62, NULL, &err);
	CHECK_ERR(err, CL_INVALID_BUFFER_SIZE, "larger than CL_DEVICE_MAX_MEM_ALLOC_SIZE");
	m = clCreateBuffer(g_ctx, CL_MEM_HOST_READ_ONLY, N, NULL, &err);
	CHECK_ERR(clEnqueueWriteBuffer(g_q, m, CL_TRUE, 0, N, host, 0, NULL, NULL),
		  CL_INVALID_OPERATION, "write into a HOST_READ_ONLY buffer");
	clReleaseMemObject(m);
	m = clCreateBuffer(g_ctx, CL_MEM_HOST_WRITE_ONLY, N, NULL, &err);
	CHECK_ERR(clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, N, back, 0, NULL, NULL),
		  CL_INVALID_OPERATION, "read of a HOST_WRITE_ONLY buffer");
	CHECK_ERR(clEnqueueReadBuffer(g_q, m, CL_TRUE, N - 10, 20, back, 0, NULL, NULL),
		  CL_INVALID_VALUE, "read past the end");
	clReleaseMemObject(m);
	m = clCreateBuffer(g_ctx, CL_MEM_HOST_NO_ACCESS, N, NULL, &err);
	clEnqueueMapBuffer(g_q, m, CL_TRUE, CL_MAP_READ, 0, N, 0, NULL, NULL, &err);
	CHECK_ERR(err, CL_INVALID_OPERATION, "map of a HOST_NO_ACCESS buffer");
	clReleaseMemObject(m);
}

static void
test_copy_fill(void)
{
	enum { N = 1 << 16 };
	static uint8_t host[N], back[N], want[N];
	static const size_t psizes[] = { 1, 2, 4, 8, 16, 32, 64, 128 };
	uint8_t pattern[128];
	cl_mem a, b;
	cl_int err;
	size_t i, k;

	for (i = 0; i < N; i++) {
		host[i] = (uint8_t)(i * 13 + 1);
	}
	a = clCreateBuffer(g_ctx, CL_MEM_COPY_HOST_PTR, N, host, &err);
	b = clCreateBuffer(g_ctx, 0, N, NULL, &err);
	err = clEnqueueCopyBuffer(g_q, a, b, 256, 512, N / 2, 0, NULL, NULL);
	err |= clEnqueueReadBuffer(g_q, b, CL_TRUE, 512, N / 2, back, 0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(back, host + 256, N / 2), "copy buffer (%d)", err);
	CHECK_ERR(clEnqueueCopyBuffer(g_q, a, a, 0, 100, 200, 0, NULL, NULL), CL_MEM_COPY_OVERLAP,
		  "copy onto itself, overlapping");
	err = clEnqueueCopyBuffer(g_q, a, a, 0, N / 2, N / 2, 0, NULL, NULL);
	err |= clEnqueueReadBuffer(g_q, a, CL_TRUE, N / 2, N / 2, back, 0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(back, host, N / 2),
	      "copy within one buffer, apart (%d)", err);
	for (k = 0; k < sizeof(psizes) / sizeof(psizes[0]); k++) {
		size_t ps = psizes[k], off = ps * 3, len = ps * 100;

		for (i = 0; i < ps; i++) {
			pattern[i] = (uint8_t)(k * 31 + i + 1);
		}
		memcpy(want, host, N);
		for (i = 0; i < len; i++) {
			want[off + i] = pattern[i % ps];
		}
		err = clEnqueueWriteBuffer(g_q, b, CL_FALSE, 0, N, host, 0, NULL, NULL);
		err |= clEnqueueFillBuffer(g_q, b, pattern, ps, off, len, 0, NULL, NULL);
		err |= clEnqueueReadBuffer(g_q, b, CL_TRUE, 0, N, back, 0, NULL, NULL);
		check(err == CL_SUCCESS && all_equal(back, want, N), "fill with a %zu-byte pattern",
		      ps);
	}
	CHECK_ERR(clEnqueueFillBuffer(g_q, b, pattern, 3, 0, 30, 0, NULL, NULL), CL_INVALID_VALUE,
		  "fill with a 3-byte pattern");
	CHECK_ERR(clEnqueueFillBuffer(g_q, b, pattern, 4, 2, 32, 0, NULL, NULL), CL_INVALID_VALUE,
		  "fill at an offset not a multiple of the pattern");
	clReleaseMemObject(a);
	clReleaseMemObject(b);
}

/* A 3-D rectangle copy done on the host, for the reference. */
static void
rect_ref(uint8_t *dst, const size_t *dorig, size_t drp, size_t dsp, const uint8_t *src,
	 const size_t *sorig, size_t srp, size_t ssp, const size_t *region)
{
	size_t y, z;

	for (z = 0; z < region[2]; z++) {
		for (y = 0; y < region[1]; y++) {
			memcpy(dst + (dorig[2] + z) * dsp + (dorig[1] + y) * drp + dorig[0],
			       src + (sorig[2] + z) * ssp + (sorig[1] + y) * srp + sorig[0],
			       region[0]);
		}
	}
}

static void
test_rects(void)
{
	enum { N = 64 * 32 * 8 };
	static uint8_t host[N], dev[N], back[N], want[N];
	const size_t bo[3] = { 5, 3, 1 }, ho[3] = { 2, 1, 2 }, region[3] = { 17, 9, 3 };
	const size_t brp = 64, bsp = 64 * 32, hrp = 40, hsp = 40 * 20;
	const size_t so[3] = { 1, 2, 0 }, dorig[3] = { 30, 0, 4 };
	cl_mem m, m2;
	cl_int err;
	size_t i;

	for (i = 0; i < N; i++) {
		host[i] = (uint8_t)(i * 5 + 11);
		dev[i] = (uint8_t)(i * 3 + 7);
	}
	m = clCreateBuffer(g_ctx, CL_MEM_COPY_HOST_PTR, N, dev, &err);
	err = clEnqueueWriteBufferRect(g_q, m, CL_TRUE, bo, ho, region, brp, bsp, hrp, hsp, host,
				       0, NULL, NULL);
	memcpy(want, dev, N);
	rect_ref(want, bo, brp, bsp, host, ho, hrp, hsp, region);
	err |= clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, N, back, 0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(back, want, N), "write a 3-D rectangle (%d)", err);
	memcpy(back, host, N);
	memcpy(want, host, N);
	/* the buffer's rectangle holds what was written from the host's */
	rect_ref(want, ho, hrp, hsp, host, ho, hrp, hsp, region);
	err = clEnqueueReadBufferRect(g_q, m, CL_TRUE, bo, ho, region, brp, bsp, hrp, hsp, back,
				      0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(back, want, N), "read it back as a rectangle (%d)",
	      err);
	m2 = clCreateBuffer(g_ctx, CL_MEM_COPY_HOST_PTR, N, host, &err);
	err = clEnqueueCopyBufferRect(g_q, m, m2, so, dorig, region, 48, 48 * 16, 64, 64 * 10,
				      0, NULL, NULL);
	clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, N, dev, 0, NULL, NULL);
	memcpy(want, host, N);
	rect_ref(want, dorig, 64, 64 * 10, dev, so, 48, 48 * 16, region);
	err |= clEnqueueReadBuffer(g_q, m2, CL_TRUE, 0, N, back, 0, NULL, NULL);
	check(err == CL_SUCCESS && all_equal(back, want, N), "copy a rectangle (%d)", err);
	CHECK_ERR(clEnqueueReadBufferRect(g_q, m, CL_TRUE, bo, ho, region, 8, 0, 0, 0, back, 0,
					  NULL, NULL), CL_INVALID_VALUE,
		  "row pitch smaller than the row");
	clReleaseMemObject(m);
	clReleaseMemObject(m2);
}

/* Larger than one transfer command (64 MiB): a write and a read in parts. */
static void
test_large(void)
{
	size_t n = (80u << 20);
	uint8_t *a = malloc(n), *b = malloc(n);
	cl_ulong alloc = 0;
	cl_mem m;
	cl_int err;
	size_t i;
	double t0;

	clGetDeviceInfo(g_dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(alloc), &alloc, NULL);
	if (alloc < n) {
		n = alloc;
	}
	for (i = 0; i < n; i += 4096) {
		a[i] = (uint8_t)(i >> 12);
	}
	m = clCreateBuffer(g_ctx, 0, n, NULL, &err);
	t0 = now_ms();
	err |= clEnqueueWriteBuffer(g_q, m, CL_TRUE, 0, n, a, 0, NULL, NULL);
	memset(b, 0, n);
	err |= clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, n, b, 0, NULL, NULL);
	check(err == CL_SUCCESS && memcmp(a, b, n) == 0, "%zu MiB written and read back (%.0f ms)",
	      n >> 20, now_ms() - t0);
	clReleaseMemObject(m);
	free(a);
	free(b);
}

/* ------------------------------------------------------------ programs and kernels */

static cl_program g_prog;

static void
test_programs(void)
{
	const char *broken = "__kernel void k(__global int *x) { x[0] = undeclared_thing; }";
	cl_build_status status = CL_BUILD_NONE;
	char log[8192] = "", names[512] = "";
	size_t nk = 0, bin_size = 0;
	unsigned char *bin;
	cl_program p;
	cl_kernel ks[8], k;
	cl_uint n = 0, i;
	cl_int err, bst = 1;

	g_prog = build(g_source, "-DSCALE=3 -cl-mad-enable", &err);
	check(err == CL_SUCCESS, "build with options (%d)", err);
	if (err != CL_SUCCESS) {
		clGetProgramBuildInfo(g_prog, g_dev, CL_PROGRAM_BUILD_LOG, sizeof(log), log, NULL);
		printf("%s\n", log);
		exit(1);
	}
	clGetProgramBuildInfo(g_prog, g_dev, CL_PROGRAM_BUILD_STATUS, sizeof(status), &status,
			      NULL);
	check(status == CL_BUILD_SUCCESS, "build status");
	clGetProgramBuildInfo(g_prog, g_dev, CL_PROGRAM_BUILD_OPTIONS, sizeof(log), log, NULL);
	check(strcmp(log, "-DSCALE=3 -cl-mad-enable") == 0, "build options '%s'", log);
	clGetProgramInfo(g_prog, CL_PROGRAM_NUM_KERNELS, sizeof(nk), &nk, NULL);
	clGetProgramInfo(g_prog, CL_PROGRAM_KERNEL_NAMES, sizeof(names), names, NULL);
	check(nk == 6 && strstr(names, "sum_local") != NULL, "%zu kernels: %s", nk, names);
	err = clCreateKernelsInProgram(g_prog, 8, ks, &n);
	check(err == CL_SUCCESS && n == 6, "create every kernel (%d, %u)", err, n);
	for (i = 0; i < n && err == CL_SUCCESS; i++) {
		clReleaseKernel(ks[i]);
	}
	clCreateKernel(g_prog, "no_such_kernel", &err);
	CHECK_ERR(err, CL_INVALID_KERNEL_NAME, "unknown kernel name");

	p = build(broken, NULL, &err);
	CHECK_ERR(err, CL_BUILD_PROGRAM_FAILURE, "a build error is the server's code");
	clGetProgramBuildInfo(p, g_dev, CL_PROGRAM_BUILD_LOG, sizeof(log), log, NULL);
	check(strstr(log, "undeclared_thing") != NULL, "the real build log comes back (%.60s)",
	      log);
	clGetProgramBuildInfo(p, g_dev, CL_PROGRAM_BUILD_STATUS, sizeof(status), &status, NULL);
	check(status == CL_BUILD_ERROR, "build status error");
	clCreateKernel(p, "k", &err);
	CHECK_ERR(err, CL_INVALID_PROGRAM_EXECUTABLE, "kernel of a failed build");
	clReleaseProgram(p);
	p = build("__kernel void k(__global int *x) { }", "-cl-no-such-option", &err);
	check(err == CL_INVALID_BUILD_OPTIONS || err == CL_BUILD_PROGRAM_FAILURE,
	      "bad build option: the server's code (%d)", err);
	clReleaseProgram(p);

	/* binaries: read back, built again, run */
	clGetProgramInfo(g_prog, CL_PROGRAM_BINARY_SIZES, sizeof(bin_size), &bin_size, NULL);
	check(bin_size > 0, "binary of %zu bytes", bin_size);
	bin = malloc(bin_size ? bin_size : 1);
	err = clGetProgramInfo(g_prog, CL_PROGRAM_BINARIES, sizeof(bin), &bin, NULL);
	p = clCreateProgramWithBinary(g_ctx, 1, &g_dev, &bin_size, (const unsigned char **)&bin,
				      &bst, &err);
	check(err == CL_SUCCESS && bst == CL_SUCCESS, "program from the binary (%d)", err);
	err = clBuildProgram(p, 0, NULL, NULL, NULL, NULL);
	k = clCreateKernel(p, "fill_ids", &err);
	check(err == CL_SUCCESS && k != NULL, "its kernel (%d)", err);
	clReleaseKernel(k);
	clReleaseProgram(p);
	memset(bin, 0x5a, bin_size > 64 ? 64 : bin_size);
	p = clCreateProgramWithBinary(g_ctx, 1, &g_dev, &bin_size, (const unsigned char **)&bin,
				      &bst, &err);
	err = clBuildProgram(p, 0, NULL, NULL, NULL, NULL);
	check(err != CL_SUCCESS, "a corrupt binary does not build (%d)", err);
	clReleaseProgram(p);
	free(bin);
}

static void
test_kernel_args(void)
{
	struct {
		float a;
		int b[5];
		char c;
		double d;
	} s = { 1.5f, { 0, 0, 0, 0, 40 }, 7, 100.0 };
	struct {
		int v[50];
	} big;
	cl_long out[12] = { 0 };
	cl_int c[4] = { 5, 42, 6, 7 };
	cl_char a = -3;
	cl_short b = 300;
	cl_int i = -70000;
	cl_long l = 1ll << 40;
	cl_float f = 2.25f;
	cl_double d = 1.125;
	cl_float4 v = { { 1, 2, 3, 4 } };
	cl_int3 w = { { 10, 20, 30 } };
	cl_mem mo, mc, nul = NULL;
	cl_kernel k;
	cl_int err;
	cl_uint nargs = 0;
	char name[64] = "";
	cl_kernel_arg_address_qualifier aq = 0;
	size_t wg = 0, one = 1;

	memset(&big, 0, sizeof(big));
	big.v[0] = 1000;
	big.v[49] = 2000;
	k = clCreateKernel(g_prog, "args", &err);
	mo = clCreateBuffer(g_ctx, 0, sizeof(out), NULL, &err);
	mc = clCreateBuffer(g_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof(c), c, &err);
	err = clSetKernelArg(k, 0, sizeof(cl_mem), &mo);
	err |= clSetKernelArg(k, 1, sizeof(cl_mem), &mc);
	err |= clSetKernelArg(k, 2, sizeof(cl_mem), &nul);
	err |= clSetKernelArg(k, 3, sizeof(a), &a);
	err |= clSetKernelArg(k, 4, sizeof(b), &b);
	err |= clSetKernelArg(k, 5, sizeof(i), &i);
	err |= clSetKernelArg(k, 6, sizeof(l), &l);
	err |= clSetKernelArg(k, 7, sizeof(f), &f);
	err |= clSetKernelArg(k, 8, sizeof(d), &d);
	err |= clSetKernelArg(k, 9, sizeof(v), &v);
	err |= clSetKernelArg(k, 10, sizeof(w), &w);
	err |= clSetKernelArg(k, 11, sizeof(s), &s);
	err |= clSetKernelArg(k, 12, sizeof(big), &big);
	check(err == CL_SUCCESS, "every kind of argument set (%d)", err);
	CHECK_ERR(clEnqueueTask(g_q, k, 0, NULL, NULL), CL_INVALID_KERNEL_ARGS,
		  "launch with an argument not set");
	err = clSetKernelArg(k, 13, 64 * sizeof(int), NULL);
	err |= clEnqueueNDRangeKernel(g_q, k, 1, NULL, &one, &one, 0, NULL, NULL);
	err |= clEnqueueReadBuffer(g_q, mo, CL_TRUE, 0, sizeof(out), out, 0, NULL, NULL);
	check(err == CL_SUCCESS && out[0] == -3 && out[1] == 300 && out[2] == -70000 &&
	      out[3] == (1ll << 40) && out[4] == 9 && out[5] == 9 && out[6] == 10 &&
	      out[7] == 60 && out[8] == 1 + 40 + 7 + 100 && out[9] == 3000 && out[10] == 42 &&
	      out[11] == 1,
	      "scalars, vectors, structs of 40 and 200 bytes, __constant, NULL and __local "
	      "arrive (%d: %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld)", err,
	      (long long)out[0], (long long)out[1], (long long)out[2], (long long)out[3],
	      (long long)out[4], (long long)out[5], (long long)out[6], (long long)out[7],
	      (long long)out[8], (long long)out[9], (long long)out[10], (long long)out[11]);
	CHECK_ERR(clSetKernelArg(k, 14, sizeof(i), &i), CL_INVALID_ARG_INDEX, "argument 14");
	CHECK_ERR(clSetKernelArg(k, 5, 2, &i), CL_INVALID_ARG_SIZE, "an int of 2 bytes");
	CHECK_ERR(clSetKernelArg(k, 0, 4, &mo), CL_INVALID_ARG_SIZE, "a buffer of 4 bytes");
	CHECK_ERR(clSetKernelArg(k, 13, 16, &i), CL_INVALID_ARG_VALUE, "__local with a value");
	CHECK_ERR(clSetKernelArg(k, 13, 0, NULL), CL_INVALID_ARG_SIZE, "__local of 0 bytes");
	CHECK_ERR(clSetKernelArg(k, 5, sizeof(i), NULL), CL_INVALID_ARG_VALUE, "no value");
	clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof(nargs), &nargs, NULL);
	check(nargs == 14, "kernel info: %u arguments", nargs);
	clGetKernelArgInfo(k, 9, CL_KERNEL_ARG_NAME, sizeof(name), name, NULL);
	clGetKernelArgInfo(k, 1, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof(aq), &aq, NULL);
	check(strcmp(name, "v") == 0 && aq == CL_KERNEL_ARG_ADDRESS_CONSTANT,
	      "argument info: '%s', qualifier 0x%x", name, aq);
	clGetKernelArgInfo(k, 9, CL_KERNEL_ARG_TYPE_NAME, sizeof(name), name, NULL);
	check(strcmp(name, "float4") == 0, "argument type '%s'", name);
	clGetKernelWorkGroupInfo(k, g_dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof(wg), &wg, NULL);
	check(wg >= 1, "work-group info: %zu", wg);
	clReleaseMemObject(mo);
	clReleaseMemObject(mc);
	clReleaseKernel(k);
}

/* NDRanges with offsets, in 1, 2 and 3 dimensions. */
static void
test_ndrange(void)
{
	enum { W = 20, H = 12, D = 6 };
	static cl_int out[W * H * D];
	const size_t off[3] = { 4, 2, 1 }, global[3] = { 12, 8, 4 }, local[3] = { 4, 2, 2 };
	cl_int width = W, height = H, x;
	cl_kernel k = clCreateKernel(g_prog, "fill_ids", NULL);
	cl_mem m = clCreateBuffer(g_ctx, 0, sizeof(out), NULL, NULL);
	cl_uint dims;
	cl_int err;
	size_t xx, yy, zz, big[3];
	bool ok;

	clSetKernelArg(k, 0, sizeof(m), &m);
	clSetKernelArg(k, 1, sizeof(width), &width);
	clSetKernelArg(k, 2, sizeof(height), &height);
	for (dims = 1; dims <= 3; dims++) {
		x = -1;
		clEnqueueFillBuffer(g_q, m, &x, sizeof(x), 0, sizeof(out), 0, NULL, NULL);
		err = clEnqueueNDRangeKernel(g_q, k, dims, off, global, dims == 2 ? NULL : local,
					     0, NULL, NULL);
		err |= clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, sizeof(out), out, 0, NULL, NULL);
		ok = err == CL_SUCCESS;
		for (zz = 0; zz < D && ok; zz++) {
			for (yy = 0; yy < H && ok; yy++) {
				for (xx = 0; xx < W && ok; xx++) {
					bool in = xx >= off[0] && xx < off[0] + global[0] &&
						  (dims < 2 ? yy == 0 : yy >= off[1] &&
						   yy < off[1] + global[1]) &&
						  (dims < 3 ? zz == 0 : zz >= off[2] &&
						   zz < off[2] + global[2]);
					cl_int want = in ? (cl_int)(xx + 1000 * yy + 1000000 * zz) :
						-1;

					ok = out[(zz * H + yy) * W + xx] == want;
				}
			}
		}
		check(ok, "%u-D NDRange with an offset%s (%d)", dims,
		      dims == 2 ? ", no local size" : "", err);
	}
	CHECK_ERR(clEnqueueNDRangeKernel(g_q, k, 4, NULL, global, NULL, 0, NULL, NULL),
		  CL_INVALID_WORK_DIMENSION, "4 dimensions");
	big[0] = 5;
	CHECK_ERR(clEnqueueNDRangeKernel(g_q, k, 1, NULL, global, big, 0, NULL, NULL),
		  CL_INVALID_WORK_GROUP_SIZE, "a work-group size that does not divide");
	big[0] = (size_t)1 << 40;
	CHECK_ERR(clEnqueueNDRangeKernel(g_q, k, 1, NULL, big, big, 0, NULL, NULL),
		  CL_INVALID_WORK_ITEM_SIZE, "more work items than the device takes");
	clReleaseKernel(k);
	k = clCreateKernel(g_prog, "fixed", NULL);
	clSetKernelArg(k, 0, sizeof(m), &m);
	big[0] = 8;
	CHECK_ERR(clEnqueueNDRangeKernel(g_q, k, 1, NULL, global, big, 0, NULL, NULL),
		  CL_INVALID_WORK_GROUP_SIZE, "not the required work-group size");
	big[0] = 4;
	err = clEnqueueNDRangeKernel(g_q, k, 1, NULL, global, big, 0, NULL, NULL);
	err |= clEnqueueReadBuffer(g_q, m, CL_TRUE, 0, sizeof(cl_int), &x, 0, NULL, NULL);
	check(err == CL_SUCCESS && x == 4, "the required work-group size (%d, %d)", err, x);
	clReleaseKernel(k);
	clReleaseMemObject(m);
}

/* A reduction with local memory, against the host's sum. */
static void
test_local_reduction(void)
{
	enum { N = 1 << 14, L = 128 };
	static cl_int in[N], out[N / L];
	cl_kernel k = clCreateKernel(g_prog, "sum_local", NULL);
	cl_mem mi = clCreateBuffer(g_ctx, CL_MEM_COPY_HOST_PTR, sizeof(in), in, NULL);
	cl_mem mo = clCreateBuffer(g_ctx, 0, sizeof(out), NULL, NULL);
	size_t global = N, local = L, i;
	long want = 0, got = 0;
	cl_int err;

	for (i = 0; i < N; i++) {
		in[i] = (cl_int)(i % 97) - 40;
		want += in[i];
	}
	clEnqueueWriteBuffer(g_q, mi, CL_TRUE, 0, sizeof(in), in, 0, NULL, NULL);
	clSetKernelArg(k, 0, sizeof(mi), &mi);
	clSetKernelArg(k, 1, sizeof(mo), &mo);
	clSetKernelArg(k, 2, L * sizeof(cl_int), NULL);
	err = clEnqueueNDRangeKernel(g_q, k, 1, NULL, &global, &local, 0, NULL, NULL);
	err |= clEnqueueReadBuffer(g_q, mo, CL_TRUE, 0, sizeof(out), out, 0, NULL, NULL);
	for (i = 0; i < N / L; i++) {
		got += out[i];
	}
	check(err == CL_SUCCESS && got == want, "reduction in local memory: %ld (%ld)", got,
	      want);
	clReleaseKernel(k);
	clReleaseMemObject(mi);
	clReleaseMemObject(mo);
}

/* ------------------------------------------------------------ events */

static int g_cb_calls[3];

static void CL_CALLBACK
on_event(cl_event ev, cl_int status, void *data)
{
	(void)ev;
	if (status == CL_COMPLETE || status == CL_RUNNING || status == CL_SUBMITTED) {
		__atomic_fetch_add(&g_cb_calls[(intptr_t)data], 1, __ATOMIC_SEQ_CST);
	}
}

static void
test_events(void)
{
	cl_ulong t[4] = { 0, 0, 0, 0 };
	cl_int x = 0, status = 1, err, one = 1;
	cl_event user, e1, e2, marker;
	cl_command_type type = 0;
	cl_command_queue q2, eq = NULL;
	cl_mem m = clCreateBuffer(g_ctx, 0, 64, NULL, NULL);
	cl_kernel k = clCreateKernel(g_prog, "spin", NULL);
	size_t gsz = 1;
	double t0;
	int i;

	/* a user event holds a write back until it is set */
	user = clCreateUserEvent(g_ctx, &err);
	x = 0;
	clEnqueueWriteBuffer(g_q, m, CL_TRUE, 0, sizeof(x), &x, 0, NULL, NULL);
	x = 1234;
	err = clEnqueueWriteBuffer(g_q, m, CL_FALSE, 0, sizeof(x), &x, 1, &user, &e1);
	clSetEventCallback(e1, CL_SUBMITTED, on_event, (void *)0);
	clSetEventCallback(e1, CL_RUNNING, on_event, (void *)1);
	clSetEventCallback(e1, CL_COMPLETE, on_event, (void *)2);
	clGetEventInfo(e1, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL);
	check(err == CL_SUCCESS && status == CL_QUEUED, "a command waits on a user event (%d)",
	      status);
	clGetEventInfo(e1, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL);
	clGetEventInfo(e1, CL_EVENT_COMMAND_QUEUE, sizeof(eq), &eq, NULL);
	check(type == CL_COMMAND_WRITE_BUFFER && eq == g_q, "event info: type, queue");
	clFlush(g_q);
	CHECK_ERR(clSetUserEventStatus(user, CL_COMPLETE), CL_SUCCESS, "user event set");
	CHECK_ERR(clSetUserEventStatus(user, CL_COMPLETE), CL_INVALID_OPERATION,
		  "user event set twice");
	err = clWaitForEvents(1, &e1);
	for (i = 0; i < 200 && g_cb_calls[2] == 0; i++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	check(err == CL_SUCCESS && g_cb_calls[0] == 1 && g_cb_calls[1] == 1 && g_cb_calls[2] == 1,
	      "callbacks of SUBMITTED, RUNNING, COMPLETE (%d %d %d)", g_cb_calls[0],
	      g_cb_calls[1], g_cb_calls[2]);
	clGetEventProfilingInfo(e1, CL_PROFILING_COMMAND_QUEUED, 8, &t[0], NULL);
	clGetEventProfilingInfo(e1, CL_PROFILING_COMMAND_SUBMIT, 8, &t[1], NULL);
	clGetEventProfilingInfo(e1, CL_PROFILING_COMMAND_START, 8, &t[2], NULL);
	clGetEventProfilingInfo(e1, CL_PROFILING_COMMAND_END, 8, &t[3], NULL);
	check(t[0] > 0 && t[0] <= t[1] && t[1] <= t[2] && t[2] <= t[3],
	      "profiling: queued <= submit <= start <= end (%llu %llu %llu)",
	      (unsigned long long)(t[1] - t[0]), (unsigned long long)(t[2] - t[1]),
	      (unsigned long long)(t[3] - t[2]));
	CHECK_ERR(clGetEventProfilingInfo(user, CL_PROFILING_COMMAND_END, 8, &t[0], NULL),
		  CL_PROFILING_INFO_NOT_AVAILABLE, "no profiling of a user event");
	clReleaseEvent(e1);
	clReleaseEvent(user);

	/* a user event set to an error fails what waits on it */
	user = clCreateUserEvent(g_ctx, &err);
	clEnqueueWriteBuffer(g_q, m, CL_FALSE, 0, sizeof(x), &x, 1, &user, &e1);
	clSetUserEventStatus(user, -1234);
	err = clWaitForEvents(1, &e1);
	clGetEventInfo(e1, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL);
	check(err == CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST && status < 0,
	      "a failed user event fails its waiter (%d, status %d)", err, status);
	clReleaseEvent(e1);
	clReleaseEvent(user);

	/* two queues: the second waits on the first's kernel */
	q2 = clCreateCommandQueue(g_ctx, g_dev, 0, &err);
	x = 7;
	clEnqueueWriteBuffer(g_q, m, CL_TRUE, 0, sizeof(x), &x, 0, NULL, NULL);
	clSetKernelArg(k, 0, sizeof(m), &m);
	one = 2000000;
	clSetKernelArg(k, 1, sizeof(one), &one);
	err = clEnqueueNDRangeKernel(g_q, k, 1, NULL, &gsz, NULL, 0, NULL, &e1);
	err |= clEnqueueReadBuffer(q2, m, CL_FALSE, 4, sizeof(x), &x, 1, &e1, &e2);
	err |= clEnqueueMarkerWithWaitList(q2, 1, &e2, &marker);
	x = 0;
	err |= clWaitForEvents(1, &marker);
	check(err == CL_SUCCESS && x != 0, "a second queue waits on the first's kernel (%d, %d)",
	      err, x);
	clGetEventInfo(marker, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL);
	check(type == CL_COMMAND_MARKER, "marker event");
	clReleaseEvent(e1);
	clReleaseEvent(e2);
	clReleaseEvent(marker);
	err = clEnqueueBarrierWithWaitList(q2, 0, NULL, &e1);
	err |= clEnqueueMarker(q2, &e2);
	err |= clEnqueueBarrier(q2);
	err |= clEnqueueWaitForEvents(q2, 1, &e2);
	err |= clFinish(q2);
	check(err == CL_SUCCESS, "barriers and 1.1 markers (%d)", err);
	clReleaseEvent(e1);
	clReleaseEvent(e2);
	clReleaseCommandQueue(q2);

	/* a blocked kernel: clFinish waits, and nothing hangs */
	t0 = now_ms();
	for (i = 0; i < 20; i++) {
		clEnqueueNDRangeKernel(g_q, k, 1, NULL, &gsz, NULL, 0, NULL, NULL);
	}
	err = clFinish(g_q);
	check(err == CL_SUCCESS, "20 kernels queued, finished (%.0f ms)", now_ms() - t0);
	CHECK_ERR(clWaitForEvents(0, NULL), CL_INVALID_VALUE, "wait for no event");
	clReleaseKernel(k);
	clReleaseMemObject(m);
}

/* ------------------------------------------------------------ references */

static void
test_references(void)
{
	cl_mem m = clCreateBuffer(g_ctx, 0, 64, NULL, NULL);
	cl_kernel k = clCreateKernel(g_prog, "scale", NULL);
	cl_event ev;
	cl_uint r1 = 0, r2 = 0;

	clRetainMemObject(m);
	clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof(r1), &r1, NULL);
	clReleaseMemObject(m);
	clRetainKernel(k);
	clGetKernelInfo(k, CL_KERNEL_REFERENCE_COUNT, sizeof(r2), &r2, NULL);
	clReleaseKernel(k);
	check(r1 == 2 && r2 == 2, "retain counts of a buffer and a kernel (%u, %u)", r1, r2);
	clEnqueueMarkerWithWaitList(g_q, 0, NULL, &ev);
	clRetainEvent(ev);
	clGetEventInfo(ev, CL_EVENT_REFERENCE_COUNT, sizeof(r1), &r1, NULL);
	check(r1 >= 2, "retain count of an event (%u)", r1);
	clReleaseEvent(ev);
	clReleaseEvent(ev);
	clRetainCommandQueue(g_q);
	clGetCommandQueueInfo(g_q, CL_QUEUE_REFERENCE_COUNT, sizeof(r1), &r1, NULL);
	clReleaseCommandQueue(g_q);
	clRetainProgram(g_prog);
	clGetProgramInfo(g_prog, CL_PROGRAM_REFERENCE_COUNT, sizeof(r2), &r2, NULL);
	clReleaseProgram(g_prog);
	check(r1 >= 2 && r2 >= 2, "retain counts of a queue and a program (%u, %u)", r1, r2);
	/* a buffer released while a command uses it lives until it is done */
	clSetKernelArg(k, 0, sizeof(m), &m);
	clReleaseMemObject(m);
	clReleaseKernel(k);
	check(clFinish(g_q) == CL_SUCCESS, "objects released early, queue finished");
}

/* ------------------------------------------------------------ not offered */

static void
test_unsupported(void)
{
	cl_image_format fmt = { CL_RGBA, CL_UNORM_INT8 };
	cl_image_desc desc = { .image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = 4,
			       .image_height = 4 };
	cl_device_partition_property part[] = { CL_DEVICE_PARTITION_EQUALLY, 1, 0 };
	cl_uint n = 9;
	cl_device_id sub;
	cl_ulong t1, t2;
	cl_int err;
	size_t one = 1;
	const char *src = "";

	clCreateImage(g_ctx, 0, &fmt, &desc, NULL, &err);
	CHECK_ERR(err, CL_INVALID_OPERATION, "clCreateImage");
	CHECK_ERR(clGetSupportedImageFormats(g_ctx, 0, CL_MEM_OBJECT_IMAGE2D, 0, NULL, &n),
		  CL_SUCCESS, "clGetSupportedImageFormats");
	check(n == 0, "no image format");
	clCreateSampler(g_ctx, CL_FALSE, CL_ADDRESS_NONE, CL_FILTER_NEAREST, &err);
	CHECK_ERR(err, CL_INVALID_OPERATION, "clCreateSampler");
	CHECK_ERR(clEnqueueReadImage(g_q, NULL, CL_TRUE, &one, &one, 0, 0, &n, 0, NULL, NULL),
		  CL_INVALID_OPERATION, "clEnqueueReadImage");
	check(clSVMAlloc(g_ctx, CL_MEM_READ_WRITE, 64, 0) == NULL, "clSVMAlloc gives nothing");
	clCreatePipe(g_ctx, 0, 4, 4, NULL, &err);
	CHECK_ERR(err, CL_INVALID_OPERATION, "clCreatePipe");
	CHECK_ERR(clEnqueueNativeKernel(g_q, NULL, NULL, 0, 0, NULL, NULL, 0, NULL, NULL),
		  CL_INVALID_OPERATION, "clEnqueueNativeKernel");
	CHECK_ERR(clCreateSubDevices(g_dev, part, 1, &sub, &n), CL_INVALID_VALUE,
		  "clCreateSubDevices");
	clCreateProgramWithIL(g_ctx, "x", 1, &err);
	CHECK_ERR(err, CL_INVALID_OPERATION, "clCreateProgramWithIL");
	clCreateProgramWithBuiltInKernels(g_ctx, 1, &g_dev, "pocl.add.i8", &err);
	CHECK_ERR(err, CL_INVALID_VALUE, "clCreateProgramWithBuiltInKernels");
	CHECK_ERR(clCompileProgram(g_prog, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
		  CL_INVALID_OPERATION, "clCompileProgram");
	clLinkProgram(g_ctx, 0, NULL, NULL, 1, &g_prog, NULL, NULL, &err);
	CHECK_ERR(err, CL_LINKER_NOT_AVAILABLE, "clLinkProgram");
	CHECK_ERR(clGetDeviceAndHostTimer(g_dev, &t1, &t2), CL_INVALID_OPERATION,
		  "clGetDeviceAndHostTimer");
	CHECK_ERR(clSetProgramSpecializationConstant(g_prog, 0, 4, &n), CL_INVALID_OPERATION,
		  "clSetProgramSpecializationConstant");
	(void)src;
}

/* ------------------------------------------------------------ a lost device */

static int
lost(void)
{
	cl_kernel k = clCreateKernel(g_prog, "spin", NULL);
	cl_mem m = clCreateBuffer(g_ctx, 0, 64, NULL, NULL);
	cl_int n = 20000000, err = CL_SUCCESS;
	size_t one = 1;
	double t_fail = 0;
	int launches = 0;

	clSetKernelArg(k, 0, sizeof(m), &m);
	clSetKernelArg(k, 1, sizeof(n), &n);
	printf("running\n");
	fflush(stdout);
	while (err == CL_SUCCESS && launches < 100000) {
		err = clEnqueueNDRangeKernel(g_q, k, 1, NULL, &one, NULL, 0, NULL, NULL);
		if (err == CL_SUCCESS) {
			err = clFinish(g_q);
		}
		launches++;
	}
	t_fail = now_ms();
	printf("error %d after %d launches\n", err, launches);
	/* every call now fails at once */
	err = clEnqueueWriteBuffer(g_q, m, CL_TRUE, 0, sizeof(n), &n, 0, NULL, NULL);
	printf("then a write: %d (%.0f ms)\n", err, now_ms() - t_fail);
	return err == CL_OUT_OF_RESOURCES || err == CL_DEVICE_NOT_AVAILABLE ? 0 : 1;
}

/* ------------------------------------------------------------ two devices */

static int
multi(void)
{
	enum { N = 1 << 16 };
	static float host[N], back[N];
	cl_device_id devs[2];
	cl_command_queue q[2];
	cl_context ctx;
	cl_program p;
	cl_kernel k;
	cl_mem m;
	cl_uint n = 0;
	cl_float two = 2.0f;
	size_t global = N, i;
	cl_int err;
	bool ok = true;
	const char *src = "__kernel void scale(__global float *x, float k) "
			  "{ x[get_global_id(0)] *= k; }";

	err = clGetDeviceIDs(g_platform, CL_DEVICE_TYPE_ALL, 2, devs, &n);
	check(err == CL_SUCCESS && n == 2, "two remote devices (%d, %u)", err, n);
	if (n < 2) {
		return 1;
	}
	ctx = clCreateContext(NULL, 2, devs, NULL, NULL, &err);
	check(err == CL_SUCCESS, "a context of both (%d)", err);
	q[0] = clCreateCommandQueue(ctx, devs[0], 0, &err);
	q[1] = clCreateCommandQueue(ctx, devs[1], 0, &err);
	p = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
	err = clBuildProgram(p, 0, NULL, NULL, NULL, NULL);
	check(err == CL_SUCCESS, "built for both (%d)", err);
	k = clCreateKernel(p, "scale", &err);
	for (i = 0; i < N; i++) {
		host[i] = (float)i;
	}
	m = clCreateBuffer(ctx, CL_MEM_COPY_HOST_PTR, sizeof(host), host, &err);
	clSetKernelArg(k, 0, sizeof(m), &m);
	clSetKernelArg(k, 1, sizeof(two), &two);
	/* written on the first, scaled on the second, scaled again on the first */
	err = clEnqueueNDRangeKernel(q[1], k, 1, NULL, &global, NULL, 0, NULL, NULL);
	err |= clFinish(q[1]);
	err |= clEnqueueNDRangeKernel(q[0], k, 1, NULL, &global, NULL, 0, NULL, NULL);
	err |= clEnqueueReadBuffer(q[0], m, CL_TRUE, 0, sizeof(back), back, 0, NULL, NULL);
	for (i = 0; i < N && ok; i++) {
		ok = back[i] == 4.0f * (float)i;
	}
	check(err == CL_SUCCESS && ok, "the buffer follows the commands across devices (%d)", err);
	err = clEnqueueReadBuffer(q[1], m, CL_TRUE, 0, sizeof(back), back, 0, NULL, NULL);
	check(err == CL_SUCCESS && back[N - 1] == 4.0f * (float)(N - 1),
	      "and is read from the other (%d)", err);
	clReleaseMemObject(m);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseCommandQueue(q[0]);
	clReleaseCommandQueue(q[1]);
	clReleaseContext(ctx);
	printf("%d passed, %d failed\n", g_pass, g_fail);
	return g_fail;
}

int
main(int argc, char **argv)
{
	bool lost_mode = argc > 1 && strcmp(argv[1], "--lost") == 0;
	cl_int err;

	test_platform_device();
	if (argc > 1 && strcmp(argv[1], "--multi") == 0) {
		return multi();
	}
	test_context_queue();
	if (lost_mode) {
		g_prog = build(g_source, "-DSCALE=1", &err);
		return lost();
	}
	test_buffers();
	test_copy_fill();
	test_rects();
	test_large();
	test_programs();
	test_kernel_args();
	test_ndrange();
	test_local_reduction();
	test_events();
	test_references();
	test_unsupported();
	clReleaseProgram(g_prog);
	clReleaseCommandQueue(g_q);
	clReleaseContext(g_ctx);
	printf("%d passed, %d failed\n", g_pass, g_fail);
	return g_fail;
}
