//! The core's [`Log`] port on the Workers console: each event is one JSON line
//! ([`LogEvent::to_json`]), through `console.log`, or `console.error` for a 5xx or a failure,
//! so Workers Logs and `wrangler tail` show it with its level.

use portcullis_core::ports::{Failure, Log, LogEvent, Outcome};

/// Writes events to the console.
pub struct ConsoleLog;

impl Log for ConsoleLog {
    fn event(&self, event: &LogEvent) {
        let line = event.to_json();
        match event.outcome {
            Outcome::Ok | Outcome::ClientError => worker::console_log!("{line}"),
            Outcome::ServerError | Outcome::Failed => worker::console_error!("{line}"),
        }
    }
}

/// Logs a failure outside a request's context (the Cron Trigger, a Durable Object), under
/// `route`.
pub fn failure(request_id: &str, route: &str, failure: Failure) {
    ConsoleLog.event(&LogEvent {
        route: Some(route.to_owned()),
        ..LogEvent::failure(request_id, failure)
    });
}
