/*
 * scenario — the organisation a scenario file describes, as an immutable in-memory model.
 *
 * A scenario is loaded whole (with its `extends` chain), validated against the schema and
 * checked for references, and only then handed out: nothing partial is ever served. After
 * scn_load() returns, the model does not change; it is shared by every worker thread and kept
 * alive by a reference count, so a reload (SIGHUP) swaps in a new one while requests in flight
 * finish on the old. Every object records where it was written (`at`) for messages.
 *
 * Ownership: everything reachable from a struct scn lives in its pool and dies with the last
 * scn_unref().
 */
#ifndef MRSMOCK_SCENARIO_H
#define MRSMOCK_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <h2o/memory.h>

/* Exchange versions the model knows (the marketing year). */
enum scn_version {
    SCN_V2010 = 2010,
    SCN_V2013 = 2013,
    SCN_V2016 = 2016,
    SCN_V2019 = 2019,
};

/* Authentication methods of an IIS virtual directory (Get-WebServicesVirtualDirectory). */
#define SCN_AUTH_BASIC 0x1u
#define SCN_AUTH_NTLM 0x2u      /* WindowsAuthentication provider "NTLM" */
#define SCN_AUTH_NEGOTIATE 0x4u /* WindowsAuthentication provider "Negotiate" */
#define SCN_AUTH_OAUTH 0x8u
#define SCN_AUTH_WINDOWS (SCN_AUTH_NTLM | SCN_AUTH_NEGOTIATE)

/* TLS protocol versions, as on the wire (same values as OpenSSL's TLS1_x_VERSION). */
#define SCN_TLS10 0x0301
#define SCN_TLS11 0x0302
#define SCN_TLS12 0x0303
#define SCN_TLS13 0x0304

/* Where a definition was written: for `file:line: message`. */
struct scn_where {
    const char *file;
    unsigned line;
};

struct scn_server;

/* Account states that make a logon fail as a wrong password does, each with its own status. */
enum scn_account_state {
    SCN_ACCOUNT_ENABLED,
    SCN_ACCOUNT_DISABLED,         /* state="disabled" */
    SCN_ACCOUNT_LOCKED,           /* state="locked" (locked out) */
    SCN_ACCOUNT_PASSWORD_EXPIRED, /* state="password-expired" */
};

struct scn_database;

#define SCN_PASSWORD_PAD 64 /* most passwords fit: CRYPTO_memcmp takes 7 instructions a byte */

struct scn_account {
    const char *sam;      /* sAMAccountName (required), e.g. "admin" */
    const char *upn;      /* userPrincipalName; default "<sam>@<organization domain>" */
    const char *password; /* required; a lab secret by design */
    /* made from it once, for a Basic logon's comparison (auth_logon): the password padded with
     * zeros to SCN_PASSWORD_PAD bytes (when it fits), its length and its SHA-256 */
    uint8_t password_pad[SCN_PASSWORD_PAD];
    size_t password_len;
    uint8_t password_sha256[32];
    const char *display_name;  /* default: sam */
    const char *mailbox;       /* primary SMTP address; NULL when the account has no mailbox */
    struct scn_server *server; /* the mailbox's server; NULL exactly when mailbox is NULL */
    int admin;                 /* holds the rights to use the MRS Proxy (Organization Management) */
    enum scn_account_state state; /* default SCN_ACCOUNT_ENABLED */
    const char *redirect_addr;    /* the mailbox moved (to the cloud): Autodiscover answers
                                     redirectAddr to this address; NULL: no redirect */
    struct scn_where at;
    /* added with issue 9 */
    const char **proxy_addresses; /* further SMTP addresses (proxyAddresses "smtp:"), as written
                                     without their prefix; the primary is mailbox */
    size_t num_proxy_addresses;
    struct scn_database *database; /* the mailbox's database (<account database>); NULL: the
                                      mailbox names its server directly */
};

/* A mailbox database (Get-MailboxDatabase): its active copy is mounted on a Mailbox server,
 * which is where the front end proxies requests for its mailboxes (X-TargetDatabase, the
 * MRS Proxy's routing hint, names it by name or GUID). */
