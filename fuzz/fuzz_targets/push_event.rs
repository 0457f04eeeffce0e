#![no_main]

use libfuzzer_sys::fuzz_target;
use wxopen_client::error::PushError;
use wxopen_client::event::{parse_component_event, AuthorizationGrant, ComponentEvent};

/// Text content with `&`, `<`, `>` and CR escaped (a raw CR would be normalised away).
fn esc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A CDATA section (split around `]]>`), or escaped text when it holds a CR, which CDATA
/// cannot carry through end-of-line normalisation.
fn cdata(v: &str) -> String {
    if v.contains('\r') {
        esc(v)
    } else {
        format!("<![CDATA[{}]]>", v.replace("]]>", "]]]]><![CDATA[>"))
    }
}

fn grant_xml(info_type: &str, g: &AuthorizationGrant) -> String {
    let mut xml = format!(
        "<xml><AppId>{}</AppId><CreateTime>{}</CreateTime><InfoType>{info_type}</InfoType>\
         <AuthorizerAppid>{}</AuthorizerAppid><AuthorizationCode>{}</AuthorizationCode>",
        esc(&g.app_id),
        g.create_time,
        esc(&g.authorizer_appid),
        esc(g.authorization_code.expose_secret()),
    );
    if let Some(t) = g.authorization_code_expired_time {
        xml.push_str(&format!(
            "<AuthorizationCodeExpiredTime>{t}</AuthorizationCodeExpiredTime>"
        ));
    }
    if let Some(c) = &g.pre_auth_code {
        xml.push_str(&format!(
            "<PreAuthCode>{}</PreAuthCode>",
            esc(c.expose_secret())
        ));
    }
    xml.push_str("</xml>");
    xml
}

/// The event written back as canonical XML, for the variants whose every field is kept.
fn rewrite(event: &ComponentEvent) -> Option<String> {
    Some(match event {
        ComponentEvent::ComponentVerifyTicket {
            app_id,
            create_time,
            ticket,
        } => format!(
            "<xml><AppId>{}</AppId><CreateTime>{create_time}</CreateTime>\
             <InfoType>component_verify_ticket</InfoType>\
             <ComponentVerifyTicket>{}</ComponentVerifyTicket></xml>",
            cdata(app_id),
            esc(ticket.expose_secret()),
        ),
        ComponentEvent::Unauthorized {
            app_id,
            create_time,
            authorizer_appid,
        } => format!(
            "<xml><AppId>{}</AppId><CreateTime>{create_time}</CreateTime>\
             <InfoType>unauthorized</InfoType><AuthorizerAppid>{}</AuthorizerAppid></xml>",
            esc(app_id),
            esc(authorizer_appid),
        ),
        ComponentEvent::Authorized(g) => grant_xml("authorized", g),
        ComponentEvent::UpdateAuthorized(g) => grant_xml("updateauthorized", g),
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = parse_component_event(data) else {
        return;
    };
    if let ComponentEvent::Unknown { raw, .. } = &event {
        assert_eq!(raw.as_bytes(), data);
    }

    // No DTD is ever processed: the same document behind a DOCTYPE is refused.
    let mut with_doctype = b"<!DOCTYPE xml [<!ENTITY e \"expanded\">]>".to_vec();
    with_doctype.extend_from_slice(data);
    assert_eq!(
        parse_component_event(&with_doctype),
        Err(PushError::Doctype)
    );

    // Writing a typed event back as XML and reading it again gives the same event.
    if let Some(xml) = rewrite(&event) {
        assert_eq!(parse_component_event(xml.as_bytes()), Ok(event), "{xml}");
    }
});
