//! Parsing and validation of the subset of the Spin application manifest (`spin.toml`,
//! `spin_manifest_version = 2`) that this host supports. Anything that would change behaviour
//! and is not supported is refused with an error naming the key.

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole manifest, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    pub spin_manifest_version: u32,
    pub application: RawApplication,
    #[serde(default)]
    pub variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    pub trigger: RawTriggers,
    #[serde(default)]
    pub component: BTreeMap<String, RawComponent>,
}

/// `[application]`: descriptive fields only.
#[derive(Debug, Deserialize)]
#[allow(dead_code, reason = "descriptive fields: accepted, not used")]
#[serde(deny_unknown_fields)]
pub struct RawApplication {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An application variable under `[variables]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariable {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub secret: bool,
}

/// `[trigger]`: only HTTP triggers are supported.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTriggers {
    #[serde(default)]
    pub http: Vec<RawHttpTrigger>,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpTrigger {
    #[serde(default)]
    pub id: Option<String>,
    pub route: RawRoute,
    pub component: toml::Value,
    #[serde(default)]
    pub executor: Option<RawExecutor>,
}

/// A route: a pattern, or `{ private = true }` (not reachable over HTTP).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawRoute {
    Pattern(String),
    Private(RawPrivate),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrivate {
    pub private: bool,
}

/// `executor = { type = "spin" }` is the only executor supported.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExecutor {
    #[serde(rename = "type")]
    pub kind: String,
}

/// `[component.<id>]`.
#[derive(Debug, Deserialize)]
#[allow(dead_code, reason = "description/build/tool are accepted and do not change how it runs")]
#[serde(deny_unknown_fields)]
pub struct RawComponent {
    pub source: toml::Value,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub allowed_http_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<toml::Value>,
    #[serde(default)]
    pub exclude_files: Vec<String>,
    #[serde(default)]
    pub ai_models: Vec<String>,
    #[serde(default)]
    pub dependencies: BTreeMap<String, toml::Value>,
    /// Build instructions are for `spin build`; they do not change how the component runs.
    #[serde(default)]
    pub build: Option<toml::Value>,
    /// Tool-specific metadata; it does not change how the component runs.
    #[serde(default)]
    pub tool: Option<toml::Value>,
}

/// A validated application.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub variables: BTreeMap<String, AppVariable>,
    pub routes: Vec<RouteEntry>,
    pub components: BTreeMap<String, Component>,
}

/// A validated application variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppVariable {
    pub default: Option<String>,
    pub secret: bool,
}

/// A validated HTTP route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// The route exactly as written in the manifest.
    pub raw: String,
    pub component: String,
}

/// A validated component.
#[derive(Debug, Clone)]
pub struct Component {
    pub id: String,
    pub source: PathBuf,
    pub sqlite_databases: Vec<String>,
    /// Component variable name -> template.
    pub variables: BTreeMap<String, Template>,
    /// `allowed_outbound_hosts`, each a template (`{{ notify_outbound_host }}`) resolved at
    /// start-up to `http(s)://host[:port]`.
    pub allowed_outbound_hosts: Vec<Template>,
}

/// A variable template: literal text with `{{ name }}` references to application variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<TemplatePart>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Literal(String),
    Variable(String),
}

/// Whether `name` is a valid Spin variable name: lower-case ASCII letters, digits and single
/// underscores, starting with a letter.
pub fn is_valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    starts_with_letter && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') && !name.contains("__") && !name.ends_with('_')
}

impl Template {
    /// Parse `text`: `{{ name }}` (spaces optional) references an application variable;
    /// everything else is literal. `{{` without a matching `}}` is an error.
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(TemplatePart::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("unterminated `{{{{` in template {text:?}");
            };
            let name = after[..end].trim();
            if !is_valid_variable_name(name) {
                bail!("invalid variable name {name:?} in template {text:?}");
            }
            parts.push(TemplatePart::Variable(name.to_string()));
            rest = &after[end + 2..];
        }
        if rest.contains("}}") {
            bail!("unmatched `}}}}` in template {text:?}");
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Literal(rest.to_string()));
        }
        Ok(Self(parts))
    }

    /// The application variables this template refers to.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            TemplatePart::Variable(name) => Some(name.as_str()),
            TemplatePart::Literal(_) => None,
        })
    }
}

