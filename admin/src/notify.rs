//! `carefront-admin notify send`: sends one message through carefront's Notify sender (the
//! same request the runtimes send) over plain HTTP, to the local Notify stand-in or the
//! contract test's capture server. Notify itself needs HTTPS, which this tool does not speak.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use carefront_shared::notify::answer::{Outcome, outcome};
use carefront_shared::notify::{Address, ApiKey, Message, Notify, PRODUCTION_BASE_URL, Recipient};
use carefront_shared::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use uuid::Uuid;

/// The command's usage.
pub const USAGE: &str = "  carefront-admin notify send --channel email|sms|letter --template ID --reference REF
                             [--to ADDRESS|NUMBER] [--address-line LINE]... [--personalisation KEY=VALUE]...
                             [--reply-to-id ID] [--sender-id ID] [--base-url URL] [--repeat N]
      Sends one message through carefront's Notify sender over plain HTTP (the local Notify
      stand-in, e2e/notify-stand-in.mjs). The API key is NOTIFY_API_KEY in the environment; the
      base URL is --base-url, else NOTIFY_BASE_URL. A letter takes 3 to 7 --address-line, the
      last a postcode. Prints Notify's answer as JSON; exits 1 unless Notify accepted it.
      --repeat N sends it N times (references REF-1 … REF-N) and prints the rate on stderr.";

/// Plain HTTP/1.1 over a TCP socket, one connection per request: enough for a local stand-in.
pub struct PlainHttp {
    /// How long to wait to connect, and for each read.
    pub timeout: Duration,
}

#[async_trait(?Send)]
impl Outbound for PlainHttp {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        if request.url.scheme() != "http" {
            return Err(OutboundError::Refused(format!("{} is not plain HTTP: this tool only reaches a local stand-in", request.url)));
        }
        let host = request.url.host_str().ok_or_else(|| OutboundError::Refused("the URL has no host".into()))?;
        let port = request.url.port_or_known_default().unwrap_or(80);
        let network = |error: std::io::Error| OutboundError::Network(error.to_string());
        let address = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .map_err(network)?
            .next()
            .ok_or_else(|| OutboundError::Network(format!("{host} has no address")))?;
        let mut stream = TcpStream::connect_timeout(&address, self.timeout).map_err(network)?;
        stream.set_read_timeout(Some(self.timeout)).map_err(network)?;
        let authority = match request.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let path = match request.url.query() {
            Some(query) => format!("{}?{query}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let mut head = format!("{} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\ncontent-length: {}\r\n", request.method, request.body.len());
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&request.body)).map_err(network)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map_err(network)?;
        parse_response(&answer).ok_or_else(|| OutboundError::Network("the answer is not HTTP/1.1".into()))
    }
}

/// The status and body of an HTTP/1.1 response read to the end of the connection.
fn parse_response(answer: &[u8]) -> Option<OutboundResponse> {
    let split = answer.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..split]).ok()?;
    let body = &answer[split + 4..];
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Some(OutboundResponse { status, body })
}

/// Decodes a chunked body.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|window| window == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[derive(Default)]
struct SendArgs {
    channel: Option<String>,
    to: Option<String>,
    address: Vec<String>,
    template: Option<String>,
    reference: Option<String>,
    personalisation: BTreeMap<String, String>,
    reply_to_id: Option<String>,
    sender_id: Option<String>,
    base_url: Option<String>,
    repeat: u32,
}

