#!/usr/bin/env python3
# Embeds results/schema.sql in the binary: writes a C file defining
#   const char store_schema_sql[] = "...";
# so the schema a DB is created with is exactly the checked-in file.
# Usage: embed_sql.py INPUT.sql OUTPUT.c SYMBOL
import sys

src, dst, sym = sys.argv[1], sys.argv[2], sys.argv[3]
with open(src, encoding='utf-8') as f:
    text = f.read()
out = ['/* Generated from %s by results/embed_sql.py: do not edit. */' % src.split('/')[-1],
       'const char %s[] =' % sym]
for line in text.splitlines(True):
    esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
    out.append('    "%s"' % esc)
out.append('    "";')
with open(dst, 'w', encoding='utf-8') as f:
    f.write('\n'.join(out) + '\n')
