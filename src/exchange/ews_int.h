/*
 * ews_int.h — what the files of the ews module share: the request being answered (struct
 * ews_ctx), the operation table's row, the fault a request ends in, and small helpers for
 * reading the request and writing the answer.
 *
 *   ews.c        the request: SOAP envelope, RequestServerVersion, impersonation, the operation
 *                table, ServerVersionInfo, HTTP (method, content type), the WSDL
 *   ews_fault.c  how EWS says no: response-code texts, schema faults worded as .NET's
 *                validator and XmlReader word them, with line and position; the fault envelope
 *   ews_ops.c    the operations and the mailbox they see: folders, ids, ResolveNames,
 *                GetFolder, FindFolder, ConvertId, GetServerTimeZones
 *
 * Everything made for a request lives in its pool (ews_request.pool).
 */
#ifndef MRSMOCK_EWS_INT_H
#define MRSMOCK_EWS_INT_H

#include <stdio.h>
#include <string.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "ews.h"
#include "soap.h"
#include "soap_ns.h"
#include "util.h"

#define NS_SOAP11 SOAP_NS_ENV11
#define NS_SOAP12 SOAP_NS_ENV12
#define NS_M SOAP_NS_EWS_MESSAGES
#define NS_T SOAP_NS_EWS_TYPES
#define NS_E SOAP_NS_EWS_ERRORS
#define NS_XSI SOAP_NS_XSI
#define NS_XSD SOAP_NS_XSD
#define CT_SOAP11 "text/xml; charset=utf-8"
#define CT_SOAP12 "application/soap+xml; charset=utf-8"

/* RequestServerVersion values the schemas of on-premises servers define, oldest first (names
 * and the rules for them in ews.c). */
enum ews_rsv {
    EWS_RSV_2007,
    EWS_RSV_2007_SP1,
    EWS_RSV_2010,
    EWS_RSV_2010_SP1,
    EWS_RSV_2010_SP2,
    EWS_RSV_2013,
    EWS_RSV_2013_SP1,
    EWS_RSV_2015,
    EWS_RSV_2016,
};

/* A request-level failure: a SOAP fault with HTTP 500. */
struct ews_fault {
    const char *code;    /* response code, e.g. "ErrorSchemaValidation"; NULL: none */
    char violation[600]; /* ErrorSchemaValidation: the validator's or reader's text, else "" */
    unsigned line, pos;  /* where, 1-based; 0: unknown */
};

struct ews_ctx;

/* A row of the operation table. */
struct ews_op {
    const char *name;   /* element in the messages namespace */
    enum ews_rsv since; /* the RequestServerVersion that brought it */
    /* Writes the m:<name>Response into ctx->w (what it leaves open is closed by the caller);
     * 0, or -1 with ctx->fault set (what it wrote is then discarded). */
    int (*run)(struct ews_ctx *c, const xmlNode *op);
};

struct ews_ctx {
    const struct ews_request *rq;
    xmlDoc *doc;
    xmlTextWriterPtr w;
    const struct ews_op *op;
    const struct scn_account *mailbox; /* the identity: the caller's, or the impersonated one */
    enum ews_rsv version;              /* the request's RequestServerVersion */
    unsigned messages, errors;         /* response messages written, and not NoError among them */
    struct ews_fault fault;
    char why[120];
};

/* --- ews_fault.c --- */

