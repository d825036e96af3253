//! Runtime configuration, read once at start-up from environment variables.

use thiserror::Error;

use crate::campaigns::server::vendor::SimulatedVendorSettings;
use crate::shared::money::Currency;

pub const DEFAULT_MONGODB_URI: &str = "mongodb://127.0.0.1:27017";
pub const DEFAULT_MONGODB_DATABASE: &str = "realm";
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub mongodb_uri: String,
    pub mongodb_database: String,
    pub amqp_url: String,
    /// Prepended to every queue and exchange name, so that test runs (and several Realm installations sharing one
    /// broker) never consume each other's messages. Empty in production: the queue is then `orders_queue`.
    pub amqp_queue_prefix: String,
    /// The address people use to reach Realm (scheme and host, e.g. `https://crm.example.com`), when a proxy sits
    /// in front of it. An `https` address makes session cookies `Secure`; it is also accepted as a request Origin.
    pub public_origin: Option<String>,
    /// What links in sent messages start with: `REALM_PUBLIC_URL`, or the listening address for local runs.
    pub link_base: String,
    /// How campaign email leaves Realm (`REALM_EMAIL_TRANSPORT`).
    pub email: EmailTransport,
    /// The secret Realm signs its webhook requests with and checks the mail provider's events against
    /// (`REALM_WEBHOOK_SECRET`, 16 characters or more).
    pub webhook_secret: Option<String>,
    /// How SMS leaves Realm (`REALM_SMS_TRANSPORT`).
    pub sms: SmsTransport,
    /// The built-in simulated messaging vendor: SMS and email when `REALM_EMAIL_TRANSPORT=simulated`.
    pub vendor: SimulatedVendorSettings,
    /// Proxies whose `X-Forwarded-For` is believed (`REALM_TRUSTED_PROXIES`); none by default.
    pub trusted_proxies: TrustedProxies,
    /// Other sites whose pages may call `/api/...` with an API key (`REALM_CORS_ORIGINS`, comma-separated, e.g.
    /// `https://app.example.com`); none by default. Cookies are never shared with them.
    pub cors_origins: Vec<String>,
    /// The currency amounts are shown in (`REALM_CURRENCY`, an ISO 4217 code such as `EUR`); US dollars by default.
    pub currency: Currency,
}

/// Where campaign email goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// An SMTP server (`REALM_SMTP_URL`, e.g. `smtp://user:pass@host:587?tls=required`, `smtps://host`, or
    /// `smtp://127.0.0.1:1025` for a local catcher), sending as `REALM_MAIL_FROM` (`Name <address>`).
    Smtp { url: String, from: String },
    /// The built-in simulator, for tests and benchmarks: nothing leaves Realm.
    Simulated,
}

/// Where SMS messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsTransport {
    /// A provider's HTTP endpoint (`REALM_SMS_WEBHOOK_URL`), each request signed with `REALM_WEBHOOK_SECRET`;
    /// each message ends with the opt-out text (`REALM_SMS_OPT_OUT`, `off` for none) unless it already has it.
    Webhook {
        url: String,
        secret: String,
        opt_out: Option<String>,
    },
    /// The built-in simulator, for tests and benchmarks.
    Simulated,
}

fn webhook_secret(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    match lookup("REALM_WEBHOOK_SECRET")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    {
        Some(secret) if secret.len() < 16 => Err(ConfigError {
            variable: "REALM_WEBHOOK_SECRET",
            reason: "a secret of at least 16 characters is required to sign webhook requests"
                .to_owned(),
        }),
        secret => Ok(secret),
    }
}

