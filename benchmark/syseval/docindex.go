package syseval

import "hash/maphash"

// Document lookups are the hot path of Evaluate (10M of them for 100
// systems × 1,000 queries × 100 documents). Each retrieved document is
// hashed once; the hash serves both the query's grade table and the
// duplicate check, two small open-addressing tables that replace two Go
// map operations per document.

// gradeTable maps a query's judged documents to their grades.
type gradeTable struct {
	docs   []string
	grades []int
	slots  []int32 // index+1 into docs; 0 is empty
	mask   uint64
}

func newGradeTable(grades map[string]int, seed maphash.Seed) gradeTable {
	size := tableSize(len(grades))
	t := gradeTable{
		docs:   make([]string, 0, len(grades)),
		grades: make([]int, 0, len(grades)),
		slots:  make([]int32, size),
		mask:   uint64(size - 1),
	}
	for d, g := range grades {
		t.docs = append(t.docs, d)
		t.grades = append(t.grades, g)
		for pos := maphash.String(seed, d) & t.mask; ; pos = (pos + 1) & t.mask {
			if t.slots[pos] == 0 {
				t.slots[pos] = int32(len(t.docs))
				break
			}
		}
	}
	return t
}

// lookup returns doc's grade, given its hash h.
func (t *gradeTable) lookup(doc string, h uint64) (int, bool) {
	for pos := h & t.mask; ; pos = (pos + 1) & t.mask {
		i := t.slots[pos]
		if i == 0 {
			return 0, false
		}
		if t.docs[i-1] == doc {
			return t.grades[i-1], true
		}
	}
}

// seenSet finds documents retrieved twice in one query. Slots are stamped
// with a generation, so starting a new query costs nothing.
type seenSet struct {
	stamp []uint32
	doc   []string
	gen   uint32
	mask  uint64
}

// reset empties the set for up to n documents.
func (s *seenSet) reset(n int) {
	if size := tableSize(n); size > len(s.stamp) {
		s.stamp, s.doc, s.gen = make([]uint32, size), make([]string, size), 0
		s.mask = uint64(size - 1)
	}
	s.gen++
	if s.gen == 0 { // wrapped: old stamps could collide
		clear(s.stamp)
		s.gen = 1
	}
}

// add records doc (hash h) and reports whether it was there already.
func (s *seenSet) add(doc string, h uint64) bool {
	for pos := h & s.mask; ; pos = (pos + 1) & s.mask {
		if s.stamp[pos] != s.gen {
			s.stamp[pos], s.doc[pos] = s.gen, doc
			return false
		}
		if s.doc[pos] == doc {
			return true
		}
	}
}

// tableSize is a power of two at least twice n (load <= 1/2), at least 8.
func tableSize(n int) int {
	size := 8
	for size < 2*n {
		size *= 2
	}
	return size
}
