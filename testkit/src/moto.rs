//! moto on 127.0.0.1 for end-to-end tests (feature `moto`), with custom resources and Lambda
//! invocations run by our real provider binary instead of Docker.
//!
//! [`MotoServer::start`] runs `testkit/moto_launcher.py` with the venv's Python (see
//! [`crate::venv_tool`]). The launcher patches moto so that every Lambda invocation reaches a
//! local provider process through the Lambda Runtime API, and custom resources get real
//! Create/Update/Delete events whose answers (Data, PhysicalResourceId, FAILED with a Reason) take
//! effect; the launcher's docstring lists each patch and the moto gap it covers.
//!
//! ```no_run
//! use testkit::moto::{MotoOptions, MotoServer};
//! let moto = MotoServer::start(
//!     MotoOptions::with_provider(testkit::provider_binary())
//!         .env("DATABRICKS_ACCOUNTS_HOST", "http://127.0.0.1:4567"),
//! )
//! .expect("moto starts");
//! let arn = moto.put_secret("databricks/client-secret", "s3cr3t").expect("a secret");
//! // … point the SDK or the cdkrs CLI at moto.endpoint_url() (region us-east-1, any keys) …
//! # let _ = arn;
//! ```
//!
//! The small HTTP helpers ([`MotoServer::query`], [`MotoServer::json`], [`MotoServer::request`])
//! send unsigned requests with a SigV4-shaped `Authorization` header: moto reads the service and
//! region from its credential scope and checks no signature. Calls that run custom resources
//! (ExecuteChangeSet, DeleteStack, …) block until the provider answered, so a test that also
//! serves the fake Databricks on tokio must use a multi-thread runtime.
//!
//! ExecuteChangeSet, RollbackStack and ContinueUpdateRollback answer at once and run in the
//! background, as in CloudFormation ([`MotoServer::wait_stack`] polls until the stack is stable); a
//! failure rolls back unless `DisableRollback`. The contract the launcher implements (statuses,
//! events, errors) is in `testkit/moto_cfn_lifecycle.py`'s docstring.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::{venv_tool, workspace_root};

/// The region every helper signs for (moto keeps one backend per region).
pub const REGION: &str = "us-east-1";

/// The line the launcher prints once moto listens (followed by the port).
const READY: &str = "moto_launcher ready port=";

/// How the launcher runs. `Default`: no provider, no overrides, a 120 s custom-resource wait,
/// 60 s to start.
#[derive(Debug, Clone)]
pub struct MotoOptions {
    /// The provider binary that runs every Lambda invocation ([`crate::provider_binary`]).
    /// `None`: invocations fail with `Runtime.InvalidEntrypoint`.
    pub provider: Option<PathBuf>,
    /// Environment of the provider process, over the function's own variables and the reserved
    /// ones (`AWS_ENDPOINT_URL`, `AWS_REGION`, …), e.g. `DATABRICKS_ACCOUNTS_HOST`, `RUST_LOG`.
    pub provider_env: Vec<(String, String)>,
    /// The longest wait for a custom resource's answer (its `ServiceTimeout` when shorter);
    /// past it the API call that ran the request fails.
    pub custom_resource_timeout: Duration,
    /// The longest wait for moto to listen.
    pub startup_timeout: Duration,
    /// Logical ids whose every rollback step fails (`--fail-rollback-of`): a failed update whose
    /// rollback reaches one ends in `UPDATE_ROLLBACK_FAILED` (a failed create in
    /// `ROLLBACK_FAILED`), until `ContinueUpdateRollback` skips it with `ResourcesToSkip`.
    pub fail_rollback_of: Vec<String>,
}

impl Default for MotoOptions {
    fn default() -> Self {
        MotoOptions {
            provider: None,
            provider_env: Vec::new(),
            custom_resource_timeout: Duration::from_secs(120),
            startup_timeout: Duration::from_secs(60),
            fail_rollback_of: Vec::new(),
        }
    }
}

impl MotoOptions {
    /// Default options with this provider binary.
    pub fn with_provider(provider: impl Into<PathBuf>) -> MotoOptions {
        MotoOptions {
            provider: Some(provider.into()),
            ..MotoOptions::default()
        }
    }

    /// Adds a provider environment override.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> MotoOptions {
        self.provider_env.push((key.into(), value.into()));
        self
    }

    /// Makes every rollback step of this logical resource fail ([`MotoOptions::fail_rollback_of`]).
    pub fn fail_rollback_of(mut self, logical_id: impl Into<String>) -> MotoOptions {
        self.fail_rollback_of.push(logical_id.into());
        self
    }
}

