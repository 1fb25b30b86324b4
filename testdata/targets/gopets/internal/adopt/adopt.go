// Package adopt decides pet adoptions. Each mode has its own function and helpers, so
// requests that differ only in their values run clearly different code.
//
// The small helpers are marked go:noinline: in a service this size the compiler would
// inline them, and function-level coverage (uprobes on function entries) would then not
// tell the paths apart. That is a property of the fixture, not advice.
package adopt

import (
	"errors"
	"fmt"
	"net/mail"
	"unicode/utf8"
)

var (
	// ErrInvalid wraps errors in the request itself (answered 400).
	ErrInvalid = errors.New("invalid adoption request")
	// ErrNotEligible wraps refusals for this pet or adopter (answered 422).
	ErrNotEligible = errors.New("not eligible")
)

// Pet is what adoption needs to know about a pet.
type Pet struct {
	ID      int64
	Species string
	Age     int
}

// Adopter is the person adopting or fostering.
type Adopter struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	HomeType string `json:"homeType"`
}

// Request is the body of POST /pets/{petId}/adopt.
type Request struct {
	Mode          string   `json:"mode"`
	Adopter       *Adopter `json:"adopter"`
	HasOtherPets  bool     `json:"hasOtherPets"`
	DurationWeeks *int     `json:"durationWeeks"`
}

// Result is the answer of a successful adoption.
type Result struct {
	PetID        int64    `json:"petId"`
	Mode         string   `json:"mode"`
	Status       string   `json:"status"`
	Fee          float64  `json:"fee"`
	Checks       []string `json:"checks"`
	AdopterName  string   `json:"adopterName"`
	VisitInDays  int      `json:"visitInDays,omitempty"`
	FosterFamily string   `json:"fosterFamily,omitempty"`
	FosterWeeks  int      `json:"fosterWeeks,omitempty"`

	// Placement is set for foster care; the caller keeps it with the pet.
	Placement *Placement `json:"-"`
}

// Validate checks the request against the documented schema.
func Validate(req Request) error {
	switch req.Mode {
	case "express", "standard", "foster":
	case "":
		return fmt.Errorf("%w: mode is required", ErrInvalid)
	default:
		return fmt.Errorf("%w: mode must be express, standard or foster", ErrInvalid)
	}
	if req.Adopter == nil {
		return fmt.Errorf("%w: adopter is required", ErrInvalid)
	}
	if n := utf8.RuneCountInString(req.Adopter.Name); n < 1 || n > 60 {
		return fmt.Errorf("%w: adopter.name must be 1 to 60 characters", ErrInvalid)
	}
	if a, err := mail.ParseAddress(req.Adopter.Email); err != nil || a.Address != req.Adopter.Email {
		return fmt.Errorf("%w: adopter.email must be an e-mail address", ErrInvalid)
	}
	switch req.Adopter.HomeType {
	case "apartment", "house", "farm":
	default:
		return fmt.Errorf("%w: adopter.homeType must be apartment, house or farm", ErrInvalid)
	}
	if w := req.DurationWeeks; w != nil && (*w < 1 || *w > 52) {
		return fmt.Errorf("%w: durationWeeks must be between 1 and 52", ErrInvalid)
	}
	return nil
}

// Process decides an adoption of p; req must have passed Validate.
func Process(p Pet, req Request) (Result, error) {
	var (
		res Result
		err error
	)
	switch req.Mode {
	case "express":
		res, err = express(p, req)
	case "standard":
		res, err = standard(p, req)
	case "foster":
		res, err = foster(p, req)
	default:
		return Result{}, fmt.Errorf("%w: unknown mode %q", ErrInvalid, req.Mode)
	}
	if err != nil {
		return Result{}, err
	}
	res.PetID, res.Mode, res.AdopterName = p.ID, req.Mode, req.Adopter.Name
	return res, nil
}

// baseFee is the adoption fee before mode-specific adjustments.
//
//go:noinline
func baseFee(species string) float64 {
	switch species {
	case "dog":
		return 150
	case "cat":
		return 120
	case "bird":
		return 60
	default:
		return 15
	}
}
