package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCompose(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "compose.yaml")
}

const shopCompose = `
name: shop
x-db-env: &dbenv
  DATABASE_URL: postgresql://shop:${DB_PASSWORD}@db/shop
services:
  db:
    image: example/pg:15
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    volumes: [pgdata:/var/lib/postgresql/data]
    healthcheck:
      test: ["CMD", "pg_isready"]
      interval: 2s
      retries: 5
    ports: ["5432:5432"]
    restart: always
  cache:
    image: example/cache:1
    profiles: [full]
  migrate:
    extends: {file: base.yaml, service: tool}
    command: migrate --up
    environment: *dbenv
    depends_on:
      db: {condition: service_healthy}
  api:
    image: example/api:${API_TAG:-latest}
    environment:
      <<: *dbenv
      MODE: test
    env_file: api.env
    entrypoint: ["/app/api"]
    command: serve --port 8000
    user: "1000"
    working_dir: /app
    volumes:
      - ./conf:/etc/api:ro
      - uploads:/srv/uploads
      - type: tmpfs
        target: /tmp/cache
    networks:
      default: {aliases: [shop-api]}
    ports: ["127.0.0.1:9000:8000"]
    links: ["db:database"]
    depends_on:
      migrate: {condition: service_completed_successfully}
      db: {condition: service_healthy}
      cache: {condition: service_started, required: false}
volumes:
  pgdata: {}
  uploads: {}
`

func TestLoad(t *testing.T) {
	file := writeCompose(t, map[string]string{
		"compose.yaml": shopCompose,
		".env":         "DB_PASSWORD=from-dotenv\nAPI_TAG=7\n",
		"api.env":      "FEATURE=on\n",
		"base.yaml":    "services:\n  tool:\n    image: example/api:7\n    user: tool\n",
		"conf/x":       "",
	})
	p, err := Load(context.Background(), file, "api")
	if err != nil {
		t.Fatal(err)
	}
	api := p.Target
	if api.Image != "example/api:7" || api.Port != 8000 || api.Run.User != "1000" || api.Run.WorkingDir != "/app" ||
		strings.Join(api.Run.Entrypoint, " ") != "/app/api" || strings.Join(api.Run.Cmd, " ") != "serve --port 8000" {
		t.Fatalf("target %+v", api)
	}
	if got := strings.Join(api.Run.Env, " "); got != "DATABASE_URL=postgresql://shop:from-dotenv@db/shop FEATURE=on MODE=test" {
		t.Errorf("env %q", got)
	}
	if len(api.Run.Mounts) != 3 || api.Run.Mounts[0].Source != filepath.Join(filepath.Dir(file), "conf") || !api.Run.Mounts[0].ReadOnly ||
		!api.Run.Mounts[1].Volume || api.Run.Mounts[1].Source != "uploads" || !api.Run.Mounts[2].Tmpfs {
		t.Errorf("mounts %+v", api.Run.Mounts)
	}
	if strings.Join(api.Aliases, ",") != "api,shop-api" {
		t.Errorf("aliases %v", api.Aliases)
	}
	var names []string
	for _, d := range p.Deps {
		names = append(names, d.Name)
	}
	// cache is in a profile: naming no profile still makes it available.
	if strings.Join(names, ",") != "cache,db,migrate" {
		t.Errorf("dependencies in start order: %v", names)
	}
	db := p.Deps[1]
	if db.Health == nil || db.Health.Retries != 5 || db.Health.Interval.Seconds() != 2 || strings.Join(db.Aliases, ",") != "database,db" {
		t.Errorf("db %+v", db)
	}
	mig := p.Deps[2]
	if mig.Image != "example/api:7" || mig.Run.User != "tool" || strings.Join(mig.Run.Cmd, " ") != "migrate --up" {
		t.Errorf("extends: migrate %+v", mig)
	}
	if len(api.DependsOn) != 3 || api.DependsOn[2] != (Dependency{Service: "migrate", Condition: ServiceCompleted, Required: true}) {
		t.Errorf("depends_on %+v", api.DependsOn)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "restart always") {
		t.Errorf("warnings %q", p.Warnings)
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, file, service string
		want                error
		words               []string
	}{
		{"does not parse", "services:\n  api: [\n", "api", ErrBadFile, []string{"compose.yaml"}},
		{"unknown key", "services:\n  api:\n    image: x\n    imagee: y\n", "api", ErrBadFile, []string{"imagee"}},
		{"no such service", "services:\n  api: {image: x}\n  db: {image: y}\n", "web", ErrNoService, []string{`"web"`, "api, db"}},
		{"no image", "services:\n  api:\n    build: .\n", "api", ErrNoImage, []string{"api"}},
		{"privileged companion", "services:\n  api:\n    image: x\n    depends_on: [db]\n  db:\n    image: y\n    privileged: true\n", "api", ErrWidens, []string{"db", "privileged"}},
		{"host network", "services:\n  api:\n    image: x\n    network_mode: host\n", "api", ErrWidens, []string{"network_mode host"}},
		{"cycle", "services:\n  api:\n    image: x\n    depends_on: [a]\n  a:\n    image: y\n    depends_on: [b]\n  b:\n    image: y\n    depends_on: [a]\n", "api", ErrBadFile, []string{"cycle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeCompose(t, map[string]string{"compose.yaml": tc.file})
			_, err := Load(context.Background(), file, tc.service)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(shopCompose, "api")
	f.Add("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: y}\n", "a")
	f.Fuzz(func(t *testing.T, content, service string) {
		file := writeCompose(t, map[string]string{"compose.yaml": content})
		p, err := Load(context.Background(), file, service)
		if err != nil {
			return
		}
		if p.Target.Name != service || p.Target.Image == "" {
			t.Fatalf("loaded target %+v for service %q", p.Target, service)
		}
		for _, d := range p.Deps {
			if d.Image == "" || d.Name == service {
				t.Fatalf("dependency %+v", d)
			}
		}
	})
}
