/*
 * soap — safe XML in and out for the endpoints: parsing untrusted bodies with libxml2 (no
 * network, no DTD, no entities), finding elements by namespace, and writing answers with
 * xmlTextWriter so nothing a client sent is ever pasted into XML by hand.
 *
 * Ownership: documents and written bodies belong to the request's pool and die with it.
 */
#ifndef MRSMOCK_SOAP_H
#define MRSMOCK_SOAP_H

#include <string.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

/* Parses BODY. NULL when it is empty, not well-formed, or carries a DOCTYPE (refused before
 * any declaration in it is read). The document is freed with POOL. */
xmlDoc *soap_parse(h2o_mem_pool_t *pool, h2o_iovec_t body);

/* The first child element of PARENT named NAME in namespace NS (NULL: no namespace). */
xmlNode *soap_child(const xmlNode *parent, const char *ns, const char *name);
/* Whether N is the element NAME in namespace NS. */
int soap_is(const xmlNode *n, const char *ns, const char *name);
/* The text of N, trimmed of surrounding white space, copied into POOL ("" for NULL). */
h2o_iovec_t soap_text(h2o_mem_pool_t *pool, const xmlNode *n);

/* A writer into memory, with the XML declaration written ("utf-8"). */
xmlTextWriterPtr soap_writer_new(xmlBufferPtr *buf);
/* Ends the document, copies it into POOL and frees the writer and buffer. */
h2o_iovec_t soap_writer_finish(h2o_mem_pool_t *pool, xmlTextWriterPtr w, xmlBufferPtr buf);

/* Whether content type CT is TYPE (compared without case), parameters aside. */
int soap_media_is(h2o_iovec_t ct, const char *type);

/* How many of S's first bytes to keep to stay within MAX bytes without splitting a UTF-8
 * character (S is NUL-terminated). */
static inline int soap_clip(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return (int)max;
}

/* WCF's texts, written the same way by every WCF endpoint of Exchange (EWS, Autodiscover SOAP,
 * the MRS Proxy), in POOL:
 *   the reason phrase of its 415 for content type CT when it expected EXPECTED;
 *   the reason of its ActionNotSupported fault for ACTION (ContractFilter mismatch). */
const char *soap_wcf_415_reason(h2o_mem_pool_t *pool, h2o_iovec_t ct, const char *expected);
const char *soap_wcf_action_not_supported(h2o_mem_pool_t *pool, h2o_iovec_t action);

#endif
