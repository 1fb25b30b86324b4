package adopt

// standard opens an adoption that completes after the checks and a home visit.
func standard(p Pet, req Request) (Result, error) {
	return Result{
		Status:      "pending",
		Fee:         baseFee(p.Species) + vaccinationFee(p),
		Checks:      standardChecks(p, req),
		VisitInDays: visitInDays(req.Adopter.HomeType),
	}, nil
}

//go:noinline
func standardChecks(p Pet, req Request) []string {
	checks := []string{"identity", "references"}
	if req.Adopter.HomeType == "apartment" && p.Species == "dog" {
		checks = append(checks, "landlordApproval")
	}
	if req.HasOtherPets {
		checks = append(checks, "compatibility")
	}
	if p.Species == "bird" || p.Species == "fish" {
		checks = append(checks, "habitatInspection")
	}
	return checks
}

//go:noinline
func visitInDays(homeType string) int {
	switch homeType {
	case "farm":
		return 14
	case "house":
		return 7
	default:
		return 3
	}
}

// vaccinationFee covers the first vaccinations of puppies and kittens.
//
//go:noinline
func vaccinationFee(p Pet) float64 {
	if p.Age < 1 && (p.Species == "dog" || p.Species == "cat") {
		return 40
	}
	return 0
}
