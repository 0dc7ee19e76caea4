//! Talking to the running server of a project, found through `.openkit/server.json`.
//!
//! A small blocking HTTP/1.1 client is enough: the server is on loopback and answers JSON.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use openkit_core::Paths;
use serde_json::Value;

/// The running server of a project.
pub struct ServerClient {
    host: String,
    port: u16,
    actor: Option<String>,
}

impl ServerClient {
    /// Finds the server from `.openkit/server.json`; a clear error when none runs.
    pub fn find(paths: &Paths) -> anyhow::Result<Self> {
        let file = paths.server_file();
        let record: Value = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| {
                anyhow!(
                    "no OpenKit server is running for {} (start one with `openkit serve`)",
                    paths.project_root().display()
                )
            })?;
        let url = record["url"].as_str().unwrap_or_default();
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("{} names no http URL", file.display()))?;
        let (host, port) = rest
            .trim_end_matches('/')
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)))
            .ok_or_else(|| anyhow!("{} has a malformed URL {url:?}", file.display()))?;
        let client = ServerClient {
            host,
            port,
            actor: None,
        };
        // A stale file from a crashed server: nobody listens.
        TcpStream::connect_timeout(&client.addr()?, Duration::from_secs(2)).map_err(|_| {
            anyhow!(
                "the OpenKit server in {} (pid {}) is not running; start one with `openkit serve`",
                file.display(),
                record["pid"]
            )
        })?;
        Ok(client)
    }

    /// The URL of `path` on the server, by address (`http://127.0.0.1:<port><path>`).
    pub fn url(&self, path: &str) -> String {
        match self.addr() {
            Ok(addr) => format!("http://{addr}{path}"),
            Err(_) => format!("http://{}:{}{path}", self.host, self.port),
        }
    }

    fn addr(&self) -> anyhow::Result<std::net::SocketAddr> {
        let ip = if self.host == "localhost" {
            "127.0.0.1"
        } else {
            self.host.as_str()
        };
        format!("{ip}:{}", self.port)
            .parse()
            .context("server address")
    }

    /// Makes every request on behalf of `actor` (`agent:<scope>`), sent as the
    /// `X-OpenKit-Actor` header; `None` sends none (a human).
    pub fn with_actor(mut self, actor: Option<String>) -> Self {
        self.actor = actor;
        self
    }

    /// Sends a JSON request and returns the JSON answer; an error envelope becomes an error.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let (status, value) = self.exchange(method, path, body)?;
        if !(200..300).contains(&status) {
            bail!("{}", value["error"].as_str().unwrap_or("request failed"));
        }
        Ok(value)
    }

    /// Sends a JSON request and returns the status and the JSON answer, whatever it is.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut stream = TcpStream::connect_timeout(&self.addr()?, Duration::from_secs(5))
            .context("connecting to the OpenKit server")?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let actor = self
            .actor
            .as_deref()
            .map(|a| format!("{}: {a}\r\n", openkit_http::routes::git::ACTOR_HEADER))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\n{actor}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            self.port,
            payload.len()
        )?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line)?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut content_length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse::<usize>().ok();
            }
        }
        let mut raw = Vec::new();
        match content_length {
            Some(n) => {
                raw.resize(n, 0);
                reader.read_exact(&mut raw)?;
            }
            None => {
                reader.read_to_end(&mut raw)?;
            }
        }
        let value: Value = serde_json::from_slice(&raw)
            .with_context(|| format!("the server answered {status} with non-JSON"))?;
        Ok((status, value))
    }
}