/// What can go wrong starting or calling moto.
#[derive(Debug)]
#[non_exhaustive]
pub enum MotoError {
    /// The launcher could not be spawned or its log created.
    Spawn {
        /// What was being done.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// The launcher exited, or did not get ready in time; `log_tail` says why.
    NotReady {
        /// What happened (`exited with …`, `not ready within …`).
        what: String,
        /// The launcher's log file.
        log: PathBuf,
        /// Its last lines.
        log_tail: String,
    },
    /// A request to moto failed on the wire.
    Io {
        /// `METHOD path`.
        request: String,
        /// The cause.
        source: io::Error,
    },
    /// moto answered an error status.
    Status {
        /// `METHOD path` (and the action or target).
        request: String,
        /// The HTTP status.
        status: u16,
        /// The body (moto's error XML or JSON).
        body: String,
    },
}

impl fmt::Display for MotoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MotoError::Spawn { what, source } => write!(f, "{what}: {source}"),
            MotoError::NotReady {
                what,
                log,
                log_tail,
            } => write!(
                f,
                "moto {what}; the end of its log ({}):\n{log_tail}",
                log.display()
            ),
            MotoError::Io { request, source } => write!(f, "{request}: {source}"),
            MotoError::Status {
                request,
                status,
                body,
            } => write!(f, "{request} answered HTTP {status}: {body}"),
        }
    }
}

impl std::error::Error for MotoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MotoError::Spawn { source, .. } | MotoError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An HTTP answer from moto.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, as received.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A running moto launcher. Dropping it stops the launcher and every provider process it
/// started (its process group) and reaps the launcher.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    /// Held open: the launcher exits when it closes, even if this process is killed.
    stdin: Option<ChildStdin>,
    port: u16,
    log_path: PathBuf,
    request_timeout: Duration,
}

