/* results/store.c: placeholder until its stage lands. */
