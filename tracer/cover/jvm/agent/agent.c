// SPDX-License-Identifier: Apache-2.0
/*
 * whittle's JVM coverage agent: a JVMTI agent that reports the first call
 * of each method of the application's classes.
 *
 * Loaded through JAVA_TOOL_OPTIONS (-agentpath:FILE[=scope=PREFIX,...]) by
 * the traced run only. When a class of the scope is prepared, a breakpoint
 * is set on the first instruction of each of its methods; the first hit
 * clears it (coverage-guided tracing, as whittle does with uprobes), so a
 * method costs one breakpoint event over the whole run and then runs, and
 * is compiled, at full speed.
 *
 * The agent tells whittle what happens by calling whittle_jvm_message(),
 * an empty function on which whittle puts a uprobe: the message is read by
 * BPF from the calling thread, before the method runs, so it is in the
 * tracer's ring buffer before the request is answered. whittle attaches a
 * second probe, on whittle_jvm_ready(), which nothing calls, once the first
 * is complete (its BPF program attached): when both breakpoints are in
 * place (x86's int3 over the functions' first bytes, which the agent reads
 * in its own code), the agent replays every message since the start, so
 * start-up is seen even though whittle attaches once the service answers.
 * whittle_jvm_attached is the message probe's reference counter, as USDT
 * semaphores are, for other tools; the agent does not rely on it: the
 * kernel raises it, and writes the breakpoint, before the probe's program
 * is attached.
 *
 * Freestanding: no libc, no other library. Memory comes from JVMTI
 * (Allocate), waits are raw monitor waits, the watcher is a JVMTI agent
 * thread. The file loads into any Linux x86-64 JVM, glibc or musl, and
 * whittle can mount it read-only into a container that has nothing else
 * of whittle's.
 *
 * Messages (tab-separated fields; whittle parses them as hostile input):
 *   V vm version home       the JVM (java.vm.name, java.vm.version, java.home)
 *   S how detail prefixes   the scope and how it was chosen
 *   M id class name signature source line
 *                           a method was given a breakpoint
 *   H id nanotime           its first call (JVMTI GetTime: CLOCK_MONOTONIC)
 *   E text                  something the agent could not do
 *   R count                 a replay of count messages is complete
 * Agent_OnLoad never fails: a JVM the agent cannot help runs unobserved.
 */
#include <jvmti.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_PREFIXES 16
#define MAX_TEXT 512
#define MAX_LOG (64u << 20)
#define WATCH_MS 20
#define REPLAY_BATCH 256

/* ---- the probe point ---------------------------------------------------- */

/* In a writable, file-backed section: the kernel can only count references
 * in a private file mapping (as USDT semaphores in .probes). */
EXPORT volatile unsigned short whittle_jvm_attached __attribute__((section(".probes"), used));

EXPORT __attribute__((noinline, used)) void whittle_jvm_message(const char *msg, unsigned int len)
{
	__asm__ volatile("" : : "r"(msg), "r"(len) : "memory");
}

/* Never called: its probe says that the message probe is complete. */
EXPORT __attribute__((noinline, used)) void whittle_jvm_ready(void)
{
	__asm__ volatile("nop" : : : "memory");
}

/* ---- freestanding helpers ------------------------------------------------ */

