package report

import "strings"

// Align is a column's alignment in a Markdown table.
type Align int

// Column alignments. The zero value is AlignLeft.
const (
	AlignLeft Align = iota
	AlignRight
	AlignCenter
)

// Table is a Markdown table. Rows shorter than Header are padded with
// empty cells; longer ones are cut to the header's width.
type Table struct {
	Header []string
	// Align gives each column's alignment; missing entries are AlignLeft.
	Align []Align
	Rows  [][]string
}

// Markdown returns the table in GitHub-flavoured Markdown, one row a line,
// ending with a newline. A '|' inside a cell is escaped and a newline is
// replaced by a space, so no cell breaks the table.
func (t Table) Markdown() string {
	var b strings.Builder
	n := len(t.Header)
	row := func(cells []string) {
		b.WriteByte('|')
		for i := range n {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteByte(' ')
			b.WriteString(cell(c))
			b.WriteString(" |")
		}
		b.WriteByte('\n')
	}
	row(t.Header)
	b.WriteByte('|')
	for i := range n {
		a := AlignLeft
		if i < len(t.Align) {
			a = t.Align[i]
		}
		switch a {
		case AlignRight:
			b.WriteString(" --: |")
		case AlignCenter:
			b.WriteString(" :-: |")
		default:
			b.WriteString(" --- |")
		}
	}
	b.WriteByte('\n')
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "\r\n", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
