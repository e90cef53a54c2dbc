/*
 * probe — `mrsmock probe`: the Remote Connectivity Analyzer for a migration endpoint. A client
 * that walks the path the migration service walks (Autodiscover when asked, then TCP, TLS, the
 * anonymous challenge of /EWS/mrsproxy.svc, the logon, a WS-RM session with
 * ExchangeVersionInformation) against any server, mrsmock or a real Exchange, and says step by
 * step where it breaks, in the words Test-MigrationServerAvailability prints, and which
 * troubleshooting step of the seed article finds the cause.
 *
 * HTTP is libcurl's, the chain analysis OpenSSL's, the XML libxml2's, --json jansson's.
 *
 * Ownership: struct probe_opts points into argv (and owns only the password, freed by
 * probe_opts_free()); struct probe_report is plain data its caller owns. The module keeps no
 * state between calls. probe_run() does not initialise libcurl or libxml2: its caller
 * (face/probe.c) does, once per process. probe_run() sets NTLM_USER_FILE in the environment
 * for the run (Negotiate) and removes it after: not for a threaded caller.
 */
#ifndef MRSMOCK_PROBE_H
#define MRSMOCK_PROBE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>

enum probe_status { PROBE_PASS, PROBE_WARN, PROBE_FAIL, PROBE_SKIPPED };
enum probe_auth { PROBE_AUTH_NEGOTIATE, PROBE_AUTH_NTLM, PROBE_AUTH_BASIC };

#define PROBE_CONNECT_TO_MAX 32
#define PROBE_STEPS_MAX 48
#define PROBE_DETAIL_MAX 1536
#define PROBE_MESSAGE_MAX 3072

/* One --connect-to HOST:PORT:ADDR:PORT, as curl's CURLOPT_CONNECT_TO takes it: requests for
 * HOST (empty: any) on PORT (0: any) go to ADDR (empty: HOST itself) on PORT2 (0: the same). */
struct probe_connect_to {
    char host[256];
    unsigned port;
    char addr[256];
    unsigned port2;
};

struct probe_opts {
    const char *server;        /* --server HOST: the MRS Proxy host (RemoteServer) */
    const char *email;         /* --email ADDRESS, with --autodiscover */
    int autodiscover;          /* --autodiscover */
    const char *user;          /* --user DOMAIN\name (or name@upn, or name) */
    const char *password_file; /* --password-file FILE ("-": standard input) */
    char *password;            /* read by probe_read_password(); owned */
    enum probe_auth auth;      /* --auth; default Negotiate, what the migration service uses */
    const char *cacert;        /* --cacert FILE; NULL: the system's trust store */
    const char *connect_to[PROBE_CONNECT_TO_MAX]; /* each one checked by probe_parse_connect_to */
    size_t n_connect_to;
    const char *dns;             /* --dns ADDR[:PORT]; NULL: the system's resolver */
    struct sockaddr_in dns_addr; /* it, checked by probe_parse_dns */
    unsigned repeat;             /* --repeat N: rounds on fresh connections, 1 to 100 */
    unsigned timeout_ms;         /* --timeout SECONDS: for each connection and each request */
    int json;                    /* --json */
    int verbose;                 /* -v */
};

struct probe_step {
    char name[32];    /* autodiscover, autodiscover-soap, connect, tls, mrsproxy-anonymous, ... */
    char target[300]; /* the host or URL the step was about */
    enum probe_status status;
    char detail[PROBE_DETAIL_MAX];
};

struct probe_report {
    struct probe_step steps[PROBE_STEPS_MAX];
    size_t n;
    int failed;                        /* the endpoint fails: exit 3 */
    int could_not_run;                 /* the probe itself could not run: exit 2 */
    char remote_server[256];           /* the MRS Proxy host tested */
    char message[PROBE_MESSAGE_MAX];   /* as Test-MigrationServerAvailability prints it */
    char next_step[PROBE_MESSAGE_MAX]; /* the seed article's step that finds the cause */
};

/* --- arguments (probe_args.c) --------------------------------------------------------------- */

/* Parses `probe`'s argv (argv[0] the sub-command) into O. Returns 0, 1 when --help was asked
 * (nothing else is checked), or -1 with a one-line cause in ERR (ERRLEN bytes). O->password is
 * left NULL. */
int probe_parse_args(int argc, char **argv, struct probe_opts *o, char *err, size_t errlen);
/* Checks S as HOST:PORT:ADDR:PORT (IPv6 addresses in brackets; HOST, PORT, ADDR and the last
 * PORT may be empty) into OUT. 0, or -1 when malformed. */
int probe_parse_connect_to(const char *s, struct probe_connect_to *out);
/* Checks S as an IPv4 address with an optional port, ADDR[:PORT] (53 when none; 1 to 65535),
 * into OUT. 0, or -1 when malformed. */
int probe_parse_dns(const char *s, struct sockaddr_in *out);
/* Splits USER (DOMAIN\name, name@upn or name) into DOMAIN (may be "") and NAME. 0 or -1. */
int probe_split_user(const char *user, char *domain, size_t dlen, char *name, size_t nlen);
/* Reads the password into O->password: from O->password_file ("-" or absent with a standard
 * input that is not a terminal: the first line of standard input), else a prompt on the
 * terminal without echo. 0, or -1 with the cause in ERR. */
int probe_read_password(struct probe_opts *o, char *err, size_t errlen);
/* Frees what O owns (the password, wiped first). */
void probe_opts_free(struct probe_opts *o);

/* --- the run (probe.c) ----------------------------------------------------------------------- */

/* Runs every step against the endpoint O names and fills R. Returns the exit status: 0 the
 * endpoint passes, 3 it fails, 2 the probe could not run. */
int probe_run(const struct probe_opts *o, struct probe_report *r);
/* Writes R for people (text) or as one JSON object (json) to OUT. */
void probe_print(const struct probe_report *r, int json, FILE *out);
/* "pass", "warn", "fail", "skipped". */
const char *probe_status_name(enum probe_status s);

#endif