/// Read and validate the manifest at `path`.
pub fn load(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read manifest {}", path.display()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    parse(&text, &base).with_context(|| format!("invalid manifest {}", path.display()))
}

/// Parse and validate manifest text; relative component sources resolve against `base`.
pub fn parse(text: &str, base: &Path) -> Result<Manifest> {
    let raw: RawManifest = toml::from_str(text).context("cannot parse the manifest")?;
    validate(raw, base)
}

fn validate(raw: RawManifest, base: &Path) -> Result<Manifest> {
    if raw.spin_manifest_version != 2 {
        bail!("spin_manifest_version = {} is not supported (only 2)", raw.spin_manifest_version);
    }

    let mut variables = BTreeMap::new();
    for (name, var) in raw.variables {
        if !is_valid_variable_name(&name) {
            bail!("[variables] {name:?}: names must be lower-case letters, digits and single underscores, starting with a letter");
        }
        match (var.required, &var.default) {
            (true, Some(_)) => {
                bail!("[variables] {name}: `required = true` and `default` are mutually exclusive")
            }
            (false, None) => bail!("[variables] {name}: needs `required = true` or a `default`"),
            _ => {}
        }
        variables.insert(name, AppVariable { default: var.default, secret: var.secret });
    }

    let mut components = BTreeMap::new();
    for (id, comp) in raw.component {
        let component = validate_component(&id, comp, base, &variables)?;
        components.insert(id, component);
    }

    let mut routes: Vec<RouteEntry> = Vec::new();
    for (index, trigger) in raw.trigger.http.into_iter().enumerate() {
        let what = match &trigger.id {
            Some(id) => format!("[[trigger.http]] {id:?}"),
            None => format!("[[trigger.http]] #{}", index + 1),
        };
        if let Some(executor) = &trigger.executor
            && executor.kind != "spin"
        {
            bail!("{what}: executor type {:?} is not supported (only \"spin\")", executor.kind);
        }
        let component = match &trigger.component {
            toml::Value::String(id) => id.clone(),
            _ => bail!("{what}: `component` must be the id of a [component.<id>] table (inline components are not supported)"),
        };
        if !components.contains_key(&component) {
            bail!("{what}: component {component:?} is not defined in [component]");
        }
        match trigger.route {
            RawRoute::Private(p) if p.private => {}
            RawRoute::Private(_) => {
                bail!("{what}: route must be a string pattern or `{{ private = true }}`")
            }
            RawRoute::Pattern(route) => {
                crate::routes::validate_route(&route).with_context(|| what.clone())?;
                if let Some(existing) = routes.iter().find(|r| r.raw == route) {
                    bail!("{what}: route {route:?} is already mapped to component {:?}", existing.component);
                }
                routes.push(RouteEntry { raw: route, component });
            }
        }
    }
    if routes.is_empty() {
        bail!("no [[trigger.http]] routes: nothing to serve");
    }

    Ok(Manifest { name: raw.application.name, variables, routes, components })
}

