//! A small SMTP server the test controls: it refuses the addresses it is told to with `550`, keeps every message
//! it accepts, and can be stopped and started again on the same port, as a mail server that goes down: it closes
//! its port and answers `421` to the next command on an open connection, so a message is either kept and
//! acknowledged or neither.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
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
    accepting: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpServer {
    pub async fn start(refused: &[&str]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            address: listener.local_addr().unwrap(),
            refused: Arc::new(refused.iter().map(|a| a.to_string()).collect()),
            received: Arc::default(),
            down: Arc::default(),
            accepting: Mutex::default(),
        };
        server.serve(listener);
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
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
        let (refused, received, down) = (
            self.refused.clone(),
            self.received.clone(),
            self.down.clone(),
        );
        let accepting = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(converse(
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
            received.lock().unwrap().push(Received {
                recipients: std::mem::take(&mut recipients),
                data,
            });
            "250 2.0.0 queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = writer.write_all(b"221 bye\r\n").await;
            return;
        } else {
            if upper.starts_with("RSET") || upper.starts_with("MAIL FROM:") {
                recipients.clear();
            }
            "250 OK\r\n".into()
        };
        if writer.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
