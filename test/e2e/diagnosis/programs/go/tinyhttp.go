// A tiny HTTP/1.0 responder on 127.0.0.1:$PORT for the corpus's Go programs (package net only, one
// connection at a time, like c/tiny-http.h): /health and /break answer 200, and after answering
// /break it calls the program's onBreak, which fails in its one way. Built together with one program:
// `go build -o x go/panic.go go/tinyhttp.go`.
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
)

func serve(onBreak func()) {
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s pid=%d\n", l.Addr(), os.Getpid())
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		buf := make([]byte, 1024)
		n, _ := c.Read(buf)
		req := string(buf[:n])
		if strings.HasPrefix(req, "GET /health ") || strings.HasPrefix(req, "GET /break ") {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
		} else {
			fmt.Fprint(c, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}
		c.Close()
		if strings.HasPrefix(req, "GET /break ") {
			onBreak()
		}
	}
}
