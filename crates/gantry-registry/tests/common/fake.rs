//! A tiny in-process HTTP/1.1 "registry" on 127.0.0.1 for fault injection: serves fixed routes, one
//! connection at a time with `Connection: close`, logs every request and the body bytes it sent.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A canned response.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Honour `Range: bytes=N-` with a 206.
    pub ranges: bool,
    /// Answer this many requests with the given status first (e.g. 503), then normally.
    pub fail_first: Vec<u16>,
    /// Send only this many body bytes, then close (simulates a dropped connection) — once.
    pub cut_after: Option<usize>,
    /// Require this Authorization header value, else 401 with `challenge`.
    pub require_auth: Option<(String, String)>,
    /// Wait this long before answering.
    pub delay_ms: u64,
    /// Send this many body bytes, then go silent for `stall_ms` with the connection open.
    pub stall_after: Option<usize>,
    /// How long a stall lasts before the connection is closed.
    pub stall_ms: u64,
}

impl Route {
    pub fn ok(body: Vec<u8>, content_type: &str) -> Route {
        Route {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            ranges: true,
            fail_first: vec![],
            cut_after: None,
            require_auth: None,
            delay_ms: 0,
            stall_after: None,
            stall_ms: 0,
        }
    }
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The query string (after `?`), if any.
    pub query: Option<String>,
    pub range: Option<String>,
    pub authorization: Option<String>,
    pub status: u16,
    pub body_bytes: usize,
}

/// The server.
pub struct Fake {
    pub addr: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    log: Arc<Mutex<Vec<Logged>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Most requests in flight at once (only meaningful with [`Fake::start_threaded`]).
    pub max_in_flight: Arc<AtomicUsize>,
}

impl Fake {
    /// Serves one connection at a time.
    pub fn start() -> Fake {
        Fake::spawn(false)
    }

    /// Serves each connection on its own thread (for concurrency checks).
    pub fn start_threaded() -> Fake {
        Fake::spawn(true)
    }

    fn spawn(threaded: bool) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake registry");
        let addr = listener.local_addr().expect("fake addr").to_string();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let log: Arc<Mutex<Vec<Logged>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (r, l, s, m) = (
            routes.clone(),
            log.clone(),
            stop.clone(),
            max_in_flight.clone(),
        );
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(c) = conn else { continue };
                let (r, l, m, f) = (r.clone(), l.clone(), m.clone(), in_flight.clone());
                let work = move || {
                    let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    let _ = serve(c, &r, &l);
                    f.fetch_sub(1, Ordering::SeqCst);
                };
                if threaded {
                    workers.push(std::thread::spawn(work));
                } else {
                    work();
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        let f = Fake {
            addr,
            routes,
            log,
            stop,
            thread: Some(thread),
            max_in_flight,
        };
        f.route("/v2/", Route::ok(b"{}".to_vec(), "application/json"));
        f
    }

    pub fn route(&self, path: &str, r: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), r);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Logged> {
        self.log().into_iter().filter(|l| l.path == path).collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    c: TcpStream,
    routes: &Mutex<HashMap<String, Route>>,
    log: &Mutex<Vec<Logged>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(c.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let path = target.split('?').next().unwrap_or("").to_string();
    let query = target.split_once('?').map(|(_, q)| q.to_string());
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let content_length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut discard = vec![0u8; content_length];
    reader.read_exact(&mut discard)?;

    let mut routes = routes.lock().unwrap();
    let delay = routes.get(&path).map_or(0, |r| r.delay_ms);
    let stall = routes
        .get(&path)
        .and_then(|r| r.stall_after.map(|n| (n, r.stall_ms)));
    let (status, extra, body, cut) = match routes.get_mut(&path) {
        None => (
            404,
            vec![],
            br#"{"errors":[{"code":"NOT_FOUND","message":"no such route"}]}"#.to_vec(),
            None,
        ),
        Some(r) => {
            let authorized = match &r.require_auth {
                Some((want, _)) => headers.get("authorization") == Some(want),
                None => true,
            };
            if !authorized {
                let challenge = r
                    .require_auth
                    .as_ref()
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default();
                (
                    401,
                    vec![("WWW-Authenticate".to_string(), challenge)],
                    b"{}".to_vec(),
                    None,
                )
            } else if !r.fail_first.is_empty() {
                let s = r.fail_first.remove(0);
                (s, vec![], b"try again".to_vec(), None)
            } else {
                let cut = r.cut_after.take();
                let range_start = headers
                    .get("range")
                    .and_then(|v| v.strip_prefix("bytes="))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<usize>().ok());
                match range_start {
                    Some(start) if r.ranges && r.status == 200 && start < r.body.len() => {
                        let total = r.body.len();
                        let mut h = r.headers.clone();
                        h.push((
                            "Content-Range".into(),
                            format!("bytes {start}-{}/{total}", total - 1),
                        ));
                        (206, h, r.body[start..].to_vec(), cut)
                    }
                    _ => (r.status, r.headers.clone(), r.body.clone(), cut),
                }
            }
        }
    };
    drop(routes);
    std::thread::sleep(std::time::Duration::from_millis(delay));
    let sent = cut.unwrap_or(body.len()).min(body.len());
    log.lock().unwrap().push(Logged {
        method: method.clone(),
        path,
        query,
        range: headers.get("range").cloned(),
        authorization: headers.get("authorization").cloned(),
        status,
        body_bytes: if method == "HEAD" { 0 } else { sent },
    });
    let mut out = c;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        match stall {
            Some((n, ms)) if n < sent => {
                out.write_all(&body[..n])?;
                out.flush()?;
                std::thread::sleep(std::time::Duration::from_millis(ms));
                return Ok(());
            }
            _ => out.write_all(&body[..sent])?,
        }
    }
    out.flush()?;
    Ok(())
}
