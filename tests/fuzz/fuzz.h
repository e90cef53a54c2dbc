/*
 * fuzz.h — what the libFuzzer targets of tests/fuzz/ share: the bundled scenario they answer
 * from, loaded once, and the splitting of an input into fields.
 *
 * Each target is one small file calling the real parser of one kind of untrusted input
 * (README, "Fuzzing"); `make fuzz` builds them with -fsanitize=fuzzer,address,undefined against
 * the project's objects (build/fuzz/) and runs each for FUZZ_SECS seconds.
 */
#ifndef MRSMOCK_FUZZ_H
#define MRSMOCK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scenario.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bundled scenario NAME, loaded at the first call and kept for the process. */
static inline struct scn *fuzz_scenario(const char *name)
{
    char path[4096];
    struct scn_errors e = {0};
    struct scn *s;

    snprintf(path, sizeof(path), "%s/scenarios/%s.xml", MRSMOCK_SRCDIR, name);
    if ((s = scn_load(path, &e)) == NULL) {
        fprintf(stderr, "fuzz: %s does not load:\n%s", path, e.text != NULL ? e.text : "");
        abort();
    }
    scn_errors_free(&e);
    return s;
}

/* The next field of the input at *P (up to END): the bytes before the next "\n\n" (or all that
 * is left), *P moved past it. Lets one input carry a header and a body. */
static inline size_t fuzz_field(const uint8_t **p, const uint8_t *end, const uint8_t **field)
{
    const uint8_t *q = *p;

    *field = q;
    while (q < end && !(q + 1 < end && q[0] == '\n' && q[1] == '\n'))
        q++;
    size_t n = (size_t)(q - *p);
    *p = q < end ? q + 2 : end;
    return n;
}

#endif
