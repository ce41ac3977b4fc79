/* stats/mannwhitney.c: placeholder until its stage lands. */
