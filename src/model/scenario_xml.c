/*
 * scenario_xml — reading scenario files: safe parsing with libxml2, the RelaxNG schema built
 * into the binary, a walk over the elements driven by one table per element, and `extends`.
 *
 * Each file is checked on its own, twice: by the walk (unknown elements and attributes, bad
 * values, duplicates, with our own messages) and by the schema, whose messages are kept only when
 * the walk found nothing wrong in that file, so that one problem is not reported twice. The walk
 * applies the file to the draft as it goes, base files first, so that an overlay changes only
 * the attributes it writes. The merged draft then goes to scn_build() (scenario.c).
 *
 * libxml2 never reaches standard error from here: its messages go to our handlers, installed for
 * the duration of scn_load() on the calling thread and restored afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <h2o/memory.h>
#include <h2o/string_.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>

#include "log.h"
#include "scenario_int.h"
#include "util.h"

/* scenarios/scenario.rng, NUL-terminated: built in, so that no lookup at run time can fail. */
__asm__(".section .rodata\n"
        ".global scn_schema_rng\n"
        "scn_schema_rng:\n"
        ".incbin \"scenarios/scenario.rng\"\n"
        ".byte 0\n"
        ".global scn_schema_rng_end\n"
        "scn_schema_rng_end:\n"
        ".previous\n");
extern const char scn_schema_rng[];

#define AT(base, off) ((void *)((char *)(base) + (off)))

/* Attribute tables, one per element, indexed by the SCN_A_* constants of scenario_int.h. */
#define ATTR(n, t, f, st, field)                                                                   \
    {                                                                                              \
        .name = n, .type = t, .flags = f, .off = offsetof(st, field)                               \
    }
#define RANGE(n, t, st, field, lo, hi)                                                             \
    {                                                                                              \
        .name = n, .type = t, .off = offsetof(st, field), .min = lo, .max = hi                     \
    }
#define ENUM(n, st, field, table, what)                                                            \
    {                                                                                              \
        .name = n, .type = SCN_T_ENUM, .off = offsetof(st, field), .values = table,                \
        .expected = what                                                                           \
    }
#define PAIR(n, t, f, st, f1, f2)                                                                  \
    {                                                                                              \
        .name = n, .type = t, .flags = f, .off = offsetof(st, f1), .off2 = offsetof(st, f2)        \
    }

#define DAYS_100Y (100 * 365 * 86400LL)

static const struct scn_attr scenario_attrs[] = {
    [SCN_A_SCENARIO_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_draft, name),
    [SCN_A_SCENARIO_EXTENDS] = ATTR("extends", SCN_T_TEXT, 0, struct scn_draft, extends),
};

static const struct scn_attr limits_attrs[] = {
    [SCN_A_LIMITS_IDLE] = RANGE("idle-timeout", SCN_T_TIMEOUT, struct scn_draft,
                                limits_v.idle_timeout_ms, 1, 86400000),
    [SCN_A_LIMITS_HANDSHAKE] = RANGE("handshake-timeout", SCN_T_TIMEOUT, struct scn_draft,
                                     limits_v.handshake_timeout_ms, 1, 86400000),
    [SCN_A_LIMITS_BODY] = RANGE("max-request-body", SCN_T_SIZE, struct scn_draft,
                                limits_v.max_request_body, 1, 2147483648LL),
    [SCN_A_LIMITS_CONNECT] = RANGE("backend-connect-timeout", SCN_T_TIMEOUT, struct scn_draft,
                                   limits_v.backend_connect_ms, 0, 600000),
};

static const struct scn_attr organization_attrs[] = {
    [SCN_A_ORG_DOMAIN] = ATTR("domain", SCN_T_DNS, 0, struct scn_draft, domain),
    [SCN_A_ORG_NETBIOS] = ATTR("netbios", SCN_T_COMPUTER, 0, struct scn_draft, netbios),
    [SCN_A_ORG_NTLMV1] = ATTR("ntlmv1", SCN_T_BOOL, 0, struct scn_draft, ntlmv1),
};

static const struct scn_attr account_attrs[] = {
    [SCN_A_ACCOUNT_SAM] = ATTR("sam", SCN_T_SAM, SCN_F_REQUIRED, struct scn_d_account, v.sam),
    [SCN_A_ACCOUNT_UPN] = ATTR("upn", SCN_T_MAILADDR, 0, struct scn_d_account, v.upn),
    [SCN_A_ACCOUNT_PASSWORD] = ATTR("password", SCN_T_TEXT, 0, struct scn_d_account, v.password),
    [SCN_A_ACCOUNT_DISPLAY] =
        ATTR("display-name", SCN_T_TEXT, 0, struct scn_d_account, v.display_name),
    [SCN_A_ACCOUNT_ADMIN] = ATTR("admin", SCN_T_BOOL, 0, struct scn_d_account, v.admin),
    [SCN_A_ACCOUNT_MAILBOX] =
        ATTR("mailbox", SCN_T_MAILADDR, SCN_F_EMPTY, struct scn_d_account, v.mailbox),
    [SCN_A_ACCOUNT_SERVER] =
        ATTR("server", SCN_T_COMPUTER, SCN_F_EMPTY, struct scn_d_account, server),
    [SCN_A_ACCOUNT_STATE] = ATTR("state", SCN_T_STATE, 0, struct scn_d_account, v.state),
    [SCN_A_ACCOUNT_REDIRECT] =
        ATTR("redirect-addr", SCN_T_MAILADDR, SCN_F_EMPTY, struct scn_d_account, v.redirect_addr),
    [SCN_A_ACCOUNT_PROXY] = PAIR("proxy-addresses", SCN_T_ADDRS, SCN_F_EMPTY, struct scn_d_account,
                                 v.proxy_addresses, v.num_proxy_addresses),
    [SCN_A_ACCOUNT_DATABASE] = ATTR("database", SCN_T_NAME, 0, struct scn_d_account, database),
};

static const struct scn_attr database_attrs[] = {
    [SCN_A_DB_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_database, name),
    [SCN_A_DB_SERVER] = ATTR("server", SCN_T_COMPUTER, 0, struct scn_d_database, server),
    [SCN_A_DB_GUID] = ATTR("guid", SCN_T_TEXT, 0, struct scn_d_database, guid),
};

static const struct scn_attr domain_attrs[] = {
    [SCN_A_DOMAIN_NAME] = ATTR("name", SCN_T_DNS, SCN_F_REQUIRED, struct scn_d_domain, v.name),
    [SCN_A_DOMAIN_TYPE] = ENUM("type", struct scn_d_domain, v.type, scn_domain_types,
                               "authoritative, internal-relay or external-relay"),
};

