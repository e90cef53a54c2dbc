/*
 * soap_ns — the XML namespace names the SOAP endpoints (soap_, ad_, ews_, mrs_, wsrm_) read and
 * write, each spelled once here. A file may give one a short local name (#define NS_T
 * SOAP_NS_EWS_TYPES), never its own copy of the text. Names one file alone uses (the MRS Proxy's
 * data contracts, the WSDL's) stay in that file.
 *
 * Only macros: no code, nothing to link, so any module may include it without depending on
 * another.
 */
#ifndef MRSMOCK_SOAP_NS_H
#define MRSMOCK_SOAP_NS_H

/* SOAP envelopes: 1.1 (EWS, Autodiscover SOAP) and 1.2 (the same, and the MRS Proxy) */
#define SOAP_NS_ENV11 "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_NS_ENV12 "http://www.w3.org/2003/05/soap-envelope"

/* XML Schema: instance attributes (xsi:type, xsi:nil) and datatypes */
#define SOAP_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define SOAP_NS_XSD "http://www.w3.org/2001/XMLSchema"

/* WS-Addressing 1.0 (August 2005), what WCF's Soap12WSAddressing10 and Autodiscover speak; its
 * fault action, and the one WS-RM February 2005 borrows for its faults */
#define SOAP_NS_WSA "http://www.w3.org/2005/08/addressing"
#define SOAP_WSA_FAULT SOAP_NS_WSA "/fault"
#define SOAP_WSA_SOAP_FAULT SOAP_NS_WSA "/soap/fault"

/* WS-ReliableMessaging: February 2005 (WCF's default) and 1.1 (OASIS, February 2007) */
#define SOAP_NS_WSRM_2005 "http://schemas.xmlsoap.org/ws/2005/02/rm"
#define SOAP_NS_WSRM_2007 "http://docs.oasis-open.org/ws-rx/wsrm/200702"

/* EWS: messages (m:), types (t:) and errors (e:) of the 2006 schemas */
#define SOAP_NS_EWS_MESSAGES "http://schemas.microsoft.com/exchange/services/2006/messages"
#define SOAP_NS_EWS_TYPES "http://schemas.microsoft.com/exchange/services/2006/types"
#define SOAP_NS_EWS_ERRORS "http://schemas.microsoft.com/exchange/services/2006/errors"

/* Autodiscover: SOAP (MS-OXWSADISC), and POX's request, response and Outlook response schemas
 * (MS-OXDSCLI) */
#define SOAP_NS_AD "http://schemas.microsoft.com/exchange/2010/Autodiscover"
#define SOAP_NS_AD_POX_REQUEST                                                                     \
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
#define SOAP_NS_AD_POX_RESPONSE                                                                    \
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define SOAP_NS_AD_POX_OUTLOOK                                                                     \
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

#endif
