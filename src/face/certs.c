/*
 * certs — `mrsmock certs`: the lab CA (and a scenario's intermediates) for clients to trust.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>

#include "commands.h"
#include "log.h"
#include "pki.h"
#include "scenario.h"
#include "util.h"

static void usage_certs(FILE *out)
{
    fprintf(
        out,
        "usage: mrsmock certs [SCENARIO] [options]\n"
        "Prints or exports the lab root CA (created when missing), for clients to trust.\n"
        "  --pem                the CA in PEM on standard output (the default)\n"
        "  --der FILE           the CA in DER (a .cer file Windows opens) into FILE; - for\n"
        "                       standard output\n"
        "  --bundle             the CA and SCENARIO's intermediate CAs, PEM, on standard output\n"
        "  --export DIR         writes DIR/mrsmock-lab-ca.crt (PEM), DIR/mrsmock-lab-ca.cer\n"
        "                       (DER) and, with SCENARIO, DIR/<scenario>-bundle.pem; prints\n"
        "                       the paths written\n"
        "  --state-dir DIR      as for run\n"
        "  -h, --help           this text\n");
}

/* Writes the certificates of ST as PEM (DER: only the first, in DER) to PATH ("-": stdout). */
static int write_certs(const char *path, STACK_OF(X509) * st, int der)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    int ok = fp != NULL;

    if (ok && der)
        ok = i2d_X509_fp(fp, sk_X509_value(st, 0)) == 1;
    for (int i = 0; ok && !der && i < sk_X509_num(st); i++)
        ok = PEM_write_X509(fp, sk_X509_value(st, i)) == 1;
    if (fp != NULL && fp != stdout && fclose(fp) != 0)
        ok = 0;
    if (fp == stdout)
        fflush(stdout);
    if (!ok)
        log_warn("cannot write %s", path);
    return ok ? 0 : -1;
}

/* mrsmock certs: what a client, a browser or a Windows trainee machine imports. */
int certs_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"pem", no_argument, NULL, 'p'},
                                             {"der", required_argument, NULL, 'd'},
                                             {"bundle", no_argument, NULL, 'b'},
                                             {"export", required_argument, NULL, 'e'},
                                             {"state-dir", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    char state_dir[PATH_MAX] = "", path[PATH_MAX], err[1024], crl_base[256];
    const char *der = NULL, *export = NULL;
    int c, bundle = 0, rc = EXIT_RUNTIME, modes = 0;
    struct scn *s = NULL;
    struct pki *pki = NULL;
    STACK_OF(X509) *st = NULL;

    log_init(0);
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            modes++;
            break;
        case 'd':
            der = optarg, modes++;
            break;
        case 'b':
            bundle = 1, modes++;
            break;
        case 'e':
            export = optarg, modes++;
            break;
        case 's':
            snprintf(state_dir, sizeof(state_dir), "%s", optarg);
            break;
        case 'h':
            usage_certs(stdout);
            return 0;
        default:
            usage_certs(stderr);
            return EXIT_INVALID;
        }
    }
    if (modes > 1 || optind + 1 < argc) {
        usage_certs(stderr);
        return EXIT_INVALID;
    }
    if (optind < argc) {
        struct scn_errors errs = {0};
        if (scn_resolve(argv[optind], path, sizeof(path)) != 0) {
            log_warnx("%s: no such file, and no bundled scenario of that name (mrsmock list)",
                      argv[optind]);
            return EXIT_INVALID;
        }
        if ((s = scn_load(path, &errs)) == NULL) {
            cmd_print_errors(&errs);
            return EXIT_INVALID;
        }
        scn_errors_free(&errs);
    }
    if (state_dir[0] == '\0' && cmd_default_state_dir(state_dir, sizeof(state_dir)) != 0) {
        log_warnx("the state folder's path is too long");
        rc = EXIT_INVALID;
        goto done;
    }
    if (util_mkdirs(state_dir, 0700) != 0) {
        log_warn("state folder %s is not writable", state_dir);
        goto done;
    }
    if ((pki = pki_open(state_dir, err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        goto done;
    }
    /* intermediates as `run` issues them: on the CRL listener's address as written (a port 0
     * is only known once bound; `run` then re-issues them with the same keys) */
    const struct scn_listener *cl = s != NULL ? scn_crl_listener(s) : NULL;
    if (cl == NULL || cl->port == 0 || pki_crl_base(cl, cl->port, crl_base, sizeof(crl_base)) != 0)
        crl_base[0] = '\0';
    if ((st = pki_bundle(pki, bundle || export != NULL ? s : NULL, crl_base[0] ? crl_base : NULL,
                         err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        goto done;
    }
    if (export != NULL) {
        STACK_OF(X509) *ca = sk_X509_new_null();
        int ok = ca != NULL && sk_X509_push(ca, sk_X509_value(st, 0)) > 0;
        if (util_mkdirs(export, 0755) != 0) {
            log_warn("cannot create %s", export);
            sk_X509_free(ca);
            goto done;
        }
        snprintf(path, sizeof(path), "%s/mrsmock-lab-ca.crt", export);
        ok = ok && write_certs(path, ca, 0) == 0 && printf("%s\n", path) > 0;
        snprintf(path, sizeof(path), "%s/mrsmock-lab-ca.cer", export);
        ok = ok && write_certs(path, ca, 1) == 0 && printf("%s\n", path) > 0;
        if (ok && s != NULL) {
            snprintf(path, sizeof(path), "%s/%s-bundle.pem", export, s->name);
            ok = write_certs(path, st, 0) == 0 && printf("%s\n", path) > 0;
        }
        sk_X509_free(ca); /* the certificates belong to ST */
        if (!ok)
            goto done;
    } else if (der != NULL) {
        if (write_certs(der, st, 1) != 0)
            goto done;
    } else if (bundle) {
        if (write_certs("-", st, 0) != 0)
            goto done;
    } else {
        while (sk_X509_num(st) > 1)
            X509_free(sk_X509_pop(st));
        if (write_certs("-", st, 0) != 0)
            goto done;
    }
    rc = 0;
done:
    sk_X509_pop_free(st, X509_free);
    pki_close(pki);
    scn_unref(s);
    return rc;
}