struct scn_database {
    const char *name;          /* the key, e.g. "DB01" */
    struct scn_server *server; /* where it is mounted; required */
    char guid[37];             /* its object GUID: the guid attribute, else stable from the name */
    struct scn_where at;
};

/* An accepted domain of the organisation (Get-AcceptedDomain). */
enum scn_domain_type {
    SCN_DOMAIN_AUTHORITATIVE,
    SCN_DOMAIN_INTERNAL_RELAY,
    SCN_DOMAIN_EXTERNAL_RELAY,
};

struct scn_accepted_domain {
    const char *name; /* DNS name, e.g. "contoso.com" */
    enum scn_domain_type type;
    int is_default; /* the default accepted domain (the organisation's domain) */
    struct scn_where at;
};

/* What a server is, beyond its version: a running machine, one whose Exchange services are
 * disabled ("passive"), or an object left in Active Directory whose machine is gone ("dead"). */
enum scn_server_state {
    SCN_SERVER_RUNNING,
    SCN_SERVER_PASSIVE,
    SCN_SERVER_DEAD,
};

/* Server roles (<server roles>). A 2016 or 2019 server is always both: its Mailbox role holds
 * the Client Access services. */
#define SCN_ROLE_MAILBOX 0x1u       /* a back end: mailboxes, and on 2013+ the MRS */
#define SCN_ROLE_CLIENT_ACCESS 0x2u /* a front end (2013+) or the CAS (2010, with the MRS) */
#define SCN_ROLES_ALL (SCN_ROLE_MAILBOX | SCN_ROLE_CLIENT_ACCESS)

/* The Windows services whose state the model knows (what Get-Service prints). */
enum scn_service_id {
    SCN_SVC_MRS, /* MSExchangeMailboxReplication: the MRS Proxy's back end needs it */
    SCN_SVC_COUNT,
};

/* One IIS virtual directory of an Exchange server (EWS or Autodiscover). */
/* The state of the IIS application pool a virtual directory runs in. */
enum scn_app_pool {
    SCN_POOL_STARTED,
    SCN_POOL_STOPPED,    /* stopped by an administrator: HTTP.sys answers 503, "Disabled" */
    SCN_POOL_QUEUE_FULL, /* running, but its request queue is full (queueLength, 1000, requests
                            waiting for a worker that hangs): 503, "QueueFull" */
    SCN_POOL_RAPID_FAIL, /* stopped by rapid-fail protection (its worker kept crashing): 503,
                            "AppOffline" */
};

struct scn_vdir {
    const char *internal_url;  /* absolute https URL, or NULL ($null) */
    const char *external_url;  /* absolute https URL, or NULL ($null) */
    unsigned auth;             /* SCN_AUTH_* enabled on the directory */
    struct scn_account **deny; /* IIS authorization rule: accounts denied after logon (403) */
    size_t num_deny;
    const char *redirect_url;   /* Autodiscover only: answer every request with redirectUrl */
    enum scn_app_pool app_pool; /* its application pool's state; default started */
    const char *app_pool_name;  /* MSExchangeServicesAppPool (EWS, the MRS Proxy) or
                                   MSExchangeAutodiscoverAppPool */
    struct scn_where at;
};

struct scn_server {
    const char *name;         /* NetBIOS computer name, e.g. "EX1" (required) */
    const char *fqdn;         /* default "<name in lower case>.<organization domain>" */
    enum scn_version version; /* default 2016 */
    unsigned build[4];        /* e.g. 15.1.2507.6; default: the version's last CU (see loader) */
    const char *ip;           /* s-ip written in its logs; NULL: the local address of the socket */
    struct scn_vdir ews;
    struct scn_vdir autodiscover;
    int mrsproxy_enabled;              /* MRSProxyEnabled on the EWS directory; default 0 */
    unsigned mrsproxy_max_connections; /* MRSProxyMaxConnections; default 100 */
    const char *oa_external_host; /* Outlook Anywhere ExternalHostname: Autodiscover's EXPR Server
                                     and ExternalMailboxServer; default: the host of the EWS
                                     external URL; NULL: none */
    struct scn_where at;
    /* added with issue 9 */
    enum scn_server_state state;        /* default running */
    unsigned roles;                     /* SCN_ROLE_*; default both */
    int service_running[SCN_SVC_COUNT]; /* per service: 1 running, 0 stopped; default running,
                                           stopped on a passive server; nothing runs on a dead
                                           one */
};

