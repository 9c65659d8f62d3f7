//! Small helpers over the client: the connection test, one chat completion, embeddings, and the
//! reference's default models.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use async_openai::types::embeddings::{CreateEmbeddingRequestArgs, EmbeddingInput};

/// Default model for chat completions and responses.
pub const DEFAULT_CHAT_MODEL: &str = "gpt-4o-mini";
/// Default model for embeddings.
pub const DEFAULT_EMBEDDING_MODEL: &str = "text-embedding-3-small";
/// What a successful connection test returns.
pub const CONNECTION_ESTABLISHED: &str = "Connection established!";

/// Lists models (`GET {base}/models`), as the Airflow hook's "test connection" does.
pub async fn test_connection(client: &Client<OpenAIConfig>) -> Result<&'static str, OpenAIError> {
    client.models().list().await?;
    Ok(CONNECTION_ESTABLISHED)
}

/// Sends one user message to `model` (default [`DEFAULT_CHAT_MODEL`]) and returns the first
/// choice's text (empty when the model returned none).
pub async fn chat_completion(
    client: &Client<OpenAIConfig>,
    prompt: &str,
    model: Option<&str>,
) -> Result<String, OpenAIError> {
    let request = CreateChatCompletionRequestArgs::default()
        .model(model.unwrap_or(DEFAULT_CHAT_MODEL))
        .messages(vec![ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()?;
    let response = client.chat().create(request).await?;
    Ok(response
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message.content)
        .unwrap_or_default())
}

/// Embeds `inputs` with `model` (default [`DEFAULT_EMBEDDING_MODEL`]), one vector per input, in
/// input order.
pub async fn embed(
    client: &Client<OpenAIConfig>,
    inputs: Vec<String>,
    model: Option<&str>,
) -> Result<Vec<Vec<f32>>, OpenAIError> {
    let request = CreateEmbeddingRequestArgs::default()
        .model(model.unwrap_or(DEFAULT_EMBEDDING_MODEL))
        .input(EmbeddingInput::StringArray(inputs))
        .build()?;
    let mut data = client.embeddings().create(request).await?.data;
    data.sort_by_key(|embedding| embedding.index);
    Ok(data
        .into_iter()
        .map(|embedding| embedding.embedding)
        .collect())
}
