//! Signed links in sent messages: the open pixel (`/t/o/{token}`), click redirects (`/t/c/{token}/{link}`) and the
//! unsubscribe page (`/u/{token}`). A token names one communication and its campaign and carries an HMAC of both,
//! so nobody can guess or alter another recipient's links. The key is made once and kept in the database, so links
//! in mail already sent keep working after a restart and on every instance.

use std::sync::{Arc, OnceLock};

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use hmac::{Hmac, Mac};
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use serde::Deserialize;
use sha2::Sha256;

use super::vendor::ReceiptEvent;
use crate::{
    campaigns::model::Channel,
    customers::{model::Consent, server::Customers},
    server::{
        mongo::{collections, is_duplicate_key, read_as, Mongo},
        state::AppState,
    },
    shared::{
        error::AppError,
        hex::{hex, random_hex},
    },
};

/// Bytes of the HMAC kept in a token: 128 bits, beyond guessing.
const TAG_BYTES: usize = 16;
const TOKEN_LENGTH: usize = 24 + 24 + TAG_BYTES * 2;
const KEY_SETTING: &str = "tracking_key";

/// One recipient's communication and its campaign, as a verified token names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signed {
    pub communication: ObjectId,
    pub campaign: ObjectId,
}

/// The signing key and the public address links point at; shared by the mail transport and the routes.
#[derive(Clone)]
pub struct Tracking {
    key: Arc<OnceLock<Vec<u8>>>,
    public_url: Arc<str>,
    /// Each campaign's links, so that a click is redirected without a database read (and while MongoDB is away).
    links: Arc<quick_cache::sync::Cache<ObjectId, Arc<[String]>>>,
}

impl Tracking {
    pub fn new(public_url: &str) -> Self {
        Self {
            key: Arc::default(),
            public_url: public_url.trim_end_matches('/').into(),
            links: Arc::new(quick_cache::sync::Cache::new(1_000)),
        }
    }

    /// A tracking with a key of its own, for tests of the links alone.
    pub fn with_key(public_url: &str, key: &[u8]) -> Self {
        let tracking = Self::new(public_url);
        let _ = tracking.key.set(key.to_vec());
        tracking
    }

    /// Reads the key from the database, making it on first start; until then links cannot be made or checked.
    pub async fn load_key(&self, mongo: &Mongo) -> Result<(), AppError> {
        let settings = mongo.collection(collections::SETTINGS);
        let made = random_hex(32);
        // The first instance to start writes it; the others read what it wrote.
        match settings
            .insert_one(doc! { "_id": KEY_SETTING, "key": &made })
            .await
        {
            Ok(_) => {}
            Err(error) if is_duplicate_key(&error) => {}
            Err(error) => return Err(error.into()),
        }
        let stored = settings
            .find_one(doc! { "_id": KEY_SETTING })
            .await?
            .and_then(|setting| setting.get_str("key").ok().map(str::to_owned))
            .ok_or_else(|| AppError::Unavailable("the tracking key is missing".to_owned()))?;
        let _ = self.key.set(stored.into_bytes());
        Ok(())
    }

    fn mac(&self, communication: ObjectId, campaign: ObjectId) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.get()?).ok()?;
        mac.update(&communication.bytes());
        mac.update(&campaign.bytes());
        Some(mac)
    }

    pub fn token(&self, communication: ObjectId, campaign: ObjectId) -> Option<String> {
        let tag = self.mac(communication, campaign)?.finalize().into_bytes();
        Some(format!(
            "{}{}{}",
            communication.to_hex(),
            campaign.to_hex(),
            hex(&tag[..TAG_BYTES])
        ))
    }

    /// The communication a token names, if it was signed with this app's key and not altered.
    pub fn verify(&self, token: &str) -> Option<Signed> {
        if token.len() != TOKEN_LENGTH || !token.is_ascii() {
            return None;
        }
        let communication = ObjectId::parse_str(&token[..24]).ok()?;
        let campaign = ObjectId::parse_str(&token[24..48]).ok()?;
        let tag = unhex(&token[48..])?;
        self.mac(communication, campaign)?
            .verify_truncated_left(&tag)
            .ok()?;
        Some(Signed {
            communication,
            campaign,
        })
    }

    pub fn open_url(&self, token: &str) -> String {
        format!("{}/t/o/{token}", self.public_url)
    }

    pub fn click_url(&self, token: &str, link: usize) -> String {
        format!("{}/t/c/{token}/{link}", self.public_url)
    }

    pub fn unsubscribe_url(&self, token: &str) -> String {
        format!("{}/u/{token}", self.public_url)
    }

    /// A campaign's links, read from its message once and then kept.
    pub async fn links_of(
        &self,
        mongo: &Mongo,
        campaign: ObjectId,
    ) -> Result<Arc<[String]>, AppError> {
        if let Some(links) = self.links.get(&campaign) {
            return Ok(links);
        }
        let links = super::message_links(mongo, campaign).await?;
        self.links.insert(campaign, links.clone());
        Ok(links)
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The public routes of sent messages; they need no sign-in (see the guard's open paths).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/o/{token}", get(open))
        .route("/t/c/{token}/{link}", get(click))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
}

/// A transparent 1×1 GIF.
const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn forged() -> Response {
    (StatusCode::NOT_FOUND, "This link is not valid.").into_response()
}

async fn open(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(signed) = state.tracking.verify(&token) else {
        return forged();
    };
    // Recorded beside the answer: the image arrives even when the record cannot be written.
    tokio::spawn(record(
        state.mongo.clone(),
        signed,
        &[ReceiptEvent::Delivered, ReceiptEvent::Opened],
        "opens",
        None,
    ));
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store, max-age=0"),
        ],
        PIXEL,
    )
        .into_response()
}