enum scn_key_type {
    SCN_KEY_EC,  /* ECDSA on P-256 */
    SCN_KEY_RSA, /* RSA of key_bits bits */
};

/* What a server sends with its certificate (a <certificate>'s chain attribute). */
enum scn_chain {
    SCN_CHAIN_FULL, /* the leaf and every intermediate, not the root (what IIS sends) */
    SCN_CHAIN_LEAF, /* the leaf alone: "missing intermediate" when it has an issuing CA */
    SCN_CHAIN_ROOT, /* the leaf, the intermediates and the root as well */
};

/*
 * A certificate authority of the scenario besides the lab root (<ca>): an intermediate issued by
 * the lab root or by another <ca>, or a root of its own (issuer="self") that clients do not
 * trust. Its certificate and key are made by pki_ like any other and cached the same way.
 */
struct scn_ca {
    const char *id;        /* required, unique among the CAs; "lab" and "self" are reserved */
    const char *name;      /* subject CN; default "mrsmock <id> CA" */
    struct scn_ca *issuer; /* the CA that signs it; NULL: the lab root (or itself, see below) */
    int self_signed;       /* issuer="self": a root of its own */
    int64_t not_before;    /* relative to now, as for certificates; default -365 days */
    int64_t not_after;     /* default +1825 days */
    enum scn_key_type key; /* default EC */
    unsigned key_bits;     /* 256 for EC; RSA default 2048 */
    const char *digest;    /* the digest its issuer signs it with; default "sha256" */
    int revoked;           /* listed in its issuer's CRL */
    struct scn_where at;
};

struct scn_cert {
    const char *id;     /* required, unique */
    const char **names; /* subjectAltName dNSNames, at least one; names[0] is also the CN */
    size_t num_names;
    int64_t not_before; /* seconds relative to now (negative: in the past); default -30 days */
    int64_t not_after;  /* seconds relative to now; default +365 days */
    enum scn_key_type key;
    unsigned key_bits;  /* 256 for EC; RSA default 2048 */
    const char *digest; /* signature digest name for OpenSSL, default "sha256" */
    struct scn_where at;
    /* added with issue 5; all zero means what the fields above always meant */
    struct scn_ca *issuer; /* NULL: the lab root CA (unless self_signed) */
    int self_signed;       /* issuer="self": signed with its own key */
    enum scn_chain chain;  /* what the server sends with it; default SCN_CHAIN_FULL */
    int revoked;           /* listed in its issuer's CRL */
};

/* A certificate chosen by the SNI name the client sent. */
struct scn_sni {
    const char *name; /* host name, compared case-insensitively */
    struct scn_cert *cert;
    struct scn_where at;
};

/* Client certificates, as IIS's SSL settings name them. */
enum scn_client_cert {
    SCN_CLIENT_CERT_IGNORE,  /* none asked for (default) */
    SCN_CLIENT_CERT_ACCEPT,  /* asked for; none, or any, is accepted */
    SCN_CLIENT_CERT_REQUIRE, /* asked for; the handshake fails without one the lab CA issued */
};

/* What a listener does instead of a TLS handshake (<handshake-fault action>). */
enum scn_hs_action {
    SCN_HS_NONE,       /* no fault: every handshake goes to the TLS stack */
    SCN_HS_HANG,       /* read the ClientHello, never answer (a device swallowing it) */
    SCN_HS_SILENT,     /* accept TCP, never speak (what comes is read and dropped) */
    SCN_HS_ALERT,      /* answer the ClientHello with a fatal alert, then close */
    SCN_HS_CLOSE,      /* send the ServerHello, then close */
    SCN_HS_RESET,      /* read the ClientHello, then reset the connection */
    SCN_HS_PLAIN_HTTP, /* answer in plain HTTP, as HTTP.sys does on a port without TLS */
};

/* Which ClientHellos a handshake fault applies to, by the SNI name they carry. */
enum scn_hs_sni {
    SCN_HS_SNI_ANY,     /* all (default) */
    SCN_HS_SNI_NONE,    /* those without SNI */
    SCN_HS_SNI_UNKNOWN, /* those whose name no <sni> and no name of the listener's certificate
                           covers (no SNI at all is not "unknown") */
};

