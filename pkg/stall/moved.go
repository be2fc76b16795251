package stall

// Sum returns a counter that adds the given counters; nil ones are skipped.
func Sum(counters ...func() int64) func() int64 {
	var cs []func() int64
	for _, c := range counters {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return func() int64 {
		var v int64
		for _, c := range cs {
			v += c()
		}
		return v
	}
}
