/*
 * logfile — the files of one Windows log under the state folder: one per UTC day, rolled over
 * at UTC midnight as IIS does (an IIS site's W3C log), one per UTC hour as Exchange's own
 * logs are (the HttpProxy log), or numbered files that each grow to a size limit as HTTP.sys
 * writes its error log (httperr1.log, httperr2.log, ...).
 *
 * Lines are written whole and never interleave. In a log made batched (logf_set_batched(): the
 * busy ones, a server's IIS and HttpProxy logs), a worker thread's lines wait in a batch of its
 * own and are written once per turn of its event loop (logf_thread_flush()): a line is in its
 * file a moment after its request ended, and one write(2) carries many, though two workers'
 * lines of the same millisecond may come in either order, as in IIS's own buffered log. Other
 * logs (a device's, whose order is the order of events) and other threads write line by line. A
 * full disk never leaves a torn line; lines wait, then are given up, and writing resumes when there
 * is room again, reported once each way on standard error. A file (or folder) removed under a
 * running server is made again within a second. Header lines are written when a file is created and
 * when the log is opened at start-up (as IIS and Exchange repeat them when their service starts); a
 * preamble (Exchange's UTF-8 byte order mark) only at the very start of a new file.
 */
#ifndef MRSMOCK_LOGFILE_H
#define MRSMOCK_LOGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct logf;

/* How often a log starts a new file, at UTC boundaries (seconds), or LOGF_SIZE. */
enum logf_period {
    LOGF_DAILY = 86400, /* IIS: u_exYYMMDD.log */
    LOGF_HOURLY = 3600, /* Exchange: HttpProxy_YYYYMMDDHH-1.LOG */
    /* Not a time: files numbered from 1, the next one begun when a line would take the current
     * one past the spec's max_bytes (HTTP.sys: httperr1.log, httperr2.log, ...). A file never
     * exceeds the limit, but for a line longer than an empty file's room, written alone into a
     * file of its own, and for lines kept in a full file while the next one cannot be opened
     * (retried once a minute, as a rollover by time). At start-up the numbering goes on from the
     * highest file in the folder: into that file (header again) if the header still fits, else
     * the next. */
    LOGF_SIZE = -1,
};

/* Writes the header lines for a file opened at NOW into BUF; returns their length. */
typedef size_t (*logf_header_cb)(char *buf, size_t len, time_t now);
/* The same with the bytes given as arg at open (logf's own copy, valid while the log is). */
typedef size_t (*logf_header_arg_cb)(char *buf, size_t len, time_t now, const void *arg);

/* What a log's files are called, how often a new one starts and how each one begins. */
struct logf_spec {
    const char *pattern;       /* strftime pattern of a file name, applied to UTC time; it must
                                  change with the period ("%H" for an hourly log). LOGF_SIZE:
                                  a name with one "%n", the file's number, and no other "%" */
    enum logf_period period;   /* 0 is taken as LOGF_DAILY */
    logf_header_arg_cb header; /* header lines, or NULL for none */
    const void *arg;           /* ARG_LEN bytes copied at open and handed to HEADER */
    size_t arg_len;
    const char *preamble;   /* written before the header into an empty file only (a byte order
                               mark); NULL: none */
    uint64_t max_bytes;     /* LOGF_SIZE: the most bytes a file holds, header included (not 0);
                               otherwise ignored */
    const char *old_suffix; /* LOGF_SIZE: one file whose name is the pattern (no "%n"), renamed
                               to the pattern and this suffix when full, replacing the one there,
                               and begun again, as the Windows Firewall keeps pfirewall.log and
                               pfirewall.log.old; its header is written only into a new file.
                               NULL: numbered files */
};

/*
 * Opens the log whose files are DIR/<strftime(PATTERN, UTC day)>, e.g. pattern "u_ex%y%m%d.log".
 * DIR is created with its parents. Returns NULL with a cause in ERR when the folder or the file
 * cannot be created.
 */
struct logf *logf_open(const char *dir, const char *pattern, logf_header_cb header, time_t now,
                       char *err, size_t errlen);
/* Opens the log SPEC describes (copied: SPEC and what it points to may go once this returns),
 * otherwise as logf_open(). */
struct logf *logf_open_spec(const char *dir, const struct logf_spec *spec, time_t now, char *err,
                            size_t errlen);
/* Appends one whole line (LINE ends with "\r\n" or "\n" as the format wants) for time NOW, to
 * the file of NOW's period (or the current one, if NOW is older); LOGF_SIZE: to the current
 * file, or to the next one if the line does not fit. */
void logf_write(struct logf *l, const char *line, size_t len, time_t now);
/* Path of the file that a write at NOW goes to (for tests and messages); valid until next call.
 * LOGF_SIZE: the current file, whatever NOW (a line that does not fit goes to the next one). */
const char *logf_path(struct logf *l, time_t now, char *buf, size_t len);
/* Worker threads batch their lines for L from now on (a log by period; not LOGF_SIZE). */
void logf_set_batched(struct logf *l);
/* Writes what worker threads still hold for L, then closes it. */
void logf_close(struct logf *l);

/* A worker thread, number INDEX (from 0), batches its lines from now on: it must call
 * logf_thread_flush() after each turn of its event loop, and logf_thread_end() before it ends.
 * Threads that never call this write each line at once. */
void logf_thread_begin(unsigned index);
/* Writes the lines the calling thread has batched, in every log. Cheap when it has none. */
void logf_thread_flush(void);
/* How long the calling thread's event loop may wait before it flushes again: 1 ms when it holds
 * new lines, a second when it only holds lines its files could not take (a full disk), -1 when
 * it holds nothing. */
int logf_thread_wait_ms(void);
/* Writes what the calling thread holds; it batches no more. */
void logf_thread_end(void);

/* The header block of a log in the W3C extended format (IIS's W3C log, HTTP.sys's HTTPERR):
 * "#Software: SOFTWARE", "#Version: 1.0", "#Date: " NOW in UTC, then FIELDS_LINE (the
 * "#Fields: ..." line with its CRLF) into BUF. Returns its length, or 0 when it does not fit (a
 * cut header would be a broken file). */
size_t logf_w3c_header(char *buf, size_t len, time_t now, const char *software,
                       const char *fields_line);
/* Writes V in decimal at P (at most 20 bytes, no NUL); returns the end. For the formats'
 * renderers (w3c_, hplog_), which build lines without printf. */
char *logf_put_u64(char *p, uint64_t v);

/* mkdir -p with MODE; 0 or -1 with errno. Kept for the callers that still use it: it only calls
 * util_mkdirs() (util.h), which is the one to call. */
int logf_mkdirs(const char *path, unsigned mode);

#endif