/* A listener's handshake fault (<handshake-fault>), on a deterministic schedule: handshakes are
 * counted from 1 in arrival order across all worker threads; handshake N is affected when
 * (first == 0 || N <= first) && (every == 0 || N % every == 0). */
struct scn_hs_fault {
    enum scn_hs_action action; /* SCN_HS_NONE: no fault */
    unsigned alert; /* alert description for SCN_HS_ALERT; default 40 (handshake_failure) */
    enum scn_hs_sni sni;
    unsigned first, every; /* 0: unbounded */
    struct scn_where at;
};

/* How a balancer decides (<balancer policy>). */
enum scn_lb_policy {
    SCN_LB_ROUND_ROBIN,       /* members in turn (default) */
    SCN_LB_LEAST_CONNECTIONS, /* the member with the fewest open connections, then in order */
    SCN_LB_SOURCE,            /* source-address affinity: a hash of the client's address */
    SCN_LB_COOKIE,            /* layer 7: the member named by its cookie, else in turn */
    SCN_LB_NONE,              /* no balancing: the first member that is up (fail-over) */
};

/* The balancer's health check (<balancer check>). */
enum scn_lb_check {
    SCN_LB_CHECK_TCP,  /* the member accepts a connection (default) */
    SCN_LB_CHECK_HTTP, /* the member's check path answers 200 (healthcheck.htm) */
    SCN_LB_CHECK_NONE, /* every member is taken as up */
};

/* A deterministic schedule (<member down>): arrivals FROM..TO of every PERIOD (0: once), or the
 * seconds FROM..TO since the scenario came up, of every PERIOD seconds. FROM 0: never. */
struct scn_flap {
    unsigned from, to, period;
    int seconds;
};

struct scn_member {
    struct scn_server *server;
    struct scn_cert *cert; /* layer 4: the certificate its IIS binding serves; NULL: the
                              listener's */
    struct scn_flap down;  /* when its application pools are offline (rapid-fail) */
    struct scn_where at;
};

#define SCN_MAX_MEMBERS 64 /* members of one balancer */

/* A load balancer on a listener (<balancer>): a device of its own, with its log. */
struct scn_balancer {
    const char *name; /* required: its log folder under <state>/logs */
    int layer7;       /* 0: layer 4 (default), per connection before TLS, the member's own
                         certificate; 1: layer 7, TLS ends on the balancer, per request */
    enum scn_lb_policy policy;
    enum scn_lb_check check;
    const char *check_path; /* for an HTTP check; default /EWS/healthcheck.htm */
    int keep_connection;    /* layer 7: a client connection's requests stay on the member its
                               first one went to (what NTLM needs); default 0 */
    struct scn_member *members;
    size_t num_members;
    struct scn_where at;
};

/* What a firewall does with a connection (<rule action>, <firewall default>). Without privileges
 * and inside 127.0.0.0/8 a SYN cannot be left unanswered once listen() runs: the kernel
 * completes the TCP handshake, so a dropped connection is one accepted and never answered (the
 * client times out in its TLS handshake, not in its connect). */
enum scn_fw_action {
    SCN_FW_ALLOW, /* passed on to the balancer and the server */
    SCN_FW_DROP,  /* held, never answered, until the client gives up; logged DROP */
    SCN_FW_RESET, /* reset at once (a TCP RST, SO_LINGER 0); logged DROP */
    SCN_FW_HANG,  /* let through by the rules (logged ALLOW), then held and never answered, as a
                     proxying firewall with no way to its server does */
};

/* An address range: the first BITS bits of ADDR (IPv4 in the first 4 bytes when !V6). */
struct scn_cidr {
    unsigned char addr[16];
    unsigned bits;
    int v6;
};

/* A source-address rule of a firewall (<rule>), tried in order; the first that matches decides. */
struct scn_fw_rule {
    const char *name; /* the key; written in the log's info field */
    struct scn_cidr *sources;
    size_t num_sources;
    enum scn_fw_action action; /* default allow */
    struct scn_where at;
};

