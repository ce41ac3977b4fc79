/* stats/bootstrap.c: placeholder until its stage lands. */
