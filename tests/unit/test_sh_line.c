// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sh_line.c - which commands a shell line runs (userspace/core/sh_line.c):
 * kbuild's bookkeeping lines are within a list of builtins and file
 * utilities; a compile, a script, a command substitution, a here-document,
 * a quoted or expanded command name, and syntax the reader does not follow
 * are not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sh_line.h"

static const char *const names[] = { ":",  "set", "trap", "echo", "printf", "test",
				     "[",  "true", "rm",  "mv",   "mkdir", "cat",
				     "scripts/tool" };
#define N (sizeof(names) / sizeof(*names))

static bool only(const char *line)
{
	return sh_line_runs_only(line, names, N);
}

static void test_bookkeeping_is_within(void **state)
{
	(void)state;
	assert_true(only(""));
	assert_true(only(":"));
	assert_true(only("FOO=1 BAR=2"));
	/* kbuild's $(call cmd,X) with an empty cmd_X: set, the traps, nothing else */
	assert_true(only("set -e;  echo '  CC      init/main.o';    trap 'rm -f init/main.o; "
			 "trap - HUP; kill -s HUP $$' HUP;  trap 'rm -f init/main.o; trap - "
			 "INT; kill -s INT $$' INT;  "));
	/* cmd_gen_objtooldep */
	assert_true(only("set -e; { echo ; echo 'a.o: $$(wildcard tools/objtool)' ; } >> "
			 "./.a.o.cmd"));
	assert_true(only("printf '%s\\n' 'cmd_a.o := gcc -c a.c' > .a.o.cmd"));
	assert_true(only("rm -f a.tmp && mv -f b.tmp b || true"));
	assert_true(only("if [ -e x ]; then cat x > y 2>/dev/null; else echo no >&2; fi"));
	assert_true(only("test -d d || mkdir -p d"));
	assert_true(only("(cd_is_not_listed=1; echo x) | cat > out"));
	assert_true(only("/bin/rm -f x; /usr/bin/mv a b"));
	assert_true(only("./scripts/tool a.o; /src/linux/scripts/tool b.o"));
	assert_true(only("echo a \\\n  b # a comment; gcc"));
}

static void test_work_is_not(void **state)
{
	(void)state;
	assert_false(only("gcc -c a.c -o a.o"));
	assert_false(only("set -e; trap 'rm -f a.o' HUP; gcc -c a.c -o a.o"));
	assert_false(only("rm -f x; ./gen.sh > x"));
	assert_false(only("echo x | sed s/x/y/ > out"));
	assert_false(only("cat a > b && ld -r b -o c"));
	assert_false(only("tool a.o"));          /* "scripts/tool" is a path's end */
	assert_false(only("myscripts/tool a.o")); /* ... after a "/" */
	assert_false(only("X=1 cc a.c"));
	assert_false(only("if gcc -v; then :; fi"));
	assert_false(only("{ echo; gcc; } > x"));
	assert_false(only("echo a; (gcc)"));
}

static void test_unsure_is_not(void **state)
{
	(void)state;
	assert_false(only("echo $(gcc -dumpversion) > v"));
	assert_false(only("echo `uname` > v"));
	assert_false(only("echo \"`uname`\" > v"));
	assert_false(only("cat <<EOF > x\nhello\nEOF"));
	assert_false(only("$CMD x"));     /* a name made by an expansion */
	assert_false(only("${RM} x"));
	assert_false(only("'rm' x"));     /* quoted: not read as a name */
	assert_false(only("r\\m x"));
	assert_false(only("echo 'open"));
	assert_false(only("echo \"open"));
	assert_false(only("echo x >"));   /* a redirection with no target */
	assert_false(only("echo x > ;"));
	assert_false(only("for f in a b; do rm $f; done"));
	assert_false(only("case x in x) echo;; esac"));
	assert_false(only("X=\"$(uname)\" true"));
	assert_false(only("f() { rm x; }; f"));
	assert_false(only("echo \\"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bookkeeping_is_within),
		cmocka_unit_test(test_work_is_not),
		cmocka_unit_test(test_unsure_is_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
