/* stats/normal.c: placeholder until its stage lands. */
