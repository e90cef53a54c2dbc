/*
 * ews_fault — how EWS says no: the texts of its response codes, and SOAP faults (HTTP 500) for
 * requests it will not run, schema errors worded as .NET's XmlSchemaValidator and XmlReader
 * word them, with the line and position XmlReader counts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "ews_int.h"
#include "log.h"

#define SCHEMA_FAILED "The request failed schema validation"

/* MessageText (and faultstring) of each response code used, as English servers write them. */
static const struct {
    const char *code, *text;
} texts[] = {
    {"ErrorAccessDenied", "Access is denied. Check credentials and try again."},
    {"ErrorFolderNotFound", "The specified folder could not be found in the store."},
    {"ErrorImpersonateUserDenied",
     "The account does not have permission to impersonate the requested user."},
    {"ErrorIncorrectSchemaVersion",
     "The request is valid but does not specify the correct server version in the "
     "RequestServerVersion SOAP header.  Ensure that the RequestServerVersion SOAP header is set "
     "with the correct RequestServerVersionValue."},
    {"ErrorInvalidIdMalformed", "Id is malformed."},
    {"ErrorInvalidRequest", "The request is invalid."},
    {"ErrorInvalidServerVersion", "The specified server version is invalid."},
    {"ErrorNameResolutionMultipleResults", "Multiple results were found."},
    {"ErrorNameResolutionNoResults", "No results were found."},
    {"ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."},
    {"ErrorSchemaValidation", SCHEMA_FAILED "."},
};

const char *ews_text_of(const char *code)
{
    for (size_t i = 0; i < COUNTOF(texts); i++)
        if (strcmp(texts[i].code, code) == 0)
            return texts[i].text;
    return code;
}

int ews_fail(struct ews_ctx *c, const char *code, const char *fmt, ...)
{
    va_list ap;
    c->fault.code = code;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    return -1;
}

/* --- where an element is: XmlReader's line and position ------------------------------------ */

/* Line and position (1-based, in characters; lines end at "\n") of byte OFF of the body. */
static void line_pos(h2o_iovec_t b, size_t off, struct ews_fault *ft)
{
    unsigned line = 1, pos = 1;

    for (size_t i = 0; i < off && i < b.len; i++) {
        if (b.base[i] == '\n')
            line++, pos = 1;
        else if (((unsigned char)b.base[i] & 0xc0) != 0x80)
            pos++;
    }
    ft->line = line;
    ft->pos = pos;
}

/* Offset of the first byte of line LINE (1-based) of the body. */
static size_t line_start(h2o_iovec_t b, int line)
{
    size_t off = 0;
    for (int l = 1; l < line && off < b.len; off++)
        if (b.base[off] == '\n')
            l++;
    return off;
}

static const xmlNode *next_in_document(const xmlNode *n)
{
    if (n->type == XML_ELEMENT_NODE && n->children != NULL)
        return n->children;
    while (n->next == NULL) {
        n = n->parent;
        if (n == NULL || n->type != XML_ELEMENT_NODE)
            return NULL;
    }
    return n->next;
}

static const xmlChar *prefix_of(const xmlNode *n)
{
    return n->ns != NULL ? n->ns->prefix : NULL;
}

int ews_undeclared_prefix(xmlDoc *doc)
{
    /* libxml2 keeps an element whose prefix is not declared, named "prefix:name" without a
     * namespace (a namespace error, not a well-formedness one); XmlReader refuses the body */
    for (const xmlNode *n = xmlDocGetRootElement(doc); n != NULL; n = next_in_document(n))
        if (n->type == XML_ELEMENT_NODE && n->ns == NULL && strchr((const char *)n->name, ':'))
            return 1;
    return 0;
}

/* Offset of N's name in its start tag: N is the k-th element of its qualified name in document
 * order, so it is the k-th "<qname" in the text (comments and CDATA skipped). SIZE_MAX: not
 * found (a name hidden in a processing instruction can shift the count; accepted). */
