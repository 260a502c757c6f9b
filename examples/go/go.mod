module jwtgate-example

go 1.23

require github.com/jwtgate/jwtgate-go v0.0.0

// The package lives in this repository; nothing is downloaded.
replace github.com/jwtgate/jwtgate-go => ../../bindings-ffi/go
