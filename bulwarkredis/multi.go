package bulwarkredis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

// Request is one limit of an [Limiter.AllowAll] call.
type Request struct {
	// Key is the key limited, under LimiterConfig.Prefix, as in Allow.
	Key string
	// Limit is the limit for Key; the zero Limit means LimiterConfig's
	// rate and burst.
	Limit Limit
	// N is the number of events. Default 0: 1.
	N int
}

// multiScript decides several requests all or nothing: each KEYS[i] with
// ARGV[3i-2..3i] = interval, burst, events, by the rules of gcraScript.
// The reply is five numbers per key: {allowed, remaining, retry after (ns;
// -1 beyond the burst), reset after, fault}; allowed is the same for all.
var multiScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now_s = tonumber(t[1])
local now_ns = tonumber(t[2]) * 1000
local ok = true
local st = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local n = tonumber(ARGV[3 * i])
  local tau = burst * interval
  local debt, fault = 0, 0
  local v = redis.pcall('GET', key)
  if type(v) == 'table' and v.err then
    fault = 2
    redis.call('DEL', key)
  elseif v then
    local s, ns = string.match(v, '^(%-?%d+):(%d+)$')
    if s and string.len(s) < 16 and string.len(ns) < 16 then
      debt = (tonumber(s) - now_s) * 1000000000 + (tonumber(ns) - now_ns)
      if debt < 0 then debt = 0 end
      if debt > tau then debt = tau end
    else
      fault = 1
      redis.call('DEL', key)
    end
  end
  local retry = 0
  if n > burst then
    retry = -1
    ok = false
  elseif debt + n * interval > tau then
    retry = debt + n * interval - tau
    ok = false
  end
  st[i] = {interval, tau, n, debt, retry, fault}
end
local out = {}
for i, key in ipairs(KEYS) do
  local interval, tau, n, debt, retry, fault = unpack(st[i])
  local nxt = debt
  if ok and n > 0 then
    nxt = debt + n * interval
    local total = now_ns + nxt
    local sec = now_s + math.floor(total / 1000000000)
    redis.call('SET', key, string.format('%d:%d', sec, total % 1000000000), 'PX', math.ceil(nxt / 1000000))
  end
  local a = 0
  if ok then a = 1 end
  table.insert(out, a)
  table.insert(out, math.floor((tau - nxt) / interval))
  table.insert(out, retry)
  table.insert(out, nxt)
  table.insert(out, fault)
