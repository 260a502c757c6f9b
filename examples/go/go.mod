module jwtgate-example

go 1.23

require jwtgate v0.0.0

// The package lives in this repository; nothing is downloaded.
replace jwtgate => ../../bindings-ffi/go
