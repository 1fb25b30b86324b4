package fuzz

import (
	"testing"

	"github.com/whittle-dev/whittle/fuzz/links"
)

func TestPlanOrder(t *testing.T) {
	s := loadPets(t)
	order := planOrder(s, links.Infer(s))
	if order[0].ID != "POST /login" && order[0].ID != "POST /pets" {
		t.Errorf("plan starts with %s", order[0].ID)
	}
	if last := order[len(order)-1]; last.Method != "DELETE" {
		t.Errorf("plan ends with %s", last.ID)
	}
}
