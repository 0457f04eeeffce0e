//! Heap allocations of the metrics, counted by a global allocator that counts the allocations
//! made by the current thread: counting on a series that already exists allocates nothing (every
//! request counts at least one series, so this is per-request cost), a new series does.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use wxopen_client::Error;
use wxopen_server::metrics::Metrics;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local without a destructor, so touching it cannot allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

/// One of each series a request or a background task counts. Label values that are only known
/// at run time (component, InfoType, MsgType, route) are passed as fresh `String`s, as the
/// handlers have them.
fn record_all(m: &Metrics, component: &str, info_type: &str, route: &str, upstream: &Error) {
    m.push(component, "ok", Some(info_type));
    m.push(component, "bad_query", None);
    m.message(component, "relayed_reply", Some("text"));
    m.message(component, "unknown_component", None);
    m.webhook_delivery(component, "reply", Some(Duration::from_millis(3)));
    m.webhook_delivery(component, "delivered", None);
    m.release_check_send(component, "ok");
    m.dedupe_error(component);
    m.upstream_call(
        component,
        "api_component_token",
        None,
        Duration::from_millis(40),
    );
    m.upstream_call(
        component,
        "api_component_token",
        Some(upstream),
        Duration::from_millis(40),
    );
    m.refresh(component, "authorizer", "ok");
    m.token_rejected(component, "authorizer", 40001);
    m.refresher_due(component);
    m.lease_wait(component, "component", "lease_busy");
    m.store_op("get", Duration::from_micros(80), true);
    m.store_op("compare_and_set", Duration::from_micros(80), false);
    m.http_request("internal", route, 200);
}

#[test]
fn counting_on_an_existing_series_allocates_nothing() {
    let m = Metrics::default();
    let component = String::from("wxcomponent0001");
    let info_type = String::from("component_verify_ticket");
    let route = String::from("/v1/{component}/component/token");
    let upstream = Error::HttpStatus {
        endpoint: "api_component_token",
        status: 502,
        attempts: 1,
    };
    let first = allocations(|| record_all(&m, &component, &info_type, &route, &upstream));
    assert!(first > 0, "the counting allocator counts nothing");
    for _ in 0..3 {
        let again = allocations(|| record_all(&m, &component, &info_type, &route, &upstream));
        assert_eq!(again, 0, "counting on existing series allocated");
    }
    // The same values in other strings find the same series.
    let (c, t, r) = (component.clone(), info_type.clone(), route.clone());
    assert_eq!(allocations(|| record_all(&m, &c, &t, &r, &upstream)), 0);
    assert_eq!(
        m.counter(
            "wxopen_pushes_total",
            &[
                ("component", "wxcomponent0001"),
                ("result", "ok"),
                ("info_type", "component_verify_ticket")
            ]
        ),
        5
    );
    // A new series (another route) allocates.
    assert!(allocations(|| m.http_request("internal", "/healthz", 200)) > 0);
}
