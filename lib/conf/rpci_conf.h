/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CONF_H
#define RPCI_CONF_H

/**
 * @file
 * Deployment file: one libconfig file describes a cluster (hosts, their
 * roles, EAL settings, ports, idle mode, and each server's devices) and the
 * link parameters every host shares. Every process is started with the same
 * file and the name of the host it plays.
 *
 * A file that does not parse, or that holds a bad value, an unknown setting
 * or a missing one, is refused with a message of the form
 * "file:line - what is wrong". The format is in doc/configuration.md.
 *
 * This library has no DPDK dependency, so that it can be fuzzed alone.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest name (host, device, backend), terminating NUL included. */
#define RPCI_CONF_NAME_MAX 32
/** Longest string setting (lcores, file prefix, a vdev), NUL included. */
#define RPCI_CONF_STR_MAX 256
/** Most vdevs of one host. */
#define RPCI_CONF_VDEVS_MAX 8
/** Most extra EAL arguments of one host. */
#define RPCI_CONF_EXTRA_MAX 16
/** Most devices of one server host. */
#define RPCI_CONF_DEVICES_MAX 16
/** Most hosts in one file. */
#define RPCI_CONF_HOSTS_MAX 64
/** Most access rules of one PCI device. */
#define RPCI_CONF_PCI_RULES_MAX 8
/** Most personality profiles in one file. */
#define RPCI_CONF_PROFILES_MAX 32
/** Size of an error message buffer large enough for any message. */
#define RPCI_CONF_ERR_MAX 512

/** Roles a host plays (a bit set). */
enum rpci_conf_role {
	RPCI_ROLE_SERVER = 1u << 0,   /**< serves the devices of the host */
	RPCI_ROLE_CLIENT = 1u << 1,   /**< runs client programs */
	RPCI_ROLE_SELECTOR = 1u << 2, /**< runs the server selector */
};

/** What a poll loop does when a poll finds no work. */
enum rpci_conf_idle {
	RPCI_IDLE_POLL = 0,     /**< keep spinning: lowest latency */
	RPCI_IDLE_ADAPTIVE = 1, /**< back off and sleep while idle */
};

/** Rates of the link's built-in fault injector in one direction (0..1 each). */
struct rpci_conf_faults {
	double drop;    /**< frames lost */
	double dup;     /**< frames doubled */
	double reorder; /**< frames held behind the next one */
	double corrupt; /**< frames with one bit flipped */
};

/** Largest frame_max a file may give (lib/link's RPCI_LINK_FRAME_MAX). */
#define RPCI_CONF_FRAME_MAX 65024
/** Smallest non-zero frame_max (an MTU of 576 and its Ethernet header). */
#define RPCI_CONF_FRAME_MIN 590

/** Link parameters shared by all hosts (section "link"). */
struct rpci_conf_link {
	uint16_t ethertype;          /**< EtherType of rpci frames (default 0x88B5) */
	/**
	 * CRC32C covers payloads too; only meaningful when crc_payload_set,
	 * else each port kind's default applies (doc/configuration.md).
	 */
	bool crc_payload;
	bool crc_payload_set;        /**< the file gives crc_payload */
	uint32_t mtu;                /**< port MTU (default 1500, 576..9600) */
	/**
	 * Largest frame, Ethernet header included (RPCI_CONF_FRAME_MIN..
	 * RPCI_CONF_FRAME_MAX); 0 (the default): each port kind's own.
	 */
	uint32_t frame_max;
	uint32_t max_payload;        /**< TLP max payload; 0 = derived from the MTU */
	uint32_t replay_frames;      /**< replay buffer, frames (default 512, 8..32768) */
	uint32_t retransmit_us;      /**< first replay time-out (default 2000) */
	uint32_t retransmit_max;     /**< replays without progress before dead (default 12) */
	uint32_t keepalive_ms;       /**< idle keepalive period (default 100) */
	uint32_t dead_ms;            /**< silence after which a peer is dead (default 3000) */
	uint32_t request_timeout_ms; /**< completion and command time-out (default 10000) */
	uint32_t burst;              /**< RX/TX burst size (default 32, 1..512) */
	uint32_t mbufs;              /**< mbufs in each process's pool (default 8191) */
	uint32_t sleep_max_us;       /**< adaptive idle: longest sleep (default 200) */
	uint32_t spin_polls;         /**< adaptive idle: empty polls before a sleep (2000) */
	/** payloads up to this size are copied, larger ones attached (default 256) */
	uint32_t copy_threshold;
	/**
	 * Encrypt the payloads of authenticated sessions, not only
	 * authenticate them (default false; doc/security.md): a client asks
	 * for it in its OPENs, a server gives it to every session.
	 */
	bool encrypt;
	/** group "faults": the built-in injector, off unless a rate is set (tests) */
	struct rpci_conf_faults faults_tx;
	struct rpci_conf_faults faults_rx;
	uint64_t faults_seed; /**< its generator's seed (default 1) */
};

