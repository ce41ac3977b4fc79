/* gate/calibrate.c: placeholder until its stage lands. */
