/* Placeholder tables so the skeleton links; each variant file replaces its
 * entry here when it lands. */
#include "kernels.h"
const kern_entry kern_table_ref[] = {{0}};
const size_t kern_table_ref_len = 0;
const kern_entry kern_table_scalar[] = {{0}};
const size_t kern_table_scalar_len = 0;
const kern_entry kern_table_libm[] = {{0}};
const size_t kern_table_libm_len = 0;
const kern_entry kern_table_avx2[] = {{0}};
const size_t kern_table_avx2_len = 0;
const kern_entry kern_table_avx512[] = {{0}};
const size_t kern_table_avx512_len = 0;
