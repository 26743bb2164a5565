//! The OpenAPI document and the router cannot drift apart: every route of the route table is
//! in the document (with the same security and permission), every operation in the document is
//! routed, every write documents its Idempotency-Key, the answers the router gives fit the
//! schemas the document names, and the document is what `GET /api/v1/openapi.json` serves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_api::routes::{Handler, ROUTES, Resolution, Signed, resolve};
use carefront_shared::consent::{Basis, Category};
use carefront_shared::credential::Permission;
use carefront_shared::needs::Need;
use http::Method;
use serde_json::{Value, json};
use support::{Api, COUNCIL, PROVIDER};

fn document() -> serde_json::Value {
    serde_json::from_str(carefront_api::OPENAPI).unwrap()
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every (path, method) the document describes.
fn operations(document: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (key, _) in item.as_object().unwrap() {
            if METHODS.contains(&key.as_str()) {
                operations.insert((path.clone(), key.clone()));
            }
        }
    }
    operations
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let documented = operations(&document);
    let routed: BTreeSet<(String, String)> = ROUTES.iter().map(|route| (route.path.to_owned(), route.method.as_str().to_ascii_lowercase())).collect();
    assert_eq!(documented, routed);

    // And the router really answers each documented operation by that route.
    for (path, method) in &documented {
        let concrete: Vec<&str> = path.split('/').map(|segment| if segment.starts_with('{') { "some-id" } else { segment }).collect();
        let concrete = concrete.join("/");
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        match resolve(&method, &concrete) {
            Resolution::Found(route, _) => assert_eq!(route.path, path),
            other => panic!("{method} {path} is not routed: {other:?}"),
        }
    }
}

#[test]
fn security_and_permissions_match_the_route_table() {
    let document = document();
    assert!(document["components"]["securitySchemes"]["carefrontSignature"]["description"].as_str().unwrap().contains("Content-Digest"));
    assert!(document["components"]["schemas"]["Problem"]["required"].as_array().unwrap().contains(&"status".into()));
    for route in ROUTES {
        let operation = &document["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        match route.handler {
            Handler::Public(_) => {
                assert_eq!(operation["security"], serde_json::json!([]), "{} is public", route.path);
                assert!(operation.get("x-carefront-permission").is_none());
            }
            Handler::Signed(permission, _) => {
                assert!(operation.get("security").is_none(), "{} uses the default (signed) security", route.path);
                assert_eq!(operation["x-carefront-permission"], permission.as_str(), "{}", route.path);
                for status in ["401", "403"] {
                    assert!(operation["responses"].get(status).is_some(), "{} documents {status}", route.path);
                }
            }
        }
        // Every path parameter is declared.
        for segment in route.path.split('/').filter(|segment| segment.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            let declared = operation["parameters"]
                .as_array()
                .is_some_and(|parameters| parameters.iter().any(|parameter| parameter["name"] == name && parameter["in"] == "path"));
            assert!(declared, "{} declares {name}", route.path);
        }
    }
    assert_eq!(document["security"], serde_json::json!([{ "carefrontSignature": [] }]));
}

#[test]
fn every_reference_resolves() {
    let document = document();
    fn walk(value: &serde_json::Value, document: &serde_json::Value) {
        match value {
            serde_json::Value::Object(members) => {
                if let Some(reference) = members.get("$ref").and_then(|reference| reference.as_str()) {
                    let pointer = reference.strip_prefix('#').unwrap();
                    assert!(document.pointer(pointer).is_some(), "{reference} resolves");
                }
                members.values().for_each(|member| walk(member, document));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, document)),
            _ => {}
        }
    }
    walk(&document, &document);
}

#[test]
fn the_document_is_served() {
    let api = Api::new();
    let reply = api.call(http::Request::get("/api/v1/openapi.json").body(Vec::new()).unwrap());
    assert_eq!((reply.status, reply.content_type.as_str()), (200, "application/json"));
    assert_eq!(reply.body, document());
    let head = api.call(http::Request::head("/api/v1/openapi.json").body(Vec::new()).unwrap());
    assert_eq!((head.status, head.body), (200, serde_json::Value::Null), "HEAD has no body");
}