/* What a URL filter does with a request it matches (<url-filter action>). */
enum scn_uf_action {
    SCN_UF_BLOCK_PAGE, /* the device's own 403 page; nothing reaches the server */
    SCN_UF_RESET,      /* the connection reset, no answer */
    SCN_UF_HANG,       /* no answer, the connection held until the client gives up */
};

/* A path the firewall's TLS inspection filters (<url-filter>): the decrypted request's path,
 * compared without case, itself or below it. */
struct scn_url_filter {
    const char *path; /* the key, starting with "/" */
    enum scn_uf_action action;
    struct scn_where at;
};

/* A host name a firewall without TLS inspection filters on (<sni-filter>): the ClientHello's
 * server_name, matched as a certificate name is (a "*." wildcard covers one label). It sees no
 * request, so no path: the whole host is stopped, before TLS. */
struct scn_sni_filter {
    const char *host;          /* the key */
    enum scn_uf_action action; /* reset (default) or hang */
    struct scn_where at;
};

/* How a reverse proxy's publishing rule authenticates a request before it passes it on
 * (<publish pre-auth>): the device's own logon, which no Exchange client can go through. */
enum scn_preauth {
    SCN_PREAUTH_NONE,  /* passed on as it came (what Exchange's publishing guides require) */
    SCN_PREAUTH_FORMS, /* forms-based, as TMG and UAG do it: a 302 to the device's logon form */
    SCN_PREAUTH_ADFS,  /* AD FS, as the Web Application Proxy does it: a 307 to the AD FS server */
};

/* A path a reverse proxy publishes (<publish>): the request's path, compared without case,
 * itself or below it. With any, a path none of them covers is refused by the device. */
struct scn_publish {
    const char *path; /* the key, starting with "/" */
    enum scn_preauth preauth;
    struct scn_where at;
};

/* A firewall in front of a listener (<firewall>): a device of its own, with its log. It may
 * also be a reverse proxy (TMG, UAG, the Web Application Proxy, an offloading balancer): its
 * publishing rules, and whether it forwards the decrypted requests over plain HTTP. */
struct scn_firewall {
    const char *name;          /* required: its log folder under <state>/logs */
    enum scn_fw_action def;    /* for a source no rule matches: allow (default) or drop */
    struct scn_fw_rule *rules; /* in order */
    size_t num_rules;
    struct scn_url_filter *url_filters; /* in order */
    size_t num_url_filters;
    struct scn_where at;
    struct scn_publish *publish; /* in order; none: every path passes */
    size_t num_publish;
    int ssl_offload;  /* TLS ends at the device, which forwards plain HTTP to port 80 */
    const char *adfs; /* the AD FS server pre-auth="adfs" redirects to; NULL: none */
    unsigned log_kb;  /* pfirewall.log's size limit in KB, then .old (Windows: 4096) */
    struct scn_sni_filter *sni_filters; /* in order */
    size_t num_sni_filters;
};

/* What the listener's port does with a connection attempt (<listener port-state>), in nmap's
 * words. */
enum scn_port_state {
    SCN_PORT_OPEN,     /* accepted and served (default) */
    SCN_PORT_CLOSED,   /* nothing listens: a SYN is answered with a RST (connection refused) */
    SCN_PORT_FILTERED, /* SYNs go unanswered: the client's connect times out. Unprivileged, as a
                          listening socket whose accept queue is full (backlog 0, filled by one
                          connection of its own); no device sees the SYNs, so none logs them */
};