async fn click(
    State(state): State<AppState>,
    Path((token, link)): Path<(String, usize)>,
) -> Response {
    let Some(signed) = state.tracking.verify(&token) else {
        return forged();
    };
    let links = match state.tracking.links_of(&state.mongo, signed.campaign).await {
        Ok(links) => links,
        Err(error) => return error.into_response(),
    };
    // Only the links written in the campaign's message: a token never leads anywhere else.
    let Some(target) = links.get(link) else {
        return forged();
    };
    tokio::spawn(record(
        state.mongo.clone(),
        signed,
        &[
            ReceiptEvent::Delivered,
            ReceiptEvent::Opened,
            ReceiptEvent::Clicked,
        ],
        "clicks",
        Some(link),
    ));
    (StatusCode::FOUND, [(header::LOCATION, target.as_str())]).into_response()
}

/// Sets each event's time where none is set yet (the first open or click is the one recorded) and counts the
/// event every time.
async fn record(
    mongo: Mongo,
    signed: Signed,
    events: &'static [ReceiptEvent],
    counter: &'static str,
    link: Option<usize>,
) {
    let receipts = super::receipts::observed_now(signed.communication, events);
    let mut update = doc! { "$inc": { counter: 1_i64 } };
    if let Some(link) = link {
        update.insert("$addToSet", doc! { "clicked_links": link as i64 });
    }
    let counted = mongo
        .collection(collections::COMMUNICATIONS)
        .update_one(doc! { "_id": signed.communication }, update)
        .await;
    let applied = super::receipts::apply(&mongo, &receipts).await;
    if let Err(error) = counted.map_err(AppError::from).and(applied) {
        tracing::warn!(communication = %signed.communication, "a tracked {counter} was not recorded: {error}");
    }
}

/// The address a communication went to, for the unsubscribe page.
/// Who a signed link was sent to.
#[derive(Deserialize)]
struct Recipient {
    to: String,
    customer_id: ObjectId,
}

async fn recipient(mongo: &Mongo, signed: Signed) -> Result<Recipient, AppError> {
    let row = mongo
        .collection(collections::COMMUNICATIONS)
        .find_one(doc! { "_id": signed.communication })
        .projection(doc! { "to": 1, "customer_id": 1 })
        .await?
        .ok_or_else(|| AppError::NotFound("This link is not valid any more.".to_owned()))?;
    read_as("message", row)
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><meta name="robots" content="noindex"></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#0f172a"><h1 style="font-size:1.4rem">{title}</h1>{body}</body></html>"#
    ))
}

async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(signed) = state.tracking.verify(&token) else {
        return forged();
    };
    let to = match recipient(&state.mongo, signed).await {
        Ok(row) => row.to,
        Err(error) => return error.into_response(),
    };
    page(
        "Unsubscribe",
        &format!(
            r#"<p>Stop marketing email to <strong>{}</strong>?</p><form method="post"><button type="submit" style="padding:.5rem 1rem;background:#4338ca;color:#fff;border:0;border-radius:.375rem;font-size:1rem">Unsubscribe</button></form>"#,
            escape_html(&to)
        ),
    )
    .into_response()
}

/// Unsubscribes the recipient from email: the page's button, and mail clients' one-click POST (RFC 8058), which
/// sends `List-Unsubscribe=One-Click` and needs no page.
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(signed) = state.tracking.verify(&token) else {
        return forged();
    };
    let row = match recipient(&state.mongo, signed).await {
        Ok(row) => row,
        Err(error) => return error.into_response(),
    };
    let customer = row.customer_id;
    let via = format!("unsubscribe link of campaign {}", signed.campaign.to_hex());
    let unsubscribed = Customers::new(&state.mongo)
        .set_consent(customer, Channel::Email, Consent::Unsubscribed, &via)
        .await;
    let marked = state
        .mongo
        .collection(collections::COMMUNICATIONS)
        .update_one(
            doc! { "_id": signed.communication, "unsubscribed_at": null },
            doc! { "$set": { "unsubscribed_at": DateTime::now() } },
        )
        .await;
    match unsubscribed {
        Err(error) => error.into_response(),
        Ok(_) => {
            if let Err(error) = marked {
                tracing::warn!("an unsubscribe was not marked on its message: {error}");
            }
            page(
                "You are unsubscribed",
                &format!(
                    "<p>{} will get no more marketing email from us.</p>",
                    escape_html(&row.to)
                ),
            )
            .into_response()
        }
    }
}

/// Text made safe to place in HTML.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_unaltered_and_under_its_own_key() {
        let tracking = Tracking::with_key("https://crm.example", b"k1");
        let (communication, campaign) = (ObjectId::new(), ObjectId::new());
        let token = tracking.token(communication, campaign).unwrap();
        assert_eq!(token.len(), TOKEN_LENGTH);
        assert_eq!(
            tracking.verify(&token),
            Some(Signed {
                communication,
                campaign
            })
        );
        // Another recipient's id with this signature, a changed signature, another key, a cut token.
        let other = format!("{}{}", ObjectId::new().to_hex(), &token[24..]);
        assert_eq!(tracking.verify(&other), None);
        let mut altered = token.clone();
        altered.replace_range(79.., if token.ends_with('0') { "1" } else { "0" });
        assert_eq!(tracking.verify(&altered), None);
        assert_eq!(
            Tracking::with_key("https://crm.example", b"k2").verify(&token),
            None
        );
        assert_eq!(tracking.verify(&token[..70]), None);
        assert_eq!(Tracking::new("https://crm.example").verify(&token), None);
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }
}
