package pipeline

import (
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