/** EAL settings of a host (group "eal" of a host). */
struct rpci_conf_eal {
	char lcores[RPCI_CONF_STR_MAX];      /**< -l; required */
	uint32_t memory_mb;                  /**< -m; 0 = not given */
	bool no_huge;                        /**< --no-huge */
	bool no_pci;                         /**< --no-pci (default true) */
	char file_prefix[RPCI_CONF_STR_MAX]; /**< --file-prefix; "" = not given */
	char log_level[RPCI_CONF_STR_MAX];   /**< --log-level; "" = not given */
	char vdevs[RPCI_CONF_VDEVS_MAX][RPCI_CONF_STR_MAX]; /**< --vdev, each */
	unsigned int nb_vdevs;
	char extra[RPCI_CONF_EXTRA_MAX][RPCI_CONF_STR_MAX]; /**< more EAL arguments, as given */
	unsigned int nb_extra;
};

/** What a device entry is ("kind"). */
enum rpci_conf_device_kind {
	RPCI_CONF_DEV_VGPU = 0, /**< a virtual GPU on a compute backend (the default) */
	RPCI_CONF_DEV_PCI = 1,  /**< a real PCI function of the server host */
};

/** What an access rule of a PCI device allows ("allow"). */
enum rpci_conf_pci_allow {
	RPCI_CONF_PCI_CONFIG_READ = 0, /**< read configuration space (always allowed) */
	RPCI_CONF_PCI_CONFIG = 1,      /**< read and write configuration space */
	RPCI_CONF_PCI_BAR_READ = 2,    /**< read a range of a BAR */
	RPCI_CONF_PCI_BAR_RW = 3,      /**< read and write a range of a BAR */
};

/** One access rule of a PCI device (an entry of its "access" list). */
struct rpci_conf_pci_rule {
	enum rpci_conf_pci_allow allow;
	uint8_t bar;     /**< bar-read, bar-rw: the BAR (0..5) */
	uint64_t offset; /**< bar-read, bar-rw: first byte of the range in the BAR */
	uint64_t size;   /**< bar-read, bar-rw: bytes of the range (> 0) */
	int line;        /**< line of the rule in the file */
};

/** A personality profile (an entry of the top-level "profiles" list). */
struct rpci_conf_profile {
	char name[RPCI_CONF_NAME_MAX]; /**< unique in the file */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint32_t class_code;
	uint8_t revision;
	uint64_t bar0_size;            /**< BAR0 (registers), a power of two, >= 64 KiB */
	uint64_t bar2_size;            /**< BAR2 (device memory); 0: from the memory size */
	int line;
};

/** A device a server host serves (an entry of a host's "devices" list). */
struct rpci_conf_device {
	char name[RPCI_CONF_NAME_MAX];    /**< unique on its host */
	enum rpci_conf_device_kind kind;  /**< "kind": vgpu (default) or pci */
	char backend[RPCI_CONF_NAME_MAX]; /**< compute backend, e.g. "cpu" */
	uint64_t memory_bytes;            /**< device memory (memory_mb, 1..65536 MiB) */
	uint16_t vendor_id;               /**< personality: vendor id */
	uint16_t device_id;               /**< personality: device id */
	uint16_t subsystem_vendor_id;     /**< personality: subsystem vendor id */
	uint16_t subsystem_id;            /**< personality: subsystem id */
	uint32_t class_code;              /**< personality: 24-bit class code */
	uint8_t revision;                 /**< personality: revision id */
	uint32_t threads;                 /**< cpu backend: worker threads (default 1, 1..64) */
	double slowdown;                  /**< cpu backend: slowdown (default 1.0, 1..1000) */
	/** vgpu: the profile its personality came from ("" if none) */
	char profile[RPCI_CONF_NAME_MAX];
	uint64_t bar0_size;               /**< vgpu: BAR0 size (64 KiB unless a profile says) */
	uint64_t bar2_size;               /**< vgpu: BAR2 size (0: from the memory size) */
	/** pci: the host function ("address", domain:bus:device.function) */
	uint16_t pci_domain;
	uint8_t pci_bus;
	uint8_t pci_dev;
	uint8_t pci_func;
	/** pci: its access policy ("access"; none: configuration reads only) */
	struct rpci_conf_pci_rule rules[RPCI_CONF_PCI_RULES_MAX];
	unsigned int nb_rules;
	int line;                         /**< line of the entry in the file */
};

