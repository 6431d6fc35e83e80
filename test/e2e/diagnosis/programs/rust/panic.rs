// A std-only HTTP/1.0 responder on 127.0.0.1:$PORT that panics on /break: the Rust runtime prints
// "thread 'main' panicked at <file>:<line>:<col>:" and the message, and the process exits with 101.
use std::io::{Read, Write};
use std::net::TcpListener;

fn main() {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).expect("PORT must be set");
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    println!("listening on 127.0.0.1:{} pid={}", port, std::process::id());
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap_or(0);
        let req = String::from_utf8_lossy(&buf[..n]);
        let (status, body) = if req.starts_with("GET /health ") {
            ("200 OK", "ok\n")
        } else if req.starts_with("GET /break ") {
            ("200 OK", "breaking\n")
        } else {
            ("404 Not Found", "")
        };
        let _ = write!(s, "HTTP/1.0 {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status, body.len(), body);
        drop(s);
        if req.starts_with("GET /break ") {
            println!("loading shard map");
            let shards: Vec<u32> = Vec::new();
            let first = shards.first().copied();
            first.expect("shard map is empty");
        }
    }
}
