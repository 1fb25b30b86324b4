package covdata

import "sort"

// Difference is what one run reached and another did not.
type Difference struct {
	// OnlyA are functions hit in A and not in B (missing from B, or never
	// hit there); OnlyB the reverse. Sorted by package, file and line.
	OnlyA, OnlyB []Function
	// Packages compares the package summaries: hit in A and in B.
	Packages []PackageDelta
}

// PackageDelta is one package's hit functions in two runs.
type PackageDelta struct {
	Package   string `json:"package"`
	Functions int    `json:"functions"` // in scope, the larger of the two
	HitA      int    `json:"hit_a"`
	HitB      int    `json:"hit_b"`
}

// Diff compares two runs' coverage by function key (file, name, line).
func Diff(a, b *Coverage) Difference {
	var d Difference
	hitIn := func(c *Coverage) map[string]bool {
		m := map[string]bool{}
		for i := range c.Functions {
			if c.Functions[i].State.Hit() {
				m[c.Functions[i].Key()] = true
			}
		}
		return m
	}
	ha, hb := hitIn(a), hitIn(b)
	for _, f := range a.Functions {
		if f.State.Hit() && !hb[f.Key()] {
			d.OnlyA = append(d.OnlyA, f)
		}
	}
	for _, f := range b.Functions {
		if f.State.Hit() && !ha[f.Key()] {
			d.OnlyB = append(d.OnlyB, f)
		}
	}
	sortByPackage(d.OnlyA)
	sortByPackage(d.OnlyB)
	pa, pb := summaries(a), summaries(b)
	by := map[string]*PackageDelta{}
	for _, p := range pa {
		by[p.Package] = &PackageDelta{Package: p.Package, Functions: p.Functions, HitA: p.Hit}
	}
	for _, p := range pb {
		x := by[p.Package]
		if x == nil {
			x = &PackageDelta{Package: p.Package}
			by[p.Package] = x
		}
		x.Functions, x.HitB = max(x.Functions, p.Functions), p.Hit
	}
	for _, x := range by {
		d.Packages = append(d.Packages, *x)
	}
	sort.Slice(d.Packages, func(i, j int) bool { return d.Packages[i].Package < d.Packages[j].Package })
	return d
}

func summaries(c *Coverage) []PackageSummary {
	if c.Packages != nil {
		return c.Packages
	}
	return Summaries(c.Functions)
}

func sortByPackage(fns []Function) {
	sort.SliceStable(fns, func(i, j int) bool {
		a, b := &fns[i], &fns[j]
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}