fn validate_component(id: &str, comp: RawComponent, base: &Path, app_vars: &BTreeMap<String, AppVariable>) -> Result<Component> {
    let what = format!("[component.{id}]");
    let source = match &comp.source {
        toml::Value::String(path) => base.join(path),
        _ => bail!("{what}: `source` must be a path to a .wasm file (URL/registry sources are not supported)"),
    };
    let mut allowed_outbound_hosts = Vec::new();
    for text in &comp.allowed_outbound_hosts {
        let template = Template::parse(text).with_context(|| format!("{what} allowed_outbound_hosts"))?;
        for reference in template.references() {
            if !app_vars.contains_key(reference) {
                bail!("{what} allowed_outbound_hosts: refers to application variable {reference:?}, which is not declared in [variables]");
            }
        }
        if template.references().next().is_none() {
            AllowedHost::parse(text).with_context(|| format!("{what} allowed_outbound_hosts"))?;
        }
        allowed_outbound_hosts.push(template);
    }
    if !comp.allowed_http_hosts.is_empty() {
        bail!("{what}: allowed_http_hosts is not supported (Spin 1 syntax: use allowed_outbound_hosts)");
    }
    if !comp.key_value_stores.is_empty() {
        bail!("{what}: key_value_stores is not supported by this host");
    }
    if !comp.environment.is_empty() {
        bail!("{what}: environment is not supported (components get no environment variables)");
    }
    if !comp.files.is_empty() || !comp.exclude_files.is_empty() {
        bail!("{what}: files/exclude_files are not supported (components get no files)");
    }
    if !comp.ai_models.is_empty() {
        bail!("{what}: ai_models is not supported by this host");
    }
    if !comp.dependencies.is_empty() {
        bail!("{what}: component dependencies are not supported by this host");
    }
    for db in &comp.sqlite_databases {
        if db != "default" {
            bail!("{what}: sqlite database {db:?} is not supported (only \"default\"; named databases need a runtime config)");
        }
    }
    let mut variables = BTreeMap::new();
    for (name, text) in comp.variables {
        if !is_valid_variable_name(&name) {
            bail!("{what}: invalid component variable name {name:?}");
        }
        let template = Template::parse(&text).with_context(|| format!("{what} variable {name}"))?;
        for reference in template.references() {
            if !app_vars.contains_key(reference) {
                bail!("{what} variable {name}: refers to application variable {reference:?}, which is not declared in [variables]");
            }
        }
        variables.insert(name, template);
    }
    Ok(Component { id: id.to_string(), source, sqlite_databases: comp.sqlite_databases, variables, allowed_outbound_hosts })
}

