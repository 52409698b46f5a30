//! Server mode: judging clients with the same cases, as Autobahn's fuzzingserver does.
//!
//! A client under test connects to:
//! - `/getCaseCount`: receives the number of cases as a text message, then a close;
//! - `/getCaseInfo?case=N`: receives `{"id": …, "description": …}` as text, then a close;
//! - `/runCase?case=N&agent=NAME`: case `N` (1-based, or an id like `6.4.2`) runs: we send
//!   the case's frames, unmasked as a server does, and judge the client's echoes and close
//!   behaviour. A permessage-deflate case (families 12, 13) accepts the client's offer with
//!   the parameters the case is about, as far as the offer allows ([`Offer::answer`]),
//!   sends compressed messages and inflates the client's echoes with the agreed client
//!   parameters; a client that offered no permessage-deflate gets UNIMPLEMENTED there.
//!   Every other case agrees no extension;
//! - `/updateReports?agent=NAME`: the agent's report is written to `DIR/NAME/`.
//!
//! Connections are handled one at a time, in order: deterministic, like the cases.
//!
//! [`Offer::answer`]: crate::pmd::Offer::answer

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ws_proto::Role;

use crate::cases::{Against, Case};
use crate::pmd::{Answer, Codec};
use crate::report::Report;
use crate::runner::{result, run_body};
use crate::session::Session;
use crate::upgrade;
use crate::verdict::{CaseResult, Outcome};
use crate::wire::OutFrame;

/// The client-judging server.
#[derive(Debug)]
pub struct Judge {
    cases: Vec<Case>,
    dir: PathBuf,
    results: BTreeMap<String, Vec<CaseResult>>,
}

impl Judge {
    /// A judge of the cases `selectors` picks (those that can judge clients), writing
    /// reports under `dir`.
    pub fn new(selectors: &str, dir: &Path) -> Judge {
        let cases = crate::cases::select(selectors).into_iter().filter(|c| c.against == Against::Both).collect();
        Judge { cases, dir: dir.to_path_buf(), results: BTreeMap::new() }
    }

    /// The cases served, in order (case `N` of `/runCase` is the `N`th, from 1).
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// The results so far for `agent`.
    pub fn results(&self, agent: &str) -> &[CaseResult] {
        self.results.get(agent).map(Vec::as_slice).unwrap_or_default()
    }

    /// Serves connections from `listener` one at a time until `stop` is set (checked
    /// between connections).
    pub fn run(mut self, listener: &TcpListener, stop: &AtomicBool) -> Judge {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if let Ok(stream) = stream {
                self.handle(stream);
            }
        }
        self
    }

    /// Handles one connection.
    pub fn handle(&mut self, mut stream: TcpStream) {
        let start = Instant::now();
        let req = match upgrade::read_request(&mut stream, start + HANDSHAKE_TIMEOUT) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("serve: {e}");
                return;
            }
        };
        let agent = req.request.get("agent").unwrap_or_else(|| "unknown".into());
        let path = req.request.path.clone();
        let case_param = req.request.get("case").unwrap_or_default();
        let case = if path == "/runCase" { self.find(&case_param).cloned() } else { None };
        let offers = &req.upgrade.extensions;
        // Only a case about permessage-deflate agrees to it, as far as the client's offer
        // allows; every other connection goes on without extensions.
        let answer = case.as_ref().and_then(|c| c.offer.as_ref()).and_then(|o| o.answer(offers));
        if let Err(e) = upgrade::accept(&mut stream, &req, answer.as_ref().map(|a| a.header.as_str())) {
            eprintln!("serve: {e}");
            return;
        }
        let deadline = start + crate::cases::DEFAULT_DEADLINE;
        let mut session = Session::new(stream, Role::Server, req.leftover, start, deadline);
        match path.as_str() {
            "/getCaseCount" => reply_text(&mut session, self.cases.len().to_string()),
            "/getCaseInfo" => {
                let info =
                    self.find(&case_param).map(|c| serde_json::json!({"id": c.id, "description": c.description}));
                reply_text(&mut session, info.map(|i| i.to_string()).unwrap_or_else(|| "null".into()));
            }
            "/runCase" => {
                let Some(case) = case else {
                    reply_close(&mut session, 1008);
                    return;
                };
                let mut session = Session::new_from(session, start + case.deadline);
                note_extensions(&mut session, &case, offers, answer);
                let outcome = run_body(&case, &mut session);
                let r = result(&case, outcome, start, Some(&mut session));
                drop(session);
                eprintln!("serve: {agent} {} {} {}", r.id, r.verdict, r.reason);
                let list = self.results.entry(agent).or_default();
                list.retain(|old| old.id != r.id);
                list.push(r);
            }
            "/updateReports" => {
                reply_close(&mut session, 1000);
                let results = self.results(&agent).to_vec();
                let dir = self.dir.join(sanitize(&agent));
                match Report::new(format!("client {agent}"), results).write(&dir) {
                    Ok(()) => eprintln!("serve: report for {agent} in {}", dir.display()),
                    Err(e) => eprintln!("serve: writing {}: {e}", dir.display()),
                }
            }
            _ => reply_close(&mut session, 1008),
        }
    }

    fn find(&self, param: &str) -> Option<&Case> {
        match param.parse::<usize>() {
            Ok(n) => self.cases.get(n.checked_sub(1)?),
            Err(_) => self.cases.iter().find(|c| c.id == param),
        }
    }
}