struct scn_listener {
    const char *name;      /* required, unique */
    const char *host;      /* numeric address to bind, e.g. "127.0.0.1" or "::1" */
    unsigned port;         /* 0 picks a free port */
    int tls;               /* default 1; 0 = plain HTTP */
    struct scn_cert *cert; /* served without SNI or for an unknown name; required with tls */
    struct scn_sni *sni;   /* per-name certificates */
    size_t num_sni;
    unsigned tls_min, tls_max; /* SCN_TLS1x; default 1.2 .. 1.3 */
    int http2;                 /* offer h2 by ALPN; default 1 */
    struct scn_server *server; /* the server behind the listener (required without a balancer;
                                  with one, its first member) */
    const char **hosts;        /* host names served (ready line, URLs): the hosts attribute, or
                                  derived, see scn_load() */
    size_t num_hosts;
    struct scn_where at;
    /* added with issue 5 */
    const char *ciphers;      /* TLS 1.2 and below, OpenSSL cipher string; NULL: OpenSSL's */
    const char *ciphersuites; /* TLS 1.3 suites, OpenSSL syntax; NULL: OpenSSL's */
    enum scn_client_cert client_cert;
    int crl;                /* also publishes the lab's CRLs at /pki/<ca>.crl */
    struct scn_hs_fault hs; /* action SCN_HS_NONE when there is none */
    /* added with issue 9 */
    struct scn_balancer *balancer; /* NULL: the server behind it takes every connection */
    /* added with issue 10 */
    struct scn_firewall *firewall; /* NULL: none in front of it */
    enum scn_port_state port_state;
};

/* Server-wide limits, as IIS and HTTP.sys have them. */
struct scn_limits {
    unsigned idle_timeout_ms;      /* IIS connectionTimeout; default 120000 */
    unsigned header_wait_ms;       /* HTTP.sys/IIS headerWaitTimeout: from a request's first
                                      byte to its last header; default 120000 */
    unsigned entity_body_ms;       /* HTTP.sys EntityBody: how long a request's body may go
                                      without a byte coming; default 120000 */
    unsigned min_bytes_per_second; /* IIS minBytesPerSecond (HTTP.sys MinSendRate): how slowly a
                                      client may take a response; 0 never; default 240 */
    unsigned handshake_timeout_ms; /* TLS handshake; default 10000 */
    size_t max_request_body;       /* maxAllowedContentLength; default 30000000 */
    unsigned backend_connect_ms;   /* how long a 2013+ front end tries to reach a back end whose
                                      machine is gone before it answers 503; default 21000 */
};

/* What a fault rule (<fault action>) does to the requests it picks. */
enum scn_fault_action {
    SCN_FAULT_STATUS,     /* answers with its status, headers and body instead of the stage */
    SCN_FAULT_DELAY,      /* waits, then lets the stage run */
    SCN_FAULT_RESET,      /* resets the connection: no answer */
    SCN_FAULT_CLOSE,      /* closes the connection (a FIN): no answer */
    SCN_FAULT_HANG,       /* holds the request unanswered until the client gives up */
    SCN_FAULT_TRUNCATE,   /* the answer's body is cut after BYTES, then the connection closed */
    SCN_FAULT_BAD_LENGTH, /* the answer says BYTES more in Content-Length than it sends */
    SCN_FAULT_DRIP,       /* the answer's body goes out BYTES at a time, one piece every DELAY */
};

/* Who a status fault's answer comes from, for its headers and logs (<fault by>). */
enum scn_fault_by {
    SCN_FAULT_BY_STAGE,    /* from the stage it acts at (the default) */
    SCN_FAULT_BY_DEVICE,   /* a device in front of the server: no server log line */
    SCN_FAULT_BY_IIS,      /* IIS before Exchange's modules */
    SCN_FAULT_BY_FRONTEND, /* the front end, in the virtual directory */
    SCN_FAULT_BY_BACKEND,  /* the application */
};

/* Which requests a fault rule picks (<when>): every criterion given must hold. The request
 * numbers count the requests that pass the others, from 1, since the scenario was loaded. */
struct scn_fault_when {
    const char *listener, *server; /* names; NULL: any */
    const char *host;              /* the Host header without its port, without case; NULL: any */
    const char *path;         /* a prefix of the path, without case, as IIS matches; NULL: any */
    const char *method;       /* NULL: any */
    const char *header;       /* "Name: text": the request has that header, with TEXT in its value
                                 (without case); "Name": has it at all; NULL: no condition */
    struct scn_cidr *sources; /* the client's address in one of these; NULL: any */
    size_t num_sources;
    unsigned nth;       /* only the NTH request; 0: any */
    unsigned every;     /* every EVERY-th: EVERY, 2 x EVERY, ...; 0: each */
    unsigned from, to;  /* requests FROM to TO (0: no end); from 0: from the first */
    unsigned percent;   /* the chance, drawn from the scenario's seeded generator: 100 */
    unsigned after_ms;  /* not before this long after the load; 0: at once */
    unsigned before_ms; /* nor this long after it, or later; 0: for ever */
};

