package ratelimit

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Under key churn, a key used within the last MaxKeys distinct keys is
// never forgotten while an older one is remembered: with one shard (MaxKeys
// below 256) the keys remembered are exactly the last MaxKeys distinct
// keys used. The keys owe time throughout (Rate 1 per hour), so none is
// idle or refilled.
func TestEvictionKeepsTheRecentlyUsedKeys(t *testing.T) {
	for seed := range uint64(10) {
		const maxKeys = 100
		k := mustNewKeyed(t, KeyedConfig{Config: Config{Limit: 1, Per: time.Hour, Burst: 1000}, MaxKeys: maxKeys})
		if len(k.shards) != 1 {
			t.Fatalf("%d shards, want 1", len(k.shards))
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		var recent []string // most recent last, distinct
		now := k.base
		for i := range 5000 {
			// A hot set of 80 keys and a stream of new ones.
			key := "hot" + strconv.Itoa(rng.IntN(80))
			if rng.IntN(3) == 0 {
				key = "new" + strconv.Itoa(i)
			}
			now = now.Add(time.Microsecond)
			k.AllowKeyN(key, now, 1)
			recent = slices.DeleteFunc(recent, func(s string) bool { return s == key })
			recent = append(recent, key)
			if len(recent) > maxKeys {
				recent = recent[1:]
			}
			s := &k.shards[0]
			if len(s.index) != len(recent) {
				t.Fatalf("seed %d, call %d: %d keys remembered, want %d", seed, i, len(s.index), len(recent))
			}
			for _, r := range recent {
				if _, ok := s.index[r]; !ok {
					t.Fatalf("seed %d, call %d (%s): %s, among the last %d distinct keys, was forgotten", seed, i, key, r, maxKeys)
				}
			}
		}
	}
}

// The case the property was found with: every remembered key has been used
// since the eviction hand last passed, and the one used last must survive
// the next new key, keeping its limit (no fresh burst).
func TestEvictionNeverTakesTheKeyUsedLast(t *testing.T) {
	k := mustNewKeyed(t, KeyedConfig{Config: Config{Rate: 1, Burst: 5}, MaxKeys: 4})
	t0 := k.base
	for _, key := range []string{"hot", "b", "c", "d"} {
		k.AllowKeyN(key, t0, 5) // every key spends its burst
	}
	k.AllowKeyN("hot", t0, 0) // hot used again, last
	k.AllowKeyN("e", t0, 1)   // b, the least recently used, goes
	if _, ok := k.shards[0].index["hot"]; !ok {
		t.Fatalf("hot, the key used last, was forgotten: %v", k.shards[0].index)
	}
	if _, ok := k.shards[0].index["b"]; ok {
		t.Errorf("b, the least recently used key, is still remembered: %v", k.shards[0].index)
	}
	if k.AllowKeyN("hot", t0, 1) {
		t.Error("hot got a fresh burst")
	}
}
