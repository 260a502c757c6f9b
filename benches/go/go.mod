module jwtgate-bench

go 1.23

require github.com/jwtgate/jwtgate-go v0.0.0

require github.com/golang-jwt/jwt/v5 v5.3.1

replace github.com/jwtgate/jwtgate-go => ../../bindings-ffi/go
