//! The JSON and HTML reports.

use std::path::Path;

use serde::Serialize;

use crate::runner::counts;
use crate::verdict::{CaseResult, Direction, Verdict};

/// A whole run, as written to `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was tested: a server URL or a client's agent name.
    pub peer: String,
    /// Seconds since the Unix epoch when the report was written.
    pub generated_unix: u64,
    /// How many cases got each verdict.
    pub counts: Vec<(Verdict, usize)>,
    /// Every case.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// A report on `results` against `peer`.
    pub fn new(peer: impl Into<String>, results: Vec<CaseResult>) -> Report {
        let generated_unix =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Report { peer: peer.into(), generated_unix, counts: counts(&results).to_vec(), results }
    }

    /// Writes `report.json` and `index.html` into `dir`, creating it.
    ///
    /// # Errors
    /// Any I/O error.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("index.html"), self.html())
    }

    /// The readable report: a summary table, then each case's detail and trace.
    pub fn html(&self) -> String {
        let mut h = String::from(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>ws-conformance report</title><style>\
             body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\
             .OK{background:#cfc}.NON-STRICT{background:#ffc}.INFORMATIONAL{background:#cef}.UNIMPLEMENTED{background:#ddd}.FAILED{background:#fbb}\
             pre{background:#f6f6f6;padding:6px;font-size:12px;overflow-x:auto}.out{color:#06c}.in{color:#080}.note{color:#777}</style></head><body>",
        );
        h.push_str(&format!("<h1>ws-conformance: {}</h1><p>", esc(&self.peer)));
        for (v, n) in &self.counts {
            h.push_str(&format!("<span class=\"{v}\">{v}: {n}</span> &nbsp; "));
        }
        h.push_str("</p><table><tr><th>case</th><th>verdict</th><th>description</th><th>reason</th><th>ms</th></tr>");
        for r in &self.results {
            h.push_str(&format!(
                "<tr><td><a href=\"#c{id}\">{id}</a></td><td class=\"{v}\">{v}</td><td>{d}</td><td>{why}</td><td>{ms}</td></tr>",
                id = esc(&r.id),
                v = r.verdict,
                d = esc(&r.description),
                why = esc(&r.reason),
                ms = r.duration_ms
            ));
        }
        h.push_str("</table>");
        for r in &self.results {
            h.push_str(&format!(
                "<h2 id=\"c{id}\">{id} <span class=\"{v}\">{v}</span></h2><p><b>Case:</b> {d}<br><b>Expected:</b> {e}<br>\
                 <b>Observed:</b> {why}<br><b>Peer close code:</b> {code}; <b>peer closed TCP:</b> {tcp}; {ms} ms</p><pre>",
                id = esc(&r.id),
                v = r.verdict,
                d = esc(&r.description),
                e = esc(&r.expectation),
                why = if r.reason.is_empty() { "as expected".into() } else { esc(&r.reason) },
                code = r.peer_close_code.map_or("none".to_string(), |c| c.to_string()),
                tcp = r.peer_closed_tcp,
                ms = r.duration_ms
            ));
            for line in &r.trace {
                let (class, arrow) = match line.dir {
                    Direction::Out => ("out", "&gt;&gt;"),
                    Direction::In => ("in", "&lt;&lt;"),
                    Direction::Note => ("note", "--"),
                };
                h.push_str(&format!(
                    "<span class=\"{class}\">{:>6} ms {arrow} {}</span>\n",
                    line.at_ms,
                    esc(&line.text)
                ));
            }
            h.push_str("</pre>");
        }
        h.push_str("</body></html>\n");
        h
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
