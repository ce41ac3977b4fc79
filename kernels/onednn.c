/* onednn variant: placeholder until the kernel lands. */
#include "kernels.h"
const kern_entry kern_table_onednn[] = {{0}};
const size_t kern_table_onednn_len = 0;
