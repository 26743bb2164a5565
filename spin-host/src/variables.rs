//! Application variables: values come from the process environment (`SPIN_VARIABLE_<NAME>`,
//! with the variable name upper-cased), then from the `--env-file` (lines
//! `SPIN_VARIABLE_<NAME>=value`), then from the manifest default. Everything is resolved at
//! start-up, so a missing required variable stops the host before it listens.

use crate::manifest::{AllowedHost, Manifest, Template, TemplatePart, is_valid_variable_name};
use anyhow::{Context as _, Result, bail};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The environment-variable prefix Spin's environment provider uses.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// Parse an env file: blank lines and lines starting with `#` are ignored; every other line
/// must be `SPIN_VARIABLE_<NAME>=value` (an optional leading `export ` is allowed; a value
/// wrapped in matching single or double quotes is unquoted). Returns lower-case variable
/// names mapped to values.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let lineno = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {lineno}: expected SPIN_VARIABLE_<NAME>=value");
        };
        let key = key.trim();
        let Some(upper) = key.strip_prefix(ENV_PREFIX) else {
            bail!("line {lineno}: {key:?} does not start with {ENV_PREFIX}");
        };
        let name = upper.to_ascii_lowercase();
        if !is_valid_variable_name(&name) || upper != name.to_ascii_uppercase() {
            bail!("line {lineno}: {key:?} does not name a valid Spin variable");
        }
        let value = value.trim();
        let value = unquote(value);
        if values.insert(name, value.to_string()).is_some() {
            bail!("line {lineno}: {key} is set twice");
        }
    }
    Ok(values)
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

/// Read and parse an env file.
pub fn load_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read env file {}", path.display()))?;
    parse_env_file(&text).with_context(|| format!("invalid env file {}", path.display()))
}

/// Resolve every application variable, then every component's variables and outbound hosts.
/// `env` looks up a process environment variable. Returns component id -> its settings.
pub fn resolve(manifest: &Manifest, env: impl Fn(&str) -> Option<String>, env_file: &BTreeMap<String, String>) -> Result<BTreeMap<String, Resolved>> {
    for name in env_file.keys() {
        if !manifest.variables.contains_key(name) {
            bail!("the env file sets {ENV_PREFIX}{}, but the manifest declares no variable {name:?}", name.to_ascii_uppercase());
        }
    }
    let mut app_values = HashMap::new();
    let mut missing = Vec::new();
    for (name, var) in &manifest.variables {
        let env_name = format!("{ENV_PREFIX}{}", name.to_ascii_uppercase());
        let value = env(&env_name).or_else(|| env_file.get(name).cloned()).or_else(|| var.default.clone());
        match value {
            Some(v) => {
                app_values.insert(name.as_str(), v);
            }
            None => missing.push(env_name),
        }
    }
    if !missing.is_empty() {
        bail!("required variable(s) not set: {} (set them in the environment or in the --env-file)", missing.join(", "));
    }
    let mut out = BTreeMap::new();
    for (id, component) in &manifest.components {
        let mut values = HashMap::new();
        for (name, template) in &component.variables {
            let value = fill(template, &app_values).with_context(|| format!("[component.{id}] variable {name}"))?;
            values.insert(name.clone(), value);
        }
        let mut hosts = Vec::new();
        for template in &component.allowed_outbound_hosts {
            let text = fill(template, &app_values).with_context(|| format!("[component.{id}] allowed_outbound_hosts"))?;
            hosts.push(AllowedHost::parse(&text).with_context(|| format!("[component.{id}] allowed_outbound_hosts")).map(|host| (text, host))?);
        }
        out.insert(id.clone(), Resolved { variables: values, allowed_outbound_hosts: hosts.into_iter().map(|(_, host)| host).collect() });
    }
    Ok(out)
}

/// One component's resolved settings.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Component variable -> value.
    pub variables: HashMap<String, String>,
    /// Where the component may send HTTP requests.
    pub allowed_outbound_hosts: Vec<AllowedHost>,
}

fn fill(template: &Template, app_values: &HashMap<&str, String>) -> Result<String> {
    let mut value = String::new();
    for part in &template.0 {
        match part {
            TemplatePart::Literal(text) => value.push_str(text),
            TemplatePart::Variable(var) => match app_values.get(var.as_str()) {
                Some(v) => value.push_str(v),
                None => bail!("{var:?} is not declared"),
            },
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
session_key = { required = true, secret = true }
greeting = { default = "hello" }
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "c.wasm"
[component.c.variables]
key = "{{ session_key }}"
msg = "{{ greeting }}, world"
"#;

    #[test]
    fn env_file_parsing() -> Result<()> {
        let parsed = parse_env_file("# comment\n\nSPIN_VARIABLE_SESSION_KEY=abc=def\nexport SPIN_VARIABLE_GREETING=\"hi there\"\n")?;
        assert_eq!(parsed["session_key"], "abc=def");
        assert_eq!(parsed["greeting"], "hi there");
        assert!(parse_env_file("SESSION_KEY=x").is_err());
        assert!(parse_env_file("SPIN_VARIABLE_Bad=x").is_err());
        assert!(parse_env_file("SPIN_VARIABLE_A=1\nSPIN_VARIABLE_A=2").is_err());
        Ok(())
    }

    #[test]
    fn resolution_order() -> Result<()> {
        let m = crate::manifest::parse(MANIFEST, Path::new("."))?;
        let file = parse_env_file("SPIN_VARIABLE_SESSION_KEY=from-file")?;
        let values = resolve(&m, |_| None, &file)?;
        assert_eq!(values["c"].variables["key"], "from-file");
        assert_eq!(values["c"].variables["msg"], "hello, world");
        let values = resolve(&m, |k| (k == "SPIN_VARIABLE_SESSION_KEY").then(|| "from-env".to_string()), &file)?;
        assert_eq!(values["c"].variables["key"], "from-env");
        Ok(())
    }

    #[test]
    fn outbound_hosts_come_from_variables() -> Result<()> {
        let text = MANIFEST.replace("source = \"c.wasm\"", "source = \"c.wasm\"\nallowed_outbound_hosts = [\"{{ greeting }}\"]");
        let m = crate::manifest::parse(&text, Path::new("."))?;
        let file = parse_env_file("SPIN_VARIABLE_SESSION_KEY=x\nSPIN_VARIABLE_GREETING=http://127.0.0.1:6011")?;
        let values = resolve(&m, |_| None, &file)?;
        assert_eq!(values["c"].allowed_outbound_hosts, vec![AllowedHost::parse("http://127.0.0.1:6011")?]);
        let file = parse_env_file("SPIN_VARIABLE_SESSION_KEY=x")?;
        assert!(resolve(&m, |_| None, &file).is_err(), "\"hello\" is not a host");
        Ok(())
    }

    #[test]
    fn missing_required_variable_is_an_error() -> Result<()> {
        let m = crate::manifest::parse(MANIFEST, Path::new("."))?;
        let err = match resolve(&m, |_| None, &BTreeMap::new()) {
            Ok(_) => bail!("resolved without the required variable"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("SPIN_VARIABLE_SESSION_KEY"), "{err}");
        Ok(())
    }

    #[test]
    fn env_file_with_undeclared_variable_is_an_error() -> Result<()> {
        let m = crate::manifest::parse(MANIFEST, Path::new("."))?;
        let file = parse_env_file("SPIN_VARIABLE_SESSION_KEY=x\nSPIN_VARIABLE_TYPO=y")?;
        assert!(resolve(&m, |_| None, &file).is_err());
        Ok(())
    }
}
