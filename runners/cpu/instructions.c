/* runners/cpu/instructions.c: placeholder until its stage lands. */
