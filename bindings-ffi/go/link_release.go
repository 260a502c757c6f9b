//go:build jwtgate_release && !jwtgate_pkgconfig

package jwtgate

// In the jwtgate repository: the static library from `cargo build --release -p jwtgate-ffi`.
// Not published (see link_debug.go).

// #cgo CFLAGS: -I${SRCDIR}/../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libjwtgate_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
import "C"
