//! The internal API as an OpenAPI 3.1 document, derived from the handlers: each internal route
//! handler carries a `#[utoipa::path]` naming its path, parameters, request body, answers and
//! security, with the request and response types it actually uses (`#[derive(ToSchema)]`).
//! `internal_routes` lists the handlers once, and both the internal router and the document
//! are built from that list (`utoipa-axum`), so a route cannot be served undocumented or
//! documented unserved. `GET /v1/openapi.json` serves the document.

use std::sync::{Arc, OnceLock};

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::routes::{authorizers, events, health, jssdk, metrics, oauth, tokens};
use crate::state::AppState;

/// The operations of the internal API, `(method, path)`: what the document must describe (the
/// tests compare the document with this list, and request every operation it describes).
pub const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/v1/{component}/component/token"),
    ("post", "/v1/{component}/component/token/refresh"),
    ("get", "/v1/{component}/authorizers"),
    ("post", "/v1/{component}/authorizers/import"),
    ("get", "/v1/{component}/authorizers/{appid}"),
    ("delete", "/v1/{component}/authorizers/{appid}"),
    ("get", "/v1/{component}/authorizers/{appid}/token"),
    ("post", "/v1/{component}/authorizers/{appid}/token/refresh"),
    ("get", "/v1/{component}/authorizers/{appid}/oauth/link"),
    ("post", "/v1/{component}/authorizers/{appid}/oauth/exchange"),
    ("post", "/v1/{component}/authorizers/{appid}/oauth/refresh"),
    ("post", "/v1/{component}/authorizers/{appid}/oauth/userinfo"),
    (
        "post",
        "/v1/{component}/authorizers/{appid}/wxa/jscode2session",
    ),
    ("post", "/v1/{component}/authorizers/{appid}/jssdk/config"),
    ("get", "/v1/{component}/authorizers/{appid}/jssdk/ticket"),
    (
        "get",
        "/v1/{component}/authorizers/{appid}/jssdk/card_ticket",
    ),
    ("get", "/v1/{component}/events"),
    ("post", "/v1/{component}/events/replay"),
    ("get", "/v1/{component}/events/{id}"),
    ("post", "/v1/{component}/events/{id}/replay"),
    ("post", "/v1/{component}/events/{id}/discard"),
    ("get", "/v1/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

/// The name of the bearer security scheme the `/v1/{component}/…` operations require.
const BEARER: &str = "bearer";

/// Every route of the internal listener with its documentation (state not yet given).
pub(crate) fn internal_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(base())
        .routes(routes!(tokens::component_token))
        .routes(routes!(tokens::component_token_refresh))
        .routes(routes!(authorizers::list))
        .routes(routes!(authorizers::import))
        .routes(routes!(authorizers::get_one, authorizers::delete))
        .routes(routes!(tokens::authorizer_token))
        .routes(routes!(tokens::authorizer_token_refresh))
        .routes(routes!(oauth::link))
        .routes(routes!(oauth::exchange))
        .routes(routes!(oauth::refresh))
        .routes(routes!(oauth::userinfo))
        .routes(routes!(oauth::jscode2session))
        .routes(routes!(jssdk::config))
        .routes(routes!(jssdk::ticket))
        .routes(routes!(jssdk::card_ticket))
        .routes(routes!(events::list))
        .routes(routes!(events::replay_many))
        .routes(routes!(events::get_one))
        .routes(routes!(events::replay_one))
        .routes(routes!(events::discard_one))
        .routes(routes!(openapi_document))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::scrape))
}

/// What the document says besides the operations: its info, the bearer scheme, the error body.
fn base() -> OpenApi {
    let info = InfoBuilder::new()
        .title("wxopen internal token API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Tokens of a WeChat Open Platform third-party platform for the host's other services. One service (this one) fetches and refreshes; every other service reads here and reports rejected tokens with compare-and-refresh.",
        ))
        .build();
    let components = ComponentsBuilder::new()
        .security_scheme(
            BEARER,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        // Named by the error answers of every operation (`ApiErrors`), which are built by hand
        // and so do not collect it themselves.
        .schema_from::<ApiError>()
        .build();
    OpenApiBuilder::new()
        .info(info)
        .components(Some(components))
        .build()
}

/// The document, built once.
fn api() -> &'static Value {
    static API: OnceLock<Value> = OnceLock::new();
    API.get_or_init(|| {
        let mut doc = serde_json::to_value(internal_routes().into_openapi()).unwrap_or_default();
        optional_bodies(&mut doc);
        doc
    })
}

/// utoipa describes an optional request body (`request_body = Option<T>`) as "`T` or JSON
/// `null`", with no `required`. The handlers that take one (compare-and-refresh) read an absent
/// (empty) body as "no `T`" and refuse `null`: so such a body is described as `T`, not required.
fn optional_bodies(doc: &mut Value) {
    let operations = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for op in operations {
        let Some(body) = op.get_mut("requestBody") else {
            continue;
        };
        if body.get("required").is_some() {
            continue;
        }
        for content in body["content"].as_object_mut().into_iter().flatten() {
            let schema = &mut content.1["schema"];
            let alternatives = schema["oneOf"].as_array().cloned().unwrap_or_default();
            if let [one, null] = alternatives.as_slice() {
                if null == &serde_json::json!({"type": "null"}) {
                    *schema = one.clone();
                }
            }
        }
        body["required"] = Value::Bool(false);
    }
}

