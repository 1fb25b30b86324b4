package main

/*
#cgo LDFLAGS: -lm
#include <math.h>
*/
import "C"

import "math"

// humanYears converts a pet's age into "human years". Dogs use the logarithmic formula of
// Wang et al. (2020), 16·ln(age)+31, computed by the C library's log().
func humanYears(species string, age int) float64 {
	if age <= 0 {
		return 0
	}
	var y float64
	switch species {
	case "dog":
		y = 16*float64(C.log(C.double(age))) + 31
	case "cat":
		y = 15 + 9*math.Min(float64(age-1), 1) + 4*math.Max(float64(age-2), 0)
	case "bird":
		y = float64(age) * 5
	default:
		y = float64(age) * 8
	}
	return math.Round(y)
}
