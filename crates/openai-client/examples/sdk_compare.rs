//! One API call through the real client, for the side-by-side comparison with the official SDK
//! (`sdk_compare.py` next to this file drives both against the same scripted loopback server).
//!
//! `cargo run -p openai-conn-client --example sdk_compare -- BASE_URL KWARGS_JSON [models|stream]`
//! prints one JSON object: `{"ok": true, "text": ...}` or `{"ok": false, "status": N|null,
//! "error": "..."}`. Never point it at anything but loopback.

use std::process::ExitCode;
use std::sync::Arc;

use openai_conn_client::async_openai::error::OpenAIError;
use openai_conn_client::async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use openai_conn_client::providers_core::MapEnv;
use openai_conn_client::{ClientOptions, from_connection, test_connection};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, kwargs, kind] = args.as_slice() else {
        eprintln!("usage: sdk_compare BASE_URL KWARGS_JSON models|stream");
        return ExitCode::from(2);
    };
    let Ok(kwargs) = serde_json::from_str::<serde_json::Value>(kwargs) else {
        eprintln!("KWARGS_JSON is not JSON");
        return ExitCode::from(2);
    };
    let document = json!({
        "conn_type": "openai",
        "host": base,
        "password": "sk-compare-0123456789",
        "extra": {"openai_client_kwargs": kwargs},
    });
    let report = conn_schema::validate(&document.to_string(), conn_schema::DocumentKind::Auto);
    let Some(connection) = report.connection().cloned() else {
        eprintln!("{}", report.render("compare.json"));
        return ExitCode::from(2);
    };
    let client = match from_connection(
        &connection,
        "compare",
        ClientOptions::new().with_env(Arc::new(MapEnv::new())),
    ) {
        Ok(connected) => connected.client,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let outcome = match kind.as_str() {
        "stream" => stream(&client).await,
        _ => test_connection(&client).await.map(str::to_owned),
    };
    let line = match outcome {
        Ok(text) => json!({"ok": true, "text": text}),
        Err(error) => json!({
            "ok": false,
            "status": match &error {
                OpenAIError::ApiError(api) => Some(api.status_code.as_u16()),
                _ => None,
            },
            "error": error.to_string(),
        }),
    };
    println!("{line}");
    ExitCode::SUCCESS
}

async fn stream(
    client: &openai_conn_client::async_openai::Client<
        openai_conn_client::async_openai::config::OpenAIConfig,
    >,
) -> Result<String, OpenAIError> {
    use futures_util::StreamExt;
    let request = CreateChatCompletionRequestArgs::default()
        .model("m")
        .stream(true)
        .messages(vec![ChatCompletionRequestUserMessage::from("hi").into()])
        .build()?;
    let mut stream = client.chat().create_stream(request).await?;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        for choice in event?.choices {
            text.push_str(&choice.delta.content.unwrap_or_default());
        }
    }
    Ok(text)
}
