package simulate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReadCSV(t *testing.T) {
	in := "timestamp,latency,outcome\n" +
		"2025-03-04T10:00:00.5Z, 120ms, ok\n" +
		"2025-03-04T10:00:00Z,0.25,503\n" +
		"# a comment\n" +
		"1741082401,1s,error\n"
	got, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceRecord{
		{At: 0, Latency: 250 * time.Millisecond, Failed: true},
		{At: 500 * time.Millisecond, Latency: 120 * time.Millisecond},
		{At: time.Second, Latency: time.Second, Failed: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestReadNginx(t *testing.T) {
	in := `127.0.0.1 - - [04/Mar/2025:10:00:01 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8" 0.500
127.0.0.1 - - [04/Mar/2025:10:00:01 +0000] "GET /b \"x\" HTTP/1.1" 502 0 "-" "curl/8" 0.000
127.0.0.1 - - [04/Mar/2025:10:00:03 +0000] "GET /c HTTP/1.1" 200 12 "-" "curl/8" 2.000
`
	got, err := ReadNginx(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceRecord{
		{At: 0, Latency: 500 * time.Millisecond},
		{At: 500 * time.Millisecond, Latency: 2 * time.Second},
		{At: time.Second, Latency: 0, Failed: true},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestTraceErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"csv fields", "1,2\n", "line 1: want 3 comma-separated fields"},
		{"csv latency", "1,1s,ok\n2,-3,ok\n", "line 2: latency:"},
		{"csv outcome", "1,1s,maybe\n", "line 1: outcome:"},
		{"nginx no request_time", `1.2.3.4 - - [04/Mar/2025:10:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "ua"` + "\n", "line 1: last field"},
		{"nginx time", `1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1 "-" "ua" 0.1` + "\n", "line 1: time_local"},
		{"empty", "\n# nothing\n", "no records"},
	} {
		read := ReadCSV
		if strings.HasPrefix(tc.name, "nginx") {
			read = ReadNginx
		}
		_, err := read(strings.NewReader(tc.in))
		var te *TraceError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a TraceError containing %q", tc.name, err, tc.want)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("timestamp,latency,outcome\n2025-03-04T10:00:00Z,120ms,ok\n1741082401,0.2,503\n")
	f.Add("1,1,1\n")
	f.Fuzz(func(t *testing.T, in string) {
		recs, err := ReadCSV(strings.NewReader(in))
		checkTrace(t, recs, err)
	})
}

func FuzzReadNginx(f *testing.F) {
	f.Add(`127.0.0.1 - - [04/Mar/2025:10:00:01 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8" 0.500` + "\n")
	f.Add(`x [04/Mar/2025:10:00:01 +0000] "\"" 500 0 "" "" 1` + "\n")
	f.Fuzz(func(t *testing.T, in string) {
		recs, err := ReadNginx(strings.NewReader(in))
		checkTrace(t, recs, err)
	})
}

func checkTrace(t *testing.T, recs []TraceRecord, err error) {
	if err != nil {
		var te *TraceError
		if !errors.As(err, &te) {
			t.Fatalf("error %v is not a TraceError", err)
		}
		return
	}
	if len(recs) == 0 {
		t.Fatal("no records and no error")
	}
	for i, r := range recs {
		if r.At < 0 || r.Latency < 0 || (i > 0 && r.At < recs[i-1].At) {
			t.Fatalf("record %d = %+v: negative or out of order", i, r)
		}
	}
}
