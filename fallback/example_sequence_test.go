package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
)

// mlService stands in for a machine-learning recommendation service.
type mlService struct{ up bool }

func (s *mlService) Recommend(_ context.Context, user string) ([]string, error) {
	if !s.up {
		return nil, errors.New("ml: unavailable")
	}
	return []string{"Picked for " + user + " 1", "Picked for " + user + " 2"}, nil
}

// rules is the rule-based recommender: it knows a few segments.
func rules(_ context.Context, user string) ([]string, error) {
	if user == "bob" {
		return []string{"Bestseller in Bob's segment"}, nil
	}
	return nil, errors.New("rules: no segment for " + user)
}

// Recommendations from a machine-learning service, falling back to the
// user's last good recommendations (up to 10 minutes old), then to
// rule-based ones, then to popular items.
func ExampleSequence_recommendations() {
	ml := &mlService{up: true}

	// The last good answer per user: the key comes from the context.
	stale, _ := fallback.NewStale(fallback.StaleConfig{Name: "recs", MaxAge: 10 * time.Minute, MaxEntries: 10_000})

	type userKey struct{}
	chain, _ := fallback.NewSequence(fallback.SequenceConfig{
		Name: "recs",
		Steps: []fallback.Step{
			// In production this step would have its own breaker and
			// timeout: Policy: bulwark.Chain(rulesBreaker, rulesTimeout).
			{Name: "rules", Func: fallback.For(func(ctx context.Context, err error) ([]string, error) {
				return rules(ctx, ctx.Value(userKey{}).(string))
			})},
			{Name: "popular", Func: fallback.Value([]string{"Popular Item 1", "Popular Item 2"})},
		},
	})
	// The chain sees the final outcome; the ML call's own policies (a
	// breaker, a timeout) would go after stale.
	policy := bulwark.Chain(chain, stale)

	recommend := func(user string) {
		ctx := context.WithValue(context.Background(), userKey{}, user)
		ctx = fallback.WithKey(ctx, "recs:"+user)
		recs, err := bulwark.Get(ctx, policy, func(ctx context.Context) ([]string, error) {
			return ml.Recommend(ctx, user)
		})
		fmt.Println(user, recs, err)
	}

	recommend("alice") // the ML service answers
	ml.up = false
	recommend("alice") // alice's last good answer
	recommend("bob")   // nothing remembered: rules
	recommend("carol") // no rule either: popular items
	fmt.Printf("%+v\n", chain.Snapshot())
	// Output:
	// alice [Picked for alice 1 Picked for alice 2] <nil>
	// alice [Picked for alice 1 Picked for alice 2] <nil>
	// bob [Bestseller in Bob's segment] <nil>
	// carol [Popular Item 1 Popular Item 2] <nil>
	// {Calls:4 Primary:2 Steps:[{Name:rules Served:1 Failed:1} {Name:popular Served:1 Failed:0}] Exhausted:0}
}

// A stale-if-error policy keyed per call.
func ExampleStale() {
	stale, _ := fallback.NewStale(fallback.StaleConfig{Name: "prices", MaxAge: time.Minute})
	ctx := fallback.WithKey(context.Background(), "price:sku-1")

	price, err := bulwark.Get(ctx, stale, func(context.Context) (float64, error) { return 9.99, nil })
	fmt.Println(price, err)
	price, err = bulwark.Get(ctx, stale, func(context.Context) (float64, error) {
		return 0, errors.New("pricing service down")
	})
	fmt.Println(price, err)
	fmt.Printf("%+v\n", stale.Snapshot())
	// Output:
	// 9.99 <nil>
	// 9.99 <nil>
	// {Calls:2 Unkeyed:0 Stored:1 Served:1 Misses:0 Expired:0 Evicted:0 Entries:1}
}