/// Serves the cases on `listen` until the process ends.
///
/// # Errors
/// When the address cannot be bound.
pub fn serve(listen: &str, selectors: &str, dir: &Path) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen)?;
    let judge = Judge::new(selectors, dir);
    eprintln!(
        "serving {} cases to clients on ws://{}/ (reports in {})",
        judge.cases.len(),
        listener.local_addr()?,
        dir.display()
    );
    judge.run(&listener, &AtomicBool::new(false));
    Ok(())
}

/// A judge running in a background thread; dropping it stops it.
#[derive(Debug)]
pub struct JudgeThread {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Judge>>,
}

impl JudgeThread {
    /// Binds `listen` and serves in the background.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn spawn(listen: &str, selectors: &str, dir: &Path) -> std::io::Result<JudgeThread> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let judge = Judge::new(selectors, dir);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || judge.run(&listener, &flag));
        Ok(JudgeThread { addr, stop, thread: Some(thread) })
    }

    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stops the judge and returns it with its results.
    pub fn stop(mut self) -> Option<Judge> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Option<Judge> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for JudgeThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Notes in the trace what the client offered and what we agreed, and installs the codec.
fn note_extensions(session: &mut Session, case: &Case, offers: &[String], answer: Option<Answer>) {
    let offered = if offers.is_empty() { "no extensions".to_string() } else { format!("extensions {offers:?}") };
    match (&case.offer, answer) {
        (None, _) => session.note(format!("opening handshake done; the client offered {offered}; none agreed")),
        (Some(_), None) => session.note(format!(
            "opening handshake done; the client offered {offered}; no acceptable permessage-deflate offer, none agreed"
        )),
        (Some(_), Some(answer)) => {
            session
                .note(format!("opening handshake done; the client offered {offered}; we answered {:?}", answer.header));
            if let Some(note) = answer.note {
                session.note(note);
            }
            session.note(format!("agreed {}", answer.params));
            session.set_codec(Some(Codec::server(answer.params)));
        }
    }
}

fn reply_text(s: &mut Session, text: String) {
    s.send(&OutFrame::text(text.into_bytes()));
    let _ = s.close_normally();
}

fn reply_close(s: &mut Session, code: u16) {
    let _: Result<Outcome, Outcome> = s.close_with(&OutFrame::close(code, b""), None);
}

fn sanitize(agent: &str) -> String {
    agent.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect()
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
