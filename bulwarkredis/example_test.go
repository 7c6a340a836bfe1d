package bulwarkredis_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulwarkredis"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

// A limit per tenant shared by every replica. This example needs a Redis,
// so it is compiled but not run; the tests prove the same against a real
// one.
func ExampleLimiter() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()

	perTenant, err := bulwarkredis.NewLimiter(client, bulwarkredis.LimiterConfig{
		Name: "api", Limit: 100, Per: time.Minute, Burst: 20,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	d, err := perTenant.Allow(ctx, "tenant-42")
	if err != nil {
		log.Print(err) // Redis did not answer in time; d.Allowed is the fail mode's answer
	}
	if !d.Allowed {
		fmt.Printf("429 Too Many Requests, Retry-After: %.0f\n", d.RetryAfter.Seconds())
		return
	}
	fmt.Printf("200 OK, RateLimit-Remaining: %d\n", d.Remaining)

	// As a policy, one limit for the whole fleet (LimiterConfig.Key).
	_, err = bulwark.Get(ctx, perTenant, func(ctx context.Context) (string, error) { return "quote", nil })
	var ra bulwark.RetryAfter
	if errors.Is(err, ratelimit.ErrLimited) && errors.As(err, &ra) {
		fmt.Println("come back in", ra.RetryAfter())
	}
}

// What each outage mode decides when Redis cannot be reached: two calls
// for one key, with a limit of 10 per second, 4 at once, shared by 4
// replicas. (Port 1 refuses connections, so this example runs anywhere.)
func ExampleLimiter_outage() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer client.Close()
	for _, mode := range []bulwarkredis.Outage{bulwarkredis.OutageLocal, bulwarkredis.OutageOpen, bulwarkredis.OutageClosed} {
		lim, err := bulwarkredis.NewLimiter(client, bulwarkredis.LimiterConfig{
			Name: "api", Rate: 10, Burst: 4, Replicas: 4, Outage: mode, Timeout: 50 * time.Millisecond,
		})
		if err != nil {
			log.Fatal(err)
		}
		first, err := lim.Allow(context.Background(), "tenant-42")
		second, _ := lim.Allow(context.Background(), "tenant-42")
		fmt.Printf("%s: allowed %v then %v, unavailable %v\n", mode, first.Allowed, second.Allowed, errors.Is(err, bulwarkredis.ErrUnavailable))
	}
	// Output:
	// local: allowed true then false, unavailable true
	// open: allowed true then true, unavailable true
	// closed: allowed false then false, unavailable true
}

// Every replica syncs its breaker on the same key: when one opens, all
// open. This example needs a Redis, so it is compiled but not run.
func ExampleSyncBreaker() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()

	payments, err := breaker.New(breaker.Config{Name: "payments"})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shared, err := bulwarkredis.SyncBreaker(ctx, client, payments, bulwarkredis.SyncConfig{
		Key:     "bulwark:breaker:payments",
		OnError: func(err error) { log.Print(err) },
	})
	if err != nil {
		log.Print("running without a shared breaker: ", err)
	} else {
		defer shared.Stop()
	}
	// Use payments as usual: its openings and closings are shared.
	_ = bulwark.Run(ctx, payments, func(ctx context.Context) error { return nil })
}
