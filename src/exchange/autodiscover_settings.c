/*
 * autodiscover_settings — the user settings of SOAP GetUserSettings (MS-OXWSADISC 3.1.4.1): the
 * names an Autodiscover service knows, and the value each has for a mailbox in the model, in
 * the order Exchange adds them to an answer (UserSettingsProvider.GetUserSettings, 2013 CU23,
 * decompiled in EXD). A known setting without a value is left out of the answer, as Exchange
 * leaves it out; there is no error for it.
 */
#include <string.h>

#include "autodiscover_int.h"
#include "log.h"
#include "util.h"

/* Setting names (UserConfigurationSettingName, in its enum order). A name the service does not
 * know is InvalidSetting; names are compared with case, as Enum.Parse compares them. */
static const char *const names[] = {
    "UserDisplayName",
    "UserDN",
    "UserDeploymentId",
    "InternalMailboxServer",
    "InternalRpcClientServer",
    "InternalMailboxServerDN",
    "InternalEcpUrl",
    "InternalEcpVoicemailUrl",
    "InternalEcpEmailSubscriptionsUrl",
    "InternalEcpTextMessagingUrl",
    "InternalEcpDeliveryReportUrl",
    "InternalEcpRetentionPolicyTagsUrl",
    "InternalEcpPublishingUrl",
    "InternalEcpPhotoUrl",
    "InternalEcpConnectUrl",
    "InternalEcpTeamMailboxUrl",
    "InternalEcpTeamMailboxCreatingUrl",
    "InternalEcpTeamMailboxEditingUrl",
    "InternalEcpTeamMailboxHidingUrl",
    "InternalEcpExtensionInstallationUrl",
    "InternalEwsUrl",
    "InternalEmwsUrl",
    "InternalOABUrl",
    "InternalPhotosUrl",
    "InternalUMUrl",
    "InternalWebClientUrls",
    "MailboxDN",
    "PublicFolderServer",
    "ActiveDirectoryServer",
    "ExternalMailboxServer",
    "ExternalMailboxServerRequiresSSL",
    "ExternalMailboxServerAuthenticationMethods",
    "EcpVoicemailUrlFragment",
    "EcpEmailSubscriptionsUrlFragment",
    "EcpTextMessagingUrlFragment",
    "EcpDeliveryReportUrlFragment",
    "EcpRetentionPolicyTagsUrlFragment",
    "EcpPublishingUrlFragment",
    "EcpPhotoUrlFragment",
    "EcpConnectUrlFragment",
    "EcpTeamMailboxUrlFragment",
    "EcpTeamMailboxCreatingUrlFragment",
    "EcpTeamMailboxEditingUrlFragment",
    "EcpExtensionInstallationUrlFragment",
    "ExternalEcpUrl",
    "ExternalEcpVoicemailUrl",
    "ExternalEcpEmailSubscriptionsUrl",
    "ExternalEcpTextMessagingUrl",
    "ExternalEcpDeliveryReportUrl",
    "ExternalEcpRetentionPolicyTagsUrl",
    "ExternalEcpPublishingUrl",
    "ExternalEcpPhotoUrl",
    "ExternalEcpConnectUrl",
    "ExternalEcpTeamMailboxUrl",
    "ExternalEcpTeamMailboxCreatingUrl",
    "ExternalEcpTeamMailboxEditingUrl",
    "ExternalEcpTeamMailboxHidingUrl",
    "ExternalEcpExtensionInstallationUrl",
    "ExternalEwsUrl",
    "ExternalEmwsUrl",
    "ExternalOABUrl",
    "ExternalPhotosUrl",
    "ExternalUMUrl",
    "ExternalWebClientUrls",
    "CrossOrganizationSharingEnabled",
    "AlternateMailboxes",
    "CasVersion",
    "EwsSupportedSchemas",
    "InternalPop3Connections",
    "ExternalPop3Connections",
    "InternalImap4Connections",
    "ExternalImap4Connections",
    "InternalSmtpConnections",
    "ExternalSmtpConnections",
    "InternalServerExclusiveConnect",
    "ExternalEwsVersion",
    "MobileMailboxPolicy",
    "DocumentSharingLocations",
    "UserMSOnline",
    "InternalMailboxServerAuthenticationMethods",
    "MailboxVersion",
    "SPMySiteHostURL",
    "SiteMailboxCreationURL",
    "InternalRpcHttpServer",
    "InternalRpcHttpConnectivityRequiresSsl",
    "InternalRpcHttpAuthenticationMethod",
    "ExternalServerExclusiveConnect",
    "ExchangeRpcUrl",
    "ShowGalAsDefaultView",
    "AutoDiscoverSMTPAddress",
    "InteropExternalEwsUrl",
    "InteropExternalEwsVersion",
    "PublicFolderInformation",
    "RedirectUrl",
    "EwsPartnerUrl",
    "MapiHttpUrls",
    "GroupingInformation",
    "MapiHttpEnabled",
    "MapiHttpEnabledForUser",
};

