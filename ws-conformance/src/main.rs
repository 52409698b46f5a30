//! The `ws-conformance` CLI: run the cases against a server, serve them to clients, or run
//! the reference echo server.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use ws_conformance::echo::{EchoServer, Fault};
use ws_conformance::report::Report;
use ws_conformance::{Verdict, cases, runner, serve};

const USAGE: &str = "\
usage:
  ws-conformance [OPTIONS] ws://HOST:PORT/PATH   judge a server (an echo server)
      --cases SEL         families or cases, e.g. 1,2.*,6.4.2 (default: all)
      --report-dir DIR    write DIR/report.json and DIR/index.html
      --strict            exit non-zero on NON-STRICT and UNIMPLEMENTED too
  ws-conformance serve --listen ADDR [--cases SEL] [--report-dir DIR]
                                                 judge clients (Autobahn fuzzingserver URLs)
  ws-conformance echo --listen ADDR [--fault rsv|utf8|close-code]...
                                                 the reference echo server (faults break it)
  ws-conformance list [--cases SEL]              list the cases
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ws-conformance: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[derive(Default)]
struct Options {
    url: Option<String>,
    cases: String,
    report_dir: Option<PathBuf>,
    strict: bool,
    listen: Option<String>,
    faults: Vec<Fault>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--cases" => o.cases = value("--cases")?,
            "--report-dir" => o.report_dir = Some(PathBuf::from(value("--report-dir")?)),
            "--strict" => o.strict = true,
            "--listen" => o.listen = Some(value("--listen")?),
            "--fault" => {
                let f = value("--fault")?;
                o.faults.push(Fault::parse(&f).ok_or(format!("unknown fault {f:?}"))?);
            }
            "-h" | "--help" => return Err("help".into()),
            url if url.starts_with("ws") && o.url.is_none() => o.url = Some(url.to_string()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(o)
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let (command, rest) = match args.first().map(String::as_str) {
        Some(c @ ("serve" | "echo" | "list")) => (c, args.get(1..).unwrap_or_default()),
        _ => ("run", args),
    };
    let o = parse(rest)?;
    match command {
        "list" => {
            for c in cases::select(&o.cases) {
                println!("{:<10} {}  => {}", c.id, c.description, c.expectation);
            }
            Ok(ExitCode::SUCCESS)
        }
        "echo" => {
            let listen = o.listen.ok_or("echo needs --listen ADDR")?;
            let server = EchoServer::spawn(&listen, &o.faults).map_err(|e| format!("{listen}: {e}"))?;
            eprintln!("reference echo server on {} with faults {:?}", server.addr(), o.faults);
            server.wait();
            Ok(ExitCode::SUCCESS)
        }
        "serve" => {
            let listen = o.listen.ok_or("serve needs --listen ADDR")?;
            let dir = o.report_dir.unwrap_or_else(|| PathBuf::from("reports/clients"));
            serve::serve(&listen, &o.cases, &dir).map_err(|e| format!("{listen}: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let url = o.url.ok_or("no ws:// URL given")?;
            let target = runner::Target::parse(&url)?;
            let selected = cases::select(&o.cases);
            if selected.is_empty() {
                return Err(format!("--cases {:?} selects nothing", o.cases));
            }
            let total = selected.len();
            let results = runner::run_all(&target, &selected, |done, r| progress(done, total, r));
            eprintln!();
            print!("{}", runner::summary(&results));
            if let Some(dir) = &o.report_dir {
                Report::new(url.clone(), results.clone()).write(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                println!("report: {}", dir.join("index.html").display());
            }
            let failed = results.iter().any(|r| r.verdict == Verdict::Failed);
            // Under --strict a missing feature (UNIMPLEMENTED, e.g. compression not agreed)
            // fails too: a run that silently skips families proves nothing.
            let non_strict = results.iter().any(|r| matches!(r.verdict, Verdict::NonStrict | Verdict::Unimplemented));
            Ok(if failed || (o.strict && non_strict) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
    }
}

/// One progress line on stderr, rewritten in place.
fn progress(done: usize, total: usize, r: &ws_conformance::CaseResult) {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        // A log (CI): no bar, only what went wrong; the summary table follows.
        if matches!(r.verdict, Verdict::Failed | Verdict::NonStrict | Verdict::Unimplemented) {
            eprintln!("{} {}: {}", r.id, r.verdict.as_str(), r.reason);
        }
        return;
    }
    let width = 30;
    let filled = done * width / total.max(1);
    let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r[{bar}] {done}/{total} {:<10} {:<13}", r.id, r.verdict.as_str());
    if r.verdict == Verdict::Failed {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}
