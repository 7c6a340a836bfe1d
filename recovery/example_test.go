package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/recovery"
)

func ExampleDo() {
	err := recovery.Do(func() error {
		var counts map[string]int
		counts["x"]++ // panics: the map is nil
		return nil
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, recovery.ErrPanic))
	// Output:
	// recovery: panic: assignment to entry in nil map
	// true
}

func ExampleGo() {
	task := recovery.Go(func() error {
		panic("worker failed")
	})
	// The process is still alive; the panic is the task's error.
	fmt.Println(task.Wait())
	// Output:
	// recovery: panic: worker failed
}

func ExampleWithContext() {
	g, ctx := recovery.WithContext(context.Background())
	g.Go(func() error {
		<-ctx.Done() // cancelled by the other goroutine's panic
		return ctx.Err()
	})
	g.Go(func() error {
		var p *struct{ n int }
		return fmt.Errorf("n = %d", p.n) // nil pointer dereference
	})
	err := g.Wait()
	var pe *recovery.PanicError
	fmt.Println(errors.As(err, &pe))
	fmt.Println(err)
	// Output:
	// true
	// recovery: panic: runtime error: invalid memory address or nil pointer dereference
}

func ExampleNew() {
	rec, err := recovery.New(recovery.Config{Name: "parser"})
	if err != nil {
		log.Fatal(err)
	}
	n, err := bulwark.Get(context.Background(), rec, func(ctx context.Context) (int, error) {
		fields := []int{1, 2}
		i := 5
		return fields[i], nil // index out of range
	})
	fmt.Println(n, err)
	fmt.Println(rec.Snapshot().Panics)
	// Output:
	// 0 recovery: panic: runtime error: index out of range [5] with length 2
	// 1
}

func ExampleSetHandler() {
	old := *recovery.Default()
	defer recovery.SetDefault(old)

	// Installed once in main: hears about every recovered panic.
	recovery.SetHandler(func(pe *recovery.PanicError) {
		fmt.Println("alert:", pe.Value)
	})
	recovery.Do(func() error { panic("disk full") })
	// Output:
	// alert: disk full
}

func ExampleMiddleware() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		panic("handler bug")
	})
	h := recovery.Middleware(mux, nil)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 500 Internal Server Error
}

func ExampleStartCrashMonitor() {
	// First thing in main: from here on, a panic nobody recovers leaves a
	// report in /var/log/myapp/crashes and runs the pager with its path.
	err := recovery.StartCrashMonitor(recovery.MonitorConfig{
		Dir:     "/var/log/myapp/crashes",
		Command: []string{"/usr/local/bin/page-oncall", "--service=myapp"},
	})
	if err != nil {
		log.Printf("crash reports are off: %v", err)
	}
}
