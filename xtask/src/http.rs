//! A minimal HTTP/1.1 client over `TcpStream`: the emulator's `/moto-api/`, the fault proxy's control
//! endpoint, STS, and the bench's floor client use it.
//!
//! Hand-written rather than a library: the floor client's speed is the bench's lower bound, so a request on
//! a kept-alive [`Connection`] costs one `write` and the reads of its answer, nothing more; and xtask stays
//! free of async runtimes and TLS.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Bodies larger than this are refused.
const MAX_BODY: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The start of the body, for error messages.
    pub fn excerpt(&self) -> String {
        let text = self.text();
        let text = text.trim();
        match text.char_indices().nth(300) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text.to_string(),
        }
    }
}

/// One request on a connection of its own (`Connection: close`): connecting, sending and reading the whole
/// answer must all be done within `timeout`.
pub fn request(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<Response> {
    let deadline = Instant::now() + timeout;
    let mut connection = Connection::new(endpoint, timeout)?;
    connection.deadline = Some(deadline);
    let mut headers = headers.to_vec();
    headers.push(("Connection", "close"));
    connection.send(method, path, &headers, body)
}

/// One keep-alive connection to `http://HOST[:PORT]`, reopened when the server closes it. Connecting,
/// and each write and read, time out after `timeout`.
pub struct Connection {
    /// The `Host` header.
    host: String,
    addrs: Vec<SocketAddr>,
    timeout: Duration,
    /// For a one-shot [`request`]: when all of it must be done.
    deadline: Option<Instant>,
    stream: Option<BufReader<Stream>>,
}

impl Connection {
    /// Resolves `endpoint` (`http://HOST[:PORT]`, any path ignored); connects on the first request.
    pub fn new(endpoint: &str, timeout: Duration) -> io::Result<Self> {
        let (host, port) =
            host_port(endpoint).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let addrs: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve `{host}`: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("`{host}` has no address"),
            ));
        }
        let host = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Self {
            host,
            addrs,
            timeout,
            deadline: None,
            stream: None,
        })
    }

    /// Sends one request and reads its response. A request on a reused connection that the server had
    /// closed meanwhile is sent again once on a new connection.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut request = request.into_bytes();
        request.extend_from_slice(body);

        let reused = self.stream.is_some();
        match self.exchange(&request, method) {
            Err(e) if reused && is_stale_connection(&e) => {
                self.stream = None;
                self.exchange(&request, method)
            }
            result => result,
        }
    }

    fn exchange(&mut self, request: &[u8], method: &str) -> io::Result<Response> {
        let result = self.try_exchange(request, method);
        match &result {
            Ok(response)
                if response
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close")) =>
            {
                self.stream = None;
            }
            Ok(_) => {}
            Err(_) => self.stream = None,
        }
        result
    }

    fn try_exchange(&mut self, request: &[u8], method: &str) -> io::Result<Response> {
        if self.stream.is_none() {
            self.stream = Some(BufReader::new(self.connect()?));
        }
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| io::Error::other("no stream"))?;
        stream.get_mut().tcp.write_all(request)?;
        read_response(stream, method == "HEAD")
    }

    /// A connection to the first address that takes one.
    fn connect(&self) -> io::Result<Stream> {
        let mut last_error = None;
        for addr in &self.addrs {
            match TcpStream::connect_timeout(addr, self.time_left()?) {
                Ok(tcp) => {
                    tcp.set_nodelay(true)?;
                    tcp.set_write_timeout(Some(self.time_left()?))?;
                    tcp.set_read_timeout(Some(self.time_left()?))?;
                    return Ok(Stream {
                        tcp,
                        deadline: self.deadline,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no address")))
    }

    fn time_left(&self) -> io::Result<Duration> {
        self.deadline.map_or(Ok(self.timeout), remaining)
    }
}

/// A `TcpStream` whose reads end at the deadline, if any. Without one, the read timeout set when connecting
/// bounds each read, at no cost per request.
struct Stream {
    tcp: TcpStream,
    deadline: Option<Instant>,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(deadline) = self.deadline {
            self.tcp.set_read_timeout(Some(remaining(deadline)?))?;
        }
        self.tcp.read(buf)
    }
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
    } else {
        Ok(left)
    }
}

/// What a server that closed an idle keep-alive connection looks like to the next request.
fn is_stale_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// `http://HOST[:PORT][/...]` to `(HOST, PORT)`; the port defaults to 80.
fn host_port(endpoint: &str) -> Result<(String, u16), String> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{endpoint}` is not an http:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("`{endpoint}` has no host"));
    }
    let parse_port = |port: &str| {
        port.parse()
            .map_err(|_| format!("`{endpoint}` has an invalid port `{port}`"))
    };
    // [::1]:port
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{endpoint}` has an unterminated IPv6 address"))?;
        let port = match after.strip_prefix(':') {
            Some(port) => parse_port(port)?,
            None if after.is_empty() => 80,
            None => return Err(format!("`{endpoint}` has a malformed authority")),
        };
        return Ok((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), parse_port(port)?)),
        None => Ok((authority.to_string(), 80)),
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The status code of an HTTP/1.x status line (`HTTP/1.1 200 OK`).
fn parse_status_line(line: &str) -> Option<u16> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !(version.starts_with("HTTP/1.") && version.len() == 8) {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok().filter(|code| (100..=599).contains(code))
}

/// Reads a status line, headers and a body (`Content-Length`, chunked, or up to the end).
fn read_response(reader: &mut impl BufRead, head_only: bool) -> io::Result<Response> {
    let status_line = read_line(reader)?;
    let status = parse_status_line(&status_line)
        .ok_or_else(|| invalid(format!("not an HTTP response: {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("malformed header {line:?}")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(response);
    }
    if response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        response.body = read_chunked(reader)?;
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
        if length > MAX_BODY {
            return Err(invalid(format!("body of {length} bytes is too large")));
        }
        response.body = vec![0; length];
        reader.read_exact(&mut response.body)?;
    } else {
        reader
            .take(MAX_BODY as u64)
            .read_to_end(&mut response.body)?;
        // The body ran to the end of the connection: it cannot be reused.
        response
            .headers
            .push(("Connection".to_string(), "close".to_string()));
    }
    Ok(response)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("chunked body is too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// What a test server reads of one request: its head, then its body.
    fn read_request(reader: &mut impl BufRead) -> (String, Vec<u8>) {
        let mut head = String::new();
        let mut length = 0;
        loop {
            let line = read_line(reader).expect("line");
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().expect("length");
            }
            head.push_str(&line);
            head.push_str("\r\n");
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        (head, body)
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(
            parse_status_line("HTTP/1.0 500 INTERNAL SERVER ERROR"),
            Some(500)
        );
        assert_eq!(parse_status_line("HTTP/1.1 204"), Some(204));
        assert_eq!(parse_status_line("HTTP/2 200"), None);
        assert_eq!(parse_status_line("HTTP/1.1 20 OK"), None);
        assert_eq!(parse_status_line("HTTP/1.1 abc OK"), None);
        assert_eq!(parse_status_line("HTTP/1.1 999 Nope"), None);
        assert_eq!(parse_status_line("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line(""), None);
    }

    #[test]
    fn reads_responses_of_every_framing() {
        let mut input: &[u8] =
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhiHTTP/1.1 400 Bad\r\n\
            Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n\
            HTTP/1.1 404 Not Found\ncontent-length: 0\n\n\
            HTTP/1.0 500 Oops\r\n\r\nto the end";
        let first = read_response(&mut input, false).expect("first");
        assert_eq!(
            (first.status, first.text().as_str(), first.header("x-a")),
            (200, "hi", Some("b"))
        );
        let second = read_response(&mut input, false).expect("second");
        assert_eq!((second.status, second.text().as_str()), (400, "abcde"));
        let third = read_response(&mut input, false).expect("third, bare LFs");
        assert_eq!((third.status, third.text().as_str()), (404, ""));
        let fourth = read_response(&mut input, false).expect("fourth");
        assert_eq!((fourth.status, fourth.text().as_str()), (500, "to the end"));
        assert_eq!(fourth.header("connection"), Some("close"));
        assert!(read_response(&mut input, false).is_err());
        for garbage in [
            &b"SSH-2.0\r\n\r\n"[..],
            b"garbage",
            b"HTTP/1.1 200 OK",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok",
        ] {
            assert!(
                read_response(&mut &garbage[..], false).is_err(),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            host_port("http://127.0.0.1:4566"),
            Ok(("127.0.0.1".into(), 4566))
        );
        assert_eq!(
            host_port("http://localhost:5000/"),
            Ok(("localhost".into(), 5000))
        );
        assert_eq!(
            host_port("http://example.com/x?y"),
            Ok(("example.com".into(), 80))
        );
        assert_eq!(host_port("http://[::1]:8080"), Ok(("::1".into(), 8080)));
        assert!(host_port("https://127.0.0.1:1").is_err());
        assert!(host_port("http://127.0.0.1:http").is_err());
        assert!(host_port("http://").is_err());
    }

    #[test]
    fn request_against_a_local_server() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream);
            let (head, _) = read_request(&mut reader);
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"status\": \"ok\"}")
                .expect("write");
            head
        });
        let response = request(
            &format!("http://127.0.0.1:{port}"),
            "POST",
            "/moto-api/reset",
            &[],
            &[],
            Duration::from_secs(5),
        )
        .expect("response");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{\"status\": \"ok\"}");
        let sent = server.join().expect("server thread");
        assert!(
            sent.starts_with("POST /moto-api/reset HTTP/1.1\r\n"),
            "{sent}"
        );
        assert!(sent.contains("\r\nContent-Length: 0\r\n"), "{sent}");
        assert!(sent.contains("\r\nConnection: close\r\n"), "{sent}");
        assert!(
            sent.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
            "{sent}"
        );
    }

    #[test]
    fn request_to_a_closed_port_fails() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        assert!(
            request(
                &format!("http://127.0.0.1:{port}"),
                "GET",
                "/",
                &[],
                &[],
                Duration::from_secs(2)
            )
            .is_err()
        );
    }

    #[test]
    fn request_timeout_covers_the_whole_answer() {
        // A server that trickles header lines forever: no single read times out, the deadline does.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream);
            read_request(&mut reader);
            let stream = reader.get_mut();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n");
            for _ in 0..50 {
                if stream.write_all(b"X-Slow: 1\r\n").is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
        });
        let started = Instant::now();
        let result = request(&endpoint, "GET", "/", &[], &[], Duration::from_millis(500));
        let elapsed = started.elapsed();
        assert!(result.is_err(), "{result:?}");
        assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
        server.join().expect("server");
    }

    #[test]
    fn keeps_the_connection_alive_and_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let server = thread::spawn(move || {
            // First connection: two requests, then closed by the server; second connection: one.
            for requests in [2, 1] {
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream);
                for _ in 0..requests {
                    let (_, body) = read_request(&mut reader);
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
                        body.len(),
                        String::from_utf8_lossy(&body)
                    );
                    reader.get_mut().write_all(reply.as_bytes()).expect("reply");
                }
            }
        });
        let mut connection = Connection::new(&endpoint, Duration::from_secs(5)).expect("new");
        for body in ["one", "two", "three"] {
            let response = connection
                .send("POST", "/", &[("X-Test", "1")], body.as_bytes())
                .expect("send");
            assert_eq!(response.text(), body);
        }
        server.join().expect("server");
    }
}
