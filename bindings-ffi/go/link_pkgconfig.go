//go:build jwtgate_pkgconfig

package jwtgate

// An installed C library (`make -C bindings-ffi install PREFIX=...`, or the dist tarball):
// `-tags jwtgate_pkgconfig` with PKG_CONFIG_PATH naming its lib/pkgconfig. For platforms the
// published module carries no library for, and for distributions that package libjwtgate.
// It links libjwtgate.so unless the linker is told otherwise (`-extldflags`).

// #cgo pkg-config: jwtgate
import "C"
