//! The fake against the documented request/response fixtures in `vectors/api/`: same paths, same
//! query parameter, same request keys and types; its success answers have the documented shape
//! and its error messages the documented text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Map, Value};
use wxopen_client::api::{Endpoint, ENDPOINTS};
use wxopen_fake::{
    contract, endpoint_at, AcceptedToken, FakeConfig, FakeWeChat, FieldType, PushKind,
};

/// Every key the fake answers must exist in the fixture with the same JSON type (recursively;
/// arrays compare their first elements). Returns the mismatches.
fn shape_subset(path: &str, fake: &Value, doc: &Value, out: &mut Vec<String>) {
    match (fake, doc) {
        (Value::Object(f), Value::Object(d)) => {
            for (k, fv) in f {
                match d.get(k) {
                    None => out.push(format!("{path}.{k}: not in the documented response")),
                    Some(dv) => shape_subset(&format!("{path}.{k}"), fv, dv, out),
                }
            }
        }
        (Value::Array(f), Value::Array(d)) => {
            if let (Some(fv), Some(dv)) = (f.first(), d.first()) {
                shape_subset(&format!("{path}[0]"), fv, dv, out);
            }
        }
        (Value::Number(f), Value::Number(d)) => {
            if f.is_u64() != d.is_u64() && f.is_i64() != d.is_i64() {
                out.push(format!("{path}: number kinds differ"));
            }
        }
        (f, d) if std::mem::discriminant(f) == std::mem::discriminant(d) => {}
        (f, d) => out.push(format!("{path}: type {f} vs documented {d}")),
    }
}

/// Every top-level key the fixture documents is also answered by the fake (one level deep for
/// the wrapper objects).
fn documented_keys_present(fake: &Value, doc: &Value, out: &mut Vec<String>) {
    let (Some(f), Some(d)) = (fake.as_object(), doc.as_object()) else {
        return;
    };
    for (k, dv) in d {
        match f.get(k) {
            None => out.push(format!("{k}: documented but not answered")),
            Some(fv) => {
                if let (Some(fo), Some(dobj)) = (fv.as_object(), dv.as_object()) {
                    for k2 in dobj.keys() {
                        // Documented as conditional in api-contracts.md.
                        if ["MiniProgramInfo", "confirm_info"].contains(&k2.as_str()) {
                            continue;
                        }
                        if !fo.contains_key(k2) {
                            out.push(format!("{k}.{k2}: documented but not answered"));
                        }
                    }
                }
            }
        }
    }
}

fn strip_rid(errmsg: &str) -> &str {
    let end = [" rid:", " hint:"]
        .iter()
        .filter_map(|m| errmsg.find(m))
        .min()
        .unwrap_or(errmsg.len());
    errmsg[..end].trim_end()
}

struct World {
    fake: FakeWeChat,
    component_token: String,
    oa: &'static str,
    mp: &'static str,
    oa_refresh: String,
    mp_access: String,
}

