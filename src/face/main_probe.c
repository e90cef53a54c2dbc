/*
 * main_probe — the program behind `mrsmock probe` (mrsmock-probe, which `mrsmock` runs): the
 * probe alone links libcurl and libresolv and the libraries they bring (Kerberos, LDAP, GnuTLS
 * and twenty more), so that the server does not map them into every lab it runs. ARGV is the
 * sub-command's, argv[0] "probe", as `mrsmock` hands it over.
 */
#include "commands.h"

int main(int argc, char **argv)
{
    return probe_main(argc, argv);
}