/* The compiler may emit calls to these for copies and zeroing. */
void *memcpy(void *dst, const void *src, unsigned long n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, unsigned long n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

static unsigned long slen(const char *s)
{
	unsigned long n = 0;
	while (s && s[n])
		n++;
	return n;
}

static int has_prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	unsigned long n = slen(s), m = slen(suffix);
	if (m > n)
		return 0;
	for (unsigned long i = 0; i < m; i++) {
		char a = s[n - m + i], b = suffix[i];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return 1;
}

/* A bounded text being built. */
struct text {
	char b[MAX_TEXT];
	unsigned int n;
};

/* put appends s; tabs and line ends become spaces (they separate fields). */
static void put(struct text *t, const char *s)
{
	for (; s && *s && t->n < MAX_TEXT; s++)
		t->b[t->n++] = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
}

static void putc1(struct text *t, char c)
{
	if (t->n < MAX_TEXT)
		t->b[t->n++] = c;
}

static void putu(struct text *t, unsigned long long v)
{
	char d[24];
	int i = 0;
	do {
		d[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc1(t, d[--i]);
}

/* ---- state (guarded by the monitor) --------------------------------------- */

static jvmtiEnv *jvmti;
static jrawMonitorID lock;
static int can_break;

static char prefixes[MAX_PREFIXES][MAX_TEXT / 2];
static int nprefixes;
static int default_package; /* the main class has no package: classes without one */
static int scoped;          /* the scope is known: ClassPrepare may instrument */
static jobject platform_loader;

/* Every message since the start, length-prefixed, for replays. */
static unsigned char *log_buf;
static unsigned int log_len, log_cap, log_count;
static int log_full;

/* Whether whittle is attached (at the watcher's last look). */
static int live;

/* Method ids: jmethodID -> agent id, open addressing. */
struct slot {
	jmethodID m;
	unsigned int id;
};
static struct slot *slots;
static unsigned int nslots, nmethods;

static void *alloc(unsigned long n)
{
	unsigned char *p = 0;
	if ((*jvmti)->Allocate(jvmti, (jlong)n, &p) != JVMTI_ERROR_NONE)
		return 0;
	return p;
}

static void dealloc(void *p)
{
	if (p)
		(*jvmti)->Deallocate(jvmti, p);
}

/* record logs a message and sends it when whittle is attached. Called
 * with the monitor held. */
static void record(const struct text *t)
{
	if (!log_full) {
		unsigned int need = log_len + 2 + t->n;
		if (need > log_cap) {
			unsigned int cap = log_cap ? log_cap : 64 << 10;
			while (cap < need)
				cap *= 2;
			unsigned char *nb = cap <= MAX_LOG ? alloc(cap) : 0;
			if (!nb) {
				log_full = 1;
				goto send;
			}
			memcpy(nb, log_buf, log_len);
			dealloc(log_buf);
			log_buf = nb;
			log_cap = cap;
		}
		log_buf[log_len] = (unsigned char)(t->n & 0xff);
		log_buf[log_len + 1] = (unsigned char)(t->n >> 8);
		memcpy(log_buf + log_len + 2, t->b, t->n);
		log_len += 2 + t->n;
		log_count++;
	}
send:
	if (live)
		whittle_jvm_message(t->b, t->n);
}

/* replay sends the log again, in batches: between two, the monitor is
 * released for a millisecond so that whittle's reader drains the ring
 * buffer (a large application declares tens of thousands of methods), and
 * what happens meanwhile is logged, to be sent in turn. Called with the
 * monitor held. */
static void replay(void)
{
	unsigned int off = 0, n = 0;
	while (off + 2 <= log_len) {
		unsigned int len = log_buf[off] | (unsigned int)log_buf[off + 1] << 8;
		whittle_jvm_message((const char *)log_buf + off + 2, len);
		off += 2 + len;
		if (++n % REPLAY_BATCH == 0)
			(*jvmti)->RawMonitorWait(jvmti, lock, 1);
	}
	struct text t = {.n = 0};
	putc1(&t, 'R');
	putc1(&t, '\t');
	putu(&t, n);
	if (log_full)
		put(&t, " log full");
	whittle_jvm_message(t.b, t.n);
}

/* problem records what the agent could not do (raw monitors are
 * reentrant: callers may hold it). */
static void problem(const char *what, jvmtiError err)
{
	struct text t = {.n = 0};
	if (lock)
		(*jvmti)->RawMonitorEnter(jvmti, lock);
	putc1(&t, 'E');
	putc1(&t, '\t');
	put(&t, what);
	put(&t, " (JVMTI error ");
	putu(&t, (unsigned long long)err);
	put(&t, ")");
	record(&t);
	if (lock)
		(*jvmti)->RawMonitorExit(jvmti, lock);
}

static unsigned int hash(jmethodID m)
{
	unsigned long long v = (unsigned long long)(unsigned long)m;
	v ^= v >> 29;
	v *= 0xbf58476d1ce4e5b9ull;
	return (unsigned int)(v >> 32);
}

static struct slot *find_slot(struct slot *tab, unsigned int n, jmethodID m)
{
	unsigned int i = hash(m) & (n - 1);
	while (tab[i].m && tab[i].m != m)
		i = (i + 1) & (n - 1);
	return &tab[i];
}

/* remember maps m to a new id; 0 when the table cannot grow. */
static int remember(jmethodID m, unsigned int *id)
{
	if (2 * (nmethods + 1) > nslots) {
		unsigned int n = nslots ? 2 * nslots : 1024;
		struct slot *tab = alloc((unsigned long)n * sizeof(*tab));
		if (!tab)
			return 0;
		memset(tab, 0, (unsigned long)n * sizeof(*tab));
		for (unsigned int i = 0; i < nslots; i++)
			if (slots[i].m)
				*find_slot(tab, n, slots[i].m) = slots[i];
		dealloc(slots);
		slots = tab;
		nslots = n;
	}
	struct slot *s = find_slot(slots, nslots, m);
	s->m = m;
	s->id = ++nmethods;
	*id = s->id;
	return 1;
}

/* ---- scope ------------------------------------------------------------------ */

/* add_prefix adds a package prefix given with dots or slashes
 * ("com.example.shop", "com/example/shop/" followed by stars), as
 * "com/example/shop/". */
static void add_prefix(const char *p, unsigned long n)
{
	while (n && (p[n - 1] == '*' || p[n - 1] == '/' || p[n - 1] == '.'))
		n--;
	if (!n || nprefixes == MAX_PREFIXES || n + 2 > sizeof(prefixes[0]))
		return;
	char *d = prefixes[nprefixes++];
	for (unsigned long i = 0; i < n; i++)
		d[i] = p[i] == '.' ? '/' : p[i];
	d[n] = '/';
	d[n + 1] = 0;
}

/* scope_from_class takes the application's root from the main class
 * (dotted): its package's first three parts (com.example.shop), or the
 * whole package when it has fewer. */
static void scope_from_class(const char *cls)
{
	unsigned long end = 0, parts = 0, n = slen(cls);
	for (unsigned long i = 0; i < n; i++) {
		if (cls[i] == '.' || cls[i] == '/') {
			if (parts < 3)
				end = i;
			parts++;
		}
	}
	if (!parts)
		default_package = 1;
	else
		add_prefix(cls, end);
}

static int in_scope(const char *name)
{
	if (default_package && !slen(name))
		return 0;
	if (default_package) {
		int slash = 0;
		for (const char *p = name; *p; p++)
			slash |= *p == '/';
		if (!slash)
			return 1;
	}
	for (int i = 0; i < nprefixes; i++)
		if (has_prefix(name, prefixes[i]))
			return 1;
	return 0;
}

static void clear_exception(JNIEnv *jni)
{
	if ((*jni)->ExceptionCheck(jni))
		(*jni)->ExceptionClear(jni);
}

/* manifest_class reads attribute key (Start-Class, Main-Class) of the jar's
 * manifest through java.util.jar, as the launcher itself does; 0 if none.
 * The result is JVMTI-allocated. */
static char *manifest_class(JNIEnv *jni, const char *jar, const char *key)
{
	char *out = 0;
	jclass jf = (*jni)->FindClass(jni, "java/util/jar/JarFile");
	if (!jf) {
		clear_exception(jni);
		return 0;
	}
	jmethodID ctor = (*jni)->GetMethodID(jni, jf, "<init>", "(Ljava/lang/String;)V");
	jmethodID getManifest = (*jni)->GetMethodID(jni, jf, "getManifest", "()Ljava/util/jar/Manifest;");
	jmethodID closeJar = (*jni)->GetMethodID(jni, jf, "close", "()V");
	jclass mfc = (*jni)->FindClass(jni, "java/util/jar/Manifest");
	jclass atc = (*jni)->FindClass(jni, "java/util/jar/Attributes");
	if (!ctor || !getManifest || !closeJar || !mfc || !atc) {
		clear_exception(jni);
		return 0;
	}
	jmethodID mainAttrs = (*jni)->GetMethodID(jni, mfc, "getMainAttributes", "()Ljava/util/jar/Attributes;");
	jmethodID getValue = (*jni)->GetMethodID(jni, atc, "getValue", "(Ljava/lang/String;)Ljava/lang/String;");
	jstring path = (*jni)->NewStringUTF(jni, jar);
	jobject file = path && mainAttrs && getValue ? (*jni)->NewObject(jni, jf, ctor, path) : 0;
	if (!file) {
		clear_exception(jni);
		return 0;
	}
	jobject mf = (*jni)->CallObjectMethod(jni, file, getManifest);
	clear_exception(jni);
	jobject attrs = mf ? (*jni)->CallObjectMethod(jni, mf, mainAttrs) : 0;
	clear_exception(jni);
	jstring k = (*jni)->NewStringUTF(jni, key);
	jstring v = attrs && k ? (*jni)->CallObjectMethod(jni, attrs, getValue, k) : 0;
	clear_exception(jni);
	if (v) {
		const char *s = (*jni)->GetStringUTFChars(jni, v, 0);
		if (s) {
			unsigned long n = slen(s);
			out = alloc(n + 1);
			if (out) {
				unsigned long a = 0, b = n;
				while (a < b && (s[a] == ' ' || s[a] == '\t'))
					a++;
				while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
					b--;
				memcpy(out, s + a, b - a);
				out[b - a] = 0;
			}
			(*jni)->ReleaseStringUTFChars(jni, v, s);
		}
	}
	(*jni)->CallVoidMethod(jni, file, closeJar);
	clear_exception(jni);
	return out;
}

/* choose_scope decides which classes are the application's and records
 * how (S message). Called at VMInit with the monitor held. */
static void choose_scope(JNIEnv *jni)
{
	struct text t = {.n = 0};
	putc1(&t, 'S');
	putc1(&t, '\t');
	if (nprefixes) {
		put(&t, "options");
		putc1(&t, '\t');
		put(&t, "given to the agent");
		goto done;
	}
	char *cmd = 0;
	if ((*jvmti)->GetSystemProperty(jvmti, "sun.java.command", &cmd) != JVMTI_ERROR_NONE || !cmd || !cmd[0]) {
		dealloc(cmd);
		put(&t, "none");
		putc1(&t, '\t');
		put(&t, "the JVM has no sun.java.command (not started by the java launcher)");
		goto done;
	}
	/* The launcher sets it to "MAIN ARGS...", MAIN being the jar (-jar),
	 * module/class (-m) or the class. */
	unsigned long n = 0;
	while (cmd[n] && cmd[n] != ' ')
		n++;
	cmd[n] = 0;
	if (ends_with(cmd, ".jar") || ends_with(cmd, ".war")) {
		const char *key = "Start-Class";
		char *cls = manifest_class(jni, cmd, key);
		if (!cls) {
			key = "Main-Class";
			cls = manifest_class(jni, cmd, key);
		}
		if (cls) {
			scope_from_class(cls);
			put(&t, key);
			putc1(&t, '\t');
			put(&t, cls);
			put(&t, " in ");
			put(&t, cmd);
			dealloc(cls);
		} else {
			put(&t, "none");
			putc1(&t, '\t');
			put(&t, "no Start-Class or Main-Class in the manifest of ");
			put(&t, cmd);
		}
	} else if (ends_with(cmd, ".java")) {
		put(&t, "none");
		putc1(&t, '\t');
		put(&t, "a source-file program (");
		put(&t, cmd);
		put(&t, ")");
	} else {
		const char *cls = cmd;
		for (const char *p = cmd; *p; p++)
			if (*p == '/')
				cls = p + 1; /* -m module/class */
		scope_from_class(cls);
		put(&t, "main class");
		putc1(&t, '\t');
		put(&t, cls);
		if (cls != cmd)
			put(&t, " (module)");
	}
	dealloc(cmd);
done:
	putc1(&t, '\t');
	for (int i = 0; i < nprefixes; i++) {
		if (i)
			put(&t, ",");
		put(&t, prefixes[i]);
	}
	if (default_package)
		put(&t, nprefixes ? ",(default package)" : "(default package)");
	scoped = nprefixes || default_package;
	record(&t);
}

/* ---- instrumentation ------------------------------------------------------------ */

static int from_the_jdk(JNIEnv *jni, jclass k)
{
	jobject loader = 0;
	if ((*jvmti)->GetClassLoader(jvmti, k, &loader) != JVMTI_ERROR_NONE || !loader)
		return 1; /* the boot loader */
	int platform = platform_loader && (*jni)->IsSameObject(jni, loader, platform_loader);
	(*jni)->DeleteLocalRef(jni, loader);
	return platform;
}

static unsigned int first_line(jmethodID m)
{
	jint n = 0;
	jvmtiLineNumberEntry *tab = 0;
	if ((*jvmti)->GetLineNumberTable(jvmti, m, &n, &tab) != JVMTI_ERROR_NONE)
		return 0;
	unsigned int line = 0;
	jlocation at = 0;
	for (jint i = 0; i < n; i++) {
		if (i == 0 || tab[i].start_location < at) {
			at = tab[i].start_location;
			line = (unsigned int)tab[i].line_number;
		}
	}
	dealloc(tab);
	return line;
}

/* instrument sets a breakpoint on each method of an in-scope class and
 * declares it (M). Called with the monitor held. */
static void instrument(JNIEnv *jni, jclass k)
{
	char *sig = 0;
	if ((*jvmti)->GetClassSignature(jvmti, k, &sig, 0) != JVMTI_ERROR_NONE || !sig)
		return;
	unsigned long n = slen(sig);
	if (n < 3 || sig[0] != 'L' || sig[n - 1] != ';')
		goto out; /* arrays, primitives */
	sig[n - 1] = 0;
	const char *name = sig + 1;
	/* Hidden classes (lambda proxies: "pkg/Main$$Lambda$5.0x00007f...")
	 * are the JVM's forwarding code, not the application's source. */
	for (const char *p = name; *p; p++)
		if (*p == '.')
			goto out;
	if (!in_scope(name) || from_the_jdk(jni, k))
		goto out;
	char *source = 0;
	if ((*jvmti)->GetSourceFileName(jvmti, k, &source) != JVMTI_ERROR_NONE)
		source = 0;
	jint count = 0;
	jmethodID *methods = 0;
	if ((*jvmti)->GetClassMethods(jvmti, k, &count, &methods) != JVMTI_ERROR_NONE)
		count = 0;
	for (jint i = 0; i < count; i++) {
		jint mods = 0;
		if ((*jvmti)->GetMethodModifiers(jvmti, methods[i], &mods) != JVMTI_ERROR_NONE ||
		    (mods & (0x0100 | 0x0400 | 0x0040))) /* native, abstract, bridge */
			continue;
		jlocation start = 0, end = 0;
		if ((*jvmti)->GetMethodLocation(jvmti, methods[i], &start, &end) != JVMTI_ERROR_NONE || start < 0)
			continue;
		jvmtiError err = (*jvmti)->SetBreakpoint(jvmti, methods[i], start);
		if (err != JVMTI_ERROR_NONE)
			continue; /* DUPLICATE: instrumented already */
		unsigned int id;
		if (!remember(methods[i], &id)) {
			(*jvmti)->ClearBreakpoint(jvmti, methods[i], start);
			problem("out of memory for method ids", JVMTI_ERROR_OUT_OF_MEMORY);
			break;
		}
		char *mname = 0, *msig = 0;
		if ((*jvmti)->GetMethodName(jvmti, methods[i], &mname, &msig, 0) != JVMTI_ERROR_NONE)
			mname = msig = 0;
		struct text t = {.n = 0};
		putc1(&t, 'M');
		putc1(&t, '\t');
		putu(&t, id);
		putc1(&t, '\t');
		put(&t, name);
		putc1(&t, '\t');
		put(&t, mname);
		putc1(&t, '\t');
		put(&t, msig);
		putc1(&t, '\t');
		put(&t, source);
		putc1(&t, '\t');
		putu(&t, first_line(methods[i]));
		record(&t);
		dealloc(mname);
		dealloc(msig);
	}
	dealloc(methods);
	dealloc(source);
out:
	dealloc(sig);
}

/* ---- events ------------------------------------------------------------------------- */

static void JNICALL on_class_prepare(jvmtiEnv *env, JNIEnv *jni, jthread thread, jclass k)
{
	(void)env;
	(void)thread;
	(*jvmti)->RawMonitorEnter(jvmti, lock);
	if (scoped)
		instrument(jni, k);
	(*jvmti)->RawMonitorExit(jvmti, lock);
}

static void JNICALL on_breakpoint(jvmtiEnv *env, JNIEnv *jni, jthread thread, jmethodID m, jlocation at)
{
	(void)env;
	(void)jni;
	(void)thread;
	jlong now = 0;
	(*jvmti)->GetTime(jvmti, &now);
	(*jvmti)->RawMonitorEnter(jvmti, lock);
	/* Another thread may have been first: then the breakpoint is gone. */
	if ((*jvmti)->ClearBreakpoint(jvmti, m, at) == JVMTI_ERROR_NONE && nslots) {
		struct slot *s = find_slot(slots, nslots, m);
		if (s->m == m) {
			struct text t = {.n = 0};
			putc1(&t, 'H');
			putc1(&t, '\t');
			putu(&t, s->id);
			putc1(&t, '\t');
			putu(&t, (unsigned long long)now);
			record(&t);
		}
	}
	(*jvmti)->RawMonitorExit(jvmti, lock);
}

/* probed reports whether the kernel wrote a uprobe's breakpoint (int3)
 * over the first byte of fn in this process. */
static int probed(void (*fn)(void))
{
	return *(volatile const unsigned char *)(unsigned long)fn == 0xcc;
}

/* probe_installed reports whether whittle is attached: the ready probe,
 * attached after the message probe's program, is in place. The message
 * probe alone could still lack its program: a replay would be lost. */
static int probe_installed(void)
{
	return probed(whittle_jvm_ready) && probed((void (*)(void))whittle_jvm_message);
}

/* watch replays the log whenever whittle's probe appears (attached, or
 * attached again). */
static void JNICALL watch(jvmtiEnv *env, JNIEnv *jni, void *arg)
{
	(void)env;
	(void)jni;
	(void)arg;
	if ((*jvmti)->RawMonitorEnter(jvmti, lock) != JVMTI_ERROR_NONE)
		return;
	for (;;) {
		int on = probe_installed();
		if (on && !live)
			replay();
		live = on;
		jvmtiError err = (*jvmti)->RawMonitorWait(jvmti, lock, WATCH_MS);
		if (err != JVMTI_ERROR_NONE && err != JVMTI_ERROR_INTERRUPT)
			break; /* the VM is going away */
	}
	(*jvmti)->RawMonitorExit(jvmti, lock);
}

static void start_watcher(JNIEnv *jni)
{
	jclass tc = (*jni)->FindClass(jni, "java/lang/Thread");
	jmethodID ctor = tc ? (*jni)->GetMethodID(jni, tc, "<init>", "(Ljava/lang/String;)V") : 0;
	jstring name = ctor ? (*jni)->NewStringUTF(jni, "whittle coverage") : 0;
	jobject thread = name ? (*jni)->NewObject(jni, tc, ctor, name) : 0;
	clear_exception(jni);
	jvmtiError err = thread ? (*jvmti)->RunAgentThread(jvmti, thread, watch, 0, JVMTI_THREAD_MIN_PRIORITY)
				: JVMTI_ERROR_INTERNAL;
	if (err != JVMTI_ERROR_NONE)
		problem("cannot start the agent thread: no replay when whittle attaches", err);
}

static void find_platform_loader(JNIEnv *jni)
{
	jclass cl = (*jni)->FindClass(jni, "java/lang/ClassLoader");
	jmethodID get = cl ? (*jni)->GetStaticMethodID(jni, cl, "getPlatformClassLoader", "()Ljava/lang/ClassLoader;") : 0;
	jobject l = get ? (*jni)->CallStaticObjectMethod(jni, cl, get) : 0;
	clear_exception(jni); /* Java 8 has none: its extension loader is not excluded */
	if (l)
		platform_loader = (*jni)->NewGlobalRef(jni, l);
}

static void put_property(struct text *t, const char *name)
{
	char *v = 0;
	if ((*jvmti)->GetSystemProperty(jvmti, name, &v) == JVMTI_ERROR_NONE)
		put(t, v);
	dealloc(v);
}

static void JNICALL on_vm_init(jvmtiEnv *env, JNIEnv *jni, jthread thread)
{
	(void)env;
	(void)thread;
	find_platform_loader(jni);
	(*jvmti)->RawMonitorEnter(jvmti, lock);
	struct text t = {.n = 0};
	putc1(&t, 'V');
	putc1(&t, '\t');
	put_property(&t, "java.vm.name");
	putc1(&t, '\t');
	put_property(&t, "java.vm.version");
	putc1(&t, '\t');
	put_property(&t, "java.home");
	record(&t);
	choose_scope(jni);
	if (scoped && can_break) {
		jvmtiError err = (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_CLASS_PREPARE, 0);
		if (err == JVMTI_ERROR_NONE)
			err = (*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_BREAKPOINT, 0);
		if (err != JVMTI_ERROR_NONE)
			problem("cannot enable class and breakpoint events", err);
		/* Classes prepared before now (none from the application, as a rule). */
		jint n = 0;
		jclass *classes = 0;
		if ((*jvmti)->GetLoadedClasses(jvmti, &n, &classes) == JVMTI_ERROR_NONE) {
			for (jint i = 0; i < n; i++) {
				jint status = 0;
				if ((*jvmti)->GetClassStatus(jvmti, classes[i], &status) == JVMTI_ERROR_NONE &&
				    (status & JVMTI_CLASS_STATUS_PREPARED))
					instrument(jni, classes[i]);
				(*jni)->DeleteLocalRef(jni, classes[i]);
			}
			dealloc(classes);
		}
	}
	(*jvmti)->RawMonitorExit(jvmti, lock);
	start_watcher(jni);
}

/* ---- loading --------------------------------------------------------------------------- */

static void parse_options(const char *opts)
{
	/* scope=PREFIX[,PREFIX...] (several options separated by ';') */
	const char *p = opts;
	while (p && *p) {
		const char *end = p;
		while (*end && *end != ';')
			end++;
		if (has_prefix(p, "scope=")) {
			const char *q = p + 6;
			while (q < end) {
				const char *c = q;
				while (c < end && *c != ',')
					c++;
				add_prefix(q, (unsigned long)(c - q));
				q = c < end ? c + 1 : c;
			}
		}
		p = *end ? end + 1 : end;
	}
}

EXPORT jint JNICALL Agent_OnLoad(JavaVM *vm, char *options, void *reserved)
{
	(void)reserved;
	if ((*vm)->GetEnv(vm, (void **)&jvmti, JVMTI_VERSION_1_2) != JNI_OK || !jvmti)
		return JNI_OK; /* run unobserved rather than not at all */
	if ((*jvmti)->CreateRawMonitor(jvmti, "whittle coverage", &lock) != JVMTI_ERROR_NONE)
		return JNI_OK;
	parse_options(options);
	jvmtiCapabilities caps;
	memset(&caps, 0, sizeof(caps));
	caps.can_generate_breakpoint_events = 1;
	caps.can_get_line_numbers = 1;
	caps.can_get_source_file_name = 1;
	jvmtiError err = (*jvmti)->AddCapabilities(jvmti, &caps);
	if (err != JVMTI_ERROR_NONE) {
		caps.can_get_line_numbers = 0;
		caps.can_get_source_file_name = 0;
		err = (*jvmti)->AddCapabilities(jvmti, &caps);
	}
	can_break = err == JVMTI_ERROR_NONE;
	if (!can_break)
		problem("breakpoints are not available in this JVM: no method coverage", err);
	jvmtiEventCallbacks cb;
	memset(&cb, 0, sizeof(cb));
	cb.VMInit = on_vm_init;
	cb.ClassPrepare = on_class_prepare;
	cb.Breakpoint = on_breakpoint;
	if ((*jvmti)->SetEventCallbacks(jvmti, &cb, (jint)sizeof(cb)) == JVMTI_ERROR_NONE)
		(*jvmti)->SetEventNotificationMode(jvmti, JVMTI_ENABLE, JVMTI_EVENT_VM_INIT, 0);
	return JNI_OK;
}
