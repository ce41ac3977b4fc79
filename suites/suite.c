/* suites/suite.c: placeholder until its stage lands. */
