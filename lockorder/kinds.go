package lockorder

import "github.com/bulwark-go/bulwark"

// The kinds of the events a Checker reports to Config.Observer, with
// Policy "lockorder" and Name the lock's name.
var (
	// KindInversion: a lock-order inversion was detected. Err describes it
	// (an *InversionError); Stack is the stack that took the locks in the
	// wrong order. Its name, the "kind" of logs, is "inversion".
	KindInversion = bulwark.NewKind("inversion")
	// KindLongWait: a lock wait passed the reporting threshold. Delay is
	// the wait, Err a *LongWaitError, Stack the stack of the lock's holder.
	// Its name is "long_wait".
	KindLongWait = bulwark.NewKind("long_wait")
)
