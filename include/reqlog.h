/*
 * reqlog — a finished request into the lines of the Windows logs its answer called for
 * (flow_answer set f->logs): the IIS W3C line, and the HttpProxy line of what went through an
 * Exchange 2013+ front end's HttpProxy module, each in the log of the server that answered.
 * Each is a flow_logger row of the pipeline (pipeline.c), as h2o registers its loggers.
 */
#ifndef MRSMOCK_REQLOG_H
#define MRSMOCK_REQLOG_H

#include "flow.h"

/* The IIS W3C line (FLOW_LOG_W3C), with the front end's cafeReqId in cs-uri-query when the
 * request went through its HttpProxy module (FLOW_LOG_HPLOG). */
void reqlog_w3c(struct flow *f, const struct timeval *now);
/* The HTTPERR line of what HTTP.sys answered (FLOW_LOG_HTTPERR). */
void reqlog_httperr(struct flow *f, const struct timeval *now);
/* The HttpProxy line (FLOW_LOG_HPLOG). */
void reqlog_hplog(struct flow *f, const struct timeval *now);

#endif