/// One entry of `allowed_outbound_hosts` this host supports: `http://`, `https://` or `postgres://`, an exact
/// host, and a port (the scheme's default when none is written). No wildcards, no paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl AllowedHost {
    pub fn parse(text: &str) -> Result<AllowedHost> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://").with_context(|| format!("{text:?}: expected http://host[:port] or https://host[:port]"))?;
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            "postgres" => crate::postgres::DEFAULT_PORT,
            _ => bail!("{text:?}: only http, https and postgres are supported"),
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains(['/', '*', '?', '#', '@']) {
            bail!("{text:?}: expected an exact host and optional port (no wildcards or paths)");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().with_context(|| format!("{text:?}: the port is not a number"))?),
            None => (rest, default_port),
        };
        Ok(AllowedHost { scheme: scheme.to_string(), host: host.to_ascii_lowercase(), port })
    }

    /// Whether a request to `uri` may go out under this entry.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("");
        let default_port = if scheme == "https" { 443 } else { 80 };
        uri.host().is_some_and(|host| self.allows_endpoint(scheme, host, uri.port_u16().unwrap_or(default_port)))
    }

    /// Whether a connection by `scheme` (`postgres` for outbound PostgreSQL) to `host:port` may
    /// be made under this entry.
    pub fn allows_endpoint(&self, scheme: &str, host: &str, port: u16) -> bool {
        scheme == self.scheme && host.eq_ignore_ascii_case(&self.host) && port == self.port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
spin_manifest_version = 2

[application]
name = "carefront"
version = "0.1.0"
authors = ["someone"]

[variables]
session_key = { required = true, secret = true }
greeting = { default = "hello" }

[[trigger.http]]
route = "/api/..."
component = "api"

[[trigger.http]]
route = "/api/v1/health"
component = "api"

[[trigger.http]]
route = { private = true }
component = "api"

[component.api]
source = "api.wasm"
sqlite_databases = ["default"]
allowed_outbound_hosts = []
[component.api.variables]
session_key = "{{ session_key }}"
hello = "say {{greeting}}!"
literal = "plain"
[component.api.build]
command = "cargo build"
"#;

    #[test]
    fn parses_a_good_manifest() -> Result<()> {
        let m = parse(GOOD, Path::new("/app"))?;
        assert_eq!(m.name, "carefront");
        assert_eq!(m.routes.len(), 2);
        let api = &m.components["api"];
        assert_eq!(api.source, PathBuf::from("/app/api.wasm"));
        assert_eq!(
            api.variables["hello"],
            Template(vec![TemplatePart::Literal("say ".into()), TemplatePart::Variable("greeting".into()), TemplatePart::Literal("!".into()),])
        );
        assert_eq!(api.variables["literal"], Template(vec![TemplatePart::Literal("plain".into())]));
        assert!(m.variables["session_key"].secret);
        Ok(())
    }

    fn refuses(text: &str, needle: &str) {
        match parse(text, Path::new("/app")) {
            Ok(_) => panic!("accepted a manifest that should be refused ({needle})"),
            Err(e) => {
                let msg = format!("{e:#}");
                assert!(msg.contains(needle), "{msg:?} does not mention {needle:?}");
            }
        }
    }

    #[test]
    fn outbound_hosts_are_exact_http_origins_or_templates() -> Result<()> {
        let with = |hosts: &str| GOOD.replace("allowed_outbound_hosts = []", &format!("allowed_outbound_hosts = {hosts}"));
        let m = parse(&with(r#"["https://api.notifications.service.gov.uk", "{{ greeting }}"]"#), Path::new("/app"))?;
        assert_eq!(m.components["api"].allowed_outbound_hosts.len(), 2);
        refuses(&with(r#"["https://*.example.com"]"#), "wildcards");
        refuses(&with(r#"["ftp://example.com"]"#), "only http, https and postgres");
        // The PostgreSQL address the components may connect to (pg_outbound_host).
        let m = parse(&with(r#"["postgres://127.0.0.1:5432"]"#), Path::new("/app"))?;
        assert_eq!(m.components["api"].allowed_outbound_hosts.len(), 1);
        refuses(&with(r#"["https://example.com/path"]"#), "no wildcards or paths");
        refuses(&with(r#"["{{ nope }}"]"#), "nope");
        let host = AllowedHost::parse("http://127.0.0.1:6011")?;
        assert!(host.allows(&"http://127.0.0.1:6011/v2/notifications/sms".parse()?));
        assert!(!host.allows(&"http://127.0.0.1:6012/v2/notifications/sms".parse()?));
        assert!(!host.allows(&"https://127.0.0.1:6011/".parse()?));
        assert!(!host.allows(&"http://localhost:6011/".parse()?));
        let notify = AllowedHost::parse("https://api.notifications.service.gov.uk")?;
        assert!(notify.allows(&"https://api.notifications.service.gov.uk/v2/notifications/email".parse()?));
        assert!(!notify.allows(&"https://api.notifications.service.gov.uk.evil.example/".parse()?));
        Ok(())
    }

    #[test]
    fn refuses_unknown_keys() {
        refuses(&GOOD.replace("sqlite_databases", "key_value = 1\nsqlite_databases"), "key_value");
        refuses(&GOOD.replace("[application]", "[application]\nbase = \"/x\""), "base");
        refuses(&format!("{GOOD}\n[[trigger.redis]]\nchannel = \"x\"\ncomponent = \"api\"\n"), "redis");
    }

    #[test]
    fn refuses_bad_variables() {
        refuses(&GOOD.replace("\"{{ session_key }}\"", "\"{{ nope }}\""), "nope");
        refuses(&GOOD.replace("greeting = { default = \"hello\" }", "greeting = {}"), "greeting");
        refuses(&GOOD.replace("\"plain\"", "\"{{ open\""), "unterminated");
    }

    #[test]
    fn refuses_duplicate_routes_and_unknown_components() {
        refuses(&GOOD.replace("route = \"/api/v1/health\"", "route = \"/api/...\""), "already mapped");
        refuses(
            &GOOD.replace(
                "component = \"api\"\n\n[[trigger.http]]\nroute = \"/api/v1/health\"",
                "component = \"web\"\n\n[[trigger.http]]\nroute = \"/api/v1/health\"",
            ),
            "not defined",
        );
    }

    #[test]
    fn variable_names() {
        assert!(is_valid_variable_name("session_key"));
        assert!(is_valid_variable_name("a1"));
        assert!(!is_valid_variable_name("Session"));
        assert!(!is_valid_variable_name("1a"));
        assert!(!is_valid_variable_name("a__b"));
        assert!(!is_valid_variable_name("a_"));
        assert!(!is_valid_variable_name(""));
    }
}
