/* machine/machine.c: placeholder until its stage lands. */
