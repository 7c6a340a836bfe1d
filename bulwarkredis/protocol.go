package bulwarkredis

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The breaker-sharing protocol, on one Redis key K (SyncConfig.Key) and the
// pub/sub channel of the same name:
//
//	K         = "open <instance> <until-unix-ms>", expiring (PX) when the open wait ends
//	publish K   "open <instance> <until-unix-ms> <remaining-ms>"
//	publish K   "close <instance>"
//
// An opening sets K, unless K already holds a longer opening, and
// publishes; a closing deletes K and publishes. Both are one script, so the
// key and the messages change in the same order for every subscriber.
// Receivers use the remaining duration, measured by the sender just before
// it published, and never the absolute time, which is sent for diagnosis
// (it shows the clock skew between replicas) and for people reading the
// key. A replica starting up adopts K with its PTTL, the server's own count
// of the time left.

// publishScript sets or deletes KEYS[1] and publishes the change on the
// channel of the same name. ARGV: "open" or "close", the instance, and for
// "open" the absolute end of the wait (Unix milliseconds) and the time left
// (milliseconds, at least 1).
var publishScript = redis.NewScript(`
if ARGV[1] == 'open' then
  local ttl = tonumber(ARGV[4])
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('SET', KEYS[1], 'open ' .. ARGV[2] .. ' ' .. ARGV[3], 'PX', ttl)
  end
  return redis.call('PUBLISH', KEYS[1], 'open ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
end
redis.call('DEL', KEYS[1])
return redis.call('PUBLISH', KEYS[1], 'close ' .. ARGV[2])
`)

// readScript returns KEYS[1] and its PTTL, read at the same instant.
var readScript = redis.NewScript(`return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`)

// A message is a state change announced by an instance.
type message struct {
	open     bool
	instance string
	until    time.Time     // open: the end of the wait on the sender's clock
	left     time.Duration // open: the time left when sent
}

// parseMessage reads a published message, or a key's value when withLeft
// is false (the time left then comes from the key's PTTL).
func parseMessage(s string, withLeft bool) (message, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 2 && f[0] == "close" && withLeft:
		return message{instance: f[1]}, nil
	case len(f) == 0 || f[0] != "open":
	case withLeft && len(f) == 4, !withLeft && len(f) == 3:
		ms, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			break
		}
		m := message{open: true, instance: f[1], until: time.UnixMilli(ms)}
		if withLeft {
			left, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil || left <= 0 {
				break
			}
			m.left = time.Duration(left) * time.Millisecond
		}
		return m, nil
	}
	return message{}, fmt.Errorf("bulwarkredis: unreadable breaker state %q", s)
}
