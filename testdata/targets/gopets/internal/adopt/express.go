package adopt

import (
	"fmt"
	"math"
)

// express completes an adoption on the spot: identity check only, no home visit.
func express(p Pet, req Request) (Result, error) {
	if err := expressEligible(p, req); err != nil {
		return Result{}, err
	}
	return Result{
		Status: "completed",
		Fee:    expressFee(p),
		Checks: []string{"identity"},
	}, nil
}

func expressEligible(p Pet, req Request) error {
	if p.Age < 1 {
		return fmt.Errorf("%w: pets under one year need a standard adoption", ErrNotEligible)
	}
	if p.Species == "bird" && req.HasOtherPets {
		return fmt.Errorf("%w: birds go to homes with other pets only after a standard adoption", ErrNotEligible)
	}
	return nil
}

func expressFee(p Pet) float64 {
	fee := baseFee(p.Species) * 1.2 // express surcharge
	if p.Age >= 10 {
		fee = seniorDiscount(fee)
	}
	return math.Round(fee*100) / 100
}

//go:noinline
func seniorDiscount(fee float64) float64 { return fee * 0.5 }
