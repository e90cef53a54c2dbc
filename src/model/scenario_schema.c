/*
 * scenario_schema — the walk's tables (scenario_xml.c walks them): each element with its
 * attributes, their types, ranges and vocabularies, where each value goes in the draft, and
 * which elements each one holds. A new attribute is a row here, a member of its draft object
 * (scenario_int.h), the RelaxNG schema (scenarios/scenario.rng) and its documentation
 * (scenarios/README.md).
 */
#include <stddef.h>

#include "scenario_int.h"
#include "util.h"

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
    [SCN_A_LIMITS_HEADER_WAIT] = RANGE("header-wait-timeout", SCN_T_TIMEOUT, struct scn_draft,
                                       limits_v.header_wait_ms, 1, 86400000),
    [SCN_A_LIMITS_ENTITY_BODY] = RANGE("entity-body-timeout", SCN_T_TIMEOUT, struct scn_draft,
                                       limits_v.entity_body_ms, 1, 86400000),
    [SCN_A_LIMITS_MIN_SEND_RATE] = RANGE("min-bytes-per-second", SCN_T_UINT, struct scn_draft,
                                         limits_v.min_bytes_per_second, 0, 1000000000),
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

#define KEYED(n, table, dtype, ptype, vec)                                                         \
    {                                                                                              \
        .name = n, .attrs = table, .num_attrs = COUNTOF(table), .key = 0,                          \
        .off = offsetof(ptype, vec), .size = sizeof(dtype)                                         \
    }
#define SINGLE(n, table, count, ptype, mark)                                                       \
    .name = n, .attrs = table, .num_attrs = count, .key = -1, .off = offsetof(ptype, mark)

static const struct scn_elem account_elem =
    KEYED("account", account_attrs, struct scn_d_account, struct scn_draft, accounts);
static const struct scn_elem domain_elem =
    KEYED("accepted-domain", domain_attrs, struct scn_d_domain, struct scn_draft, domains);
static const struct scn_elem database_elem =
    KEYED("database", database_attrs, struct scn_d_database, struct scn_draft, databases);
static const struct scn_elem *const organization_kids[] = {&account_elem, &domain_elem,
                                                           &database_elem, NULL};
static const struct scn_elem organization_elem = {SINGLE("organization", organization_attrs,
                                                         COUNTOF(organization_attrs),
                                                         struct scn_draft, organization),
                                                  .children = organization_kids};

static const struct scn_elem certificate_elem =
    KEYED("certificate", certificate_attrs, struct scn_d_cert, struct scn_draft, certs);
static const struct scn_elem ca_elem =
    KEYED("ca", ca_attrs, struct scn_d_ca, struct scn_draft, cas);
static const struct scn_elem *const pki_kids[] = {&ca_elem, &certificate_elem, NULL};
static const struct scn_elem pki_elem = {SINGLE("pki", NULL, 0, struct scn_draft, pki),
                                         .children = pki_kids};

static const struct scn_elem ews_elem = {
    SINGLE("ews", ews_attrs, COUNTOF(ews_attrs), struct scn_d_server, ews)};
static const struct scn_elem autodiscover_elem = {SINGLE("autodiscover", autodiscover_attrs,
                                                         COUNTOF(autodiscover_attrs),
                                                         struct scn_d_server, autodiscover)};
static const struct scn_elem outlook_anywhere_elem = {
    SINGLE("outlook-anywhere", outlook_anywhere_attrs, COUNTOF(outlook_anywhere_attrs),
           struct scn_d_server, oa)};
static const struct scn_elem service_elem =
    KEYED("service", service_attrs, struct scn_d_service, struct scn_d_server, services);
static const struct scn_elem *const server_kids[] = {&ews_elem, &autodiscover_elem,
                                                     &outlook_anywhere_elem, &service_elem, NULL};
static const struct scn_elem server_elem = {
    .name = "server",
    .attrs = server_attrs,
    .num_attrs = COUNTOF(server_attrs),
    .off = offsetof(struct scn_draft, servers),
    .size = sizeof(struct scn_d_server),
    .children = server_kids,
};

