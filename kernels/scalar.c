/* scalar variant: placeholder until the kernel lands. */
#include "kernels.h"
const kern_entry kern_table_scalar[] = {{0}};
const size_t kern_table_scalar_len = 0;