/* A fault rule (<fault>): what the model does not describe, at a named stage of a request. */
struct scn_fault {
    struct scn_where at;
    const char *name;
    int stage; /* the pipeline stage it acts at, before the stage runs: scn_stage_name(stage) */
    enum scn_fault_action action;
    struct scn_fault_when when;
    unsigned status, substatus, win32; /* SCN_FAULT_STATUS: the answer and its IIS log triple */
    enum scn_fault_by by;
    const char *content_type; /* NULL: none */
    const char *body;         /* inline (body) or the file's bytes (body-file); "" for none */
    size_t body_len;
    const char *const *headers; /* name, value, ..., NULL (<header>) */
    unsigned delay_ms;          /* SCN_FAULT_DELAY: how long; SCN_FAULT_HANG: at most (0: an
                                   hour, a firewall's session timeout); SCN_FAULT_DRIP: between
                                   two pieces (default 1 s) */
    unsigned bytes;             /* SCN_FAULT_TRUNCATE: bytes of the body sent (default: half);
                                   SCN_FAULT_BAD_LENGTH: bytes claimed beyond it (default 100);
                                   SCN_FAULT_DRIP: bytes a piece (default 1) */
};

/* The request stages a fault rule may name, by number in the pipeline's order (pipeline.c's
 * table has exactly these rows; a unit test says so); NULL past the last. */
const char *scn_stage_name(int stage);
const char *scn_fault_action_name(enum scn_fault_action a);

struct scn {
    h2o_mem_pool_t pool;     /* everything below lives here */
    const char *name;        /* the root element's name attribute (required) */
    const char *file;        /* path of the file that was loaded */
    const char *description; /* text of <description>, trimmed; "" if none */
    const char *summary;     /* first line of the description */
    const char *domain;      /* organization domain, e.g. "contoso.com" (required) */
    const char *netbios;     /* NetBIOS domain name; default: first label of domain, upper case */
    int ntlmv1; /* NTLMv1/LM responses accepted (DCs below LmCompatibilityLevel 5); default 0 */
    struct scn_account *accounts;
    size_t num_accounts;
    struct scn_cert *certs;
    size_t num_certs;
    struct scn_server *servers;
    size_t num_servers;
    struct scn_listener *listeners;
    size_t num_listeners;
    struct scn_limits limits;
    _Atomic int refcnt; /* managed by scn_ref / scn_unref */
    struct scn_ca *cas; /* the <ca> elements, each after the CA that issues it */
    size_t num_cas;
    /* added with issue 9 */
    struct scn_accepted_domain *accepted_domains; /* default: the organisation's domain */
    size_t num_accepted_domains;
    struct scn_database *databases;
    size_t num_databases;
    /* fault rules (<faults>), tried in order; the first that picks a request acts */
    struct scn_fault *faults;
    size_t num_faults;
    unsigned fault_seed; /* <faults seed>: the same seed, the same choices */
};

/* Messages of a failed load: lines "file:line: message\n", all errors of one run. */
struct scn_errors {
    char *text; /* malloc'd, NUL-terminated, NULL when empty; freed by scn_errors_free() */
    size_t len;
    unsigned count;
};

/*
 * Loads the scenario file PATH, with every file it extends, validates it against the schema
 * (scenarios/scenario.rng, built into the binary) and resolves its references. Returns a
 * scenario holding one reference, or NULL with every problem found appended to ERRS.
 * Listener hosts: the host names of the URLs of the listener's server (EWS and Autodiscover,
 * external then internal), then "autodiscover.<domain>", without duplicates.
 */
struct scn *scn_load(const char *path, struct scn_errors *errs);
/*
 * The same for a document in memory: LEN bytes at BUF (no NUL needed), called NAME in the model
 * (struct scn's file) and in messages ("NAME:line: message"). What it extends is looked up
 * among the bundled scenarios, or at an absolute path. Nothing is written anywhere.
 */
struct scn *scn_load_mem(const char *name, const char *buf, size_t len, struct scn_errors *errs);
/* Frees the built-in schema, compiled once at the first load; before xmlCleanupParser(). */
void scn_cleanup(void);
void scn_errors_free(struct scn_errors *errs);

