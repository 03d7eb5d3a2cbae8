// Package benchfloor holds the floors the benchmarks compare the host
// with, measured in the same run: the cheapest hand-written way to make the
// same call without clawd-go. With cgo: a fixed-arity cgo call of the
// callback (strings copied into a reused C buffer, as any caller holding Go
// strings must) and a bare //export callback. Without cgo: a bare
// purego.SyscallN on the same pointer and a bare purego callback.
package benchfloor
