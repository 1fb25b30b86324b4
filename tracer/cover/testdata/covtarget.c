// Coverage test target for the .symtab path: a small C program with its own
// functions, built by the tests (not stripped) and run in the test image.
//
//   covtarget        loops: SIGUSR1 runs handle_a, SIGUSR2 handle_b, SIGTERM exits;
//                    every round prints "round N acc=X".
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) static int square(int x)
{
	return x * x + (x & 1);
}

__attribute__((noinline)) int handle_a(int n)
{
	return square(n) + 1;
}

__attribute__((noinline)) int handle_b(int n)
{
	return n * 3 + 2;
}

__attribute__((noinline)) int never_called(int n)
{
	return n - 1;
}

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, 0);
	int acc = 1;
	for (int round = 1;; round++) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			return 1;
		if (sig == SIGTERM)
			break;
		acc = sig == SIGUSR1 ? handle_a(acc % 1000) : handle_b(acc % 1000);
		printf("round %d acc=%d\n", round, acc);
		fflush(stdout);
	}
	return acc == 42 ? never_called(acc) : 0;
}
