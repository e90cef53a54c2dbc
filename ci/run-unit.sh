#!/bin/sh
# Runs every cmocka unit test program given; fails if any fails, after running them all.
rc=0
for t in "$@"; do
    echo "== $t"
    "$t" || rc=1
done
exit $rc
