/* kernels/pool.c: placeholder until its stage lands. */
