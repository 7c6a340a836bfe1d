package bulwarkredis

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The breaker-sharing protocol, on one Redis key K (SyncConfig.Key) and the
// pub/sub channel of the same name (sharded pub/sub on Redis Cluster):
//
//	K         = "open <instance> <end>[ <mac>]", expiring (PX) at <end>
//	publish K   "open <instance> <end>[ <mac>]"
//	publish K   "close <instance> <sent>[ <mac>]"
//
// <end> is the end of the open wait and <sent> the time of the closing,
// both in Unix milliseconds on the Redis server's clock: every replica
// knows the offset of its own clock from Redis's (it reads TIME in each
// round trip), so a message that is delayed, or a key read late, does not
// stretch an opening, and the replicas' clocks need not agree. <mac>, with
// SyncConfig.Secret, is the hex HMAC-SHA256 of "K <message before it>"
// under the secret.
//
// An opening sets K, unless K already holds a longer opening that is not
// longer than the sender's own longest wait, and publishes; a closing
// deletes K and publishes. Both are one script, so the key and the
// messages change in the same order for every subscriber. A receiver
// clamps an opening to its breaker's longest wait.

// publishScript sets or deletes KEYS[1] and publishes the change on the
// channel of the same name. ARGV: "open" or "close"; the message; for
// "open", its end (Unix ms on the server's clock); the publish command
// (PUBLISH or SPUBLISH); the sender's longest wait (ms). With a quorum,
// KEYS[2] holds the votes (a sorted set of instances by the time they
// voted), ARGV[6] is the quorum, ARGV[7] how long a vote counts (ms) and
// ARGV[8] the voter. The reply is {published (0 or 1), server seconds,
// server microseconds}.
var publishScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == 'open' then
  local ttl = tonumber(ARGV[3]) - now
  if ttl < 1 then return {0, t[1], t[2]} end
  if KEYS[2] then
    redis.call('ZADD', KEYS[2], now, ARGV[8])
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[7]))
    redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[7]))
    if redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[6]) then return {0, t[1], t[2]} end
    redis.call('DEL', KEYS[2])
  end
  local cur = redis.call('PTTL', KEYS[1])
  if cur < ttl or cur > tonumber(ARGV[5]) then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
  end
  redis.call(ARGV[4], KEYS[1], ARGV[2])
  return {1, t[1], t[2]}
end
redis.call('DEL', KEYS[1])
if KEYS[2] then redis.call('DEL', KEYS[2]) end
redis.call(ARGV[4], KEYS[1], ARGV[2])
return {1, t[1], t[2]}
`)

// readScript returns KEYS[1] (or, when it holds another type, {"type",
// its type}) and the server's TIME, read at the same instant.
var readScript = redis.NewScript(`
local t = redis.call('TIME')
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'table' and v.err then
  v = {'type', redis.call('TYPE', KEYS[1])['ok']}
end
return {v, t[1], t[2]}
`)

// A message is a state change announced by an instance, or the state a
// key holds.
type message struct {
	open     bool
	instance string
	at       int64 // Unix ms on Redis's clock: the end of the wait (open) or the time sent (close)
}

// maxMillis bounds the times a message may carry: year 2970, far beyond
// any real one, and small enough that no arithmetic on it overflows.
const maxMillis = 1 << 45

// errUnauthenticated marks a message whose MAC is missing or wrong.
var errUnauthenticated = errors.New("no valid MAC")

// format returns the message as it crosses the wire for key, with its MAC
// when secret is not empty.
func (m message) format(key string, secret []byte) string {
	op := "close"
	if m.open {
		op = "open"
	}
	s := op + " " + m.instance + " " + strconv.FormatInt(m.at, 10)
	if len(secret) > 0 {
		s += " " + sign(key, s, secret)
	}
	return s
}

// sign returns the hex HMAC-SHA256 of key and body under secret.
func sign(key, body string, secret []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(key))
	h.Write([]byte{' '})
	h.Write([]byte(body))
	return hex.EncodeToString(h.Sum(nil))
}

// parseMessage reads a published message or a key's value for key. With a
// secret, a message without its valid MAC is an error wrapping
// errUnauthenticated; without one, a MAC is ignored.
func parseMessage(key, s string, secret []byte) (message, error) {
	f := strings.Split(s, " ")
	if len(f) == 4 {
		body := s[:len(s)-len(f[3])-1]
		if len(secret) > 0 && !hmac.Equal([]byte(f[3]), []byte(sign(key, body, secret))) {
			return message{}, fmt.Errorf("%w: %.80q", errUnauthenticated, s)
		}
		f = f[:3]
	} else if len(secret) > 0 {
		return message{}, fmt.Errorf("%w: %.80q", errUnauthenticated, s)
	}
	if len(f) != 3 || (f[0] != "open" && f[0] != "close") || f[1] == "" {
		return message{}, fmt.Errorf("not a breaker state: %.80q", s)
	}
	at, err := strconv.ParseInt(f[2], 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || (err == nil && (at < 0 || at > maxMillis)):
		return message{}, fmt.Errorf("time %.30s out of range in %.80q", f[2], s)
	case err != nil || f[2][0] == '+':
		return message{}, fmt.Errorf("time %.30q is not a whole number of milliseconds in %.80q", f[2], s)
	}
	return message{open: f[0] == "open", instance: f[1], at: at}, nil
}
