//! [`ReportStore`] over S3: one object per key (JSON, JSON lines or an HTML page), typed by its extension.

use super::aws_error;
use crate::Result;
use crate::ports::ReportStore;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

/// Reports in one bucket, under a prefix.
#[derive(Debug, Clone)]
pub struct S3ReportStore {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3ReportStore {
    /// Reports in `bucket`, keys starting with `prefix`.
    pub fn new(client: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }
}

/// The media type of what a key holds, by its extension: a page, JSON lines, or JSON.
fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("ndjson") => "application/x-ndjson",
        _ => "application/json",
    }
}

#[async_trait]
impl ReportStore for S3ReportStore {
    #[tracing::instrument(skip(self, body), fields(bytes = body.len()))]
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String> {
        let key = format!("{}{key}", self.prefix);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type(&key))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| aws_error(self.client.config().region(), "s3", "PutObject", e))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(format!("{}{key}", self.prefix))
            .send()
            .await;
        let object = match answer {
            Ok(object) => object,
            Err(error)
                if error.as_service_error().is_some_and(
                    aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key,
                ) =>
            {
                return Ok(None);
            }
            Err(error) => {
                return Err(aws_error(
                    self.client.config().region(),
                    "s3",
                    "GetObject",
                    error,
                ));
            }
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|error| crate::Error::Aws {
                region: None,
                service: "s3",
                operation: "GetObject",
                code: None,
                message: error.to_string(),
                retryable: true,
                failure: crate::error::AwsFailure::Other,
                detail: None,
            })?;
        Ok(Some(bytes.to_vec()))
    }
}
