package jvm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

const runtimesImage = "whittle-fixture/runtimes:bookworm-1"

// bigApp writes a Java application of classes in a directory (no jar): its
// main class org.acme.big.Main calls the methods of classes C0..C(n-1),
// 50 each, at start-up and serves /call?c=N, which calls CN.extra(); a
// library of another root, org.other.lib, is called too.
func bigApp(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	write := func(p, s string) { writeTree(t, dir, map[string]string{p: s}) }
	var calls strings.Builder
	for c := 0; c < n; c++ {
		var b strings.Builder
		fmt.Fprintf(&b, "package org.acme.big;\npublic final class C%d {\n", c)
		for m := 0; m < 50; m++ {
			fmt.Fprintf(&b, "  static int m%d(int x) { return x + %d; }\n", m, m)
			fmt.Fprintf(&calls, "    s += C%d.m%d(s & 7);\n", c, m)
		}
		fmt.Fprintf(&b, "  public static String extra() { return \"C%d\"; }\n}\n", c)
		write(fmt.Sprintf("src/org/acme/big/C%d.java", c), b.String())
	}
	write("src/org/other/lib/Util.java", "package org.other.lib;\npublic final class Util {\n  public static int twice(int x) { return 2 * x; }\n}\n")
	write("src/org/acme/big/Main.java", `package org.acme.big;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

public final class Main {
  static int warm() {
    int s = 0;
`+calls.String()+`    return org.other.lib.Util.twice(s);
  }

  public static void main(String[] args) throws Exception {
    System.out.println("warm " + warm());
    HttpServer server = HttpServer.create(new InetSocketAddress(8080), 16);
    server.createContext("/health", ex -> { ex.sendResponseHeaders(200, -1); ex.close(); });
    server.createContext("/call", ex -> {
      String q = ex.getRequestURI().getQuery();
      String out;
      try {
        out = (String) Class.forName("org.acme.big.C" + q.substring(2)).getMethod("extra").invoke(null);
      } catch (ReflectiveOperationException | RuntimeException e) {
        out = "no";
      }
      byte[] b = out.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    server.start();
  }
}
`)
	write("Dockerfile", "FROM "+runtimesImage+"\nCOPY src/ /tmp/src/\n"+
		"RUN javac -d /app/classes $(find /tmp/src -name '*.java') && rm -rf /tmp/src\n"+
		"EXPOSE 8080\nCMD [\"java\", \"-cp\", \"/app/classes\", \"org.acme.big.Main\"]\n")
	return dir
}

// A plain `java -cp DIR Main` with thousands of methods: the scope is the
// main class's root (not the library's), every method is declared and its
// start-up call replayed though the probe came later, none lost.
func TestIntegrationClassDirectoryScale(t *testing.T) {
	requireIntegration(t)
	if err := fixture.Available(runtimesImage); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
	const classes = 100
	tag := buildImage(t, "jvmbig", bigApp(t, classes))
	tr := newTracer(t)
	a := installAgent(t)
	began := time.Now()
	c := startJava(t, tr, tag, a)
	startup := time.Since(began)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cov, err := Attach(ctx, tr, a)
	if err != nil {
		t.Fatal(err)
	}
	defer cov.Close()
	if err := tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	sc, st := cov.ClassScope(), cov.Stats()
	t.Logf("start-up %v; scope %s; %d methods, %d called; tracer %+v", startup.Round(time.Millisecond), sc, st.Total, st.Hit, tr.Stats())
	if sc.How != "main class" || sc.Detail != "org.acme.big.Main" || !slices.Equal(sc.Prefixes, []string{"org/acme/big/"}) {
		t.Errorf("scope %+v: want org/acme/big/ from the main class", sc)
	}
	if want := classes * 52; st.Total < want || st.Hit < classes*50 {
		t.Errorf("%d methods declared, %d called: want at least %d and %d", st.Total, st.Hit, want, classes*50)
	}
	if p := cov.Problems(); len(p) > 0 {
		t.Errorf("problems: %q", p)
	}
	if lost := tr.Stats().Lost; lost != 0 {
		t.Errorf("%d messages lost in the replay", lost)
	}
	for _, m := range cov.Methods() {
		if !strings.HasPrefix(m.Class, "org.acme.big.") {
			t.Errorf("%s.%s is not the application's", m.Class, m.Name)
		}
	}
	cursor, _, err := cov.Baseline(ctx, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "curl", "-fsS", "http://"+c.Addr+"/call?c=42").CombinedOutput()
	if err != nil || !bytes.Equal(out, []byte("C42")) {
		t.Fatalf("GET /call?c=42: %q %v", out, err)
	}
	if err := tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if units, _ := cov.NewSince(cursor); !slices.Contains(units, "org.acme.big.C42.extra()") {
		t.Errorf("C42.extra not reported: %q", units)
	}
}

// A jar whose Main-Class is a launcher of another package and whose
// Start-Class is the application (as Spring Boot's executable jars): the
// scope is the Start-Class's root, the launcher is not covered.
func TestIntegrationStartClass(t *testing.T) {
	requireIntegration(t)
	if err := fixture.Available(runtimesImage); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"src/org/launcher/Launcher.java": `package org.launcher;
public final class Launcher {
  public static void main(String[] args) throws Exception {
    Class.forName("com.acme.app.App").getMethod("main", String[].class).invoke(null, (Object) args);
  }
}
`,
		"src/com/acme/app/App.java": `package com.acme.app;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
public final class App {
  public static void main(String[] args) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress(8080), 16);
    server.createContext("/health", ex -> { ex.sendResponseHeaders(200, -1); ex.close(); });
    server.start();
  }
}
`,
		"MANIFEST.MF": "Main-Class: org.launcher.Launcher\nStart-Class: com.acme.app.App\n",
		"Dockerfile": "FROM " + runtimesImage + "\nCOPY . /tmp/b/\n" +
			"RUN cd /tmp/b && javac -d classes $(find src -name '*.java') && mkdir -p /opt/app && " +
			"jar --create --file /opt/app/app.jar --manifest MANIFEST.MF -C classes . && rm -rf /tmp/b\n" +
			"WORKDIR /opt/app\nEXPOSE 8080\nCMD [\"java\", \"-jar\", \"app.jar\"]\n",
	})
	tag := buildImage(t, "jvmstart", dir)
	tr := newTracer(t)
	a := installAgent(t)
	startJava(t, tr, tag, a)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cov, err := Attach(ctx, tr, a)
	if err != nil {
		t.Fatal(err)
	}
	defer cov.Close()
	if err := tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	sc := cov.ClassScope()
	t.Logf("scope %s", sc)
	if sc.How != "Start-Class" || sc.Detail != "com.acme.app.App in app.jar" || !slices.Equal(sc.Prefixes, []string{"com/acme/app/"}) {
		t.Errorf("scope %+v: want com/acme/app/ from the Start-Class", sc)
	}
	var hit []string
	for _, m := range cov.HitMethods() {
		hit = append(hit, m.Unit())
	}
	if !slices.Contains(hit, "com.acme.app.App.main(String[])") || slices.ContainsFunc(hit, func(u string) bool { return strings.HasPrefix(u, "org.launcher") }) {
		t.Errorf("methods called: %q: want App.main and nothing of the launcher", hit)
	}
}

// writeTree writes files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, s := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildImage builds the Docker context dir as a test image, removed at the
// test's end.
func buildImage(t *testing.T, name, dir string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	tag := "whittle-test/" + name + "-" + hex.EncodeToString(b) + ":latest"
	if out, err := exec.Command("docker", "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("building the test application: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}
