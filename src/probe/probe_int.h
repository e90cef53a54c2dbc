/*
 * probe_int — what the probe's modules share: one HTTP exchange through libcurl with what its
 * responses said (probe_http.c), the TLS look at a host (probe_tls.c), Autodiscover
 * (probe_ad.c) and its SRV look-up (probe_dns.c), the MRS Proxy steps (probe_mrs.c) and the
 * texts clients print (probe_words.c).
 *
 * Ownership: a struct probe_ctx lives for one probe_run(); a struct probe_http for one exchange
 * (probe_http_free() releases its libcurl handle and body). Steps are appended to the report
 * with probe_step(), which copies its strings.
 */
#ifndef MRSMOCK_PROBE_INT_H
#define MRSMOCK_PROBE_INT_H

#include <curl/curl.h>
#include <stddef.h>

#include "probe.h"

#define PROBE_BODY_MAX (1u << 20) /* a response body kept: 1 MiB, the rest is cut */
#define PROBE_CHALLENGES_MAX 1024 /* WWW-Authenticate values joined, as .NET prints them */
#define PROBE_MRS_PATH "/EWS/mrsproxy.svc"

/* Copies the string SRC into the array DST, cut to fit. */
#define PROBE_COPY(dst, src) snprintf((dst), sizeof(dst), "%.*s", (int)sizeof(dst) - 1, (src))

/* One probe_run(): the options, the report, and the connect-to list libcurl takes. */
struct probe_ctx {
    const struct probe_opts *o;
    struct probe_report *r;
    struct curl_slist *connect_to;
    char domain[256], name[256]; /* the user, split */
    char ntlm_user_file[64];     /* gss-ntlmssp's credentials for Negotiate; "" when none */
};

/* What one HTTP exchange (a request and the responses libcurl read for it) said. */
struct probe_http {
    CURL *curl;
    CURLcode rc;
    char errbuf[CURL_ERROR_SIZE];
    long status;     /* of the last response; 0 when none */
    char reason[64]; /* its reason phrase as the server wrote it (WCF prints it: 4.6) */
    char challenges[PROBE_CHALLENGES_MAX]; /* the last response's WWW-Authenticate, joined by "," */
    char first_challenges[PROBE_CHALLENGES_MAX]; /* of the first 401 */
    int token_challenge; /* a 401 carried a token (NTLM / Negotiate Type 2): the handshake ran */
    unsigned responses;  /* status lines seen */
    char server_header[128];
    char content_type[128];
    char location[320]; /* a redirect's Location */
    char *body;         /* NUL-terminated, at most PROBE_BODY_MAX */
    size_t body_len;
    char primary_ip[64];
    long primary_port;
};

enum probe_http_auth { PROBE_HTTP_ANONYMOUS, PROBE_HTTP_CREDENTIALS };

/* --- probe_http.c --------------------------------------------------------------------------- */

/* A libcurl handle set up for URL with the run's connect-to, timeouts, trust (peer and host
 * verification on, against --cacert or the system store), HTTP/1.1, and with AUTH the user's
 * credentials and scheme. Kept in H (zeroed first). 0, or -1 when libcurl cannot make one. */
int probe_http_init(struct probe_ctx *c, struct probe_http *h, const char *url,
                    enum probe_http_auth auth);
/* POSTs BODY (LEN bytes, CONTENT_TYPE) when BODY is not NULL, else GETs; on H's handle (its
 * connection is kept for the next call). Fills H's response fields. Returns H->rc. */
CURLcode probe_http_perform(struct probe_http *h, const char *body, size_t len,
                            const char *content_type);
void probe_http_free(struct probe_http *h);
/* The .NET reason phrase of an HTTP status ("Unauthorized", "Server Unavailable"...). */
const char *probe_http_reason(long status);

/* --- probe.c -------------------------------------------------------------------------------- */