static size_t tag_offset(const struct ews_ctx *c, const xmlNode *n)
{
    h2o_iovec_t b = c->rq->body;
    size_t k = 0, qlen;
    char q[256];

    for (const xmlNode *p = xmlDocGetRootElement(c->doc); p != NULL && p != n;
         p = next_in_document(p))
        if (p->type == XML_ELEMENT_NODE && xmlStrEqual(p->name, n->name) &&
            xmlStrEqual(prefix_of(p), prefix_of(n)))
            k++;
    qlen = (size_t)snprintf(q, sizeof(q), "%s%s%s", prefix_of(n) ? (const char *)prefix_of(n) : "",
                            prefix_of(n) ? ":" : "", (const char *)n->name);
    if (qlen >= sizeof(q))
        return SIZE_MAX;
    for (size_t i = 0; i + 1 + qlen < b.len; i++) {
        const char *s = b.base + i, *end = NULL;
        if (*s != '<')
            continue;
        if (b.len - i >= 4 && memcmp(s, "<!--", 4) == 0)
            end = memmem(s + 4, b.len - i - 4, "-->", 3);
        else if (b.len - i >= 9 && memcmp(s, "<![CDATA[", 9) == 0)
            end = memmem(s + 9, b.len - i - 9, "]]>", 3);
        if (end != NULL) {
            i = (size_t)(end - b.base);
            continue;
        }
        if (memcmp(s + 1, q, qlen) == 0 && strchr(" \t\r\n/>", s[1 + qlen]) != NULL && k-- == 0)
            return i + 1;
    }
    return SIZE_MAX;
}

/* Offset of attribute NAME in the start tag whose name is at OFF (the tag's offset if absent). */
static size_t attr_offset(h2o_iovec_t b, size_t off, const char *name)
{
    size_t n = strlen(name);
    char quote = 0;

    for (size_t i = off; i < b.len && (quote || b.base[i] != '>'); i++) {
        if (quote) {
            quote = b.base[i] == quote ? 0 : quote;
        } else if (b.base[i] == '"' || b.base[i] == '\'') {
            quote = b.base[i];
        } else if (strchr(" \t\r\n", b.base[i]) != NULL && i + 1 + n < b.len &&
                   memcmp(b.base + i + 1, name, n) == 0 &&
                   strchr(" \t\r\n=", b.base[i + 1 + n]) != NULL) {
            return i + 1;
        }
    }
    return off;
}

/* --- schema faults, with the texts of .NET's XmlSchemaValidator ---------------------------- */

int ews_schema_error(struct ews_ctx *c, const xmlNode *n, const char *attr, const char *fmt, ...)
{
    va_list ap;
    size_t off = n != NULL ? tag_offset(c, n) : SIZE_MAX;

    va_start(ap, fmt);
    vsnprintf(c->fault.violation, sizeof(c->fault.violation), fmt, ap);
    va_end(ap);
    c->fault.violation[soap_clip(c->fault.violation, sizeof(c->fault.violation) - 1)] = '\0';
    if (off != SIZE_MAX)
        line_pos(c->rq->body, attr != NULL ? attr_offset(c->rq->body, off, attr) : off, &c->fault);
    return ews_fail(c, "ErrorSchemaValidation", "schema: %.90s", c->fault.violation);
}

int ews_missing_attr(struct ews_ctx *c, const xmlNode *n, const char *attr)
{
    return ews_schema_error(c, n, NULL, "The required attribute '%s' is missing.", attr);
}

/* VALUE of attribute ATTR of N (or of N itself, ATTR NULL) is not in enumeration TYPE. */
int ews_bad_enum(struct ews_ctx *c, const xmlNode *n, const char *attr, const char *value,
                 const char *type)
{
    if (attr != NULL)
        return ews_schema_error(
            c, n, attr,
            "The '%s' attribute is invalid - The value '%.*s' is invalid according "
            "to its datatype '" NS_T ":%s' - The Enumeration constraint failed.",
            attr, soap_clip(value, 200), value, type);
    return ews_schema_error(
        c, n, NULL,
        "The '%s:%s' element is invalid - The value '%.*s' is invalid according to "
        "its datatype '" NS_T ":%s' - The Enumeration constraint failed.",
        ns_of(n), (const char *)n->name, soap_clip(value, 200), value, type);
}

int ews_incomplete(struct ews_ctx *c, const xmlNode *n, const char *ns, const char *expected)
{
    return ews_schema_error(c, n, NULL,
                            "The element '%s' in namespace '%s' has incomplete content. List of "
                            "possible elements expected: '%s' in namespace '%s'.",
                            (const char *)n->name, ns_of(n), expected, ns);
}

int ews_invalid_child(struct ews_ctx *c, const xmlNode *n, const char *ns, const char *expected)
{
    return ews_schema_error(c, n, NULL,
                            "The element '%s' in namespace '%s' has invalid child element '%s' in "
                            "namespace '%s'. List of possible elements expected: '%s' in namespace "
                            "'%s'.",
                            (const char *)n->parent->name, ns_of(n->parent), (const char *)n->name,
                            ns_of(n), expected, ns);
}

