/*
 * scenario_int.h — what the files of the scenario module share while a scenario is loaded.
 *
 * scenario_xml.c reads the files (the one named and every file it extends, base first) and
 * applies each of them, attribute by attribute, to a draft: one draft object per keyed element
 * (account, certificate, server, listener, sni) and one mark per singleton (description, limits,
 * organization, pki, ews, autodiscover, outlook-anywhere). Each draft object holds the model
 * struct it will become plus a mark recording where it and each of its attributes were last
 * written, so that an overlay changes only what it writes and a message can point at the right
 * line.
 *
 * scenario_lines.c finds the line of every start tag and attribute as written (libxml2 knows
 * only where a start tag ends). scenario_value.c parses attribute values by type. scenario.c then
 * turns the merged draft into the model (scn_build): defaults that depend on other values,
 * references, uniqueness and the required values, every problem reported.
 *
 * Ownership: draft objects live in the loader's temporary pool; every string they point to is
 * already in the scenario's pool, so the model can keep them.
 */
#ifndef MRSMOCK_SCENARIO_INT_H
#define MRSMOCK_SCENARIO_INT_H

#include <stdarg.h>
#include <libxml/tree.h>

#include "scenario.h"

#define SCN_NS "urn:mrsmock:scenario:1"
#define SCN_MAX_ATTRS 16        /* attributes of the largest element (checked at build time) */
#define SCN_MAX_CHAIN 8         /* files in one extends chain, the named one included */
#define SCN_MAX_FILE (1u << 20) /* bytes; larger files are refused */
#define SCN_MAX_NAMES 32        /* names of one list attribute (names, hosts, deny) */
#define SCN_MAX_CIDRS 256       /* ranges of one source attribute */

/*
 * Attribute types. Each says what it writes at the row's offsets; the field there must have
 * exactly that C type.
 */
enum scn_type {
    SCN_T_TEXT,     /* any text -> const char * */
    SCN_T_NAME,     /* [A-Za-z0-9._-]{1,64} -> const char * (scenario, certificate, listener) */
    SCN_T_COMPUTER, /* NetBIOS name [A-Za-z0-9-]{1,15} -> const char * (server, netbios) */
    SCN_T_SAM,      /* sAMAccountName: 1..20 characters, none of "/\[]:;|=,+*?<>@ -> const char * */
    SCN_T_DNS,      /* DNS name -> const char * */
    SCN_T_MAILADDR, /* local@domain -> const char * */
    SCN_T_BOOL,     /* true|false -> int */
    SCN_T_UINT,     /* decimal integer in [min, max] -> unsigned */
    SCN_T_SIZE,     /* decimal integer in [min, max] -> size_t */
    SCN_T_DURATION, /* [+-]N(s|m|h|d), seconds in [min, max] -> int64_t seconds */
    SCN_T_TIMEOUT,  /* N(ms|s|m), milliseconds in [min, max] -> unsigned milliseconds */
    SCN_T_AUTH,     /* methods, space-separated, may be empty -> unsigned SCN_AUTH_* */
    SCN_T_VERSION,  /* 2010|2013|2016|2019 -> enum scn_version */
    SCN_T_BUILD,    /* N.N.N.N -> unsigned[4] */
    SCN_T_URL,      /* absolute http(s) URL -> const char * */
    SCN_T_IP,       /* IPv4 or IPv6 address -> const char * */
    SCN_T_KEY,      /* ec|rsa -> enum scn_key_type */
    SCN_T_DIGEST,   /* sha1|sha256|sha384|sha512 -> const char * */
    SCN_T_NAMES,    /* DNS names or IP addresses -> const char ** at off, size_t count at off2 */
    SCN_T_HOSTS,    /* DNS names, no wildcard -> const char ** at off, size_t count at off2 */
    SCN_T_SAMS,     /* sAMAccountNames -> const char ** at off, size_t count at off2 */
    SCN_T_ADDRESS,  /* IPv4:port or [IPv6]:port -> const char * host at off, unsigned at off2 */
    SCN_T_PROTOCOLS, /* tls1.0 .. tls1.3, space-separated -> unsigned min at off, max at off2 */
    SCN_T_STATE,     /* enabled|disabled|locked|password-expired -> enum scn_account_state */
    SCN_T_ENUM,      /* one name of the row's table -> int (the matching value) */
    SCN_T_CIPHERS,   /* an OpenSSL cipher string OpenSSL accepts -> const char * */
    SCN_T_SUITES,    /* OpenSSL TLS 1.3 ciphersuites OpenSSL accepts -> const char * */
    SCN_T_ADDRS,     /* SMTP addresses, each may start with "smtp:" -> const char ** at off (the
                        prefix dropped), size_t count at off2 */
    SCN_T_FLAP,      /* "A-B[/P]" arrivals, or "As-Bs[/Ps]" seconds -> struct scn_flap */
    SCN_T_ROLES,     /* mailbox, client-access, space-separated, at least one -> unsigned */
    SCN_T_CIDRS,     /* 1 to SCN_MAX_CIDRS addresses or ADDRESS/BITS ranges, IPv4 or IPv6 ->
                        struct scn_cidr * at off, size_t count at off2 */
};