/// Reads `REALM_SMS_TRANSPORT`: a webhook when one is configured, the simulator otherwise (said in the log).
fn sms_transport(lookup: &impl Fn(&str) -> Option<String>) -> Result<SmsTransport, ConfigError> {
    let value = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let url = value("REALM_SMS_WEBHOOK_URL");
    match value("REALM_SMS_TRANSPORT").as_deref() {
        Some("simulated") => Ok(SmsTransport::Simulated),
        None if url.is_none() => Ok(SmsTransport::Simulated),
        None | Some("webhook") => {
            let url = url.ok_or_else(|| ConfigError {
                variable: "REALM_SMS_WEBHOOK_URL",
                reason: "required when REALM_SMS_TRANSPORT is webhook".to_owned(),
            })?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError {
                    variable: "REALM_SMS_WEBHOOK_URL",
                    reason: format!(
                        "expected an http:// or https:// URL, got {}",
                        redact_uri(&url)
                    ),
                });
            }
            let secret = webhook_secret(lookup)?.ok_or_else(|| ConfigError {
                variable: "REALM_WEBHOOK_SECRET",
                reason: "a secret of at least 16 characters is required to sign webhook requests"
                    .to_owned(),
            })?;
            let opt_out = match value("REALM_SMS_OPT_OUT") {
                Some(text) if text.eq_ignore_ascii_case("off") => None,
                Some(text) => Some(text),
                None => Some(DEFAULT_SMS_OPT_OUT.to_owned()),
            };
            Ok(SmsTransport::Webhook {
                url,
                secret,
                opt_out,
            })
        }
        Some(other) => Err(ConfigError {
            variable: "REALM_SMS_TRANSPORT",
            reason: format!("expected webhook or simulated, got {other:?}"),
        }),
    }
}

pub const DEFAULT_SMS_OPT_OUT: &str = "Reply STOP to opt out.";
pub const DEFAULT_SMTP_URL: &str = "smtp://127.0.0.1:1025";
pub const DEFAULT_MAIL_FROM: &str = "Realm <campaigns@realm.localhost>";

/// Reads `REALM_EMAIL_TRANSPORT` and, for SMTP, checks the URL and sender address at start, so that a typo stops
/// the app with the variable's name instead of failing every send.
fn email_transport(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<EmailTransport, ConfigError> {
    let value = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match value("REALM_EMAIL_TRANSPORT").as_deref() {
        Some("simulated") => Ok(EmailTransport::Simulated),
        None | Some("smtp") => {
            let url = value("REALM_SMTP_URL").unwrap_or_else(|| DEFAULT_SMTP_URL.to_owned());
            crate::campaigns::server::smtp::SmtpServer::from_url(&url).map_err(|error| {
                ConfigError {
                    variable: "REALM_SMTP_URL",
                    reason: format!("{} is not an SMTP URL: {error}", redact_uri(&url)),
                }
            })?;
            let from = value("REALM_MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned());
            from.parse::<lettre::message::Mailbox>()
                .map_err(|error| ConfigError {
                    variable: "REALM_MAIL_FROM",
                    reason: format!(
                        "{from:?} is not an address like `Shop <news@shop.example>`: {error}"
                    ),
                })?;
            Ok(EmailTransport::Smtp { url, from })
        }
        Some(other) => Err(ConfigError {
            variable: "REALM_EMAIL_TRANSPORT",
            reason: format!("expected smtp or simulated, got {other:?}"),
        }),
    }
}

/// The origins of `REALM_CORS_ORIGINS`: each a scheme and host (and port), nothing after.
pub fn parse_cors_origins(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let origin = entry.trim_end_matches('/');
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| format!("{entry:?} is not an http:// or https:// origin"))?;
            let valid = !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
            if valid {
                Ok(origin.to_ascii_lowercase())
            } else {
                Err(format!(
                    "{entry:?} is not an origin: give only the scheme and host, like https://app.example.com"
                ))
            }
        })
        .collect()
}