void ews_fault_body(struct ews_ctx *c, struct ews_response *out)
{
    const struct ews_fault *ft = &c->fault;
    xmlBufferPtr buf;
    xmlTextWriterPtr w = soap_writer_new(&buf);
    char code[64], reason[700];
    int v12 = c->rq->soap12;

    snprintf(code, sizeof(code), "a:%s", ft->code);
    if (ft->violation[0] != '\0')
        snprintf(reason, sizeof(reason), SCHEMA_FAILED ": %s", ft->violation);
    else
        snprintf(reason, sizeof(reason), "%s", ews_text_of(ft->code));
    /* A 2010+ fault has no SOAP header (public captures; only Exchange 2007 wrote one). */
    start(w, "s:Envelope");
    attr(w, "xmlns:s", v12 ? NS_SOAP12 : NS_SOAP11);
    start(w, "s:Body");
    start(w, "s:Fault");
    if (v12) {
        /* SOAP 1.2: EWS's code as the subcode of a Sender fault (unconfirmed: no capture). */
        start(w, "s:Code");
        elem(w, "s:Value", "s:Sender");
        start(w, "s:Subcode");
        start(w, "s:Value");
        attr(w, "xmlns:a", NS_T);
        text(w, code);
        end(w);
        end(w);
        end(w);
        start(w, "s:Reason");
        start(w, "s:Text");
    } else {
        start(w, "faultcode");
        attr(w, "xmlns:a", NS_T);
        text(w, code);
        end(w);
        start(w, "faultstring");
    }
    attr(w, "xml:lang", "en-US");
    text(w, reason);
    end(w);
    if (v12)
        end(w); /* s:Reason */
    start(w, v12 ? "s:Detail" : "detail");
    start(w, "e:ResponseCode");
    attr(w, "xmlns:e", NS_E);
    text(w, ft->code);
    end(w);
    start(w, "e:Message");
    attr(w, "xmlns:e", NS_E);
    text(w, ews_text_of(ft->code));
    end(w);
    if (ft->violation[0] != '\0') {
        start(w, "t:MessageXml");
        attr(w, "xmlns:t", NS_T);
        elem_u(w, "t:LineNumber", ft->line);
        elem_u(w, "t:LinePosition", ft->pos);
        elem(w, "t:Violation", ft->violation);
        end(w);
    }
    out->status = 500;
    out->body = soap_writer_finish(c->rq->pool, w, buf);
}

/* --- malformed bodies: the XmlReader's message ------------------------------------------- */

struct parse_error {
    int code, line, col, line1, dtd;
    char name1[128], name2[128], open[200];
};

static void on_parse_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = data;
    struct parse_error *pe = ctxt->_private;
    size_t n = 0;

    if (pe->code != 0 || e->level < XML_ERR_ERROR)
        return; /* the reader stops at the first error: keep that one */
    pe->code = e->code;
    pe->line = e->line;
    pe->col = e->int2;
    pe->line1 = e->int1;
    /* names are cut where a UTF-8 sequence starts, so the fault stays well-formed; the open
     * elements are listed by local name (libxml2 keeps no prefix there; XmlReader writes the
     * qualified name) */
    snprintf(pe->name1, sizeof(pe->name1), "%.*s", soap_clip(e->str1 ? e->str1 : "", 127), e->str1);
    snprintf(pe->name2, sizeof(pe->name2), "%.*s", soap_clip(e->str2 ? e->str2 : "", 127), e->str2);
    for (int i = ctxt->nameNr - 1; i >= 0 && n + 70 < sizeof(pe->open); i--)
        n += (size_t)snprintf(pe->open + n, sizeof(pe->open) - n, "%s%.*s", n ? ", " : "",
                              soap_clip((const char *)ctxt->nameTab[i], 64),
                              (const char *)ctxt->nameTab[i]);
}

/* The same guard as soap_parse: a DOCTYPE stops the parse before its contents are read. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    UNUSED(name), UNUSED(ext_id), UNUSED(sys_id);
    ((struct parse_error *)ctxt->_private)->dtd = 1;
    xmlStopParser(ctxt);
}

/*
 * soap_parse refused the body: parse it again, as safely, only to learn where and why, and
 * word it as .NET's XmlReader does ("Data at the root level is invalid. Line 1, position 1."),
 * the text EWS puts after "The request failed schema validation: " (the MSDN sample for a bare
 * "&" reads "An error occurred while parsing EntityName. Line 11, position 33."). Rarer errors
 * get the reader's generic texts.
 */