static const struct scn_attr certificate_attrs[] = {
    [SCN_A_CERT_ID] = ATTR("id", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_cert, v.id),
    [SCN_A_CERT_NAMES] = PAIR("names", SCN_T_NAMES, 0, struct scn_d_cert, v.names, v.num_names),
    [SCN_A_CERT_NOT_BEFORE] =
        RANGE("not-before", SCN_T_DURATION, struct scn_d_cert, v.not_before, -DAYS_100Y, DAYS_100Y),
    [SCN_A_CERT_NOT_AFTER] =
        RANGE("not-after", SCN_T_DURATION, struct scn_d_cert, v.not_after, -DAYS_100Y, DAYS_100Y),
    [SCN_A_CERT_KEY] = ATTR("key", SCN_T_KEY, 0, struct scn_d_cert, v.key),
    [SCN_A_CERT_KEY_BITS] = RANGE("key-bits", SCN_T_UINT, struct scn_d_cert, v.key_bits, 256, 8192),
    [SCN_A_CERT_DIGEST] = ATTR("digest", SCN_T_DIGEST, 0, struct scn_d_cert, v.digest),
    [SCN_A_CERT_ISSUER] = ATTR("issuer", SCN_T_NAME, 0, struct scn_d_cert, issuer),
    [SCN_A_CERT_CHAIN] =
        ENUM("chain", struct scn_d_cert, v.chain, scn_chains, "full, leaf or root"),
    [SCN_A_CERT_REVOKED] = ATTR("revoked", SCN_T_BOOL, 0, struct scn_d_cert, v.revoked),
};

static const struct scn_attr ca_attrs[] = {
    [SCN_A_CA_ID] = ATTR("id", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_ca, v.id),
    [SCN_A_CA_NAME] = ATTR("name", SCN_T_TEXT, 0, struct scn_d_ca, v.name),
    [SCN_A_CA_ISSUER] = ATTR("issuer", SCN_T_NAME, 0, struct scn_d_ca, issuer),
    [SCN_A_CA_NOT_BEFORE] =
        RANGE("not-before", SCN_T_DURATION, struct scn_d_ca, v.not_before, -DAYS_100Y, DAYS_100Y),
    [SCN_A_CA_NOT_AFTER] =
        RANGE("not-after", SCN_T_DURATION, struct scn_d_ca, v.not_after, -DAYS_100Y, DAYS_100Y),
    [SCN_A_CA_KEY] = ATTR("key", SCN_T_KEY, 0, struct scn_d_ca, v.key),
    [SCN_A_CA_KEY_BITS] = RANGE("key-bits", SCN_T_UINT, struct scn_d_ca, v.key_bits, 256, 8192),
    [SCN_A_CA_DIGEST] = ATTR("digest", SCN_T_DIGEST, 0, struct scn_d_ca, v.digest),
    [SCN_A_CA_REVOKED] = ATTR("revoked", SCN_T_BOOL, 0, struct scn_d_ca, v.revoked),
};

static const struct scn_attr server_attrs[] = {
    [SCN_A_SERVER_NAME] = ATTR("name", SCN_T_COMPUTER, SCN_F_REQUIRED, struct scn_d_server, v.name),
    [SCN_A_SERVER_FQDN] = ATTR("fqdn", SCN_T_DNS, 0, struct scn_d_server, v.fqdn),
    [SCN_A_SERVER_VERSION] = ATTR("version", SCN_T_VERSION, 0, struct scn_d_server, v.version),
    [SCN_A_SERVER_BUILD] = ATTR("build", SCN_T_BUILD, 0, struct scn_d_server, v.build),
    [SCN_A_SERVER_IP] = ATTR("ip", SCN_T_IP, SCN_F_EMPTY, struct scn_d_server, v.ip),
    [SCN_A_SERVER_STATE] =
        ENUM("state", struct scn_d_server, v.state, scn_server_states, "running, passive or dead"),
    [SCN_A_SERVER_ROLES] = ATTR("roles", SCN_T_ROLES, 0, struct scn_d_server, v.roles),
};

static const struct scn_attr service_attrs[] = {
    [SCN_A_SERVICE_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_service, name),
    [SCN_A_SERVICE_STATUS] =
        ENUM("status", struct scn_d_service, running, scn_service_statuses, "running or stopped"),
};

static const struct scn_attr ews_attrs[] = {
    [SCN_A_VDIR_INTERNAL] =
        ATTR("internal-url", SCN_T_URL, SCN_F_EMPTY, struct scn_d_server, v.ews.internal_url),
    [SCN_A_VDIR_EXTERNAL] =
        ATTR("external-url", SCN_T_URL, SCN_F_EMPTY, struct scn_d_server, v.ews.external_url),
    [SCN_A_VDIR_AUTH] = ATTR("auth", SCN_T_AUTH, 0, struct scn_d_server, v.ews.auth),
    [SCN_A_VDIR_DENY] =
        PAIR("deny", SCN_T_SAMS, SCN_F_EMPTY, struct scn_d_server, ews_deny.names, ews_deny.num),
    [SCN_A_VDIR_APP_POOL] = ENUM("app-pool", struct scn_d_server, v.ews.app_pool, scn_app_pools,
                                 "started, stopped, rapid-fail or queue-full"),
    [SCN_A_EWS_MRSPROXY] = ATTR("mrsproxy", SCN_T_BOOL, 0, struct scn_d_server, v.mrsproxy_enabled),
    [SCN_A_EWS_MRSMAX] = RANGE("mrsproxy-max-connections", SCN_T_UINT, struct scn_d_server,
                               v.mrsproxy_max_connections, 0, 100000),
};

static const struct scn_attr autodiscover_attrs[] = {
    [SCN_A_VDIR_INTERNAL] = ATTR("internal-url", SCN_T_URL, SCN_F_EMPTY, struct scn_d_server,
                                 v.autodiscover.internal_url),
    [SCN_A_VDIR_EXTERNAL] = ATTR("external-url", SCN_T_URL, SCN_F_EMPTY, struct scn_d_server,
                                 v.autodiscover.external_url),
    [SCN_A_VDIR_AUTH] = ATTR("auth", SCN_T_AUTH, 0, struct scn_d_server, v.autodiscover.auth),
    [SCN_A_VDIR_DENY] = PAIR("deny", SCN_T_SAMS, SCN_F_EMPTY, struct scn_d_server,
                             autodiscover_deny.names, autodiscover_deny.num),
    [SCN_A_VDIR_APP_POOL] = ENUM("app-pool", struct scn_d_server, v.autodiscover.app_pool,
                                 scn_app_pools, "started, stopped, rapid-fail or queue-full"),
    [SCN_A_AD_REDIRECT] = ATTR("redirect-url", SCN_T_URL, SCN_F_EMPTY, struct scn_d_server,
                               v.autodiscover.redirect_url),
};

static const struct scn_attr outlook_anywhere_attrs[] = {
    [SCN_A_OA_EXTERNAL] =
        ATTR("external-hostname", SCN_T_DNS, SCN_F_EMPTY, struct scn_d_server, v.oa_external_host),
};

