// Package jvm measures the method coverage of JVM services live: which
// methods of the application's classes each request called first.
//
// Mechanism. whittle's JVMTI agent (agent/agent.c, built freestanding into
// libwhittlejvm_amd64.so and embedded here) is loaded by the traced JVMs
// only: InstallAgent writes it into a private directory, which the caller
// mounts read-only at MountPoint, and JavaToolOptions is the
// JAVA_TOOL_OPTIONS naming it (after the image's own value). The agent
// sets a breakpoint on the first instruction of each method of an in-scope
// class when the class is prepared, and clears it at the method's first
// call: one breakpoint event per method over the whole run, after which the
// method runs, and is compiled, as without the agent. It tells whittle by
// calling an empty function of its own, on which Attach puts a uprobe whose
// BPF program (bpf/jvm.bpf.c in the tracer's directory) copies the message
// into the tracer's ring buffer: the message is written by the thread that
// calls the method, before the method runs, so once a request is answered a
// Sync of the tracer has read it (NewSince then says what it called first).
// Once that probe's program is attached, Attach puts a second probe on the
// agent's ready function, which nothing calls: the agent sees both
// breakpoints in its own code and replays everything since the JVM
// started, so start-up is covered although whittle attaches once the
// service answers, and a JVM started later (a restart, a spare) replays by
// itself. (The probe's reference counter, a USDT-style semaphore, rises
// before its program is attached: a replay on it alone was sometimes lost.)
// jvmbench (tracer/cmd/jvmbench) compares this with HotSpot's DTrace probes
// and JFR; bench/results/jvm-coverage.md has the figures.
//
// Scope. The agent decides which classes are the application's, from what
// the JVM was started with (sun.java.command): the Start-Class (Spring
// Boot) or else the Main-Class of the jar's manifest for java -jar, the
// main class for java [-cp ...] CLASS or -m MODULE/CLASS. The scope is the
// first three parts of that class's package (com.example.shop for
// com.example.shop.web.Main; the whole package when it is shorter), so the
// application's sibling packages are in it and the launcher's, the JDK's
// and the libraries' are not; classes of the boot and platform loaders
// never are. Options given to the agent (scope=PREFIX,...) replace that
// choice. Scope says what was chosen, how, and what the JVMs loaded of it.
//
// Runtime is the package as a cover.Runtime, dispatched by the cover.Starter
// like the other runtimes: Prepare (cover.Preparer) installs the agent when
// the image's configuration shows a JVM, Mounts and Env (cover.Mounter,
// cover.Instrumenter) are then what the traced containers, and only those,
// get; Attach returns a Coverage (a cover.Source), cover.ErrOtherRuntime
// for a target that loaded no libjvm.so (an image that only claimed a JVM
// then loses its agent: Dropped), or cover.ErrRestart for a JVM that a
// script started although the configuration did not show one (the agent
// is installed: its next container gets it). whittle reads no file of the
// container here: the agent reads the jar's manifest inside the JVM.
//
// Units are methods, "com.example.shop.Cart.add(Item,int)", with their
// source file and first line; Total counts the methods of the in-scope
// classes the JVMs loaded so far (a class loaded by name later adds its
// own).
package jvm
