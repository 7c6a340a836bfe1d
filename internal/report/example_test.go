package report_test

import (
	"fmt"

	"github.com/bulwark-go/bulwark/internal/report"
)

func ExampleTable() {
	t := report.Table{
		Header: []string{"mode", "succeeded", "p99"},
		Align:  []report.Align{report.AlignLeft, report.AlignRight, report.AlignRight},
		Rows:   [][]string{{"no protection", "41.0%", "1000 ms"}, {"bulwark", "98.2%", "12 ms"}},
	}
	fmt.Print(t.Markdown())
	// Output:
	// | mode | succeeded | p99 |
	// | --- | --: | --: |
	// | no protection | 41.0% | 1000 ms |
	// | bulwark | 98.2% | 12 ms |
}
