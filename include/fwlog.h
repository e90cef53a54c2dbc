/*
 * fwlog — a firewall's log, in the format of the Windows Firewall's pfirewall.log (the W3C-like
 * log Windows Defender Firewall with Advanced Security keeps, the one a Windows administrator
 * reads):
 *   <state>/logs/<FIREWALL>/pfirewall.log
 *
 *   #Version: 1.5
 *   #Software: Microsoft Windows Firewall
 *   #Time Format: Local
 *   #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn
 *            tcpack tcpwin icmptype icmpcode info path
 *   (an empty line)
 *   2026-12-02 19:46:11 ALLOW TCP 127.0.0.2 127.0.0.1 51234 8443 0 - 0 0 0 - - exchange-online
 * RECEIVE
 *
 * One line per connection the source-address rules decide on, and one per request the URL
 * filter stops. What we chose where Windows differs or is silent:
 *   - time: UTC (mrsmock's machines run in UTC; "Local" is what the header says Windows uses);
 *   - info: the rule that decided, which Windows leaves "-": a <rule>'s name, "default" for the
 *     firewall's default, "url-filter:<path>" for a URL filter's block;
 *   - path: RECEIVE (inbound), as Windows writes it for what arrives;
 *   - a DROP of a connection is written as the drop of its SYN (tcpflags S); size, tcpsyn,
 *     tcpack and tcpwin are 0: a device in user space never sees the packet itself. A URL
 *     filter's DROP has tcpflags "-".
 * Lines end in CRLF, as Windows' text logs do.
 */
#ifndef MRSMOCK_FWLOG_H
#define MRSMOCK_FWLOG_H

#include <stddef.h>
#include <time.h>

#define FWLOG_LINE_MAX 512

/* One line's facts. */
struct fwlog_entry {
    time_t now;
    int allow;          /* ALLOW, else DROP */
    const char *src_ip; /* numeric */
    const char *dst_ip;
    unsigned src_port, dst_port;
    int syn;          /* the line stands for the connection's SYN (tcpflags S) */
    const char *info; /* the rule: no spaces (they are written as '_') */
};

/* Formats E into BUF (with its CRLF); returns its length (0 when it does not fit). */
size_t fwlog_line(char *buf, size_t len, const struct fwlog_entry *e);
/* The header block (with the empty line after it); the logf header callback. */
size_t fwlog_header(char *buf, size_t len, time_t now);

#endif
