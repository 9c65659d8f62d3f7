//! What the proxy logs: method, path, status and duration, never a query or header value. In a
//! test binary of its own: tracing caches callsite interest globally, so another test running
//! at the same time without a subscriber could hide these events from the thread's subscriber.

mod support;

use std::sync::Arc;

use openai_conn_proxy::Access;
use support::{ApiReply, CountingSource, Mock, Proxy, client};

#[tokio::test]
async fn logs_carry_method_path_and_status_but_no_query_or_header_value() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = Mock::start().await;
    mock.script(ApiReply::Json(401, r#"{"error":{"message":"bad"}}"#));
    let source = CountingSource::new();
    let proxy = Proxy::start(mock.workload_upstream(source), Access::local()).await;
    client()
        .get(proxy.url("/v1/models?sig=QUERY-SECRET"))
        .header("x-custom", "HEADER-SECRET")
        .bearer_auth("CLIENT-SECRET")
        .send()
        .await
        .unwrap();
    drop(proxy);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("method=GET"), "{logs}");
    assert!(logs.contains("path=\"/v1/models\""), "{logs}");
    assert!(logs.contains("status=200"), "{logs}");
    for secret in [
        "QUERY-SECRET",
        "HEADER-SECRET",
        "CLIENT-SECRET",
        "access-1",
        "access-2",
        "subject-SECRET",
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs: {logs}");
    }
}
