//! A tiny SMTP sink for mail tests: listens on `127.0.0.1:0`, speaks just enough SMTP (greeting,
//! `EHLO`/`HELO`, `MAIL FROM`, `RCPT TO`, `DATA`, `RSET`, `NOOP`, `QUIT`) and keeps every message
//! it accepts. Point the server at it with `config.smtp_url = Some(sink.url())`.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// One accepted message.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// The `MAIL FROM` argument, e.g. `<no-reply@localhost>`.
    pub from: String,
    /// The `RCPT TO` addresses, without angle brackets.
    pub to: Vec<String>,
    /// Everything between `DATA` and the final `.`: headers, a blank line, the body.
    pub data: String,
}

impl Mail {
    /// The part after the headers.
    pub fn body(&self) -> &str {
        self.data.split_once("\r\n\r\n").map_or(self.data.as_str(), |(_, body)| body)
    }

    /// The six-digit runs of the body that stand alone (not part of a longer word or number).
    pub fn six_digit_codes(&self) -> Vec<String> {
        self.body()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
            .collect()
    }
}

/// A running SMTP sink; stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Mail>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let port = listener.local_addr().expect("local address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, store.clone()));
            }
        });
        SmtpSink { port, messages, task }
    }

    /// `smtp://127.0.0.1:<port>` (plain SMTP, no TLS).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<Mail> {
        self.messages.lock().expect("sink lock").clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn argument(line: &str) -> String {
    let value = line.split_once(':').map_or("", |(_, v)| v).trim();
    let value = value.split_whitespace().next().unwrap_or("");
    value.trim_start_matches('<').trim_end_matches('>').to_owned()
}

async fn serve(stream: TcpStream, store: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 sink.test ESMTP ready\r\n").await.is_err() {
        return;
    }
    let mut current = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test greets you\r\n250 8BITMIME\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                current = Mail { from: argument(&command), ..Mail::default() };
                b"250 OK\r\n"
            }
            "RCPT" => {
                current.to.push(argument(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                if write.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Undo dot-stuffing.
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                current.data = data.trim_end_matches("\r\n").to_owned();
                store.lock().expect("sink lock").push(std::mem::take(&mut current));
                b"250 OK: queued\r\n"
            }
            "RSET" => {
                current = Mail::default();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