static const struct scn_attr listener_attrs[] = {
    [SCN_A_LISTENER_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_listener, v.name),
    [SCN_A_LISTENER_ADDRESS] =
        PAIR("address", SCN_T_ADDRESS, 0, struct scn_d_listener, v.host, v.port),
    [SCN_A_LISTENER_TLS] = ATTR("tls", SCN_T_BOOL, 0, struct scn_d_listener, v.tls),
    [SCN_A_LISTENER_CERT] =
        ATTR("certificate", SCN_T_NAME, SCN_F_EMPTY, struct scn_d_listener, cert),
    [SCN_A_LISTENER_PROTOCOLS] =
        PAIR("protocols", SCN_T_PROTOCOLS, 0, struct scn_d_listener, v.tls_min, v.tls_max),
    [SCN_A_LISTENER_HTTP2] = ATTR("http2", SCN_T_BOOL, 0, struct scn_d_listener, v.http2),
    [SCN_A_LISTENER_SERVER] = ATTR("server", SCN_T_COMPUTER, 0, struct scn_d_listener, server),
    [SCN_A_LISTENER_HOSTS] =
        PAIR("hosts", SCN_T_HOSTS, SCN_F_EMPTY, struct scn_d_listener, v.hosts, v.num_hosts),
    [SCN_A_LISTENER_CIPHERS] =
        ATTR("ciphers", SCN_T_CIPHERS, SCN_F_EMPTY, struct scn_d_listener, v.ciphers),
    [SCN_A_LISTENER_SUITES] =
        ATTR("ciphersuites", SCN_T_SUITES, SCN_F_EMPTY, struct scn_d_listener, v.ciphersuites),
    [SCN_A_LISTENER_CLIENT_CERT] = ENUM("client-certificate", struct scn_d_listener, v.client_cert,
                                        scn_client_certs, "ignore, accept or require"),
    [SCN_A_LISTENER_CRL] = ATTR("crl", SCN_T_BOOL, 0, struct scn_d_listener, v.crl),
    [SCN_A_LISTENER_PORT_STATE] = ENUM("port-state", struct scn_d_listener, v.port_state,
                                       scn_port_states, "open, closed or filtered"),
};

static const struct scn_attr handshake_fault_attrs[] = {
    [SCN_A_HS_ACTION] = ENUM("action", struct scn_d_listener, v.hs.action, scn_hs_actions,
                             "hang, silent, alert, close-after-hello, reset or plain-http"),
    [SCN_A_HS_ALERT] = ENUM("alert", struct scn_d_listener, v.hs.alert, scn_alerts,
                            "a TLS alert name such as handshake_failure or unrecognized_name"),
    [SCN_A_HS_SNI] =
        ENUM("sni", struct scn_d_listener, v.hs.sni, scn_hs_snis, "any, none or unknown"),
    [SCN_A_HS_FIRST] = RANGE("first", SCN_T_UINT, struct scn_d_listener, v.hs.first, 0, 1000000000),
    [SCN_A_HS_EVERY] = RANGE("every", SCN_T_UINT, struct scn_d_listener, v.hs.every, 0, 1000000000),
};

static const struct scn_attr balancer_attrs[] = {
    [SCN_A_LB_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_listener, lb_v.name),
    [SCN_A_LB_MODE] =
        ENUM("mode", struct scn_d_listener, lb_v.layer7, scn_lb_modes, "layer4 or layer7"),
    [SCN_A_LB_POLICY] = ENUM("policy", struct scn_d_listener, lb_v.policy, scn_lb_policies,
                             "round-robin, least-connections, source, cookie or none"),
    [SCN_A_LB_CHECK] =
        ENUM("check", struct scn_d_listener, lb_v.check, scn_lb_checks, "tcp, http or none"),
    [SCN_A_LB_CHECK_PATH] =
        ATTR("check-path", SCN_T_TEXT, 0, struct scn_d_listener, lb_v.check_path),
    [SCN_A_LB_KEEP_CONNECTION] =
        ATTR("keep-connection", SCN_T_BOOL, 0, struct scn_d_listener, lb_v.keep_connection),
};

static const struct scn_attr member_attrs[] = {
    [SCN_A_MEMBER_SERVER] =
        ATTR("server", SCN_T_COMPUTER, SCN_F_REQUIRED, struct scn_d_member, server),
    [SCN_A_MEMBER_CERT] = ATTR("certificate", SCN_T_NAME, 0, struct scn_d_member, cert),
    [SCN_A_MEMBER_DOWN] = ATTR("down", SCN_T_FLAP, 0, struct scn_d_member, down),
};

static const struct scn_attr firewall_attrs[] = {
    [SCN_A_FW_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_listener, fw_v.name),
    [SCN_A_FW_DEFAULT] =
        ENUM("default", struct scn_d_listener, fw_v.def, scn_fw_defaults, "allow or deny"),
    [SCN_A_FW_SSL_OFFLOAD] =
        ATTR("ssl-offload", SCN_T_BOOL, 0, struct scn_d_listener, fw_v.ssl_offload),
    [SCN_A_FW_ADFS] = ATTR("adfs", SCN_T_DNS, 0, struct scn_d_listener, fw_v.adfs),
    /* netsh advfirewall ... logging maxfilesize: 1 to 32767 KB */
    [SCN_A_FW_LOG_SIZE] =
        RANGE("log-size", SCN_T_UINT, struct scn_d_listener, fw_v.log_kb, 1, 32767),
};

static const struct scn_attr rule_attrs[] = {
    [SCN_A_RULE_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_rule, v.name),
    [SCN_A_RULE_SOURCE] =
        PAIR("source", SCN_T_CIDRS, 0, struct scn_d_rule, v.sources, v.num_sources),
    [SCN_A_RULE_ACTION] =
        ENUM("action", struct scn_d_rule, v.action, scn_fw_actions, "allow, drop, reset or hang"),
};

static const struct scn_attr url_filter_attrs[] = {
    [SCN_A_UF_PATH] = ATTR("path", SCN_T_TEXT, SCN_F_REQUIRED, struct scn_d_url_filter, v.path),
    [SCN_A_UF_ACTION] = ENUM("action", struct scn_d_url_filter, v.action, scn_uf_actions,
                             "block-page, reset or hang"),
};

static const struct scn_attr publish_attrs[] = {
    [SCN_A_PUB_PATH] = ATTR("path", SCN_T_TEXT, SCN_F_REQUIRED, struct scn_d_publish, v.path),
    [SCN_A_PUB_PREAUTH] =
        ENUM("pre-auth", struct scn_d_publish, v.preauth, scn_preauths, "none, forms or adfs"),
};

