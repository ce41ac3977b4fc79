/* kernels/vectors.c: placeholder until its stage lands. */
