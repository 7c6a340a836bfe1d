package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/clocktest"
	"github.com/bulwark-go/bulwark/internal/eventlog"
)

func mustNewKeyed(t testing.TB, cfg KeyedConfig) *Keyed {
	t.Helper()
	k, err := NewKeyed(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKeyedRejectsBadConfig(t *testing.T) {
	tests := []struct {
		cfg  KeyedConfig
		want string
	}{
		{KeyedConfig{}, "KeyedConfig.Rate is 0"},
		{KeyedConfig{Config: Config{Rate: 1, Burst: -1}}, "KeyedConfig.Burst is -1"},
		{KeyedConfig{Config: Config{Rate: 1}, MaxKeys: -1}, "KeyedConfig.MaxKeys is -1"},
		{KeyedConfig{Config: Config{Rate: 1}, IdleTTL: -time.Second}, "KeyedConfig.IdleTTL is -1s"},
		{KeyedConfig{Config: Config{Rate: 1, MaxWait: -1}}, "KeyedConfig.MaxWait is -1ns"},
	}
	for _, tt := range tests {
		if _, err := NewKeyed(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewKeyed(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
	}
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1}})
	if s := k.Snapshot(); s.MaxKeys != DefaultMaxKeys || s.Rate != 1 || s.Burst != 1 {
		t.Errorf("defaults: %+v", s)
	}
}

func TestKeysAreLimitedSeparately(t *testing.T) {
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Name: "clients", Rate: 10, Burst: 2}})
	t0 := k.base
	for i, tt := range []struct {
		key  string
		at   time.Duration
		want Decision
	}{
		{"alice", 0, allowed(2, 1, 100*ms)},
		{"alice", 0, allowed(2, 0, 200*ms)},
		{"alice", 0, refused(2, 0, 100*ms, 200*ms)},
		{"bob", 0, allowed(2, 1, 100*ms)}, // alice's use does not touch bob
		{"alice", 100 * ms, allowed(2, 0, 200*ms)},
		{"bob", 100 * ms, allowed(2, 1, 100*ms)},
	} {
		if got := k.CheckKeyN(tt.key, t0.Add(tt.at), 1); got != tt.want {
			t.Errorf("step %d: CheckKeyN(%s, +%v) = %+v, want %+v", i, tt.key, tt.at, got, tt.want)
		}
	}
	if got := k.CheckKeyN("carol", t0, 3); got.Allowed || got.RetryAfter != Never {
		t.Errorf("3 events with burst 2: %+v, want refused with RetryAfter Never", got)
	}
	if !k.AllowKeyN("carol", t0, 2) || k.AllowKeyN("carol", t0, 1) {
		t.Error("carol: want the burst of 2, then a refusal")
	}
	if s := k.Snapshot(); s.Keys != 3 || s.Allowed != 6 || s.Rejected != 3 {
		t.Errorf("Snapshot %+v, want 3 keys, 6 allowed, 3 rejected", s)
	}
	if k.Name() != "clients" || k.Len() != 3 {
		t.Errorf("Name %q, Len %d", k.Name(), k.Len())
	}
}

// When a new key needs room, the least recently used key is forgotten,
// and comes back with a full burst. (The property under churn is tested in
// evict_test.go.)
func TestEvictionForgetsTheLeastRecentlyUsed(t *testing.T) {
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Burst: 2}, MaxKeys: 1})
	t0 := k.base
	if !k.AllowKeyN("a", t0, 2) {
		t.Fatal("a refused")
	}
	// b needs a's room while a still owes 2s: a is forgotten (and counted
	// as evicted), so it comes back with a full burst.
	k.AllowKeyN("b", t0, 1)
	if s := k.Snapshot(); s.Keys != 1 || s.Evicted != 1 || s.Expired != 0 {
		t.Fatalf("after b: %+v, want 1 key, 1 evicted", s)
	}
	if !k.AllowKeyN("a", t0, 2) {
		t.Fatal("a, forgotten, did not come back with a full burst")
	}

	k = mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Burst: 2}, MaxKeys: 4})
	k.shards[0].capacity = 3
	for _, key := range []string{"a", "b", "c"} {
		k.AllowKeyN(key, t0, 2) // all owe 2s
	}
	k.AllowKeyN("a", t0, 0) // a used again: b is now the least recent
	k.AllowKeyN("d", t0, 1) // b goes
	k.AllowKeyN("c", t0, 0) // c used again: a is now the least recent
	k.AllowKeyN("e", t0, 1) // a goes
	for key, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true} {
		if _, ok := k.shards[0].index[key]; ok != want {
			t.Errorf("%s held: %v, want %v", key, ok, want)
		}
	}
}

