/* results/migrate.c: placeholder until its stage lands. */
