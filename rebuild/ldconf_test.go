package rebuild

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLdSoConf(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             LdSoConf
	}{
		{"debian", "/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n\n",
			LdSoConf{Includes: []string{"/etc/ld.so.conf.d/*.conf"}}},
		{"dirs and comments", "/etc/ld.so.conf.d/x.conf",
			"# libc default configuration\n/usr/local/lib\n  /usr/lib/x86_64-linux-gnu  # multiarch\n/opt/a:/opt/b,/opt/c\t/opt/d\n",
			LdSoConf{Dirs: []string{"/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/opt/a", "/opt/b", "/opt/c", "/opt/d"}}},
		{"relative include", "/etc/ld.so.conf", "include ld.so.conf.d/*.conf other.conf\n",
			LdSoConf{Includes: []string{"/etc/ld.so.conf.d/*.conf", "/etc/other.conf"}}},
		{"hwcap and types", "/etc/ld.so.conf", "hwcap 0 nosegneg\nHWCAP 1 x\n/usr/lib/libc5=libc5\nrelative/dir\n/opt//x/../y/\n",
			LdSoConf{Dirs: []string{"/usr/lib/libc5", "/opt/y"}}},
		{"include needs a blank", "/etc/ld.so.conf", "includes\n/includedir\n",
			LdSoConf{Dirs: []string{"/includedir"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseLdSoConf([]byte(tt.data), tt.file)
			got.Order = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLdSoConfDirs(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n/top\ninclude /etc/ld.so.conf\n", 0o644)
	writeFile(t, root, "etc/ld.so.conf.d/b.conf", "/b\n/top\n", 0o644)
	writeFile(t, root, "etc/ld.so.conf.d/a.conf", "/a\ninclude ../more.conf\n", 0o644)
	writeFile(t, root, "etc/ld.so.conf.d/ignored.txt", "/ignored\n", 0o644)
	writeFile(t, root, "etc/more.conf", "/more\n", 0o644)
	symlink(t, root, "etc/ld.so.conf.d/c.conf", "/etc/linked.conf")
	writeFile(t, root, "etc/linked.conf", "/linked\n", 0o644)
	f := openDir(t, root)
	got := f.LdSoConfDirs("/etc/ld.so.conf")
	want := []string{"/a", "/more", "/b", "/top", "/linked"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dirs = %q, want %q", got, want)
	}
}

func FuzzParseLdSoConf(f *testing.F) {
	f.Add([]byte("include /etc/ld.so.conf.d/*.conf\n/usr/lib\n# c\nhwcap 1 x\n/a:/b,/c=libc6\n"), "/etc/ld.so.conf")
	f.Add([]byte("include\tx y\n"), "rel")
	f.Fuzz(func(t *testing.T, data []byte, file string) {
		c := ParseLdSoConf(data, file)
		for _, d := range c.Dirs {
			if !strings.HasPrefix(d, "/") {
				t.Fatalf("relative directory %q", d)
			}
		}
		for _, i := range c.Includes {
			if !strings.HasPrefix(i, "/") {
				t.Fatalf("relative include %q", i)
			}
		}
	})
}
