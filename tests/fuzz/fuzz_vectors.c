/* Fuzz target: the golden-vector parser, and the checker on what it
 * accepts (the scalar variant of each case's norm, both passes, fp32): a
 * parsed file must be safe to check, whatever its shapes and values. */
#include "check.h"
#include "fuzz.h"
#include "vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    vec_file vf;
    dyt_err e = {{0}};
    if (vec_parse_string(text, "fuzz.txt", &vf, &e) == DYT_OK) {
        for (size_t i = 0; i < vf.n; i++)
            for (int pass = 0; pass < PASS_COUNT; pass++) {
                const kern_entry *k = kern_find(vf.cases[i].norm, (pass_kind)pass, DTYPE_F32,
                                                "scalar");
                kern_check_result res;
                if (k)
                    kern_check_golden(k, &vf.cases[i], NULL, &res, &e);
            }
        vec_file_free(&vf);
    }
    free(text);
    return 0;
}
