package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// config is read once at start-up from the file named by -config.
type config struct {
	Listen       string `json:"listen"`
	TemplatesDir string `json:"templatesDir"`
	BreedsDir    string `json:"breedsDir"`
	MaxPets      int    `json:"maxPets"`
	AccessLog    bool   `json:"accessLog"`
	// CompactOnStart is never set by the image's config: compactStore is
	// code no request can reach (coverage exports show it never hit).
	CompactOnStart bool `json:"compactOnStart"`
}

func loadConfig(path string) (config, error) {
	cfg := config{
		Listen:       ":8080",
		TemplatesDir: "/usr/share/gopets/templates",
		BreedsDir:    "/usr/share/gopets/breeds",
		MaxPets:      10000,
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("parsing config %s: %w", path, err)
	}
	if cfg.MaxPets <= 0 {
		return cfg, fmt.Errorf("config %s: maxPets must be positive", path)
	}
	return cfg, nil
}
