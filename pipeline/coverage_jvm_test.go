package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/internal/testimage"
)

// notJavaServer is a Go service in an image whose configuration looks like
// a JVM's (JAVA_HOME set, as images with a JDK for their tools are).
const notJavaServer = `package main

import "net/http"

const spec = ` + "`" + `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/hello":{"get":{"responses":{"200":{"description":"ok"}}}}}}` + "`" + `

func main() {
	http.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(spec)) })
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
	http.ListenAndServe(":8080", nil)
}
`

// An image that claims a JVM but runs none: the agent answers nothing, the
// run covers the target's own code instead, and no later container gets
// the agent.
func TestJVMImageRunningNoJVM(t *testing.T) {
	cli := testimage.RequireDocker(t)
	img := testimage.GoProgram(t, cli, "whittle-test/not-java:1", notJavaServer, nil,
		`ENTRYPOINT ["/app"]`, `EXPOSE 8080`, `ENV JAVA_HOME=/usr/lib/jvm/default-java`)
	const tag = "whittle-test/not-java:min"
	t.Cleanup(func() { removeImage(tag) })
	rep, logs := runPipelineLogged(t, Config{Image: img, Seed: 1, Duration: 3 * time.Second, Tag: tag})
	for _, want := range []string{"jvm: the image sets JAVA_HOME: method coverage through whittle's agent", "but the target runs no JVM"} {
		if logged(logs, want) == "" {
			t.Errorf("no log line says %q", want)
		}
	}
	if !strings.HasPrefix(rep.Trace.Coverage, "native-functions") {
		t.Errorf("coverage %q: want the Go program's functions", rep.Trace.Coverage)
	}
}

// A JVM that a script starts, in an image whose configuration shows none:
// the first container runs without the agent, the libjvm.so it loads shows
// the JVM, and the target is started again with the agent and covered.
func TestJVMStartedByScript(t *testing.T) {
	requireFixture(t, jvmshopImage)
	dir := t.TempDir()
	files := map[string]string{
		"start": "#!/bin/sh\nexec java -Dsun.net.httpserver.nodelay=true -jar /app/jvmshop.jar\n",
		// The fixture runs as a user of its own: COPY keeps the host file's mode.
		"Dockerfile": "FROM " + jvmshopImage + "\nCOPY start /usr/local/bin/start-shop\n" +
			`CMD ["/usr/local/bin/start-shop"]` + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	img := "whittle-test/jvm-script-" + hex.EncodeToString(b) + ":latest"
	if out, err := exec.Command("docker", "build", "-q", "-t", img, dir).CombinedOutput(); err != nil {
		t.Fatalf("building the test image: %v\n%s", err, out)
	}
	t.Cleanup(func() { removeImage(img) })
	tag := strings.TrimSuffix(img, ":latest") + ":min"
	t.Cleanup(func() { removeImage(tag) })
	rep, logs := runPipelineLogged(t, Config{Image: img, Seed: 1, Duration: 20 * time.Second, Tag: tag})
	for _, want := range []string{"jvm: the container loaded /usr/lib/jvm/", "started without whittle's agent", "restarting the target"} {
		if logged(logs, want) == "" {
			t.Errorf("no log line says %q", want)
		}
	}
	if logged(logs, "the command runs java") != "" {
		t.Error("the image's configuration was taken for a JVM's: the test shows nothing")
	}
	if !strings.HasPrefix(rep.Trace.Coverage, "jvm-methods via JVMTI breakpoints") || rep.Trace.Functions == 0 {
		t.Errorf("coverage %q, %d methods called: want JVM method coverage after the restart", rep.Trace.Coverage, rep.Trace.Functions)
	}
	if sc := rep.Trace.CoverageScope; sc == nil || sc.Root != "com.example.jvmshop" {
		t.Errorf("scope %+v: want com.example.jvmshop", sc)
	}
	// Live: the restarted container's methods reach the fuzzer.
	if cc := rep.Trace.CodeCoverage; cc == nil || cc.FunctionsByRequests == 0 {
		t.Errorf("code coverage %+v: want methods found by the fuzzer's requests", cc)
	} else {
		t.Logf("%d requests; methods: %d at start-up, %d by requests, %d in scope", rep.Fuzz.Requests, cc.FunctionsAtStartup, cc.FunctionsByRequests, cc.FunctionsTotal)
	}
}
