/* gate/compare.c: placeholder until its stage lands. */
