//! The connections to the SMTP server. lettre speaks SMTP (EHLO, STARTTLS, AUTH, the transaction); this module
//! opens and pools the sockets, because lettre 0.11's own pool opens them without `TCP_NODELAY`. lettre writes a
//! message's body and its closing dot separately, so with Nagle's algorithm on every message waits for the server's
//! delayed acknowledgement, about 40 ms on Linux: a pooled connection then carries about 22 messages a second
//! (lettre/lettre#1159 sets the option, after 0.11.23). BENCHMARKS.md, "Email through SMTP", has the figures.

use std::{
    borrow::Cow,
    net::SocketAddr,
    pin::Pin,
    sync::Mutex,
    task::{Context, Poll},
    time::{Duration, Instant},
};

// `AsyncNetworkStream` is deprecated as "not meant to be public", but it is how lettre encrypts a socket it did not
// open; it serves `smtps://` only, with lettre's own TLS settings.
#[allow(deprecated)]
use lettre::{
    address::Envelope,
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{AsyncNetworkStream, AsyncSmtpConnection, AsyncTokioStream, TlsParameters},
        extension::ClientId,
        Error as SmtpError,
    },
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};

use super::vendor::VendorError;

/// How the connection is encrypted.
#[derive(Clone)]
enum Encryption {
    None,
    /// STARTTLS when the server offers it (`?tls=opportunistic`).
    Opportunistic(TlsParameters),
    /// STARTTLS, or no message is sent (`?tls=required`).
    Required(TlsParameters),
    /// TLS from the first byte (`smtps://`).
    Implicit(TlsParameters),
}

/// The server in `REALM_SMTP_URL`, read with the same forms as lettre's `AsyncSmtpTransport::from_url`:
/// `smtp://host[:port]` (25), `smtp://host[:port]?tls=required|opportunistic` (587) or `smtps://host[:port]`
/// (465), with optional `user:password@` (percent-encoded) and `/hello-name`.
#[derive(Clone)]
pub struct SmtpServer {
    host: String,
    port: u16,
    encryption: Encryption,
    credentials: Option<Credentials>,
    hello: ClientId,
}

impl SmtpServer {
    /// The reason, without the password, when the URL is not one of the forms above.
    pub fn from_url(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|error| error.to_string())?;
        let host = url
            .host_str()
            .ok_or("the URL names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let parameters =
            || TlsParameters::new(host.clone()).map_err(|error| format!("TLS for {host}: {error}"));
        let (encryption, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Encryption::None, 25),
            ("smtp", Some("required")) => (Encryption::Required(parameters()?), 587),
            ("smtp", Some("opportunistic")) => (Encryption::Opportunistic(parameters()?), 587),
            ("smtps", _) => (Encryption::Implicit(parameters()?), 465),
            (scheme, tls) => {
                return Err(format!(
                    "expected smtp:// or smtps://, and tls=required or tls=opportunistic, got {scheme}:// and tls={tls:?}"
                ))
            }
        };
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(Cow::into_owned)
                .map_err(|_| "the user or password is not UTF-8 once decoded".to_owned())
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        Ok(Self {
            port: url.port().unwrap_or(default_port),
            host,
            encryption,
            credentials,
            hello,
        })
    }

    /// A new connection, greeted, encrypted and signed in as the URL asks.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpFailure> {
        let socket = TcpStream::connect((self.host.as_str(), self.port)).await?;
        socket.set_nodelay(true)?;
        let mut connection = match &self.encryption {
            Encryption::Implicit(parameters) => {
                #[allow(deprecated)]
                let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(socket));
                stream.upgrade_tls(parameters.clone()).await?;
                AsyncSmtpConnection::connect_with_transport(
                    Box::new(Encrypted(stream.compat())),
                    &self.hello,
                )
                .await?
            }
            _ => AsyncSmtpConnection::connect_with_transport(Box::new(socket), &self.hello).await?,
        };
        match &self.encryption {
            Encryption::Required(parameters) => {
                connection.starttls(parameters.clone(), &self.hello).await?;
            }
            Encryption::Opportunistic(parameters) if connection.can_starttls() => {
                connection.starttls(parameters.clone(), &self.hello).await?;
            }
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(connection)
    }
}

/// A TLS stream (`smtps://`), encrypted before lettre's connection greets the server over it.
#[derive(Debug)]
#[allow(deprecated)]
struct Encrypted(Compat<AsyncNetworkStream>);

impl AsyncRead for Encrypted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(context, buffer)
    }
}

impl AsyncWrite for Encrypted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(context, bytes)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(context)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(context)
    }
}

