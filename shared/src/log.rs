//! The handlers' error lines: the only record of a server-side failure, keyed by the reference
//! the person or client sees. They go to standard error natively and on Spin (wasip2). On
//! Workers, whose `wasm32-unknown-unknown` std has no standard error and drops what is written
//! to it, the workers crate sets a sink that writes to the Worker's console (`console.error`,
//! which `wrangler tail` and Workers Logs show).

use std::fmt::Arguments;
use std::sync::OnceLock;

static SINK: OnceLock<fn(&str)> = OnceLock::new();

/// Sends every later error line to `sink` instead of standard error. The first sink set stays:
/// one per process or isolate.
pub fn set_sink(sink: fn(&str)) {
    let _ = SINK.set(sink);
}

/// Writes one error line (no care information in it: references, routes and the store's words).
pub fn error(line: Arguments<'_>) {
    match SINK.get() {
        Some(sink) => sink(&line.to_string()),
        None => eprintln!("{line}"),
    }
}

/// `log_error!("carefront-api error {reference}: {error}")`: one line to [`error`].
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => {
        $crate::log::error(::std::format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    fn record(line: &str) {
        LINES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line.to_owned());
    }

    #[test]
    fn error_lines_go_to_the_sink_once_one_is_set() {
        super::set_sink(record);
        // A second sink does not replace the first.
        super::set_sink(|_| panic!("the first sink stays"));
        crate::log_error!("carefront-api error {}: {}", "ABC123", "the store is unavailable");
        let lines = LINES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(lines.iter().any(|line| line == "carefront-api error ABC123: the store is unavailable"), "{lines:?}");
    }
}
