/* The `libm` variant, DyT only: the naive baseline that calls the C
 * library's tanhf once per element, forward and backward, fp32 and bf16
 * storage. It exists to show what a plain tanhf costs next to the
 * vectorised kernels; the row loops are the scalar variant's (dyt_rows.h),
 * so the only difference measured is the tanh. */
#include "dyt_rows.h"

#include <math.h>

DYT_ROWS_DEFINE(libm, tanhf)

#define LM(pass, dt, fn, note) {"libm", NORM_DYT, pass, dt, DEVICE_CPU, ISA_NONE, fn, note}

static const kern_entry libm_variants[] = {
    LM(PASS_FWD, DTYPE_F32, libm_dyt_fwd, "plain C loop calling libm tanhf per element"),
    LM(PASS_FWD, DTYPE_BF16, libm_dyt_fwd, "tanhf per element, bf16 storage"),
    LM(PASS_BWD, DTYPE_F32, libm_dyt_bwd, "tanhf per element, fp32 row-order partials"),
    LM(PASS_BWD, DTYPE_BF16, libm_dyt_bwd, "tanhf per element, bf16 storage"),
};
const kern_backend kern_backend_libm = KERN_BACKEND_OF("libm", libm_variants);
