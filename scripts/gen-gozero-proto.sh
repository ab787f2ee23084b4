#!/usr/bin/env bash
# Regenerates the Go code of the go-zero test services' proto (compat/gozero/shoppb). Only needed
# after editing shop.proto; the generated files are committed so tests need no protoc.
# Needs protoc (Debian: protobuf-compiler) and the Go plugins in the versions matching go.mod's
# google.golang.org/protobuf and google.golang.org/grpc:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.28.1
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.2.0
set -euo pipefail
cd "$(dirname "$0")/../compat/gozero/shoppb"
PATH="$(go env GOPATH)/bin:$PATH" protoc -I . --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative shop.proto
