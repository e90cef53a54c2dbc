/*
 * admin's own: the server's plumbing (admin.c) as the route handlers (admin_api.c) use it.
 */
#ifndef MRSMOCK_ADMIN_INT_H
#define MRSMOCK_ADMIN_INT_H

#include <jansson.h>
#include <time.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

/* A route handler: it answers REQ (admin_reply / admin_error), now or later. */
typedef void (*admin_handler)(h2o_req_t *req);

struct admin_route {
    const char *method;
    const char *path;
    admin_handler handler;
    int open; /* served without the token (the dashboard's files: a browser navigating to the
                 page sends none); loopback still applies without one */
};

extern const struct admin_route admin_routes[];
extern const size_t admin_num_routes;
/* The dashboard's routes (admin_dashboard.c): its files, the topology, scenarios, the CA. */
extern const struct admin_route admin_dashboard_routes[];
extern const size_t admin_dashboard_num_routes;
/* The log files' routes (admin_logs.c): the list, a piece of one. */
extern const struct admin_route admin_logs_routes[];
extern const size_t admin_logs_num_routes;

/* What the handlers read of the server. */
struct admin_env {
    time_t started;
    const char *state_dir;
    h2o_timeout_t tick; /* a short timeout on the admin loop: long polls look again on it */
    h2o_loop_t *loop;
};
extern struct admin_env admin_env;

/* Answers REQ with STATUS and BODY (taking its reference) as JSON. */
void admin_reply(h2o_req_t *req, int status, json_t *body);
/* Answers REQ with STATUS and {"error": MESSAGE}. */
void admin_error(h2o_req_t *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The fields of a JSON switch request, PUT /scenario {"name": ...} or {"file": ...}: exactly
 * one of *NAME and *FILE set, both into *DOC (the caller's, json_decref); 0, or -1 with what is
 * wrong in ERR (a 400) and *DOC NULL. */
int admin_switch_fields(h2o_iovec_t body, json_t **doc, const char **name, const char **file,
                        char *err, size_t errlen);
/* The query parameters of REQ, decoded, one after the other: 1 with *NAME and *VALUE (in the
 * pool), 0 at the end, -1 for a malformed one. *AT starts at 0. */
int admin_query_next(h2o_req_t *req, size_t *at, h2o_iovec_t *name, h2o_iovec_t *value);

#endif
