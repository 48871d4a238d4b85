//! Keeps the OpenAPI documents in `docs/openapi/` true to the code (tests only; feature
//! `openapi`). The crates that own the routes use it:
//!
//! - [`Document::routes`] lists `(METHOD, /path/{param})` of a document and
//!   [`routes_in_source`] those an axum router registers (read from its source), so a
//!   test can say "exactly these, nothing more, nothing less".
//! - [`Document::check_answer`] validates a real answer (status and JSON body) against the
//!   document: the status must be documented and the body must fit its schema.
//! - [`Document::check_examples`] validates every example of the document against its
//!   own schema, and [`Document::runs`] turns the examples into requests to execute.
//!
//! # Which examples run
//!
//! Request and response examples are linked by name (the convention of mock servers
//! such as Microcks): a response example named `N` runs when `N` is `default` or some
//! parameter or the request body has an example named `N`. Its request takes each
//! parameter's example `N` (else its `example`, else its example `default`) and the body
//! example `N`; the answer must have the status the response example is listed under and
//! fit that response's schema. Response examples with no request of their name (a 502 from
//! Glase, say) are documentation: only checked against their schema.
//!
//! # Implementation rationale
//!
//! A small validator for the JSON Schema subset the documents use (`type`, `enum`,
//! `const`, `properties`, `required`, `additionalProperties`, `items`, `minItems`,
//! `minLength`, `minimum`, `maximum`, `exclusiveMinimum`, `pattern`, `oneOf`, `anyOf`,
//! `allOf`, local `$ref`) instead of the `jsonschema` crate: that crate and its
//! dependencies would be the largest build of the test suite, for a few hundred lines. A
//! keyword outside the subset is an error, not ignored, so the documents cannot use
//! more than is checked.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Keywords that describe and never constrain.
const ANNOTATIONS: [&str; 9] =
    ["description", "summary", "title", "examples", "example", "default", "format", "deprecated", "readOnly"];

/// Why a request, an answer or an example does not fit the document (or the document
/// cannot be read): one message for a test's failure list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

