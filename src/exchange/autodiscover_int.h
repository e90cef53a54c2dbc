/*
 * autodiscover_int — what the Autodiscover files share: the names Exchange derives from
 * Active Directory for a mailbox (legacy DNs, the 2013+ personalised server name), version
 * strings, URLs handed out, and the answer helpers. Private to src/autodiscover*.c.
 */
#ifndef MRSMOCK_AUTODISCOVER_INT_H
#define MRSMOCK_AUTODISCOVER_INT_H

#include <libxml/xmlwriter.h>

#include "autodiscover.h"

/* The administrative group every Exchange 2007+ object lives in (its legacy DN's ou=). */
#define AD_ADMIN_GROUP "Exchange Administrative Group (FYDIBOHF23SPDLT)"

/* A mailbox as Autodiscover names it: values shared by POX and SOAP. */
struct ad_names {
    char user_dn[320];    /* UserDN, POX LegacyDN: .../cn=Recipients/cn=<sam> */
    char rpc_server[300]; /* InternalRpcClientServer, POX EXCH Server */
    char server_dn[400];  /* InternalMailboxServerDN, POX EXCH ServerDN */
    char mdb_dn[440];     /* MailboxDN, POX EXCH MdbDN */
    char deployment_id[37];
};

/* Fills N for account A, whose mailbox lives on a->server (not NULL). */
void ad_names(const struct scn *s, const struct scn_account *a, struct ad_names *n);
/* A GUID that stays the same for the same SEED (a mailbox, a domain): two runs agree. */
void ad_stable_guid(const char *seed, char out[37]);
/* "15.01.2507.006": CasVersion, ExternalEwsVersion (Exchange's {0:d}.{1:d2}.{2:d4}.{3:d3}). */
void ad_version_string(const unsigned build[4], char out[24]);
/* EwsSupportedSchemas of an Autodiscover service of version V. */
const char *ad_ews_schemas(enum scn_version v);
/* Outlook Anywhere's client authentication as Autodiscover names it (AuthPackage). */
const char *ad_auth_package(unsigned auth);
/* The host of an absolute URL, lower-cased as written, into OUT ("" when none). */
void ad_host_of(const char *url, char *out, size_t len);
/* URL as handed out to the client (c->public_url), NUL-terminated, in c->pool. */
const char *ad_url(const struct ad_ctx *c, const char *url);

/* The user settings of GetUserSettings (autodiscover_settings.c). */
#define AD_MAX_SETTINGS 128
/* Index (below AD_MAX_SETTINGS) of setting NAME if a service of version V knows it, else -1. */
int ad_setting_index(enum scn_version v, const char *name);
/* Calls EMIT(ARG, name, value) for each setting whose index is set in REQUESTED and that has a
 * value for the mailbox of ACC, in the order Exchange adds them to an answer. */
void ad_settings_each(const struct ad_ctx *c, const struct scn_account *acc, const char *requested,
                      void (*emit)(void *arg, const char *name, const char *value), void *arg);

/* An XML writer into memory without an XML declaration (WCF and Exchange write none). */
xmlTextWriterPtr ad_writer_new(xmlBufferPtr *buf);
/* Appends "; " and the formatted text to a->why (cut when full). */
void ad_why(struct ad_answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets A to STATUS with CONTENT_TYPE and BODY. */
void ad_reply(struct ad_answer *a, int status, const char *content_type, h2o_iovec_t body);

#endif
