package ratelimit

import (
	"math"

	"github.com/bulwark-go/bulwark"
)

// description serves both the plain limiter (tokens) and the keyed one
// (keys); each leaves the other's figure out.
var description = &bulwark.Description{
	Policy: "ratelimit",
	Figures: []bulwark.Figure{
		{Name: "allowed", Unit: "{call}", Counter: true, Help: "Calls the rate limiter admitted."},
		{Name: "rate", Unit: "{call}/s", Help: "The rate limiter's rate, in events a second (per key for a keyed limiter); +Inf when unlimited."},
		{Name: "burst", Unit: "{call}", Help: "The most events the rate limiter admits at once (per key for a keyed limiter)."},
		{Name: "tokens", Unit: "{call}", Help: "Events the rate limiter could admit now; negative while reservations wait (plain limiters only)."},
		{Name: "keys", Unit: "{key}", Help: "Keys a keyed rate limiter remembers now (keyed limiters only)."},
	},
}

// Describe returns what a Limiter reports when watched: the calls it
// admitted, its rate, burst and tokens. It implements [bulwark.Watchable].
func (l *Limiter) Describe() *bulwark.Description { return description }

// Collect stores the Limiter's current figures in values (keys, which only
// a Keyed has, is NaN). It implements [bulwark.Watchable].
func (l *Limiter) Collect(values []float64) string {
	s := l.Snapshot()
	values[0], values[1], values[2], values[3], values[4] = float64(s.Allowed), s.Rate, float64(s.Burst), s.Tokens, math.NaN()
	return ""
}

// Describe returns what a Keyed limiter reports when watched: the calls it
// admitted, its rate and burst per key, and the keys it remembers. It
// implements [bulwark.Watchable].
func (k *Keyed) Describe() *bulwark.Description { return description }

// Collect stores the Keyed limiter's current figures in values (tokens,
// which only a Limiter has, is NaN). It implements [bulwark.Watchable].
func (k *Keyed) Collect(values []float64) string {
	s := k.Snapshot()
	values[0], values[1], values[2], values[3], values[4] = float64(s.Allowed), s.Rate, float64(s.Burst), math.NaN(), float64(s.Keys)
	return ""
}
