/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The selector node's check of who sent a message between clients
 * (app/common/selnode.c): the host the frame's source MAC
 * belongs to, never the name the message gives.
 */

#include <string.h>

#include <CUnit/Basic.h>

#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "selnode.h"

static const char g_conf[] =
	"hosts = (\n"
	"  { name = \"sel\"; roles = [ \"selector\" ]; mac = \"02:00:00:00:00:01\";\n"
	"    eal = { lcores = \"0\"; }; },\n"
	"  { name = \"gpu\"; roles = [ \"server\" ]; mac = \"02:00:00:00:00:02\";\n"
	"    eal = { lcores = \"0\"; };\n"
	"    devices = ( { name = \"d\"; backend = \"cpu\"; memory_mb = 1; vendor_id = 1;\n"
	"                  device_id = 1; class_code = 0; } ); },\n"
	"  { name = \"app0\"; roles = [ \"client\" ]; mac = \"02:00:00:00:00:03\";\n"
	"    eal = { lcores = \"0\"; }; },\n"
	"  { name = \"app1\"; roles = [ \"client\" ]; mac = \"02:00:00:00:00:04\";\n"
	"    eal = { lcores = \"0\"; }; }\n"
	");\n"
	"selector = { host = \"sel\"; };\n";

static void
test_message_sender(void)
{
	static const uint8_t app0[6] = { 2, 0, 0, 0, 0, 3 }, app1[6] = { 2, 0, 0, 0, 0, 4 };
	static const uint8_t gpu[6] = { 2, 0, 0, 0, 0, 2 }, stranger[6] = { 2, 0, 0, 0, 0, 9 };
	struct rpci_conf *conf = rpci_conf_load_string(g_conf, "t.cfg", NULL, 0);
	struct rpci_ctrl_msg m;
	const char *why = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_MESSAGE;
	snprintf(m.u.message.from, sizeof(m.u.message.from), "app0");
	snprintf(m.u.message.to, sizeof(m.u.message.to), "app1");
	CU_ASSERT_PTR_EQUAL(selnode_message_sender(conf, app0, &m, &why), &conf->hosts[2]);
	CU_ASSERT_PTR_NULL(why);
	/* app1 says it is app0: the frame came from app1 */
	CU_ASSERT_PTR_NULL(selnode_message_sender(conf, app1, &m, &why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "another sender"));
	/* a server, or a MAC the file does not have */
	snprintf(m.u.message.from, sizeof(m.u.message.from), "gpu");
	CU_ASSERT_PTR_NULL(selnode_message_sender(conf, gpu, &m, &why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a client"));
	CU_ASSERT_PTR_NULL(selnode_message_sender(conf, stranger, &m, &why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no host"));
	rpci_conf_free(conf);
}

int
main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 1;
	}
	suite = CU_add_suite("selnode", NULL, NULL);
	if (suite == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	CU_ADD_TEST(suite, test_message_sender);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