impl From<String> for Mismatch {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// An OpenAPI 3.1 document, read from YAML.
#[derive(Debug, Clone)]
pub struct Document {
    root: Value,
}

/// One example to execute: a request and what its answer must be.
#[derive(Debug, Clone)]
pub struct Run {
    /// `operationId / example name`, for messages.
    pub name: String,
    /// The example's name.
    pub example: String,
    pub operation_id: String,
    /// Upper case.
    pub method: String,
    /// The path template, as in the document.
    pub template: String,
    /// The path with its parameters filled in and the query string, if any.
    pub path_and_query: String,
    /// Content type and body.
    pub body: Option<(String, Vec<u8>)>,
    pub expected_status: u16,
}

impl Document {
    /// Reads a YAML document.
    ///
    /// # Panics
    /// When the file cannot be read or is not YAML (a test's setup failing).
    pub fn load(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Self::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Parses YAML text.
    pub fn parse(text: &str) -> Result<Self, Mismatch> {
        let root: Value = serde_saphyr::from_str(text).map_err(|e| Mismatch(format!("not a YAML document: {e}")))?;
        Ok(Self { root })
    }

    /// The document as JSON.
    pub fn json(&self) -> &Value {
        &self.root
    }

    /// Follows local `$ref`s (`#/a/b`) until a value without one.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => value = self.pointer(reference),
                None => return value,
            }
        }
        panic!("$ref chain too long at {value}")
    }

    fn pointer(&self, reference: &str) -> &Value {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("only local $refs: {reference}"));
        self.root.pointer(pointer).unwrap_or_else(|| panic!("$ref {reference} points at nothing"))
    }

    fn paths(&self) -> Vec<(String, &Value)> {
        let paths = self.root.get("paths").and_then(Value::as_object).expect("the document has paths");
        paths.iter().map(|(path, item)| (path.clone(), self.resolve(item))).collect()
    }

    /// Checks that the document (`name`, for the message) lists exactly the routes a
    /// router registers: `(METHOD, path)` pairs, compared by their [`shape`].
    pub fn check_routes(&self, registered: &BTreeSet<(String, String)>, name: &str) -> Result<(), Mismatch> {
        let shaped = |routes: &BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
            routes.iter().map(|(method, path)| (method.clone(), shape(path))).collect()
        };
        let (documented, registered) = (shaped(&self.routes()), shaped(registered));
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&registered).collect();
        if undocumented.is_empty() && unserved.is_empty() {
            return Ok(());
        }
        Err(Mismatch(format!(
            "registered but not in {name}: {undocumented:?}\nin {name} but not registered: {unserved:?}"
        )))
    }

    /// Every `(METHOD, path template)` the document describes.
    pub fn routes(&self) -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for (path, item) in self.paths() {
            for method in METHODS {
                if item.get(method).is_some() {
                    routes.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        routes
    }

    /// Every operation: (method, path, path item, operation).
    fn operations(&self) -> Vec<(String, String, &Value, &Value)> {
        let mut operations = Vec::new();
        for (path, item) in self.paths() {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    operations.push((method.to_ascii_uppercase(), path.clone(), item, operation));
                }
            }
        }
        operations
    }

    /// Path-level and operation-level parameters, resolved.
    fn parameters<'a>(&'a self, item: &'a Value, operation: &'a Value) -> Vec<&'a Value> {
        let list = |v: &'a Value| v.get("parameters").and_then(Value::as_array).into_iter().flatten();
        list(item).chain(list(operation)).map(|p| self.resolve(p)).collect()
    }

    /// The response object for `status` (or `default`), resolved.
    fn response<'a>(&'a self, operation: &'a Value, status: u16) -> Option<&'a Value> {
        let responses = operation.get("responses")?;
        responses.get(status.to_string()).or_else(|| responses.get("default")).map(|r| self.resolve(r))
    }

    /// The operation whose template matches `method` and the concrete `path` (no query).
    fn find(&self, method: &str, path: &str) -> Option<(String, &Value)> {
        self.operations()
            .into_iter()
            .find(|(m, template, _, _)| m.eq_ignore_ascii_case(method) && template_matches(template, path))
            .map(|(_, template, _, operation)| (template, operation))
    }

    /// Checks a real answer: the operation exists, documents `status`, and a JSON `body`
    /// fits the response's `application/json` schema.
    pub fn check_answer(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), Mismatch> {
        let path = path.split('?').next().unwrap_or(path);
        let (template, operation) =
            self.find(method, path).ok_or_else(|| format!("{method} {path}: not in the document"))?;
        let response = self
            .response(operation, status)
            .ok_or_else(|| format!("{method} {template}: status {status} is not documented (answer {body})"))?;
        let Some(schema) = response.pointer("/content/application~1json/schema") else {
            return Ok(());
        };
        self.validate(schema, body).map_err(|errors| {
            Mismatch(format!(
                "{method} {template} {status}: the answer does not fit the schema:\n  {}\nanswer: {body}",
                errors.join("\n  ")
            ))
        })
    }

    /// Checks what executing `run` (at `path`, its parameters filled in) answered: the
    /// example's status, and an answer that fits the schema. `shown` is the answer as
    /// the message quotes it.
    pub fn check_run(&self, run: &Run, path: &str, status: u16, body: &Value, shown: &str) -> Result<(), Mismatch> {
        if status != run.expected_status {
            return Err(Mismatch(format!(
                "{} ({} {path}): HTTP {status}, documented {}: {shown}",
                run.name, run.method, run.expected_status
            )));
        }
        self.check_answer(&run.method, path, status, body).map_err(|why| Mismatch(format!("{}: {why}", run.name)))
    }

    /// Checks a real request: the operation exists, and a JSON `body` fits the request's
    /// `application/json` schema (a missing body where one is required is a problem too).
    pub fn check_request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(), Mismatch> {
        let path = path.split('?').next().unwrap_or(path);
        let (template, operation) =
            self.find(method, path).ok_or_else(|| format!("{method} {path}: not in the document"))?;
        let request = operation.get("requestBody").map(|b| self.resolve(b));
        let required = request.and_then(|r| r.get("required")).and_then(Value::as_bool).unwrap_or(false);
        let schema = request.and_then(|r| r.pointer("/content/application~1json/schema"));
        match (body, schema) {
            (None, _) if required => {
                Err(Mismatch(format!("{method} {template}: a body is required and none was sent")))
            }
            (Some(body), None) => {
                Err(Mismatch(format!("{method} {template}: the document takes no JSON body, got {body}")))
            }
            (Some(body), Some(schema)) => self.validate(schema, body).map_err(|errors| {
                Mismatch(format!(
                    "{method} {template}: the request does not fit the schema:\n  {}\nrequest: {body}",
                    errors.join("\n  ")
                ))
            }),
            (None, _) => Ok(()),
        }
    }

    /// Every example (parameters, request bodies, responses) against its schema; the
    /// problems found, one a line.
    pub fn check_examples(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (method, path, item, operation) in self.operations() {
            let at = format!("{method} {path}");
            // A request example whose answer is an error may break the request's schema
            // on purpose (a value out of bounds); only the others must fit.
            let refused = self.error_example_names(operation);
            for parameter in self.parameters(item, operation) {
                let name = parameter.get("name").and_then(Value::as_str).unwrap_or("?");
                let Some(schema) = parameter.get("schema") else { continue };
                for (example, value) in self.examples_of(parameter) {
                    if refused.contains(&example) {
                        continue;
                    }
                    if let Err(errors) = self.validate(schema, &value) {
                        problems.push(format!("{at} parameter {name} example {example}: {}", errors.join("; ")));
                    }
                }
            }
            let body = operation.get("requestBody").map(|b| self.resolve(b));
            for (kind, media) in body.into_iter().flat_map(|b| self.media(b)) {
                self.check_media_examples(&format!("{at} request {kind}"), media, &refused, &mut problems);
            }
            let responses = operation.get("responses").and_then(Value::as_object).into_iter().flatten();
            for (status, response) in responses {
                for (kind, media) in self.media(self.resolve(response)) {
                    self.check_media_examples(&format!("{at} {status} {kind}"), media, &BTreeSet::new(), &mut problems);
                }
            }
        }
        problems
    }

    fn media<'a>(&'a self, holder: &'a Value) -> Vec<(String, &'a Value)> {
        holder.get("content").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.clone(), v)).collect()
    }

    /// The names of an operation's response examples listed under a 4xx or 5xx status.
    fn error_example_names(&self, operation: &Value) -> BTreeSet<String> {
        let responses = operation.get("responses").and_then(Value::as_object).into_iter().flatten();
        responses
            .filter(|(status, _)| status.starts_with('4') || status.starts_with('5'))
            .flat_map(|(_, response)| self.media(self.resolve(response)))
            .flat_map(|(_, media)| self.examples_of(media))
            .map(|(name, _)| name)
            .collect()
    }

    fn check_media_examples(&self, at: &str, media: &Value, skip: &BTreeSet<String>, problems: &mut Vec<String>) {
        let Some(schema) = media.get("schema") else {
            problems.push(format!("{at}: no schema"));
            return;
        };
        for (name, value) in self.examples_of(media).into_iter().filter(|(name, _)| !skip.contains(name)) {
            if let Err(errors) = self.validate(schema, &value) {
                problems.push(format!("{at} example {name}: {}", errors.join("; ")));
            }
        }
    }

    /// `(name, value)` of an object's `examples` map (Example Objects, resolved) and its
    /// single `example` (named `example`).
    fn examples_of(&self, holder: &Value) -> Vec<(String, Value)> {
        let mut found = Vec::new();
        if let Some(map) = holder.get("examples").and_then(Value::as_object) {
            for (name, example) in map {
                let example = self.resolve(example);
                if let Some(value) = example.get("value") {
                    found.push((name.clone(), value.clone()));
                }
            }
        }
        if let Some(value) = holder.get("example") {
            found.push(("example".to_owned(), value.clone()));
        }
        found
    }

    fn example_named(&self, holder: &Value, name: &str) -> Option<Value> {
        let example = holder.get("examples")?.get(name)?;
        self.resolve(example).get("value").cloned()
    }

    /// The examples to execute, in document order (see the module docs).
    ///
    /// # Panics
    /// When an example cannot be turned into a request (a required parameter without a
    /// value of that name): the document is wrong.
    pub fn runs(&self) -> Vec<Run> {
        let mut runs = Vec::new();
        for (method, template, item, operation) in self.operations() {
            let operation_id = operation.get("operationId").and_then(Value::as_str).unwrap_or("?").to_owned();
            let parameters = self.parameters(item, operation);
            let body = operation.get("requestBody").map(|b| self.resolve(b));
            let body_media = body.and_then(|b| self.media(b).into_iter().next());
            let mut request_names: BTreeSet<String> = BTreeSet::new();
            for parameter in &parameters {
                request_names.extend(self.examples_of(parameter).into_iter().map(|(n, _)| n));
            }
            if let Some((_, media)) = &body_media {
                request_names.extend(self.examples_of(media).into_iter().map(|(n, _)| n));
            }
            let responses = operation.get("responses").and_then(Value::as_object).into_iter().flatten();
            for (status, response) in responses {
                let status: u16 = status.parse().unwrap_or_else(|_| panic!("{method} {template}: status {status}"));
                for (_, media) in self.media(self.resolve(response)) {
                    for (example, _) in self.examples_of(media) {
                        if example != "default" && !request_names.contains(&example) {
                            continue;
                        }
                        let (path_and_query, body) =
                            self.request(&method, &template, &parameters, body_media.as_ref(), &example);
                        runs.push(Run {
                            name: format!("{operation_id} / {example}"),
                            example,
                            operation_id: operation_id.clone(),
                            method: method.clone(),
                            template: template.clone(),
                            path_and_query,
                            body,
                            expected_status: status,
                        });
                    }
                }
            }
        }
        runs
    }

    fn request(
        &self,
        method: &str,
        template: &str,
        parameters: &[&Value],
        body_media: Option<&(String, &Value)>,
        example: &str,
    ) -> (String, Option<(String, Vec<u8>)>) {
        let mut path = template.to_owned();
        let mut query = Vec::new();
        for parameter in parameters {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or_default();
            let value = self
                .example_named(parameter, example)
                .or_else(|| parameter.get("example").cloned())
                .or_else(|| self.example_named(parameter, "default"));
            let required = parameter.get("required").and_then(Value::as_bool).unwrap_or(false);
            let Some(value) = value else {
                assert!(!required, "{method} {template}: parameter {name} has no example for {example}");
                continue;
            };
            let text = match &value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match parameter.get("in").and_then(Value::as_str) {
                Some("path") => path = path.replace(&format!("{{{name}}}"), &encode(&text)),
                Some("query") => query.push(format!("{}={}", encode(name), encode(&text))),
                _ => {}
            }
        }
        if !query.is_empty() {
            let _ = write!(path, "?{}", query.join("&"));
        }
        let body = body_media.and_then(|(kind, media)| {
            let value = self.example_named(media, example).or_else(|| self.example_named(media, "default"))?;
            let bytes = match value {
                Value::String(text) if !kind.contains("json") => text.into_bytes(),
                other => other.to_string().into_bytes(),
            };
            Some((kind.clone(), bytes))
        });
        (path, body)
    }

    /// Validates `value` against `schema`; every problem found, with its JSON path.
    pub fn validate(&self, schema: &Value, value: &Value) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Checks `value` against one schema object, keyword by keyword: the keywords that
    /// hold subschemas recurse here, the others are [`leaf_problem`]s.
    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(schema) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                errors.push(format!("{at}: nothing is allowed here"));
            }
            return;
        };
        for (keyword, argument) in schema {
            match keyword.as_str() {
                "$ref" => {
                    let target = self.pointer(argument.as_str().expect("$ref is a string"));
                    self.check(target, value, at, errors);
                }
                "properties" | "required" | "additionalProperties" => {
                    if keyword == "properties" {
                        self.check_object(schema, value, at, errors);
                    }
                }
                "items" => {
                    if let Value::Array(items) = value {
                        for (i, item) in items.iter().enumerate() {
                            self.check(argument, item, &format!("{at}[{i}]"), errors);
                        }
                    }
                }
                "oneOf" | "anyOf" => self.check_branches(keyword, argument, value, at, errors),
                "allOf" => {
                    for branch in argument.as_array().expect("a list of schemas") {
                        self.check(branch, value, at, errors);
                    }
                }
                other if ANNOTATIONS.contains(&other) => {}
                other => errors.extend(leaf_problem(other, argument, value, at)),
            }
        }
        if !schema.contains_key("properties")
            && (schema.contains_key("required") || schema.contains_key("additionalProperties"))
        {
            self.check_object(schema, value, at, errors);
        }
    }

    /// `oneOf` (exactly one branch fits) or `anyOf` (at least one does); when not, one
    /// error that says why each branch did not fit.
    fn check_branches(&self, keyword: &str, argument: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let branches = argument.as_array().expect("a list of schemas");
        let fitting: Vec<Vec<String>> = branches
            .iter()
            .map(|branch| {
                let mut branch_errors = Vec::new();
                self.check(branch, value, at, &mut branch_errors);
                branch_errors
            })
            .collect();
        let fits = fitting.iter().filter(|e| e.is_empty()).count();
        if fits == 0 || (keyword == "oneOf" && fits > 1) {
            let why: Vec<String> = fitting.iter().map(|e| e.join(", ")).collect();
            errors.push(format!("{at}: fits {fits} of the {keyword} branches ({})", why.join(" | ")));
        }
    }

    fn check_object(&self, schema: &Map<String, Value>, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Value::Object(object) = value else { return };
        let empty = Map::new();
        let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: `{name}` is missing"));
            }
        }
        for (name, field) in object {
            match properties.get(name) {
                Some(property) => self.check(property, field, &format!("{at}.{name}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}: `{name}` is not documented")),
                    Some(extra @ Value::Object(_)) => self.check(extra, field, &format!("{at}.{name}"), errors),
                    _ => {}
                },
            }
        }
    }
}

