/*
 * iis — IIS's own vocabulary: the status triples it logs (sc-status sc-substatus
 * sc-win32-status), named; its reason phrases; its error pages; the Server header of each
 * Exchange version's IIS. No request state: the answer call (flow_answer) uses it.
 */
#ifndef MRSMOCK_IIS_H
#define MRSMOCK_IIS_H

#include <stdint.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "scenario.h"

/* What IIS logs of an answer: sc-status, sc-substatus, sc-win32-status. */
struct iis_status {
    uint16_t status;
    uint16_t substatus;
    uint32_t win32;
};

/* Win32 and SSPI statuses IIS writes in sc-win32-status. */
#define IIS_WIN32_FILE_NOT_FOUND 2u
#define IIS_WIN32_ACCESS_DENIED 5u
#define IIS_WIN32_LOGON_FAILURE 1326u          /* ERROR_LOGON_FAILURE: wrong user or password */
#define IIS_WIN32_PASSWORD_EXPIRED 1330u       /* ERROR_PASSWORD_EXPIRED */
#define IIS_WIN32_ACCOUNT_DISABLED 1331u       /* ERROR_ACCOUNT_DISABLED */
#define IIS_WIN32_ACCOUNT_LOCKED 1909u         /* ERROR_ACCOUNT_LOCKED_OUT */
#define IIS_WIN32_CONNECTION_ABORTED 1236u     /* ERROR_CONNECTION_ABORTED: by the local system */
#define IIS_SEC_E_INVALID_TOKEN 0x80090308u    /* 2148074248: garbled or out of context */
#define IIS_SEC_E_LOGON_DENIED 0x8009030Cu     /* 2148074252: NTLM logon failure */
#define IIS_SEC_E_NO_CREDENTIALS 0x8009030Eu   /* 2148074254: "continue needed" */
#define IIS_SEC_E_WRONG_PRINCIPAL 0x80090322u  /* a Kerberos ticket for another principal */
#define IIS_SEC_E_PASSWORD_EXPIRED 0x80090328u /* an expired password through SSPI */

#define IIS_STATUS(s, sub, w) ((struct iis_status){(s), (sub), (w)})

/* The triples mrsmock answers with, by what they mean. */
#define IIS_OK IIS_STATUS(200, 0, 0)
#define IIS_ACCEPTED IIS_STATUS(202, 0, 0)
#define IIS_FOUND IIS_STATUS(302, 0, 0)
#define IIS_BAD_REQUEST IIS_STATUS(400, 0, 0)
/* the anonymous challenge: no credentials, or a scheme the directory does not offer */
#define IIS_ANONYMOUS IIS_STATUS(401, 2, IIS_WIN32_ACCESS_DENIED)
#define IIS_BASIC_LOGON_FAILED IIS_STATUS(401, 1, IIS_WIN32_LOGON_FAILURE)
#define IIS_NTLM_CONTINUE IIS_STATUS(401, 1, IIS_SEC_E_NO_CREDENTIALS)
#define IIS_NTLM_LOGON_DENIED IIS_STATUS(401, 1, IIS_SEC_E_LOGON_DENIED)
#define IIS_NTLM_INVALID_TOKEN IIS_STATUS(401, 1, IIS_SEC_E_INVALID_TOKEN)
#define IIS_KERBEROS_WRONG_PRINCIPAL IIS_STATUS(401, 1, IIS_SEC_E_WRONG_PRINCIPAL)
/* a logon the account's state refuses (the Win32 or SSPI status says which state) */
#define IIS_LOGON_REFUSED(win32) IIS_STATUS(401, 1, (win32))
/* 403 0 0: the front end's own refusal (MRSProxyEnabled false) */
#define IIS_FORBIDDEN IIS_STATUS(403, 0, 0)
/* 403 0 5: an authorization rule denies the authenticated user (the substatus IIS writes is
 * unconfirmed; the Win32 status tells it from 403 0 0) */
#define IIS_AUTHZ_DENIED IIS_STATUS(403, 0, IIS_WIN32_ACCESS_DENIED)
#define IIS_SSL_REQUIRED IIS_STATUS(403, 4, IIS_WIN32_ACCESS_DENIED) /* 403.4 */
#define IIS_NOT_FOUND IIS_STATUS(404, 0, IIS_WIN32_FILE_NOT_FOUND)
#define IIS_VERB_DENIED IIS_STATUS(405, 0, 0)
#define IIS_TOO_LARGE IIS_STATUS(413, 0, 0)
#define IIS_UNSUPPORTED_MEDIA IIS_STATUS(415, 0, 0)
#define IIS_SERVER_ERROR IIS_STATUS(500, 0, 0)
#define IIS_UNAVAILABLE IIS_STATUS(503, 0, 0)

/* The reason phrase IIS writes for STATUS (h2o does not derive one). Static. */
const char *iis_reason(int status);

/* IIS 10's error page for remote clients (errorMode DetailedLocalOnly) for ST: a row for the
 * substatus (403.4) wins over the status's own. In POOL. */
h2o_iovec_t iis_error_page(h2o_mem_pool_t *pool, struct iis_status st);

/* The Server header of the IIS an Exchange version is most often installed with. Static. */
const char *iis_server_header(enum scn_version v);

#endif