static const struct scn_attr sni_filter_attrs[] = {
    [SCN_A_SF_HOST] = ATTR("host", SCN_T_TEXT, SCN_F_REQUIRED, struct scn_d_sni_filter, v.host),
    [SCN_A_SF_ACTION] =
        ENUM("action", struct scn_d_sni_filter, v.action, scn_uf_actions, "reset or hang"),
};

static const struct scn_attr sni_attrs[] = {
    [SCN_A_SNI_NAME] = ATTR("name", SCN_T_DNS, SCN_F_REQUIRED, struct scn_d_sni, v.name),
    [SCN_A_SNI_CERT] = ATTR("certificate", SCN_T_NAME, 0, struct scn_d_sni, cert),
};

static const struct scn_attr faults_attrs[] = {
    [SCN_A_FAULTS_SEED] = RANGE("seed", SCN_T_UINT, struct scn_draft, fault_seed, 0, 4294967295LL),
};

static const struct scn_attr fault_attrs[] = {
    [SCN_A_FAULT_NAME] = ATTR("name", SCN_T_NAME, SCN_F_REQUIRED, struct scn_d_fault, v.name),
    [SCN_A_FAULT_STAGE] = ENUM("stage", struct scn_d_fault, v.stage, scn_fault_stages,
                               "urlfilter, balancer, route, httpsys, ssl, auth, limits, frontend "
                               "or endpoint"),
    [SCN_A_FAULT_ACTION] = ENUM("action", struct scn_d_fault, v.action, scn_fault_actions,
                                "status, delay, reset, close, hang, truncate or bad-length"),
    [SCN_A_FAULT_STATUS] = RANGE("status", SCN_T_UINT, struct scn_d_fault, v.status, 100, 599),
    [SCN_A_FAULT_SUBSTATUS] =
        RANGE("substatus", SCN_T_UINT, struct scn_d_fault, v.substatus, 0, 999),
    [SCN_A_FAULT_WIN32] = RANGE("win32", SCN_T_UINT, struct scn_d_fault, v.win32, 0, 4294967295LL),
    [SCN_A_FAULT_BY] =
        ENUM("by", struct scn_d_fault, v.by, scn_fault_bys, "device, iis, frontend or backend"),
    [SCN_A_FAULT_CONTENT_TYPE] =
        ATTR("content-type", SCN_T_TEXT, 0, struct scn_d_fault, v.content_type),
    [SCN_A_FAULT_BODY] = ATTR("body", SCN_T_TEXT, SCN_F_EMPTY, struct scn_d_fault, v.body),
    [SCN_A_FAULT_BODY_FILE] = ATTR("body-file", SCN_T_TEXT, 0, struct scn_d_fault, body_file),
    [SCN_A_FAULT_DELAY] =
        RANGE("delay", SCN_T_TIMEOUT, struct scn_d_fault, v.delay_ms, 1, 86400000),
    [SCN_A_FAULT_BYTES] = RANGE("bytes", SCN_T_UINT, struct scn_d_fault, v.bytes, 0, 1000000000),
};

static const struct scn_attr when_attrs[] = {
    [SCN_A_WHEN_LISTENER] = ATTR("listener", SCN_T_NAME, 0, struct scn_d_fault, v.when.listener),
    [SCN_A_WHEN_SERVER] = ATTR("server", SCN_T_COMPUTER, 0, struct scn_d_fault, v.when.server),
    [SCN_A_WHEN_HOST] = ATTR("host", SCN_T_DNS, 0, struct scn_d_fault, v.when.host),
    [SCN_A_WHEN_PATH] = ATTR("path", SCN_T_TEXT, 0, struct scn_d_fault, v.when.path),
    [SCN_A_WHEN_METHOD] = ATTR("method", SCN_T_TEXT, 0, struct scn_d_fault, v.when.method),
    [SCN_A_WHEN_HEADER] = ATTR("header", SCN_T_TEXT, 0, struct scn_d_fault, v.when.header),
    [SCN_A_WHEN_SOURCE] =
        PAIR("source", SCN_T_CIDRS, 0, struct scn_d_fault, v.when.sources, v.when.num_sources),
    [SCN_A_WHEN_NTH] = RANGE("nth", SCN_T_UINT, struct scn_d_fault, v.when.nth, 1, 1000000000),
    [SCN_A_WHEN_EVERY] =
        RANGE("every", SCN_T_UINT, struct scn_d_fault, v.when.every, 1, 1000000000),
    [SCN_A_WHEN_FROM] = RANGE("from", SCN_T_UINT, struct scn_d_fault, v.when.from, 1, 1000000000),
    [SCN_A_WHEN_TO] = RANGE("to", SCN_T_UINT, struct scn_d_fault, v.when.to, 1, 1000000000),
    [SCN_A_WHEN_PERCENT] = RANGE("percent", SCN_T_UINT, struct scn_d_fault, v.when.percent, 0, 100),
    [SCN_A_WHEN_AFTER] =
        RANGE("after", SCN_T_TIMEOUT, struct scn_d_fault, v.when.after_ms, 1, 86400000),
    [SCN_A_WHEN_BEFORE] =
        RANGE("before", SCN_T_TIMEOUT, struct scn_d_fault, v.when.before_ms, 1, 86400000),
};

static const struct scn_attr fheader_attrs[] = {
    [SCN_A_FHEADER_NAME] = ATTR("name", SCN_T_TEXT, SCN_F_REQUIRED, struct scn_d_fheader, name),
    [SCN_A_FHEADER_VALUE] = ATTR("value", SCN_T_TEXT, SCN_F_EMPTY, struct scn_d_fheader, value),
};

/* A mark has room for SCN_MAX_ATTRS rows; the largest tables are these. */
_Static_assert(COUNTOF(account_attrs) <= SCN_MAX_ATTRS, "SCN_MAX_ATTRS too small");
_Static_assert(COUNTOF(certificate_attrs) <= SCN_MAX_ATTRS, "SCN_MAX_ATTRS too small");
_Static_assert(COUNTOF(listener_attrs) <= SCN_MAX_ATTRS, "SCN_MAX_ATTRS too small");
_Static_assert(COUNTOF(ews_attrs) <= SCN_MAX_ATTRS, "SCN_MAX_ATTRS too small");
_Static_assert(COUNTOF(ca_attrs) <= SCN_MAX_ATTRS, "SCN_MAX_ATTRS too small");
_Static_assert(COUNTOF(fault_attrs) <= SCN_MAX_ATTRS, "SCN_MAX_ATTRS too small");
_Static_assert(COUNTOF(when_attrs) <= SCN_MAX_ATTRS, "SCN_MAX_ATTRS too small");

/*
 * The elements. A keyed element is one object per key (compared without case) in a vector of
 * its parent's draft object; a singleton is a mark in its parent's draft object, and its
 * attributes are written into that same parent object.
 */
