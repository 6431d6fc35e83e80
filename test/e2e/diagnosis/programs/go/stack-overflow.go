// Recurses without end on /break: with the stack capped at 8 MiB (debug.SetMaxStack) the Go runtime
// aborts with "fatal error: stack overflow", exit 2. Built with tinyhttp.go. (A deadlock would be the
// other classic fatal error, but the runtime does not detect one while the network poller is in use,
// which every server does.)
package main

import (
	"fmt"
	"runtime/debug"
)

// walk follows a tree whose every node is its own child (a cyclic config include, say).
func walk(depth int) int {
	var frame [64]byte
	frame[depth%64] = byte(depth)
	return walk(depth+1) + int(frame[0])
}

func main() {
	debug.SetMaxStack(8 << 20)
	serve(func() {
		fmt.Println("resolving config includes")
		fmt.Println(walk(0))
	})
}
