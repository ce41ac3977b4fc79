/* avx512 variant: placeholder until the kernel lands. */
#include "kernels.h"
const kern_entry kern_table_avx512[] = {{0}};
const size_t kern_table_avx512_len = 0;
