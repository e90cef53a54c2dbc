/*
 * log — diagnostics for people, on standard error (OpenBSD httpd's log.c).
 *
 * Standard output belongs to the ready line; everything a person should read goes through
 * these calls. None of them changes errno. Verbosity: 0 warnings only, 1 adds info, 2 debug.
 * The Windows logs that mrsmock writes as a product (IIS W3C, HTTPERR...) are elsewhere.
 */
#ifndef MRSMOCK_LOG_H
#define MRSMOCK_LOG_H

#include <stdarg.h>

#define UNUSED(x) ((void)(x))

void log_init(int verbosity);
/* What log_init() was given. */
int log_verbosity(void);
void log_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2))); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print and exit with status 2 (runtime failure, DESIGN.md contracts). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
