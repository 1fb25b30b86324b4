package probe

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckAPIVersion(t *testing.T) {
	tests := []struct {
		forced, engine string
		want           string // "" for no error
	}{
		{"", "1.41", ""},
		{"", "1.40", ""},
		{"", "", ""}, // an engine that does not say: let the calls tell
		{"", "1.39", "the engine at unix:///x speaks API 1.39; whittle needs 1.40 or newer (fix: upgrade Docker"},
		{"1.41", "1.41", ""},
		{"1.40", "1.41", ""},
		{"1.12", "1.41", "DOCKER_API_VERSION=1.12 is older than whittle needs (1.40 or newer) (fix: unset DOCKER_API_VERSION"},
		{"1.99", "1.41", "DOCKER_API_VERSION=1.99 is newer than the engine at unix:///x speaks (1.41) (fix: unset DOCKER_API_VERSION"},
		{"abc", "1.41", `DOCKER_API_VERSION="abc" is not an API version`},
		{"1.41.2", "1.41", `DOCKER_API_VERSION="1.41.2" is not an API version`},
	}
	for _, tt := range tests {
		err := checkAPIVersion(tt.forced, tt.engine, "unix:///x")
		if tt.want == "" {
			if err != nil {
				t.Errorf("forced %q engine %q: %v", tt.forced, tt.engine, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrEngineAPI) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("forced %q engine %q: got %v, want ErrEngineAPI with %q", tt.forced, tt.engine, err, tt.want)
		}
	}
}