/*
 * Maps what the user typed to a file: an existing path is returned as is; otherwise NAME is
 * looked up as NAME.xml among the bundled scenarios (scn_bundled_dir()). Returns 0 and the
 * path in OUT, or -1 when there is no such file.
 */
int scn_resolve(const char *name_or_path, char *out, size_t outlen);
/* The folder of bundled scenarios, decided at the first call: $MRSMOCK_SHAREDIR/scenarios when
 * that is set; scenarios/ of the checkout when this program runs from that checkout's build/;
 * else the installed share folder (MRSMOCK_SHAREDIR at build time, $(PREFIX)/share/mrsmock).
 * Never NULL; static storage. */
const char *scn_bundled_dir(void);

void scn_ref(struct scn *s);
void scn_unref(struct scn *s);

/* Lookups, all case-insensitive as Active Directory is. NULL when not found. */
struct scn_server *scn_server_by_name(const struct scn *s, const char *name);
struct scn_account *scn_account_by_smtp(const struct scn *s, const char *addr, size_t len);
/* The database named NAME or whose GUID is NAME (LEN bytes), without case; NULL if none. */
struct scn_database *scn_database_by_id(const struct scn *s, const char *name, size_t len);
/* DOMAIN\user, user@upn-suffix or bare user: DOMAIN may be NULL/empty. */
struct scn_account *scn_account_by_logon(const struct scn *s, const char *domain, size_t dlen,
                                         const char *user, size_t ulen);
struct scn_listener *scn_listener_by_name(const struct scn *s, const char *name);
/* Whether listener L serves host name HOST (LEN bytes, no port), compared without case. */
int scn_listener_serves(const struct scn_listener *l, const char *host, size_t len);
/* The index of the listener that serves HOST (LEN bytes, no port) for a URL handed out: OWN
 * when it serves the host (SIZE_MAX: no own listener), else the first that does, a TLS one
 * before a plain one; with TLS_ONLY, TLS listeners only. SIZE_MAX when none does. */
size_t scn_listener_for_host(const struct scn *s, const char *host, size_t len, size_t own,
                             int tls_only);
/* The listener that publishes the lab's CRLs (crl="true"), or NULL. */
const struct scn_listener *scn_crl_listener(const struct scn *s);
/* Name of TLS alert description CODE ("handshake_failure"), or NULL when not in the table. */
const char *scn_alert_name(unsigned code);

/* Whether DOMAIN (LEN bytes) is an accepted domain of S, compared without case. */
int scn_domain_accepted(const struct scn *s, const char *domain, size_t len);
/* The service's name and display name (Get-Service), for ID. */
const char *scn_service_name(enum scn_service_id id);
const char *scn_service_display_name(enum scn_service_id id);
/* Whether service ID is installed on SV (the MRS: on the CAS of 2010, the Mailbox role of
 * 2013+), and whether it runs there. */
int scn_service_installed(const struct scn_server *sv, enum scn_service_id id);
int scn_service_runs(const struct scn_server *sv, enum scn_service_id id);
/* Names as scenarios write them. */
const char *scn_server_state_name(enum scn_server_state st);
const char *scn_lb_policy_name(enum scn_lb_policy p);
const char *scn_fw_action_name(enum scn_fw_action a);
const char *scn_uf_action_name(enum scn_uf_action a);
const char *scn_preauth_name(enum scn_preauth p);
const char *scn_port_state_name(enum scn_port_state st);
/* Whether the numeric address IP (IPv4, IPv6 or IPv4-mapped IPv6) is in range C. */
int scn_cidr_match(const struct scn_cidr *c, const char *ip);
/* Whether the device path PREFIX covers the request path PATH (LEN bytes): PATH is PREFIX or
 * below it, compared without case (a URL filter's and a publishing rule's match). */
int scn_path_covers(const char *prefix, const char *path, size_t len);

/* "Exchange2016"-style product name and the ServerVersionInfo/"Version" string of a server. */
const char *scn_version_name(enum scn_version v);
/* Name of handshake fault action A as scenarios write it ("hang"), or NULL. */
const char *scn_hs_action_name(enum scn_hs_action a);

#endif
