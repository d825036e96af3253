//! Email over SMTP: each message a `multipart/alternative` MIME message with a plain-text and an HTML part, its
//! links rewritten to Realm's click redirect, an open pixel, an unsubscribe link, a `Message-ID` Realm keeps on
//! the communication, and `List-Unsubscribe` with one-click unsubscribe (RFC 8058). Sent through a pooled
//! connection to the server in `REALM_SMTP_URL` (`smtp.rs`); 4xx replies and connection trouble are transient, 5xx
//! permanent.

use std::time::Duration;

use async_trait::async_trait;
use lettre::{
    message::{
        header::{HeaderName, HeaderValue},
        Mailbox, MultiPart, SinglePart,
    },
    Message,
};

use super::{
    smtp::{SmtpPool, SmtpServer},
    tracking::{escape_html, Tracking},
    vendor::{OutgoingMessage, Vendor, VendorError},
};
use crate::campaigns::template::link_spans;

/// Connections to the SMTP server, at most, and kept open; the campaign's rate limit bounds how fast they are used.
const POOL_SIZE: usize = 16;
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct SmtpVendor {
    connections: SmtpPool,
    from: Mailbox,
    tracking: Tracking,
}

impl SmtpVendor {
    /// Fails with the reason when the URL or the sender address cannot be used; the configuration checks both at
    /// start.
    pub fn new(url: &str, from: &str, tracking: Tracking) -> Result<Self, String> {
        let server =
            SmtpServer::from_url(url).map_err(|error| format!("REALM_SMTP_URL: {error}"))?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|error| format!("REALM_MAIL_FROM: {error}"))?;
        Ok(Self {
            connections: SmtpPool::new(server, POOL_SIZE, SMTP_TIMEOUT),
            from,
            tracking,
        })
    }
}

/// The two bodies of one email, with tracked links.
#[derive(Debug, PartialEq, Eq)]
pub struct Bodies {
    pub text: String,
    pub html: String,
}

/// Builds the plain-text and HTML bodies of a rendered message. A link that is one of the campaign's links leads
/// through the click redirect (`click(i)` for the campaign's i-th link); any other text, including a link that came
/// from a customer's own value, is only text. In the HTML every character of the message is escaped.
pub fn bodies(
    message: &str,
    links: &[String],
    click: impl Fn(usize) -> String,
    open_url: &str,
    unsubscribe_url: &str,
) -> Bodies {
    let mut text = String::with_capacity(message.len() + 200);
    let mut html = String::with_capacity(message.len() * 2 + 600);
    html.push_str(r#"<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="font-family:sans-serif;line-height:1.5"><p>"#);
    let html_text = |html: &mut String, piece: &str| {
        html.push_str(
            &escape_html(piece)
                .replace("\r\n", "\n")
                .replace('\n', "<br>"),
        );
    };
    let mut at = 0;
    for span in link_spans(message) {
        text.push_str(&message[at..span.start]);
        html_text(&mut html, &message[at..span.start]);
        let link = &message[span.clone()];
        match links.iter().position(|known| known == link) {
            Some(index) => {
                let tracked = click(index);
                text.push_str(&tracked);
                html.push_str(&format!(
                    r#"<a href="{}">{}</a>"#,
                    escape_html(&tracked),
                    escape_html(link)
                ));
            }
            None => {
                text.push_str(link);
                html_text(&mut html, link);
            }
        }
        at = span.end;
    }
    text.push_str(&message[at..]);
    html_text(&mut html, &message[at..]);
    text.push_str(&format!("\n\n--\nUnsubscribe: {unsubscribe_url}\n"));
    html.push_str(&format!(
        r#"</p><hr><p style="font-size:12px;color:#475569"><a href="{}">Unsubscribe</a> from these emails.</p><img src="{}" width="1" height="1" alt=""></body></html>"#,
        escape_html(unsubscribe_url),
        escape_html(open_url)
    ));
    Bodies { text, html }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

impl SmtpVendor {
    /// The whole MIME message for one recipient, and its `Message-ID` (without angle brackets).
    pub fn compose(&self, message: &OutgoingMessage) -> Result<(Message, String), VendorError> {
        let address = message.to.parse::<lettre::Address>().map_err(|_| {
            VendorError::Permanent(format!("{:?} is not a valid email address", message.to))
        })?;
        let name = message
            .name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty());
        let to = Mailbox::new(name.map(str::to_owned), address);
        let token = self
            .tracking
            .token(message.communication, message.campaign)
            .ok_or_else(|| {
                VendorError::Transient("the tracking key is not loaded yet".to_owned())
            })?;
        let unsubscribe_url = self.tracking.unsubscribe_url(&token);
        let bodies = bodies(
            &message.body,
            &message.links,
            |link| self.tracking.click_url(&token, link),
            &self.tracking.open_url(&token),
            &unsubscribe_url,
        );
        let domain = self.from.email.domain().to_owned();
        let message_id = format!("{}@{domain}", message.communication.to_hex());
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone().unwrap_or_default())
            .message_id(Some(format!("<{message_id}>")))
            .raw_header(header("List-Unsubscribe", format!("<{unsubscribe_url}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(bodies.text))
                    .singlepart(SinglePart::html(bodies.html)),
            )
            .map_err(|error| {
                VendorError::Permanent(format!("the message could not be built: {error}"))
            })?;
        Ok((email, message_id))
    }
}

#[async_trait]
impl Vendor for SmtpVendor {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, VendorError> {
        let (email, message_id) = self.compose(message)?;
        self.connections
            .send(email.envelope(), &email.formatted())
            .await?;
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_links_are_tracked_and_everything_else_is_escaped_text() {
        let links = vec!["https://shop.example/sale".to_owned()];
        let bodies = bodies(
            "Hi <Ada> & co,\nsee https://shop.example/sale. Not http://evil.example",
            &links,
            |i| format!("https://crm.example/t/c/T/{i}"),
            "https://crm.example/t/o/T",
            "https://crm.example/u/T",
        );
        assert_eq!(
            bodies.text,
            "Hi <Ada> & co,\nsee https://crm.example/t/c/T/0. Not http://evil.example\n\n--\nUnsubscribe: https://crm.example/u/T\n"
        );
        assert!(bodies.html.contains(
            r#"Hi &lt;Ada&gt; &amp; co,<br>see <a href="https://crm.example/t/c/T/0">https://shop.example/sale</a>. Not http://evil.example"#
        ));
        assert!(!bodies.html.contains(r#"href="http://evil.example"#));
        assert!(bodies
            .html
            .contains(r#"<img src="https://crm.example/t/o/T""#));
        assert!(bodies
            .html
            .contains(r#"<a href="https://crm.example/u/T">Unsubscribe</a>"#));
    }
}
