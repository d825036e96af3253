//! A small SMTP server the test controls: it refuses the addresses it is told to with `550`, keeps every message
//! it accepts, and can be stopped and started again on the same port, as a mail server that goes down: it closes
//! its port and answers `421` to the next command on an open connection, so a message is either kept and
//! acknowledged or neither.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

#[derive(Clone, Debug)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
}

pub struct SmtpServer {
    pub address: SocketAddr,
    refused: Arc<HashSet<String>>,
    pub received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
    transactions: Arc<Gauge>,
    accepting: Mutex<Option<JoinHandle<()>>>,
}

/// Mail transactions under way now, and the most that ever were at once.
#[derive(Default)]
struct Gauge {
    open: AtomicUsize,
    most: AtomicUsize,
}

/// Counts one transaction, from `MAIL FROM` to the answer to its data, as under way while it lives.
struct Open(Arc<Gauge>);

impl Open {
    fn new(gauge: Arc<Gauge>) -> Self {
        let now = gauge.open.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.most.fetch_max(now, Ordering::SeqCst);
        Self(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SmtpServer {
    pub async fn start(refused: &[&str]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            address: listener.local_addr().unwrap(),
            refused: Arc::new(refused.iter().map(|a| a.to_string()).collect()),
            received: Arc::default(),
            down: Arc::default(),
            transactions: Arc::default(),
            accepting: Mutex::default(),
        };
        server.serve(listener);
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// The most messages that were being handed over at once.
    pub fn most_in_flight(&self) -> usize {
        self.transactions.most.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Closes the port; open connections are told `421` at their next command.
    pub fn stop(&self) {
        self.down.store(true, Ordering::SeqCst);
        if let Some(accepting) = self.accepting.lock().unwrap().take() {
            accepting.abort();
        }
    }

    pub async fn start_again(&self) {
        let listener = TcpListener::bind(self.address).await.unwrap();
        self.down.store(false, Ordering::SeqCst);
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let (refused, received, down, transactions) = (
            self.refused.clone(),
            self.received.clone(),
            self.down.clone(),
            self.transactions.clone(),
        );
        let accepting = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(converse(
                    transactions.clone(),
                    socket,
                    refused.clone(),
                    received.clone(),
                    down.clone(),
                ));
            }
        });
        *self.accepting.lock().unwrap() = Some(accepting);
    }
}

async fn converse(
    transactions: Arc<Gauge>,
    socket: tokio::net::TcpStream,
    refused: Arc<HashSet<String>>,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
) {
    const SHUTTING_DOWN: &[u8] = b"421 4.3.2 shutting down\r\n";
    let (reader, mut writer) = socket.into_split();
    let mut lines = BufReader::new(reader).lines();
    let _ = writer.write_all(b"220 test.smtp ESMTP\r\n").await;
    let mut recipients = Vec::new();
    // Held while a mail transaction is under way; dropping it ends the count.
    let mut _transaction = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if down.load(Ordering::SeqCst) {
            let _ = writer.write_all(SHUTTING_DOWN).await;
            return;
        }
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-test.smtp\r\n250 8BITMIME\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            let address = line[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            if refused.contains(&address) {
                format!("550 5.1.1 <{address}>: no such mailbox here\r\n")
            } else {
                recipients.push(address);
                "250 2.1.5 OK\r\n".into()
            }
        } else if upper == "DATA" {
            let _ = writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(&line);
                data.push('\n');
            }
            if down.load(Ordering::SeqCst) {
                let _ = writer.write_all(SHUTTING_DOWN).await;
                return;
            }
            // A real server takes a moment to queue a message, so that sends overlap as they do in production.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            received.lock().unwrap().push(Received {
                recipients: std::mem::take(&mut recipients),
                data,
            });
            // Over before the answer leaves, so that the sender's next transaction never overlaps it here.
            _transaction = None;
            "250 2.0.0 queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = writer.write_all(b"221 bye\r\n").await;
            return;
        } else {
            if upper.starts_with("RSET") || upper.starts_with("MAIL FROM:") {
                recipients.clear();
                _transaction = None;
            }
            if upper.starts_with("MAIL FROM:") {
                _transaction = Some(Open::new(transactions.clone()));
            }
            "250 OK\r\n".into()
        };
        if writer.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
