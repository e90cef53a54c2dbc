#!/bin/sh
# Runs every cmocka unit test program given; fails if any fails, after running them all.
# Under the sanitizers, only libh2o's own recycled allocations are excused (ci/lsan.supp).
here=$(cd "$(dirname "$0")" && pwd)
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
rc=0
for t in "$@"; do
    echo "== $t"
    "$t" || rc=1
done
exit $rc
