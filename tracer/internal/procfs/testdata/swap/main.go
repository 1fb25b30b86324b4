// Command swap is a hostile container's process: it swaps /probe, as fast
// as it can, between a directory and an absolute symbolic link to
// $SWAP_TO, a path that on the host holds what the container must never
// make whittle read. Inside the container $SWAP_TO holds a file of its own.
package main

import (
	"os"
	"path/filepath"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	to := os.Getenv("SWAP_TO")
	must(os.MkdirAll(to, 0o755))
	must(os.WriteFile(filepath.Join(to, "secret"), []byte("link-in-container"), 0o644))
	must(os.MkdirAll("/real", 0o755))
	must(os.WriteFile("/real/secret", []byte("dir-in-container"), 0o644))
	must(os.Symlink(to, "/linkform"))
	must(os.WriteFile("/ready", nil, 0o644))
	for {
		_ = os.Rename("/real", "/probe")
		_ = os.Rename("/probe", "/real")
		_ = os.Rename("/linkform", "/probe")
		_ = os.Rename("/probe", "/linkform")
	}
}
