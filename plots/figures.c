/* plots/figures.c: placeholder until its stage lands. */
