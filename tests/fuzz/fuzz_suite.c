/* Fuzz target: the suite parser, and the plan of what it accepts (one
 * thread, so no topology probe per input). The memory bound is fixed so a
 * result does not depend on the machine's free memory. */
#include "fuzz.h"
#include "plan.h"
#include "suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    suite s;
    dyt_err e = {{0}};
    if (suite_parse_string("fuzz.suite", text, (uint64_t)1 << 30, &s, &e) == DYT_OK) {
        plan_filter f = {.threads = {1}, .n_threads = 1};
        plan p;
        if (plan_build(&s, 1, &f, &p, &e) == DYT_OK)
            plan_free(&p);
        suite_free(&s);
    }
    free(text);
    return 0;
}