/* Appends a step to the report; DETAIL is printf-style. Returns it (NULL when full). */
struct probe_step *probe_step(struct probe_ctx *c, const char *name, const char *target,
                              enum probe_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sets the report's verdict: failed, the message (printf-style) and the next step, once: a
 * later call does not replace the first failure's words. */
void probe_fail(struct probe_ctx *c, const char *next_step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- probe_tls.c ---------------------------------------------------------------------------- */

/* The outcome of reaching HOST:443 over TCP and TLS, in the words clients use. */
struct probe_reach {
    int ok;               /* TCP and TLS passed (the certificate trusted, the name right) */
    int tcp_ok;           /* the TCP connection opened */
    char inner[2048];     /* what .NET would say when !ok (the innermost texts, " --> ") */
    char next_step[1024]; /* the article's step that finds it when !ok */
    char tcp_detail[512]; /* evidence of the connect step */
    char tls_detail[PROBE_DETAIL_MAX];
    enum probe_status tls_status;
};

/* Reaches HOST on port 443 (through the connect-to list) over TCP, then TLS as the migration
 * service does (TLS 1.2 or newer), and inspects the chain the server sent. URL is the address
 * the client was going to call, for the texts. Fills OUT. */
void probe_reach(struct probe_ctx *c, const char *host, const char *url, struct probe_reach *out);
/* The same on PORT (an Autodiscover URL that names one). */
void probe_reach_port(struct probe_ctx *c, const char *host, unsigned port, const char *url,
                      struct probe_reach *out);

/* --- probe_ad.c ----------------------------------------------------------------------------- */

/* Autodiscover for the run's --email: the candidate URLs in the order clients try them, with the
 * credentials; on success the MRS Proxy host (EXPR Server) into HOST. Adds the "autodiscover"
 * step. 0, or -1 when the settings could not be found (the verdict is set). */
int probe_autodiscover(struct probe_ctx *c, char *host, size_t hostlen);

/* --- probe_dns.c ---------------------------------------------------------------------------- */

/* The SRV record of _autodiscover._tcp.<domain> clients follow. */
struct probe_srv {
    char target[256];
    unsigned port, priority, weight;
    unsigned count; /* SRV records in the answer */
};

/* Asks the DNS server of --dns (else the system's resolver), within --timeout, for the SRV
 * record _autodiscover._tcp.DOMAIN. 0 with the record in OUT, or -1 (none, or no answer); in
 * both cases what DNS said in NOTE (LEN bytes), "SRV _autodiscover._tcp.DOMAIN: ...". */
int probe_srv_lookup(struct probe_ctx *c, const char *domain, struct probe_srv *out, char *note,
                     size_t len);

/* --- probe_mrs.c ---------------------------------------------------------------------------- */

/* The MRS Proxy of HOST: the anonymous challenge, the logon and a WS-RM session. WRAP is the
 * outer text of the cmdlet's message ("The connection to the server ... could not be
 * completed." or Autodiscover's). Adds the steps; 0 when every one passed, -1 otherwise. */
int probe_mrsproxy(struct probe_ctx *c, const char *host, const char *wrap);

/* --- probe_xml.c: reading answers with libxml2 (no network, no entities, no DTD) ------------ */

#include <libxml/tree.h>

/* Parses the LEN bytes at BODY; NULL when they are not XML. The caller frees with xmlFreeDoc. */
xmlDoc *probe_xml_parse(const char *body, size_t len);
/* The first element child of PARENT named NAME in namespace NS (NULL: any); NULL when none. */
xmlNode *probe_xml_child(const xmlNode *parent, const char *ns, const char *name);
/* The first element named NAME in NS (NULL: any) at or below N, depth first. */
xmlNode *probe_xml_find(xmlNode *n, const char *ns, const char *name);
/* The text of N into OUT (LEN bytes), trimmed; "" for NULL. Returns OUT. */
char *probe_xml_text(const xmlNode *n, char *out, size_t len);

/* --- probe_words.c: the texts .NET, WCF and the migration service print (reference 6) ------- */

const char *probe_auth_scheme(enum probe_auth a); /* "Negotiate", "Ntlm"... as WCF names it */
/* Each writes into OUT (LEN bytes) and returns OUT. */
char *probe_words_no_endpoint(char *out, size_t len, const char *url);
char *probe_words_unauthorized(char *out, size_t len, const char *scheme, const char *challenges);
char *probe_words_forbidden(char *out, size_t len, const char *scheme);
char *probe_words_unavailable(char *out, size_t len, const char *url);
/* WCF's ProtocolException prints the server's own reason phrase (StatusDescription), REASON;
 * NULL or "": .NET's name for STATUS. */
char *probe_words_unexpected(char *out, size_t len, long status, const char *reason);
/* What .NET says of an answer that is not HTTP (no status line). */
char *probe_words_protocol_violation(char *out, size_t len);
char *probe_words_trust(char *out, size_t len, const char *host);
char *probe_words_timeout(char *out, size_t len, const char *url, unsigned timeout_ms);
/* The cmdlet's message: WRAP, then "The call to 'URL' failed. Error details: INNER." */
char *probe_words_call_failed(char *out, size_t len, const char *wrap, const char *url,
                              const char *inner);
/* The outer texts of Test-MigrationServerAvailability: -RemoteServer and -Autodiscover. */
char *probe_words_connection_failed(char *out, size_t len, const char *host);
char *probe_words_no_mrsproxy(char *out, size_t len, const char *host);
#define PROBE_WORDS_AD_FAILED                                                                      \
    "The ExchangeRemote endpoint settings could not be determined from the autodiscover response."

#endif
