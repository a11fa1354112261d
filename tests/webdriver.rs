//! The desktop app driven as a person would: the real binary under a
//! virtual display (Xvfb), through `tauri-driver` and WebKitWebDriver,
//! spoken to over the W3C WebDriver protocol (plain JSON over HTTP).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{SecretService, binary};

/// The W3C key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A virtual X display.
pub struct Display {
    child: Child,
    /// `:N`.
    pub name: String,
}

impl Display {
    /// Starts `Xvfb` on the first free display number from 91 on.
    pub fn start() -> Display {
        for n in 91..140 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .arg(format!(":{n}"))
                .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb (make deps installs it)");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Display {
                        child,
                        name: format!(":{n}"),
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("no free X display for Xvfb");
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a helper process wrote to its log, for a failure message.
fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `tauri-driver` from `PATH` or `~/.cargo/bin`.
pub fn tauri_driver() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from(home).join(".cargo/bin")])
        .map(|dir| dir.join("tauri-driver"))
        .find(|p| p.is_file())
        .expect("tauri-driver is missing: `make desktop-test-tools` installs it")
}

/// A WebDriver session on the real app.
pub struct App {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    /// The display the app is on.
    pub display: String,
}

impl App {
    /// Starts the desktop app on `display` with the environment of `keys`
    /// (session bus and Secret Service, home directory) plus `env`.
    pub fn start(display: &Display, keys: &SecretService, env: &[(&str, &str)]) -> App {
        let port = free_port();
        let native = free_port();
        let driver_log_path = std::env::temp_dir().join(format!("signet-tauri-driver-{port}.log"));
        let driver_log = std::fs::File::create(&driver_log_path).expect("the driver's log file");
        let mut command = keys.command(tauri_driver());
        command
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", &display.name)
            .env("SIGNET_SIGNER", binary("signet-signer"))
            .envs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .stdout(Stdio::null())
            .stderr(driver_log.try_clone().expect("the driver's log"));
        let driver = command.spawn().expect("start tauri-driver");
        // tauri-driver listens at once and starts WebKitWebDriver beside it;
        // a session asked for before both listen is dropped unanswered.
        let deadline = Instant::now() + Duration::from_secs(20);
        for listening in [port, native] {
            while TcpStream::connect(("127.0.0.1", listening)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "the WebDriver on port {listening} did not listen:\n{}",
                    read_log(&driver_log_path)
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .new_agent();
        let base = format!("http://127.0.0.1:{port}");
        let mut app = App {
            driver,
            base,
            session: String::new(),
            agent,
            display: display.name.clone(),
        };
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": { "application": binary("signet-desktop") }
                }
            }
        });
        // A machine under load may still drop the first request while the
        // native driver settles: a few tries, then the driver's own words.
        let mut tries = 0;
        let created = loop {
            tries += 1;
            match app.try_raw("POST", "/session", Some(capabilities.clone())) {
                Ok(created) if created["sessionId"].is_string() => break created,
                outcome if tries < 4 => {
                    eprintln!("WebDriver session not created yet ({outcome:?}); trying again");
                    std::thread::sleep(Duration::from_secs(1));
                }
                outcome => panic!(
                    "no WebDriver session after {tries} tries: {outcome:?}\ntauri-driver said:\n{}",
                    read_log(&driver_log_path)
                ),
            }
        };
        let _ = std::fs::remove_file(&driver_log_path);
        app.session = created["sessionId"].as_str().expect("a session id").to_owned();
        app
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_raw(method, path, body).expect("WebDriver request")
    }

    fn try_raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let mut response = match body {
            // Every WebDriver command with a body is a POST.
            Some(body) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.to_string())?,
            None => match method {
                "DELETE" => self.agent.delete(&url).call()?,
                _ => self.agent.get(&url).call()?,
            },
        };
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(value.get("value").cloned().unwrap_or(Value::Null))
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Runs `script` in the page (arguments as `arguments[i]`) and returns its value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.command("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// The first element matching `css`, if there is one now.
    fn find(&self, css: &str) -> Option<String> {
        let found = self.command(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found.get(ELEMENT).and_then(Value::as_str).map(str::to_owned)
    }

    /// Waits up to `within` for a visible element matching `css`.
    pub fn wait_visible(&self, css: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(id) = self.find(css)
                && self.command("GET", &format!("/element/{id}/displayed"), None) == Value::Bool(true)
            {
                return id;
            }
            if Instant::now() >= deadline {
                self.failure_screenshot();
                panic!("no visible `{css}` after {within:?}\npage:\n{}", self.body_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether an element matching `css` is there and shown now.
    pub fn is_visible(&self, css: &str) -> bool {
        self.find(css)
            .is_some_and(|id| self.command("GET", &format!("/element/{id}/displayed"), None) == Value::Bool(true))
    }

    /// Clicks the visible element matching `css`.
    /// A click the page refuses for a moment (the element is covered by the
    /// progress display, or re-rendered) is tried again for up to 20 s.
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let id = self.wait_visible(css, Duration::from_secs(20));
            let answer = self.command("POST", &format!("/element/{id}/click"), Some(json!({})));
            let Some(error) = answer.get("error") else {
                return;
            };
            if Instant::now() >= deadline {
                self.failure_screenshot();
                panic!("clicking `{css}` failed: {error} {}", answer["message"]);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Clears the field matching `css` and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.wait_visible(css, Duration::from_secs(20));
        self.command("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.command("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    /// Chooses `paths` in the file input matching `css`, as a person picking
    /// several files in the dialog does.
    pub fn upload(&self, css: &str, paths: &[&Path]) {
        let id = self.wait_visible(css, Duration::from_secs(20));
        let text = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        self.command("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    /// Sets a field's value directly and fires `input` and `change` (dates, selects).
    pub fn set_value(&self, css: &str, value: &str) {
        self.wait_visible(css, Duration::from_secs(20));
        self.script(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1];\
             e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([css, value]),
        );
    }

    /// The visible text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let id = self.wait_visible(css, Duration::from_secs(20));
        self.command("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the element matching `css` shows text containing `needle`; returns the text.
    pub fn wait_text(&self, css: &str, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.find(css).map(|_| self.text(css)).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            if Instant::now() >= deadline {
                self.failure_screenshot();
                panic!(
                    "`{css}` never showed `{needle}` (shows `{text}`)\npage:\n{}",
                    self.body_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// On failure: the window as it was, in the system's temporary directory.
    fn failure_screenshot(&self) {
        let path = std::env::temp_dir().join(format!("signet-desktop-failure-{}.png", std::process::id()));
        self.screenshot(&path);
        eprintln!("screenshot of the failure: {}", path.display());
    }

    /// Everything the page shows, for failure messages.
    pub fn body_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : ''", json!([]))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Calls one of the app's commands from the page (as the screens do).
    pub fn invoke(&self, command: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1];\
                           window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])\
                             .then(v => done({ok: v}), e => done({err: e}));",
                "args": [command, args],
            })),
        )
    }

    /// Saves a screenshot of the app's window as PNG, taken from the X
    /// display as a person would see it (WebKit's own snapshot needs the
    /// accelerated compositing the app turns off).
    pub fn screenshot(&self, path: &Path) {
        std::thread::sleep(Duration::from_millis(800));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot folder");
        }
        let found = Command::new("xdotool")
            .args(["search", "--name", "^Signet$"])
            .env("DISPLAY", &self.display)
            .output()
            .expect("xdotool (make deps installs it)");
        let window = String::from_utf8_lossy(&found.stdout)
            .lines()
            .next()
            .map(str::to_owned)
            .unwrap_or_else(|| "root".to_owned());
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", &window])
            .arg(format!("png:{}", path.display()))
            .status()
            .expect("import (ImageMagick; make deps installs it)");
        assert!(status.success(), "the screenshot failed");
    }

    /// Ends the WebDriver session (tauri-driver kills the app).
    pub fn quit(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(format!("{}/session/{}", self.base, self.session))
                .call();
            self.session.clear();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.end();
    }
}

/// Processes whose command name is `name` and whose environment holds `marker`
/// (`KEY=value`): how a test finds its own app and signer among others.
pub fn processes(name: &str, marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

/// Whether process `pid` is gone (or a zombie waiting for its parent).
pub fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Waits up to `within` for `pid` to be gone; how long it took.
pub fn wait_gone(pid: u32, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if gone(pid) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}