async fn post(fake: &FakeWeChat, path_and_query: &str, body: &Value) -> Value {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .post(format!("{}{path_and_query}", fake.primary_url()))
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn world() -> World {
    let fake = FakeWeChat::start_with(FakeConfig {
        start_unix: Some(1_700_000_000),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let PushKind::ComponentVerifyTicket { ticket } = fake.push_ticket().unwrap().kind else {
        panic!()
    };
    let v = post(
        &fake,
        Endpoint::ComponentToken.path(),
        &json!({"component_appid": fake.component_appid(), "component_appsecret": fake.component_appsecret(), "component_verify_ticket": ticket}),
    )
    .await;
    let component_token = v["component_access_token"].as_str().unwrap().to_owned();
    let (oa, mp) = ("wx9c2d4e6f8a0b1c3d", "wx71b3c5d7e9f1a2b4");
    let mut tokens = Vec::new();
    for (appid, kind) in [
        (oa, wxopen_fake::AuthorizerKind::OfficialAccount),
        (mp, wxopen_fake::AuthorizerKind::MiniProgram),
    ] {
        let pre = post(
            &fake,
            &format!(
                "{}?component_access_token={component_token}",
                Endpoint::CreatePreAuthCode.path()
            ),
            &json!({"component_appid": fake.component_appid()}),
        )
        .await;
        let consent = fake
            .simulate_admin_consent_as(pre["pre_auth_code"].as_str().unwrap(), appid, kind)
            .unwrap();
        let qa = post(
            &fake,
            &format!(
                "{}?component_access_token={component_token}",
                Endpoint::QueryAuth.path()
            ),
            &json!({"component_appid": fake.component_appid(), "authorization_code": consent.auth_code}),
        )
        .await;
        tokens.push(qa["authorization_info"].clone());
    }
    World {
        component_token,
        oa,
        mp,
        oa_refresh: tokens[0]["authorizer_refresh_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        mp_access: tokens[1]["authorizer_access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        fake,
    }
}

/// The fixture's request with documented placeholder values replaced by ones the fake accepts.
fn live_request(w: &World, name: &str, doc: &Map<String, Value>) -> Map<String, Value> {
    let mut req = doc.clone();
    for (k, v) in req.iter_mut() {
        let live = match k.as_str() {
            "component_appid" => Some(w.fake.component_appid().to_owned()),
            "component_appsecret" | "component_secret" | "appsecret" => {
                Some(w.fake.component_appsecret().to_owned())
            }
            "component_verify_ticket" => w.fake.current_ticket(),
            "authorizer_appid" if name.contains("miniprogram") => Some(w.mp.to_owned()),
            "authorizer_appid" => Some(w.oa.to_owned()),
            "authorizer_refresh_token" => Some(w.oa_refresh.clone()),
            // A fresh code from a re-authorization (the world's own codes are used up).
            "authorization_code" => match w.fake.push_authorized(w.oa).unwrap().kind {
                PushKind::Authorized {
                    authorization_code, ..
                } => Some(authorization_code),
                _ => None,
            },
            "appid" if name == "clear_quota" => Some(w.fake.component_appid().to_owned()),
            "appid" => Some(w.oa.to_owned()),
            _ => None,
        };
        if let Some(live) = live {
            *v = Value::String(live);
        }
    }
    req
}

#[tokio::test]
async fn fixtures_match_the_fake() {
    let fixtures = wxopen_vectors::api_fixtures();
    assert!(fixtures.len() >= 14);
    let mut served = std::collections::HashSet::new();
    let mut checked_errors = 0;
    let mut problems = Vec::new();

    for fx in &fixtures {
        let w = world().await;
        let name = fx.name.as_str();
        let Some(ep) = endpoint_at(&fx.endpoint) else {
            problems.push(format!("{name}: path {} not served", fx.endpoint));
            continue;
        };
        let Some(spec) = contract(ep) else {
            problems.push(format!("{name}: no contract for {ep:?}"));
            continue;
        };
        served.insert(ep);
        assert_eq!(fx.method, "POST", "{name}");

        // Query parameter name.
        let qkeys: Vec<&str> = fx
            .query
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let expected_q: &[&str] = match spec.accepted_token {
            AcceptedToken::None => &[],
            AcceptedToken::Component => &["component_access_token"],
            _ => &["access_token"],
        };
        if qkeys != expected_q {
            problems.push(format!(
                "{name}: query {qkeys:?}, fake expects {expected_q:?}"
            ));
        }

        // Request keys and types.
        let doc_req = fx.request.as_object().cloned().unwrap_or_default();
        for field in spec.fields {
            match doc_req.get(field.name) {
                None if field.required => problems.push(format!(
                    "{name}: fake requires `{}`, fixture lacks it",
                    field.name
                )),
                None => {}
                Some(v) => {
                    let ok = match field.ty {
                        FieldType::Str => v.is_string(),
                        FieldType::UInt => v.is_u64(),
                    };
                    if !ok {
                        problems.push(format!("{name}: `{}` type differs", field.name));
                    }
                }
            }
        }
        for k in doc_req.keys() {
            if !spec.fields.iter().any(|f| f.name == k) {
                problems.push(format!("{name}: fixture key `{k}` unknown to the fake"));
            }
        }

        // Live call: the fixture's request, with live values, succeeds with the documented shape.
        let token = match spec.accepted_token {
            AcceptedToken::None => None,
            AcceptedToken::Authorizer => Some(w.mp_access.clone()),
            _ => Some(w.component_token.clone()),
        };
        let q = match (&token, qkeys.first()) {
            (Some(t), Some(k)) => format!("{}?{k}={t}", ep.path()),
            _ => ep.path().to_owned(),
        };
        let body = Value::Object(live_request(&w, name, &doc_req));
        let got = post(&w.fake, &q, &body).await;
        if got.get("errcode").and_then(Value::as_i64).unwrap_or(0) != 0 {
            problems.push(format!("{name}: live request failed: {got}"));
            continue;
        }
        let mut shape = Vec::new();
        shape_subset(name, &got, &fx.response, &mut shape);
        documented_keys_present(&got, &fx.response, &mut shape);
        problems.extend(shape.into_iter().map(|p| format!("{name}: {p}")));

        // Documented errors the fake produces on its own: same errmsg text.
        for err in &fx.errors {
            let produced = match err.errcode {
                40001 => {
                    let q = match qkeys.first() {
                        Some(k) => format!("{}?{k}=not-a-token", ep.path()),
                        None => continue,
                    };
                    Some(post(&w.fake, &q, &body).await)
                }
                42001 => {
                    let Some(k) = qkeys.first() else { continue };
                    w.fake.advance(Duration::from_secs(7200));
                    let q = format!("{}?{k}={}", ep.path(), token.clone().unwrap_or_default());
                    let v = post(&w.fake, &q, &body).await;
                    if let Some(clock) = w.fake.manual_clock() {
                        clock.set(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
                    }
                    Some(v)
                }
                40125 => {
                    let mut b = body.clone();
                    b["component_appsecret"] = json!("wrong");
                    Some(post(&w.fake, &q, &b).await)
                }
                41004 => {
                    let mut b = body.clone();
                    b.as_object_mut().unwrap().remove("component_appsecret");
                    Some(post(&w.fake, &q, &b).await)
                }
                47001 => {
                    let mut b = body.clone();
                    b["unexpected"] = json!(1);
                    Some(post(&w.fake, &q, &b).await)
                }
                61006 => {
                    let mut b = body.clone();
                    b["component_verify_ticket"] = json!("ticket@@@unknown");
                    Some(post(&w.fake, &q, &b).await)
                }
                61023 => {
                    let mut b = body.clone();
                    b["authorizer_refresh_token"] = json!("refreshtoken@@@stale");
                    Some(post(&w.fake, &q, &b).await)
                }
                _ => None,
            };
            if let Some(v) = produced {
                checked_errors += 1;
                let code = v["errcode"].as_i64().unwrap_or(0);
                let msg = v["errmsg"].as_str().unwrap_or("");
                if code != err.errcode {
                    problems.push(format!(
                        "{name}: expected errcode {}, fake gave {v}",
                        err.errcode
                    ));
                } else if strip_rid(msg) != strip_rid(&err.errmsg) {
                    problems.push(format!(
                        "{name}: errmsg for {code}: fake {:?} vs documented {:?}",
                        strip_rid(msg),
                        strip_rid(&err.errmsg)
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "fixture mismatches:\n{}",
        problems.join("\n")
    );
    println!(
        "api-fixtures: {}/{} fixtures match the fake ({} endpoints, {checked_errors} documented errors reproduced)",
        fixtures.len(),
        fixtures.len(),
        served.len()
    );
    assert_eq!(
        served.len(),
        ENDPOINTS.len(),
        "every endpoint has a fixture"
    );
}