impl MotoServer {
    /// Starts the launcher on a free 127.0.0.1 port (the launcher binds port 0 and reports it, so
    /// no other process can take the port in between) and waits until moto listens.
    ///
    /// # Panics
    /// When the venv's Python is missing ([`crate::venv_tool`]).
    pub fn start(options: MotoOptions) -> Result<MotoServer, MotoError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let log_path = std::env::temp_dir().join(format!(
            "cdkrs-moto-{}-{}.log",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let spawn_err = |what: &str| {
            let what = what.to_owned();
            move |source| MotoError::Spawn { what, source }
        };
        let log = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&log_path)
            .map_err(spawn_err(&format!("creating {}", log_path.display())))?;
        let log_err = log.try_clone().map_err(spawn_err("sharing the log file"))?;

        let python = venv_tool("python");
        let launcher = workspace_root().join("testkit/moto_launcher.py");
        let mut cmd = Command::new(&python);
        cmd.arg("-u")
            .arg(&launcher)
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .arg("--custom-resource-timeout")
            .arg(options.custom_resource_timeout.as_secs_f64().to_string());
        if let Some(provider) = &options.provider {
            cmd.arg("--provider").arg(provider);
        }
        for (k, v) in &options.provider_env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        for logical_id in &options.fail_rollback_of {
            cmd.arg("--fail-rollback-of").arg(logical_id);
        }
        // Its own process group: Drop kills the launcher and the providers it spawned at once.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(spawn_err(&format!(
                "starting {} {}",
                python.display(),
                launcher.display()
            )))?;
        let stdin = child.stdin.take();
        let mut server = MotoServer {
            child,
            stdin,
            port: 0,
            log_path,
            request_timeout: options.custom_resource_timeout + Duration::from_secs(60),
        };

        let deadline = Instant::now() + options.startup_timeout;
        loop {
            if let Some(port) = server.log().lines().find_map(|l| l.strip_prefix(READY)) {
                server.port = port
                    .trim()
                    .parse()
                    .map_err(|_| server.not_ready("printed a bad port"))?;
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(server.not_ready(&format!("exited with {status} before it was ready")));
            }
            if Instant::now() > deadline {
                return Err(server.not_ready(&format!(
                    "was not ready within {:?}",
                    options.startup_timeout
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn not_ready(&self, what: &str) -> MotoError {
        MotoError::NotReady {
            what: what.to_owned(),
            log: self.log_path.clone(),
            log_tail: self.log_tail(40),
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` / `--endpoint-url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points an AWS SDK or CLI process (the `cdkrs` binary) at this moto:
    /// endpoint, region [`REGION`], dummy keys, and no profile files or instance metadata, so
    /// nothing of the developer's AWS setup is used (remove `AWS_PROFILE` and `AWS_SESSION_TOKEN`
    /// from the child's environment too). Retries stay at the SDK's default.
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint_url()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ]
    }

    /// Like [`MotoServer::client_env`], but the caller is in `account` (12 digits): moto decides a
    /// request's account by its access key (`moto/iam/models.py`, `get_account_id_from`; the keys
    /// `testing` belong to no account, so they act in the default 123456789012), and STS
    /// AssumeRole into a role of another account hands out keys of that account
    /// (`moto/sts/models.py`: "The ARN can point to another account"). This assumes
    /// `arn:aws:iam::<account>:role/cdkrs-test-caller` (moto does not require the role to exist)
    /// and returns its temporary keys with `AWS_SESSION_TOKEN`; `GetCallerIdentity` then answers
    /// `account`, and what the process creates lands in that account's backends.
    pub fn client_env_for_account(
        &self,
        account: &str,
    ) -> Result<Vec<(&'static str, String)>, MotoError> {
        let role = format!("arn:aws:iam::{account}:role/cdkrs-test-caller");
        let out = self.query(
            "sts",
            &[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", &role),
                ("RoleSessionName", "cdkrs-test"),
            ],
        )?;
        let one = |tag: &str| xml_values(&out, tag).pop().unwrap_or_default();
        let mut env: Vec<(&'static str, String)> = self
            .client_env()
            .into_iter()
            .filter(|(k, _)| !matches!(*k, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY"))
            .collect();
        env.push(("AWS_ACCESS_KEY_ID", one("AccessKeyId")));
        env.push(("AWS_SECRET_ACCESS_KEY", one("SecretAccessKey")));
        env.push(("AWS_SESSION_TOKEN", one("SessionToken")));
        Ok(env)
    }

    /// Polls DescribeStacks (every 100 ms, up to `timeout`) until `stack` is in no
    /// `*_IN_PROGRESS` status (change sets run in the background: the launcher's patch 15), and
    /// returns every status seen, in order, the stable one last.
    pub fn wait_stack(&self, stack: &str, timeout: Duration) -> Result<Vec<String>, MotoError> {
        let deadline = Instant::now() + timeout;
        let mut seen: Vec<String> = Vec::new();
        loop {
            let out = self.query(
                "cloudformation",
                &[("Action", "DescribeStacks"), ("StackName", stack)],
            )?;
            let status = xml_values(&out, "StackStatus").pop().unwrap_or_default();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if !status.ends_with("_IN_PROGRESS") {
                return Ok(seen);
            }
            if Instant::now() > deadline {
                return Err(MotoError::Io {
                    request: format!("DescribeStacks {stack}"),
                    source: io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("still {status} after {timeout:?} (seen {seen:?})"),
                    ),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The launcher's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The launcher's log: moto's request lines, the launcher's notes, each provider's output.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// One HTTP request to moto for `service` (the credential scope moto routes by). Any status
    /// comes back as is; only wire failures are errors. Waits as long as a custom resource may
    /// take.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        service: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<HttpResponse, MotoError> {
        let what = format!("{method} {path}");
        let io_err = |source| MotoError::Io {
            request: what.clone(),
            source,
        };
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(io_err)?;
        stream
            .set_read_timeout(Some(self.request_timeout))
            .map_err(io_err)?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
             X-Amz-Date: 20250101T000000Z\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {len}\r\n",
            port = self.port,
            len = body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(io_err)?;
        stream.write_all(body).map_err(io_err)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(io_err)?;
        parse_response(&raw).ok_or_else(|| {
            io_err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an HTTP response: {}", String::from_utf8_lossy(&raw)),
            ))
        })
    }

    /// An AWS query-protocol call (CloudFormation, IAM, STS, …): form-encoded `params` (with
    /// `Action`), the XML body on 2xx, [`MotoError::Status`] otherwise.
    pub fn query(&self, service: &str, params: &[(&str, &str)]) -> Result<String, MotoError> {
        let body = params
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let action = params
            .iter()
            .find(|(k, _)| *k == "Action")
            .map_or("", |(_, v)| v);
        let resp = self.request(
            "POST",
            "/",
            service,
            &[(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body.as_bytes(),
        )?;
        ok_text(resp, format!("{service} {action}"))
    }

    /// An AWS JSON-protocol call (`target` like `secretsmanager.CreateSecret`,
    /// `AmazonSSM.PutParameter`): the answer's JSON on 2xx, [`MotoError::Status`] otherwise.
    pub fn json(
        &self,
        service: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, MotoError> {
        let resp = self.request(
            "POST",
            "/",
            service,
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", target),
            ],
            body.to_string().as_bytes(),
        )?;
        let text = ok_text(resp, target.to_owned())?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Creates a Secrets Manager secret (the provider's OAuth secret, for
    /// `DATABRICKS_CLIENT_SECRET_ARN`) and returns its ARN.
    pub fn put_secret(&self, name: &str, value: &str) -> Result<String, MotoError> {
        let out = self.json(
            "secretsmanager",
            "secretsmanager.CreateSecret",
            &serde_json::json!({"Name": name, "SecretString": value}),
        )?;
        Ok(out["ARN"].as_str().unwrap_or_default().to_owned())
    }

    /// Creates or overwrites an SSM SecureString parameter (for
    /// `DATABRICKS_CLIENT_SECRET_SSM_PARAMETER`).
    pub fn put_secure_parameter(&self, name: &str, value: &str) -> Result<(), MotoError> {
        self.json(
            "ssm",
            "AmazonSSM.PutParameter",
            &serde_json::json!({"Name": name, "Value": value, "Type": "SecureString", "Overwrite": true}),
        )
        .map(drop)
    }

    /// Puts an object into S3, creating the bucket first when missing (Lambda code, templates).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> Result<(), MotoError> {
        let head = self.request("HEAD", &format!("/{bucket}"), "s3", &[], b"")?;
        if head.status == 404 {
            let created = self.request("PUT", &format!("/{bucket}"), "s3", &[], b"")?;
            ok_text(created, format!("s3 CreateBucket {bucket}"))?;
        }
        let put = self.request("PUT", &format!("/{bucket}/{key}"), "s3", &[], body)?;
        ok_text(put, format!("s3 PutObject {bucket}/{key}")).map(drop)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // Ask first: the launcher stops its providers and reaps them.
        self.stdin.take();
        // SAFETY: plain syscalls on our own child and its process group.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.exited_unreaped() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        // Then make sure, while the launcher is still unreaped so its group id cannot be reused.
        // SAFETY: as above.
        unsafe { libc::killpg(pid, libc::SIGKILL) };
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("moto's log is kept at {}", self.log_path.display());
        } else {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

impl MotoServer {
    /// Whether the launcher has exited (without reaping it).
    fn exited_unreaped(&self) -> bool {
        // SAFETY: `info` is plain data that waitid fills; WNOWAIT leaves the child reapable.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc = libc::waitid(
                libc::P_PID,
                self.child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            rc != 0 || info.si_pid() != 0
        }
    }
}

/// The body of a 2xx answer as text, else [`MotoError::Status`].
fn ok_text(resp: HttpResponse, request: String) -> Result<String, MotoError> {
    if (200..300).contains(&resp.status) {
        Ok(resp.text())
    } else {
        Err(MotoError::Status {
            request,
            status: resp.status,
            body: resp.text(),
        })
    }
}

/// `application/x-www-form-urlencoded` for one key or value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Parses a whole HTTP/1.x response read to EOF.
fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut resp = HttpResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if resp
        .header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        resp.body = dechunk(&resp.body);
    }
    Some(resp)
}

/// Decodes a chunked body.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        let start = eol + 2;
        if size == 0 || data.len() < start + size {
            break;
        }
        out.extend_from_slice(&data[start..start + size]);
        data = data.get(start + size + 2..).unwrap_or_default();
    }
    out
}

/// The texts of every `<tag>…</tag>` in `xml`, in order (enough for moto's query answers:
/// `xml_values(&body, "StackStatus")`). Entities are decoded.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(
            after[..end]
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_everything_but_unreserved() {
        assert_eq!(form_encode("a b/{\"x\":1}~"), "a%20b%2F%7B%22x%22%3A1%7D~");
    }

    #[test]
    fn a_chunked_response_is_decoded() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let resp = parse_response(raw).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), "abcde");
    }

    #[test]
    fn xml_values_are_found_in_order_and_unescaped() {
        let xml =
            "<a><StackStatus>CREATE_COMPLETE</StackStatus><StackStatus>x &amp; y</StackStatus></a>";
        assert_eq!(xml_values(xml, "StackStatus"), ["CREATE_COMPLETE", "x & y"]);
        assert!(xml_values(xml, "Missing").is_empty());
    }
}