int ews_parse_fault(struct ews_ctx *c)
{
    h2o_iovec_t b = c->rq->body;
    struct parse_error pe = {0};
    xmlParserCtxtPtr ctxt = NULL;
    struct ews_fault *ft = &c->fault;
    char msg[400];
    size_t i = 0, off;
    const char *dt;

    while (i < b.len && strchr(" \t\r\n", b.base[i]) != NULL)
        i++;
    if (i == b.len) /* nothing but white space */
        return ews_schema_error(c, NULL, NULL, "Root element is missing.");
    if (b.len <= INT32_MAX && (ctxt = xmlCreateMemoryParserCtxt(b.base, (int)b.len)) != NULL) {
        xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        ctxt->_private = &pe;
        ctxt->sax->internalSubset = on_doctype;
        ctxt->sax->externalSubset = NULL;
        ctxt->sax->serror = on_parse_error;
        xmlParseDocument(ctxt);
        if (ctxt->myDoc != NULL)
            xmlFreeDoc(ctxt->myDoc);
        xmlFreeParserCtxt(ctxt);
    }
    if (pe.dtd && (dt = memmem(b.base, b.len, "<!DOCTYPE", 9)) != NULL) {
        line_pos(b, (size_t)(dt - b.base) + 2, ft);
        snprintf(msg, sizeof(msg),
                 "For security reasons DTD is prohibited in this XML document. To enable DTD "
                 "processing set the DtdProcessing property on XmlReaderSettings to Parse and "
                 "pass the settings to XmlReader.Create method.");
    } else {
        /* libxml2 counts columns in bytes from 1 on the error's line */
        off = line_start(b, pe.line) + (pe.col > 0 ? (size_t)pe.col - 1 : 0);
        if (off > b.len)
            off = b.len;
        line_pos(b, off, ft);
        unsigned char ch = off < b.len ? (unsigned char)b.base[off] : 0;
        switch (pe.code) {
        case XML_ERR_DOCUMENT_END:
            if (ch == '<') {
                ft->pos++;
                snprintf(msg, sizeof(msg), "There are multiple root elements.");
                break;
            }
            /* fall through */
        case XML_ERR_DOCUMENT_EMPTY:
        case XML_ERR_DOCUMENT_START:
            snprintf(msg, sizeof(msg), "Data at the root level is invalid.");
            break;
        case XML_ERR_TAG_NAME_MISMATCH: {
            /* the start tag: the first "<name" on its line (libxml2 keeps only the line) */
            struct ews_fault at = {.line = (unsigned)pe.line1};
            size_t ls = line_start(b, pe.line1), le = ls;
            while (le < b.len && b.base[le] != '\n')
                le++;
            char tag[130];
            snprintf(tag, sizeof(tag), "<%s", pe.name1);
            const char *t = memmem(b.base + ls, le - ls, tag, strlen(tag));
            line_pos(b, t != NULL ? (size_t)(t - b.base) + 1 : ls, &at);
            snprintf(msg, sizeof(msg),
                     "The '%s' start tag on line %d position %u does not match the end tag of "
                     "'%s'.",
                     pe.name1, pe.line1, at.pos, pe.name2);
            break;
        }
        case XML_ERR_TAG_NOT_FINISHED:
            snprintf(msg, sizeof(msg),
                     "Unexpected end of file has occurred. The following elements are not "
                     "closed: %s.",
                     pe.open);
            break;
        case XML_ERR_UNDECLARED_ENTITY:
            snprintf(msg, sizeof(msg), "Reference to undeclared entity '%s'.", pe.name1);
            break;
        case XML_NS_ERR_UNDEFINED_NAMESPACE: {
            /* libxml2 reports the end of the start tag; XmlReader points at the prefix */
            char tag[130];
            size_t n = (size_t)snprintf(tag, sizeof(tag), "<%s:", pe.name1);
            for (size_t k = off; n < sizeof(tag) && k-- > 0;)
                if (k + n <= b.len && memcmp(b.base + k, tag, n) == 0) {
                    line_pos(b, k + 1, ft);
                    break;
                }
            snprintf(msg, sizeof(msg), "'%s' is an undeclared prefix.", pe.name1);
            break;
        }
        case XML_ERR_ENTITYREF_SEMICOL_MISSING:
        case XML_ERR_NAME_REQUIRED:
            snprintf(msg, sizeof(msg), "An error occurred while parsing EntityName.");
            break;
        default:
            if (ch >= 0x20 && ch < 0x7f)
                snprintf(msg, sizeof(msg), "'%c' is an unexpected token.", ch);
            else
                snprintf(msg, sizeof(msg), "Invalid character in the given encoding.");
        }
    }
    snprintf(ft->violation, sizeof(ft->violation), "%s Line %u, position %u.", msg, ft->line,
             ft->pos);
    ft->violation[soap_clip(ft->violation, sizeof(ft->violation) - 1)] = '\0';
    return ews_fail(c, "ErrorSchemaValidation", "not well-formed (line %u): %.60s", ft->line, msg);
}
