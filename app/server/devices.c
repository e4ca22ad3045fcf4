/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-server's devices: virtual GPUs on a compute backend (kind "vgpu")
 * and PCI functions of this host (kind "pci"), behind one set of calls for
 * the link callbacks; their usage per device and per client; and what the
 * operator sees and does from the console and telemetry (show devices,
 * show clients, set personality, reset; /rpci/devices, /rpci/clients).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_log.h>
#include <cmdline.h>

#include "app_telemetry.h"
#include "server.h"

RTE_LOG_REGISTER(rpci_server_dev_logtype, rpci.app.server.devices, INFO);

#define DEV_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_server_dev_logtype, "rpci-server: " fmt "\n", \
		##__VA_ARGS__)

/* ---------------------------------------------------------------- creation */

/* The access policy of a pci device, from its rules in the file. */
static void
policy_from_conf(const struct rpci_conf_device *cd, struct rpci_pci_policy *pol)
{
	unsigned int i;

	memset(pol, 0, sizeof(*pol));
	for (i = 0; i < cd->nb_rules; i++) {
		const struct rpci_conf_pci_rule *r = &cd->rules[i];

		if (r->allow == RPCI_CONF_PCI_CONFIG) {
			pol->config_write = true;
		} else if (r->allow == RPCI_CONF_PCI_BAR_READ || r->allow == RPCI_CONF_PCI_BAR_RW) {
			pol->ranges[pol->nb_ranges].bar = r->bar;
			pol->ranges[pol->nb_ranges].write = r->allow == RPCI_CONF_PCI_BAR_RW;
			pol->ranges[pol->nb_ranges].offset = r->offset;
			pol->ranges[pol->nb_ranges].size = r->size;
			pol->nb_ranges++;
		}
	}
}

static int
pci_device_create(struct server *srv, struct server_dev *d)
{
	const struct rpci_conf_device *cd = d->conf;
	struct rpci_pci_policy pol;

	policy_from_conf(cd, &pol);
	d->pfn = rpci_pci_fn_open(cd->pci_domain, cd->pci_bus, cd->pci_dev, cd->pci_func, &pol,
				  cd->name, d->completer_id);
	if (d->pfn == NULL) {
		fprintf(stderr, "rpci-server: %s:%d - device '%s': %04x:%02x:%02x.%u: %s\n",
			srv->conf->path, cd->line, cd->name, cd->pci_domain, cd->pci_bus,
			cd->pci_dev, cd->pci_func, rpci_pci_host_error()[0] != '\0' ?
			rpci_pci_host_error() : strerror(errno));
		return -1;
	}
	return 0;
}

static int
vgpu_device_create(struct server *srv, struct server_dev *d)
{
	const struct rpci_conf_device *cd = d->conf;
	struct rpci_gpu_params gp = {
		.memory_bytes = cd->memory_bytes,
		.threads = cd->threads,
		.slowdown = cd->slowdown,
	};
	struct rpci_vgpu_params vp = {
		.name = cd->name,
		.personality = {
			.vendor_id = cd->vendor_id,
			.device_id = cd->device_id,
			.subsystem_vendor_id = cd->subsystem_vendor_id,
			.subsystem_id = cd->subsystem_id,
			.class_code = cd->class_code,
			.revision = cd->revision,
			.bar0_size = cd->bar0_size,
			.bar2_size = cd->bar2_size,
		},
		.completer_id = d->completer_id,
		.request_timeout_ms = srv->conf->link.request_timeout_ms,
		.file_dir_fd = srv->file_dir_fd > 0 ? srv->file_dir_fd : 0,
		.file_save = srv->host->file_save,
	};

	d->gpu = rpci_gpu_create(cd->backend, &gp);
	if (d->gpu == NULL) {
		fprintf(stderr, "rpci-server: %s:%d - device '%s': backend '%s': %s%s%s\n",
			srv->conf->path, cd->line, cd->name, cd->backend, strerror(errno),
			errno == ENOENT ? "; built-in backends: " : "",
			errno == ENOENT ? rpci_gpu_backend_names() : "");
		return -1;
	}
	vp.gpu = d->gpu;
	d->vgpu = rpci_vgpu_create(&vp);
	if (d->vgpu == NULL) {
		fprintf(stderr, "rpci-server: device '%s': %s\n", cd->name, strerror(errno));
		rpci_gpu_destroy(d->gpu);
		d->gpu = NULL;
		return -1;
	}
	snprintf(d->profile, sizeof(d->profile), "%s", cd->profile);
	return 0;
}

