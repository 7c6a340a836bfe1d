package recovery

import "context"

// A Task is a goroutine started by [Go]. Its methods are safe for
// concurrent use.
type Task struct {
	done chan struct{}
	err  error
}

// Go runs fn in a new goroutine whose panic does not end the process: it is
// recovered, reported to the package default [Reporter] and becomes the
// task's error, a *[PanicError]. If fn calls runtime.Goexit, the error is
// [ErrGoexit].
//
//	t := recovery.Go(func() error { return work(ctx) })
//	...
//	if err := t.Wait(); err != nil { ... }
func Go(fn func() error) *Task { return Default().Go(fn) }

// Go is the package-level [Go], reporting a panic to r.
func (r *Reporter) Go(fn func() error) *Task {
	t := &Task{done: make(chan struct{})}
	go func() {
		defer close(t.done)
		r.run(fn, &t.err)
	}()
	return t
}

// Wait waits for the task's function to end and returns its error, the
// *PanicError of its panic, or ErrGoexit.
func (t *Task) Wait() error {
	<-t.done
	return t.err
}

// Done returns a channel that is closed when the task has ended, for use in
// a select; Wait then returns at once.
func (t *Task) Done() <-chan struct{} { return t.done }

// run calls fn on the current goroutine and stores in *errp its error, or
// the *PanicError of its panic, or ErrGoexit if it called runtime.Goexit.
// Because Goexit unwinds past run's caller, *errp is set by a deferred call
// and the caller must read it in a deferred call too (or after a channel
// closed by one).
func (r *Reporter) run(fn func() error, errp *error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if p := recover(); p != nil {
			pe := newPanicError(p)
			r.report(context.Background(), pe)
			*errp = pe
			return
		}
		*errp = ErrGoexit
	}()
	*errp = fn()
	returned = true
}