func TestIdleKeysAreForgotten(t *testing.T) {
	for _, ttl := range []time.Duration{0, 10 * time.Second} {
		t.Run(fmt.Sprint("IdleTTL=", ttl), func(t *testing.T) {
			// One shard (MaxKeys < 256), with room for every key: nothing is
			// evicted, idle keys expire.
			k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Burst: 5}, MaxKeys: 250, IdleTTL: ttl})
			if len(k.shards) != 1 {
				t.Fatalf("%d shards, want 1", len(k.shards))
			}
			t0 := k.base
			for i := range 50 {
				k.AllowKeyN("old"+strconv.Itoa(i), t0, 1)
			}
			// Idle means: not seen for IdleTTL, by default DefaultIdleTTL
			// (longer than the 5s the bucket takes to refill).
			idleAt := DefaultIdleTTL
			if ttl > 0 {
				idleAt = ttl
			}
			// Not yet idle: new keys sweep past the old ones but keep them.
			for i := range 50 {
				k.AllowKeyN("early"+strconv.Itoa(i), t0.Add(idleAt-ms), 1)
			}
			if s := k.Snapshot(); s.Keys != 100 || s.Expired != 0 {
				t.Fatalf("%+v before any key is idle, want 100 keys, none expired", s)
			}
			// Once idle, new keys clear them out as they arrive, two for
			// each new key.
			for i := range 100 {
				k.AllowKeyN("new"+strconv.Itoa(i), t0.Add(idleAt+ms), 1)
			}
			s := k.Snapshot()
			if s.Expired != 50 || s.Evicted != 0 || s.Keys != 150 {
				t.Errorf("Snapshot %+v, want the 50 old keys expired, none evicted, 150 left", s)
			}
			for i := range 50 {
				if _, ok := k.shards[0].index["old"+strconv.Itoa(i)]; ok {
					t.Fatalf("old%d still held", i)
				}
			}
		})
	}
}

func TestKeyedSetLimitCarriesEachKeysState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 10, Burst: 10}})
		for range 10 {
			k.AllowKey("a")
		}
		if err := k.SetRate(1); err != nil {
			t.Fatal(err)
		}
		if k.AllowKey("a") {
			t.Fatal("a admitted right after lowering the rate")
		}
		if !k.AllowKey("b") {
			t.Fatal("b refused")
		}
		time.Sleep(time.Second)
		if !k.AllowKey("a") || k.AllowKey("a") {
			t.Fatal("a: want one event after a second at 1/s")
		}
		if err := k.SetBurst(-1); err == nil {
			t.Fatal("SetBurst(-1) accepted")
		}
		if err := k.SetLimit(math.Inf(1), 1); err != nil {
			t.Fatal(err)
		}
		for range 50 {
			if !k.AllowKey("a") {
				t.Fatal("refused while unlimited")
			}
		}
		if s := k.Snapshot(); s.Burst != 1 {
			t.Errorf("Burst = %d, want 1", s.Burst)
		}
	})
}

func TestWaitKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &eventlog.Recorder{}
		k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 10, Observer: rec}})
		ctx := context.Background()
		start := time.Now()
		for range 2 {
			if err := k.WaitKey(ctx, "a"); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 100*ms {
			t.Errorf("two waits took %v, want 100ms", got)
		}
		// A deadline too near: refused at once.
		dctx, cancel := context.WithTimeout(ctx, 50*ms)
		defer cancel()
		var le *LimitedError
		if err := k.WaitKey(dctx, "a"); !errors.As(err, &le) || le.Delay != 100*ms {
			t.Fatalf("WaitKey with a near deadline = %v, want a *LimitedError with Delay 100ms", err)
		}
		// Cancelled while waiting: the slot is given back.
		cctx, cancel2 := context.WithCancel(ctx)
		go func() {
			time.Sleep(30 * ms)
			cancel2()
		}()
		if err := k.WaitKey(cctx, "a"); err != context.Canceled {
			t.Fatalf("WaitKey = %v, want context.Canceled", err)
		}
		start = time.Now()
		if err := k.WaitKey(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 70*ms {
			t.Errorf("after the cancelled wait the next took %v, want 70ms", got)
		}
		if err := k.WaitKey(cctx, "a"); err != context.Canceled {
			t.Fatalf("WaitKey with a done context = %v", err)
		}
		var waits, rejections int
		for _, e := range rec.Events() {
			switch e.Kind {
			case bulwark.KindWait:
				waits++
			case bulwark.KindRejected:
				rejections++
			}
		}
		if waits != 2 || rejections != 1 {
			t.Errorf("%d waits, %d rejections observed; want 2, 1", waits, rejections)
		}
	})
}

func TestExecuteKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := mustNewKeyed(t, KeyedConfig{Config: Config{Name: "tenants", Rate: 10}})
		ctx := context.Background()
		op := bulwark.OperationFunc(func(context.Context) (any, error) { return "ok", nil })
		if v, err := k.ExecuteKey(ctx, "t1", op); v != "ok" || err != nil {
			t.Fatalf("first call: %v, %v", v, err)
		}
		_, err := k.ExecuteKey(ctx, "t1", op)
		var le *LimitedError
		if !errors.As(err, &le) || le.Name != "tenants" || le.Delay != 100*ms {
			t.Fatalf("second call: %v, want a *LimitedError with Delay 100ms", err)
		}
		if _, err := k.ExecuteKey(ctx, "t2", op); err != nil {
			t.Fatalf("another tenant: %v", err)
		}
		k = mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 10, MaxWait: time.Second}})
		start := time.Now()
		for range 3 {
			if _, err := k.ExecuteKey(ctx, "t1", op); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 200*ms {
			t.Errorf("three calls took %v, want 200ms", got)
		}
	})
}

func TestKeyedNoAllocationsForKnownKeys(t *testing.T) {
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: MaxRate, Burst: 1 << 20}})
	k.AllowKey("known")
	if n := testing.AllocsPerRun(100, func() { k.AllowKey("known") }); n != 0 {
		t.Errorf("AllowKey: %v allocations per run, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { k.CheckKey("known") }); n != 0 {
		t.Errorf("CheckKey: %v allocations per run, want 0", n)
	}
}

// The key is copied: a caller may pass a string that aliases a buffer it
// reuses.
func TestKeysAreCopied(t *testing.T) {
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1}})
	buf := []byte("aaaa")
	k.AllowKey(unsafe.String(&buf[0], len(buf)))
	copy(buf, "bbbb")
	if k.AllowKey("aaaa") {
		t.Error("aaaa admitted twice: its stored key changed with the caller's buffer")
	}
	if !k.AllowKey("bbbb") {
		t.Error("bbbb refused")
	}
}

func TestKeyedConcurrentUse(t *testing.T) {
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Burst: 10}, MaxKeys: 100})
	now := time.Now()
	var wg sync.WaitGroup
	admitted := make([]int, 8)
	for g := range admitted {
		wg.Go(func() {
			for i := range 400 {
				if k.AllowKeyN("k"+strconv.Itoa(i%20), now, 1) {
					admitted[g]++
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range admitted {
		total += n
	}
	// 20 keys, none evicted, 10 events each.
	if s := k.Snapshot(); s.Evicted != 0 || total != 200 {
		t.Fatalf("%d admitted, Snapshot %+v; want 200 admitted, none evicted", total, s)
	}
}

// A million distinct keys: the number of keys held never passes MaxKeys,
// and the heap stays near what MaxKeys keys need.
func TestMillionKeysStayBounded(t *testing.T) {
	const (
		distinct = 1_000_000
		maxKeys  = 10_000
	)
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Burst: 5}, MaxKeys: maxKeys})
	now := time.Now()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var wg sync.WaitGroup
	const workers = 2
	for w := range workers {
		wg.Go(func() {
			// Keys are written into one reused buffer: the limiter must copy
			// them, and generating them allocates nothing.
			buf := make([]byte, 0, 16)
			for i := w; i < distinct; i += workers {
				buf = strconv.AppendInt(buf[:0], int64(i), 36)
				k.AllowKeyN(unsafe.String(&buf[0], len(buf)), now, 1)
			}
		})
	}
	wg.Wait()

	s := k.Snapshot()
	if s.Keys > maxKeys || s.Keys < maxKeys*9/10 {
		t.Errorf("%d keys held after %d distinct keys, want at most %d (and close to it)", s.Keys, distinct, maxKeys)
	}
	if s.Allowed != distinct || int(s.Evicted) != distinct-s.Keys {
		t.Errorf("Snapshot %+v: want %d allowed, %d evicted", s, distinct, distinct-s.Keys)
	}
	for i := range k.shards {
		sh := &k.shards[i]
		if len(sh.entries) > sh.capacity || len(sh.index) != len(sh.entries) {
			t.Fatalf("shard %d: %d entries, %d indexed, capacity %d", i, len(sh.entries), len(sh.index), sh.capacity)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// A million keys held would need about 100 MB; MaxKeys of them about
	// 1 MB.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
		t.Errorf("heap grew by %d bytes for %d keys held", grown, s.Keys)
	}
	runtime.KeepAlive(k)
}

// A keyed caller that read the clock and then waited for its shard's lock
// while others used the key at later times must not be refused, or made
// to wait, for its old reading. Every reading taken outside the lock is
// followed here by a 10ms pause in which another caller takes all but one
// event of the burst (which refills in 1ms); the caller must still be
// admitted at once.
func TestKeyedCallerPausedBeforeTheLockIsNotRefused(t *testing.T) {
	ctx := context.Background()
	op := bulwark.OperationFunc(func(context.Context) (any, error) { return nil, nil })
	tests := []struct {
		name string
		cfg  Config
		call func(*Keyed) bool
	}{
		{"AllowKey", Config{}, func(k *Keyed) bool { return k.AllowKey("a") }},
		{"CheckKey", Config{}, func(k *Keyed) bool { return k.CheckKey("a").Allowed }},
		{"ExecuteKey", Config{}, func(k *Keyed) bool { _, err := k.ExecuteKey(ctx, "a", op); return err == nil }},
		{"ExecuteKey with MaxWait", Config{MaxWait: time.Microsecond}, func(k *Keyed) bool {
			_, err := k.ExecuteKey(ctx, "a", op)
			return err == nil
		}},
		{"WaitKey", Config{}, func(k *Keyed) bool {
			start := time.Now()
			err := k.WaitKey(ctx, "a")
			return err == nil && time.Since(start) == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const burst = 1_000_000
				cfg := tt.cfg
				cfg.Rate, cfg.Burst = 1e9, burst
				k := mustNewKeyed(t, KeyedConfig{Config: cfg})
				s := k.shard("a")
				reading := time.Second // the bucket is full
				paused := false
				k.since = func() time.Duration {
					r := reading
					if s.mu.TryLock() { // not under the lock
						s.mu.Unlock()
						if !paused {
							paused = true
							reading += 10 * ms
							if !k.AllowKeyN("a", k.base.Add(reading), burst-1) {
								t.Fatal("the other caller was refused")
							}
						}
					}
					return r
				}
				if !tt.call(k) {
					t.Fatalf("%s refused (or waited) with one event left in the bucket", tt.name)
				}
				if !paused {
					t.Fatal("no clock reading outside the lock: the test did not pause the caller")
				}
				if k.AllowKeyN("a", k.base.Add(reading), 1) {
					t.Error("an event beyond the burst was admitted")
				}
			})
		})
	}
}

