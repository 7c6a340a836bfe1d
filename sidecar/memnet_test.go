package sidecar

import "github.com/bulwark-go/bulwark/sidecar/internal/memnet"

// memNet is the tests' in-memory network (virtual time in synctest bubbles).
type memNet = memnet.Network

func newMemNet() *memNet { return memnet.New() }
