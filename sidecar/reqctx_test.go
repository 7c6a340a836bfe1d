package sidecar

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestRequestCtx(t *testing.T) {
	t.Run("deadline without Done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newRequestCtx(context.Background(), time.Now().Add(time.Second))
			defer c.cancel()
			if dl, ok := c.Deadline(); !ok || !dl.Equal(time.Now().Add(time.Second)) {
				t.Errorf("Deadline = %v, %v", dl, ok)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err before the deadline = %v", err)
			}
			time.Sleep(time.Second)
			if err := c.Err(); err != context.DeadlineExceeded {
				t.Fatalf("Err at the deadline = %v", err)
			}
			select {
			case <-c.Done(): // made after the deadline: closed at once
			default:
				t.Fatal("Done not closed after the deadline")
			}
			if c.timer != nil {
				t.Error("a timer was started for a context already ended")
			}
		})
	})
	t.Run("Done waits for the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			c := newRequestCtx(context.Background(), start.Add(time.Second))
			defer c.cancel()
			<-c.Done()
			if d := time.Since(start); d != time.Second {
				t.Errorf("Done closed after %v, want 1s", d)
			}
			if err := c.Err(); err != context.DeadlineExceeded {
				t.Errorf("Err = %v", err)
			}
		})
	})
	t.Run("parent ends first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			parent, stop := context.WithCancel(context.Background())
			c := newRequestCtx(parent, time.Now().Add(time.Hour))
			defer c.cancel()
			done := c.Done()
			time.AfterFunc(time.Second, stop)
			<-done
			if err := c.Err(); err != context.Canceled {
				t.Errorf("Err = %v, want the parent's", err)
			}
		})
	})
	t.Run("cancel releases the timer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			parent, stop := context.WithCancel(context.Background())
			defer stop()
			c := newRequestCtx(parent, time.Now().Add(time.Hour))
			done := c.Done()
			c.cancel()
			select {
			case <-done:
			default:
				t.Fatal("Done not closed by cancel")
			}
			if err := c.Err(); err != context.Canceled {
				t.Errorf("Err = %v", err)
			}
			synctest.Wait() // no timer or goroutine left for the bubble to wait on
		})
	})
	t.Run("children", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newRequestCtx(context.Background(), time.Now().Add(time.Second))
			defer c.cancel()
			child, cancel := context.WithTimeout(c, time.Hour)
			defer cancel()
			<-child.Done()
			if err := child.Err(); err != context.DeadlineExceeded {
				t.Errorf("child Err = %v", err)
			}
		})
	})
}
