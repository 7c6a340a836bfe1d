//go:build unix && !aix && !(linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le))

package rawsock

import "syscall"

// recv, send and peek pass MSG_DONTWAIT, as on Linux (sys_sendto.go): a
// socket someone switched to blocking mode (net.TCPConn.File does) must
// not hold the caller in a read or write that deadlines cannot end.
func recv(fd uintptr, p []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), p, syscall.MSG_DONTWAIT)
	return n, err
}

func send(fd uintptr, p []byte) (int, error) {
	return syscall.SendmsgN(int(fd), p, nil, nil, syscall.MSG_DONTWAIT)
}

func peek(fd uintptr, p []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, err
}
