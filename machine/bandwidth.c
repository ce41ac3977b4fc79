/* machine/bandwidth.c: placeholder until its stage lands. */