/* One name of a fixed vocabulary and what it stores (SCN_T_ENUM); tables end with a NULL name. */
struct scn_enum {
    const char *name;
    int value;
};

/* SCN_F_EMPTY: "" is accepted and stores NULL: none, or $null for URLs; for a list type, ""
 * (or only white space) stores NULL and a count of 0. */
#define SCN_F_EMPTY 0x1u
#define SCN_F_REQUIRED 0x2u /* must be written on the element in every file (keys, name) */

/* One row of an element's attribute table (redis standardConfig style). */
struct scn_attr {
    const char *name;
    enum scn_type type;
    unsigned flags;
    size_t off, off2; /* in the element's draft object */
    int64_t min, max;
    const struct scn_enum *values; /* SCN_T_ENUM: the vocabulary */
    const char *expected;          /* SCN_T_ENUM: what the message says was expected */
};

/* Attribute indexes: the rows of each element's table in scenario_xml.c, in this order. */
enum { SCN_A_SCENARIO_NAME, SCN_A_SCENARIO_EXTENDS };
enum {
    SCN_A_LIMITS_IDLE,
    SCN_A_LIMITS_HANDSHAKE,
    SCN_A_LIMITS_BODY,
    SCN_A_LIMITS_CONNECT,
    SCN_A_LIMITS_HEADER_WAIT,
    SCN_A_LIMITS_ENTITY_BODY,
    SCN_A_LIMITS_MIN_SEND_RATE,
};
enum { SCN_A_ORG_DOMAIN, SCN_A_ORG_NETBIOS, SCN_A_ORG_NTLMV1 };
enum {
    SCN_A_ACCOUNT_SAM,
    SCN_A_ACCOUNT_UPN,
    SCN_A_ACCOUNT_PASSWORD,
    SCN_A_ACCOUNT_DISPLAY,
    SCN_A_ACCOUNT_ADMIN,
    SCN_A_ACCOUNT_MAILBOX,
    SCN_A_ACCOUNT_SERVER,
    SCN_A_ACCOUNT_STATE,
    SCN_A_ACCOUNT_REDIRECT,
    SCN_A_ACCOUNT_PROXY,
    SCN_A_ACCOUNT_DATABASE,
};
enum { SCN_A_DOMAIN_NAME, SCN_A_DOMAIN_TYPE };
enum { SCN_A_DB_NAME, SCN_A_DB_SERVER, SCN_A_DB_GUID };
enum {
    SCN_A_CERT_ID,
    SCN_A_CERT_NAMES,
    SCN_A_CERT_NOT_BEFORE,
    SCN_A_CERT_NOT_AFTER,
    SCN_A_CERT_KEY,
    SCN_A_CERT_KEY_BITS,
    SCN_A_CERT_DIGEST,
    SCN_A_CERT_ISSUER,
    SCN_A_CERT_CHAIN,
    SCN_A_CERT_REVOKED,
};
enum {
    SCN_A_CA_ID,
    SCN_A_CA_NAME,
    SCN_A_CA_ISSUER,
    SCN_A_CA_NOT_BEFORE,
    SCN_A_CA_NOT_AFTER,
    SCN_A_CA_KEY,
    SCN_A_CA_KEY_BITS,
    SCN_A_CA_DIGEST,
    SCN_A_CA_REVOKED,
};
enum {
    SCN_A_SERVER_NAME,
    SCN_A_SERVER_FQDN,
    SCN_A_SERVER_VERSION,
    SCN_A_SERVER_BUILD,
    SCN_A_SERVER_IP,
    SCN_A_SERVER_STATE,
    SCN_A_SERVER_ROLES,
};
enum { SCN_A_SERVICE_NAME, SCN_A_SERVICE_STATUS };
/* ews and autodiscover share their first four rows */
enum {
    SCN_A_VDIR_INTERNAL,
    SCN_A_VDIR_EXTERNAL,
    SCN_A_VDIR_AUTH,
    SCN_A_VDIR_DENY,
    SCN_A_VDIR_APP_POOL,
    SCN_A_EWS_MRSPROXY,
    SCN_A_EWS_MRSMAX
};
enum { SCN_A_AD_REDIRECT = SCN_A_VDIR_APP_POOL + 1 };
enum { SCN_A_OA_EXTERNAL };
enum {
    SCN_A_LISTENER_NAME,
    SCN_A_LISTENER_ADDRESS,
    SCN_A_LISTENER_TLS,
    SCN_A_LISTENER_CERT,
    SCN_A_LISTENER_PROTOCOLS,
    SCN_A_LISTENER_HTTP2,
    SCN_A_LISTENER_SERVER,
    SCN_A_LISTENER_HOSTS,
    SCN_A_LISTENER_CIPHERS,
    SCN_A_LISTENER_SUITES,
    SCN_A_LISTENER_CLIENT_CERT,
    SCN_A_LISTENER_CRL,
    SCN_A_LISTENER_PORT_STATE,
};
enum { SCN_A_SNI_NAME, SCN_A_SNI_CERT };
enum {
    SCN_A_LB_NAME,
    SCN_A_LB_MODE,
    SCN_A_LB_POLICY,
    SCN_A_LB_CHECK,
    SCN_A_LB_CHECK_PATH,
    SCN_A_LB_KEEP_CONNECTION
};
enum { SCN_A_MEMBER_SERVER, SCN_A_MEMBER_CERT, SCN_A_MEMBER_DOWN };
enum { SCN_A_FW_NAME, SCN_A_FW_DEFAULT, SCN_A_FW_SSL_OFFLOAD, SCN_A_FW_ADFS, SCN_A_FW_LOG_SIZE };
enum { SCN_A_RULE_NAME, SCN_A_RULE_SOURCE, SCN_A_RULE_ACTION };
enum { SCN_A_UF_PATH, SCN_A_UF_ACTION };
enum { SCN_A_PUB_PATH, SCN_A_PUB_PREAUTH };
enum { SCN_A_SF_HOST, SCN_A_SF_ACTION };
enum { SCN_A_HS_ACTION, SCN_A_HS_ALERT, SCN_A_HS_SNI, SCN_A_HS_FIRST, SCN_A_HS_EVERY };
enum { SCN_A_FAULTS_SEED };
enum {
    SCN_A_FAULT_NAME,
    SCN_A_FAULT_STAGE,
    SCN_A_FAULT_ACTION,
    SCN_A_FAULT_STATUS,
    SCN_A_FAULT_SUBSTATUS,
    SCN_A_FAULT_WIN32,
    SCN_A_FAULT_BY,
    SCN_A_FAULT_CONTENT_TYPE,
    SCN_A_FAULT_BODY,
    SCN_A_FAULT_BODY_FILE,
    SCN_A_FAULT_DELAY,
    SCN_A_FAULT_BYTES,
};
enum {
    SCN_A_WHEN_LISTENER,
    SCN_A_WHEN_SERVER,
    SCN_A_WHEN_HOST,
    SCN_A_WHEN_PATH,
    SCN_A_WHEN_METHOD,
    SCN_A_WHEN_HEADER,
    SCN_A_WHEN_SOURCE,
    SCN_A_WHEN_NTH,
    SCN_A_WHEN_EVERY,
    SCN_A_WHEN_FROM,
    SCN_A_WHEN_TO,
    SCN_A_WHEN_PERCENT,
    SCN_A_WHEN_AFTER,
    SCN_A_WHEN_BEFORE,
};
enum { SCN_A_FHEADER_NAME, SCN_A_FHEADER_VALUE };