#[test]
fn every_write_takes_an_idempotency_key_and_documents_its_refusals() {
    let document = document();
    // Sending what is due is safe to repeat and has no body: it takes no key.
    let writes =
        ROUTES.iter().filter(|route| route.method == Method::POST && !matches!(route.handler, Handler::Public(_) | Handler::Signed(_, Signed::SendOutbox)));
    for route in writes {
        let operation = &document["paths"][route.path]["post"];
        let parameters = operation["parameters"].as_array().unwrap();
        assert!(parameters.iter().any(|parameter| parameter["$ref"] == "#/components/parameters/IdempotencyKey"), "{}", route.path);
        for status in ["400", "404", "413", "415", "422"] {
            // Only a write about someone (a path with an id) can find no one.
            if status == "404" && !route.path.contains('{') {
                continue;
            }
            assert!(operation["responses"].get(status).is_some(), "{} documents {status}", route.path);
        }
    }
}

/// Whether `value` fits `schema` (the parts of JSON Schema the document uses: $ref, type,
/// properties, required, items, enum, const, oneOf; an object that lists its properties holds
/// no others unless `additionalProperties` is true); what does not fit, by JSON pointer.
fn misfits(document: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        return misfits(document, document.pointer(reference.strip_prefix('#').unwrap()).unwrap(), value, at);
    }
    if let Some(branches) = schema["oneOf"].as_array() {
        let fitting = branches.iter().filter(|branch| misfits(document, branch, value, at).is_empty()).count();
        return if fitting == 1 { Vec::new() } else { vec![format!("{at}: fits {fitting} of oneOf")] };
    }
    let mut wrong = Vec::new();
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits_type = allowed.is_empty() || allowed.contains(&kind) || (kind == "integer" && allowed.contains(&"number"));
    if !fits_type {
        return vec![format!("{at}: {kind} is not {allowed:?}")];
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        wrong.push(format!("{at}: {value} is not one of {values:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        wrong.push(format!("{at}: {value} is not {constant}"));
    }
    if let (Value::Object(members), Some(properties)) = (value, schema["properties"].as_object()) {
        for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !members.contains_key(required) {
                wrong.push(format!("{at}: {required} is missing"));
            }
        }
        for (name, member) in members {
            match properties.get(name) {
                Some(property) => wrong.extend(misfits(document, property, member, &format!("{at}/{name}"))),
                None if schema["additionalProperties"] == true => {}
                None => wrong.push(format!("{at}/{name} is not in the schema")),
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            wrong.extend(misfits(document, item_schema, item, &format!("{at}/{index}")));
        }
    }
    wrong
}

fn assert_fits(document: &Value, path: &str, method: &str, status: u16, body: &Value) {
    let response = &document["paths"][path][method]["responses"][status.to_string()];
    let response = match response["$ref"].as_str() {
        Some(reference) => document.pointer(reference.strip_prefix('#').unwrap()).unwrap(),
        None => response,
    };
    let content = response["content"].as_object().unwrap_or_else(|| panic!("{method} {path} documents {status}"));
    let schema = content.get("application/json").or_else(|| content.get("application/problem+json")).unwrap()["schema"].clone();
    let wrong = misfits(document, &schema, body, "");
    assert!(wrong.is_empty(), "{method} {path} {status}: {wrong:#?}\n{body:#}");
}

#[test]
fn the_answers_fit_the_documented_schemas() {
    let document = document();
    let api = Api::new();
    api.seed_record("person-margaret", 3);
    api.grant("grant-more", "person-margaret", PROVIDER, &Category::ALL, Basis::Consent);
    api.seed_needs("person-margaret", &[Need::EasyRead, Need::Other], 1);
    api.seed_comment("person-margaret", "c1", Category::CarePlan, 2);
    api.seed_discussion("person-margaret", PROVIDER, "d1", 3);
    let council = api.credential(COUNCIL, &Permission::ALL);
    let provider = api.credential(
        PROVIDER,
        &[
            Permission::RecordRead,
            Permission::VisitsWrite,
            Permission::MedicationWrite,
            Permission::ConsentDiscussionsWrite,
            Permission::NeedsRead,
            Permission::CommentsWrite,
        ],
    );
    let gets = [
        ("/api/v1/people/{id}/care-plan", "/api/v1/people/person-margaret/care-plan"),
        ("/api/v1/people/{id}/guide", "/api/v1/people/person-margaret/guide"),
        ("/api/v1/people/{id}/medicines", "/api/v1/people/person-margaret/medicines"),
        ("/api/v1/people/{id}/medication-administrations", "/api/v1/people/person-margaret/medication-administrations?limit=1"),
        ("/api/v1/people/{id}/visits", "/api/v1/people/person-margaret/visits?limit=1"),
        ("/api/v1/people/{id}/contacts", "/api/v1/people/person-margaret/contacts"),
        ("/api/v1/people/{id}/documents", "/api/v1/people/person-margaret/documents"),
        ("/api/v1/people/{id}/needs", "/api/v1/people/person-margaret/needs"),
        ("/api/v1/needs/changes", "/api/v1/needs/changes?limit=1"),
        ("/api/v1/people/{id}/consent-discussions", "/api/v1/people/person-margaret/consent-discussions"),
        ("/api/v1/consent-discussions", "/api/v1/consent-discussions"),
        ("/api/v1/comments", "/api/v1/comments?status=open"),
    ];
    for (pattern, path) in gets {
        let reply = api.get(&provider, path);
        assert_eq!(reply.status, 200, "{path}: {:#}", reply.body);
        assert_fits(&document, pattern, "get", 200, &reply.body);
    }
    for (path, content_type) in
        [("/api/v1/people/person-margaret/export", "application/json"), ("/api/v1/people/person-margaret/export?format=fhir", "application/fhir+json")]
    {
        let reply = api.get(&council, path);
        assert_eq!((reply.status, reply.content_type.as_str()), (200, content_type));
        let schema = &document["paths"]["/api/v1/people/{id}/export"]["get"]["responses"]["200"]["content"][content_type]["schema"];
        assert_eq!(misfits(&document, schema, &reply.body, ""), Vec::<String>::new(), "{path}");
    }
    let report = api.get(&council, "/api/v1/monitoring");
    assert_fits(&document, "/api/v1/monitoring", "get", 200, &report.body);
    let people = api.get(&council, "/api/v1/people?limit=1");
    assert_fits(&document, "/api/v1/people", "get", 200, &people.body);
    let person = api.get(&council, "/api/v1/people/person-margaret");
    assert_fits(&document, "/api/v1/people/{id}", "get", 200, &person.body);

    let visit = json!({ "startsAt": "2026-11-21T08:00:00Z", "endsAt": "2026-11-21T08:30:00Z", "status": "completed", "carers": "Jo", "note": "Fine." });
    let dose = json!({ "medicineId": "med-person-margaret-paracetamol", "dueAt": "2026-11-21T08:00:00Z", "outcome": "refused", "reason": "Not now", "recordedBy": "Jo" });
    let discussion = json!({
        "heldOn": "2026-11-20", "method": "video", "participants": [{ "role": "advocate", "name": "Ann" }],
        "covered": ["formats"], "decisions": "Large print.", "personsWords": "Bigger letters please.",
    });
    let answer = json!({ "version": 1, "status": "answered", "response": "Thank you." });
    let posts = [
        ("/api/v1/people/{id}/visits", "/api/v1/people/person-margaret/visits", visit, 201),
        ("/api/v1/people/{id}/medication-administrations", "/api/v1/people/person-margaret/medication-administrations", dose, 201),
        ("/api/v1/people/{id}/consent-discussions", "/api/v1/people/person-margaret/consent-discussions", discussion, 201),
        ("/api/v1/people/{id}/comments/{comment}/answer", "/api/v1/people/person-margaret/comments/c1/answer", answer, 200),
    ];
    for (pattern, path, body, status) in posts {
        let reply = api.post(&provider, path, Some(pattern), &body);
        assert_eq!(reply.status, status, "{path}: {:#}", reply.body);
        assert_fits(&document, pattern, "post", status, &reply.body);
        let retry = api.post(&provider, path, Some(pattern), &body);
        assert_eq!((retry.status, retry.headers["idempotent-replayed"].to_str().unwrap()), (200, "true"));
        assert_fits(&document, pattern, "post", 200, &retry.body);
        let reused = api.post(&provider, path, Some("/api/v1/people/{id}/visits"), &body);
        if !pattern.ends_with("/visits") {
            assert_eq!(reused.status, 422, "the same key on another route is another request");
            assert_fits(&document, pattern, "post", 422, &reused.body);
        }
        let invalid = api.post(&provider, path, Some("schema-check-2"), &json!({ "unknown": 1 }));
        assert_eq!(invalid.status, 400);
        assert_fits(&document, pattern, "post", 400, &invalid.body);
    }
    // FHIR in: the record exported as a Bundle, put back in by the provider.
    let bundle = api.get(&council, "/api/v1/people/person-margaret/export?format=fhir").body;
    let schema = &document["paths"]["/api/v1/people/{id}/fhir"]["post"]["requestBody"]["content"]["application/fhir+json"]["schema"];
    assert_eq!(misfits(&document, schema, &bundle, ""), Vec::<String>::new(), "the export fits the Bundle the import reads");
    let fhir = api.credential(PROVIDER, &[Permission::FhirWrite]);
    let path = "/api/v1/people/person-margaret/fhir";
    let fhir_post = |key: &str, body: &Value| api.call(api.signed_body(&fhir, path, Some(key), "application/fhir+json", serde_json::to_vec(body).unwrap()));
    let reply = fhir_post("fhir-schema", &bundle);
    assert_eq!(reply.status, 201, "{:#}", reply.body);
    assert_fits(&document, "/api/v1/people/{id}/fhir", "post", 201, &reply.body);
    let retry = fhir_post("fhir-schema", &bundle);
    assert_eq!(retry.status, 200);
    assert_fits(&document, "/api/v1/people/{id}/fhir", "post", 200, &retry.body);
    for (body, status) in
        [(json!({ "resourceType": "Bundle", "type": "collection", "entry": [{}] }), 400), (json!({ "resourceType": "Bundle", "type": "batch" }), 422)]
    {
        let refused = fhir_post(&format!("fhir-{status}"), &body);
        assert_eq!(refused.status, status, "{:#}", refused.body);
        assert_fits(&document, "/api/v1/people/{id}/fhir", "post", status, &refused.body);
    }

    let conflict = api.post(
        &provider,
        "/api/v1/people/person-margaret/comments/c1/answer",
        Some("late"),
        &json!({ "version": 1, "status": "declined", "response": "No." }),
    );
    assert_eq!(conflict.status, 409);
    assert_fits(&document, "/api/v1/people/{id}/comments/{comment}/answer", "post", 409, &conflict.body);
}

#[test]
fn the_record_writes_and_their_history_fit_the_documented_schemas() {
    let document = document();
    let api = Api::new();
    api.seed_record("person-margaret", 1);
    api.grant("grant-all", "person-margaret", PROVIDER, &Category::ALL, Basis::Consent);
    let provider = api.credential(PROVIDER, &[Permission::RecordRead, Permission::RecordWrite, Permission::MedicationWrite, Permission::VisitsWrite]);
    let base = "/api/v1/people/person-margaret";
    let plan = json!({ "version": 0, "summary": "S", "outcomes": [], "support": [], "visitSchedule": [], "reviewDue": "2027-01-01", "writtenBy": "W" });
    let medicine = json!({ "name": "N", "dose": "D", "route": "R", "times": ["08:00"], "asNeeded": false, "prescriber": "P", "startedOn": "2026-11-20" });
    let schedule = json!({ "version": 0, "from": "2026-11-21", "to": "2026-11-21", "visits": [
        { "id": "v1", "startsAt": "2026-11-21T08:00:00Z", "endsAt": "2026-11-21T08:30:00Z", "carerFirstName": "Jo" } ] });
    let writes = [
        ("put", "/api/v1/people/{id}/care-plan", format!("{base}/care-plan"), plan, 200),
        (
            "put",
            "/api/v1/people/{id}/guide",
            format!("{base}/guide"),
            json!({ "version": 0, "title": "T", "sections": [{ "heading": "H", "body": "B" }] }),
            200,
        ),
        ("post", "/api/v1/people/{id}/medicines", format!("{base}/medicines"), medicine, 201),
        ("post", "/api/v1/people/{id}/allergies", format!("{base}/allergies"), json!({ "substance": "S", "reaction": "R" }), 201),
        (
            "put",
            "/api/v1/people/{id}/contacts",
            format!("{base}/contacts"),
            json!({ "version": 0, "contacts": [{ "kind": "gp", "name": "G", "phone": "1" }] }),
            200,
        ),
        ("put", "/api/v1/people/{id}/visit-schedule", format!("{base}/visit-schedule"), schedule, 200),
        (
            "post",
            "/api/v1/people/{id}/visits/{visit}/status",
            format!("{base}/visits/v1/status"),
            json!({ "version": 0, "status": "late", "at": "2026-11-21T08:10:00Z" }),
            200,
        ),
    ];
    for (method, pattern, path, body, status) in writes {
        let request = api.signed_send(&provider, &method.to_ascii_uppercase(), &path, Some(pattern), "application/json", serde_json::to_vec(&body).unwrap());
        let reply = api.call(request);
        assert_eq!(reply.status, status, "{path}: {:#}", reply.body);
        assert_fits(&document, pattern, method, status, &reply.body);
        let invalid =
            api.call(api.signed_send(&provider, &method.to_ascii_uppercase(), &path, Some("schema-2"), "application/json", b"{\"unknown\":1}".to_vec()));
        assert_eq!(invalid.status, 400);
        assert_fits(&document, pattern, method, 400, &invalid.body);
    }
    let stale = api.call(
        api.signed_send(
            &provider,
            "PUT",
            &format!("{base}/care-plan"),
            Some("stale"),
            "application/json",
            serde_json::to_vec(&json!({
        "version": 0, "summary": "S", "outcomes": [], "support": [], "visitSchedule": [], "reviewDue": "2027-01-01", "writtenBy": "W" }))
            .unwrap(),
        ),
    );
    assert_eq!(stale.status, 409);
    assert_fits(&document, "/api/v1/people/{id}/care-plan", "put", 409, &stale.body);
    for (pattern, path) in [
        ("/api/v1/people/{id}/care-plan", format!("{base}/care-plan")),
        ("/api/v1/people/{id}/guide", format!("{base}/guide")),
        ("/api/v1/people/{id}/medicines", format!("{base}/medicines")),
        ("/api/v1/people/{id}/care-plan/versions", format!("{base}/care-plan/versions")),
        ("/api/v1/people/{id}/contacts/versions", format!("{base}/contacts/versions")),
        ("/api/v1/people/{id}/visit-schedule", format!("{base}/visit-schedule?from=2026-11-21&to=2026-11-21")),
        ("/api/v1/people/{id}/visit-schedule/versions", format!("{base}/visit-schedule/versions")),
    ] {
        let reply = api.get(&provider, &path);
        assert_eq!(reply.status, 200, "{path}: {:#}", reply.body);
        assert_fits(&document, pattern, "get", 200, &reply.body);
    }
    let added = api.call(api.signed_send(
        &provider,
        "POST",
        &format!("{base}/documents?title=Letter&kind=letter"),
        Some("doc"),
        "text/plain",
        b"Dear Margaret".to_vec(),
    ));
    assert_eq!(added.status, 201);
    assert_fits(&document, "/api/v1/people/{id}/documents", "post", 201, &added.body);
}

/// The document served is api/openapi.json without its indentation (api/build.rs): the same
/// JSON, members in the same order, and no whitespace left between tokens.
#[test]
fn the_served_document_is_the_file_without_its_indentation() {
    let file = include_str!("../openapi.json");
    assert_eq!(document(), serde_json::from_str::<Value>(file).unwrap());
    assert!(!carefront_api::OPENAPI.contains("\n  "), "no indentation");
    // Members keep their order: every operation id comes in the same order in both.
    let ids = |text: &str| -> Vec<String> { text.split("\"operationId\"").skip(1).filter_map(|rest| rest.split('"').nth(1).map(str::to_owned)).collect() };
    assert_eq!(ids(carefront_api::OPENAPI), ids(file));
    assert!(ids(file).len() > 40, "{} operations", ids(file).len());
    assert!(carefront_api::OPENAPI.len() * 4 < file.len() * 3, "{} of {} bytes", carefront_api::OPENAPI.len(), file.len());
}
