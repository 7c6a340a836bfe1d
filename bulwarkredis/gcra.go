package bulwarkredis

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxSpan is the longest a limit may take to refill from empty to a full
// burst (Burst/Rate): 2^52 nanoseconds, about 52 days. The script does its
// arithmetic in Lua's doubles, which hold integers exactly up to 2^53.
const MaxSpan time.Duration = 1 << 52

// MaxRate is the highest finite rate a Limiter accepts: one event per
// nanosecond, the resolution of its arithmetic. Use math.Inf(1) for no
// limit.
const MaxRate = 1e9

// gcraScript decides a request for KEYS[1] by GCRA, on the Redis server's
// clock.
//
// The key holds the theoretical arrival time (TAT) as "seconds:nanoseconds"
// since the Unix epoch on the server's clock: two integers, because
// nanoseconds since the epoch do not fit exactly in a Lua double. Only the
// debt (TAT minus now, at most MaxSpan) is computed in one number.
//
// ARGV: the emission interval in nanoseconds, the burst, and the least and
// the most events to take (equal for AllowN; 1 and n for AllowAtMost; n
// and the lease for a leasing limiter). The script takes as many events as
// the bucket holds, up to the most, if that is at least the least. The
// reply is {allowed (0 or 1), events taken, remaining, retry after (ns;
// -1 when the least exceeds the burst), reset after (ns), fault}, where
// fault is 0, or 1 when the key held something unreadable, 2 when it held
// another type: such a key is deleted and the request decided as for a
// full bucket, and the caller reports the fault.
//
// An admission writes the new TAT with SET ... PX, expiring when the debt
// is paid: an absent key and an expired TAT mean the same thing (a full
// burst), so memory is bounded by the keys used in the last Burst/Rate. A
// refusal writes nothing. redis.replicate_commands makes TIME followed by a
// write legal on servers older than 5 (newer ones always replicate effects).
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local lo = tonumber(ARGV[3])
local hi = tonumber(ARGV[4])
local tau = burst * interval
local t = redis.call('TIME')
local now_s = tonumber(t[1])
local now_ns = tonumber(t[2]) * 1000
local debt = 0
local fault = 0
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'table' and v.err then
  fault = 2
  redis.call('DEL', KEYS[1])
elseif v then
  local s, ns = string.match(v, '^(%-?%d+):(%d+)$')
  if s and string.len(s) < 16 and string.len(ns) < 16 then
    debt = (tonumber(s) - now_s) * 1000000000 + (tonumber(ns) - now_ns)
    if debt < 0 then debt = 0 end
    if debt > tau then debt = tau end
  else
    fault = 1
    redis.call('DEL', KEYS[1])
  end
end
local avail = math.floor((tau - debt) / interval)
if lo > burst then
  return {0, 0, avail, -1, debt, fault}
end
if avail < lo then
  return {0, 0, avail, debt + lo * interval - tau, debt, fault}
end
local k = hi
if avail < k then k = avail end
local nxt = debt + k * interval
if k > 0 then
  local total = now_ns + nxt
  local sec = now_s + math.floor(total / 1000000000)
  redis.call('SET', KEYS[1], string.format('%d:%d', sec, total % 1000000000), 'PX', math.ceil(nxt / 1000000))
end
return {1, k, math.floor((tau - nxt) / interval), 0, nxt, fault}
`)

// limits is a checked rate and burst.
type limits struct {
	rate      float64 // events per second; +Inf when unlimited
	burst     int
	interval  int64 // nanoseconds per event
	unlimited bool
	args1     []any // the script's ARGV for one event, built once
}

// Limit is a rate and burst given per call, as redis_rate's users know it:
// see [Limiter.AllowLimit]. Rate and Burst mean what LimiterConfig's do;
// Burst 0 is 1.
type Limit struct {
	Rate  float64 // events per second per key
	Burst int     // events admitted at once
}

// PerSecond returns a Limit of n events per second, n at once.
func PerSecond(n int) Limit { return Limit{Rate: float64(n), Burst: n} }

// PerMinute returns a Limit of n events per minute, n at once.
func PerMinute(n int) Limit { return Limit{Rate: float64(n) / 60, Burst: n} }

// newLimits checks the rate (events per second, or limit per per) and the
// burst, naming the LimiterConfig field at fault.
func newLimits(rate float64, limit int, per time.Duration, burst int) (*limits, error) {
	if burst < 0 {
		return nil, fmt.Errorf("bulwarkredis: Burst is %d; it must be positive, or 0 for the default 1", burst)
	}
	if burst == 0 {
		burst = 1
	}
	var interval int64
	switch {
	case limit != 0 || per != 0:
		if rate != 0 {
			return nil, fmt.Errorf("bulwarkredis: Rate and Limit/Per are both set; set one")
		}
		if limit <= 0 {
			return nil, fmt.Errorf("bulwarkredis: Limit is %d; with Per it must be positive", limit)
		}
		if per <= 0 {
			return nil, fmt.Errorf("bulwarkredis: Per is %v; with Limit it must be positive", per)
		}
		if per > MaxSpan {
			return nil, fmt.Errorf("bulwarkredis: Per is %v; it must be at most %v", per, MaxSpan)
		}
		rate = float64(limit) / per.Seconds()
		if rate > MaxRate {
			return nil, fmt.Errorf("bulwarkredis: Limit/Per is %d per %v, more than the maximum of one per nanosecond", limit, per)
		}
		interval = (int64(per) + int64(limit)/2) / int64(limit) // rounded to the nearest nanosecond
	case math.IsInf(rate, 1):
		return &limits{rate: rate, burst: burst, unlimited: true}, nil
	default:
		if !(rate > 0) { // also NaN
			return nil, fmt.Errorf("bulwarkredis: Rate is %v; it must be positive (math.Inf(1) for no limit), or set Limit and Per", rate)
		}
		if rate > MaxRate {
			return nil, fmt.Errorf("bulwarkredis: Rate is %v per second; it must be at most %v (math.Inf(1) for no limit)", rate, float64(MaxRate))
		}
		iv := math.Round(float64(time.Second) / rate)
		if iv > float64(MaxSpan) {
			return nil, fmt.Errorf("bulwarkredis: Rate is %v per second; it must be at least one per %v", rate, MaxSpan)
		}
		interval = int64(iv)
	}
	if int64(burst) > int64(MaxSpan)/interval {
		return nil, fmt.Errorf("bulwarkredis: Burst is %d; at %v per second a bucket that size takes more than %v to refill; lower it",
			burst, rate, MaxSpan)
	}
	return &limits{
		rate: rate, burst: burst, interval: interval,
		args1: []any{strconv.FormatInt(interval, 10), strconv.Itoa(burst), "1", "1"},
	}, nil
}

// args returns the script's ARGV to take at least lo and at most hi events.
func (p *limits) args(lo, hi int) []any {
	if lo == 1 && hi == 1 {
		return p.args1
	}
	return []any{p.args1[0], p.args1[1], strconv.Itoa(lo), strconv.Itoa(hi)}
}
