/*
 * shell — what the Exchange Management Shell shows of a scenario's servers: the Format-List
 * views of Get-WebServicesVirtualDirectory, Get-AutodiscoverVirtualDirectory and
 * Get-OutlookAnywhere, so that a trainee's first troubleshooting step ("check the EWS
 * configuration on each CAS server") works against the lab as it does against Exchange.
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
};

/* Prints, for each server of S (or only SERVER when not NULL), the objects of the cmdlets in
 * WHICH as `| Format-List` prints them. Returns 0, or -1 when SERVER names no server. */
int shell_print(FILE *out, const struct scn *s, const char *server, unsigned which);

/* Parses a cmdlet name (case-insensitive, e.g. "Get-WebServicesVirtualDirectory"); 0 if none. */
unsigned shell_cmdlet_of(const char *name);

#endif