/// The document as JSON.
pub fn document() -> Value {
    api().clone()
}

/// `GET /v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    summary = "This document",
    responses((status = 200, description = "ok", body = Object)),
)]
pub(crate) async fn openapi_document() -> Response {
    Json(api()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented(doc: &Value) -> Vec<(String, String)> {
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        documented
    }

    #[test]
    fn every_operation_is_documented_and_nothing_else() {
        let mut listed: Vec<(String, String)> = OPERATIONS
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        listed.sort();
        assert_eq!(documented(&document()), listed);
    }

    /// Every `/v1/…` operation needs the bearer key and documents the same error answers; the
    /// probes, the metrics and the document need none.
    #[test]
    fn security_and_statuses() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"][BEARER],
            serde_json::json!({"type": "http", "scheme": "bearer"})
        );
        let errors = ["400", "401", "403", "404", "409", "429", "502", "503"];
        for (method, path) in documented(&doc) {
            let op = &doc["paths"][&path][&method];
            let statuses: Vec<&str> = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}: no responses"))
                .keys()
                .map(String::as_str)
                .collect();
            if path.starts_with("/v1/{component}/") {
                assert_eq!(
                    op["security"],
                    serde_json::json!([{BEARER: []}]),
                    "{method} {path}"
                );
                let ok = if method == "delete" { "204" } else { "200" };
                let mut expected = vec![ok];
                expected.extend(errors);
                expected.sort_unstable();
                assert_eq!(statuses, expected, "{method} {path}");
                for e in errors {
                    assert_eq!(
                        op["responses"][e]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {e}"
                    );
                }
            } else {
                assert!(op["security"].is_null(), "{method} {path}");
                let expected: &[&str] = if path == "/readyz" {
                    &["200", "503"]
                } else {
                    &["200"]
                };
                assert_eq!(statuses, expected, "{method} {path}");
            }
        }
        assert!(
            doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]["text/plain"]
                .is_object(),
            "{doc}"
        );
    }

    /// The schemas come from the types the handlers serialize and deserialize: their required
    /// fields, the import limit, the refresh body's refusal of unknown fields and of `null`.
    #[test]
    fn schemas_follow_the_handlers_types() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let required = |name: &str| -> Vec<String> {
            let mut r: Vec<String> = schemas[name]["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            r.sort();
            r
        };
        assert_eq!(required("Error"), ["error", "hint"]);
        assert_eq!(
            required("ComponentToken"),
            ["component_access_token", "expires_at", "expires_in"]
        );
        assert_eq!(
            required("AuthorizerToken"),
            ["authorizer_access_token", "expires_at", "expires_in"]
        );
        assert_eq!(
            required("Authorizer"),
            [
                "authorized_at",
                "authorizer_appid",
                "func_info_removed",
                "has_refresh_token",
                "status"
            ]
        );
        assert_eq!(required("AuthorizerPage"), ["authorizers", "next"]);
        assert_eq!(required("Import"), ["authorizers"]);
        assert_eq!(
            required("ImportItem"),
            ["authorizer_appid", "refresh_token"]
        );
        assert_eq!(required("ImportResult"), ["results"]);
        assert_eq!(required("ImportOutcome"), ["authorizer_appid", "ok"]);
        assert_eq!(required("Readiness"), ["components", "ready"]);
        assert_eq!(required("Refresh"), Vec::<String>::new());
        assert_eq!(
            schemas["Import"]["properties"]["authorizers"]["maxItems"],
            crate::routes::authorizers::MAX_IMPORT
        );
        assert_eq!(
            schemas["Import"]["properties"]["authorizers"]["minItems"],
            1
        );
        for name in ["Refresh", "Import", "ImportItem"] {
            assert_eq!(
                schemas[name]["additionalProperties"], false,
                "{name} refuses unknown fields"
            );
        }
        assert_eq!(schemas["Refresh"]["properties"]["stale"]["type"], "string");
        // An optional body, not a nullable one.
        for path in [
            "/v1/{component}/component/token/refresh",
            "/v1/{component}/authorizers/{appid}/token/refresh",
        ] {
            let body = &doc["paths"][path]["post"]["requestBody"];
            assert_eq!(body["required"], false, "{path}");
            assert_eq!(
                body["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Refresh",
                "{path}"
            );
        }
        let import = &doc["paths"]["/v1/{component}/authorizers/import"]["post"]["requestBody"];
        assert_eq!(import["required"], true);
        assert_eq!(
            schemas["AuthorizerStatus"]["enum"],
            serde_json::json!(["authorized", "revoked", "unreadable"])
        );
    }
}
