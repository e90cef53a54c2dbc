/*
 * shell — what the Exchange Management Shell shows of a scenario's servers: the Format-List
 * views of Get-WebServicesVirtualDirectory, Get-AutodiscoverVirtualDirectory and
 * Get-OutlookAnywhere, so that a trainee's first troubleshooting step ("check the EWS
 * configuration on each CAS server") works against the lab as it does against Exchange; and
 * (shell_org.c) the organisation and the MRS's health for the second one.
 */
#ifndef MRSMOCK_SHELL_H
#define MRSMOCK_SHELL_H

#include <stdio.h>

#include "scenario.h"

/* The cmdlets shell_print() knows, in the order it prints them. */
enum shell_cmdlet {
    SHELL_EWS = 0x1,          /* Get-WebServicesVirtualDirectory */
    SHELL_AUTODISCOVER = 0x2, /* Get-AutodiscoverVirtualDirectory */
    SHELL_OUTLOOK_ANYWHERE = 0x4,
    SHELL_ALL = 0x7,
    /* the organisation's and the servers' health (shell_org.c), one at a time */
    SHELL_EXCHANGE_SERVER = 0x10, /* Get-ExchangeServer */
    SHELL_ACCEPTED_DOMAIN = 0x20, /* Get-AcceptedDomain */
    SHELL_MAILBOX = 0x40,         /* Get-Mailbox IDENTITY | fl EmailAddresses */
    SHELL_SERVICE = 0x80,         /* Get-Service NAME (-ComputerName SERVER) */
    SHELL_MRS_HEALTH = 0x100,     /* Test-MRSHealth (-Identity SERVER) */
};

/* Prints what cmdlet WHICH (one of the organisation's) shows: for SERVER only when not NULL;
 * ARG is its identity or name argument (Get-Mailbox, Get-Service). Errors go to standard error
 * as the shell writes them. Returns 0, or -1 when nothing could be shown. */
int shell_org_print(FILE *out, const struct scn *s, unsigned which, const char *server,
                    const char *arg);

/* Prints, for each server of S (or only SERVER when not NULL), the objects of the cmdlets in
 * WHICH as `| Format-List` prints them. Returns 0, or -1 when SERVER names no server. */
int shell_print(FILE *out, const struct scn *s, const char *server, unsigned which);

/* Parses a cmdlet name (case-insensitive, e.g. "Get-WebServicesVirtualDirectory"); 0 if none. */
unsigned shell_cmdlet_of(const char *name);

#endif