/* Where an object and each of its attributes were last written. */
struct scn_mark {
    struct scn_where at;                  /* the element that last touched the object */
    struct scn_where attr[SCN_MAX_ATTRS]; /* per attribute row; line 0: never written */
    unsigned char bad[SCN_MAX_ATTRS];     /* its last value was rejected (and reported) */
    unsigned gen;                         /* the file (1, 2, ...) that last touched it; 0: none */
};

/* A vector of draft objects (h2o_vector_reserve works on it). */
struct scn_vec {
    void **entries;
    size_t size, capacity;
};

/* Draft objects: the mark first, then the model struct, then names still to be resolved. */
struct scn_d_account {
    struct scn_mark m;
    struct scn_account v;
    const char *server, *database;
};

struct scn_d_database {
    struct scn_mark m;
    const char *name, *server, *guid;
};

struct scn_d_domain {
    struct scn_mark m;
    struct scn_accepted_domain v;
};

struct scn_d_cert {
    struct scn_mark m;
    struct scn_cert v;
    const char *issuer; /* "lab", "self" or a CA id, resolved by scn_build */
};

struct scn_d_ca {
    struct scn_mark m;
    struct scn_ca v;
    const char *issuer;
};

/* Account names as written (deny), resolved to accounts by scn_build. */
struct scn_d_names {
    const char **names;
    size_t num;
};