/** Default socket of a client host's daemon (rpci-proxy), and librpci's default. */
#define RPCI_CONF_PROXY_SOCKET "/run/rpci/proxy.sock"

/**
 * A client host's daemon (group "proxy" of a client host): the unix socket
 * programs connect to, and who may (its owner, group and mode).
 */
struct rpci_conf_proxy {
	char socket[RPCI_CONF_STR_MAX]; /**< path (default RPCI_CONF_PROXY_SOCKET) */
	char owner[RPCI_CONF_NAME_MAX]; /**< user owning the socket ("" = the daemon's) */
	char group[RPCI_CONF_NAME_MAX]; /**< its group ("" = the daemon's) */
	uint32_t mode;                  /**< its permission bits (default 0660) */
	uint32_t max_programs;          /**< programs served at once (default 64, 1..64) */
	int line;                       /**< line of the group (0 if absent) */
};

/** Most groups whose members may change a process's state from its console. */
#define RPCI_CONF_CONSOLE_ADMINS_MAX 8

/**
 * Who may use the console socket of a process of a host (a host's
 * "console" as a group; as a string it is only the socket's path).
 */
struct rpci_conf_console {
	char owner[RPCI_CONF_NAME_MAX]; /**< user owning the socket ("" = the process's) */
	char group[RPCI_CONF_NAME_MAX]; /**< its group ("" = the process's) */
	uint32_t mode;                  /**< its permission bits (default 0600) */
	/**
	 * Groups whose members may run the commands that change state (set,
	 * attach, detach, drain, reset, shutdown): root and the process's own
	 * user always may; anyone else who can connect may only show.
	 */
	char admin[RPCI_CONF_CONSOLE_ADMINS_MAX][RPCI_CONF_NAME_MAX];
	unsigned int nb_admin;
	int line;                       /**< line of the group (0 if absent or a string) */
};

/** A host of the cluster (an entry of the "hosts" list). */
struct rpci_conf_host {
	char name[RPCI_CONF_NAME_MAX]; /**< unique in the file */
	unsigned int roles;            /**< enum rpci_conf_role bits, at least one */
	uint8_t mac[6];                /**< the port's MAC address (unicast) */
	uint16_t port;                 /**< ethdev port id (default 0) */
	enum rpci_conf_idle idle;      /**< idle mode (default adaptive) */
	struct rpci_conf_eal eal;      /**< EAL settings */
	/**
	 * Client: host name of the server to use (a server host); "" when
	 * the file has a selector that chooses.
	 */
	char server[RPCI_CONF_NAME_MAX];
	/** Client: name of the device on that server ("" = its first one). */
	char device[RPCI_CONF_NAME_MAX];
	struct rpci_conf_device devices[RPCI_CONF_DEVICES_MAX]; /**< server: devices */
	unsigned int nb_devices;
	/** Unix socket of the console of a process of this host ("" = default). */
	char console[RPCI_CONF_STR_MAX];
	/** Who may use it (the "console" group's owner, group, mode and admin groups). */
	struct rpci_conf_console console_access;
	/** Client: the client daemon's socket (group "proxy"), programs connect to it. */
	struct rpci_conf_proxy proxy;
	/** Server: the directory its devices load files from by name ("" = none). */
	char file_dir[RPCI_CONF_STR_MAX];
	/** Server: devices may also save device memory to files there (default false). */
	bool file_save;
	/** This host's port: frame_max (0: the link section's), as in rpci_conf_link. */
	uint32_t frame_max;
	bool crc_payload;     /**< this host's port: crc_payload, if crc_payload_set */
	bool crc_payload_set; /**< the host gives crc_payload (else the link section's) */
	int line; /**< line of the entry in the file */
};

/** How the hosts of a deployment prove who they are (section "auth"). */
enum rpci_conf_auth_mode {
	RPCI_AUTH_KEYS = 0, /**< every host has a key pair; control messages are authenticated */
	RPCI_AUTH_NONE = 1, /**< nothing is authenticated (a lab only): said loudly at start */
};

/** Whether a server takes sessions whose frames are not authenticated. */
enum rpci_conf_auth_sessions {
	RPCI_AUTH_SESSIONS_REQUIRED = 0, /**< every session's frames authenticated (default) */
	/**
	 * A server also opens sessions whose client asks for no per-frame
	 * protection (the OPEN itself is still authenticated): to measure
	 * what it costs (rpci-bench --auth both), in a lab.
	 */
	RPCI_AUTH_SESSIONS_OPTIONAL = 1,
};

