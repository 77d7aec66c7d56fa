//! A small driver for a headless Chromium over the DevTools protocol: start the browser, attach
//! to its page over a WebSocket, navigate, and evaluate JavaScript to read the DOM.

#![allow(dead_code)]

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::fs::File;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Where Debian's package puts the browser; `.ci/run` installs it when missing.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long any single DevTools answer may take before the browser counts as hung.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A running headless Chromium with a profile of its own; killed, with every helper process it
/// started, on drop.
pub struct Chromium {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Chromium {
    pub fn start() -> Result<Chromium> {
        let profile = tempfile::tempdir().context("a temporary profile directory")?;
        let log = File::create(profile.path().join("chromium.log"))?;
        let child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--remote-debugging-port=0", "about:blank"])
            // Its own process group, so that drop can kill the renderer and GPU helpers too.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {CHROMIUM}"))?;
        let mut browser = Chromium {
            child,
            port: 0,
            profile,
        };
        browser.port = browser.wait_for_port()?;
        Ok(browser)
    }

    /// Chromium writes the port it picked to DevToolsActivePort in the profile once it listens;
    /// reading that file spares parsing its stderr while it is still being written.
    fn wait_for_port(&mut self) -> Result<u16> {
        let file = self.profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
                    return Ok(port);
                }
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "chromium exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "chromium did not open its DevTools port in 60 s:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the browser printed so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromium.log")).unwrap_or_default()
    }

    /// Attaches to the browser's page (the `about:blank` it opened with).
    pub fn page(&self) -> Result<Page> {
        let list = format!("http://127.0.0.1:{}/json/list", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        // The first page target may be listed a moment after the port opens.
        let socket_url = loop {
            let targets: Value = ureq::get(&list)
                .call()
                .and_then(|mut r| r.body_mut().read_json())
                .with_context(|| format!("GET {list}"))?;
            let page = targets.as_array().and_then(|all| {
                all.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            });
            if let Some(url) = page {
                break url.to_string();
            }
            if Instant::now() > deadline {
                bail!("chromium lists no page target: {targets}");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let (socket, _) = tungstenite::connect(&socket_url)
            .with_context(|| format!("cannot open the DevTools socket {socket_url}"))?;
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        }
        Ok(Page { socket, next_id: 1 })
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser tab, driven by DevTools commands.
pub struct Page {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Page {
    /// Sends one command and returns its `result`, skipping the events that arrive meanwhile.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let command = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(command.to_string()))
            .with_context(|| format!("cannot send {method}"))?;
        loop {
            let message = self
                .socket
                .read()
                .with_context(|| format!("no answer to {method}"))?;
            let Message::Text(text) = message else {
                continue;
            };
            let answer: Value = serde_json::from_str(text.as_str())
                .with_context(|| format!("DevTools sent something that is not JSON: {text}"))?;
            if answer["id"] != id {
                continue;
            }
            if let Some(error) = answer.get("error") {
                bail!("{method} failed: {error}");
            }
            return Ok(answer["result"].clone());
        }
    }

    /// Starts loading `url`; use `wait_for` to know when the page shows what is expected.
    pub fn navigate(&mut self, url: &str) -> Result<()> {
        let result = self.call("Page.navigate", json!({ "url": url }))?;
        if let Some(error) = result["errorText"].as_str() {
            bail!("cannot load {url}: {error}");
        }
        Ok(())
    }

    /// Evaluates a JavaScript expression in the page and returns its value as JSON.
    pub fn eval(&mut self, expression: &str) -> Result<Value> {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        )?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("an exception");
            bail!("the page threw: {text}\nwhile evaluating: {expression}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Makes the page's viewport `width` x `height` CSS pixels at one device pixel each, as a
    /// projector of that resolution would show it.
    pub fn set_viewport(&mut self, width: u32, height: u32) -> Result<()> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )?;
        Ok(())
    }

    /// A PNG of what the viewport shows, saved to `path`; returns its size in pixels, read from
    /// the PNG's own header.
    pub fn screenshot(&mut self, path: &Path) -> Result<(u32, u32)> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let data = shot["data"]
            .as_str()
            .context("Page.captureScreenshot returned no data")?;
        let png = base64_decode(data)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, &png).with_context(|| format!("cannot write {}", path.display()))?;
        // The IHDR chunk follows the 8-byte signature and its own length and type.
        anyhow::ensure!(
            png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "not a PNG"
        );
        let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        Ok((be(16), be(20)))
    }

    /// Evaluates `expression` until `done` holds for its value; fails after `limit` with what
    /// the page showed last, named by `what`.
    pub fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        expression: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + limit;
        loop {
            // A page still loading may throw (its elements do not exist yet): try again.
            let last = self.eval(expression);
            if let Ok(value) = &last {
                if done(value) {
                    return Ok(value.clone());
                }
            }
            if Instant::now() > deadline {
                let shown = match last {
                    Ok(value) => format!("the page showed {value:#}"),
                    Err(e) => format!("{e:#}"),
                };
                return Err(anyhow!("waited {limit:?} for {what}; {shown}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Decodes standard base64 (what DevTools sends screenshots as).
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => bail!("not base64: {:?}", char::from(byte)),
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Ok(out)
}

/// Whether the browser can run here: true when installed; false (after a loud note) when it is
/// not and not required; an error when KATA_REQUIRE_BROWSER=1 demands it.
pub fn available() -> Result<bool> {
    if Path::new(CHROMIUM).exists() {
        return Ok(true);
    }
    if std::env::var("KATA_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        bail!(
            "KATA_REQUIRE_BROWSER=1 but {CHROMIUM} is not installed (apt-get install -y chromium)"
        );
    }
    // Straight to the process's stderr: the test harness captures eprintln! of passing tests,
    // and a skip nobody sees would pass for a browser test that ran.
    let banner = "=".repeat(66);
    let _ = writeln!(
        std::io::stderr(),
        "\n{banner}\n  skipped: chromium not installed ({CHROMIUM} is missing)\n  \
         the dashboard's browser test did NOT run; apt-get install -y chromium\n{banner}\n"
    );
    Ok(false)
}
