#!/bin/bash
# Static analysis: cppcheck (warning, performance, portability) must be
# silent on every C source of the daemon.  Intentional exceptions are
# inline suppressions with a reason next to the code.
case " ${PM_TEST_TIERS:-lint} " in
*" lint "*) ;;
*) echo "SKIP: lint tier not selected"; exit 77 ;;
esac
command -v cppcheck >/dev/null || { echo "SKIP: cppcheck not installed"; exit 77; }
top=${PM_TOP_SRCDIR:?}
build=${PM_TOP_BUILDDIR:?}
cd "$top" || exit 1
out=$(cppcheck --quiet --inline-suppr --error-exitcode=1 \
    --enable=warning,performance,portability --std=c11 \
    -I common -I daemon -I keyd -I keyd/crypto -I keyd/attest -I "$build" \
    --include=/usr/include/x86_64-linux-gnu/sys/queue.h \
    --suppress=missingIncludeSystem -D__GNUC__ \
    daemon/*.c keyd/*.c common/*.c keyd/crypto/*.c keyd/attest/*.c 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL cppcheck:"
	echo "$out"
	exit 1
fi
echo "ok cppcheck: no findings"
