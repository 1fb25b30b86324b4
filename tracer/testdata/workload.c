// Test workload for the tracer's integration tests. Built by the tests with
// the host C compiler (dynamically linked, so the loader's opens show) and
// imported into a throw-away image with its loader, libc and /etc/ld.so.cache.
//
//   wl [wait] MODE [ARG]    "wait": block until SIGUSR1 first (so the test can Bind)
//   MODE: suite | b | child | execd | deep | loop N [RATE] | sleep | heads
//   run as a script interpreter ("#!/usr/bin/wl"): opens /data/from-script.txt
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch(const char *p)
{
	int fd = open(p, O_RDONLY);
	if (fd >= 0)
		close(fd);
}

static void wait_usr1(void)
{
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
}

static void run(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void suite(void)
{
	struct stat st;
	char buf[256];
	int dfd, dfd2, fd;

	touch("/data/abs.txt");                              /* open ok */
	touch("/data/missing.txt");                          /* open ENOENT */
	stat("/etc/nothere", &st);                           /* stat ENOENT */
	access("/data/abs.txt", R_OK);                       /* access ok */
	readlink("/data/link", buf, sizeof(buf));            /* readlink ok */

	chdir("/data");                                      /* chdir /data */
	touch("rel/file.txt");                               /* /data/rel/file.txt */
	dfd = open("/data/dir", O_RDONLY | O_DIRECTORY);     /* opendir */
	fd = openat(dfd, "sub/inner.txt", O_RDONLY);         /* /data/dir/sub/inner.txt */
	if (fd >= 0)
		close(fd);
	fstatat(dfd, "nope", &st, AT_SYMLINK_NOFOLLOW);      /* /data/dir/nope ENOENT */

	chdir("/data/link");                                 /* cwd is /data/dir */
	touch("x.txt");                                      /* /data/dir/x.txt */
	chdir("..");                                         /* /data */
	touch("dir/../abs.txt");                             /* /data/abs.txt */
	dfd2 = open("dir", O_RDONLY | O_DIRECTORY);          /* /data/dir */
	fd = openat(dfd2, "y.txt", O_RDONLY);                /* /data/dir/y.txt ENOENT */
	if (fd >= 0)
		close(fd);
	close(dfd2);
	close(dfd);
	chdir("/");

	run((char *const[]){"/usr/bin/wl", "child", NULL});  /* fork + exec */
	run((char *const[]){"/data/script", NULL});          /* #! interpreter */
	run((char *const[]){"/nonexistent/bin", NULL});      /* exec ENOENT */

	mkdir("/tmp/newdir", 0755);
	rmdir("/tmp/newdir");
	unlink("/tmp/nothing");                              /* ENOENT */
	rename("/tmp/a", "/tmp/b");                          /* ENOENT, two paths */
}

/* Relative lookups under a tmpfs mount (--tmpfs /scratch) and 100 levels deep. */
static void deep(void)
{
	char p[1024] = "/scratch";
	mkdir(p, 0755);
	for (int i = 0; i < 100; i++) {
		strcat(p, "/d");
		mkdir(p, 0755);
	}
	chdir("/scratch");
	int fd = open("made.txt", O_CREAT | O_WRONLY, 0644); /* /scratch/made.txt */
	if (fd >= 0)
		close(fd);
	chdir(p);
	touch("leaf.txt");                                   /* .../d/leaf.txt ENOENT */
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	chdir("/");
	fd = openat(dfd, "../leaf2.txt", O_RDONLY);           /* .../d/../leaf2.txt ENOENT */
	if (fd >= 0)
		close(fd);
}

/* heads: a child reads a request from a pipe (read), the parent another
 * from a socket pair (recvfrom), and bytes that are no request. */
static void heads(void)
{
	static const char get[] = "GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char post[] = "POST /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	static const char other[] = "GETTING nothing: not a request line\r\n";
	char buf[4096];
	int p[2], sv[2];
	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		exit(3);
	pid_t child = fork();
	if (child == 0) {
		ssize_t n = read(p[0], buf, sizeof(buf));
		_exit(n > 0 ? 0 : 4);
	}
	write(p[1], get, sizeof(get) - 1);
	waitpid(child, NULL, 0);
	write(sv[0], post, sizeof(post) - 1);
	recv(sv[1], buf, sizeof(buf), 0);
	write(p[1], other, sizeof(other) - 1);
	read(p[0], buf, sizeof(buf));
}

static double now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	int i = 1;
	if (argc >= 2 && strstr(argv[1], "script")) {
		touch("/data/from-script.txt");
		return 0;
	}
	if (i < argc && !strcmp(argv[i], "wait")) {
		wait_usr1();
		i++;
	}
	const char *mode = i < argc ? argv[i] : "suite";
	if (!strcmp(mode, "suite")) {
		suite();
	} else if (!strcmp(mode, "b")) {
		struct stat st;
		touch("/data/only-b.txt");
		stat("/data/only-b-missing", &st);
	} else if (!strcmp(mode, "deep")) {
		deep();
	} else if (!strcmp(mode, "child")) {
		touch("/data/child.txt");
	} else if (!strcmp(mode, "execd")) {
		touch("/data/execd.txt");
	} else if (!strcmp(mode, "heads")) {
		heads();
	} else if (!strcmp(mode, "sleep")) {
		wait_usr1();
	} else if (!strcmp(mode, "loop")) {
		/* loop N [RATE]: N opens, at most RATE per second when given */
		long n = i + 1 < argc ? atol(argv[i + 1]) : 100000;
		double rate = i + 2 < argc ? atof(argv[i + 2]) : 0;
		double t0 = now();
		for (long k = 0; k < n; k++) {
			touch("/data/abs.txt");
			if (rate > 0 && k % 100 == 99) {
				double ahead = t0 + (k + 1) / rate - now();
				if (ahead > 0)
					usleep((useconds_t)(ahead * 1e6));
			}
		}
		double dt = now() - t0;
		printf("opens=%ld seconds=%.6f rate=%.0f\n", n, dt, n / dt);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