struct elem {
    const char *name;
    const struct scn_attr *attrs;
    size_t num_attrs;
    int key;     /* index of the key attribute; -1 for a singleton */
    size_t off;  /* in the parent's draft object: the vector (keyed) or the mark (singleton) */
    size_t size; /* keyed: size of one draft object */
    int text;    /* holds text, stored at text_off */
    size_t text_off;
    const struct elem *const *children; /* NULL-terminated */
};

#define KEYED(n, table, dtype, ptype, vec)                                                         \
    {                                                                                              \
        .name = n, .attrs = table, .num_attrs = COUNTOF(table), .key = 0,                          \
        .off = offsetof(ptype, vec), .size = sizeof(dtype)                                         \
    }
#define SINGLE(n, table, count, ptype, mark)                                                       \
    .name = n, .attrs = table, .num_attrs = count, .key = -1, .off = offsetof(ptype, mark)

static const struct elem account_elem =
    KEYED("account", account_attrs, struct scn_d_account, struct scn_draft, accounts);
static const struct elem domain_elem =
    KEYED("accepted-domain", domain_attrs, struct scn_d_domain, struct scn_draft, domains);
static const struct elem database_elem =
    KEYED("database", database_attrs, struct scn_d_database, struct scn_draft, databases);
static const struct elem *const organization_kids[] = {&account_elem, &domain_elem, &database_elem,
                                                       NULL};
static const struct elem organization_elem = {SINGLE("organization", organization_attrs,
                                                     COUNTOF(organization_attrs), struct scn_draft,
                                                     organization),
                                              .children = organization_kids};

static const struct elem certificate_elem =
    KEYED("certificate", certificate_attrs, struct scn_d_cert, struct scn_draft, certs);
static const struct elem ca_elem = KEYED("ca", ca_attrs, struct scn_d_ca, struct scn_draft, cas);
static const struct elem *const pki_kids[] = {&ca_elem, &certificate_elem, NULL};
static const struct elem pki_elem = {SINGLE("pki", NULL, 0, struct scn_draft, pki),
                                     .children = pki_kids};

static const struct elem ews_elem = {
    SINGLE("ews", ews_attrs, COUNTOF(ews_attrs), struct scn_d_server, ews)};
static const struct elem autodiscover_elem = {SINGLE("autodiscover", autodiscover_attrs,
                                                     COUNTOF(autodiscover_attrs),
                                                     struct scn_d_server, autodiscover)};
static const struct elem outlook_anywhere_elem = {SINGLE("outlook-anywhere", outlook_anywhere_attrs,
                                                         COUNTOF(outlook_anywhere_attrs),
                                                         struct scn_d_server, oa)};
static const struct elem service_elem =
    KEYED("service", service_attrs, struct scn_d_service, struct scn_d_server, services);
static const struct elem *const server_kids[] = {&ews_elem, &autodiscover_elem,
                                                 &outlook_anywhere_elem, &service_elem, NULL};
static const struct elem server_elem = {
    .name = "server",
    .attrs = server_attrs,
    .num_attrs = COUNTOF(server_attrs),
    .off = offsetof(struct scn_draft, servers),
    .size = sizeof(struct scn_d_server),
    .children = server_kids,
};

static const struct elem sni_elem =
    KEYED("sni", sni_attrs, struct scn_d_sni, struct scn_d_listener, sni);
static const struct elem handshake_fault_elem = {SINGLE("handshake-fault", handshake_fault_attrs,
                                                        COUNTOF(handshake_fault_attrs),
                                                        struct scn_d_listener, hs)};
static const struct elem member_elem =
    KEYED("member", member_attrs, struct scn_d_member, struct scn_d_listener, members);
static const struct elem *const balancer_kids[] = {&member_elem, NULL};
static const struct elem balancer_elem = {
    SINGLE("balancer", balancer_attrs, COUNTOF(balancer_attrs), struct scn_d_listener, lb),
    .children = balancer_kids};
static const struct elem rule_elem =
    KEYED("rule", rule_attrs, struct scn_d_rule, struct scn_d_listener, rules);
static const struct elem url_filter_elem = KEYED(
    "url-filter", url_filter_attrs, struct scn_d_url_filter, struct scn_d_listener, url_filters);
static const struct elem publish_elem =
    KEYED("publish", publish_attrs, struct scn_d_publish, struct scn_d_listener, publish);
static const struct elem sni_filter_elem = KEYED(
    "sni-filter", sni_filter_attrs, struct scn_d_sni_filter, struct scn_d_listener, sni_filters);
static const struct elem *const firewall_kids[] = {&rule_elem, &url_filter_elem, &publish_elem,
                                                   &sni_filter_elem, NULL};
static const struct elem firewall_elem = {
    SINGLE("firewall", firewall_attrs, COUNTOF(firewall_attrs), struct scn_d_listener, fw),
    .children = firewall_kids};
static const struct elem *const listener_kids[] = {&sni_elem, &handshake_fault_elem, &balancer_elem,
                                                   &firewall_elem, NULL};
static const struct elem listener_elem = {
    .name = "listener",
    .attrs = listener_attrs,
    .num_attrs = COUNTOF(listener_attrs),
    .off = offsetof(struct scn_draft, listeners),
    .size = sizeof(struct scn_d_listener),
    .children = listener_kids,
};

static const struct elem description_elem = {
    SINGLE("description", NULL, 0, struct scn_draft, description), .text = 1,
    .text_off = offsetof(struct scn_draft, description_text)};
static const struct elem limits_elem = {
    SINGLE("limits", limits_attrs, COUNTOF(limits_attrs), struct scn_draft, limits)};

static const struct elem when_elem = {
    SINGLE("when", when_attrs, COUNTOF(when_attrs), struct scn_d_fault, when)};
static const struct elem fheader_elem =
    KEYED("header", fheader_attrs, struct scn_d_fheader, struct scn_d_fault, headers);
static const struct elem *const fault_kids[] = {&when_elem, &fheader_elem, NULL};
static const struct elem fault_elem = {
    .name = "fault",
    .attrs = fault_attrs,
    .num_attrs = COUNTOF(fault_attrs),
    .off = offsetof(struct scn_draft, faults),
    .size = sizeof(struct scn_d_fault),
    .children = fault_kids,
};
static const struct elem *const faults_kids[] = {&fault_elem, NULL};
static const struct elem faults_elem = {
    SINGLE("faults", faults_attrs, COUNTOF(faults_attrs), struct scn_draft, faults_m),
    .children = faults_kids};

static const struct elem *const scenario_kids[] = {
    &description_elem, &limits_elem,   &organization_elem, &pki_elem,
    &server_elem,      &listener_elem, &faults_elem,       NULL};
static const struct elem scenario_elem = {
    SINGLE("scenario", scenario_attrs, COUNTOF(scenario_attrs), struct scn_draft, root),
    .children = scenario_kids};