/// What a keyword without subschemas finds wrong with `value`, if anything. A keyword
/// outside the subset this validator knows is a bug in the document or here: panic.
fn leaf_problem(keyword: &str, argument: &Value, value: &Value, at: &str) -> Option<String> {
    match keyword {
        "type" => type_problem(argument, value, at),
        "enum" => {
            let list = argument.as_array().expect("enum is a list");
            (!list.contains(value)).then(|| format!("{at}: {} is not one of {argument}", short(value)))
        }
        "const" => (argument != value).then(|| format!("{at}: {} is not {argument}", short(value))),
        "minItems" => match value {
            Value::Array(items) if (items.len() as u64) < argument.as_u64().expect("minItems") => {
                Some(format!("{at}: fewer than {argument} items"))
            }
            _ => None,
        },
        "minLength" | "maxLength" => length_problem(keyword, argument, value, at),
        "minimum" | "maximum" | "exclusiveMinimum" => bound_problem(keyword, argument, value, at),
        "pattern" => pattern_problem(argument, value, at),
        other => panic!("schema keyword {other:?} is outside the subset this validator checks"),
    }
}

/// `type`: one type name or a list of them.
fn type_problem(argument: &Value, value: &Value, at: &str) -> Option<String> {
    let types: Vec<&str> = match argument {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => panic!("bad type {argument}"),
    };
    let fits = types.iter().any(|t| has_type(value, t));
    (!fits).then(|| format!("{at}: {} is not of type {}", short(value), types.join(" or ")))
}

