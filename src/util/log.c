/*
 * log — diagnostics on standard error. Each message is formatted into one buffer and written
 * with one write(2), so messages from worker threads never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int verbose;

void log_init(int verbosity)
{
    verbose = verbosity;
}

int log_verbosity(void)
{
    return verbose;
}

__attribute__((format(printf, 1, 0))) static void vlog(const char *fmt, va_list ap,
                                                       const char *suffix)
{
    char buf[2048];
    int saved = errno, n;

    n = snprintf(buf, sizeof(buf), "mrsmock: ");
    n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    if (n > (int)sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    if (suffix != NULL) {
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", suffix);
        if (n > (int)sizeof(buf) - 2)
            n = (int)sizeof(buf) - 2;
    }
    buf[n++] = '\n';
    if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
        /* nothing sensible left to tell anyone */
    }
    errno = saved;
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    const char *e = strerror(errno);
    va_start(ap, fmt);
    vlog(fmt, ap, e);
    va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, NULL);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    if (verbose < 1)
        return;
    va_start(ap, fmt);
    vlog(fmt, ap, NULL);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;
    if (verbose < 2)
        return;
    va_start(ap, fmt);
    vlog(fmt, ap, NULL);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    va_list ap;
    const char *e = strerror(errno);
    va_start(ap, fmt);
    vlog(fmt, ap, e);
    va_end(ap);
    exit(2);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap, NULL);
    va_end(ap);
    exit(2);
}