/* A <service> of a server: its name as written, and whether it runs. */
struct scn_d_service {
    struct scn_mark m;
    const char *name;
    int running;
};

struct scn_d_server {
    struct scn_mark m, ews, autodiscover, oa; /* oa: <outlook-anywhere> */
    struct scn_server v;
    struct scn_d_names ews_deny, autodiscover_deny;
    struct scn_vec services; /* struct scn_d_service * */
};

struct scn_d_sni {
    struct scn_mark m;
    struct scn_sni v;
    const char *cert;
};

struct scn_d_member {
    struct scn_mark m;
    const char *server; /* the key */
    const char *cert;
    struct scn_flap down;
};

struct scn_d_rule {
    struct scn_mark m;
    struct scn_fw_rule v;
};

struct scn_d_url_filter {
    struct scn_mark m;
    struct scn_url_filter v;
};

struct scn_d_publish {
    struct scn_mark m;
    struct scn_publish v;
};

struct scn_d_sni_filter {
    struct scn_mark m;
    struct scn_sni_filter v;
};

struct scn_d_fheader {
    struct scn_mark m;
    const char *name, *value;
};

struct scn_d_fault {
    struct scn_mark m, when; /* when: <when> */
    struct scn_fault v;
    const char *body_file;
    struct scn_vec headers; /* struct scn_d_fheader * */
};

struct scn_d_listener {
    struct scn_mark m, hs, lb, fw; /* hs: <handshake-fault>; lb: <balancer>; fw: <firewall> */
    struct scn_listener v;
    const char *cert, *server;
    struct scn_vec sni; /* struct scn_d_sni * */
    struct scn_balancer lb_v;
    struct scn_vec members; /* struct scn_d_member * */
    struct scn_firewall fw_v;
    struct scn_vec rules;       /* struct scn_d_rule * */
    struct scn_vec url_filters; /* struct scn_d_url_filter * */
    struct scn_vec publish;     /* struct scn_d_publish * */
    struct scn_vec sni_filters; /* struct scn_d_sni_filter * */
};

/* The whole draft; the scenario-level values are kept here until scn_build copies them. */
struct scn_draft {
    struct scn_mark root, description, limits, organization, pki, faults_m;
    const char *name, *extends, *description_text, *domain, *netbios;
    int ntlmv1;
    struct scn_limits limits_v;
    struct scn_vec accounts, certs, servers, listeners; /* struct scn_d_<kind> * */
    struct scn_vec cas;                                 /* struct scn_d_ca * */
    struct scn_vec domains;                             /* struct scn_d_domain * */
    struct scn_vec databases;                           /* struct scn_d_database * */
    unsigned fault_seed;
    struct scn_vec faults; /* struct scn_d_fault * */
};

/*
 * The elements. A keyed element is one object per key (compared without case) in a vector of
 * its parent's draft object; a singleton is a mark in its parent's draft object, and its
 * attributes are written into that same parent object.
 */
struct scn_elem {
    const char *name;
    const struct scn_attr *attrs;
    size_t num_attrs;
    int key;     /* index of the key attribute; -1 for a singleton */
    size_t off;  /* in the parent's draft object: the vector (keyed) or the mark (singleton) */
    size_t size; /* keyed: size of one draft object */
    int text;    /* holds text, stored at text_off */
    size_t text_off;
    const struct scn_elem *const *children; /* NULL-terminated */
};

/* The root element and every element that has children, NULL-terminated (scenario_schema.c). */
extern const struct scn_elem scn_scenario_elem;
extern const struct scn_elem *const scn_parents[];

/* The vocabularies of SCN_T_ENUM rows (scenario.c). */
extern const struct scn_enum scn_app_pools[], scn_domain_types[], scn_server_states[],
    scn_service_statuses[], scn_lb_modes[], scn_lb_policies[], scn_lb_checks[];
extern const struct scn_enum scn_fw_defaults[], scn_fw_actions[], scn_uf_actions[],
    scn_port_states[], scn_preauths[];