/* The host's file directory: opened once, names resolved inside it (vgpu_file.c). */
static int
file_dir_open(struct server *srv)
{
	srv->file_dir_fd = -1;
	if (srv->host->file_dir[0] == '\0') {
		return 0;
	}
	srv->file_dir_fd = open(srv->host->file_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srv->file_dir_fd < 0) {
		fprintf(stderr, "rpci-server: %s:%d - host '%s': file_dir '%s': %s\n",
			srv->conf->path, srv->host->line, srv->host->name, srv->host->file_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

int
devices_create(struct server *srv)
{
	unsigned int i;

	if (file_dir_open(srv) < 0) {
		return -1;
	}
	for (i = 0; i < srv->host->nb_devices; i++) {
		struct server_dev *d = &srv->devs[i];
		int ret;

		d->conf = &srv->host->devices[i];
		d->completer_id = (uint16_t)(((srv->host_index + 1) << 8) | i);
		ret = d->conf->kind == RPCI_CONF_DEV_PCI ? pci_device_create(srv, d) :
							    vgpu_device_create(srv, d);
		if (ret < 0) {
			return -1;
		}
		srv->nb_devs++;
	}
	return 0;
}

void
devices_free(struct server *srv)
{
	unsigned int i;

	for (i = 0; i < srv->nb_devs; i++) {
		rpci_vgpu_free(srv->devs[i].vgpu);
		rpci_gpu_destroy(srv->devs[i].gpu);
		rpci_pci_fn_free(srv->devs[i].pfn);
	}
	srv->nb_devs = 0;
	if (srv->file_dir_fd >= 0) {
		close(srv->file_dir_fd);
		srv->file_dir_fd = -1;
	}
}

/* ------------------------------------------------------------- sessions */

struct rpci_link_session *
server_dev_session(const struct server_dev *d)
{
	return d->pfn != NULL ? rpci_pci_fn_session(d->pfn) : rpci_vgpu_session(d->vgpu);
}

int
server_dev_rx(struct server_dev *d, const struct rpci_tlp *msg)
{
	return d->pfn != NULL ? rpci_pci_fn_rx(d->pfn, msg) : rpci_vgpu_rx(d->vgpu, msg);
}

bool
server_dev_resetting(const struct server_dev *d)
{
	return d->vgpu != NULL && rpci_vgpu_resetting(d->vgpu);
}

void
server_dev_identity(const struct server_dev *d, uint16_t *vendor, uint16_t *device,
		    uint32_t *class_code)
{
	if (d->pfn != NULL) {
		const struct rpci_pci_host_func *f = rpci_pci_fn_func(d->pfn);

		*vendor = f->vendor_id;
		*device = f->device_id;
		*class_code = f->class_code;
	} else {
		const struct rpci_vgpu_personality *p = rpci_vgpu_personality(d->vgpu);

		*vendor = p->vendor_id;
		*device = p->device_id;
		*class_code = p->class_code;
	}
}

/* The device's counters as usage, and its session count. */
static uint64_t
dev_usage(const struct server_dev *d, struct rpci_sel_usage *u, uint64_t *session_mem_high)
{
	memset(u, 0, sizeof(*u));
	if (d->pfn != NULL) {
		struct rpci_pci_fn_stats ps;

		rpci_pci_fn_stats_get(d->pfn, &ps);
		u->bytes_in = ps.bytes_in;
		u->bytes_out = ps.bytes_out;
		u->errors = ps.refused + ps.dropped + ps.unsupported + ps.errors;
		*session_mem_high = 0;
		return ps.sessions;
	} else {
		struct rpci_vgpu_stats vs;

		rpci_vgpu_stats_get(d->vgpu, &vs);
		u->bytes_in = vs.bar_write_bytes + vs.dma_read_bytes + vs.file_load_bytes;
		u->bytes_out = vs.bar_read_bytes + vs.dma_write_bytes + vs.file_save_bytes;
		u->kernels = vs.launches;
		u->kernel_ns = vs.kernel_ns;
		u->mem_high = vs.mem_high;
		u->errors = vs.command_errors + vs.ur_sent + vs.ca_sent + vs.mwr_dropped +
			    vs.dma_refused;
		*session_mem_high = vs.session_mem_high;
		return vs.sessions;
	}
}

/* a - b, or 0 (a kernel's time so far is read without a lock: it may look back a little) */
static uint64_t
sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* What the session did so far: the device's usage since it began. */
static void
session_usage(const struct server_dev *d, struct rpci_sel_usage *s)
{
	struct rpci_sel_usage t;
	uint64_t mem_high;

	dev_usage(d, &t, &mem_high);
	s->bytes_in = sub0(t.bytes_in, d->session_base.bytes_in);
	s->bytes_out = sub0(t.bytes_out, d->session_base.bytes_out);
	s->kernels = sub0(t.kernels, d->session_base.kernels);
	s->kernel_ns = sub0(t.kernel_ns, d->session_base.kernel_ns);
	s->errors = sub0(t.errors, d->session_base.errors);
	s->mem_high = mem_high;
}

void
server_dev_usage(const struct server_dev *d, struct rpci_sel_usage *total,
		 struct rpci_sel_usage *session)
{
	uint64_t mem_high;

	dev_usage(d, total, &mem_high);
	memset(session, 0, sizeof(*session));
	if (server_dev_session(d) != NULL) {
		session_usage(d, session);
	}
}

/* The usage record of a client, made if new (the least recently seen one goes). */
static struct server_client *
client_get(struct server *srv, const uint8_t mac[6])
{
	struct server_client *c, *victim = &srv->clients[0];
	unsigned int i;

	for (i = 0; i < SERVER_CLIENTS_MAX; i++) {
		c = &srv->clients[i];
		if (c->used && memcmp(c->mac, mac, 6) == 0) {
			return c;
		}
		if (!c->used || (victim->used && c->last_tsc < victim->last_tsc)) {
			victim = c;
		}
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->mac, mac, 6);
	victim->used = true;
	return victim;
}

int
server_dev_bind(struct server *srv, struct server_dev *d, struct rpci_link_session *s,
		uint16_t requester_id)
{
	uint64_t mem_high;
	int ret;

	if (server_dev_resetting(d)) {
		return -EAGAIN;
	}
	ret = d->pfn != NULL ? rpci_pci_fn_bind(d->pfn, s) :
			       rpci_vgpu_bind(d->vgpu, s, requester_id);
	if (ret < 0) {
		return ret;
	}
	memcpy(d->session_mac, rpci_link_session_peer(s)->addr_bytes, 6);
	d->session_id = dev_usage(d, &d->session_base, &mem_high);
	client_get(srv, d->session_mac)->last_tsc = rte_get_timer_cycles();
	return 0;
}

void
server_dev_unbind(struct server *srv, struct server_dev *d)
{
	struct server_client *c;
	struct rpci_sel_usage u;

	if (server_dev_session(d) == NULL) {
		return;
	}
	session_usage(d, &u);
	c = client_get(srv, d->session_mac);
	c->sessions++;
	c->usage.bytes_in += u.bytes_in;
	c->usage.bytes_out += u.bytes_out;
	c->usage.kernels += u.kernels;
	c->usage.kernel_ns += u.kernel_ns;
	c->usage.errors += u.errors;
	c->usage.mem_high = RTE_MAX(c->usage.mem_high, u.mem_high);
	c->last_tsc = rte_get_timer_cycles();
	/* The selector hears of the session's end, and its last figures, next. */
	d->session_final = u;
	memcpy(d->ended_mac, d->session_mac, 6);
	d->ended_id = d->session_id;
	d->session_ended = true;
	if (d->pfn != NULL) {
		rpci_pci_fn_unbind(d->pfn);
	} else {
		rpci_vgpu_unbind(d->vgpu);
	}
}

struct server_dev *
server_dev_find(struct server *srv, const char *name)
{
	unsigned int i;

	for (i = 0; i < srv->nb_devs; i++) {
		if (strcmp(srv->devs[i].conf->name, name) == 0) {
			return &srv->devs[i];
		}
	}
	return NULL;
}

/* ---------------------------------------------------- console, telemetry */

static void
session_peer(const struct server_dev *d, char *buf, size_t len)
{
	struct rpci_link_session *s = server_dev_session(d);

	if (s == NULL) {
		snprintf(buf, len, "-");
	} else {
		rte_ether_format_addr(buf, len, rpci_link_session_peer(s));
	}
}

/* "show devices" */
static int
show_devices(void *arg, struct cmdline *cl)
{
	struct server *srv = arg;
	unsigned int i;

	cmdline_printf(cl, "%-12s %-8s %-9s %-7s %10s %10s %-17s %6s %10s %10s %8s %6s %-6s %7s"
		       "\n", "device", "backend", "id", "class", "memory MiB", "used MiB", "client",
		       "lease", "bytes in", "bytes out", "kernels", "errors", "frames", "refused");
	for (i = 0; i < srv->nb_devs; i++) {
		const struct server_dev *d = &srv->devs[i];
		char peer[RTE_ETHER_ADDR_FMT_SIZE], lease[24] = "-", id[16];
		const char *frames = "-";
		uint64_t refused = 0;
		struct rpci_sel_usage t, s;
		uint16_t vendor, device;
		uint32_t class_code;

		server_dev_usage(d, &t, &s);
		server_dev_identity(d, &vendor, &device, &class_code);
		snprintf(id, sizeof(id), "%04x:%04x", vendor, device);
		session_peer(d, peer, sizeof(peer));
		if (agent_dev_lease(srv, d) != 0) {
			snprintf(lease, sizeof(lease), "%" PRIu64, agent_dev_lease(srv, d));
		}
		/* the session's frames: tagged (mac), encrypted (enc), or not (none); refused */
		if (server_dev_session(d) != NULL) {
			struct rpci_link_session_auth sa;

			rpci_link_session_auth_get(server_dev_session(d), &sa);
			frames = sa.security == RPCI_LINK_SEC_ENCRYPT ? "enc" :
				 sa.security == RPCI_LINK_SEC_MAC ? "mac" : "none";
			refused = sa.rx_bad_tag + sa.rx_replay + sa.rx_missing;
		}
		cmdline_printf(cl, "%-12s %-8s %-9s %06x %10" PRIu64 " %10" PRIu64 " %-17s %6s "
			       "%10" PRIu64 " %10" PRIu64 " %8" PRIu64 " %6" PRIu64 " %-6s %7"
			       PRIu64 "\n",
			       d->conf->name, d->pfn != NULL ? "pci" : d->conf->backend, id,
			       class_code, d->conf->memory_bytes >> 20,
			       d->vgpu != NULL ? rpci_vgpu_mem_used(d->vgpu) >> 20 : 0, peer, lease,
			       t.bytes_in, t.bytes_out, t.kernels, t.errors, frames, refused);
	}
	return 0;
}

/* A client's usage, with the sessions in progress. */
static void
client_usage_now(struct server *srv, const struct server_client *c, struct rpci_sel_usage *u,
		 uint64_t *sessions)
{
	unsigned int i;

	*u = c->usage;
	*sessions = c->sessions;
	for (i = 0; i < srv->nb_devs; i++) {
		const struct server_dev *d = &srv->devs[i];
		struct rpci_sel_usage s;

		if (server_dev_session(d) == NULL || memcmp(d->session_mac, c->mac, 6) != 0) {
			continue;
		}
		session_usage(d, &s);
		u->bytes_in += s.bytes_in;
		u->bytes_out += s.bytes_out;
		u->kernels += s.kernels;
		u->kernel_ns += s.kernel_ns;
		u->errors += s.errors;
		u->mem_high = RTE_MAX(u->mem_high, s.mem_high);
		(*sessions)++;
	}
}

/* "show clients" */
static int
show_clients(void *arg, struct cmdline *cl)
{
	struct server *srv = arg;
	unsigned int i, n = 0;

	cmdline_printf(cl, "%-17s %-12s %8s %12s %12s %8s %10s %10s %6s\n", "client", "host",
		       "sessions", "bytes in", "bytes out", "kernels", "kernel ms", "mem MiB",
		       "errors");
	for (i = 0; i < SERVER_CLIENTS_MAX; i++) {
		const struct server_client *c = &srv->clients[i];
		const struct rpci_conf_host *h;
		struct rpci_sel_usage u;
		char mac[18];
		uint64_t sessions;

		if (!c->used) {
			continue;
		}
		client_usage_now(srv, c, &u, &sessions);
		h = rpci_conf_host_by_mac(srv->conf, c->mac);
		cmdline_printf(cl, "%-17s %-12s %8" PRIu64 " %12" PRIu64 " %12" PRIu64 " %8" PRIu64
			       " %10.1f %10.1f %6" PRIu64 "\n", rpci_ctrl_mac_str(c->mac, mac),
			       h != NULL ? h->name : "?", sessions, u.bytes_in, u.bytes_out,
			       u.kernels, (double)u.kernel_ns / 1e6,
			       (double)u.mem_high / (1 << 20), u.errors);
		n++;
	}
	cmdline_printf(cl, "%u clients\n", n);
	return 0;
}

/* "set personality DEVICE PROFILE": a function-level reset with the profile's identity. */
static int
set_personality(void *arg, const char *device, const char *profile, char *msg, size_t len)
{
	struct server *srv = arg;
	struct server_dev *d = server_dev_find(srv, device);
	const struct rpci_conf_profile *p;
	struct rpci_vgpu_personality vp;
	int ret;

	if (d == NULL) {
		snprintf(msg, len, "%s has no device '%s'", srv->host->name, device);
		return -ENOENT;
	}
	if (d->vgpu == NULL) {
		snprintf(msg, len, "'%s' is a PCI function of this host: its identity is its own",
			 device);
		return -EOPNOTSUPP;
	}
	p = rpci_conf_profile_find(srv->conf, profile);
	if (p == NULL) {
		snprintf(msg, len, "no profile '%s' in %s", profile, srv->conf->path);
		return -ENOENT;
	}
	memset(&vp, 0, sizeof(vp));
	vp.vendor_id = p->vendor_id;
	vp.device_id = p->device_id;
	vp.subsystem_vendor_id = p->subsystem_vendor_id;
	vp.subsystem_id = p->subsystem_id;
	vp.class_code = p->class_code;
	vp.revision = p->revision;
	vp.bar0_size = p->bar0_size;
	vp.bar2_size = p->bar2_size;
	ret = rpci_vgpu_reset(d->vgpu, &vp);
	if (ret < 0) {
		snprintf(msg, len, "profile '%s' does not fit '%s': its BAR2 (0x%" PRIx64 " bytes) "
			 "is smaller than the device's memory", profile, device, p->bar2_size);
		return ret;
	}
	snprintf(d->profile, sizeof(d->profile), "%s", profile);
	DEV_LOG(INFO, "%s: personality '%s' (%04x:%04x class %06x), function-level reset%s",
		device, profile, p->vendor_id, p->device_id, p->class_code,
		server_dev_session(d) != NULL ? ": its client is told" : "");
	snprintf(msg, len, "%s: personality %s (%04x:%04x class %06x), function-level reset%s",
		 device, profile, p->vendor_id, p->device_id, p->class_code,
		 server_dev_session(d) != NULL ? ", its client told" : "");
	return 0;
}

/* "reset DEVICE": a function-level reset, the personality kept. */
static int
reset_device(void *arg, const char *device, char *msg, size_t len)
{
	struct server *srv = arg;
	struct server_dev *d = server_dev_find(srv, device);

	if (d == NULL) {
		snprintf(msg, len, "%s has no device '%s'", srv->host->name, device);
		return -ENOENT;
	}
	if (d->vgpu == NULL) {
		snprintf(msg, len, "'%s' is a PCI function the host drives: not reset from here",
			 device);
		return -EOPNOTSUPP;
	}
	rpci_vgpu_reset(d->vgpu, NULL);
	snprintf(msg, len, "%s: function-level reset%s", device,
		 server_dev_session(d) != NULL ? ", its client told" : "");
	return 0;
}

void
devices_console_setup(struct server *srv)
{
	srv->console.show_devices = show_devices;
	srv->console.show_clients = show_clients;
	srv->console.set_personality = set_personality;
	srv->console.reset_device = reset_device;
	srv->console.arg = srv;
}

/* Telemetry containers hold arrays of scalars only: "key=value" strings. */
static void
tel_field(struct rte_tel_data *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tel_field(struct rte_tel_data *v, const char *fmt, ...)
{
	char text[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rte_tel_data_add_array_string(v, text);
}

static void
tel_usage(struct rte_tel_data *v, const char *pfx, const struct rpci_sel_usage *u)
{
	tel_field(v, "%sbytes_in=%" PRIu64, pfx, u->bytes_in);
	tel_field(v, "%sbytes_out=%" PRIu64, pfx, u->bytes_out);
	tel_field(v, "%skernels=%" PRIu64, pfx, u->kernels);
	tel_field(v, "%skernel_ns=%" PRIu64, pfx, u->kernel_ns);
	tel_field(v, "%smem_high=%" PRIu64, pfx, u->mem_high);
	tel_field(v, "%serrors=%" PRIu64, pfx, u->errors);
}

/* /rpci/devices: the devices of this server, a dict each, by name. */
static int
build_devices(void *arg, const char *params, struct rte_tel_data *d)
{
	struct server *srv = arg;
	unsigned int i;

	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (i = 0; i < srv->nb_devs; i++) {
		const struct server_dev *dev = &srv->devs[i];
		struct rte_tel_data *v = rte_tel_data_alloc();
		char peer[RTE_ETHER_ADDR_FMT_SIZE];
		struct rpci_sel_usage t, s;
		uint16_t vendor, device;
		uint32_t class_code;

		if (v == NULL) {
			return -ENOMEM;
		}
		rte_tel_data_start_array(v, RTE_TEL_STRING_VAL);
		session_peer(dev, peer, sizeof(peer));
		server_dev_usage(dev, &t, &s);
		server_dev_identity(dev, &vendor, &device, &class_code);
		tel_field(v, "kind=%s", dev->pfn != NULL ? "pci" : "vgpu");
		tel_field(v, "backend=%s", dev->pfn != NULL ? "pci" : dev->conf->backend);
		tel_field(v, "vendor_id=0x%04x", vendor);
		tel_field(v, "device_id=0x%04x", device);
		tel_field(v, "class_code=0x%06x", class_code);
		tel_field(v, "profile=%s", dev->profile);
		tel_field(v, "memory=%" PRIu64, dev->conf->memory_bytes);
		tel_field(v, "memory_used=%" PRIu64,
			  dev->vgpu != NULL ? rpci_vgpu_mem_used(dev->vgpu) : 0);
		tel_field(v, "client=%s", peer);
		tel_field(v, "lease=%" PRIu64, agent_dev_lease(srv, dev));
		tel_usage(v, "", &t);
		tel_usage(v, "session_", &s);
		if (dev->vgpu != NULL) {
			struct rpci_vgpu_stats vs;

			rpci_vgpu_stats_get(dev->vgpu, &vs);
			tel_field(v, "sessions=%" PRIu64, vs.sessions);
			tel_field(v, "commands=%" PRIu64, vs.commands);
			tel_field(v, "command_errors=%" PRIu64, vs.command_errors);
			tel_field(v, "launches=%" PRIu64, vs.launches);
			tel_field(v, "dma_read_bytes=%" PRIu64, vs.dma_read_bytes);
			tel_field(v, "dma_write_bytes=%" PRIu64, vs.dma_write_bytes);
			tel_field(v, "ur_sent=%" PRIu64, vs.ur_sent);
			tel_field(v, "ca_sent=%" PRIu64, vs.ca_sent);
			tel_field(v, "resets=%" PRIu64, vs.resets);
		} else {
			struct rpci_pci_fn_stats ps;

			rpci_pci_fn_stats_get(dev->pfn, &ps);
			tel_field(v, "sessions=%" PRIu64, ps.sessions);
			tel_field(v, "cfg_reads=%" PRIu64, ps.cfg_reads);
			tel_field(v, "cfg_writes=%" PRIu64, ps.cfg_writes);
			tel_field(v, "mem_reads=%" PRIu64, ps.mem_reads);
			tel_field(v, "mem_writes=%" PRIu64, ps.mem_writes);
			tel_field(v, "refused=%" PRIu64, ps.refused);
			tel_field(v, "dropped=%" PRIu64, ps.dropped);
			tel_field(v, "unsupported=%" PRIu64, ps.unsupported);
		}
		if (rte_tel_data_add_dict_container(d, dev->conf->name, v, 0) < 0) {
			rte_tel_data_free(v);
		}
	}
	return 0;
}

/* /rpci/clients: each client's usage of this server, a dict each, by MAC (mac_xx_..). */
static int
build_clients(void *arg, const char *params, struct rte_tel_data *d)
{
	struct server *srv = arg;
	unsigned int i;

	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	for (i = 0; i < SERVER_CLIENTS_MAX; i++) {
		const struct server_client *c = &srv->clients[i];
		const struct rpci_conf_host *h;
		struct rte_tel_data *v;
		struct rpci_sel_usage u;
		uint64_t sessions;
		char mac[18], key[32];

		if (!c->used) {
			continue;
		}
		v = rte_tel_data_alloc();
		if (v == NULL) {
			return -ENOMEM;
		}
		rte_tel_data_start_array(v, RTE_TEL_STRING_VAL);
		client_usage_now(srv, c, &u, &sessions);
		h = rpci_conf_host_by_mac(srv->conf, c->mac);
		tel_field(v, "host=%s", h != NULL ? h->name : "?");
		tel_field(v, "mac=%s", rpci_ctrl_mac_str(c->mac, mac));
		tel_field(v, "sessions=%" PRIu64, sessions);
		tel_usage(v, "", &u);
		/* telemetry keys: letters, digits, '_' and '/' only */
		snprintf(key, sizeof(key), "mac_%02x_%02x_%02x_%02x_%02x_%02x", c->mac[0],
			 c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
		if (rte_tel_data_add_dict_container(d, key, v, 0) < 0) {
			rte_tel_data_free(v);
		}
	}
	return 0;
}

int
devices_telemetry_register(struct server *srv)
{
	int ret = app_telemetry_register("/rpci/devices", build_devices, srv,
					 "This server's devices. No parameters");

	if (ret == 0) {
		ret = app_telemetry_register("/rpci/clients", build_clients, srv,
					     "The clients' usage of this server. No parameters");
	}
	return ret;
}

void
devices_print_stats(struct server *srv)
{
	unsigned int i;

	for (i = 0; i < srv->nb_devs; i++) {
		const struct server_dev *d = &srv->devs[i];

		if (d->vgpu != NULL) {
			struct rpci_vgpu_stats vs;

			rpci_vgpu_stats_get(d->vgpu, &vs);
			printf("rpci-server: %s: %" PRIu64 " clients, %" PRIu64 " commands (%"
			       PRIu64 " failed), %" PRIu64 " kernels, %" PRIu64 " MSI, %" PRIu64
			       " resets\n", d->conf->name, vs.sessions, vs.commands,
			       vs.command_errors, vs.launches, vs.msi_sent, vs.resets);
		} else {
			struct rpci_pci_fn_stats ps;

			rpci_pci_fn_stats_get(d->pfn, &ps);
			printf("rpci-server: %s: %" PRIu64 " clients, %" PRIu64 " configuration "
			       "reads, %" PRIu64 " writes, %" PRIu64 " BAR reads, %" PRIu64
			       " writes, %" PRIu64 " refused (UR), %" PRIu64 " dropped\n",
			       d->conf->name, ps.sessions, ps.cfg_reads, ps.cfg_writes,
			       ps.mem_reads, ps.mem_writes, ps.refused, ps.dropped);
		}
	}
}