/// The proxies in front of Realm, as addresses or networks (`10.0.0.5, 172.18.0.0/16`). A request from one of
/// them is taken to come from the last address in `X-Forwarded-For` that is not itself a trusted proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("{entry:?} is not an IP address or network"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, address: std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    pub fn client_address(
        &self,
        peer: std::net::IpAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that is not an address was not written by a proxy we trust: stop at the last one that was.
            let Ok(address) = hop.parse::<std::net::IpAddr>() else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("configuration variable {variable} is invalid: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so that tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &str, default: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
            {
                None => Ok(default),
                Some(text) => text
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or(ConfigError {
                        variable: name,
                        reason: format!("expected a whole number from 0 to {max}, got {text:?}"),
                    }),
            }
        };
        let site = lookup("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let public_origin = lookup("REALM_PUBLIC_URL")
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty());
        let config = Config {
            link_base: public_origin
                .clone()
                .unwrap_or_else(|| format!("http://{}", site.replace("0.0.0.0", "127.0.0.1"))),
            mongodb_uri: value("REALM_MONGODB_URI", DEFAULT_MONGODB_URI),
            mongodb_database: value("REALM_MONGODB_DB", DEFAULT_MONGODB_DATABASE),
            amqp_url: value("REALM_AMQP_URL", DEFAULT_AMQP_URL),
            amqp_queue_prefix: lookup("REALM_AMQP_QUEUE_PREFIX")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            public_origin,
            email: email_transport(&lookup)?,
            sms: sms_transport(&lookup)?,
            webhook_secret: webhook_secret(&lookup)?,
            vendor: SimulatedVendorSettings {
                latency_ms: number("REALM_VENDOR_LATENCY_MS", 40, 60_000)?,
                failure_percent: number("REALM_VENDOR_FAILURE_PERCENT", 10, 100)? as u32,
                open_percent: number("REALM_VENDOR_OPEN_PERCENT", 40, 100)? as u32,
                click_percent: number("REALM_VENDOR_CLICK_PERCENT", 25, 100)? as u32,
                receipts_url: value(
                    "REALM_RECEIPTS_URL",
                    &format!(
                        "http://{}/api/receipts",
                        site.replace("0.0.0.0", "127.0.0.1")
                    ),
                ),
                receipts_token: lookup("REALM_RECEIPTS_TOKEN")
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(random_token),
            },
            trusted_proxies: TrustedProxies::parse(
                &lookup("REALM_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|reason| ConfigError {
                variable: "REALM_TRUSTED_PROXIES",
                reason,
            })?,
            cors_origins: parse_cors_origins(&lookup("REALM_CORS_ORIGINS").unwrap_or_default())
                .map_err(|reason| ConfigError {
                    variable: "REALM_CORS_ORIGINS",
                    reason,
                })?,
            currency: match lookup("REALM_CURRENCY").filter(|code| !code.trim().is_empty()) {
                None => Currency::USD,
                Some(code) => Currency::parse(&code).ok_or_else(|| ConfigError {
                    variable: "REALM_CURRENCY",
                    reason: format!(
                        "{code:?} is not a currency Realm shows; use one of {}",
                        Currency::ALL.map(Currency::code).join(", ")
                    ),
                })?,
            },
        };
        // Several instances behind one receipts URL must all accept the vendor's token: a random one per start
        // would make each refuse the receipts meant for the others.
        if lookup("REALM_RECEIPTS_URL").is_some_and(|url| !url.trim().is_empty())
            && lookup("REALM_RECEIPTS_TOKEN").is_none_or(|token| token.trim().is_empty())
        {
            return Err(ConfigError {
                variable: "REALM_RECEIPTS_TOKEN",
                reason: "required when REALM_RECEIPTS_URL is set (several instances share the receipts URL, so they must share the token)".to_owned(),
            });
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.mongodb_uri.starts_with("mongodb://")
            || self.mongodb_uri.starts_with("mongodb+srv://"))
        {
            return Err(ConfigError {
                variable: "REALM_MONGODB_URI",
                reason: format!(
                    "expected a URI starting with mongodb:// or mongodb+srv://, got {}",
                    redact_uri(&self.mongodb_uri)
                ),
            });
        }
        // MongoDB refuses these characters in database names; catching them here gives a clearer message.
        if let Some(bad) = self
            .mongodb_database
            .chars()
            .find(|c| "/\\. \"$".contains(*c))
        {
            return Err(ConfigError {
                variable: "REALM_MONGODB_DB",
                reason: format!("database names cannot contain {bad:?}"),
            });
        }
        if !(self.amqp_url.starts_with("amqp://") || self.amqp_url.starts_with("amqps://")) {
            return Err(ConfigError {
                variable: "REALM_AMQP_URL",
                reason: format!(
                    "expected a URL starting with amqp:// or amqps://, got {}",
                    redact_uri(&self.amqp_url)
                ),
            });
        }
        if let Some(bad) = self
            .amqp_queue_prefix
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ConfigError {
                variable: "REALM_AMQP_QUEUE_PREFIX",
                reason: format!("queue name prefixes cannot contain {bad:?}"),
            });
        }
        if let Some(origin) = &self.public_origin {
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if authority.is_none_or(|authority| authority.is_empty() || authority.contains('/')) {
                return Err(ConfigError {
                    variable: "REALM_PUBLIC_URL",
                    reason: format!("expected http(s)://host[:port] with no path, got {origin}"),
                });
            }
        }
        Ok(())
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_origin
            .as_deref()
            .is_some_and(|origin| origin.starts_with("https://"))
    }
}