/// `minLength` or `maxLength`, counted in characters; only strings are measured.
fn length_problem(keyword: &str, argument: &Value, value: &Value, at: &str) -> Option<String> {
    let Value::String(text) = value else { return None };
    let length = text.chars().count() as u64;
    let bound = argument.as_u64().expect("a length");
    let broken = (keyword == "minLength" && length < bound) || (keyword == "maxLength" && length > bound);
    broken.then(|| format!("{at}: {} breaks {keyword} {bound}", short(value)))
}

/// `minimum`, `maximum` or `exclusiveMinimum`; only numbers are compared.
fn bound_problem(keyword: &str, argument: &Value, value: &Value, at: &str) -> Option<String> {
    let (Some(number), Some(bound)) = (value.as_f64(), argument.as_f64()) else { return None };
    let broken = match keyword {
        "minimum" => number < bound,
        "maximum" => number > bound,
        _ => number <= bound,
    };
    broken.then(|| format!("{at}: {number} breaks {keyword} {bound}"))
}

/// `pattern`: a regular expression a string must match somewhere.
fn pattern_problem(argument: &Value, value: &Value, at: &str) -> Option<String> {
    let Value::String(text) = value else { return None };
    let pattern = argument.as_str().expect("pattern is a string");
    let regex = regex::Regex::new(pattern).unwrap_or_else(|e| panic!("pattern {pattern}: {e}"));
    (!regex.is_match(text)).then(|| format!("{at}: {text:?} does not match {pattern}"))
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        other => panic!("unknown type {other:?}"),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 { format!("{}…", text.chars().take(80).collect::<String>()) } else { text }
}

