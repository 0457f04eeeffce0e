//! The pure parsers (the fuzz targets' entry points) return errors, never panic, on any input;
//! and well-formed ticket pushes round-trip through XML escaping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use wxopen_client::api::{
    parse_response, Ack, AuthorizerInfoResponse, AuthorizerListResponse, AuthorizerOption,
    AuthorizerTokenResponse, ComponentTokenResponse, QueryAuthResponse,
};
use wxopen_client::{parse_component_event, ComponentEvent, PushQuery};

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_push_event(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_component_event(&bytes);
    }

    #[test]
    fn xmlish_push_event(s in "(<[a-zA-Z/!?]{0,3}[a-zA-Z]{0,8}>|&[a-z#0-9]{0,5};|<!\\[CDATA\\[|\\]\\]>|[a-z0-9 ]{0,5}){0,40}") {
        let _ = parse_component_event(s.as_bytes());
    }

    #[test]
    fn any_bytes_api_responses(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_response::<ComponentTokenResponse>(&bytes);
        let _ = parse_response::<QueryAuthResponse>(&bytes);
        let _ = parse_response::<AuthorizerTokenResponse>(&bytes);
        let _ = parse_response::<AuthorizerInfoResponse>(&bytes);
        let _ = parse_response::<AuthorizerListResponse>(&bytes);
        let _ = parse_response::<AuthorizerOption>(&bytes);
        let _ = parse_response::<Ack>(&bytes);
    }

    #[test]
    fn jsonish_api_responses(s in "\\{(\"(errcode|errmsg|component_access_token|expires_in|list|total_count)\":(-?[0-9]{1,20}|\"[a-z]{0,4}\"|null|\\[\\]|\\{\\}),?){0,6}\\}") {
        let _ = parse_response::<ComponentTokenResponse>(s.as_bytes());
        let _ = parse_response::<AuthorizerListResponse>(s.as_bytes());
    }

    #[test]
    fn any_query_string(s in ".{0,200}") {
        let _ = PushQuery::parse(&s);
    }

    #[test]
    fn ticket_values_round_trip(ticket in "[^\\x00-\\x1f]{1,64}", t in any::<u64>()) {
        prop_assume!(!ticket.trim().is_empty());
        let xml = format!(
            "<xml><AppId>wx</AppId><CreateTime>{t}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>{}</ComponentVerifyTicket></xml>",
            xml_escape(&ticket)
        );
        match parse_component_event(xml.as_bytes()).unwrap() {
            ComponentEvent::ComponentVerifyTicket { ticket: got, create_time, .. } => {
                prop_assert_eq!(got.expose_secret(), ticket.trim());
                prop_assert_eq!(create_time, t);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
