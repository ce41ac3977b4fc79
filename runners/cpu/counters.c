/* runners/cpu/counters.c: placeholder until its stage lands. */
