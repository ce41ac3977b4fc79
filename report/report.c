/* report/report.c: placeholder until its stage lands. */