static const struct scn_elem sni_elem =
    KEYED("sni", sni_attrs, struct scn_d_sni, struct scn_d_listener, sni);
static const struct scn_elem handshake_fault_elem = {
    SINGLE("handshake-fault", handshake_fault_attrs, COUNTOF(handshake_fault_attrs),
           struct scn_d_listener, hs)};
static const struct scn_elem member_elem =
    KEYED("member", member_attrs, struct scn_d_member, struct scn_d_listener, members);
static const struct scn_elem *const balancer_kids[] = {&member_elem, NULL};
static const struct scn_elem balancer_elem = {
    SINGLE("balancer", balancer_attrs, COUNTOF(balancer_attrs), struct scn_d_listener, lb),
    .children = balancer_kids};
static const struct scn_elem rule_elem =
    KEYED("rule", rule_attrs, struct scn_d_rule, struct scn_d_listener, rules);
static const struct scn_elem url_filter_elem = KEYED(
    "url-filter", url_filter_attrs, struct scn_d_url_filter, struct scn_d_listener, url_filters);
static const struct scn_elem publish_elem =
    KEYED("publish", publish_attrs, struct scn_d_publish, struct scn_d_listener, publish);
static const struct scn_elem sni_filter_elem = KEYED(
    "sni-filter", sni_filter_attrs, struct scn_d_sni_filter, struct scn_d_listener, sni_filters);
static const struct scn_elem *const firewall_kids[] = {&rule_elem, &url_filter_elem, &publish_elem,
                                                       &sni_filter_elem, NULL};
static const struct scn_elem firewall_elem = {
    SINGLE("firewall", firewall_attrs, COUNTOF(firewall_attrs), struct scn_d_listener, fw),
    .children = firewall_kids};
static const struct scn_elem *const listener_kids[] = {&sni_elem, &handshake_fault_elem,
                                                       &balancer_elem, &firewall_elem, NULL};
static const struct scn_elem listener_elem = {
    .name = "listener",
    .attrs = listener_attrs,
    .num_attrs = COUNTOF(listener_attrs),
    .off = offsetof(struct scn_draft, listeners),
    .size = sizeof(struct scn_d_listener),
    .children = listener_kids,
};

static const struct scn_elem description_elem = {
    SINGLE("description", NULL, 0, struct scn_draft, description), .text = 1,
    .text_off = offsetof(struct scn_draft, description_text)};
static const struct scn_elem limits_elem = {
    SINGLE("limits", limits_attrs, COUNTOF(limits_attrs), struct scn_draft, limits)};

static const struct scn_elem when_elem = {
    SINGLE("when", when_attrs, COUNTOF(when_attrs), struct scn_d_fault, when)};
static const struct scn_elem fheader_elem =
    KEYED("header", fheader_attrs, struct scn_d_fheader, struct scn_d_fault, headers);
static const struct scn_elem *const fault_kids[] = {&when_elem, &fheader_elem, NULL};
static const struct scn_elem fault_elem = {
    .name = "fault",
    .attrs = fault_attrs,
    .num_attrs = COUNTOF(fault_attrs),
    .off = offsetof(struct scn_draft, faults),
    .size = sizeof(struct scn_d_fault),
    .children = fault_kids,
};
static const struct scn_elem *const faults_kids[] = {&fault_elem, NULL};
static const struct scn_elem faults_elem = {
    SINGLE("faults", faults_attrs, COUNTOF(faults_attrs), struct scn_draft, faults_m),
    .children = faults_kids};

static const struct scn_elem *const scenario_kids[] = {
    &description_elem, &limits_elem,   &organization_elem, &pki_elem,
    &server_elem,      &listener_elem, &faults_elem,       NULL};
const struct scn_elem scn_scenario_elem = {
    SINGLE("scenario", scenario_attrs, COUNTOF(scenario_attrs), struct scn_draft, root),
    .children = scenario_kids};

/* Every element that has children, to say where a misplaced one belongs. */
const struct scn_elem *const scn_parents[] = {
    &scn_scenario_elem, &organization_elem, &pki_elem,    &server_elem, &listener_elem,
    &balancer_elem,     &firewall_elem,     &faults_elem, &fault_elem,  NULL};
