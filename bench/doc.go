// Package bench measures clawd-go beside its floors and its peers, in one
// run on one machine: the same tool call (a 21-byte session id, a 10-byte
// tool name, a 97-byte JSON input, a plugin that reads each string) through
// the loader in process, the host with 1, 16 and 100 plugins, the process
// sandbox, the WASM runtime, hashicorp/go-plugin over net/rpc and gRPC,
// and the floors (C calling the vtable, the hand-written call, a raw pipe
// round trip between two processes).
//
// It is a module of its own, so that the peers never become dependencies
// of the library. There is no API: the benchmarks are in peers_test.go,
// and cmd/benchreport turns their output into the table and chart in
// results/ (make bench does both).
//
// Every benchmark times its subject and a reference in alternating blocks
// of the same loop, so both see the same machine, and reports:
//
//	ns/op     the subject's time per call
//	ref-ns/op the reference's time per call, measured in the same loop
//	x-ref     subject over reference (for the host rows: per plugin)
//
// The benchmark's name says what the reference is: .../vs=loader.
package bench