// A WaitKey cancelled while another waits behind it on the same key gives
// back nothing that the later wait depends on.
func TestKeyedCancelledWaitKeepsLaterWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := NewKeyed(KeyedConfig{Config: Config{Rate: 1}})
		if err != nil {
			t.Fatal(err)
		}
		k.AllowKey("a")
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() { first <- k.WaitKey(ctx, "a") }() // due at +1s
		synctest.Wait()
		go k.WaitKey(context.Background(), "a") // due at +2s
		synctest.Wait()
		cancel()
		if err := <-first; err != context.Canceled {
			t.Fatalf("first WaitKey = %v, want context.Canceled", err)
		}
		d := k.CheckKey("a")
		if d.Allowed || d.RetryAfter != 3*time.Second {
			t.Errorf("after the cancelled wait, CheckKey = %+v, want refused with RetryAfter 3s (2s is the second wait's)", d)
		}
		time.Sleep(2 * time.Second) // let the second wait finish
	})
}

// A cancelled WaitKey gives nothing back to a key that was forgotten and
// came back meanwhile: the new entry never owed the wait's event.
func TestKeyedCancelledWaitSparesAReturningKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1}, MaxKeys: 1})
		k.AllowKey("a")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- k.WaitKey(ctx, "a") }() // due at +1s
		synctest.Wait()
		k.AllowKey("b") // a is forgotten
		if !k.AllowKey("a") {
			t.Fatal("a, back with a full burst, was refused")
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("WaitKey = %v, want context.Canceled", err)
		}
		if d := k.CheckKey("a"); d.Allowed || d.RetryAfter != time.Second {
			t.Errorf("after the cancelled wait, CheckKey(a) = %+v, want refused, retry after 1s", d)
		}
	})
}

// KeyedConfig.Config.Clock drives the methods without a time argument and
// WaitKey's timer.
func TestKeyedOnAClock(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Clock: clk}})
	if !k.AllowKey("a") || k.AllowKey("a") {
		t.Fatal("want one event of the burst, then a refusal")
	}
	clk.Advance(time.Second)
	if !k.AllowKey("a") {
		t.Fatal("no event a virtual second later")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- k.WaitKey(ctx, "a") }()
	clk.WaitForTimers(ctx, 1)
	select {
	case err := <-done:
		t.Fatalf("WaitKey returned %v before the virtual second passed", err)
	default:
	}
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("WaitKey = %v", err)
	}
}
