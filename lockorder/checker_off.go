//go:build !lockorder_check

package lockorder

// BuildChecked reports whether the program was built with the
// lockorder_check build tag, which keeps the checker on from the start.
const BuildChecked = false