/** The AEAD of a session's frames (lib/auth's enum rpci_auth_cipher values). */
enum rpci_conf_auth_cipher {
	RPCI_CONF_CIPHER_AES128GCM = 1,        /**< "aes-128-gcm" (default) */
	RPCI_CONF_CIPHER_CHACHA20POLY1305 = 2, /**< "chacha20-poly1305" */
};

/** Section "auth" (doc/security.md). */
struct rpci_conf_auth {
	enum rpci_conf_auth_mode mode; /**< default RPCI_AUTH_KEYS */
	/**
	 * Directory of the key files: HOST.key (this host's private key, mode
	 * 0600) and HOST.pub (every host's public key). A relative "dir" of a
	 * file is taken from the file's own directory (default "keys").
	 */
	char key_dir[RPCI_CONF_STR_MAX];
	/** A control message stamped further than this from the receiver's clock is stale. */
	uint32_t window_ms;
	/** Sessions whose frames are not authenticated: refused (default) or taken. */
	enum rpci_conf_auth_sessions sessions;
	/** The AEAD a client asks for its sessions' frames (a server takes either). */
	enum rpci_conf_auth_cipher cipher;
	int line; /**< line of the section (0: absent) */
};

/** The server selector (section "selector", optional). */
struct rpci_conf_selector {
	bool present;                    /**< the file has a selector */
	char host[RPCI_CONF_NAME_MAX];   /**< the host that runs it (role selector) */
	char policy[RPCI_CONF_NAME_MAX]; /**< first-fit, best-fit, least-loaded, learned */
	uint32_t heartbeat_ms;           /**< servers report this often (default 200) */
	uint32_t missed_heartbeats;      /**< missed: server down (default 3, 2..100) */
	uint32_t lease_ms;               /**< an attachment lasts this long unrenewed (5000) */
	double explore;                  /**< learned policy's exploration (0.1, 0..1) */
	uint64_t seed;                   /**< for exploration (1) */
	uint32_t client_max_devices;     /**< devices one client may hold at once (16; 0: any) */
	uint32_t client_max_requests;    /**< requests with live leases per client (8; 0: any) */
	int line;                        /**< line of the section */
};

/** A loaded, validated deployment file. */
struct rpci_conf {
	char path[RPCI_CONF_STR_MAX]; /**< the file it came from */
	struct rpci_conf_link link;
	struct rpci_conf_selector selector;
	struct rpci_conf_auth auth;
	struct rpci_conf_host hosts[RPCI_CONF_HOSTS_MAX];
	unsigned int nb_hosts;
	struct rpci_conf_profile profiles[RPCI_CONF_PROFILES_MAX]; /**< "profiles" */
	unsigned int nb_profiles;
};

/**
 * Load and validate a deployment file.
 *
 * @param path
 *   The file.
 * @param err
 *   Buffer for the error message ("file:line - what is wrong"); may be NULL.
 * @param err_len
 *   Size of err (RPCI_CONF_ERR_MAX is always enough).
 * @return
 *   The configuration, to be freed with rpci_conf_free(), or NULL with
 *   errno set: ENOENT or EACCES (cannot read the file), EINVAL (syntax error
 *   or bad content, message in err), ENOMEM.
 */
struct rpci_conf *rpci_conf_load(const char *path, char *err, size_t err_len);

/**
 * Load and validate a deployment held in a string (tests, fuzzing).
 *
 * @param text
 *   The file's content, NUL-terminated.
 * @param name
 *   Name used for the file in error messages.
 * @param err
 *   Buffer for the error message; may be NULL.
 * @param err_len
 *   Size of err.
 * @return
 *   As rpci_conf_load(), errno EINVAL or ENOMEM.
 */
struct rpci_conf *rpci_conf_load_string(const char *text, const char *name, char *err,
					size_t err_len);

/**
 * Free a configuration.
 *
 * @param conf
 *   The configuration; NULL is ignored.
 */
void rpci_conf_free(struct rpci_conf *conf);

/**
 * Find a host by name.
 *
 * @param conf
 *   The configuration.
 * @param name
 *   Host name.
 * @return
 *   The host, or NULL with errno ENOENT.
 */
const struct rpci_conf_host *rpci_conf_host_find(const struct rpci_conf *conf, const char *name);

/**
 * Index of a host in the file (its identity on the fabric: requester ids,
 * key files).
 *
 * @param conf
 *   The configuration.
 * @param host
 *   One of its hosts.
 * @return
 *   The index, or -ENOENT if host is not one of conf's hosts.
 */
