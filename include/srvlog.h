/*
 * srvlog — the log files of each emulated server, with one owner: the IIS W3C log (W3SVC1),
 * the HTTPERR log of HTTP.sys and, on Exchange 2013 and later, the front end's HttpProxy log
 * per protocol.
 *
 * A file is opened once for every generation that needs it and closed when the last one that
 * did is freed: a reload keeps a server's files open (IIS does not start a new file when its
 * configuration changes), and a reload that changes a server's build opens HttpProxy files
 * whose header shows the new version, as the first lines after a cumulative update do, while
 * the old generation's files are closed once its last request is logged. Opening and closing
 * take a lock; writing (logfile.h) does not.
 */
#ifndef MRSMOCK_SRVLOG_H
#define MRSMOCK_SRVLOG_H

#include <stdatomic.h>
#include <stddef.h>

#include "hplog.h"
#include "scenario.h"

struct logf;

/* One server's logs in one generation. */
struct srvlog {
    struct logf *w3c;                     /* IIS W3SVC1 (Default Web Site: the front end) */
    struct logf *w3c_backend;             /* W3SVC2 (Exchange Back End); NULL on Exchange 2010 */
    struct logf *hplog[HPLOG_NPROTOCOLS]; /* HttpProxy per protocol; NULL on Exchange 2010 */
    _Atomic(struct logf *) httperr;       /* HTTP.sys's, opened at its first line: srvlog_httperr */
    atomic_int httperr_failed;            /* its open failed: not retried (it was reported) */
    char *logs_dir, *server;
};

/* The logs of server SV under LOGS_DIR (<state>/logs), opened or shared. NULL with a cause in
 * ERR when a folder or a file cannot be created. */
struct srvlog *srvlog_open(const char *logs_dir, const struct scn_server *sv, char *err,
                           size_t errlen);
/* The HTTPERR log of L, opened at its first line (HTTP.sys writes its header block then, not when
 * it starts); NULL when it cannot be opened (reported once). Any thread. */
struct logf *srvlog_httperr(struct srvlog *l);
/* Gives L's files back; each is closed when no generation uses it any more. NULL is ignored. */
void srvlog_close(struct srvlog *l);

#endif