end
return out
`)

// AllowAll decides several limits in one round trip, all or nothing, as
// Envoy's rate-limit descriptors do (a tenant's limit and a global one
// together): the events are counted under every limit if each admits
// them, and under none otherwise. It returns one decision per request, in
// order; each one's Allowed is the overall answer, and a refused
// request's RetryAfter says when it alone would admit.
//
// The keys are written by one script, so on Redis Cluster they must be on
// one shard: give them a common hash tag, in LimiterConfig.Prefix
// ("bulwark:{api}:") or in the keys; AllowAll returns an error, before any
// round trip, when a cluster client is given keys without one. Cached
// refusals apply (a key known to be refused refuses the whole call
// locally); leases do not. When Redis cannot decide, LimiterConfig.Outage
// does, for all the requests together. The error is as Allow's; a request
// with a negative N or an invalid Limit is an error naming it.
func (l *Limiter) AllowAll(ctx context.Context, reqs ...Request) ([]ratelimit.Decision, error) {
	ds := make([]ratelimit.Decision, len(reqs))
	if len(reqs) == 0 {
		return ds, nil
	}
	keys := make([]string, len(reqs))
	args := make([]any, 0, 3*len(reqs))
	ps := make([]*limits, len(reqs))
	now := time.Now()
	refused := false
	unlimited := true
	for i, r := range reqs {
		if r.N < 0 {
			return nil, fmt.Errorf("bulwarkredis: AllowAll: request %d (%q): N is %d; it must not be negative", i, r.Key, r.N)
		}
		p := l.lim
		if r.Limit != (Limit{}) {
			var err error
			if p, err = l.limitsOf(r.Limit); err != nil {
				return nil, fmt.Errorf("bulwarkredis: AllowAll: request %d (%q): %w", i, r.Key, err)
			}
		}
		n := max(r.N, 1)
		ps[i], keys[i] = p, l.prefix+r.Key
		ds[i] = ratelimit.Decision{Limit: p.burst}
		unlimited = unlimited && p.unlimited
		if p.unlimited { // no state: ask for nothing under it
			args = append(args, "1", "1", "0")
			continue
		}
		args = append(args, strconv.FormatInt(p.interval, 10), strconv.Itoa(p.burst), strconv.Itoa(n))
		if left := l.refused.check(keys[i], p, now); left > 0 {
			ds[i].RetryAfter = left
			refused = true
		}
	}
	if unlimited {
		for i := range ds {
			ds[i] = ratelimit.Decision{Allowed: true, Limit: ps[i].burst, Remaining: ps[i].burst}
		}
		l.allowed.Add(1)
		return ds, nil
	}
	if refused {
		l.cached.Add(1)
		l.refuse(ds[0])
		return ds, nil
	}
	if _, ok := l.client.(*redis.ClusterClient); ok {
		if err := sameTag(keys); err != nil {
			return nil, err
		}
	}
	permit, err := l.rb.Allow()
	if err != nil {
		return l.failedAll(ctx, keys, ps, reqs, ds, err)
	}
	var res []any
	err = bounded(ctx, l.timeout, l.direct, func(ctx context.Context) error {
		var err error
		res, err = multiScript.Run(ctx, l.client, keys, args...).Slice()
		return err
	})
	if err == nil && len(res) != 5*len(reqs) {
		err = fmt.Errorf("unexpected reply from the limiter script: %.80v", res)
	}
	if err != nil {
		if callerGaveUp(ctx) {
			permit.Ignore()
		} else {
			permit.Failure()
		}
		return l.failedAll(ctx, keys, ps, reqs, ds, err)
	}
	permit.Success()
	allowed := false
	for i := range reqs {
		var v [5]int64
		for j := range v {
			v[j], _ = res[5*i+j].(int64)
		}
		allowed = v[0] == 1
		ds[i].Allowed, ds[i].Remaining, ds[i].ResetAfter = allowed, int(v[1]), time.Duration(v[3])
		switch {
		case v[2] < 0:
			ds[i].RetryAfter = ratelimit.Never
		case v[2] > 0:
			ds[i].RetryAfter = time.Duration(v[2])
			if max(reqs[i].N, 1) == 1 {
				l.refused.add(keys[i], ps[i], now, ds[i].RetryAfter)
			}
		}
		if ps[i].unlimited {
			ds[i].Remaining = ps[i].burst
		}
		if v[4] != 0 {
			l.fault(keys[i], int(v[4]))
		}
	}
	if allowed {
		l.allowed.Add(1)
	} else {
		l.refuse(ds[0])
	}
	return ds, nil
}

// failedAll answers for an AllowAll call Redis did not decide.
func (l *Limiter) failedAll(ctx context.Context, keys []string, ps []*limits, reqs []Request, ds []ratelimit.Decision, err error) ([]ratelimit.Decision, error) {
	d, _, ferr := l.failed(ctx, "", l.lim, 0, 0, err)
	allowed := d.Allowed
	if l.outage == OutageLocal && ferr != nil && !callerGaveUp(ctx) {
		// All or nothing, locally: take the events only if every local
		// limiter has them now.
		now := time.Now()
		ks := make([]*ratelimit.Keyed, len(keys))
		allowed = true
		for i, p := range ps {
			if p.unlimited {
				continue
			}
			if ks[i] = l.localFor(p); ks[i] != nil && ks[i].CheckKeyN(keys[i], now, 0).Remaining < max(reqs[i].N, 1) {
				allowed = false
			}
		}
		for i := range ps {
			if allowed && ks[i] != nil {
				ds[i] = ks[i].CheckKeyN(keys[i], now, max(reqs[i].N, 1))
			}
		}
	}
	for i := range ds {
		ds[i].Allowed = allowed
	}
	return ds, ferr
}

// sameTag checks that every key carries the same hash tag, so that one
// script may touch them all on Redis Cluster.
func sameTag(keys []string) error {
	first := tagOf(keys[0])
	for _, k := range keys {
		if tag := tagOf(k); tag == "" || tag != first {
			return fmt.Errorf("bulwarkredis: AllowAll on Redis Cluster: key %q has no hash tag in common with %q; "+
				"put one in LimiterConfig.Prefix (\"bulwark:{api}:\") or in the keys", k, keys[0])
		}
	}
	return nil
}

// tagOf returns the hash tag of a Redis key: what is between its first
// '{' and the next '}', if not empty.
func tagOf(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}
