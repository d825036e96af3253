//! SMS (or any other channel a provider takes over HTTP) through a webhook, a "messenger" in Listmonk's words:
//! each message, ending with the opt-out text, is a `POST` of JSON `{message_id, to, body, campaign_id}` to
//! `REALM_SMS_WEBHOOK_URL`, signed with
//! `X-Realm-Signature: sha256=<hex HMAC-SHA256 of the body>` under `REALM_WEBHOOK_SECRET`. A 2xx answer accepts the
//! message; 429, 5xx, a timeout or a failed connection are transient; any other answer is permanent.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde::Serialize;
use sha2::Sha256;

use super::vendor::{OutgoingMessage, Vendor, VendorError};

const TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of a refusal's body kept as the failure reason.
const REASON_LENGTH: usize = 200;

pub struct WebhookVendor {
    client: reqwest::Client,
    url: String,
    secret: Vec<u8>,
    opt_out: Option<String>,
}

#[derive(Serialize)]
struct Payload<'a> {
    message_id: String,
    to: &'a str,
    body: &'a str,
    campaign_id: String,
}

/// The `X-Realm-Signature` value for a body: what a receiver computes with the shared secret to trust it.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // An HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    format!(
        "sha256={}",
        crate::shared::hex::hex(&mac.finalize().into_bytes())
    )
}

/// Whether `given` (an `X-Realm-Signature` value) is the signature of `body` under `secret`, compared in constant
/// time so that response times do not reveal how much of a guess was right.
pub fn signed_by(secret: &[u8], body: &[u8], given: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(
        signature(secret, body)
            .as_bytes()
            .ct_eq(given.trim().as_bytes()),
    )
}

impl WebhookVendor {
    pub fn new(url: &str, secret: &str, opt_out: Option<String>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A provider's webhook answers; it does not send Realm elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("REALM_SMS_WEBHOOK_URL: {error}"))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            secret: secret.as_bytes().to_vec(),
            opt_out,
        })
    }
}

/// The message as sent: ending with the opt-out text, unless the campaign's message already says it.
pub fn with_opt_out(body: &str, opt_out: Option<&str>) -> String {
    match opt_out {
        Some(text) if !body.to_lowercase().contains(&text.to_lowercase()) => {
            format!("{} {text}", body.trim_end())
        }
        _ => body.to_owned(),
    }
}

/// What an answer means for the recipient.
fn outcome_of(status: StatusCode, body: &str) -> Result<(), VendorError> {
    if status.is_success() {
        return Ok(());
    }
    let said: String = body.chars().take(REASON_LENGTH).collect();
    let reason = format!("the SMS provider answered {status}: {}", said.trim());
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(VendorError::Transient(reason))
    } else {
        Err(VendorError::Permanent(reason))
    }
}

#[async_trait]
impl Vendor for WebhookVendor {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, VendorError> {
        let message_id = message.communication.to_hex();
        let text = with_opt_out(&message.body, self.opt_out.as_deref());
        let body = serde_json::to_vec(&Payload {
            message_id: message_id.clone(),
            to: &message.to,
            body: &text,
            campaign_id: message.campaign.to_hex(),
        })
        .map_err(|error| VendorError::Permanent(error.to_string()))?;
        let answer = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-realm-signature", signature(&self.secret, &body))
            .body(body)
            .send()
            .await
            // The URL may hold credentials: the reason names the failure, not the address.
            .map_err(|error| {
                VendorError::Transient(format!(
                    "the SMS provider could not be reached: {}",
                    error.without_url()
                ))
            })?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        outcome_of(status, &text)?;
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(outcome_of(StatusCode::ACCEPTED, ""), Ok(()));
        assert!(matches!(
            outcome_of(StatusCode::TOO_MANY_REQUESTS, "slow down"),
            Err(VendorError::Transient(_))
        ));
        assert!(matches!(
            outcome_of(StatusCode::BAD_GATEWAY, ""),
            Err(VendorError::Transient(_))
        ));
        let long = "x".repeat(10_000);
        match outcome_of(StatusCode::UNPROCESSABLE_ENTITY, &long) {
            Err(VendorError::Permanent(reason)) => assert!(reason.len() < 300, "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_exact_signature_of_the_body_is_accepted() {
        let good = signature(b"0123456789abcdef", b"{}");
        assert!(signed_by(b"0123456789abcdef", b"{}", &good));
        assert!(!signed_by(b"0123456789abcdef", b"{ }", &good));
        assert!(!signed_by(b"another-secret-0000", b"{}", &good));
        assert!(!signed_by(b"0123456789abcdef", b"{}", ""));
    }

    #[test]
    fn sms_end_with_the_opt_out_text_once() {
        let stop = Some("Reply STOP to opt out.");
        assert_eq!(
            with_opt_out("20% off today ", stop),
            "20% off today Reply STOP to opt out."
        );
        assert_eq!(
            with_opt_out("20% off. reply stop to opt out.", stop),
            "20% off. reply stop to opt out."
        );
        assert_eq!(with_opt_out("20% off", None), "20% off");
    }

    #[test]
    fn the_signature_is_the_hmac_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
