package control

// IndexSlot returns where a status path holds the number of a listed item,
// the schema's [N] ("Call Receive 2 Fps" gives 2: Receive's second item),
// or -1 when it holds none. Renderers that list items as arrays, as Cisco's
// JSON does, use it; [Name] slots (hardware roles) are not numbers and are
// not reported.
func IndexSlot(p Path) int {
	for _, s := range vocab.Status {
		if len(s.Path) < len(p) {
			continue
		}
		for i, e := range s.Path[:len(p)] {
			if e == anyIndex {
				if _, ok := matchPattern(s.Path, p); ok {
					return i
				}
				break
			}
		}
	}
	return -1
}