impl AsyncTokioStream for Encrypted {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

/// Why a message did not go out.
#[derive(Debug)]
enum SmtpFailure {
    /// The server's reply, or lettre's own error on the connection.
    Smtp(SmtpError),
    /// The socket could not be opened or configured.
    Io(std::io::Error),
    TimedOut,
}

impl From<SmtpError> for SmtpFailure {
    fn from(error: SmtpError) -> Self {
        Self::Smtp(error)
    }
}

impl From<std::io::Error> for SmtpFailure {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<SmtpFailure> for VendorError {
    /// A 5xx reply will never change; a 4xx reply, a timeout or a connection that failed may.
    fn from(failure: SmtpFailure) -> Self {
        match failure {
            SmtpFailure::Smtp(error) if error.is_permanent() => Self::Permanent(error.to_string()),
            SmtpFailure::Smtp(error) => Self::Transient(error.to_string()),
            SmtpFailure::Io(error) => {
                Self::Transient(format!("the SMTP server could not be reached: {error}"))
            }
            SmtpFailure::TimedOut => {
                Self::Transient("the SMTP server did not answer in time".to_owned())
            }
        }
    }
}

/// An idle connection is closed after this long: servers close idle clients after a few minutes (Postfix after
/// five), and a connection closed under us would cost the next message an attempt.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// At most `size` connections to one server, kept open between messages.
pub struct SmtpPool {
    server: SmtpServer,
    timeout: Duration,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    /// One permit per connection in use, so that sends in flight never open more than `size`.
    in_use: tokio::sync::Semaphore,
}

impl SmtpPool {
    pub fn new(server: SmtpServer, size: usize, timeout: Duration) -> Self {
        Self {
            server,
            timeout,
            idle: Mutex::new(Vec::with_capacity(size)),
            in_use: tokio::sync::Semaphore::new(size),
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Stale ones are dropped, which closes their sockets.
        idle.retain(|(_, since)| since.elapsed() < IDLE_FOR);
        idle.pop().map(|(connection, _)| connection)
    }

    /// Sends one message on a pooled connection (or a new one), within the timeout; answers the server's reply
    /// to the message, or what the failure means for the recipient.
    pub async fn send(&self, envelope: &Envelope, email: &[u8]) -> Result<(), VendorError> {
        let _permit = self
            .in_use
            .acquire()
            .await
            .map_err(|error| VendorError::Transient(error.to_string()))?;
        let attempt = async {
            let mut connection = match self.take_idle() {
                Some(connection) => connection,
                None => self.server.connect().await?,
            };
            let sent = connection.send(envelope, email).await;
            // lettre marks a connection broken on any failed command, and closes it: only whole ones go back.
            if !connection.has_broken() {
                self.idle
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push((connection, Instant::now()));
            }
            sent.map(drop).map_err(SmtpFailure::from)
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(sent) => sent.map_err(VendorError::from),
            // The connection in use is dropped with the attempt.
            Err(_) => Err(SmtpFailure::TimedOut.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_read_as_lettre_reads_them() {
        let plain = SmtpServer::from_url("smtp://127.0.0.1:1025").unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 1025));
        assert!(matches!(plain.encryption, Encryption::None));
        assert!(plain.credentials.is_none());

        let submission =
            SmtpServer::from_url("smtp://ann%40shop.example:p%40ss@mail.example.com?tls=required")
                .unwrap();
        assert_eq!(submission.port, 587);
        assert!(matches!(submission.encryption, Encryption::Required(_)));
        assert_eq!(
            submission.credentials,
            Some(Credentials::new(
                "ann@shop.example".to_owned(),
                "p@ss".to_owned()
            ))
        );

        let implicit = SmtpServer::from_url("smtps://mail.example.com/realm.shop.example").unwrap();
        assert_eq!(implicit.port, 465);
        assert!(matches!(implicit.encryption, Encryption::Implicit(_)));
        assert_eq!(
            implicit.hello,
            ClientId::Domain("realm.shop.example".to_owned())
        );

        assert!(matches!(
            SmtpServer::from_url("smtp://mail.example.com?tls=opportunistic")
                .unwrap()
                .encryption,
            Encryption::Opportunistic(_)
        ));
        assert_eq!(
            SmtpServer::from_url("smtp://mail.example.com")
                .unwrap()
                .port,
            25
        );
    }

    #[test]
    fn other_schemes_and_tls_modes_are_refused_without_the_password() {
        for url in [
            "http://user:secret@mail.example.com",
            "smtp://user:secret@mail.example.com?tls=maybe",
            "smtp://",
            "not a url",
        ] {
            let error = SmtpServer::from_url(url)
                .err()
                .unwrap_or_else(|| panic!("{url} was read"));
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
