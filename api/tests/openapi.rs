//! The OpenAPI document and the router cannot drift apart: every route of the route table is
//! in the document (with the same security and permission), every operation in the document is
//! routed, and the document is what `GET /api/v1/openapi.json` serves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should stop the test loudly

mod support;

use std::collections::BTreeSet;

use carefront_api::routes::{Handler, ROUTES, Resolution, resolve};
use http::Method;
use support::Api;

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
        let concrete = path.replace("{id}", "some-id");
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
