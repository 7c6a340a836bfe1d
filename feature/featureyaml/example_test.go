package featureyaml_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bulwark-go/bulwark/feature"
	"github.com/bulwark-go/bulwark/feature/featureyaml"
)

func Example() {
	dir, _ := os.MkdirTemp("", "flags")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.yaml")
	os.WriteFile(path, []byte(`
flags:
  - name: new-checkout
    type: bool
    value: true
    rollout: 0
    rules:
      - attribute: country
        in: [NZ, AU]
  - name: page-size
    type: number
    value: 50
`), 0o644)

	flags, err := featureyaml.New(feature.Config{Path: path, DisableEnv: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	nz := feature.Target{Key: "user-42", Attrs: map[string]string{"country": "NZ"}}
	fmt.Println(flags.BoolFor("new-checkout", nz, false))
	fmt.Println(flags.Float("page-size", 20))
	// Output:
	// true
	// 50
}
