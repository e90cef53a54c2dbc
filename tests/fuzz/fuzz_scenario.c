/* fuzz_scenario — a scenario document, as `PUT /scenario` uploads it (scn_load_mem). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scn_errors e = {0};
    struct scn *s = scn_load_mem("fuzz.xml", (const char *)data, size, &e);

    /* either a model or messages, never both and never neither */
    if ((s == NULL) == (e.count == 0))
        abort();
    for (const char *p = e.text; p != NULL && *p != '\0'; p = strchr(p, '\n') + 1)
        if (strncmp(p, "fuzz.xml:", 9) != 0 && p[0] != '/')
            abort(); /* one line a message, saying where: this document or a base it extends */
    scn_unref(s);
    scn_errors_free(&e);
    return 0;
}
