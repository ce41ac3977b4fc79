/* libm variant: placeholder until the kernel lands. */
#include "kernels.h"
const kern_entry kern_table_libm[] = {{0}};
const size_t kern_table_libm_len = 0;
