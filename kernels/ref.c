/* ref variant: placeholder until the kernel lands. */
#include "kernels.h"
const kern_entry kern_table_ref[] = {{0}};
const size_t kern_table_ref_len = 0;
