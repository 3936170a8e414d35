//! Connection hygiene, done for real: slowloris clients without a token are
//! cut off at the header deadline, a trickle of bytes does not extend it, the
//! connection cap closes what is beyond it, and the API keeps answering.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leash_daemon::http::{ConnectionLimits, bind_api, serve_api_with};

use crate::support::TestDaemonHome;

struct Server {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
    _home: TestDaemonHome,
}

fn start(limits: ConnectionLimits) -> Server {
    let home = TestDaemonHome::new();
    let ctx = home.context(home.load("security:\n  execution_mode: prompt\n"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(bind_api("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(serve_api_with(Arc::clone(&ctx), listener, limits));
    Server {
        addr,
        _runtime: runtime,
        _home: home,
    }
}

/// `GET /healthz` on a fresh connection: the status line.
fn healthz(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.lines().next().unwrap_or("").to_owned()
}

/// A connection that sent half a request's headers and no token.
fn slow_client(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    s
}

/// Whether the server closed `s` (EOF or reset) within `wait`.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408-style answer before the close is fine
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false, // still open after `wait`
        }
    }
}

#[test]
fn two_hundred_slow_header_connections_are_closed_and_the_api_keeps_answering() {
    let limits = ConnectionLimits {
        max_connections: 256,
        header_read: Duration::from_secs(2),
        idle: Duration::from_secs(30),
    };
    let server = start(limits);
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..200).map(|_| slow_client(server.addr)).collect();
    // While they hang, the API answers.
    assert!(
        healthz(server.addr).contains("200"),
        "API stopped answering"
    );
    // A trickle of header bytes does not move the deadline.
    let mut trickle = slow_client(server.addr);
    let trickler = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(4);
        let mut sent = 0;
        while Instant::now() < until {
            if trickle.write_all(b"a").is_err() {
                return (sent, true);
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
        (
            sent,
            closed_within(&mut trickle, Duration::from_millis(100)),
        )
    });
    for (i, s) in slow.iter_mut().enumerate() {
        let left = (limits.header_read + Duration::from_secs(3)).saturating_sub(started.elapsed());
        assert!(
            closed_within(s, left.max(Duration::from_millis(50))),
            "slow connection {i} still open after {:?}",
            started.elapsed()
        );
    }
    let (sent, trickle_closed) = trickler.join().unwrap();
    assert!(
        trickle_closed,
        "a trickling client kept its connection ({sent} bytes)"
    );
    eprintln!(
        "200 slow-header connections closed after {:?} (deadline {:?}); trickler cut after {sent} bytes",
        started.elapsed(),
        limits.header_read
    );
    assert!(healthz(server.addr).contains("200"));
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once_and_service_resumes() {
    let limits = ConnectionLimits {
        max_connections: 8,
        header_read: Duration::from_secs(2),
        idle: Duration::from_secs(30),
    };
    let server = start(limits);
    let _held: Vec<TcpStream> = (0..8).map(|_| slow_client(server.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = slow_client(server.addr);
    assert!(
        closed_within(&mut extra, Duration::from_secs(1)),
        "a connection beyond the cap was kept"
    );
    // Once the header deadline frees the slots, the API answers again.
    std::thread::sleep(limits.header_read + Duration::from_millis(500));
    assert!(healthz(server.addr).contains("200"));
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let limits = ConnectionLimits {
        max_connections: 16,
        header_read: Duration::from_secs(1),
        idle: Duration::from_secs(1),
    };
    let server = start(limits);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then silent: closed after the timeout.
    assert!(
        closed_within(&mut s, Duration::from_secs(4)),
        "idle connection kept"
    );
}
