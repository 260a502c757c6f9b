module jwtgate-bench

go 1.23

require jwtgate v0.0.0

require github.com/golang-jwt/jwt/v5 v5.3.1

replace jwtgate => ../../bindings-ffi/go
