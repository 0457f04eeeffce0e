//! `GET /v1/openapi.json`: the internal API as an OpenAPI 3 document. A test sends a request
//! to every documented operation and fails when the document and the routes drift.

use serde_json::{json, Value};

/// The operations of the internal API: `(method, path)`.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/v1/{component}/component/token"),
    ("post", "/v1/{component}/component/token/refresh"),
    ("get", "/v1/{component}/authorizers"),
    ("post", "/v1/{component}/authorizers/import"),
    ("get", "/v1/{component}/authorizers/{appid}"),
    ("delete", "/v1/{component}/authorizers/{appid}"),
    ("get", "/v1/{component}/authorizers/{appid}/token"),
    ("post", "/v1/{component}/authorizers/{appid}/token/refresh"),
    ("get", "/v1/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

fn appid_param(name: &str, what: &str) -> Value {
    json!({
        "name": name, "in": "path", "required": true, "description": what,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,32}$"}
    })
}

fn errors(codes: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for c in codes {
        m.insert(
            (*c).to_owned(),
            json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(m)
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn json_body(schema: &str) -> Value {
    json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn ok(schema: &str) -> Value {
    json!({"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// The document.
pub fn document() -> Value {
    let comp = appid_param("component", "the component appid");
    let acct = appid_param("appid", "the authorizer appid");
    let auth_errors = ["400", "401", "403", "404", "409", "429", "502", "503"];
    let secured = json!([{"bearer": []}]);
    let token_op = |summary: &str, params: Vec<Value>, schema: &str, body: Option<&str>| {
        let mut op = json!({
            "summary": summary,
            "security": secured.clone(),
            "parameters": params,
            "responses": with(json!({"200": ok(schema)}), errors(&auth_errors)),
        });
        if let (Some(b), Some(o)) = (body, op.as_object_mut()) {
            o.insert(
                "requestBody".into(),
                with(json_body(b), json!({"required": false})),
            );
        }
        op
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "wxopen internal token API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tokens of a WeChat Open Platform third-party platform for the host's other services. One service (this one) fetches and refreshes; every other service reads here and reports rejected tokens with compare-and-refresh."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "hint"], "properties": {
                    "error": {"type": "string"}, "errcode": {"type": "integer"}, "hint": {"type": "string"}}},
                "ComponentToken": {"type": "object", "required": ["component_access_token", "expires_in", "expires_at"], "properties": {
                    "component_access_token": {"type": "string"}, "expires_in": {"type": "integer", "minimum": 0}, "expires_at": {"type": "integer"}}},
                "AuthorizerToken": {"type": "object", "required": ["authorizer_access_token", "expires_in", "expires_at"], "properties": {
                    "authorizer_access_token": {"type": "string"}, "expires_in": {"type": "integer", "minimum": 0}, "expires_at": {"type": "integer"}}},
                "Refresh": {"type": "object", "additionalProperties": false, "properties": {
                    "stale": {"type": "string", "description": "the token a service saw rejected; refreshed only if it is still the current one (omit it, or send no body, to refresh unconditionally)"}}},
                "Authorizer": {"type": "object", "required": ["authorizer_appid", "status", "has_refresh_token", "authorized_at"], "properties": {
                    "authorizer_appid": {"type": "string"},
                    "status": {"type": "string", "enum": ["authorized", "revoked"]},
                    "has_refresh_token": {"type": "boolean"},
                    "access_token_expires_at": {"type": "integer"},
                    "authorized_at": {"type": "integer"},
                    "revoked_reason": {"type": "string"},
                    "errcode": {"type": "integer"}}},
                "AuthorizerPage": {"type": "object", "required": ["authorizers", "next"], "properties": {
                    "authorizers": {"type": "array", "items": {"$ref": "#/components/schemas/Authorizer"}},
                    "next": {"type": "string", "nullable": true}}},
                "Import": {"type": "object", "required": ["authorizers"], "additionalProperties": false, "properties": {
                    "authorizers": {"type": "array", "minItems": 1, "maxItems": crate::routes::authorizers::MAX_IMPORT, "items": {
                        "type": "object", "additionalProperties": false, "required": ["authorizer_appid", "refresh_token"], "properties": {
                            "authorizer_appid": {"type": "string"}, "refresh_token": {"type": "string"}}}}}},
                "ImportResult": {"type": "object", "required": ["results"], "properties": {
                    "results": {"type": "array", "items": {"type": "object", "required": ["authorizer_appid", "ok"], "properties": {
                        "authorizer_appid": {"type": "string"}, "ok": {"type": "boolean"}, "expires_at": {"type": "integer"},
                        "error": {"type": "string"}, "errcode": {"type": "integer", "nullable": true}}}}}},
                "Readiness": {"type": "object", "required": ["ready", "components"], "properties": {
                    "ready": {"type": "boolean"}, "components": {"type": "object"}}}
            }
        },
        "paths": {
            "/v1/{component}/component/token": {"get": token_op("The component access token", vec![comp.clone()], "ComponentToken", None)},
            "/v1/{component}/component/token/refresh": {"post": token_op("Compare-and-refresh the component access token", vec![comp.clone()], "ComponentToken", Some("Refresh"))},
            "/v1/{component}/authorizers": {"get": {
                "summary": "One page of authorized accounts (no secrets)",
                "security": secured.clone(),
                "parameters": [comp.clone(),
                    {"name": "after", "in": "query", "required": false, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,32}$"}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
                "responses": with(json!({"200": ok("AuthorizerPage")}), errors(&auth_errors))}},
            "/v1/{component}/authorizers/import": {"post": {
                "summary": "Import accounts with refresh tokens from another system",
                "security": secured.clone(),
                "parameters": [comp.clone()],
                "requestBody": with(json_body("Import"), json!({"required": true})),
                "responses": with(json!({"200": ok("ImportResult")}), errors(&auth_errors))}},
            "/v1/{component}/authorizers/{appid}": {
                "get": token_op("One authorized account (no secrets)", vec![comp.clone(), acct.clone()], "Authorizer", None),
                "delete": {"summary": "Forget an account", "security": secured.clone(), "parameters": [comp.clone(), acct.clone()],
                    "responses": with(json!({"204": {"description": "deleted"}}), errors(&auth_errors))}},
            "/v1/{component}/authorizers/{appid}/token": {"get": token_op("An account's access token", vec![comp.clone(), acct.clone()], "AuthorizerToken", None)},
            "/v1/{component}/authorizers/{appid}/token/refresh": {"post": token_op("Compare-and-refresh an account's access token", vec![comp, acct], "AuthorizerToken", Some("Refresh"))},
            "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/healthz": {"get": {"summary": "Up", "responses": {"200": {"description": "up", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/readyz": {"get": {"summary": "Store reachable, ticket fresh, component token obtainable", "responses": {
                "200": ok("Readiness"), "503": {"description": "not ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}}}},
            "/metrics": {"get": {"summary": "Prometheus text", "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_documented_and_nothing_else() {
        let doc = document();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut listed: Vec<(String, String)> = OPERATIONS
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        listed.sort();
        assert_eq!(documented, listed);
    }
}
