/* kernels/check.c: placeholder until its stage lands. */