extern const struct scn_enum scn_fault_actions[], scn_fault_bys[], scn_fault_stages[];
extern const struct scn_enum scn_chains[], scn_client_certs[], scn_hs_actions[], scn_hs_snis[],
    scn_alerts[];

/*
 * Parses VALUE as the type of row A and stores it at BASE + A->off (and off2); strings are
 * copied into POOL. Returns 0, or -1 with what was expected written into WHY.
 */
int scn_parse_value(h2o_mem_pool_t *pool, const struct scn_attr *a, const char *value, void *base,
                    char *why, size_t whylen);

/*
 * The file that `extends="NAME"` written in file FROM means: a path (NAME has a slash or ends in
 * .xml) relative to FROM's folder; otherwise NAME.xml beside FROM, then NAME.xml among the
 * bundled scenarios. Returns 0 with the path in OUT, or -1 when there is no such file.
 */
int scn_resolve_base(const char *from, const char *name, char *out, size_t outlen);

/*
 * Checks that V is an absolute URL, http:// or https://host[:port][/path...], and sets HOST and
 * HLEN to its host (an IPv6 address without its brackets). Returns 0 or -1.
 */
int scn_url_host(const char *v, const char **host, size_t *hlen);

/*
 * Where elements and attributes begin (scenario_lines.c). scn_scan_tags() scans the bytes from P
 * to END of a well-formed document (a NUL at END) and hangs on each element of the tree under
 * ROOT the line of its '<' and of each of its attributes, allocated from POOL, which must outlive
 * the calls below; a document it cannot pair with its tree keeps libxml2's lines.
 * scn_line_of() is the line where element N begins (0 for NULL); scn_attr_line() the line where
 * its attribute A is written, else the element's line.
 */
void scn_scan_tags(h2o_mem_pool_t *pool, const char *p, const char *end, xmlNode *root);
unsigned scn_line_of(const xmlNode *n);
unsigned scn_attr_line(const xmlNode *n, const xmlAttr *a);

/*
 * Appends "file:line: message\n" to ERRS ("file: message" when AT has no line, the bare
 * message when AT is NULL). Out of memory aborts.
 */
void scn_error(struct scn_errors *errs, const struct scn_where *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void scn_verror(struct scn_errors *errs, const struct scn_where *at, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * Turns the merged draft D into the model S: defaults, references, uniqueness, required values.
 * Every problem is appended to ERRS. Returns 0, or -1 when anything was reported.
 */
int scn_build(struct scn *s, struct scn_draft *d, struct scn_errors *errs);

/*
 * The PKI part of scn_build (scenario_pki.c): the <ca> elements in issuing order, the
 * certificates with their issuers, and the checks that need both. Needs the listeners' drafts
 * only to know whether one publishes CRLs. Problems go to ERRS.
 */
void scn_build_pki(struct scn *s, struct scn_draft *d, struct scn_errors *errs);
/*
 * The topology part of scn_build (scenario_topology.c): accepted domains, servers' states and
 * services (after the servers are built); a listener's <balancer> (before its hosts are derived,
 * which come from its members); then the checks across listeners.
 */
void scn_build_topology(struct scn *s, struct scn_draft *d, struct scn_errors *errs);
void scn_build_balancer(struct scn *s, struct scn_d_listener *dl, struct scn_listener *v,
                        struct scn_errors *errs);
void scn_check_balancers(struct scn *s, struct scn_errors *errs);
void scn_check_roles(struct scn *s, struct scn_errors *errs);
/*
 * The perimeter part (scenario_perimeter.c): a listener's <firewall> with its rules and URL
 * filters (after its balancer); then the checks across listeners (device names are log
 * folders).
 */
void scn_build_firewall(struct scn *s, struct scn_d_listener *dl, struct scn_listener *v,
                        struct scn_errors *errs);
void scn_check_firewalls(struct scn *s, struct scn_errors *errs);

/*
 * The fault rules (scenario_faults.c): <faults seed> and its <fault> elements, each with its
 * <when> and <header>s, turned into s->faults; references (listener, server) checked, a
 * body-file read (relative to the scenario file that names it).
 */
void scn_build_faults(struct scn *s, struct scn_draft *d, struct scn_errors *errs);
/* Whether a mark's attribute I was never written, or its value rejected: the default applies. */
int scn_unset(const struct scn_mark *m, int i);
/* Where attribute I was written, else where the object was. */
const struct scn_where *scn_where_attr(const struct scn_mark *m, int i);

#endif
