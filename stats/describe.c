/* stats/describe.c: placeholder until its stage lands. */
