//! [`Notifier`] over SNS: subject, message and string attributes for subscription filters.

use super::aws_error;
use crate::Result;
use crate::ports::{Notification, Notifier};
use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;

/// Publishes to one topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    chatbot_format: bool,
}

impl SnsNotifier {
    /// Publishes to `topic_arn`; with `chatbot_format`, in AWS Chatbot's custom notification
    /// format.
    pub fn new(client: Client, topic_arn: impl Into<String>, chatbot_format: bool) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            chatbot_format,
        }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    #[tracing::instrument(skip(self, notification), fields(subject = %notification.subject))]
    async fn publish(&self, notification: &Notification) -> Result<String> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notification.subject)
            .message(if self.chatbot_format {
                crate::report::chatbot_message(notification)
            } else {
                notification.message.clone()
            });
        for (name, value) in &notification.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|error| crate::Error::Internal {
                    problem: format!("message attribute {name}: {error}"),
                })?;
            request = request.message_attributes(name, attribute);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| aws_error(self.client.config().region(), "sns", "Publish", e))?;
        Ok(answer.message_id().unwrap_or_default().to_owned())
    }
}
