package openfeature_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/bulwark-go/bulwark/feature"
	"github.com/bulwark-go/bulwark/openfeature"
)

func Example() {
	dir, _ := os.MkdirTemp("", "flags")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.json")
	os.WriteFile(path, []byte(`{"flags": [
	  {"name": "new-checkout", "type": "bool", "value": true, "rollout": 0,
	   "rules": [{"attribute": "country", "in": ["NZ", "AU"], "variant": "anz"}]}
	]}`), 0o644)
	flags, err := feature.New(feature.Config{Path: path, DisableEnv: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := openfeature.New(openfeature.Config{Flags: flags})
	if err := of.SetProviderAndWait(p); err != nil {
		fmt.Println(err)
		return
	}
	defer of.Shutdown()

	client := of.NewDefaultClient()
	ctx := context.Background()
	nz := of.NewEvaluationContext("user-42", map[string]any{"country": "NZ"})
	d, _ := client.BooleanValueDetails(ctx, "new-checkout", false, nz)
	fmt.Println(d.Value, d.Reason, d.Variant)
	d, _ = client.BooleanValueDetails(ctx, "new-checkout", false, of.NewEvaluationContext("user-43", nil))
	fmt.Println(d.Value, d.Reason, d.Variant)
	d, err = client.BooleanValueDetails(ctx, "no-such-flag", false, nz)
	fmt.Println(d.Value, d.ErrorCode)
	// Output:
	// true TARGETING_MATCH anz
	// false SPLIT off
	// false FLAG_NOT_FOUND
}