/* Every element that has children, to say where a misplaced one belongs. */
static const struct elem *const parents[] = {&scenario_elem, &organization_elem, &pki_elem,
                                             &server_elem,   &listener_elem,     &balancer_elem,
                                             &firewall_elem, &faults_elem,       &fault_elem};

/* One scn_load() call. */
struct load {
    struct scn *s;
    struct scn_errors *errs;
    h2o_mem_pool_t tmp; /* the draft objects */
    struct scn_draft d;
    xmlRelaxNGPtr schema;
    const char *file; /* the file being read, as given or resolved (in s->pool) */
    const char *mem;  /* scn_load_mem(): the named document's bytes, read instead of a file */
    size_t mem_len;
    unsigned gen; /* files applied so far */
    int broken;   /* a file could not be used at all: no semantic checks on the rest */
    size_t depth; /* files in the extends chain being read */
    const char *chain[SCN_MAX_CHAIN], *real[SCN_MAX_CHAIN];
    /* libxml2 messages for the file being read */
    enum { PHASE_PARSE, PHASE_SCHEMA } phase;
    char parse_msg[512];
    unsigned parse_line, doctype_line, root_line;
    struct scn_errors schema_errs;
};

/* One problem, at LINE of the file being read. */
static void __attribute__((format(printf, 3, 4)))
report(struct load *ld, unsigned line, const char *fmt, ...)
{
    struct scn_where at = {ld->file, line};
    va_list ap;

    va_start(ap, fmt);
    scn_verror(ld->errs, &at, fmt, ap);
    va_end(ap);
}

