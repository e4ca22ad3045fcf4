/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Fuzz harness of the OpenCL ICD's info blocks (drivers/opencl-icd/icd_info.c):
 * what a server's backend says of a device, a program or a kernel, read
 * from the network (the device's BAR0, the INFO command) and trusted by
 * nobody.
 *
 * The input is an info block. Parsing never reads outside it; a block that
 * parses has its entries inside its own copy, sorted, each found by its key,
 * and builds back into a block that parses to the same entries. Taken as a
 * device's block, the answers the ICD makes from it are themselves a valid
 * block that passes on no object handle, no image support and only the
 * extensions it allows; taken as a kernel's, every argument classifies.
 */

#include <errno.h>
#include <string.h>

#include "icd_private.h"
#include "rpci_vgpu_hw.h"
#include "fuzz.h"

static uint8_t g_rebuilt[1 << 17];

static void
check_parsed(const struct icd_info *info)
{
	uint32_t i;

	for (i = 0; i < info->count; i++) {
		const struct icd_info_ent *e = &info->ents[i];

		FUZZ_CHECK(e->val >= info->blob && e->val <= info->blob + info->len);
		FUZZ_CHECK(e->len <= (size_t)(info->blob + info->len - e->val));
		FUZZ_CHECK(i == 0 || info->ents[i - 1].key <= e->key);
		FUZZ_CHECK(icd_info_find(info, e->key) != NULL);
		FUZZ_CHECK(icd_info_find(info, e->key)->key == e->key);
	}
}

static void
check_rebuild(const struct icd_info *info)
{
	struct icd_info again;
	size_t len = icd_info_build(info->ents, info->count, g_rebuilt, sizeof(g_rebuilt));
	uint32_t i;

	if (len == 0) {
		return; /* larger than the buffer */
	}
	FUZZ_CHECK(icd_info_parse(g_rebuilt, len, &again) == 0);
	FUZZ_CHECK(again.count == info->count);
	for (i = 0; i < info->count; i++) {
		FUZZ_CHECK(again.ents[i].key == info->ents[i].key);
		FUZZ_CHECK(again.ents[i].len == info->ents[i].len);
		FUZZ_CHECK(memcmp(again.ents[i].val, info->ents[i].val, info->ents[i].len) == 0);
	}
	icd_info_free(&again);
}

static void
check_answers(const struct icd_info *info)
{
	struct icd_info out, again;
	char ext[4096], *tok, *save = NULL;
	int ret = icd_device_answers(info, &out);

	if (ret < 0) {
		FUZZ_CHECK(ret == -EBADMSG || ret == -ENOMEM);
		return;
	}
	check_parsed(&out);
	FUZZ_CHECK(icd_info_find(&out, CL_DEVICE_PLATFORM) == NULL);
	FUZZ_CHECK(icd_info_find(&out, CL_DEVICE_PARENT_DEVICE) == NULL);
	FUZZ_CHECK(icd_info_u64(&out, CL_DEVICE_IMAGE_SUPPORT, 0) == 0);
	FUZZ_CHECK(icd_info_u64(&out, CL_DEVICE_HOST_UNIFIED_MEMORY, 0) == 0);
	FUZZ_CHECK((icd_info_u64(&out, CL_DEVICE_QUEUE_ON_HOST_PROPERTIES, 0) &
		    ~(uint64_t)CL_QUEUE_PROFILING_ENABLE) == 0);
	if (icd_info_str(&out, CL_DEVICE_EXTENSIONS, ext, sizeof(ext))) {
		for (tok = strtok_r(ext, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save)) {
			FUZZ_CHECK(icd_extension_allowed(tok));
		}
	}
	FUZZ_CHECK(icd_info_parse(out.blob, out.len, &again) == 0);
	icd_info_free(&again);
	icd_info_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct icd_info info;
	struct icd_arg arg;
	char s[128];
	uint32_t i;
	int ret = icd_info_parse(data, size, &info);

	if (ret < 0) {
		FUZZ_CHECK(ret == -EBADMSG || ret == -ENOMEM);
		FUZZ_CHECK(info.blob == NULL && info.ents == NULL && info.count == 0);
		return 0;
	}
	FUZZ_CHECK(info.len <= size);
	check_parsed(&info);
	for (i = 0; i < info.count; i++) {
		icd_info_u64(&info, info.ents[i].key, 0);
		icd_info_str(&info, info.ents[i].key, s, sizeof(s));
	}
	for (i = 0; i < 4; i++) {
		icd_arg_classify(&arg, &info, i);
		FUZZ_CHECK(arg.class >= ICD_ARG_MEM && arg.class <= ICD_ARG_OPAQUE);
	}
	check_rebuild(&info);
	check_answers(&info);
	icd_info_free(&info);
	return 0;
}
