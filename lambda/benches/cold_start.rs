//! `cargo bench -p databricks-provider --bench cold_start`: process start of the release
//! `bootstrap` binary to its first request to the Lambda runtime API, against a local runtime
//! API on 127.0.0.1 (the measure of a cold start that the provider controls), and the size of
//! the zip when `scripts/build-provider` has made it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for candidate in [
        "target/lambda/bootstrap/bootstrap",
        "target/release/bootstrap",
    ] {
        let p = root.join(candidate);
        if p.exists() {
            return p;
        }
    }
    panic!("build the provider first: scripts/build-provider (or cargo build --release -p databricks-provider)");
}

/// Starts the binary against a fresh local runtime API and returns the time to its first
/// `GET /2018-06-01/runtime/invocation/next`.
fn one_cold_start(bin: &PathBuf) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("address");
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "cdkrs-databricks-provider")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "eu-west-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let (mut socket, _) = listener.accept().expect("the runtime asks for an event");
    let elapsed = started.elapsed();
    let mut buf = [0u8; 1024];
    let n = socket.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(
        head.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "unexpected first request: {head}"
    );
    let _ = socket.write_all(b"HTTP/1.1 500 X\r\ncontent-length: 0\r\n\r\n");
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn main() {
    let bin = binary();
    let mut times: Vec<Duration> = (0..30).map(|_| one_cold_start(&bin)).collect();
    times.sort();
    println!(
        "cold start of {} (process start to first runtime API request): min {:.1} ms, median {:.1} ms, max {:.1} ms (30 runs)",
        bin.display(),
        times[0].as_secs_f64() * 1e3,
        times[15].as_secs_f64() * 1e3,
        times[29].as_secs_f64() * 1e3
    );
    let zip =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/lambda/bootstrap/bootstrap.zip");
    match std::fs::metadata(&zip) {
        Ok(m) => println!(
            "zip size: {} bytes ({:.2} MB)",
            m.len(),
            m.len() as f64 / 1e6
        ),
        Err(_) => println!("zip size: not built (scripts/build-provider)"),
    }
}