/* The names an Exchange 2010 service does not know yet: those of features 2013 brought (photos,
 * site and team mailboxes, MAPI over HTTP, ...) [unconfirmed, name by name]. */
static const char *const since_2013[] = {
    "InternalEcpPhotoUrl",
    "InternalEcpConnectUrl",
    "InternalEcpTeamMailboxUrl",
    "InternalEcpTeamMailboxCreatingUrl",
    "InternalEcpTeamMailboxEditingUrl",
    "InternalEcpTeamMailboxHidingUrl",
    "InternalEcpExtensionInstallationUrl",
    "InternalPhotosUrl",
    "EcpPhotoUrlFragment",
    "EcpConnectUrlFragment",
    "EcpTeamMailboxUrlFragment",
    "EcpTeamMailboxCreatingUrlFragment",
    "EcpTeamMailboxEditingUrlFragment",
    "EcpExtensionInstallationUrlFragment",
    "ExternalEcpPhotoUrl",
    "ExternalEcpConnectUrl",
    "ExternalEcpTeamMailboxUrl",
    "ExternalEcpTeamMailboxCreatingUrl",
    "ExternalEcpTeamMailboxEditingUrl",
    "ExternalEcpTeamMailboxHidingUrl",
    "ExternalEcpExtensionInstallationUrl",
    "ExternalPhotosUrl",
    "MobileMailboxPolicy",
    "DocumentSharingLocations",
    "UserMSOnline",
    "InternalMailboxServerAuthenticationMethods",
    "MailboxVersion",
    "SPMySiteHostURL",
    "SiteMailboxCreationURL",
    "InternalRpcHttpServer",
    "InternalRpcHttpConnectivityRequiresSsl",
    "InternalRpcHttpAuthenticationMethod",
    "ExchangeRpcUrl",
    "ShowGalAsDefaultView",
    "InteropExternalEwsUrl",
    "InteropExternalEwsVersion",
    "PublicFolderInformation",
    "RedirectUrl",
    "EwsPartnerUrl",
    "MapiHttpUrls",
    "GroupingInformation",
    "MapiHttpEnabled",
    "MapiHttpEnabledForUser",
};

_Static_assert(COUNTOF(names) <= AD_MAX_SETTINGS, "AD_MAX_SETTINGS too small");

/* A mailbox whose settings are asked for. */
struct user {
    const struct scn_account *acc;
    const struct scn_server *sv; /* the mailbox's server */
    struct ad_names n;
    char buf[64];
};

typedef const char *(*value_fn)(const struct ad_ctx *c, struct user *u);

static const char *v_display_name(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->acc->display_name;
}
static const char *v_user_dn(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->n.user_dn;
}
static const char *v_deployment_id(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->n.deployment_id;
}
static const char *v_smtp(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->acc->mailbox;
}
static const char *v_true(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c), UNUSED(u);
    return "True"; /* .NET's bool.ToString() */
}
static const char *v_false(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c), UNUSED(u);
    return "False";
}
static const char *v_on(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c), UNUSED(u);
    return "on";
}
static const char *v_off(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c), UNUSED(u);
    return "off";
}
static const char *v_cas_version(const struct ad_ctx *c, struct user *u)
{
    ad_version_string(c->server->build, u->buf);
    return u->buf;
}
static const char *v_schemas(const struct ad_ctx *c, struct user *u)
{
    UNUSED(u);
    return ad_ews_schemas(c->server->version);
}
static const char *v_mailbox_server(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->sv->fqdn;
}
static const char *v_site(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c), UNUSED(u);
    return "Default-First-Site-Name"; /* the preferred site's name; the model has one site */
}
static const char *v_server_dn(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->n.server_dn;
}
static const char *v_mailbox_version(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    ad_version_string(u->sv->build, u->buf);
    return u->buf;
}
static const char *v_rpc_server(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->n.rpc_server;
}
static const char *v_mdb_dn(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->n.mdb_dn;
}
static const char *v_internal_ews(const struct ad_ctx *c, struct user *u)
{
    return u->sv->ews.internal_url != NULL ? ad_url(c, u->sv->ews.internal_url) : NULL;
}
static const char *v_external_ews(const struct ad_ctx *c, struct user *u)
{
    return u->sv->ews.external_url != NULL ? ad_url(c, u->sv->ews.external_url) : NULL;
}
static const char *v_external_ews_version(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    if (u->sv->ews.external_url == NULL)
        return NULL;
    ad_version_string(u->sv->build, u->buf);
    return u->buf;
}
/* Outlook Anywhere's external host name: what the migration service takes as the MRS Proxy host
 * (reference 2.4). Without one the setting is simply left out: Exchange adds a setting only when
 * it has a value (AddSettingIfRequested, EXD), there is no SettingIsNotAvailable error for it. */