static void on_xml_error(void *ctx, xmlErrorPtr e)
{
    struct load *ld = ctx;
    char msg[512];
    size_t len;

    if (e == NULL || e->level < XML_ERR_ERROR)
        return; /* warnings change nothing */
    snprintf(msg, sizeof(msg), "%s", e->message != NULL ? e->message : "error");
    for (len = strlen(msg); len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '); len--)
        msg[len - 1] = '\0';
    for (char *p = msg; (p = strchr(p, '\n')) != NULL;)
        *p = ' '; /* one line per problem */
    if (ld->phase == PHASE_PARSE) {
        /* the first error is the one to fix; the next ones are its consequences */
        if (ld->parse_msg[0] == '\0') {
            memcpy(ld->parse_msg, msg, len + 1);
            ld->parse_line = e->line > 0 ? (unsigned)e->line : 0;
        }
    } else {
        struct scn_where at = {ld->file, e->line > 0 ? (unsigned)e->line : 0};
        if (e->node != NULL && ((xmlNode *)e->node)->type == XML_ELEMENT_NODE)
            at.line = scn_line_of(e->node); /* where the element begins */
        if (at.line == 0)
            at.line = ld->root_line;
        scn_error(&ld->schema_errs, &at, "schema: %s", msg);
    }
}

static void on_xml_generic(void *ctx, const char *fmt, ...)
{
    /* only reached by libxml2 paths without a structured error; they are not ours */
    UNUSED(ctx);
    UNUSED(fmt);
}

/* Stops the parser at <!DOCTYPE: nothing it declares can then be expanded. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    xmlParserCtxtPtr p = ctx;
    struct load *ld = p->_private;

    UNUSED(name), UNUSED(ext), UNUSED(sys);
    ld->doctype_line = p->input != NULL && p->input->line > 0 ? (unsigned)p->input->line : 1;
    xmlStopParser(p);
}

/* The whole file in memory, NUL-terminated, at most SCN_MAX_FILE bytes; NULL (reported) when
 * it cannot be read or is larger. */
static char *read_file(struct load *ld, size_t *lenp)
{
    int fd;
    size_t len = 0, cap = 0;
    char *buf = NULL;
    struct stat st;
    ssize_t r;

    if (ld->mem != NULL && ld->depth == 0) {
        if (ld->mem_len > SCN_MAX_FILE) {
            report(ld, 0, "file too large (the limit is %u bytes)", SCN_MAX_FILE);
            return NULL;
        }
        buf = memcpy(h2o_mem_alloc(ld->mem_len + 1), ld->mem, ld->mem_len);
        buf[ld->mem_len] = '\0'; /* scan_tags() relies on it */
        *lenp = ld->mem_len;
        return buf;
    }
    fd = open(ld->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        report(ld, 0, "cannot open: %s", strerror(errno));
        goto fail;
    }
    if (S_ISREG(st.st_mode) && st.st_size > (off_t)SCN_MAX_FILE)
        goto too_large;
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    buf = h2o_mem_alloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap > SCN_MAX_FILE)
                goto too_large; /* grew while we read it, or not a regular file */
            cap = cap * 2 > SCN_MAX_FILE + 1 ? SCN_MAX_FILE + 1 : cap * 2;
            buf = h2o_mem_realloc(buf, cap);
        }
        if ((r = read(fd, buf + len, cap - len)) < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            report(ld, 0, "cannot read: %s", strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > SCN_MAX_FILE)
        goto too_large;
    buf[len] = '\0'; /* len < cap here; scan_tags() relies on it */
    close(fd);
    *lenp = len;
    return buf;
too_large:
    report(ld, 0, "file too large (the limit is %u bytes)", SCN_MAX_FILE);
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Parses BUF without network, entities or DTD; NULL (reported) when it is not acceptable. */
static xmlDoc *parse(struct load *ld, const char *buf, size_t len)
{
    xmlParserCtxtPtr p;
    xmlDoc *doc;

    if (len > INT_MAX || (p = xmlNewParserCtxt()) == NULL)
        h2o_fatal("out of memory");
    p->_private = ld;
    p->sax->internalSubset = on_doctype;
    ld->phase = PHASE_PARSE;
    ld->parse_msg[0] = '\0';
    ld->parse_line = ld->doctype_line = 0;
    doc =
        xmlCtxtReadMemory(p, buf, (int)len, ld->file, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
    if (ld->doctype_line != 0) {
        struct scn_where at = {ld->file, ld->doctype_line};
        scn_error(ld->errs, &at, "DOCTYPE is not allowed");
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc == NULL || !p->wellFormed) {
        struct scn_where at = {ld->file, ld->parse_line};
        scn_error(ld->errs, &at, "not well-formed: %s",
                  ld->parse_msg[0] != '\0' ? ld->parse_msg : "cannot parse the document");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(p);
    return doc;
}

static int in_ns(const xmlNode *n)
{
    return n->ns != NULL && strcmp((const char *)n->ns->href, SCN_NS) == 0;
}

static void walk(struct load *ld, const struct elem *e, void *parent, xmlNode *n);

/* The draft object of keyed element N: found by its key, or added; NULL (reported) if none. */
static void *keyed(struct load *ld, const struct elem *e, void *parent, xmlNode *n)
{
    const struct scn_attr *ka = &e->attrs[e->key];
    struct scn_vec *vec = AT(parent, e->off);
    xmlAttr *attr = xmlHasNsProp(n, (const xmlChar *)ka->name, NULL);
    xmlChar *raw = attr != NULL ? xmlNodeListGetString(n->doc, attr->children, 1) : NULL;
    void *fresh;
    const char *key;
    char why[200];

    if (attr == NULL) {
        report(ld, scn_line_of(n), "missing required attribute \"%s\" on <%s>", ka->name, e->name);
        return NULL;
    }
    fresh = memset(h2o_mem_alloc_pool(&ld->tmp, e->size), 0, e->size);
    if (scn_parse_value(&ld->s->pool, ka, raw != NULL ? (const char *)raw : "", fresh, why,
                        sizeof(why)) != 0) {
        report(ld, scn_attr_line(n, attr), "bad value \"%s\" for %s: %s",
               raw != NULL ? (const char *)raw : "", ka->name, why);
        xmlFree(raw);
        return NULL;
    }
    xmlFree(raw);
    key = *(const char **)AT(fresh, ka->off);
    for (size_t i = 0; i < vec->size; i++) {
        struct scn_mark *m = vec->entries[i];
        if (strcasecmp(*(const char **)AT(m, ka->off), key) != 0)
            continue;
        if (m->gen == ld->gen) {
            report(ld, scn_line_of(n), "duplicate %s \"%s\" (first defined at %s:%u)", e->name, key,
                   m->at.file, m->at.line);
            return NULL;
        }
        return m; /* an overlay: only what this element writes changes */
    }
    h2o_vector_reserve(&ld->tmp, vec, vec->size + 1);
    vec->entries[vec->size++] = fresh;
    return fresh;
}

/* Child element C of element E (whose draft object is OBJ). */
static void child(struct load *ld, const struct elem *e, void *obj, xmlNode *c)
{
    const char *prefix = c->ns != NULL && c->ns->prefix != NULL ? (const char *)c->ns->prefix : "";

    for (size_t i = 0; in_ns(c) && e->children != NULL && e->children[i] != NULL; i++)
        if (strcmp((const char *)c->name, e->children[i]->name) == 0) {
            walk(ld, e->children[i], obj, c);
            return;
        }
    for (size_t p = 0; in_ns(c) && p < COUNTOF(parents); p++)
        for (size_t i = 0; parents[p]->children[i] != NULL; i++)
            if (strcmp((const char *)c->name, parents[p]->children[i]->name) == 0) {
                report(ld, scn_line_of(c), "<%s> is not allowed in <%s> (it belongs in <%s>)",
                       c->name, e->name, parents[p]->name);
                return;
            }
    report(ld, scn_line_of(c), "unknown element <%s%s%s> in <%s>", prefix, *prefix ? ":" : "",
           c->name, e->name);
}

/* Applies element N (an E) to the draft: its attributes, its text, its children. */
static void walk(struct load *ld, const struct elem *e, void *parent, xmlNode *n)
{
    unsigned seen = 0;
    int text_reported = 0;
    struct scn_mark *m;
    void *obj = parent;
    char why[200];

    if (e->key >= 0) {
        if ((obj = keyed(ld, e, parent, n)) == NULL)
            return;
        m = obj;
    } else if ((m = AT(parent, e->off))->gen == ld->gen) {
        report(ld, scn_line_of(n), "duplicate <%s> (first at %s:%u)", e->name, m->at.file,
               m->at.line);
        return;
    }
    m->gen = ld->gen;
    m->at = (struct scn_where){ld->file, scn_line_of(n)};

    for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
        const struct scn_attr *row = NULL;
        xmlChar *v;
        size_t i;
        for (i = 0; a->ns == NULL && i < e->num_attrs && row == NULL; i++)
            if (strcmp((const char *)a->name, e->attrs[i].name) == 0)
                row = &e->attrs[i];
        if (row == NULL) {
            const char *prefix =
                a->ns != NULL && a->ns->prefix != NULL ? (const char *)a->ns->prefix : "";
            report(ld, scn_attr_line(n, a), "unknown attribute \"%s%s%s\" on <%s>", prefix,
                   *prefix ? ":" : "", a->name, e->name);
            continue;
        }
        i = (size_t)(row - e->attrs);
        seen |= 1u << i;
        m->attr[i] = (struct scn_where){ld->file, scn_attr_line(n, a)};
        if ((int)i == e->key)
            continue; /* applied by keyed() */
        v = xmlNodeListGetString(n->doc, a->children, 1);
        m->bad[i] = scn_parse_value(&ld->s->pool, row, v != NULL ? (const char *)v : "", obj, why,
                                    sizeof(why)) != 0;
        if (m->bad[i])
            report(ld, scn_attr_line(n, a), "bad value \"%s\" for %s: %s",
                   v != NULL ? (const char *)v : "", row->name, why);
        xmlFree(v);
    }
    for (size_t i = 0; i < e->num_attrs; i++)
        if ((e->attrs[i].flags & SCN_F_REQUIRED) != 0 && (seen & (1u << i)) == 0 &&
            (int)i != e->key)
            report(ld, scn_line_of(n), "missing required attribute \"%s\" on <%s>",
                   e->attrs[i].name, e->name);

    for (xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            child(ld, e, obj, c);
        } else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && !e->text &&
                   !text_reported && c->content != NULL &&
                   c->content[strspn((const char *)c->content, " \t\r\n")] != '\0') {
            report(ld, scn_line_of(c), "unexpected text in <%s>", e->name);
            text_reported = 1;
        }
    }
    if (e->text) {
        xmlChar *t = xmlNodeGetContent(n);
        *(const char **)AT(obj, e->text_off) =
            h2o_strdup(&ld->s->pool, t != NULL ? (const char *)t : "", SIZE_MAX).base;
        xmlFree(t);
    }
}

/* Validates DOC against the schema; its messages are kept in ld->schema_errs. */
static void validate(struct load *ld, xmlDoc *doc)
{
    xmlRelaxNGValidCtxtPtr vc;

    if (ld->schema == NULL || (vc = xmlRelaxNGNewValidCtxt(ld->schema)) == NULL)
        return;
    ld->phase = PHASE_SCHEMA;
    xmlRelaxNGSetValidStructuredErrors(vc, on_xml_error, ld);
    if (xmlRelaxNGValidateDoc(vc, doc) != 0 && ld->schema_errs.count == 0)
        report(ld, scn_line_of(xmlDocGetRootElement(doc)),
               "schema: the document does not validate");
    xmlRelaxNGFreeValidCtxt(vc);
}

static void load_file(struct load *ld, const char *path);

