/* runners/cpu/runner.c: placeholder until its stage lands. */