static const char *v_oa_host(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->sv->oa_external_host;
}
static const char *v_oa_ssl(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->sv->oa_external_host != NULL ? "On" : NULL;
}
static const char *v_oa_auth(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    return u->sv->oa_external_host != NULL ? ad_auth_package(u->sv->ews.auth) : NULL;
}
static const char *v_mapi_http(const struct ad_ctx *c, struct user *u)
{
    UNUSED(c);
    /* the organisation's MapiHttpEnabled: on by default in organisations born 2016 or later */
    return u->sv->version >= SCN_V2016 ? "True" : "False";
}

/* The settings that have values, in the order the service adds them (UserSettingsProvider.
 * GetUserSettings, EXD); a known setting missing here is never returned. */
static const struct {
    const char *name;
    value_fn value;
} values[] = {
    {"UserDisplayName", v_display_name},
    {"UserDN", v_user_dn},
    {"UserDeploymentId", v_deployment_id},
    {"UserMSOnline", v_false},
    {"ShowGalAsDefaultView", v_true},
    {"AutoDiscoverSMTPAddress", v_smtp},
    {"CasVersion", v_cas_version},
    {"EwsSupportedSchemas", v_schemas},
    {"InternalMailboxServer", v_mailbox_server},
    {"GroupingInformation", v_site},
    {"InternalMailboxServerDN", v_server_dn},
    {"CrossOrganizationSharingEnabled", v_false},
    {"MailboxVersion", v_mailbox_version},
    {"InternalRpcClientServer", v_rpc_server},
    {"MailboxDN", v_mdb_dn},
    {"InternalServerExclusiveConnect", v_off},
    {"ExternalServerExclusiveConnect", v_on},
    {"InternalEwsUrl", v_internal_ews},
    {"InternalEmwsUrl", v_internal_ews},
    {"ExternalEwsUrl", v_external_ews},
    {"EwsPartnerUrl", v_external_ews},
    {"ExternalEmwsUrl", v_external_ews},
    {"ExternalEwsVersion", v_external_ews_version},
    {"ExternalMailboxServer", v_oa_host},
    {"ExternalMailboxServerRequiresSSL", v_oa_ssl},
    {"ExternalMailboxServerAuthenticationMethods", v_oa_auth},
    {"MapiHttpEnabled", v_mapi_http},
};

int ad_setting_index(enum scn_version v, const char *name)
{
    for (size_t i = 0; i < COUNTOF(names); i++) {
        if (strcmp(names[i], name) != 0)
            continue;
        for (size_t k = 0; v < SCN_V2013 && k < COUNTOF(since_2013); k++)
            if (strcmp(since_2013[k], name) == 0)
                return -1;
        return (int)i;
    }
    return -1;
}

void ad_settings_each(const struct ad_ctx *c, const struct scn_account *acc, const char *requested,
                      void (*emit)(void *arg, const char *name, const char *value), void *arg)
{
    struct user u = {.acc = acc, .sv = acc->server};

    ad_names(c->scn, acc, &u.n);
    for (size_t i = 0; i < COUNTOF(values); i++) {
        int k = ad_setting_index(c->server->version, values[i].name);
        const char *v;
        if (k >= 0 && requested[k] && (v = values[i].value(c, &u)) != NULL)
            emit(arg, values[i].name, v);
    }
}
