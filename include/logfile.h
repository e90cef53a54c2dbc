/*
 * logfile — the files of one Windows log (an IIS site's W3C log, say) under the state folder,
 * one per UTC day, rolled over at UTC midnight as IIS does.
 *
 * Lines are written whole, each in one write(2) on an O_APPEND descriptor, so lines from worker
 * threads never interleave and nothing is buffered (nothing to lose on a crash, nothing to
 * flush at exit). No lock is taken on the write path; a mutex is held only while a new day's
 * file is opened. Header lines are written when a file is created and when the log is opened
 * at start-up (as IIS repeats them when the service starts).
 */
#ifndef MRSMOCK_LOGFILE_H
#define MRSMOCK_LOGFILE_H

#include <stddef.h>
#include <time.h>

struct logf;

/* Writes the header lines for a file opened at NOW into BUF; returns their length. */
typedef size_t (*logf_header_cb)(char *buf, size_t len, time_t now);

/*
 * Opens the log whose files are DIR/<strftime(PATTERN, UTC day)>, e.g. pattern "u_ex%y%m%d.log".
 * DIR is created with its parents. Returns NULL with a cause in ERR when the folder or the file
 * cannot be created.
 */
struct logf *logf_open(const char *dir, const char *pattern, logf_header_cb header, time_t now,
                       char *err, size_t errlen);
/* Appends one whole line (LINE ends with "\r\n" or "\n" as the format wants) for time NOW. */
void logf_write(struct logf *l, const char *line, size_t len, time_t now);
/* Path of the file that a write at NOW goes to (for tests and messages); valid until next call. */
const char *logf_path(struct logf *l, time_t now, char *buf, size_t len);
void logf_close(struct logf *l);

/* mkdir -p with MODE; 0 or -1 with errno. */
int logf_mkdirs(const char *path, unsigned mode);

#endif