/* Loads the base that extends="NAME", written at LINE of the file being read, names. */
static void extend(struct load *ld, unsigned line, const char *name)
{
    char path[PATH_MAX], real[PATH_MAX], from[PATH_MAX];
    const char *file = ld->file;

    /* a document from memory has no folder of its own: its bases are the bundled scenarios */
    snprintf(from, sizeof(from), "%s/%s", scn_bundled_dir(), "-");
    if (*name == '\0') {
        report(ld, line, "bad value \"\" for extends: expected a scenario name or a path");
    } else if (ld->depth == SCN_MAX_CHAIN) {
        report(ld, line, "extends \"%s\": too deep (at most %d files in a chain)", name,
               SCN_MAX_CHAIN);
    } else if (scn_resolve_base(ld->mem != NULL && ld->depth == 1 ? from : file, name, path,
                                sizeof(path)) != 0 ||
               realpath(path, real) == NULL) {
        report(ld, line, "extends \"%s\": no such scenario", name);
    } else {
        for (size_t i = 0; i < ld->depth; i++) {
            if (strcmp(ld->real[i], real) != 0)
                continue;
            size_t len = strlen(path) + 1;
            for (size_t k = i; k < ld->depth; k++)
                len += strlen(ld->chain[k]) + 4;
            char *cycle = h2o_mem_alloc_pool(&ld->tmp, len);
            cycle[0] = '\0';
            for (size_t k = i; k < ld->depth; k++)
                strcat(strcat(cycle, ld->chain[k]), " -> ");
            report(ld, line, "extends \"%s\": cycle (%s%s)", name, cycle, path);
            ld->broken = 1;
            return;
        }
        load_file(ld, h2o_strdup(&ld->s->pool, path, SIZE_MAX).base);
        ld->file = file;
        return;
    }
    ld->broken = 1;
}

/* Reads PATH, applies what it extends, then applies PATH itself on top. */
static void load_file(struct load *ld, const char *path)
{
    char real[PATH_MAX], *buf;
    xmlDoc *doc = NULL;
    xmlNode *root;
    xmlChar *ext = NULL;
    unsigned before;
    size_t len;

    ld->file = path;
    if ((buf = read_file(ld, &len)) == NULL || (doc = parse(ld, buf, len)) == NULL) {
        free(buf);
        ld->broken = 1;
        return;
    }
    root = xmlDocGetRootElement(doc);
    scn_scan_tags(&ld->tmp, buf, buf + len, root);
    if (root == NULL || strcmp((const char *)root->name, "scenario") != 0 || !in_ns(root)) {
        report(ld, scn_line_of(root), "the root element must be <scenario xmlns=\"%s\">", SCN_NS);
        ld->broken = 1;
        goto done;
    }
    ld->chain[ld->depth] = path;
    ld->real[ld->depth] =
        h2o_strdup(&ld->tmp,
                   (ld->mem == NULL || ld->depth != 0) && realpath(path, real) != NULL ? real
                                                                                       : path,
                   SIZE_MAX)
            .base;
    ld->depth++;
    if ((ext = xmlGetNoNsProp(root, (const xmlChar *)"extends")) != NULL)
        extend(ld, scn_attr_line(root, xmlHasNsProp(root, (const xmlChar *)"extends", NULL)),
               (const char *)ext);

    ld->gen++;
    ld->root_line = scn_line_of(root);
    before = ld->errs->count;
    validate(ld, doc);
    walk(ld, &scenario_elem, &ld->d, root);
    if (ld->errs->count == before && ld->schema_errs.count != 0) {
        /* nothing of ours caught it: the schema's own words */
        ld->errs->text = h2o_mem_realloc(ld->errs->text, ld->errs->len + ld->schema_errs.len + 1);
        memcpy(ld->errs->text + ld->errs->len, ld->schema_errs.text, ld->schema_errs.len + 1);
        ld->errs->len += ld->schema_errs.len;
        ld->errs->count += ld->schema_errs.count;
    }
    scn_errors_free(&ld->schema_errs);
    ld->depth--;
done:
    xmlFree(ext);
    xmlFreeDoc(doc);
    free(buf);
}

/* The built-in schema, compiled once for the process (scn_cleanup() frees it). A compiled
 * RelaxNG schema is only read by validation, each with its own context, so the threads share it. */
static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static xmlRelaxNGPtr schema;

static void on_schema_error(void *ctx, xmlErrorPtr e)
{
    UNUSED(ctx), UNUSED(e); /* the built-in schema compiles, or every load says so */
}

static void compile_schema(void)
{
    xmlRelaxNGParserCtxtPtr pc;

    xmlInitParser();
    pc = xmlRelaxNGNewMemParserCtxt(scn_schema_rng, (int)strlen(scn_schema_rng));
    if (pc == NULL)
        h2o_fatal("out of memory");
    xmlRelaxNGSetParserStructuredErrors(pc, on_schema_error, NULL);
    schema = xmlRelaxNGParse(pc);
    xmlRelaxNGFreeParserCtxt(pc);
}

void scn_cleanup(void)
{
    xmlRelaxNGFree(schema);
    schema = NULL;
}

/* Loads the scenario named PATH, from MEM when it is not NULL, else from the file. */
static struct scn *load(const char *path, const char *mem, size_t mem_len, struct scn_errors *errs)
{
    struct load ld = {.errs = errs, .mem = mem, .mem_len = mem_len};
    unsigned before = errs->count;
    xmlStructuredErrorFunc old_serror;
    void *old_sctx;
    xmlGenericErrorFunc old_gerror;
    void *old_gctx;
    struct scn *s;

    pthread_once(&schema_once, compile_schema);
    old_serror = xmlStructuredError;
    old_sctx = xmlStructuredErrorContext;
    old_gerror = xmlGenericError;
    old_gctx = xmlGenericErrorContext;
    s = memset(h2o_mem_alloc(sizeof(*s)), 0, sizeof(*s));
    h2o_mem_init_pool(&s->pool);
    atomic_init(&s->refcnt, 1);
    s->file = h2o_strdup(&s->pool, path, SIZE_MAX).base;
    ld.s = s;
    h2o_mem_init_pool(&ld.tmp);

    xmlSetStructuredErrorFunc(&ld, on_xml_error);
    xmlSetGenericErrorFunc(&ld, on_xml_generic);
    if ((ld.schema = schema) != NULL) {
        load_file(&ld, s->file);
        if (!ld.broken)
            scn_build(s, &ld.d, errs);
    } else {
        scn_error(errs, NULL,
                  "internal error: the built-in schema (scenario.rng) does not compile");
    }
    xmlSetStructuredErrorFunc(old_sctx, old_serror);
    xmlSetGenericErrorFunc(old_gctx, old_gerror);

    h2o_mem_clear_pool(&ld.tmp);
    if (errs->count != before) {
        scn_unref(s);
        return NULL;
    }
    return s;
}

struct scn *scn_load(const char *path, struct scn_errors *errs)
{
    return load(path, NULL, 0, errs);
}

struct scn *scn_load_mem(const char *name, const char *buf, size_t len, struct scn_errors *errs)
{
    return load(name, buf != NULL ? buf : "", len, errs);
}
