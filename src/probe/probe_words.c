/*
 * probe_words — the texts a migration client prints, as WCF, .NET's System.Net and the
 * migration service word them (reference 6, 4.4, 4.6), so that the probe's verdict reads like
 * the Test-MigrationServerAvailability output a support engineer searches for. Pure: no I/O.
 */
#include <stdio.h>

#include "probe_int.h"

const char *probe_auth_scheme(enum probe_auth a)
{
    switch (a) {
    case PROBE_AUTH_NTLM:
        return "Ntlm"; /* WCF's HttpClientCredentialType spelling in its texts */
    case PROBE_AUTH_BASIC:
        return "Basic";
    default:
        return "Negotiate";
    }
}

char *probe_words_no_endpoint(char *out, size_t len, const char *url)
{
    snprintf(out, len,
             "There was no endpoint listening at %s that could accept the message. This is "
             "often caused by an incorrect address or SOAP action. See InnerException, if "
             "present, for more details.",
             url);
    return out;
}

char *probe_words_unauthorized(char *out, size_t len, const char *scheme, const char *challenges)
{
    snprintf(out, len,
             "The HTTP request is unauthorized with client authentication scheme '%s'. The "
             "authentication header received from the server was '%s'. --> The remote server "
             "returned an error: (401) Unauthorized.",
             scheme, challenges);
    return out;
}

char *probe_words_forbidden(char *out, size_t len, const char *scheme)
{
    snprintf(out, len,
             "The HTTP request was forbidden with client authentication scheme '%s'. --> The "
             "remote server returned an error: (403) Forbidden.",
             scheme);
    return out;
}

char *probe_words_unavailable(char *out, size_t len, const char *url)
{
    /* .NET's two spaces after the first sentence, and "Server Unavailable" (reference 6) */
    snprintf(out, len,
             "The HTTP service located at %s is unavailable.  This could be because the service "
             "is too busy or because no endpoint was found listening at the specified address. "
             "Please ensure that the address is correct and try accessing the service again "
             "later. --> The remote server returned an error: (503) Server Unavailable.",
             url);
    return out;
}

char *probe_words_unexpected(char *out, size_t len, long status, const char *reason)
{
    /* SR.UnexpectedHttpResponseCode with response.StatusDescription: IIS writes "Request Entity
     * Too Large", a WCF host or a .NET proxy the enum name "RequestEntityTooLarge" (4.6) */
    snprintf(out, len, "The remote server returned an unexpected response: (%ld) %s.", status,
             reason != NULL && *reason != '\0' ? reason : probe_http_reason(status));
    return out;
}

char *probe_words_protocol_violation(char *out, size_t len)
{
    /* WebExceptionStatus.ServerProtocolViolation, as HttpWebRequest words it */
    snprintf(out, len, "The server committed a protocol violation. Section=ResponseStatusLine");
    return out;
}

char *probe_words_trust(char *out, size_t len, const char *host)
{
    snprintf(out, len,
             "Could not establish trust relationship for the SSL/TLS secure channel with "
             "authority '%s'. --> The underlying connection was closed: Could not establish "
             "trust relationship for the SSL/TLS secure channel. --> The remote certificate is "
             "invalid according to the validation procedure.",
             host);
    return out;
}

char *probe_words_timeout(char *out, size_t len, const char *url, unsigned timeout_ms)
{
    unsigned s = (timeout_ms + 999) / 1000;
    snprintf(out, len,
             "The HTTP request to '%s' has exceeded the allotted timeout of %02u:%02u:%02u. The "
             "time allotted to this operation may have been a portion of a longer timeout.",
             url, s / 3600, s / 60 % 60, s % 60);
    return out;
}

char *probe_words_call_failed(char *out, size_t len, const char *wrap, const char *url,
                              const char *inner)
{
    /* MRS adds its own period after the inner text, which already ends with one: ".." */
    snprintf(out, len, "%s --> The call to '%s' failed. Error details: %s.", wrap, url, inner);
    return out;
}

char *probe_words_connection_failed(char *out, size_t len, const char *host)
{
    snprintf(out, len, "The connection to the server '%s' could not be completed.", host);
    return out;
}

char *probe_words_no_mrsproxy(char *out, size_t len, const char *host)
{
    snprintf(out, len, PROBE_WORDS_AD_FAILED " No MRSProxy was found running at '%s'.", host);
    return out;
}
