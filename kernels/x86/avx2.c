/* avx2 variant: placeholder until the kernel lands. */
#include "kernels.h"
const kern_entry kern_table_avx2[] = {{0}};
const size_t kern_table_avx2_len = 0;
