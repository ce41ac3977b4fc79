/* machine/pin.c: placeholder until its stage lands. */
