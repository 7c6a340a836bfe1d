package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

// On an AllowAt timeline far from the clock's time, TokensAt and
// SnapshotAt describe the timeline, and the At forms of SetLimit, SetRate
// and SetBurst keep the tokens at the time given.
func TestAtFormsFollowTheTimeline(t *testing.T) {
	l := mustNew(t, Config{Rate: 10, Burst: 5})
	t0 := l.base.Add(time.Hour) // an hour ahead of the clock
	if !l.AllowN(t0, 5) {
		t.Fatal("burst refused")
	}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{0, 0}, {100 * ms, 1}, {250 * ms, 2.5}, {time.Second, 5}} {
		if got := l.TokensAt(t0.Add(tt.at)); got != tt.want {
			t.Errorf("TokensAt(+%v) = %v, want %v", tt.at, got, tt.want)
		}
		if got := l.SnapshotAt(t0.Add(tt.at)).Tokens; got != tt.want {
			t.Errorf("SnapshotAt(+%v).Tokens = %v, want %v", tt.at, got, tt.want)
		}
	}
	// Tokens and Snapshot read the clock, an hour before t0: the state is
	// an hour in their future, far from full.
	if got := l.Tokens(); got >= 0 {
		t.Errorf("Tokens() at the clock's time = %v, want negative", got)
	}
	if s := l.SnapshotAt(t0); s.Allowed != 1 || s.Burst != 5 || s.Rate != 10 {
		t.Errorf("SnapshotAt = %+v", s)
	}

	// At +200ms there are 2 tokens; halving the rate keeps them.
	t1 := t0.Add(200 * ms)
	if err := l.SetRateAt(t1, 5); err != nil {
		t.Fatal(err)
	}
	if got := l.TokensAt(t1); got != 2 {
		t.Errorf("after SetRateAt, TokensAt = %v, want 2", got)
	}
	if got := l.TokensAt(t1.Add(200 * ms)); got != 3 {
		t.Errorf("200ms after SetRateAt(5), TokensAt = %v, want 3", got)
	}
	// Lowering the burst caps the tokens at it.
	if err := l.SetBurstAt(t1.Add(time.Second), 2); err != nil {
		t.Fatal(err)
	}
	if got := l.TokensAt(t1.Add(time.Second)); got != 2 {
		t.Errorf("after SetBurstAt(2), TokensAt = %v, want 2", got)
	}
	if err := l.SetLimitAt(t1.Add(time.Second), 100, 10); err != nil {
		t.Fatal(err)
	}
	if got := l.TokensAt(t1.Add(time.Second + 50*ms)); got != 7 {
		t.Errorf("50ms after SetLimitAt(100, 10), TokensAt = %v, want 2 + 5 = 7", got)
	}
	if s := l.SnapshotAt(t1); s.Rate != 100 || s.Burst != 10 {
		t.Errorf("SnapshotAt after SetLimitAt = %+v", s)
	}
	if err := l.SetBurstAt(t1, -1); err == nil {
		t.Error("SetBurstAt(-1) accepted")
	}
}

// PeekKey says what CheckKey would, and remembers, forgets, counts and
// reorders nothing.
func TestPeekKeyChangesNothing(t *testing.T) {
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Burst: 3}, MaxKeys: 2})
	t0 := k.base
	d, known := k.PeekKeyN("a", t0, 1)
	if known || !d.Allowed || d.Remaining != 2 {
		t.Errorf("PeekKeyN of an unknown key = %+v, %v; want allowed, 2 remaining, unknown", d, known)
	}
	if s := k.Snapshot(); s.Keys != 0 || s.Allowed != 0 {
		t.Fatalf("a peek remembered or counted: %+v", s)
	}
	k.AllowKeyN("a", t0, 2)
	k.AllowKeyN("b", t0, 3)
	d, known = k.PeekKeyN("a", t0, 1)
	if want := k.CheckKeyN("a", t0, 0); !known || d.Remaining != want.Remaining-1 || !d.Allowed {
		t.Errorf("PeekKeyN(a) = %+v, %v; want allowed, %d remaining, known", d, known, want.Remaining-1)
	}
	d, _ = k.PeekKeyN("b", t0, 1)
	if d.Allowed || d.RetryAfter != time.Second {
		t.Errorf("PeekKeyN(b) = %+v; want refused, retry after 1s", d)
	}
	if d, _ := k.PeekKeyN("b", t0, 4); d.Allowed || d.RetryAfter != Never {
		t.Errorf("PeekKeyN(b, 4) = %+v; want refused, Never", d)
	}
	// a was used (CheckKeyN above) after b; peeking at b does not make b
	// the more recent: a new key forgets b.
	k.PeekKeyN("b", t0, 1)
	k.AllowKeyN("c", t0, 1)
	if _, known := k.PeekKey("b"); known {
		t.Error("b, peeked at but used before a, was kept over a")
	}
	if _, known := k.PeekKey("a"); !known {
		t.Error("a was forgotten")
	}
	if s := k.Snapshot(); s.Allowed != 4 || s.Rejected != 0 || s.Evicted != 1 {
		t.Errorf("Snapshot %+v, want 4 allowed (a, b, CheckKeyN(a, 0), c), none rejected, 1 evicted", s)
	}
}

// With a HashSeed, keys land on the same shards in every limiter (and
// every run); without, each limiter picks its own spread.
func TestHashSeedFixesTheSpread(t *testing.T) {
	place := func(seed uint64) []int {
		k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1}, MaxKeys: 64 * 128, HashSeed: seed})
		var got []int
		for i := range 200 {
			got = append(got, shardIndex(k, "k"+strconv.Itoa(i)))
		}
		return got
	}
	a, b, c := place(42), place(42), place(43)
	same := func(x, y []int) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("two limiters with HashSeed 42 spread keys differently")
	}
	if same(a, c) {
		t.Error("HashSeed 42 and 43 spread 200 keys the same way")
	}
	// The fixed hash spreads keys over every shard.
	used := map[int]bool{}
	for _, s := range place(7) {
		used[s] = true
	}
	if len(used) < 50 {
		t.Errorf("200 keys on %d of 64 shards", len(used))
	}
	// Pinned values: the spread is the same in every process.
	if got := fixedHash(1, "key"); got != 0xd20a57777e56ea32 {
		t.Errorf("fixedHash(1, key) = %#x, want 0xd20a57777e56ea32", got)
	}
	if got := fixedHash(2, "key"); got != 0x3a07136364ce937f {
		t.Errorf("fixedHash(2, key) = %#x, want 0x3a07136364ce937f", got)
	}
}

// shardIndex returns the index of key's shard.
func shardIndex(k *Keyed, key string) int {
	s := k.shard(key)
	for i := range k.shards {
		if &k.shards[i] == s {
			return i
		}
	}
	panic("no shard")
}
