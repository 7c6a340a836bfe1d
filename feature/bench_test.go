package feature

import (
	"strconv"
	"testing"
)

const benchFile = `{"flags": [
  {"name": "static", "type": "bool", "value": true},
  {"name": "rollout", "type": "bool", "value": true, "rollout": 50},
  {"name": "rules", "type": "bool", "value": false,
   "rules": [{"attribute": "plan", "in": ["gold", "platinum"], "value": true},
             {"attribute": "country", "in": ["NZ", "AU"], "value": true}]},
  {"name": "label", "type": "string", "value": "blue"},
  {"name": "ratio", "type": "number", "value": 0.25}
]}`

func benchFlags(b *testing.B) *Flags {
	f, _, _ := setup(b, benchFile, Config{})
	return f
}

var sinkBool bool

func BenchmarkBool(b *testing.B) {
	f := benchFlags(b)
	b.ReportAllocs()
	for b.Loop() {
		sinkBool = f.Bool("static", false)
	}
}

func BenchmarkBoolParallel(b *testing.B) {
	f := benchFlags(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		v := false
		for pb.Next() {
			v = f.Bool("static", false)
		}
		sinkBool = v
	})
}

func BenchmarkBoolForRollout(b *testing.B) {
	f := benchFlags(b)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sinkBool = f.BoolFor("rollout", Target{Key: keys[i&1023]}, false)
		i++
	}
}

func BenchmarkBoolForRules(b *testing.B) {
	f := benchFlags(b)
	t := Target{Key: "user-1", Attrs: map[string]string{"country": "NZ", "plan": "free"}}
	b.ReportAllocs()
	for b.Loop() {
		sinkBool = f.BoolFor("rules", t, false)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	f := benchFlags(b)
	t := Target{Key: "user-1"}
	b.ReportAllocs()
	for b.Loop() {
		ev := f.Evaluate("rollout", t)
		sinkBool = ev.Value == true
	}
}

func BenchmarkFloat(b *testing.B) {
	f := benchFlags(b)
	b.ReportAllocs()
	var x float64
	for b.Loop() {
		x += f.Float("ratio", 0)
	}
	sinkBool = x > 0
}
