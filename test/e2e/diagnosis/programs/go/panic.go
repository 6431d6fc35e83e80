// Indexes past a slice's end on /break: "panic: runtime error: index out of range [5] with length 3",
// exit 2. Built with tinyhttp.go.
package main

import "fmt"

func main() {
	replicas := []string{"a", "b", "c"}
	serve(func() {
		fmt.Println("picking replica 5")
		pick := len(replicas) + 2
		fmt.Println(replicas[pick])
	})
}
