//go:build unix && !aix && !(linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le))

package rawsock

import "syscall"

func recv(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }

func send(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }

func peek(fd uintptr, p []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, err
}
