package adopt

import "fmt"

// Family is a foster family of the shelter.
type Family struct {
	Name     string
	Species  []string
	MaxWeeks int
	Rural    bool
}

// Placement is a pet's stay with a foster family.
type Placement struct {
	Family *Family
	Weeks  int
}

var families = []*Family{
	{Name: "Okafor", Species: []string{"dog"}, MaxWeeks: 8},
	{Name: "Lindqvist", Species: []string{"cat"}, MaxWeeks: 12},
	{Name: "Moreau", Species: []string{"dog", "cat"}, MaxWeeks: 26, Rural: true},
	{Name: "Tanaka", Species: []string{"dog", "cat"}, MaxWeeks: 52},
}

const defaultFosterWeeks = 4

// foster places a pet with a foster family; only dogs and cats up to 12 years qualify.
func foster(p Pet, req Request) (Result, error) {
	if err := fosterEligible(p); err != nil {
		return Result{}, err
	}
	weeks := defaultFosterWeeks
	if req.DurationWeeks != nil {
		weeks = *req.DurationWeeks
	}
	fam := pickFamily(p.Species, req.Adopter.HomeType == "farm", weeks)
	if fam == nil {
		return Result{}, fmt.Errorf("%w: no foster family for %d weeks", ErrNotEligible, weeks)
	}
	return Result{
		Status:       "fostering",
		Fee:          0,
		Checks:       fosterChecks(req),
		FosterFamily: fam.Name,
		FosterWeeks:  weeks,
		Placement:    &Placement{Family: fam, Weeks: weeks},
	}, nil
}

func fosterEligible(p Pet) error {
	if p.Species != "dog" && p.Species != "cat" {
		return fmt.Errorf("%w: only dogs and cats go to foster care", ErrNotEligible)
	}
	if p.Age > 12 {
		return fmt.Errorf("%w: pets over 12 years stay at the shelter", ErrNotEligible)
	}
	return nil
}

// pickFamily returns the first family that takes the species for that long, preferring a
// rural family when the request comes from a farm.
//
//go:noinline
func pickFamily(species string, rural bool, weeks int) *Family {
	var fallback *Family
	for _, f := range families {
		if weeks > f.MaxWeeks || !takes(f, species) {
			continue
		}
		if f.Rural == rural {
			return f
		}
		if fallback == nil {
			fallback = f
		}
	}
	return fallback
}

//go:noinline
func takes(f *Family, species string) bool {
	for _, s := range f.Species {
		if s == species {
			return true
		}
	}
	return false
}

//go:noinline
func fosterChecks(req Request) []string {
	checks := []string{"identity", "fosterTraining"}
	if req.HasOtherPets {
		checks = append(checks, "compatibility")
	}
	return checks
}