/// A secret for one run of the app, when none is configured: the in-process vendor and the receipts endpoint
/// share it.
fn random_token() -> String {
    crate::shared::hex::random_hex(16)
}

/// The URI with its password replaced by `***`, for logs and `/readyz`.
pub fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_owned();
    };
    let (scheme, rest) = (&uri[..scheme_end], &uri[scheme_end + 3..]);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = match rest[..authority_end].rfind('@') {
        Some(at) => at,
        // A password holding '/', '?' or '#' (not percent-encoded, as people write them) ends the authority
        // early: when a user name is followed by ':' and an '@' comes later, everything up to the last '@' is
        // taken as the password. Hiding too much beats showing a password.
        None => match (rest.find(':'), rest.rfind('@')) {
            (Some(colon), Some(at))
                if colon < at && !rest[..colon].contains(['/', '?', '#', '@']) =>
            {
                at
            }
            _ => return uri.to_owned(),
        },
    };
    let user = match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => rest[..at].to_owned(),
    };
    format!("{scheme}://{user}@{}", &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_point_at_local_services() {
        let config = config_from(&[]).unwrap();
        assert_eq!(config.mongodb_uri, DEFAULT_MONGODB_URI);
        assert_eq!(config.mongodb_database, "realm");
        assert_eq!(config.amqp_url, DEFAULT_AMQP_URL);
        assert_eq!(config.amqp_queue_prefix, "");
        assert_eq!(config.public_origin, None);
        assert!(!config.secure_cookies());
    }

    #[test]
    fn the_currency_is_a_known_code_and_dollars_by_default() {
        assert_eq!(config_from(&[]).unwrap().currency, Currency::USD);
        let euro = config_from(&[("REALM_CURRENCY", "eur")]).unwrap().currency;
        assert_eq!(euro.code(), "EUR");
        let err = config_from(&[("REALM_CURRENCY", "JPY")]).unwrap_err();
        assert_eq!(err.variable, "REALM_CURRENCY");
        assert!(err.reason.contains("EUR"), "{}", err.reason);
    }

    #[test]
    fn an_https_public_url_makes_cookies_secure() {
        let config = config_from(&[("REALM_PUBLIC_URL", "https://crm.example.com/")]).unwrap();
        assert_eq!(
            config.public_origin.as_deref(),
            Some("https://crm.example.com")
        );
        assert!(config.secure_cookies());
        let err =
            config_from(&[("REALM_PUBLIC_URL", "https://crm.example.com/realm")]).unwrap_err();
        assert_eq!(err.variable, "REALM_PUBLIC_URL");
    }

    #[test]
    fn environment_overrides_defaults_and_blank_values_fall_back() {
        let config = config_from(&[
            (
                "REALM_MONGODB_URI",
                "mongodb://db.internal:27018/?replicaSet=rs0",
            ),
            ("REALM_MONGODB_DB", "  "),
            ("REALM_AMQP_URL", "amqps://realm:secret@mq.internal/prod"),
            ("REALM_AMQP_QUEUE_PREFIX", "staging."),
        ])
        .unwrap();
        assert_eq!(
            config.mongodb_uri,
            "mongodb://db.internal:27018/?replicaSet=rs0"
        );
        assert_eq!(config.mongodb_database, "realm");
        assert_eq!(config.amqp_url, "amqps://realm:secret@mq.internal/prod");
        assert_eq!(config.amqp_queue_prefix, "staging.");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let err = config_from(&[("REALM_MONGODB_URI", "postgres://u:pw@x/db")]).unwrap_err();
        assert_eq!(err.variable, "REALM_MONGODB_URI");
        assert!(
            !err.to_string().contains("pw"),
            "the password leaked: {err}"
        );

        let err = config_from(&[("REALM_MONGODB_DB", "realm.test")]).unwrap_err();
        assert_eq!(err.variable, "REALM_MONGODB_DB");

        let err = config_from(&[("REALM_AMQP_URL", "http://localhost")]).unwrap_err();
        assert_eq!(err.variable, "REALM_AMQP_URL");

        let err = config_from(&[("REALM_AMQP_QUEUE_PREFIX", "a b")]).unwrap_err();
        assert_eq!(err.variable, "REALM_AMQP_QUEUE_PREFIX");

        let err = config_from(&[("REALM_RECEIPTS_URL", "https://crm.example.com/api/receipts")])
            .unwrap_err();
        assert_eq!(err.variable, "REALM_RECEIPTS_TOKEN");
        assert!(config_from(&[
            ("REALM_RECEIPTS_URL", "https://crm.example.com/api/receipts"),
            ("REALM_RECEIPTS_TOKEN", "shared"),
        ])
        .is_ok());
    }

    #[test]
    fn email_goes_through_smtp_unless_simulated_and_bad_settings_name_their_variable() {
        assert_eq!(
            config_from(&[]).unwrap().email,
            EmailTransport::Smtp {
                url: DEFAULT_SMTP_URL.to_owned(),
                from: DEFAULT_MAIL_FROM.to_owned()
            }
        );
        assert_eq!(
            config_from(&[("REALM_EMAIL_TRANSPORT", "simulated")])
                .unwrap()
                .email,
            EmailTransport::Simulated
        );
        assert!(config_from(&[
            ("REALM_SMTP_URL", "smtps://user:secret@mail.example.com:465"),
            ("REALM_MAIL_FROM", "Shop <news@shop.example>"),
        ])
        .is_ok());
        let err =
            config_from(&[("REALM_SMTP_URL", "http://user:secret@mail.example.com")]).unwrap_err();
        assert_eq!(err.variable, "REALM_SMTP_URL");
        assert!(
            !err.to_string().contains("secret"),
            "the password leaked: {err}"
        );
        assert_eq!(
            config_from(&[("REALM_MAIL_FROM", "not an address")])
                .unwrap_err()
                .variable,
            "REALM_MAIL_FROM"
        );
        assert_eq!(
            config_from(&[("REALM_EMAIL_TRANSPORT", "carrier-pigeon")])
                .unwrap_err()
                .variable,
            "REALM_EMAIL_TRANSPORT"
        );
    }

    #[test]
    fn sms_goes_to_a_signed_webhook_once_one_is_configured() {
        assert_eq!(config_from(&[]).unwrap().sms, SmsTransport::Simulated);
        assert_eq!(
            config_from(&[
                ("REALM_SMS_WEBHOOK_URL", "https://sms.example/send"),
                ("REALM_WEBHOOK_SECRET", "0123456789abcdef"),
            ])
            .unwrap()
            .sms,
            SmsTransport::Webhook {
                url: "https://sms.example/send".to_owned(),
                secret: "0123456789abcdef".to_owned(),
                opt_out: Some(DEFAULT_SMS_OPT_OUT.to_owned()),
            }
        );
        for (vars, variable) in [
            (
                vec![("REALM_SMS_WEBHOOK_URL", "https://sms.example/send")],
                "REALM_WEBHOOK_SECRET",
            ),
            (
                vec![
                    ("REALM_SMS_WEBHOOK_URL", "https://sms.example/send"),
                    ("REALM_WEBHOOK_SECRET", "short"),
                ],
                "REALM_WEBHOOK_SECRET",
            ),
            (
                vec![("REALM_SMS_TRANSPORT", "webhook")],
                "REALM_SMS_WEBHOOK_URL",
            ),
            (
                vec![
                    ("REALM_SMS_WEBHOOK_URL", "ftp://x"),
                    ("REALM_WEBHOOK_SECRET", "0123456789abcdef"),
                ],
                "REALM_SMS_WEBHOOK_URL",
            ),
            (vec![("REALM_SMS_TRANSPORT", "fax")], "REALM_SMS_TRANSPORT"),
        ] {
            assert_eq!(
                config_from(&vars).unwrap_err().variable,
                variable,
                "{vars:?}"
            );
        }
    }

    #[test]
    fn cross_origin_callers_are_off_by_default_and_must_be_bare_origins() {
        assert!(config_from(&[]).unwrap().cors_origins.is_empty());
        assert_eq!(
            config_from(&[(
                "REALM_CORS_ORIGINS",
                "https://App.example.com/, http://localhost:5173"
            )])
            .unwrap()
            .cors_origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/path",
            "ftp://x",
            "https://",
        ] {
            assert_eq!(
                config_from(&[("REALM_CORS_ORIGINS", bad)])
                    .unwrap_err()
                    .variable,
                "REALM_CORS_ORIGINS",
                "{bad}"
            );
        }
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let headers = |value: &str| {
            let mut map = axum::http::HeaderMap::new();
            map.insert("x-forwarded-for", value.parse().unwrap());
            map
        };
        let proxies = config_from(&[("REALM_TRUSTED_PROXIES", "10.0.0.5, 172.18.0.0/16")])
            .unwrap()
            .trusted_proxies;
        let proxy = "10.0.0.5".parse().unwrap();
        let stranger = "198.51.100.9".parse().unwrap();
        // Through the proxy: the client it saw, not anything the client wrote before it.
        assert_eq!(
            proxies.client_address(proxy, &headers("1.2.3.4, 203.0.113.7, 172.18.0.3")),
            "203.0.113.7".parse::<std::net::IpAddr>().unwrap()
        );
        // Straight from a stranger: the header is the stranger's own invention.
        assert_eq!(
            proxies.client_address(stranger, &headers("203.0.113.7")),
            stranger
        );
        assert_eq!(
            TrustedProxies::default().client_address(proxy, &headers("203.0.113.7")),
            proxy
        );
        assert_eq!(
            config_from(&[("REALM_TRUSTED_PROXIES", "10.0.0.300")])
                .unwrap_err()
                .variable,
            "REALM_TRUSTED_PROXIES"
        );
    }

    #[test]
    fn redact_uri_hides_only_the_password() {
        assert_eq!(
            redact_uri("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact_uri("mongodb://admin:p%40ss@a:1,b:2/realm?authSource=admin"),
            "mongodb://admin:***@a:1,b:2/realm?authSource=admin"
        );
        assert_eq!(
            redact_uri("mongodb://user@host/db"),
            "mongodb://user@host/db"
        );
        assert_eq!(
            redact_uri("mongodb://127.0.0.1:27017"),
            "mongodb://127.0.0.1:27017"
        );
        // An '@' after the authority is not a credential separator.
        assert_eq!(
            redact_uri("mongodb://host/db?x=a@b"),
            "mongodb://host/db?x=a@b"
        );
        assert_eq!(redact_uri("not a uri"), "not a uri");
        for password in ["p/ss", "p?ss", "p#ss", "a/b?c#d@e"] {
            let redacted = redact_uri(&format!("amqp://realm:{password}@mq.internal:5672/%2f"));
            assert_eq!(
                redacted, "amqp://realm:***@mq.internal:5672/%2f",
                "{password}"
            );
        }
    }
}