/// Percent-encodes a path segment or query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Whether a concrete path fits a template (`{name}` matches one segment).
pub fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// A template with its parameter names dropped (`/a/{}/b`), to compare the document's
/// names (`{vendId}`) with the router's (`{vend_id}`).
pub fn shape(template: &str) -> String {
    template
        .split('/')
        .map(|segment| if segment.starts_with('{') && segment.ends_with('}') { "{}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// The routes an axum router's source registers: every `.route("PATH", get(…).post(…))`,
/// its path prefixed with `prefix` (a `nest`), as `(METHOD, path)`. Paths not written as
/// literals (a loop over a constant) are the caller's to add.
pub fn routes_in_source(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(\"") {
        rest = &rest[at + ".route(\"".len()..];
        let Some(end) = rest.find('"') else { break };
        let path = format!("{prefix}{}", &rest[..end]);
        // The method router: up to the parenthesis that closes `.route(`.
        let mut depth = 1usize;
        let mut close = rest.len();
        for (i, c) in rest.char_indices().skip(end + 1) {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let methods = &rest[end + 1..close];
        for method in METHODS {
            let called = methods.match_indices(method).any(|(i, _)| {
                let before = methods[..i].chars().next_back();
                let after = methods[i + method.len()..].chars().next();
                before.is_none_or(|c| !c.is_alphanumeric() && c != '_') && after == Some('(')
            });
            if called {
                routes.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        rest = &rest[close.min(rest.len())..];
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_read_from_router_source() {
        let source = r#"
            Router::new()
                .route("/a", get(list))
                .route("/a/{id}", get(show).put(change))
                .route("/b", post(make_it).delete(clear)) // a comment
                .merge(other())
        "#;
        let routes: Vec<(String, String)> = routes_in_source(source, "/x").into_iter().collect();
        let expected =
            [("DELETE", "/x/b"), ("GET", "/x/a"), ("GET", "/x/a/{id}"), ("POST", "/x/b"), ("PUT", "/x/a/{id}")];
        assert_eq!(routes, expected.map(|(m, p)| (m.to_owned(), p.to_owned())));
    }

    #[test]
    fn the_validator_checks_types_required_fields_and_extra_fields() {
        let doc = Document::parse(
            "openapi: 3.1.0\npaths: {}\ncomponents:\n  schemas:\n    Money: { type: string, pattern: '^[0-9]+\\.[0-9]{2}$' }\n",
        )
        .expect("YAML");
        let schema: Value = serde_json::json!({
            "type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"$ref": "#/components/schemas/Money"}, "b": {"type": ["integer", "null"], "minimum": 1}}
        });
        assert!(doc.validate(&schema, &serde_json::json!({"a": "1.00", "b": null})).is_ok());
        let errors = doc.validate(&schema, &serde_json::json!({"a": "1.0", "b": 0, "c": 1})).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(doc.validate(&schema, &serde_json::json!({})).is_err());
    }

    #[test]
    fn templates_match_one_segment_per_parameter() {
        assert!(template_matches("/a/{id}/b", "/a/17/b"));
        assert!(!template_matches("/a/{id}/b", "/a/17/c"));
        assert!(!template_matches("/a/{id}", "/a/"));
        assert_eq!(shape("/a/{vend_id}/b"), "/a/{}/b");
    }
}
