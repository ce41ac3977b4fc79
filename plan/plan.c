/* plan/plan.c: placeholder until its stage lands. */