/* MessageText (and faultstring) of response code CODE. */
const char *ews_text_of(const char *code);
/* Sets C's fault to CODE (a fault without violation) and its why line. Returns -1. */
int ews_fail(struct ews_ctx *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An ErrorSchemaValidation fault about element N (or attribute ATTR of it; N NULL: no place).
 * Returns -1. */
int ews_schema_error(struct ews_ctx *c, const xmlNode *n, const char *attr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ews_missing_attr(struct ews_ctx *c, const xmlNode *n, const char *attr);
/* VALUE of attribute ATTR of N (of N's text when ATTR is NULL) is not in enumeration TYPE of
 * the types namespace. */
int ews_bad_enum(struct ews_ctx *c, const xmlNode *n, const char *attr, const char *value,
                 const char *type);
/* N lacks a child; EXPECTED (in namespace NS) lists what the schema wants there. */
int ews_incomplete(struct ews_ctx *c, const xmlNode *n, const char *ns, const char *expected);
/* N is not a child its parent may have. */
int ews_invalid_child(struct ews_ctx *c, const xmlNode *n, const char *ns, const char *expected);
/* Whether DOC has an element whose prefix is not declared (soap_parse lets it through). */
int ews_undeclared_prefix(xmlDoc *doc);
/* soap_parse refused the body (or it has an undeclared prefix): the fault for it, worded as
 * .NET's XmlReader. Returns -1. */
int ews_parse_fault(struct ews_ctx *c);
/* The fault envelope of C's fault into OUT (status 500). */
void ews_fault_body(struct ews_ctx *c, struct ews_response *out);

/* --- ews.c --- */

/* Attribute NAME of N, copied into the pool; NULL when absent. */
const char *ews_prop(const struct ews_ctx *c, const xmlNode *n, const char *name);
/* xs:boolean (BOOLEAN) or xs:int attribute NAME of N into *OUT, DFLT when absent. 0, or -1 with
 * a schema fault. */
int ews_number(struct ews_ctx *c, const xmlNode *n, const char *name, int boolean, long dflt,
               long *out);
/* m:<Op>Response and its m:ResponseMessages. */
void ews_response_begin(struct ews_ctx *c);
/* m:<Op>ResponseMessage of class CLS with CODE (MessageText and DescriptiveLinkKey unless
 * NoError); the caller ends it. */
void ews_message_begin(struct ews_ctx *c, const char *cls, const char *code);

/* --- ews_ops.c: the operations of the table --- */

int ews_op_convert_id(struct ews_ctx *c, const xmlNode *op);
int ews_op_find_folder(struct ews_ctx *c, const xmlNode *op);
int ews_op_get_folder(struct ews_ctx *c, const xmlNode *op);
int ews_op_get_server_time_zones(struct ews_ctx *c, const xmlNode *op);
int ews_op_resolve_names(struct ews_ctx *c, const xmlNode *op);

/* --- small helpers ------------------------------------------------------------------------ */

static inline void start(xmlTextWriterPtr w, const char *name)
{
    xmlTextWriterStartElement(w, BAD_CAST name);
}

static inline void end(xmlTextWriterPtr w)
{
    xmlTextWriterEndElement(w);
}

static inline void attr(xmlTextWriterPtr w, const char *name, const char *value)
{
    xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST value);
}

static inline void elem(xmlTextWriterPtr w, const char *name, const char *text)
{
    xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST text);
}

static inline void elem_u(xmlTextWriterPtr w, const char *name, unsigned long v)
{
    char s[24];
    snprintf(s, sizeof(s), "%lu", v);
    elem(w, name, s);
}

static inline void text(xmlTextWriterPtr w, const char *s)
{
    xmlTextWriterWriteString(w, BAD_CAST s);
}

static inline const xmlNode *first_element(const xmlNode *n)
{
    for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

static inline const xmlNode *next_element(const xmlNode *n)
{
    for (n = n->next; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* Index of V in the NULL-terminated LIST, or -1. */
static inline int one_of(const char *v, const char *const *list)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strcmp(v, list[i]) == 0)
            return i;
    return -1;
}

static inline const char *ns_of(const xmlNode *n)
{
    return n->ns != NULL && n->ns->href != NULL ? (const char *)n->ns->href : "";
}

/* The account whose mailbox has primary SMTP address ADDR (NUL-terminated), or NULL. */
static inline const struct scn_account *by_smtp(const struct ews_ctx *c, const char *addr)
{
    return scn_account_by_smtp(c->rq->scn, addr, strlen(addr));
}

#endif
