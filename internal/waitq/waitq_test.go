package waitq

import (
	"slices"
	"testing"
)

// values lists q's waiters front to back, checking the back links and the
// length on the way.
func values(t *testing.T, q *Queue[int]) []int {
	t.Helper()
	var got []int
	var prev *Waiter[int]
	for w := q.Front(); w != nil; w = w.next {
		if w.prev != prev {
			t.Fatalf("waiter %d: prev is %p, want %p", w.Value, w.prev, prev)
		}
		got = append(got, w.Value)
		prev = w
	}
	if q.tail != prev {
		t.Fatalf("tail is %p, want the last waiter %p", q.tail, prev)
	}
	if q.Len() != len(got) {
		t.Fatalf("Len() = %d, but %d waiters are linked", q.Len(), len(got))
	}
	return got
}

func TestQueue(t *testing.T) {
	tests := []struct {
		name   string
		remove []int // values taken off with Remove, in this order
		pops   int   // then this many PopFront
		want   []int // what is left of 0..4
		popped []int
	}{
		{name: "fifo", pops: 5, want: nil, popped: []int{0, 1, 2, 3, 4}},
		{name: "remove middle", remove: []int{2}, want: []int{0, 1, 3, 4}},
		{name: "remove head", remove: []int{0}, pops: 1, want: []int{2, 3, 4}, popped: []int{1}},
		{name: "remove tail", remove: []int{4}, want: []int{0, 1, 2, 3}},
		{name: "remove all", remove: []int{3, 0, 4, 1, 2}, want: nil},
		{name: "pop empty", remove: []int{0, 1, 2, 3, 4}, pops: 1, want: nil, popped: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q Queue[int]
			ws := make([]*Waiter[int], 5)
			for i := range ws {
				ws[i] = NewWaiter(i)
				q.PushBack(ws[i])
			}
			if got := values(t, &q); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
				t.Fatalf("after PushBack: got %v", got)
			}
			for _, v := range tt.remove {
				q.Remove(ws[v])
				if ws[v].next != nil || ws[v].prev != nil {
					t.Errorf("removed waiter %d still linked", v)
				}
			}
			var popped []int
			for range tt.pops {
				if w := q.PopFront(); w != nil {
					popped = append(popped, w.Value)
				}
			}
			if got := values(t, &q); !slices.Equal(got, tt.want) {
				t.Errorf("left: got %v, want %v", got, tt.want)
			}
			if !slices.Equal(popped, tt.popped) {
				t.Errorf("popped: got %v, want %v", popped, tt.popped)
			}
			// The queue is still usable: a waiter pushed now comes last.
			w := NewWaiter(9)
			q.PushBack(w)
			if got := values(t, &q); got[len(got)-1] != 9 {
				t.Errorf("after a new PushBack: got %v, want 9 last", got)
			}
		})
	}
}

func TestWaiterGrantAndReset(t *testing.T) {
	var q Queue[string]
	w := NewWaiter("timer")
	q.PushBack(w)
	if w.Granted() {
		t.Fatal("a new waiter is granted")
	}
	select {
	case <-w.Ready():
		t.Fatal("a new waiter's channel has a value")
	default:
	}

	q.PopFront().Grant() // must not block: nobody is receiving
	if !w.Granted() {
		t.Fatal("Granted() = false after Grant")
	}
	select {
	case <-w.Ready():
	default:
		t.Fatal("Grant sent nothing on Ready()")
	}

	w.Reset()
	if w.Granted() {
		t.Fatal("Granted() = true after Reset")
	}
	if w.Value != "timer" {
		t.Errorf("Reset changed Value to %q", w.Value)
	}
	q.PushBack(w) // reused
	q.PopFront().Grant()
	<-w.Ready()
	if q.Len() != 0 || q.Front() != nil {
		t.Errorf("queue not empty: Len %d, Front %p", q.Len(), q.Front())
	}
}

func BenchmarkPushPop(b *testing.B) {
	var q Queue[struct{}]
	ws := make([]*Waiter[struct{}], 8)
	for i := range ws {
		ws[i] = NewWaiter(struct{}{})
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, w := range ws {
			q.PushBack(w)
		}
		q.Remove(ws[3])
		for q.PopFront() != nil {
		}
	}
}
