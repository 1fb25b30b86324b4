package main

import "testing"

func TestChooseMedia(t *testing.T) {
	offers := []string{"application/json", "text/html", "application/xml"}
	for accept, want := range map[string]string{
		"":                                 "application/json",
		"*/*":                              "application/json",
		"text/*":                           "text/html",
		"text/html;q=0.9, application/xml": "application/xml",
		"text/html;q=0.9, application/json;q=0.8": "text/html",
		"application/*;q=0.5, text/html;q=0.4":    "application/json",
		"image/png":                               "",
		"*/*;q=0.1, application/json;q=0":         "text/html",
	} {
		got, ok := chooseMedia(accept, offers)
		if got != want || ok != (want != "") {
			t.Errorf("chooseMedia(%q) = %q, %v; want %q", accept, got, ok, want)
		}
	}
}

func TestChooseLanguage(t *testing.T) {
	supported := []string{"en", "fr", "fr_CH", "pt_BR", "de"}
	for header, want := range map[string]string{
		"":                          "en",
		"fr-CH, fr;q=0.9, en;q=0.8": "fr_CH",
		"fr-BE":                     "fr",
		"pt-br":                     "pt_BR",
		"ja, de;q=0.5":              "de",
		"ja":                        "en",
		"*":                         "en",
		"de;q=0, fr;q=0.1":          "fr",
	} {
		if got := chooseLanguage(header, supported, "en"); got != want {
			t.Errorf("chooseLanguage(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestChooseCoding(t *testing.T) {
	have := map[string]bool{".gz": true, ".br": true}
	exists := func(ext string) bool { return have[ext] }
	for header, want := range map[string]string{
		"":                             "identity",
		"gzip":                         "gzip",
		"gzip, br":                     "br",
		"zstd":                         "identity",
		"br;q=0.5, gzip":               "gzip",
		"*":                            "br",
		"identity;q=0, zstd":           "",
		"identity;q=0, deflate, *;q=0": "",
	} {
		got, _, ok := chooseCoding(header, exists)
		if got != want || ok != (want != "") {
			t.Errorf("chooseCoding(%q) = %q, %v; want %q", header, got, ok, want)
		}
	}
}