fn parse(args: &[String]) -> Result<SendArgs, String> {
    let mut parsed = SendArgs { repeat: 1, ..SendArgs::default() };
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?.clone();
        match flag.as_str() {
            "--channel" => parsed.channel = Some(value),
            "--to" => parsed.to = Some(value),
            "--address-line" => parsed.address.push(value),
            "--template" => parsed.template = Some(value),
            "--reference" => parsed.reference = Some(value),
            "--personalisation" => {
                let (key, text) = value.split_once('=').ok_or_else(|| format!("--personalisation {value}: expected KEY=VALUE"))?;
                parsed.personalisation.insert(key.to_owned(), text.to_owned());
            }
            "--reply-to-id" => parsed.reply_to_id = Some(value),
            "--sender-id" => parsed.sender_id = Some(value),
            "--base-url" => parsed.base_url = Some(value),
            "--repeat" => parsed.repeat = value.parse().ok().filter(|count| *count > 0).ok_or("--repeat: a whole number above 0")?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(parsed)
}

fn uuid(flag: &str, text: Option<String>) -> Result<Option<Uuid>, String> {
    text.map(|text| Uuid::try_parse(&text).map_err(|_| format!("{flag}: not a UUID"))).transpose()
}

/// The message the arguments describe.
fn message(args: &SendArgs) -> Result<Message, String> {
    let to = || args.to.clone().ok_or("--to is required for email and sms");
    let recipient = match args.channel.as_deref() {
        Some("email") => Recipient::Email { address: to()?, reply_to_id: uuid("--reply-to-id", args.reply_to_id.clone())? },
        Some("sms") => Recipient::Sms { phone_number: to()?, sender_id: uuid("--sender-id", args.sender_id.clone())? },
        Some("letter") => Recipient::Letter(Address::new(args.address.clone()).map_err(|error| format!("--address-line: {error}"))?),
        _ => return Err("--channel must be email, sms or letter".into()),
    };
    let template_id = uuid("--template", args.template.clone())?.ok_or("--template is required")?;
    let reference = args.reference.clone().ok_or("--reference is required")?;
    Ok(Message { recipient, template_id, personalisation: args.personalisation.clone(), reference })
}

/// Runs `notify …`.
pub fn run(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let Some(("send", rest)) = args.split_first().map(|(first, rest)| (first.as_str(), rest)) else { return Err(USAGE.into()) };
    let args = parse(rest).map_err(|error| format!("{error}\n{USAGE}"))?;
    let message = message(&args).map_err(|error| format!("{error}\n{USAGE}"))?;
    let key = env("NOTIFY_API_KEY").ok_or("NOTIFY_API_KEY is not set")?;
    let key = ApiKey::parse(&key).map_err(|error| format!("NOTIFY_API_KEY: {error}"))?;
    let base_url = args.base_url.clone().or_else(|| env("NOTIFY_BASE_URL")).unwrap_or_else(|| PRODUCTION_BASE_URL.to_owned());
    let base_url = url::Url::parse(&base_url).map_err(|_| format!("base URL {base_url}: not a URL"))?;
    let notify = Notify::new(&base_url, key);
    let outbound = PlainHttp { timeout: Duration::from_secs(10) };
    let started = Instant::now();
    let mut accepted = 0_u32;
    for index in 1..=args.repeat {
        let mut message = message.clone();
        if args.repeat > 1 {
            message.reference = format!("{}-{index}", message.reference);
        }
        let request = notify.send_request(&message, chrono::Utc::now()).map_err(|error| error.to_string())?;
        let result = pollster::block_on(outbound.send(request));
        let answer = match outcome(result) {
            Outcome::Accepted(id) => {
                accepted += 1;
                serde_json::json!({"outcome": "accepted", "id": id, "reference": message.reference})
            }
            Outcome::Retry(failure) => serde_json::json!({"outcome": "retry", "status": failure.status, "errors": failure.errors, "text": failure.to_string()}),
            Outcome::Permanent(failure) => {
                serde_json::json!({"outcome": "permanent", "status": failure.status, "errors": failure.errors, "text": failure.to_string()})
            }
        };
        if args.repeat == 1 {
            println!("{answer}");
        }
    }
    if args.repeat > 1 {
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("{accepted} of {} accepted in {seconds:.2} s: {:.0} messages per second", args.repeat, f64::from(args.repeat) / seconds.max(1e-9));
    }
    if accepted == args.repeat { Ok(()) } else { Err(format!("{} of {} not accepted", args.repeat - accepted, args.repeat)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_and_a_plain_answer_are_read() {
        let plain = parse_response(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((plain.status, plain.body.as_slice()), (201, b"{}".as_slice()));
        let chunked = parse_response(b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!((chunked.status, chunked.body.as_slice()), (500, b"abcde".as_slice()));
        assert!(parse_response(b"garbage").is_none());
    }

    #[test]
    fn bad_arguments_name_the_flag() {
        let args = |list: &[&str]| list.iter().map(|each| (*each).to_owned()).collect::<Vec<_>>();
        let no_env = |_: &str| None;
        assert!(run(&args(&["send", "--channel", "fax"]), no_env).unwrap_err().contains("--channel"));
        assert!(
            run(&args(&["send", "--channel", "email", "--to", "a@example.com", "--template", "x", "--reference", "r"]), no_env)
                .unwrap_err()
                .contains("--template")
        );
        let letter =
            args(&["send", "--channel", "letter", "--address-line", "A", "--address-line", "B", "--template", &Uuid::nil().to_string(), "--reference", "r"]);
        assert!(run(&letter, no_env).unwrap_err().contains("--address-line"));
        assert!(
            run(&args(&["send", "--channel", "sms", "--to", "07700900123", "--template", &Uuid::nil().to_string(), "--reference", "r"]), no_env)
                .unwrap_err()
                .contains("NOTIFY_API_KEY")
        );
        assert!(run(&args(&["send", "--personalisation", "novalue"]), no_env).unwrap_err().contains("KEY=VALUE"));
    }
}
