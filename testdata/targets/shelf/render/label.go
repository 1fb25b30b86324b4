// Package render draws an item's shelf label in the format a request asks for.
package render

import (
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/acme/shelf/store"
)

// Currency says how to print an amount.
type Currency struct {
	Symbol   string `json:"symbol"`
	Decimals int    `json:"decimals"`
	Before   bool   `json:"before"`
}

// Formats are the label formats and their media types.
var Formats = map[string]string{
	"text": "text/plain; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
	"html": "text/html; charset=utf-8",
	"json": "application/json",
}

// Label renders it in format ("text", "csv", "html" or "json").
func Label(it store.Item, format string, cur Currency) ([]byte, error) {
	price := Price(it.Price, cur)
	switch format {
	case "text":
		return labelText(it, price), nil
	case "csv":
		return labelCSV(it, price), nil
	case "html":
		return labelHTML(it, price), nil
	case "json":
		return labelJSON(it, price)
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// Price prints an amount in a currency's smallest unit.
func Price(amount int64, cur Currency) string {
	s := strconv.FormatInt(amount, 10)
	if cur.Decimals > 0 {
		for len(s) <= cur.Decimals {
			s = "0" + s
		}
		s = s[:len(s)-cur.Decimals] + "." + s[len(s)-cur.Decimals:]
	}
	if cur.Before {
		return cur.Symbol + s
	}
	return s + " " + cur.Symbol
}

func labelText(it store.Item, price string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", it.Name, strings.Repeat("=", len([]rune(it.Name))))
	fmt.Fprintf(&b, "price: %s\n", price)
	if len(it.Tags) > 0 {
		fmt.Fprintf(&b, "tags:  %s\n", strings.Join(it.Tags, ", "))
	}
	return []byte(b.String())
}

func labelCSV(it store.Item, price string) []byte {
	field := func(s string) string {
		if strings.ContainsAny(s, "\",\n") {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	return []byte(fmt.Sprintf("id,name,price,tags\n%d,%s,%s,%s\n", it.ID, field(it.Name), field(price), field(strings.Join(it.Tags, " "))))
}

func labelHTML(it store.Item, price string) []byte {
	return []byte(fmt.Sprintf("<div class=\"label\" id=\"item-%d\"><h1>%s</h1><p class=\"price\">%s</p></div>\n",
		it.ID, html.EscapeString(it.Name), html.EscapeString(price)))
}

func labelJSON(it store.Item, price string) ([]byte, error) {
	return json.Marshal(map[string]any{"id": it.ID, "name": it.Name, "price": price, "tags": it.Tags})
}