int rpci_conf_host_index(const struct rpci_conf *conf, const struct rpci_conf_host *host);

/**
 * Find a host by MAC address.
 *
 * @param conf
 *   The configuration.
 * @param mac
 *   The address.
 * @return
 *   The host, or NULL with errno ENOENT.
 */
const struct rpci_conf_host *rpci_conf_host_by_mac(const struct rpci_conf *conf,
						   const uint8_t mac[6]);

/**
 * Find a device of a server host by name.
 *
 * @param host
 *   A server host.
 * @param name
 *   Device name, or NULL or "" for the host's first device.
 * @return
 *   The device, or NULL with errno ENOENT.
 */
const struct rpci_conf_device *rpci_conf_device_find(const struct rpci_conf_host *host,
						     const char *name);

/**
 * Index of a device within its host (its function number on the fabric).
 *
 * @param host
 *   A server host.
 * @param dev
 *   One of its devices.
 * @return
 *   The index, or -ENOENT if dev is not one of host's devices.
 */
int rpci_conf_device_index(const struct rpci_conf_host *host, const struct rpci_conf_device *dev);

/**
 * Find a personality profile by name.
 *
 * @param conf
 *   The configuration.
 * @param name
 *   Profile name.
 * @return
 *   The profile, or NULL with errno ENOENT.
 */
const struct rpci_conf_profile *rpci_conf_profile_find(const struct rpci_conf *conf,
						       const char *name);

/**
 * Parse a PCI address: "DDDD:BB:DD.F" or "BB:DD.F" (hexadecimal; domain 0
 * when absent; device 0..0x1f, function 0..7).
 *
 * @param s
 *   The text.
 * @param domain, bus, dev, func
 *   Set to its parts.
 * @return
 *   0, or -EINVAL.
 */
int rpci_conf_pci_address_parse(const char *s, uint16_t *domain, uint8_t *bus, uint8_t *dev,
				uint8_t *func);

/**
 * Name of an access rule's kind: "config-read", "config", "bar-read", "bar-rw".
 *
 * @param allow
 *   The kind.
 * @return
 *   The name, or "?" for a value out of range.
 */
const char *rpci_conf_pci_allow_name(enum rpci_conf_pci_allow allow);

/** The name prefix of a vdev that is an rpci kernel-TCP port (lib/link), not EAL's. */
#define RPCI_CONF_TCP_VDEV_PREFIX "net_rpci_tcp"

/**
 * Whether a vdev string of the file names an rpci kernel-TCP port
 * ("net_rpci_tcpN,listen=..." or ",connect=..."): lib/link makes those
 * ports, EAL has no driver of that name and never sees them.
 *
 * @param vdev
 *   A vdev string; NULL gives false.
 * @return
 *   true for a kernel-TCP port, false otherwise.
 */
bool rpci_conf_vdev_is_tcp(const char *vdev);

/**
 * Build the EAL argument vector of a host.
 *
 * The vector starts with prog, then the arguments the host's "eal" group
 * gives (-l, -m, --no-huge, --no-pci, --file-prefix, --log-level, --vdev...,
 * extra), then user_argv. An option given in user_argv replaces the one the
 * file gives (for --vdev: all of the file's vdevs), so that EAL arguments
 * given on a command line before "--" are honoured.
 *
 * @param host
 *   The host.
 * @param prog
 *   argv[0] of the program.
 * @param user_argc
 *   Number of EAL arguments given by the user (may be 0).
 * @param user_argv
 *   Those arguments (not including argv[0]).
 * @param out_argc
 *   Set to the number of arguments in the vector.
 * @return
 *   A NULL-terminated vector whose strings are copies, to be freed with
 *   rpci_conf_eal_argv_free(), or NULL with errno ENOMEM.
 */
char **rpci_conf_eal_argv(const struct rpci_conf_host *host, const char *prog, int user_argc,
			  char *const user_argv[], int *out_argc);

/**
 * Free an argument vector made by rpci_conf_eal_argv().
 *
 * @param argv
 *   The vector; NULL is ignored.
 */
void rpci_conf_eal_argv_free(char **argv);

/**
 * Format a MAC address as "xx:xx:xx:xx:xx:xx".
 *
 * @param mac
 *   The address.
 * @param buf
 *   Output buffer, at least 18 bytes.
 * @param len
 *   Size of buf.
 * @return
 *   buf.
 */
char *rpci_conf_mac_str(const uint8_t mac[6], char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_CONF_H */
