package tracer

// fileSet is a set of unique accesses with their first-seen order.
type fileSet struct {
	files map[fileKey]*FileAccess
	order []*FileAccess // first-seen order, append-only
}

func (s *fileSet) add(fa FileAccess) {
	k := fileKey{fa.Path, fa.Kind, fa.Errno}
	if e := s.files[k]; e != nil {
		e.Count += max(fa.Count, 1)
		return
	}
	if s.files == nil {
		s.files = map[fileKey]*FileAccess{}
	}
	fa.Count = max(fa.Count, 1)
	e := &fa
	s.files[k] = e
	s.order = append(s.order, e)
}
