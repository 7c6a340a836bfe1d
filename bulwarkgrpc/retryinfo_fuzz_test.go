package bulwarkgrpc

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// statusBytes is the wire form of a status with the given details.
func statusBytes(f *testing.F, c codes.Code, details ...proto.Message) []byte {
	st := &spb.Status{Code: int32(c), Message: "m"}
	for _, d := range details {
		a, err := anypb.New(d)
		if err != nil {
			f.Fatal(err)
		}
		st.Details = append(st.Details, a)
	}
	b, err := proto.Marshal(st)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzRetryDelay decodes a google.rpc.Status from arbitrary bytes, as a
// client receives it in grpc-status-details-bin, and reads it as the
// client does: RetryDelay and the pushback wrapper never panic, and a delay
// they report is never negative and is the one a RetryInfo detail holds.
func FuzzRetryDelay(f *testing.F) {
	f.Add(statusBytes(f, codes.Unavailable, &errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)}))
	f.Add(statusBytes(f, codes.ResourceExhausted, &errdetails.RetryInfo{RetryDelay: durationpb.New(-time.Second)}))
	f.Add(statusBytes(f, codes.ResourceExhausted, &errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: 1 << 62}}))
	f.Add(statusBytes(f, codes.Unavailable, &errdetails.RetryInfo{RetryDelay: &durationpb.Duration{Seconds: 1, Nanos: -5}}))
	f.Add(statusBytes(f, codes.Unavailable, &errdetails.RetryInfo{}))
	f.Add(statusBytes(f, codes.Unavailable, &errdetails.ErrorInfo{Reason: "x"}, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}))
	f.Add(statusBytes(f, codes.OK))
	f.Add(statusBytes(f, codes.Code(999)))
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x03, 0x0a, 0x01, 0x78}) // a detail whose type URL is "x"
	f.Fuzz(func(t *testing.T, data []byte) {
		var p spb.Status
		if err := proto.Unmarshal(data, &p); err != nil {
			return
		}
		st := status.FromProto(&p)
		err := st.Err()
		d, ok := RetryDelay(err)
		if !ok {
			if d != 0 {
				t.Fatalf("RetryDelay = %v, false", d)
			}
		} else {
			if d < 0 {
				t.Fatalf("RetryDelay = %v, true: negative", d)
			}
			found := false
			for _, det := range st.Details() {
				if ri, isRI := det.(*errdetails.RetryInfo); isRI && ri.GetRetryDelay() != nil && ri.GetRetryDelay().AsDuration() == d {
					found = true
				}
			}
			if !found {
				t.Fatalf("RetryDelay = %v, true, but no RetryInfo detail holds it", d)
			}
		}
		_ = Code(err)
		if w := withPushback(err); err != nil && w == nil {
			t.Fatal("withPushback lost the error")
		}
	})
}
