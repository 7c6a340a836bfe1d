package exporter

import (
	"fmt"
	"sync"
)

// An Entry is one watched policy with what an exporter keeps for it.
type Entry[T any] struct {
	Source
	Data T
}

// A Set is the policies one exporter watches. It is safe for concurrent
// use.
type Set[T any] struct {
	mu   sync.Mutex
	list []Entry[T]
}

// Add adds entries, or none of them if one has the policy kind and name
// of an entry already in s, or of an earlier one in entries: the two would
// report the same series. The error wraps errWatched.
func (s *Set[T]) Add(errWatched error, entries []Entry[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range entries {
		for _, lists := range [2][]Entry[T]{s.list, entries[:i]} {
			for _, e := range lists {
				if e.Desc.Policy == a.Desc.Policy && e.Name == a.Name {
					return fmt.Errorf("%w: %s %q", errWatched, a.Desc.Policy, a.Name)
				}
			}
		}
	}
	s.list = append(s.list, entries...)
	return nil
}

// Remove removes the entries of policies, compared by identity, not name:
// a breaker made again under the name of one that was forgotten is another
// policy. A policy not in s is ignored.
func (s *Set[T]) Remove(policies []any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := make([]Entry[T], 0, len(s.list))
	for _, e := range s.list {
		if !contains(policies, e.Policy) {
			keep = append(keep, e)
		}
	}
	s.list = keep
}

// contains reports whether policies holds p. Values of p's type are
// comparable (Of checks); others never equal it.
func contains(policies []any, p any) bool {
	for _, q := range policies {
		if q == p {
			return true
		}
	}
	return false
}

// List returns the entries now, in the order they were added. The caller
// must not change the slice.
func (s *Set[T]) List() []Entry[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list[:len(s.list):len(s.list)]
}
