/*
 * probe_args — `mrsmock probe`'s inputs, those of Test-MigrationServerAvailability
 * -ExchangeRemoteMove: the endpoint (--autodiscover --email, or --server), the credentials
 * (--user, the password from a file, standard input or a prompt: never on the command line),
 * the scheme, the trust store, curl-style --connect-to, the DNS server (--dns), --repeat,
 * --timeout, --json. Every value is checked here, so that the run meets only what it can use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "probe.h"

#define PASSWORD_MAX 1024

/* Decimal digits only, at most MAX; "" gives 0 when EMPTY_OK. 0 or -1. */
static int parse_uint(const char *s, size_t len, unsigned max, int empty_ok, unsigned *out)
{
    unsigned long v = 0;

    if (len == 0) {
        *out = 0;
        return empty_ok ? 0 : -1;
    }
    if (len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* A host name or an IPv4 address: letters, digits, '-', '.', '_'; or, in brackets, an IPv6
 * address. */
static int host_ok(const char *s, size_t len, int brackets)
{
    const char *set = brackets ? "0123456789abcdefABCDEF:." : NULL;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (set != NULL ? strchr(set, ch) == NULL
                        : !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
            return 0;
    }
    return !brackets || len > 0;
}

/* Reads a host part ("name", "[v6]" or "") of S up to the next ':' into OUT; *END after it. */
static int take_host(const char *s, char *out, size_t outlen, const char **end)
{
    const char *e;
    int br = *s == '[';

    if (br) {
        if ((e = strchr(s, ']')) == NULL || e[1] != ':')
            return -1;
        if (!host_ok(s + 1, (size_t)(e - s - 1), 1))
            return -1;
        e++;
    } else {
        if ((e = strchr(s, ':')) == NULL || !host_ok(s, (size_t)(e - s), 0))
            return -1;
    }
    if ((size_t)(e - s) >= outlen)
        return -1;
    snprintf(out, outlen, "%.*s", (int)(e - s), s);
    *end = e + 1;
    return 0;
}

int probe_parse_connect_to(const char *s, struct probe_connect_to *out)
{
    const char *p = s, *e;

    memset(out, 0, sizeof(*out));
    if (s == NULL || take_host(p, out->host, sizeof(out->host), &p) != 0)
        return -1;
    if ((e = strchr(p, ':')) == NULL || parse_uint(p, (size_t)(e - p), 65535, 1, &out->port) != 0)
        return -1;
    p = e + 1;
    if (take_host(p, out->addr, sizeof(out->addr), &p) != 0)
        return -1;
    if (parse_uint(p, strlen(p), 65535, 1, &out->port2) != 0)
        return -1;
    return 0;
}

int probe_parse_dns(const char *s, struct sockaddr_in *out)
{
    char addr[INET_ADDRSTRLEN];
    const char *colon;
    size_t alen;
    unsigned port = 53;

    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -1;
    colon = strchr(s, ':');
    alen = colon != NULL ? (size_t)(colon - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr))
        return -1;
    snprintf(addr, sizeof(addr), "%.*s", (int)alen, s);
    /* inet_pton takes the four dotted decimals only: no "127.1", no host name (a DNS server is
     * named by its address, as in dig @192.0.2.53) */
    if (inet_pton(AF_INET, addr, &out->sin_addr) != 1)
        return -1;
    if (colon != NULL &&
        (parse_uint(colon + 1, strlen(colon + 1), 65535, 0, &port) != 0 || port == 0))
        return -1;
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return 0;
}

int probe_split_user(const char *user, char *domain, size_t dlen, char *name, size_t nlen)
{
    const char *bs;

    if (user == NULL || *user == '\0')
        return -1;
    if ((bs = strchr(user, '\\')) != NULL) {
        if (bs == user || bs[1] == '\0' || strchr(bs + 1, '\\') != NULL ||
            (size_t)(bs - user) >= dlen || strlen(bs + 1) >= nlen)
            return -1;
        snprintf(domain, dlen, "%.*s", (int)(bs - user), user);
        snprintf(name, nlen, "%s", bs + 1);
        return 0;
    }
    if (strlen(user) >= nlen || dlen == 0)
        return -1;
    domain[0] = '\0';
    snprintf(name, nlen, "%s", user);
    return 0;
}

static const struct {
    const char *name;
    enum probe_auth auth;
} auths[] = {
    {"negotiate", PROBE_AUTH_NEGOTIATE}, {"ntlm", PROBE_AUTH_NTLM}, {"basic", PROBE_AUTH_BASIC}};

int probe_parse_args(int argc, char **argv, struct probe_opts *o, char *err, size_t errlen)
{
    static const struct option longopts[] = {{"autodiscover", no_argument, NULL, 'A'},
                                             {"email", required_argument, NULL, 'e'},
                                             {"server", required_argument, NULL, 's'},
                                             {"user", required_argument, NULL, 'u'},
                                             {"password-file", required_argument, NULL, 'p'},
                                             {"auth", required_argument, NULL, 'a'},
                                             {"cacert", required_argument, NULL, 'c'},
                                             {"connect-to", required_argument, NULL, 't'},
                                             {"dns", required_argument, NULL, 'd'},
                                             {"repeat", required_argument, NULL, 'r'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct probe_connect_to ct;
    char d[256], n[256];
    unsigned v;
    int ch, found;

    memset(o, 0, sizeof(*o));
    o->repeat = 1;
    o->timeout_ms = 20000;
    optind = 0; /* glibc: start afresh, also for a second parse in one process */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
        switch (ch) {
        case 'A':
            o->autodiscover = 1;
            break;
        case 'e':
            o->email = optarg;
            break;
        case 's':
            o->server = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'p':
            o->password_file = optarg;
            break;
        case 'a':
            found = 0;
            for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++)
                if (strcasecmp(optarg, auths[i].name) == 0)
                    o->auth = auths[i].auth, found = 1;
            if (!found) {
                snprintf(err, errlen, "--auth: \"%s\" is not negotiate, ntlm or basic", optarg);
                return -1;
            }
            break;
        case 'c':
            o->cacert = optarg;
            break;
        case 't':
            if (probe_parse_connect_to(optarg, &ct) != 0) {
                snprintf(err, errlen, "--connect-to: \"%s\" is not HOST:PORT:ADDR:PORT", optarg);
                return -1;
            }
            if (o->n_connect_to == PROBE_CONNECT_TO_MAX) {
                snprintf(err, errlen, "--connect-to: at most %d", PROBE_CONNECT_TO_MAX);
                return -1;
            }
            o->connect_to[o->n_connect_to++] = optarg;
            break;
        case 'd':
            if (probe_parse_dns(optarg, &o->dns_addr) != 0) {
                snprintf(err, errlen,
                         "--dns: \"%s\" is not a DNS server's IPv4 address with an optional "
                         "port (ADDR[:PORT], such as 192.0.2.53 or 127.0.0.1:5353)",
                         optarg);
                return -1;
            }
            o->dns = optarg;
            break;
        case 'r':
            if (parse_uint(optarg, strlen(optarg), 100, 0, &v) != 0 || v == 0) {
                snprintf(err, errlen, "--repeat: \"%s\" is not a number from 1 to 100", optarg);
                return -1;
            }
            o->repeat = v;
            break;
        case 'T':
            if (parse_uint(optarg, strlen(optarg), 600, 0, &v) != 0 || v == 0) {
                snprintf(err, errlen, "--timeout: \"%s\" is not a number of seconds from 1 to 600",
                         optarg);
                return -1;
            }
            o->timeout_ms = v * 1000;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'v':
            o->verbose++;
            break;
        case 'h':
            return 1;
        default:
            if (optopt != 0)
                snprintf(err, errlen, "unknown option or missing value: -%c", optopt);
            else
                snprintf(err, errlen, "unknown option or missing value: %s", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (o->autodiscover == (o->server != NULL)) {
        snprintf(err, errlen,
                 "name the endpoint: --autodiscover --email ADDRESS, or --server HOST");
        return -1;
    }
    if (o->autodiscover) {
        const char *at = o->email != NULL ? strrchr(o->email, '@') : NULL;
        if (at == NULL || at == o->email || !host_ok(at + 1, strlen(at + 1), 0) || at[1] == '\0' ||
            strlen(o->email) > 254) {
            snprintf(err, errlen, "--autodiscover needs --email with an address (user@domain)");
            return -1;
        }
    } else {
        if (o->email != NULL) {
            snprintf(err, errlen, "--email goes with --autodiscover");
            return -1;
        }
        if (*o->server == '\0' || strlen(o->server) > 253 ||
            !host_ok(o->server, strlen(o->server), 0)) {
            snprintf(err, errlen,
                     "--server: \"%s\" is not a host name (give mail.contoso.com, not a URL)",
                     o->server);
            return -1;
        }
    }
    if (probe_split_user(o->user, d, sizeof(d), n, sizeof(n)) != 0) {
        snprintf(err, errlen, "--user: give the on-premises administrator as DOMAIN\\name");
        return -1;
    }
    if (o->cacert != NULL && access(o->cacert, R_OK) != 0) {
        snprintf(err, errlen, "--cacert: cannot read %s: %s", o->cacert, strerror(errno));
        return -1;
    }
    return 0;
}

/* The first line of FP into a fresh buffer, without its end of line. NULL when none. */
static char *first_line(FILE *fp)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, fp);

    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* The prompt on the terminal, without echo. */
static char *prompt(const char *user)
{
    FILE *tty = fopen("/dev/tty", "r+");
    struct termios old, quiet;
    char *line;
    int echo_off = 0;

    if (tty == NULL)
        return NULL;
    fprintf(tty, "Password for %s: ", user);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        echo_off = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
    }
    line = first_line(tty);
    if (echo_off)
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputc('\n', tty);
    fclose(tty);
    return line;
}

int probe_read_password(struct probe_opts *o, char *err, size_t errlen)
{
    const char *from = o->password_file;
    char *pw = NULL;

    if (from != NULL && strcmp(from, "-") != 0) {
        FILE *fp = fopen(from, "r");
        if (fp == NULL) {
            snprintf(err, errlen, "--password-file: cannot read %s: %s", from, strerror(errno));
            return -1;
        }
        errno = 0;
        pw = first_line(fp);
        if (pw == NULL && ferror(fp)) {
            /* a folder, a file the kernel refuses to read: not "no password" */
            snprintf(err, errlen, "--password-file: cannot read %s: %s", from,
                     strerror(errno ? errno : EIO));
            fclose(fp);
            return -1;
        }
        fclose(fp);
        from = "the password file";
    } else if (from != NULL || !isatty(STDIN_FILENO)) {
        pw = first_line(stdin);
        from = "standard input";
    } else {
        pw = prompt(o->user);
        from = "the terminal";
    }
    if (pw == NULL || *pw == '\0' || strlen(pw) > PASSWORD_MAX) {
        snprintf(err, errlen, "no password in %s (one line, 1 to %d characters)", from,
                 PASSWORD_MAX);
        if (pw != NULL)
            OPENSSL_cleanse(pw, strlen(pw));
        free(pw);
        return -1;
    }
    o->password = pw;
    return 0;
}

void probe_opts_free(struct probe_opts *o)
{
    if (o->password != NULL) {
        OPENSSL_cleanse(o->password, strlen(o->password));
        free(o->password);
        o->password = NULL;
    }
}
